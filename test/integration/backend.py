#!/usr/bin/env python3
"""backend.py: a small HTTP/HTTPS backend for gslbd's health-check tests (stdlib only).

It listens on one or more ADDR:PORT pairs and answers every request according to a mode
that can be switched while it runs, so a test can take a "backend" down and up again and
watch gslbd's answers move.

Modes:
  ok          200 with the body text (--body, default "backend ok")
  503         503 Service Unavailable
  status:NNN  that status code, e.g. status:404
  body        200 with a body that lacks the expected text ("wrong content")
  hang        accept the connection and never read or answer it (held until the peer
              closes it, the mode changes or the backend exits)
  flap        alternate per request: ok, 503, ok, 503, ... (starts with ok)
  slow:MS     like ok, but answer after MS milliseconds
  off         stop listening (connections are refused); listening resumes on any other mode
  deny:ADDR   503 to requests from source address ADDR, ok to everyone else (one point of
              view's path is broken, the backend is fine)

Switching modes at run time: --control FILE names a file holding the mode word; it is read
every 20 ms (write a temporary file and rename it over FILE for an atomic switch). A
missing or empty file keeps the current mode. SIGUSR1 re-reads it at once.

HTTPS: --cert FILE --key FILE serve TLS on every listener (the TLS handshake is done in
the connection's thread; in "hang" mode not even the handshake is answered).

It prints "READY ADDR:PORT ..." on stdout once every listener is bound, and logs each
request as "TIME PEER METHOD PATH -> STATUS MODE" to --log FILE when given. SIGTERM and
SIGINT stop it; on Linux it also stops when the process that started it dies.

usage: backend.py --listen 127.0.0.11:8080 [--listen ...] [--mode ok] [--control FILE]
                  [--cert FILE --key FILE] [--body TEXT] [--log FILE]
"""

import argparse
import selectors
import signal
import socket
import ssl
import sys
import threading
import time

REASONS = {200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found",
           400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
MODES = ("ok", "503", "body", "hang", "flap", "off")
POLL_S = 0.02
MAX_REQUEST = 16384


def die_with_parent():
    """PR_SET_PDEATHSIG: SIGTERM when the parent dies, so no backend outlives its test."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except Exception:  # not Linux, or no ctypes: the tests stop backends themselves
        pass


def valid_mode(m):
    if m in MODES:
        return True
    kind, _, arg = m.partition(":")
    if kind == "deny" and arg:
        return True
    if kind in ("status", "slow") and arg.isdigit():
        return kind != "status" or 100 <= int(arg) <= 599
    return False


def parse_addr(text):
    """'127.0.0.1:8080' / '[::1]:8080' -> (family, host, port)."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
        return socket.AF_INET6, host, int(port)
    host, _, port = text.rpartition(":")
    return socket.AF_INET, host, int(port)


class Backend:
    def __init__(self, args):
        self.addrs = [parse_addr(a) for a in args.listen]
        self.mode = args.mode
        self.control = args.control
        self.body = args.body.encode()
        self.log_path = args.log
        self.log_lock = threading.Lock()
        self.count = 0  # requests seen, for flap
        self.count_lock = threading.Lock()
        self.tls = None
        if args.cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(args.cert, args.key)
        self.sel = selectors.DefaultSelector()
        self.listeners = []  # bound sockets, empty while "off"
        self.hung = set()  # connections held open in "hang" mode
        self.stopping = False
        self.reread = False

    # -- listeners --------------------------------------------------------------------

    def open_listeners(self):
        for fam, host, port in self.addrs:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((host, port))
            s.listen(128)
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, "listen")
            self.listeners.append(s)

    def close_listeners(self):
        for s in self.listeners:
            self.sel.unregister(s)
            s.close()
        self.listeners = []

    def drop_hung(self):
        for c in list(self.hung):
            self.sel.unregister(c)
            c.close()
        self.hung.clear()

    # -- mode -------------------------------------------------------------------------

    def read_control(self):
        if not self.control:
            return
        try:
            with open(self.control) as f:
                m = f.read().strip()
        except OSError:
            return
        if m and m != self.mode and valid_mode(m):
            self.set_mode(m)

    def set_mode(self, m):
        old = self.mode
        # the mark first, then the switch: every request answered in the new mode is logged
        # after the mark (one that read the old mode may be too; its line says which mode)
        self.log("-", "-", "-", "mode %s -> %s" % (old, m))
        if m == "flap":  # before the switch: the first request in flap mode is answered ok
            with self.count_lock:
                self.count = 0
        self.mode = m
        if old == "hang":
            self.drop_hung()
        if m == "off":
            self.drop_hung()
            self.close_listeners()
        elif old == "off":
            self.open_listeners()

    # -- requests ---------------------------------------------------------------------

    def log(self, peer, method, path, what):
        if not self.log_path:
            return
        line = "%.3f %s %s %s -> %s\n" % (time.time(), peer, method, path, what)
        with self.log_lock:
            with open(self.log_path, "a") as f:
                f.write(line)

    def answer_for(self, mode, peer_ip=None):
        """(status, body, delay seconds) for one request in this mode."""
        if mode.startswith("deny:"):
            mode = "503" if peer_ip == mode[5:] else "ok"
        if mode == "flap":
            with self.count_lock:
                n = self.count
                self.count += 1
            mode = "ok" if n % 2 == 0 else "503"
        if mode == "ok":
            return 200, self.body, 0
        if mode == "body":
            return 200, b"wrong content\n", 0
        if mode == "503":
            return 503, b"unavailable\n", 0
        kind, _, arg = mode.partition(":")
        if kind == "status":
            return int(arg), b"status " + arg.encode() + b"\n", 0
        if kind == "slow":
            return 200, self.body, int(arg) / 1000.0
        return 503, b"unavailable\n", 0

    def handle(self, conn, peer):
        try:
            conn.settimeout(5.0)
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    self.log(peer, "-", "-", "TLS handshake failed: %s" % e)
                    return
            data = b""
            while b"\r\n\r\n" not in data and len(data) < MAX_REQUEST:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            line = data.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split()
            method = parts[0] if parts else "-"
            path = parts[1] if len(parts) > 1 else "-"
            mode = self.mode
            status, body, delay = self.answer_for(mode, peer.rsplit(":", 1)[0])
            if delay:
                time.sleep(delay)
            head = ("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                    "Connection: close\r\n\r\n" % (status, REASONS.get(status, "Status"),
                                                  len(body))).encode()
            conn.sendall(head + (b"" if method == "HEAD" else body))
            self.log(peer, method, path, "%d %s" % (status, mode))
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def accept(self, lsock):
        try:
            conn, peer = lsock.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        peer = "%s:%s" % (peer[0], peer[1])
        if self.mode == "hang":
            conn.setblocking(False)
            self.sel.register(conn, selectors.EVENT_READ, "hung")
            self.hung.add(conn)
            self.log(peer, "-", "-", "held (hang)")
            return
        conn.setblocking(True)
        threading.Thread(target=self.handle, args=(conn, peer), daemon=True).start()

    def hung_event(self, conn):
        """A held connection is readable: the peer sent data (ignored) or closed it."""
        try:
            data = conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(conn)
            self.hung.discard(conn)
            conn.close()

    # -- main loop --------------------------------------------------------------------

    def run(self):
        self.read_control()
        if self.mode != "off":
            self.open_listeners()
        print("READY " + " ".join("%s:%d" % (h if f == socket.AF_INET else "[%s]" % h, p)
                                  for f, h, p in self.addrs), flush=True)
        while not self.stopping:
            for key, _ in self.sel.select(POLL_S):
                if key.data == "listen":
                    self.accept(key.fileobj)
                elif key.fileobj in self.hung:
                    self.hung_event(key.fileobj)
            self.read_control()
        self.drop_hung()
        self.close_listeners()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", action="append", required=True, help="ADDR:PORT (repeatable)")
    ap.add_argument("--mode", default="ok", help="initial mode (see above)")
    ap.add_argument("--control", help="file holding the mode word, re-read every 20 ms")
    ap.add_argument("--cert", help="PEM certificate (chain) for HTTPS")
    ap.add_argument("--key", help="PEM private key for HTTPS")
    ap.add_argument("--body", default="backend ok\n", help="body of ok answers")
    ap.add_argument("--log", help="append one line per request to this file")
    args = ap.parse_args(argv)
    if not valid_mode(args.mode):
        ap.error("unknown mode %r" % args.mode)
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")
    die_with_parent()
    b = Backend(args)

    def on_stop(_sig, _frame):
        b.stopping = True

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGUSR1, lambda _s, _f: None)  # wakes select; control is re-read
    b.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
