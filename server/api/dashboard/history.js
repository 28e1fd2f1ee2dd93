// history.js: the dashboard's "what happened" part: polls /api/v1/history every 2 s and
// draws, on one time axis, each cluster's share of answers and each check's state as inline
// SVG, with health transitions, admin changes and reloads marked, and the "now answering"
// table. No libraries; text goes in with textContent only.
"use strict";

(() => {
  const POLL_MS = 2000;
  const SVG = "http://www.w3.org/2000/svg";
  const W = 600; // viewBox width; the charts stretch to the page
  const H_SHARE = 36, H_CHECK = 10, H_LANE = 16;

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "dataset") Object.assign(e.dataset, v);
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return e;
  }

  function s(tag, attrs, ...kids) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "dataset") Object.assign(e.dataset, v);
      else e.setAttribute(k, String(v));
    }
    for (const kid of kids.flat()) if (kid) e.append(kid);
    return e;
  }

  function title(text) {
    const t = document.createElementNS(SVG, "title");
    t.textContent = text;
    return t;
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString("en-GB", {hour12: false});
  }

  function pct(x) {
    const p = x * 100;
    return (p >= 10 || p === 0 || p === 100 ? p.toFixed(0) : p.toFixed(1)) + "%";
  }

  function eventText(ev) {
    if (ev.kind === "health")
      return ev.cluster + " " + ev.address + " " + ev.check + ": " + (ev.up ? "up" : "down") +
        (ev.up ? "" : " (" + ev.reason + ")");
    if (ev.kind === "admin") return ev.cluster + ": admin " + ev.from + " \u2192 " + ev.to;
    return "reload " + ev.result + (ev.error ? ": " + ev.error : "");
  }

  // The time axis: the whole window (capacity samples) ending now, so the charts fill
  // from the right as samples come in.
  function axis(hist) {
    const t1 = hist.now_t;
    const t0 = t1 - hist.capacity * hist.interval_ms;
    return {t0, t1, x: (t) => Math.max(0, Math.min(W, (t - t0) / (t1 - t0) * W))};
  }

  function markers(ax, events, height) {
    return events.map((ev) => s("line", {
      class: "marker", x1: ax.x(ev.t), x2: ax.x(ev.t), y1: 0, y2: height,
      "vector-effect": "non-scaling-stroke",
      dataset: {kind: ev.kind, t: ev.t, up: ev.kind === "health" ? String(ev.up) : undefined,
        result: ev.result}}, title(clock(ev.t) + " " + eventText(ev))));
  }

  // Events that concern one cluster (its checks, its admin state) or every cluster (reloads).
  function eventsFor(events, cluster) {
    return events.filter((ev) => ev.kind === "reload" || ev.cluster === cluster);
  }

  function shareChart(hist, ax, c, events) {
    // share of all answers per sample; no answers at all: a gap
    let d = "";
    const pts = [];
    hist.times.forEach((t, i) => {
      const a = c.answers[i], tot = hist.total[i];
      if (a === null || !tot) {
        pts.push(null);
        return;
      }
      pts.push([ax.x(t), H_SHARE - (a / tot) * (H_SHARE - 2) - 1]);
    });
    let run = [];
    const runs = [];
    for (const p of pts) {
      if (p) run.push(p);
      else if (run.length) { runs.push(run); run = []; }
    }
    if (run.length) runs.push(run);
    let area = "";
    for (const r of runs) {
      d += "M" + r.map((p) => p[0].toFixed(1) + "," + p[1].toFixed(1)).join("L");
      area += "M" + r[0][0].toFixed(1) + "," + H_SHARE + "L" +
        r.map((p) => p[0].toFixed(1) + "," + p[1].toFixed(1)).join("L") + "L" +
        r[r.length - 1][0].toFixed(1) + "," + H_SHARE + "Z";
    }
    const n = hist.times.length;
    const now = n && hist.total[n - 1] ? (c.answers[n - 1] || 0) / hist.total[n - 1] : null;
    const sum = c.answers.reduce((x, y) => x + (y || 0), 0);
    return h("div", {class: "hrow", dataset: {series: "cluster", cluster: c.name}},
      h("div", {class: "hlabel"}, h("span", {class: "hname"}, c.name),
        h("span", {class: "hval"}, now === null ? "\u2013" : pct(now))),
      s("svg", {class: "spark", viewBox: "0 0 " + W + " " + H_SHARE, preserveAspectRatio: "none",
        role: "img", "aria-label": c.name + ": share of answers",
        dataset: {kind: "share", answers: sum}},
      title(c.name + ": share of all answers per " + hist.interval_ms / 1000 + " s; " + sum +
        " answers in the window"),
      s("line", {class: "grid", x1: 0, x2: W, y1: H_SHARE / 2, y2: H_SHARE / 2,
        "vector-effect": "non-scaling-stroke"}),
      area ? s("path", {class: "area", d: area}) : null,
      d ? s("path", {class: "lineplot", d, "vector-effect": "non-scaling-stroke"}) : null,
      markers(ax, events, H_SHARE)));
  }

  const STATE_CLASS = {u: "up", d: "down", p: "pending", U: "up flip", D: "down flip"};
  const STATE_WORD = {u: "up", d: "down", p: "pending", U: "up (changed)", D: "down (changed)"};

  function checkStrip(hist, ax, k, events) {
    const rects = [];
    const states = k.states;
    for (let i = 0; i < states.length; i++) {
      const st = states[i];
      if (!STATE_CLASS[st]) continue;
      // a run of equal states is one rectangle
      let j = i;
      while (j + 1 < states.length && states[j + 1] === st) j++;
      const x0 = ax.x(hist.times[i] - hist.interval_ms), x1 = ax.x(hist.times[j]);
      rects.push(s("rect", {class: "st " + STATE_CLASS[st], x: x0.toFixed(1), y: 0,
        width: Math.max(0.5, x1 - x0).toFixed(1), height: H_CHECK, dataset: {state: st}},
      title(clock(hist.times[i] - hist.interval_ms) + "\u2013" + clock(hist.times[j]) + " " +
        STATE_WORD[st])));
      i = j;
    }
    const now = states.length ? states[states.length - 1] : "-";
    return h("div", {class: "hrow check",
      dataset: {series: "check", cluster: k.cluster, address: k.address, check: k.check}},
    h("div", {class: "hlabel"}, h("span", {class: "hname"}, k.address + " " + k.check),
      h("span", {class: "hval " + (STATE_CLASS[now] || "").split(" ")[0]},
        STATE_WORD[now] ? STATE_WORD[now].split(" ")[0] : "\u2013")),
    s("svg", {class: "strip", viewBox: "0 0 " + W + " " + H_CHECK, preserveAspectRatio: "none",
      role: "img", "aria-label": k.cluster + " " + k.address + " " + k.check + ": state"},
    rects, markers(ax, events, H_CHECK)));
  }

  function lane(hist, ax) {
    const ticks = [];
    const span = ax.t1 - ax.t0;
    for (let i = 0; i <= 4; i++) {
      const t = ax.t0 + span * i / 4;
      ticks.push(h("span", {}, i === 4 ? "now" : clock(t)));
    }
    return h("div", {class: "hrow lane"},
      h("div", {class: "hlabel"}, h("span", {class: "hname"}, "events")),
      h("div", {},
        s("svg", {class: "lane", viewBox: "0 0 " + W + " " + H_LANE, preserveAspectRatio: "none",
          role: "img", "aria-label": "events"}, markers(ax, hist.events, H_LANE)),
        h("div", {class: "ticks"}, ticks)));
  }

  function drawCharts(hist) {
    const ax = axis(hist);
    const box = document.getElementById("history-charts");
    const groups = hist.clusters.map((c) => h("div", {class: "hgroup", dataset: {cluster: c.name}},
      shareChart(hist, ax, c, eventsFor(hist.events, c.name)),
      hist.checks.filter((k) => k.cluster === c.name)
        .map((k) => checkStrip(hist, ax, k, eventsFor(hist.events, c.name)))));
    box.replaceChildren(lane(hist, ax), ...groups);
    const secs = Math.round(hist.capacity * hist.interval_ms / 1000);
    document.getElementById("history-span").textContent =
      (secs >= 300 ? Math.round(secs / 60) + " min" : secs + " s") +
      ", one sample per " + (hist.interval_ms >= 1000 ? hist.interval_ms / 1000 + " s"
        : hist.interval_ms + " ms");
    const list = document.getElementById("history-events");
    const items = hist.events.slice().reverse().slice(0, 30).map((ev) =>
      h("li", {dataset: {kind: ev.kind}},
        h("span", {class: "when", title: ev.time}, clock(ev.t)),
        h("span", {class: "ekind " + ev.kind + (ev.kind === "health" ? (ev.up ? " up" : " down")
          : ev.kind === "reload" ? " " + ev.result : "")}, ev.kind),
        h("span", {class: "what"}, eventText(ev))));
    list.replaceChildren(...(items.length ? items
      : [h("li", {}, h("span", {class: "empty"}, "Nothing happened in this window."))]));
  }

  function drawNow(hist) {
    const rows = hist.now_answering.map((l) => {
      const total = l.total_weight || 0;
      const names = l.clusters.map((c) => c.cluster);
      return h("tr", {dataset: {service: l.service, region: l.region || "", reason: l.reason,
        clusters: names.join(" ")}},
      h("td", {}, h("span", {class: "svc"}, l.service)),
      h("td", {}, l.region || h("span", {class: "muted"}, "any")),
      h("td", {dataset: {role: "answer"}}, l.clusters.length
        ? h("div", {class: "chips"}, l.clusters.map((c) => h("span", {class: "chip now"},
          c.cluster + " " + pct(total ? c.weight / total : 0))))
        : h("span", {class: "bad"}, "SERVFAIL: every cluster down")),
      h("td", {}, h("span", {class: "reason " + l.reason}, l.reason.replace("_", " "))),
      h("td", {class: "num"}, l.ttl + " s"));
    });
    document.getElementById("now-answering").replaceChildren(...(rows.length ? rows :
      [h("tr", {}, h("td", {colspan: 5, class: "empty"}, "No GSLB services configured."))]));
  }

  async function poll() {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), POLL_MS * 2);
    const note = document.getElementById("history-note");
    try {
      const r = await fetch("/api/v1/history", {cache: "no-store", signal: ctl.signal});
      const hist = await r.json();
      if (!r.ok) throw new Error(hist.error || "HTTP " + r.status);
      drawNow(hist);
      drawCharts(hist);
      document.getElementById("history").dataset.ready = "true";
      note.hidden = true;
    } catch (e) {
      note.textContent = "History unavailable: " + (e.name === "AbortError" ? "timeout" : e.message);
      note.hidden = false;
    } finally {
      clearTimeout(timer);
      setTimeout(poll, POLL_MS);
    }
  }

  poll();
})();
