#!/usr/bin/env python3
"""bench/pyserver.py - the peer for bench/echo: Python's SimpleXMLRPCServer,
the stack the original Oracle VM Agent was built on, serving `echo`.

    pyserver.py HOST PORT USER PASSWORD [CERT KEY]

- `echo(s)` returns 'success:echo=' + s, like ovs-agent's echo.
- HTTP/1.1 keep-alive (protocol_version = 'HTTP/1.1').
- ThreadingMixIn: a thread per connection. A single-threaded server would
  serve one keep-alive connection until it closes and leave the other 15
  of the benchmark's connections waiting; the original agent threaded too.
- HTTP basic auth: the Authorization header is compared (constant time)
  with the expected "Basic base64(user:password)"; a mismatch gets 401.
  That is cheaper than the agent's check (a cache keyed by a keyed hash of
  the header, backed by crypt(3) on a miss), so it favours Python.
- HTTPS: the listening socket is wrapped with an SSLContext (what
  ssl.wrap_socket(server_side=True) did before Python 3.12 removed it).
- No per-request log lines (logRequests=False).
Prints "ready" on stdout once listening; runs until SIGTERM.
"""
import base64
import hmac
import signal
import socketserver
import ssl
import sys
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    cert = sys.argv[5] if len(sys.argv) > 6 else None
    key = sys.argv[6] if len(sys.argv) > 6 else None
    expected = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()

    class Handler(SimpleXMLRPCRequestHandler):
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

    srv = Server((host, port), requestHandler=Handler, logRequests=False)
    srv.register_function(lambda s: "success:echo=" + s, "echo")
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
