// dashboard.js: polls /api/v1/status every 2 s and draws regions, clusters, services and
// health transitions. Text goes in with textContent only (names come from the config).
"use strict";

const POLL_MS = 2000;
const ADMIN_SHOWN = 10; // the newest admin changes listed; the status keeps 50
// Clusters answered although down: every cluster of a fail_open service is down (draw()).
let failOpen = new Set();
const STATE_TEXT = {
  "healthy": "healthy",
  "down": "down",
  "drained": "drained",
  "forced-up": "forced up",
  "forced-down": "forced down",
};

// el("div", {class: "x", dataset: {state: "up"}}, child, "text", ...)
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "dataset") Object.assign(e.dataset, v);
    else if (k === "class") e.className = v;
    else if (k === "style") Object.assign(e.style, v); // CSSOM: allowed by the CSP, unlike style=""
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return e;
}

function fmtInt(n) {
  return Number(n || 0).toLocaleString("en-US");
}

function fmtPct(x) {
  const p = (x || 0) * 100;
  return (p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)) + "%";
}

function fmtDuration(s) {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
  const m = Math.floor(s % 3600 / 60), sec = s % 60;
  if (d > 0) return d + "d " + h + "h";
  if (h > 0) return h + "h " + m + "m";
  if (m > 0) return m + "m " + sec + "s";
  return sec + "s";
}

function ago(iso, now) {
  if (!iso) return "never";
  const t = Date.parse(iso);
  if (isNaN(t)) return iso;
  return fmtDuration((now - t) / 1000) + " ago";
}

function clock(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  return d.toLocaleTimeString("en-GB", {hour12: false});
}

// ---- drawing -------------------------------------------------------------------------

function drawMeta(st) {
  const meta = document.getElementById("meta");
  const live = document.getElementById("live");
  meta.replaceChildren(
    el("span", {}, "version ", el("b", {}, st.version)),
    el("span", {}, "up ", el("b", {}, fmtDuration(st.uptime_s))),
    el("span", {}, "reloads ", el("b", {}, fmtInt(st.reloads)),
      st.reload_failures ? el("span", {}, " (", fmtInt(st.reload_failures), " rejected)") : null),
    el("span", {id: "last-reload", dataset: {result: st.last_reload_error ? "failed" : "ok"}},
      "last reload ", el("b", {}, st.last_reload_error ? "rejected" : "ok")),
    live);
  const hint = document.getElementById("curl-hint");
  hint.textContent = 'curl -X POST -H "Authorization: Bearer $(cat TOKEN_FILE)" \\\n' +
    '     -d \'{"state": "drain"}\' http://' + location.host + "/api/v1/clusters/NAME/state";
  if (!st.changes_enabled)
    hint.textContent += "\n# changes are disabled: this gslbd has no api.token_file";
}

function drawBanner(st) {
  const b = document.getElementById("banner");
  const parts = [];
  if (st && st.last_reload_error)
    parts.push(el("div", {}, "Last reload rejected; the previous data keeps serving: ",
      el("code", {}, st.last_reload_error)));
  if (st && st.cluster && !st.cluster.connected) // cluster mode without etcd
    parts.push(el("div", {id: "etcd-lost"}, "etcd unreachable: answering from the last " +
      "shared view and this instance's own probes. ", el("code", {}, st.cluster.last_error)));
  b.replaceChildren(...parts);
  b.hidden = parts.length === 0;
}

// Cluster mode: every instance, its view of each address, and where they disagree.
function drawInstances(st, now) {
  const sec = document.getElementById("instances-s");
  const cl = st.cluster;
  sec.hidden = !cl;
  if (!cl) return;
  const dis = new Set(cl.disagreements.map((d) => d.cluster + " " + d.address));
  document.getElementById("instances-sub").textContent = "etcd " + cl.endpoint + " · " +
    (cl.connected ? "connected" : "unreachable") + " · health rule " + cl.health_rule +
    " · " + cl.disagreements.length + " disagreement(s)";
  const rows = cl.instances.map((i) => el("tr", {},
    el("td", {}, i.name, i.self ? " (this one)" : ""),
    el("td", {}, i.self ? "now" : ago(new Date(i.last_seen_ms).toISOString(), now)),
    el("td", {}, i.observations.map((o) => el("span", {
      class: "badge " + (o.up ? "up" : "down"),
      title: o.reason || "ok",
      dataset: {disagree: dis.has(o.cluster + " " + o.address) ? "yes" : "no"},
    }, o.cluster + " " + o.address)))));
  document.getElementById("instances").replaceChildren(...rows);
}

function tile(k, v, cls, small) {
  return el("div", {class: "tile " + (cls || "")},
    el("div", {class: "k"}, k), el("div", {class: "v"}, v, small ? el("small", {}, small) : null));
}

function drawSummary(st) {
  const n = st.clusters.length;
  const count = (s) => st.clusters.filter((c) => c.state === s).length;
  const healthy = count("healthy") + count("forced-up");
  const down = count("down") + count("forced-down");
  const drained = count("drained");
  const svcDown = st.services.filter((s) => s.every_cluster_down).length;
  document.getElementById("summary").replaceChildren(
    tile("Clusters healthy", String(healthy), down ? "warn" : "good", " / " + n),
    tile("Down", String(down), down ? "bad" : ""),
    tile("Drained", String(drained), drained ? "warn" : ""),
    tile("Services", String(st.services.length), svcDown ? "bad" : "",
      svcDown ? " " + svcDown + " all down" : ""),
    tile("Answers, last min", fmtInt(st.answers_1m.total)),
    tile("Health transitions", fmtInt(st.health_transitions)));
}

function targetItem(t, now) {
  const state = t.pending ? "pending" : t.up ? "up" : "down";
  const bits = [
    el("span", {class: "check"}, t.check),
    el("span", {},
      el("span", {class: "badge " + state}, state),
      t.flapping ? el("span", {class: "flap"}, " flapping") : null,
      t.last_change ? " for " + fmtDuration((now - Date.parse(t.last_change)) / 1000)
        : " since start"),
    el("span", {class: "lat", title: "latency of the last probe"},
      t.pending ? "–" : t.latency_ms + " ms"),
  ];
  if (!t.pending && (!t.up || !t.last_ok) && t.last_reason)
    bits.push(el("span", {class: "why"}, (t.up ? "last probe failed: " : "") + t.last_reason));
  return el("li", {class: "target", dataset: {check: t.check, up: String(t.up)}}, bits);
}

function clusterCard(c, now) {
  const addrs = c.addresses.map((a) => el("li", {class: "addr"},
    el("div", {class: "line"},
      el("span", {class: "sdot" + (a.up ? "" : " down"), title: a.up ? "up" : "down"}),
      el("span", {class: "ip"}, a.address),
      a.up ? null : el("span", {class: "badge down"}, "down")),
    a.targets.length
      ? el("ul", {class: "targets"}, a.targets.map((t) => targetItem(t, now)))
      : el("div", {class: "noprobe"}, "no health checks: counted as up")));
  let override = null;
  if (c.state === "forced-up" || c.state === "forced-down" || c.state === "drained")
    override = el("div", {class: "override"}, "admin state ", el("b", {}, c.admin),
      "; health checks say ", el("b", {}, c.healthy ? "healthy" : "down"));
  const share = Math.max(0, Math.min(1, c.share_1m || 0));
  return el("article", {class: "cluster", dataset: {cluster: c.name, state: c.state}},
    el("div", {class: "head"},
      el("span", {class: "name"}, c.name),
      el("span", {class: "badge " + c.state, dataset: {role: "state"}}, STATE_TEXT[c.state] || c.state)),
    el("div", {class: "facts"}, "weight ", String(c.weight), " · ",
      c.state === "drained" ? "standby: answers only if nothing else is healthy"
        : c.in_service ? "in service"
        : failOpen.has(c.name) ? "answered: every cluster of its service is down (fail open)"
        : "not answered",
      " · ", fmtInt(c.answers_total), " answers in all"),
    override,
    el("div", {class: "share"},
      el("div", {class: "bar", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100,
        "aria-valuenow": (share * 100).toFixed(1), "aria-label": "share of answers"},
        el("div", {class: "fill", style: {width: (share * 100).toFixed(2) + "%"}})),
      el("div", {class: "label"}, el("b", {}, fmtPct(share)),
        el("span", {}, fmtInt(c.answers_1m), " answers / min"))),
    el("ul", {class: "addrs"}, addrs));
}

function drawRegions(st, now) {
  const byRegion = new Map(st.regions.map((r) => [r.name, []]));
  for (const c of st.clusters) {
    if (!byRegion.has(c.region)) byRegion.set(c.region, []);
    byRegion.get(c.region).push(c);
  }
  const regionInfo = new Map(st.regions.map((r) => [r.name, r]));
  const cards = [];
  for (const [name, clusters] of byRegion) {
    const r = regionInfo.get(name);
    const share = clusters.reduce((s, c) => s + (c.share_1m || 0), 0);
    cards.push(el("section", {class: "region", dataset: {region: name}},
      el("header", {},
        el("div", {}, el("h3", {}, name),
          r ? el("div", {class: "coords"}, r.lat.toFixed(2) + ", " + r.lon.toFixed(2)) : null),
        el("div", {class: "rshare"}, el("b", {}, fmtPct(share)), " of answers")),
      el("div", {class: "clusters"},
        clusters.length ? clusters.map((c) => clusterCard(c, now))
          : el("div", {class: "none"}, "no clusters"))));
  }
  const box = document.getElementById("regions");
  box.replaceChildren(...(cards.length ? cards : [el("p", {class: "empty"}, "No regions configured.")]));
}

function drawServices(st) {
  const stateOf = new Map(st.clusters.map((c) => [c.name, c.state]));
  const rows = st.services.map((s) => el("tr", {dataset: {service: s.name}},
    el("td", {}, el("span", {class: "svc"}, s.name),
      s.every_cluster_down ? el("span", {class: "alldown"}, "every cluster down: " +
        (s.all_down === "servfail" ? "answering SERVFAIL" : "failing open")) : null),
    el("td", {}, el("span", {class: "badge policy"}, s.policy)),
    el("td", {}, el("div", {class: "chips"}, s.clusters.map((n) =>
      el("span", {class: "chip", dataset: {state: stateOf.get(n) || ""},
        title: STATE_TEXT[stateOf.get(n)] || ""}, n)))),
    el("td", {class: "num"}, s.ttl + " s"),
    el("td", {class: "num"}, s.failover_ttl + " s"),
    el("td", {}, s.all_down.replace("_", " "))));
  document.getElementById("services").replaceChildren(...(rows.length ? rows :
    [el("tr", {}, el("td", {colspan: 6, class: "empty"}, "No GSLB services configured."))]));
}

function drawTransitions(st, now) {
  const items = st.transitions.map((t) => el("li", {},
    el("span", {class: "when", title: t.time}, clock(t.time)),
    el("span", {class: "badge " + (t.up ? "up" : "down")}, t.up ? "up" : "down"),
    el("span", {class: "what"}, t.cluster + " · " + t.address + " · " + t.check),
    el("span", {class: "why"}, (t.up ? "" : t.reason + " · ") + ago(t.time, now))));
  document.getElementById("transitions").replaceChildren(...(items.length ? items :
    [el("li", {}, el("span", {class: "empty"}, "No transitions since gslbd started."))]));
}

function drawAdminChanges(st, now) {
  const all = st.admin_changes || [];
  const items = all.slice(0, ADMIN_SHOWN).map((a) => el("li", {dataset: {cluster: a.cluster}},
    el("span", {class: "when", title: a.time}, clock(a.time)),
    el("span", {class: "badge " + ({drain: "drained", auto: "policy"}[a.to] || a.to)}, a.to),
    el("span", {class: "what"}, a.cluster + " · " + a.from + " → " + a.to),
    el("span", {class: "why"}, a.by + " (" + a.via + ") · " + ago(a.time, now))));
  if (all.length > ADMIN_SHOWN)
    items.push(el("li", {}, el("span", {class: "empty"},
      (all.length - ADMIN_SHOWN) + " older in /api/v1/status")));
  document.getElementById("admin-changes").replaceChildren(...(items.length ? items :
    [el("li", {}, el("span", {class: "empty"}, "No admin changes since gslbd started."))]));
}

function draw(st) {
  const now = Date.parse(st.now) || Date.now();
  failOpen = new Set(st.services.filter((s) => s.every_cluster_down && s.all_down === "fail_open")
    .flatMap((s) => s.clusters));
  drawMeta(st);
  drawBanner(st);
  drawSummary(st);
  drawRegions(st, now);
  drawServices(st);
  drawTransitions(st, now);
  drawAdminChanges(st, now);
  drawInstances(st, now);
}

// ---- polling -------------------------------------------------------------------------

function setLive(ok, text) {
  const live = document.getElementById("live");
  live.dataset.live = ok ? "ok" : "lost";
  document.getElementById("live-text").textContent = text;
  document.body.classList.toggle("stale", !ok);
}

async function poll() {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), POLL_MS * 2);
  try {
    const r = await fetch("/api/v1/status", {cache: "no-store", signal: ctl.signal});
    if (!r.ok) throw new Error("HTTP " + r.status);
    const st = await r.json();
    draw(st);
    setLive(true, "live · " + clock(st.now));
  } catch (e) {
    setLive(false, "cannot reach gslbd (" + (e.name === "AbortError" ? "timeout" : e.message) +
      "); retrying");
  } finally {
    clearTimeout(timer);
    setTimeout(poll, POLL_MS);
  }
}

poll();
