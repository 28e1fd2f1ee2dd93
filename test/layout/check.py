#!/usr/bin/python3
"""check.py: the source layout's rules (issue 16), checked on the tree and on the objects
the build made. Prints a TAP plan and one line a rule; exits 1 when one fails.

  LAYOUT-1  no header includes itself through others (no include cycle)
  LAYOUT-2  server/dns (the codec) and its unit tests include nothing outside server/dns
  LAYOUT-3  every server/ include names its path from the repository root
  LAYOUT-4  no two files of different folders call each other, directly or round a circle
            (a module graph from nm: A -> B when A.o uses a symbol B.o defines)
  LAYOUT-5  a circle inside one folder is explained by a comment that starts "Circle:" and
            names every file of the circle
  LAYOUT-6  each folder's unit tests are in the mirror folder under test/unit

usage: check.py BUILD_DIR (e.g. build/dev)"""
import collections
import glob
import os
import re
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
results = []


def check(rule, ok, what, detail=""):
    results.append((rule, ok, what, detail))


def sources(pattern):
    return sorted(glob.glob(os.path.join(REPO, pattern), recursive=True))


def rel(p):
    return os.path.relpath(p, REPO)


def includes(path):
    with open(path, encoding="utf-8") as f:
        return INC.findall(f.read())


def sccs(graph):
    """Tarjan's strongly connected components of {node: set(nodes)}, iteratively."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    for root in list(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build = os.path.join(REPO, sys.argv[1]) if not os.path.isabs(sys.argv[1]) else sys.argv[1]
    code = sources("server/**/*.[ch]") + sources("geo/*.[ch]") + sources("health/*.[ch]")

    # LAYOUT-1: header include graph (quoted includes, resolved from the repository root or
    # beside the file).
    hgraph = collections.defaultdict(set)
    for p in code:
        for inc in includes(p):
            for cand in (os.path.join(REPO, inc), os.path.join(os.path.dirname(p), inc)):
                if os.path.exists(cand):
                    hgraph[rel(p)].add(rel(cand))
                    break
    cyc = [c for c in sccs(hgraph) if len(c) > 1]
    check("LAYOUT-1", not cyc, "no include cycle among %d files" % len(code),
          "; ".join(" <-> ".join(c) for c in cyc))

    # LAYOUT-2: the codec is a leaf.
    bad = []
    for p in sources("server/dns/*.[ch]") + sources("test/unit/server/dns/*.[ch]"):
        for inc in includes(p):
            if not inc.startswith("server/dns/"):
                bad.append("%s includes %s" % (rel(p), inc))
    check("LAYOUT-2", not bad, "server/dns and its tests include only server/dns",
          "; ".join(bad[:5]))

    # LAYOUT-3: rooted includes.
    bad = []
    for p in code:
        for inc in includes(p):
            if "/" not in inc:
                bad.append("%s: \"%s\"" % (rel(p), inc))
    check("LAYOUT-3", not bad, "every include names its path from the repository root",
          "; ".join(bad[:5]))

    # LAYOUT-4 and 5: the module graph of the objects the build made.
    objs = []
    for p in code:
        if p.endswith(".c") and rel(p) != "server/main.c":
            o = os.path.join(build, rel(p)[:-2] + ".o")
            objs.append((rel(p)[:-2], o))
    missing = [o for _, o in objs if not os.path.exists(o)]
    if missing:
        check("LAYOUT-4", False, "objects built", "missing %s (build first)" % missing[0])
    else:
        defs, uses = {}, collections.defaultdict(set)
        for mod, o in objs:
            out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                f = line.split()
                if len(f) == 3 and f[1] in "TDBRVW":
                    defs[f[2]] = mod
                elif len(f) == 2 and f[0] == "U":
                    uses[mod].add(f[1])
        mgraph = {m: {defs[s] for s in uses[m] if s in defs and defs[s] != m} for m, _ in objs}
        circles = [c for c in sccs(mgraph) if len(c) > 1]
        across = [c for c in circles if len({os.path.dirname(m) for m in c}) > 1]
        check("LAYOUT-4", not across,
              "no circle of calls across folders (%d modules, %d edges)" %
              (len(mgraph), sum(len(v) for v in mgraph.values())),
              "; ".join(" <-> ".join(c) for c in across))
        unexplained = []
        for c in circles:
            if c in across:
                continue
            files = sorted(set(sources(os.path.dirname(c[0]) + "/*.[ch]")))
            names = [os.path.basename(m) + ".c" for m in c]
            said = False
            for p in files:
                text = open(p, encoding="utf-8").read()
                for m in re.finditer(r"Circle:(.*?)\*/", text, re.S):
                    if all(n in m.group(1) for n in names):
                        said = True
            if not said:
                unexplained.append(" <-> ".join(c))
        check("LAYOUT-5", not unexplained,
              "%d circle(s) inside a folder, each explained by a Circle: comment" %
              (len(circles) - len(across)), "; ".join(unexplained))

    # LAYOUT-6: unit tests mirror the folders.
    bad = []
    for t in sources("test/unit/server/**/test_*.c"):
        folder = os.path.dirname(rel(t))[len("test/unit/"):]
        base = os.path.basename(t)[len("test_"):-2]
        here = [os.path.basename(p)[:-2] for p in sources(folder + "/*.[ch]")]
        if not any(base == h or base.startswith(h + "_") or h.startswith(base + "_")
                   for h in here):
            bad.append(rel(t))
    check("LAYOUT-6", not bad, "each unit test sits in the mirror of its module's folder",
          "; ".join(bad[:5]))

    print("1..%d" % len(results))
    failed = 0
    for rule, ok, what, detail in results:
        print("%s %s %s%s" % ("ok" if ok else "not ok", rule, what,
                              "" if ok or not detail else ": " + detail))
        failed += not ok
    print("# t_layout: %d passed, %d failed, 0 skipped" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
