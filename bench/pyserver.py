#!/usr/bin/env python3
"""bench/pyserver.py - the Python peers for bench/echo: Python's
SimpleXMLRPCServer, the stack the original Oracle VM Agent was built on,
serving `echo`.

    pyserver.py [--original] HOST PORT USER PASSWORD [CERT KEY]

Two ways of running it:

- default ("python-tuned"): HTTP/1.1 keep-alive (protocol_version =
  'HTTP/1.1'), so each of the benchmark's connections carries many calls
  and, over HTTPS, one TLS handshake serves them all. Not what the original
  agent did; a best case for Python.
- --original ("python-original", the issue's baseline): the request handler's
  default protocol_version, HTTP/1.0, as SimpleXMLRPCServer behaves out of
  the box and as the original agent's stack ran: the server closes the
  connection after every response, so every call is a new TCP connection
  and, over HTTPS, a new TLS handshake (done in accept(), i.e. in the
  listening thread, as with ssl.wrap_socket on the listening socket).

Common to both:
- `echo(s)` returns 'success:echo=' + s, like ovs-agent's echo.
- ThreadingMixIn: a thread per connection (the original agent threaded its
  server too; a single-threaded keep-alive server would serve one
  connection until it closes and leave the others waiting).
- request_queue_size = 128 (the listen backlog; socketserver's default is 5,
  which with 16 clients reconnecting after every call could overflow and
  cost Python SYN retransmits of a second or more; 128 favours Python).
- HTTP basic auth: the Authorization header is compared (constant time)
  with the expected "Basic base64(user:password)"; a mismatch gets 401.
  That is cheaper than the agent's check (a cache keyed by a keyed hash of
  the header, backed by crypt(3) on a miss), so it favours Python.
- HTTPS: the listening socket is wrapped with an SSLContext (what
  ssl.wrap_socket(server_side=True) did before Python 3.12 removed it).
- No per-request log lines (logRequests=False).
Prints "ready" on stdout once listening; runs until SIGTERM.
"""
import argparse
import base64
import hmac
import signal
import socketserver
import ssl
import sys
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer


def main():
    ap = argparse.ArgumentParser(description="SimpleXMLRPCServer echo peer for bench/echo")
    ap.add_argument("--original", action="store_true",
                    help="HTTP/1.0 (the handler's default): close after every response")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("cert", nargs="?")
    ap.add_argument("key", nargs="?")
    args = ap.parse_args()
    if bool(args.cert) != bool(args.key):
        ap.error("give both CERT and KEY, or neither")
    expected = "Basic " + base64.b64encode(
        ("%s:%s" % (args.user, args.password)).encode()).decode()

    class Handler(SimpleXMLRPCRequestHandler):
        # --original: keep BaseHTTPRequestHandler's default, "HTTP/1.0".
        if not args.original:
            protocol_version = "HTTP/1.1"
        rpc_paths = ("/RPC2", "/")

        def parse_request(self):
            if not super().parse_request():
                return False
            if not hmac.compare_digest(self.headers.get("Authorization", ""), expected):
                self.close_connection = True
                self.send_error(401, "authentication required")
                return False
            return True

    class Server(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 128

    srv = Server((args.host, args.port), requestHandler=Handler, logRequests=False)
    srv.register_function(lambda s: "success:echo=" + s, "echo")
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
