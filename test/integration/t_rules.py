#!/usr/bin/env python3
"""t_rules.py: at least one check for every rule ID of docs/protocol.md, run against a real
gslbd on loopback with crafted packets (dnsq.py). Prints `ok ID ...` / `not ok ID ...`.
The checks live in rules_header.py, rules_answers.py, rules_edns.py and rules_transport.py;
this file starts the servers (and always stops them: itest.py), runs the steps, reports."""

import os
import sys
import threading
import time
import traceback

sys.dont_write_bytecode = True  # keep test/integration free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsq  # noqa: E402
import itest  # noqa: E402
import rules_answers as ans  # noqa: E402
import rules_edns as edns  # noqa: E402
import rules_header as hdr  # noqa: E402
import rules_transport as tr  # noqa: E402
from rules_common import C, D, H, NSID, R, Z  # noqa: E402

# The number of checks main() reports, whatever the environment: a check that cannot
# run here (no IPv6, no kdig, no MaxMind data, not root) is reported as a skip.
PLAN = 395


def start_servers():
    C.v6 = itest.have_ipv6()
    addrs = ("127.0.0.1", "127.0.0.2") + (("::1",) if C.v6 else ())
    C.port = itest.free_port(addrs)
    args = []
    for origin, f in (("rules.test.", "rules.test.zone"), ("other.test.", "other.test.zone"),
                      ("example.", "example.rfc4592.zone"), ("ttl.test.", "ttl.test.zone")):
        args += ["--zone", "%s=%s" % (origin, os.path.join(D, f))]
    args += ["--listen", "127.0.0.1:%d" % C.port, "--listen", "127.0.0.2:%d" % C.port]
    if C.v6:
        args += ["--listen", "[::1]:%d" % C.port]
    args += ["--workers", "2", "--nsid", NSID.decode()]
    C.main = itest.Gslbd("t_rules-main", args, probe=(H, C.port, Z)).start()
    try:
        C.port2 = itest.free_port(("127.0.0.1",))
        tmp = itest.tmpdir()
        conf = itest.write_config(
            os.path.join(tmp, "limits.json"), ["127.0.0.1:%d" % C.port2],
            [("rules.test.", os.path.join(D, "rules.test.zone"))], workers=1,
            edns_max_udp=1400,
            tcp={"idle_timeout_ms": 4000, "io_timeout_ms": 800, "max_connections": 6,
                 "max_per_source": 3, "max_pending_out": 65536})
        C.lim = itest.Gslbd("t_rules-limits", ["-c", conf], probe=(H, C.port2, Z)).start()
    except RuntimeError as e:
        C.lim = None
        R.note("limits server (config file) did not start: %s" % e)


class IdleWatch:
    """TCP-5 default idle timeout: a connection opened at the start and never used, watched
    by a thread that notes when the server closes it (the run itself takes a while)."""

    def __init__(self):
        self.closed_after = None
        self.sock = None
        self.t0 = time.monotonic()
        try:
            self.sock = dnsq.tcp_connect(H, C.port)
        except OSError as e:
            self.err = repr(e)
            return
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        if dnsq.is_closed(self.sock, 10.0 + itest.slack(10.0)):
            self.closed_after = time.monotonic() - self.t0

    def report(self):
        if self.sock is None:
            R.fail("TCP-5", "default idle timeout", self.err)
            return
        limit = 10.0 + itest.slack(10.0)
        self.thread.join(max(0.0, limit - (time.monotonic() - self.t0)))
        c = self.closed_after
        # not before 10 s (less the time to connect), then late by at most the scaled slack
        hi = 10.0 + itest.slack(2.0)
        R.check(c is not None and 9.0 <= c <= hi, "TCP-5", "default idle timeout (10 s): an "
                "unused connection is closed after 9-%.1f s" % hi, "closed after %s s" % (
                    "never (%.0f s)" % limit if c is None else "%.2f" % c))
        self.sock.close()


def main():
    R.plan(PLAN)
    try:
        start_servers()
    except RuntimeError as e:
        R.fail("SETUP", "start gslbd", str(e))
        return R.finish()
    watch = IdleWatch()
    for step in (hdr.t_header, hdr.t_opcode, hdr.t_question, ans.t_answers, ans.t_wildcards,
                 ans.t_delegation, ans.t_cname, ans.t_ttl, edns.t_edns, tr.t_size, tr.t_tcp,
                 edns.t_ecs, tr.t_any, tr.t_compression, tr.t_source, tr.t_source_wildcard, edns.t_cookie):
        try:
            step()
        except Exception as e:  # one broken step must not hide the others
            R.fail("HARNESS", "%s raised %r" % (step.__name__, e), traceback.format_exc())
    watch.report()
    R.check(C.main.alive(), "HDR-4", "main server survived the whole run")
    rc = C.main.stop()
    R.check(rc == 0, "SETUP", "main server exits 0 on SIGTERM", "exit status %s" % rc)
    if C.lim is not None:
        C.lim.stop()
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
