#!/usr/bin/env python3
"""test_limits.py - the HTTP limits of a real agent, end to end.

Raw TLS sockets against agents started by agentfix.Agent on 127.0.0.2 with
small limits: max_header_bytes (431), max_body_bytes (413), request_timeout
(408, then close), idle_timeout (silent close), max_connections and
max_unauth_connections (503 + Retry-After once the request head is in),
malformed request line or headers (400), HTTP/2.0 (505), Transfer-Encoding
(501), POST without Content-Length (411), and the minimum values the config
accepts. After each refusal the agent must keep serving.

Run: python3 tests/e2e/test_limits.py [test_name...]
Prints one TAP line per test (see tap.py); exits 1 when any failed.
"""

import base64
import os
import re
import socket
import ssl
import sys
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from agentfix import read_response, recv_some, Agent  # noqa: E402
from tap import main  # noqa: E402

TIMEOUT = 10
socket.setdefaulttimeout(TIMEOUT)  # xmlrpc.client connections too
HEAD_MAX = 1024
BODY_MAX = 1024
REQUEST_TIMEOUT = 1
IDLE_TIMEOUT = 2
SLACK = 2.5           # scheduling slack on top of a timeout (sanitizer builds are slow)


# ---- helpers (as in test_rpc.py) ------------------------------------------------

def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


AUTH = basic("admin", "secret")


def call_body(method, *params):
    return xmlrpc.client.dumps(tuple(params), method).encode()


def wait_closed(sock, timeout=TIMEOUT):
    """Read until the peer closes; returns the bytes that arrived meanwhile."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        try:
            chunk = recv_some(sock, deadline)
        except (socket.timeout, TimeoutError):
            raise AssertionError("connection still open after %ss (got %r)" % (timeout, data))
        except (ssl.SSLError, OSError):
            return data
        if not chunk:
            return data
        data += chunk


def nothing_arrives(sock, seconds):
    """True when the peer sends nothing and keeps the connection open for `seconds`."""
    sock.settimeout(seconds)
    try:
        data = sock.recv(1)
    except (socket.timeout, TimeoutError):
        return True
    raise AssertionError("unexpected %r from the agent" % data)


def http_request(method, path, body=b"", auth=AUTH, extra=None, version="HTTP/1.1",
                 length=True):
    lines = ["%s %s %s" % (method, path, version), "Host: agent"]
    if auth:
        lines.append("Authorization: " + auth)
    if method == "POST":
        lines.append("Content-Type: text/xml")
        if length:
            lines.append("Content-Length: %d" % len(body))
    lines += extra or []
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def echo_request(text="x", **kw):
    return http_request("POST", "/RPC2", call_body("echo", text), **kw)


def padded_echo_head(size, text="pad"):
    """An echo request whose head is exactly `size` bytes (X-Pad fills it)."""
    body = call_body("echo", text)
    base = http_request("POST", "/RPC2", body, extra=["X-Pad: "])
    head_len = len(base) - len(body)
    pad = size - head_len
    assert pad >= 0, "head cannot be that small"
    return http_request("POST", "/RPC2", body, extra=["X-Pad: " + "p" * pad]), body


class AgentCase(agentfix.AgentCase):
    def setUp(self):
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass

    def raw(self):
        s = self.agent.connect(timeout=TIMEOUT)
        self.socks.append(s)
        return s

    def assert_serving(self):
        self.assertEqual(self.agent.proxy().echo("still here"), "success:echo=still here")

    def assert_refused(self, data, status, closes=True):
        """Send data on a new connection; expect `status` in text/plain and
        (by default) the connection closed after it."""
        s = self.raw()
        try:
            s.sendall(data)
        except OSError:
            pass  # the agent may answer and stop reading before all is sent
        got, headers, body, rest = read_response(s)
        self.assertEqual(got, status, body)
        self.assertTrue(headers.get("content-type", "").startswith("text/plain"), headers)
        self.assertIn(str(status).encode(), body)
        self.assertNotIn(b"methodResponse", body)
        if closes:
            self.assertEqual(headers.get("connection"), "close")
            self.assertEqual(rest + wait_closed(s), b"", "bytes after the error response")
        return headers, body


# ---- size limits, timeouts and malformed requests -----------------------------------

class LimitsTest(AgentCase):
    agent_kw = {"host": "127.0.0.2", "extra": {
        "max_header_bytes": str(HEAD_MAX), "max_body_bytes": str(BODY_MAX),
        "request_timeout": str(REQUEST_TIMEOUT), "idle_timeout": str(IDLE_TIMEOUT),
        "auth_fail_limit": "1000"}}

    # -- no body is taken from a stranger ----------------------------------------
    def test_credentials_checked_before_the_body(self):
        """A client with wrong or no credentials gets its 403 on the head
        alone: the agent never waits for (and buffers) a body it would
        refuse."""
        for auth in ("Authorization: Basic " + base64.b64encode(b"admin:wrong").decode() +
                     "\r\n", ""):
            head = ("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                    "Content-Length: %d\r\n%s\r\n" % (BODY_MAX, auth)).encode()
            s = self.raw()
            s.sendall(head)          # ... and not one byte of the body
            status, headers, body, _ = read_response(s)
            self.assertEqual(status, 403, body)
            self.assertEqual(headers.get("connection"), "close")
        self.assert_serving()

    # -- max_header_bytes -------------------------------------------------------
    def test_header_at_limit_is_served(self):
        req, body = padded_echo_head(HEAD_MAX, "at limit")
        self.assertEqual(len(req) - len(body), HEAD_MAX)
        s = self.raw()
        s.sendall(req)
        status, _, data, _ = read_response(s)
        self.assertEqual(status, 200, data)
        self.assertEqual(xmlrpc.client.loads(data)[0], ("success:echo=at limit",))

    def test_header_too_big_431(self):
        req, body = padded_echo_head(HEAD_MAX + 1)
        self.assert_refused(req, 431)
        self.assert_serving()

    def test_header_far_too_big_431(self):
        # 64 KiB of header lines, more than the agent's whole input buffer.
        lines = ["X-Filler-%d: %s" % (i, "f" * 50) for i in range(1200)]
        t0 = time.monotonic()
        self.assert_refused(echo_request(extra=lines), 431)
        self.assertLess(time.monotonic() - t0, REQUEST_TIMEOUT + SLACK)
        # A head line that never ends is just as big.
        self.assert_refused(b"POST /RPC2 HTTP/1.1\r\nX-Long: " + b"l" * (4 * HEAD_MAX), 431)
        self.assert_refused(b"GET /" + b"u" * (2 * HEAD_MAX) + b" HTTP/1.1\r\n\r\n", 431)
        self.assert_serving()

    # -- max_body_bytes -------------------------------------------------------------
    def test_body_at_limit_is_served(self):
        body = call_body("echo", "at limit")
        body = body.replace(b"<methodCall>", b"<methodCall>" + b" " * (BODY_MAX - len(body)), 1)
        self.assertEqual(len(body), BODY_MAX)
        s = self.raw()
        s.sendall(http_request("POST", "/RPC2", body))
        status, _, data, _ = read_response(s)
        self.assertEqual(status, 200, data)
        self.assertEqual(xmlrpc.client.loads(data)[0], ("success:echo=at limit",))

    def test_body_too_big_413(self):
        # The answer comes from the head alone: the body is never sent.
        req = http_request("POST", "/RPC2", b"", extra=[]).replace(
            b"Content-Length: 0", b"Content-Length: %d" % (BODY_MAX + 1))
        t0 = time.monotonic()
        self.assert_refused(req, 413)
        self.assertLess(time.monotonic() - t0, REQUEST_TIMEOUT,
                        "413 must not wait for the body (or a timeout)")
        # A body that is too big and actually sent.
        big = call_body("echo", "b" * (2 * BODY_MAX))
        self.assert_refused(http_request("POST", "/RPC2", big), 413)
        with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
            self.agent.proxy().echo("b" * (2 * BODY_MAX))
        self.assertEqual(cm.exception.errcode, 413)
        self.assert_serving()

    def test_body_huge_content_length(self):
        for value, status in (("1099511627776", 413), ("99999999999999999999999", 400),
                              ("-1", 400), ("12abc", 400), ("", 400)):
            with self.subTest(value=value):
                req = http_request("POST", "/RPC2", b"", auth=None, length=False,
                                   extra=["Content-Length: " + value])
                self.assert_refused(req, status)
        # Two different lengths are a smuggling attempt.
        body = call_body("echo", "x")
        req = http_request("POST", "/RPC2", body, extra=["Content-Length: %d" % (len(body) + 1)])
        self.assert_refused(req, 400)
        self.assert_serving()

    # -- request_timeout ----------------------------------------------------------------
    def expect_408(self, s, t0):
        status, headers, body, rest = read_response(s, timeout=REQUEST_TIMEOUT + SLACK + 2)
        elapsed = time.monotonic() - t0
        self.assertEqual(status, 408, body)
        self.assertTrue(headers.get("content-type", "").startswith("text/plain"))
        self.assertEqual(headers.get("connection"), "close")
        self.assertGreaterEqual(elapsed, REQUEST_TIMEOUT - 0.2, "408 came too early")
        self.assertLess(elapsed, REQUEST_TIMEOUT + SLACK, "408 came too late")
        self.assertEqual(rest + wait_closed(s), b"")

    def test_request_timeout_partial_head_408(self):
        s = self.raw()
        t0 = time.monotonic()
        s.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: agent\r\n")
        self.expect_408(s, t0)
        self.assert_serving()

    def test_request_timeout_partial_body_408(self):
        req = echo_request("partial body")
        s = self.raw()
        t0 = time.monotonic()
        s.sendall(req[:-10])
        self.expect_408(s, t0)
        self.assert_serving()

    def test_request_timeout_slow_drip_408(self):
        # One byte every 0.2 s: activity does not extend request_timeout.
        req = echo_request("drip" * 50)
        s = self.raw()
        t0 = time.monotonic()
        got = b""
        for i in range(int((REQUEST_TIMEOUT + SLACK) / 0.2) + 1):
            try:
                s.sendall(req[i:i + 1])
            except OSError:
                break
            s.settimeout(0.2)
            try:
                got = s.recv(65536)
                break
            except (socket.timeout, TimeoutError):
                continue
        self.assertTrue(got, "no answer while dripping for %.1fs" % (time.monotonic() - t0))
        self.assertTrue(got.startswith(b"HTTP/1.1 408 "), got[:60])
        status, _, _, _ = read_response(s, buf=got)
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, REQUEST_TIMEOUT + SLACK)
        wait_closed(s)
        self.assert_serving()

    def test_request_timeout_after_keepalive_request(self):
        s = self.raw()
        s.sendall(echo_request("first"))
        status, _, _, _ = read_response(s)
        self.assertEqual(status, 200)
        t0 = time.monotonic()
        s.sendall(echo_request("second")[:20])
        self.expect_408(s, t0)

    # -- idle_timeout ---------------------------------------------------------------------
    def test_idle_keepalive_closed_silently(self):
        s = self.raw()
        s.sendall(echo_request("then idle"))
        status, headers, _, _ = read_response(s)
        self.assertEqual(status, 200)
        self.assertEqual(headers["connection"], "keep-alive")
        t0 = time.monotonic()
        data = wait_closed(s, timeout=IDLE_TIMEOUT + SLACK + 2)
        elapsed = time.monotonic() - t0
        self.assertEqual(data, b"", "an idle connection must be closed without a response")
        self.assertGreaterEqual(elapsed, IDLE_TIMEOUT - 0.2, "closed before idle_timeout")
        self.assertLess(elapsed, IDLE_TIMEOUT + SLACK)
        self.assert_serving()

    def test_idle_fresh_connection_closed_silently(self):
        s = self.raw()  # TLS handshake done, no request
        t0 = time.monotonic()
        data = wait_closed(s, timeout=IDLE_TIMEOUT + SLACK + 2)
        elapsed = time.monotonic() - t0
        self.assertEqual(data, b"")
        self.assertGreaterEqual(elapsed, IDLE_TIMEOUT - 0.2)
        self.assertLess(elapsed, IDLE_TIMEOUT + SLACK)
        self.assert_serving()

    def test_stalled_tls_handshake_closed(self):
        # A TCP client that never finishes (or never starts) the TLS
        # handshake holds no slot for long, and is not answered in clear.
        for first in (b"", b"\x16\x03\x01\x02\x00\x01"):
            with self.subTest(first=first):
                with socket.create_connection((self.agent.host, self.agent.port),
                                              timeout=TIMEOUT) as s:
                    t0 = time.monotonic()
                    if first:
                        s.sendall(first)
                    data = wait_closed(s, timeout=max(REQUEST_TIMEOUT, IDLE_TIMEOUT) + SLACK + 2)
                    elapsed = time.monotonic() - t0
                    self.assertEqual(data, b"")
                    self.assertLess(elapsed, max(REQUEST_TIMEOUT, IDLE_TIMEOUT) + SLACK)
        self.assert_serving()

    def test_pause_shorter_than_idle_timeout_is_fine(self):
        # Between requests the idle timer applies, not request_timeout.
        s = self.raw()
        for i in range(2):
            s.sendall(echo_request("req %d" % i))
            status, _, body, _ = read_response(s)
            self.assertEqual(status, 200)
            self.assertEqual(xmlrpc.client.loads(body)[0], ("success:echo=req %d" % i,))
            time.sleep(REQUEST_TIMEOUT + 0.3 if i == 0 else 0)
        self.assertLess(REQUEST_TIMEOUT + 0.3, IDLE_TIMEOUT)

    # -- malformed requests -----------------------------------------------------------------
    def test_malformed_request_line_400(self):
        for line in (b"GARBAGE", b"GET /", b"GET / HTTP/1.1 extra", b" / HTTP/1.1",
                     b"GET  / HTTP/1.1", b"G\x01T / HTTP/1.1", b"GET / FTP/1.1",
                     b"GET / HTTP/1", b"GET / http/1.1", b"GET /\x7f HTTP/1.1",
                     b"POST /RPC2 HTTP/x.y"):
            with self.subTest(line=line):
                self.assert_refused(line + b"\r\nHost: agent\r\n\r\n", 400)
        self.assert_serving()

    def test_malformed_headers_400(self):
        for hdr in (b"NoColonHere", b": empty-name", b"Bad Name: x", b" folded: x",
                    b"X-Ctl: a\x01b", b"Expect: something-else"):
            with self.subTest(header=hdr):
                req = echo_request().replace(b"Host: agent\r\n", b"Host: agent\r\n" + hdr + b"\r\n")
                self.assert_refused(req, 400)
        self.assert_serving()

    def test_http_version_505(self):
        self.assert_refused(b"GET / HTTP/2.0\r\nHost: agent\r\n\r\n", 505)
        self.assert_refused(b"GET / HTTP/0.9\r\nHost: agent\r\n\r\n", 505)
        self.assert_serving()

    def test_transfer_encoding_501(self):
        body = call_body("echo", "chunked")
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        req = http_request("POST", "/RPC2", chunked, length=False,
                           extra=["Transfer-Encoding: chunked"])
        self.assert_refused(req, 501)
        req = http_request("POST", "/RPC2", body, extra=["Transfer-Encoding: identity"])
        self.assert_refused(req, 501)
        self.assert_serving()

    def test_post_without_content_length_411(self):
        req = http_request("POST", "/RPC2", b"", length=False)
        self.assert_refused(req + call_body("echo", "x"), 411)
        self.assert_serving()


# ---- connection limits -------------------------------------------------------------

class MaxConnectionsTest(AgentCase):
    agent_kw = {"host": "127.0.0.2", "extra": {
        "max_connections": "2", "max_unauth_connections": "2", "request_timeout": "5"}}

    def wait_serving(self, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.assert_serving()
            except xmlrpc.client.ProtocolError as e:
                if e.errcode != 503 or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def test_503_beyond_max_connections(self):
        self.wait_serving()
        c1 = self.raw()
        c2 = self.raw()
        c1.sendall(echo_request("c1"))
        self.assertEqual(read_response(c1)[0], 200)
        # The third connection is accepted (TLS works) but nothing is said
        # until its request head is in; then 503 with Retry-After.
        c3 = self.raw()
        self.assertTrue(nothing_arrives(c3, 0.5))
        c3.sendall(echo_request("c3"))
        status, headers, body, rest = read_response(c3)
        self.assertEqual(status, 503, body)
        self.assertRegex(headers.get("retry-after", ""), r"^\d+$")
        self.assertGreaterEqual(int(headers["retry-after"]), 1)
        self.assertTrue(headers.get("content-type", "").startswith("text/plain"))
        self.assertNotIn(b"methodResponse", body)
        self.assertEqual(rest + wait_closed(c3), b"")
        with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
            self.agent.proxy().echo("x")
        self.assertEqual(cm.exception.errcode, 503)
        # The two admitted connections are still served.
        c1.sendall(echo_request("c1 again"))
        self.assertEqual(read_response(c1)[0], 200)
        c2.sendall(echo_request("c2"))
        self.assertEqual(read_response(c2)[0], 200)
        # A slot frees up when one of them goes.
        c1.close()
        self.wait_serving()
        self.assertIn("connection limit reached", self.agent.log())

    def test_many_rejected_then_recovers(self):
        self.wait_serving()
        held = [self.raw(), self.raw()]
        extra = []
        for _ in range(10):
            s = self.raw()
            s.sendall(echo_request("extra"))
            extra.append(s)
        for s in extra:
            status, headers, _, _ = read_response(s)
            self.assertEqual(status, 503)
            self.assertIn("retry-after", headers)
        for s in held:
            s.close()
        self.wait_serving()


class MaxUnauthConnectionsTest(AgentCase):
    agent_kw = {"host": "127.0.0.2", "extra": {
        "max_connections": "10", "max_unauth_connections": "2", "request_timeout": "5"}}

    def wait_serving(self, timeout=5):
        MaxConnectionsTest.wait_serving(self, timeout)

    def test_503_beyond_max_unauth(self):
        self.wait_serving()
        u1 = self.raw()
        u2 = self.raw()
        u3 = self.raw()
        self.assertTrue(nothing_arrives(u3, 0.3))
        u3.sendall(echo_request("u3"))
        status, headers, body, rest = read_response(u3)
        self.assertEqual(status, 503, body)
        self.assertIn("retry-after", headers)
        self.assertEqual(rest + wait_closed(u3), b"")
        with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
            self.agent.proxy().echo("x")
        self.assertEqual(cm.exception.errcode, 503)
        # A failed login leaves u2 unauthenticated: still full.
        u2.sendall(echo_request("u2", auth=basic("admin", "wrong")))
        self.assertEqual(read_response(u2)[0], 403)
        u4 = self.raw()
        u4.sendall(echo_request("u4"))
        self.assertEqual(read_response(u4)[0], 503)
        # Once u1 authenticates it no longer counts: a new client gets in.
        u1.sendall(echo_request("u1"))
        status, _, body, _ = read_response(u1)
        self.assertEqual(status, 200)
        self.assertEqual(xmlrpc.client.loads(body)[0], ("success:echo=u1",))
        self.wait_serving()

    def test_authenticated_connections_do_not_count(self):
        self.wait_serving()
        conns = []
        for i in range(5):
            s = self.raw()
            s.sendall(echo_request("a%d" % i))
            status, _, body, _ = read_response(s)
            self.assertEqual(status, 200, "authenticated connection %d refused" % i)
            conns.append(s)
        for i, s in enumerate(conns):
            s.sendall(echo_request("again %d" % i))
            self.assertEqual(read_response(s)[0], 200)
        self.wait_serving()


# ---- configuration bounds ------------------------------------------------------------

class ConfigBoundsTest(unittest.TestCase):
    def test_values_below_minimum_are_refused(self):
        for key, value in (("max_header_bytes", "1023"), ("max_body_bytes", "1023"),
                           ("request_timeout", "0"), ("idle_timeout", "0"),
                           ("max_connections", "0")):
            with self.subTest(key=key):
                a = Agent(host="127.0.0.2", extra={key: value}, password=None)
                try:
                    with self.assertRaises(RuntimeError) as cm:
                        a.start(timeout=10)
                    self.assertIn(key, str(cm.exception))
                finally:
                    a.cleanup()

    def test_minimum_values_are_accepted(self):
        with Agent(host="127.0.0.2", extra={"max_header_bytes": "1024", "max_body_bytes": "1024",
                                             "request_timeout": "1", "idle_timeout": "1",
                                             "max_connections": "1",
                                             "max_unauth_connections": "1"}) as a:
            self.assertEqual(a.proxy().echo("min"), "success:echo=min")


if __name__ == "__main__":
    main()
