#!/usr/bin/env python3
"""patroni_sim.py: three (or more) simulated Patroni nodes for gslbd's health tests
(stdlib only). Each node is an HTTP server on its own address and the same port, answering
the parts of Patroni's REST API that a load balancer or a GSLB probes:

  GET /primary (also /master, /leader, /read-write)
                 200 on the current leader, 503 on every other node
  GET /replica   200 on a running non-leader, 503 on the leader
  GET /health    200 while the node runs
  GET /patroni, GET /   the node's status as JSON (200)

Bodies are JSON like Patroni's: {"state": "running", "role": "primary"|"replica", ...}.

Who leads is read from --control FILE every 20 ms (write a temporary file and rename it
over FILE to switch atomically). Lines:

  leader ADDR        the node at ADDR leads; "leader none" for no leader (all 503)
  down ADDR ...      these nodes are stopped: their port refuses connections (a crash)

A missing or unreadable file keeps the current state. --leader gives the initial leader
(default: the first node). Prints "READY ADDR:PORT ..." once every node listens. SIGTERM
and SIGINT stop it; on Linux it also stops when the process that started it dies.

usage: patroni_sim.py --nodes 127.0.0.31,127.0.0.32,127.0.0.33 --port 8008
                      [--leader 127.0.0.31] [--control FILE] [--log FILE]
"""

import argparse
import http.server
import json
import signal
import socket
import sys
import threading
import time

PRIMARY_PATHS = ("/primary", "/master", "/leader", "/read-write")


def die_with_parent():
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Cluster:
    def __init__(self, nodes, port, leader, log_path):
        self.nodes = nodes
        self.port = port
        self.leader = leader
        self.down = set()
        self.log_path = log_path
        self.log_lock = threading.Lock()
        self.servers = {}  # addr -> (server, thread)
        self.timeline = 1

    def log(self, text):
        if not self.log_path:
            return
        with self.log_lock:
            with open(self.log_path, "a") as f:
                f.write("%.3f %s\n" % (time.time(), text))

    def handler(self, addr):
        cluster = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "Patroni-sim/1.0"

            def log_message(self, fmt, *args):  # noqa: A003 (quiet unless --log)
                pass

            def reply(self, status, doc):
                body = (json.dumps(doc) + "\n").encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                self.close_connection = True
                cluster.log("%s %s %s -> %d" % (addr, self.command, self.path, status))

            def do_GET(self):  # noqa: N802
                leader = cluster.leader == addr
                role = "primary" if leader else "replica"
                doc = {"state": "running", "role": role, "server_version": 160000,
                       "timeline": cluster.timeline, "name": addr,
                       "patroni": {"version": "3.3.0", "scope": "pg-sim"}}
                path = self.path.split("?", 1)[0]
                if path in PRIMARY_PATHS:
                    self.reply(200 if leader else 503, doc)
                elif path == "/replica":
                    self.reply(503 if leader else 200, doc)
                elif path in ("/health", "/liveness", "/readiness", "/patroni", "/"):
                    self.reply(200, doc)
                else:
                    self.reply(404, {"error": "not found"})

            do_HEAD = do_GET  # noqa: N815

        return Handler

    def start_node(self, addr):
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET

        class Server(http.server.ThreadingHTTPServer):
            address_family = fam
            allow_reuse_address = True
            daemon_threads = True

        srv = Server((addr, self.port), self.handler(addr))
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True)
        t.start()
        self.servers[addr] = (srv, t)

    def stop_node(self, addr):
        srv, t = self.servers.pop(addr, (None, None))
        if srv is not None:
            srv.shutdown()
            srv.server_close()
            t.join(2)

    def apply(self, leader, down):
        if leader != self.leader:
            self.log("leader %s -> %s" % (self.leader, leader))
            self.leader = leader
            self.timeline += 1
        for a in self.nodes:
            if a in down and a in self.servers:
                self.log("node %s stopped" % a)
                self.stop_node(a)
            elif a not in down and a not in self.servers:
                self.log("node %s started" % a)
                self.start_node(a)
        self.down = set(down)

    def read_control(self, path):
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            return
        leader, down = self.leader, set()
        seen = False
        for line in text.splitlines():
            w = line.split()
            if len(w) == 2 and w[0] == "leader":
                leader = None if w[1] == "none" else w[1]
                seen = True
            elif w and w[0] == "down":
                down.update(x for x in w[1:] if x in self.nodes)
                seen = True
        if seen:
            self.apply(leader, down)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", required=True, help="comma-separated node addresses")
    ap.add_argument("--port", type=int, default=8008)
    ap.add_argument("--leader", help="initial leader (default: the first node; 'none')")
    ap.add_argument("--control", help="file with 'leader ADDR' / 'down ADDR...' lines")
    ap.add_argument("--log", help="append one line per request and change to this file")
    args = ap.parse_args(argv)
    nodes = [n.strip() for n in args.nodes.split(",") if n.strip()]
    leader = args.leader or nodes[0]
    if leader == "none":
        leader = None
    die_with_parent()
    c = Cluster(nodes, args.port, leader, args.log)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _s, _f: stopping.set())
    signal.signal(signal.SIGINT, lambda _s, _f: stopping.set())
    if args.control:
        c.read_control(args.control)
    for a in nodes:
        if a not in c.down and a not in c.servers:
            c.start_node(a)
    print("READY " + " ".join("%s:%d" % (a, args.port) for a in nodes), flush=True)
    while not stopping.wait(0.02):
        if args.control:
            c.read_control(args.control)
    for a in list(c.servers):
        c.stop_node(a)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
