#!/usr/bin/env python3
"""test_rpc.py - the XML-RPC surface of a real agent, end to end.

xmlrpc.client, http.client, raw sockets and curl against agents started by
agentfix.Agent (TLS on 127.0.0.2, plain HTTP on 127.0.0.4, TLS on ::1):
echo and the host methods, introspection, system.multicall, fault codes,
GET / and HEAD / (the method page), 404/405, HTTP basic auth (403 with no
XML-RPC body, 401 with the realm for pages, keep-alive kept), keep-alive
and pipelining, plain HTTP on the TLS port, ssl=disable and IPv6.

Run: python3 tests/e2e/test_rpc.py [test_name...]
Prints one TAP line per test (see tap.py); exits 1 when any failed.
"""

import base64
import html.parser
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from agentfix import read_response, recv_some, Agent, unverified  # noqa: E402
from tap import main  # noqa: E402

TIMEOUT = 10          # every socket and subprocess
socket.setdefaulttimeout(TIMEOUT)  # xmlrpc.client connections too
CORE_METHODS = ["system.listMethods", "system.methodHelp", "system.methodSignature",
                "system.multicall", "echo", "get_agent_version", "get_master_ip",
                "xen_get_xm_info", "sys_perf_info"]
TYPE_NAMES = {"string", "int", "i4", "boolean", "double", "array", "struct", "base64",
              "dateTime.iso8601", "nil", "i8", "value"}


# ---- helpers ---------------------------------------------------------------

def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def call_body(method, *params):
    return xmlrpc.client.dumps(tuple(params), method).encode()


def wait_closed(sock, timeout=TIMEOUT):
    """Read until the peer closes; returns what arrived meanwhile."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        try:
            chunk = recv_some(sock, deadline)
        except (ssl.SSLError, OSError) as e:
            if isinstance(e, (socket.timeout, TimeoutError)):
                raise AssertionError("connection still open after %ss" % timeout)
            return data
        if not chunk:
            return data
        data += chunk


def http_request(method, path, body=b"", auth=None, extra=None, version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, path, version), "Host: agent"]
    if auth:
        lines.append("Authorization: " + auth)
    if body or method == "POST":
        lines.append("Content-Type: text/xml")
        lines.append("Content-Length: %d" % len(body))
    lines += extra or []
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def parse_fault(body):
    try:
        xmlrpc.client.loads(body)
    except xmlrpc.client.Fault as f:
        return f
    raise AssertionError("expected a fault, got %r" % body[:300])


class MethodPage(html.parser.HTMLParser):
    """Collects <dt id=name>name</dt><dd>signature help</dd> pairs."""

    def __init__(self):
        super().__init__()
        self.entries = {}
        self.ids = set()
        self.title = ""
        self._cur = None
        self._name = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "dt":
            self._cur = "dt"
            self._name = ""
            self.ids.add(dict(attrs).get("id"))
        elif tag == "dd":
            self._cur = "dd"
            self.entries[self._name] = ""
        elif tag == "title":
            self._in_title = True
        elif tag == "br" and self._cur == "dd":
            self.entries[self._name] += "\n"

    def handle_endtag(self, tag):
        if tag in ("dt", "dd"):
            self._cur = None
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._cur == "dt":
            self._name += data
        elif self._cur == "dd":
            self.entries[self._name] += data
        elif self._in_title:
            self.title += data


class AgentCase(agentfix.AgentCase):
    # -- clients --------------------------------------------------------------
    def proxy(self, **kw):
        return self.agent.proxy(**kw)

    def auth(self):
        return basic(self.agent.user, self.agent.password)

    def https(self):
        a = self.agent
        if a.ssl_on:
            return http.client.HTTPSConnection(a.host, a.port, timeout=TIMEOUT,
                                               context=unverified())
        return http.client.HTTPConnection(a.host, a.port, timeout=TIMEOUT)

    def raw(self):
        return self.agent.connect(timeout=TIMEOUT)

    def exchange(self, data, head_only=False):
        """Send data on a new connection; return (status, headers, body, sock)."""
        s = self.raw()
        s.sendall(data)
        status, headers, body, rest = read_response(s, head_only=head_only)
        self.assertEqual(rest, b"", "bytes after the response")
        return status, headers, body, s

    def assert_serving(self):
        self.assertEqual(self.proxy().echo("still here"), "success:echo=still here")

    def assert_fault(self, code, fn, *args):
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            fn(*args)
        self.assertEqual(cm.exception.faultCode, code, cm.exception.faultString)
        self.assertTrue(cm.exception.faultString, "fault without a message")
        return cm.exception

    def assert_403(self, status, headers, body, expect=403):
        self.assertEqual(status, expect)
        if expect == 401:  # a page: the browser is asked to prompt
            self.assertEqual(headers.get("www-authenticate"), 'Basic realm="ovs-agent"')
        self.assertTrue(headers.get("content-type", "").startswith("text/plain"), headers)
        self.assertNotIn(b"<?xml", body)
        self.assertNotIn(b"methodResponse", body)
        self.assertNotIn(b"fault", body.lower())


# ---- the main TLS agent ------------------------------------------------------

class RpcTest(AgentCase):
    # Many deliberate bad passwords below: keep the slow-down out of the way.
    agent_kw = {"host": "127.0.0.2", "extra": {"auth_fail_limit": "1000"}}

    # -- host methods -----------------------------------------------------------
    def test_echo(self):
        p = self.proxy()
        self.assertEqual(p.echo("hello"), "success:echo=hello")
        self.assertEqual(p.echo(""), "success:echo=")
        self.assertEqual(p.echo("a b;c=d"), "success:echo=a b;c=d")

    def test_echo_unicode_and_large(self):
        p = self.proxy()
        self.assertEqual(p.echo("grüße <&> 日本"), "success:echo=grüße <&> 日本")
        big = "x" * 200000
        self.assertEqual(p.echo(big), "success:echo=" + big)

    def test_get_agent_version(self):
        self.assertRegex(self.proxy().get_agent_version(), r"^success:agent_version=2\.2-\d+$")

    def test_get_master_ip_not_in_pool(self):
        f = self.assert_fault(1008, self.proxy().get_master_ip)
        self.assertIn("pool", f.faultString)

    def test_sys_perf_info(self):
        r = self.proxy().sys_perf_info()
        m = re.match(r"^success:cpu_idle=([0-9.]+);mem_free=(\d+)$", r)
        self.assertTrue(m, r)
        self.assertTrue(0.0 <= float(m.group(1)) <= 1.0, r)
        self.assertGreater(int(m.group(2)), 0, r)

    def test_xen_get_xm_info(self):
        r = self.proxy().xen_get_xm_info()
        self.assertTrue(r.startswith("success:"), r)
        kv = dict(item.split("=", 1) for item in r[len("success:"):].split(";"))
        for key in ("host", "release", "nr_cpus", "cpu_mhz", "total_memory", "free_memory",
                    "xen_major", "xen_minor", "xen_extra"):
            self.assertIn(key, kv, r)
        self.assertEqual(kv["hypervisor"], "sim")
        self.assertGreaterEqual(int(kv["nr_cpus"]), 1)
        self.assertGreater(int(kv["total_memory"]), 0)
        self.assertTrue(0 <= int(kv["free_memory"]) <= int(kv["total_memory"]), r)
        self.assertEqual(kv["host"], socket.gethostname())

    # -- introspection ------------------------------------------------------------
    def test_list_methods(self):
        names = self.proxy().system.listMethods()
        self.assertIsInstance(names, list)
        self.assertEqual(len(names), len(set(names)), "duplicate method names")
        for n in CORE_METHODS:
            self.assertIn(n, names)
        for n in names:
            self.assertRegex(n, r"^[a-z][a-zA-Z0-9_.]*$")

    def test_method_help(self):
        p = self.proxy()
        self.assertIn("success:echo=hello", p.system.methodHelp("echo"))
        for n in p.system.listMethods():
            with self.subTest(method=n):
                h = p.system.methodHelp(n)
                self.assertIsInstance(h, str)
                self.assertGreater(len(h.strip()), 10, "help of %s is too short" % n)

    def test_method_signature(self):
        p = self.proxy()
        self.assertEqual(p.system.methodSignature("echo"), [["string", "string"]])
        self.assertEqual(p.system.methodSignature("system.listMethods"), [["array"]])
        self.assertEqual(p.system.methodSignature("system.methodHelp"), [["string", "string"]])
        self.assertEqual(p.system.methodSignature("get_agent_version"), [["string"]])
        for n in p.system.listMethods():
            with self.subTest(method=n):
                sigs = p.system.methodSignature(n)
                self.assertIsInstance(sigs, list)
                self.assertGreaterEqual(len(sigs), 1)
                for sig in sigs:
                    self.assertIsInstance(sig, list)
                    self.assertGreaterEqual(len(sig), 1)
                    for t in sig:
                        self.assertIn(t, TYPE_NAMES)

    def test_introspection_of_unknown_method(self):
        p = self.proxy()
        self.assert_fault(-32601, p.system.methodHelp, "no_such_method")
        self.assert_fault(-32601, p.system.methodSignature, "no_such_method")

    # -- multicall ------------------------------------------------------------------
    def test_multicall(self):
        calls = [{"methodName": "echo", "params": ["a"]},
                 {"methodName": "no_such_method", "params": []},
                 {"methodName": "echo", "params": ["b"]},
                 {"methodName": "echo", "params": [1]},
                 {"methodName": "get_master_ip", "params": []},
                 {"methodName": "get_agent_version", "params": []},
                 {"methodName": "echo", "params": ["c"]}]
        r = self.proxy().system.multicall(calls)
        self.assertEqual(len(r), len(calls))
        self.assertEqual(r[0], ["success:echo=a"])
        self.assertEqual(set(r[1]), {"faultCode", "faultString"})
        self.assertEqual(r[1]["faultCode"], -32601)
        self.assertEqual(r[2], ["success:echo=b"])
        self.assertEqual(r[3]["faultCode"], -32602)
        self.assertEqual(r[4]["faultCode"], 1008)
        self.assertRegex(r[5][0], r"^success:agent_version=2\.2-\d+$")
        self.assertEqual(r[6], ["success:echo=c"])

    def test_multicall_keeps_order(self):
        calls = [{"methodName": "echo", "params": [str(i)]} for i in range(200)]
        r = self.proxy().system.multicall(calls)
        self.assertEqual(r, [["success:echo=%d" % i] for i in range(200)])
        self.assertEqual(self.proxy().system.multicall([]), [])

    def test_multicall_limit(self):
        call = {"methodName": "echo", "params": ["m"]}
        self.assertEqual(len(self.proxy().system.multicall([call] * 1000)), 1000)
        f = self.assert_fault(-32602, self.proxy().system.multicall, [call] * 1001)
        self.assertIn("1000", f.faultString)

    def test_multicall_via_multicall_object(self):
        mc = xmlrpc.client.MultiCall(self.proxy())
        mc.echo("one")
        mc.get_agent_version()
        mc.echo("two")
        out = list(mc())
        self.assertEqual(out[0], "success:echo=one")
        self.assertTrue(out[1].startswith("success:agent_version="))
        self.assertEqual(out[2], "success:echo=two")

    def test_multicall_nested(self):
        r = self.proxy().system.multicall([
            {"methodName": "system.multicall",
             "params": [[{"methodName": "echo", "params": ["x"]}]]},
            {"methodName": "echo", "params": ["after"]}])
        self.assertEqual(r[0]["faultCode"], -32600)
        self.assertEqual(r[1], ["success:echo=after"])

    # -- faults ---------------------------------------------------------------------
    def test_unknown_method(self):
        p = self.proxy()
        self.assert_fault(-32601, p.no_such_method)
        self.assert_fault(-32601, p.no_such_method, "x")
        self.assert_fault(-32601, getattr(p, "system.no_such"))

    def test_wrong_param_types(self):
        p = self.proxy()
        self.assert_fault(-32602, p.echo, 1)
        self.assert_fault(-32602, p.echo)
        self.assert_fault(-32602, p.echo, "a", "b")
        self.assert_fault(-32602, p.echo, ["hello"])
        self.assert_fault(-32602, p.get_agent_version, "x")
        self.assert_fault(-32602, p.system.methodHelp, 5)
        self.assert_fault(-32602, p.system.methodSignature)

    def test_malformed_xml(self):
        bodies = [b"hello",
                  b"<?xml version='1.0'?><methodCall><methodName>echo</methodName><params>",
                  b"<methodCall><params></params></methodCall>",
                  b"<methodCall><methodName>echo</methodName><params><param><value>"
                  b"<int>abc</int></value></param></params></methodCall>",
                  b"<?xml version='1.0'?><notACall/>",
                  b""]
        for body in bodies:
            with self.subTest(body=body[:40]):
                c = self.https()
                try:
                    c.request("POST", "/RPC2", body, {"Authorization": self.auth(),
                                                      "Content-Type": "text/xml"})
                    r = c.getresponse()
                    data = r.read()
                    self.assertEqual(r.status, 200)
                    self.assertTrue(r.getheader("Content-Type", "").startswith("text/xml"))
                    self.assertEqual(parse_fault(data).faultCode, -32700)
                finally:
                    c.close()
        self.assert_serving()

    # -- HTTP surface ----------------------------------------------------------------
    def test_post_root(self):
        status, headers, body, s = self.exchange(
            http_request("POST", "/", call_body("echo", "root"), self.auth()))
        s.close()
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/xml"))
        self.assertEqual(xmlrpc.client.loads(body)[0], ("success:echo=root",))
        status, _, body, s = self.exchange(
            http_request("POST", "/RPC2?x=1", call_body("echo", "q"), self.auth()))
        s.close()
        self.assertEqual(status, 200)
        self.assertEqual(xmlrpc.client.loads(body)[0], ("success:echo=q",))

    def test_get_index_lists_every_method(self):
        p = self.proxy()
        names = p.system.listMethods()
        c = self.https()
        try:
            c.request("GET", "/", headers={"Authorization": self.auth()})
            r = c.getresponse()
            page = r.read().decode("utf-8")
        finally:
            c.close()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.getheader("Content-Type").startswith("text/html"))
        self.assertIn("<html", page)
        self.assertIn("</html>", page)
        parser = MethodPage()
        parser.feed(page)
        parser.close()
        self.assertIn("Oracle VM Agent", parser.title)
        self.assertEqual(sorted(parser.entries), sorted(names),
                         "GET / must list exactly the methods of system.listMethods")
        for n in names:
            with self.subTest(method=n):
                self.assertIn(n, parser.ids)
                text = parser.entries[n]
                self.assertIn(p.system.methodHelp(n), text)
                for sig in p.system.methodSignature(n):
                    self.assertIn("%s %s(%s)" % (sig[0], n, ", ".join(sig[1:])), text)

    def test_get_index_escapes_html(self):
        status, headers, body, s = self.exchange(http_request("GET", "/", auth=self.auth()))
        s.close()
        self.assertEqual(status, 200)
        page = body.decode()
        # Help texts hold '<' (e.g. <address>): they must arrive escaped.
        self.assertIn("&lt;", page)
        for tag in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", page):
            self.assertIn(tag.lower(), {"html", "head", "meta", "title", "style", "body", "h1",
                                        "p", "a", "dl", "dt", "dd", "code", "br"}, "stray tag")
        # The links to the other pages, before the list.
        self.assertLess(page.index('<a href="/status">'), page.index("<dl>"))
        self.assertLess(page.index('<a href="/metrics">'), page.index("<dl>"))

    def test_head_index(self):
        _, _, page, s = self.exchange(http_request("GET", "/", auth=self.auth()))
        s.close()
        s = self.raw()
        try:
            # HEAD then GET on one connection: a HEAD answer carrying a body
            # would corrupt the second response.
            s.sendall(http_request("HEAD", "/", auth=self.auth()))
            status, headers, _, rest = read_response(s, head_only=True)
            self.assertEqual(status, 200)
            self.assertTrue(headers["content-type"].startswith("text/html"))
            self.assertEqual(int(headers["content-length"]), len(page))
            s.sendall(http_request("GET", "/", auth=self.auth()))
            status, _, body, rest = read_response(s, buf=rest)
            self.assertEqual(status, 200)
            self.assertEqual(body, page)
            self.assertEqual(rest, b"")
        finally:
            s.close()

    def test_not_found(self):
        for method, path in [("POST", "/RPC3"), ("POST", "/rpc2"), ("POST", "/RPC2/x"),
                             ("GET", "/RPC2"), ("GET", "/index.html"), ("HEAD", "/x"),
                             ("GET", "/../etc/passwd")]:
            with self.subTest(method=method, path=path):
                body = call_body("echo", "x") if method == "POST" else b""
                status, headers, data, s = self.exchange(
                    http_request(method, path, body, self.auth()), head_only=method == "HEAD")
                s.close()
                self.assertEqual(status, 404)
                self.assertTrue(headers["content-type"].startswith("text/plain"))
                self.assertNotIn(b"methodResponse", data)
        self.assert_serving()

    def test_method_not_allowed(self):
        for method, path in [("PUT", "/"), ("DELETE", "/RPC2"), ("OPTIONS", "/"),
                             ("PATCH", "/RPC2"), ("get", "/")]:
            with self.subTest(method=method):
                status, headers, _, s = self.exchange(http_request(method, path, auth=self.auth()))
                s.close()
                self.assertEqual(status, 405)
                allow = {m.strip() for m in headers.get("allow", "").split(",")}
                self.assertEqual(allow, {"GET", "HEAD", "POST"})
        self.assert_serving()

    # -- authentication ---------------------------------------------------------------
    def test_403_wrong_password(self):
        with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
            self.proxy(password="wrong").echo("x")
        self.assertEqual(cm.exception.errcode, 403)
        with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
            self.proxy(user="nobody").echo("x")
        self.assertEqual(cm.exception.errcode, 403)
        status, headers, body, s = self.exchange(
            http_request("POST", "/RPC2", call_body("echo", "x"), basic("admin", "wrong")))
        s.close()
        self.assert_403(status, headers, body)
        self.assert_serving()

    def test_403_missing_credentials(self):
        with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
            xmlrpc.client.ServerProxy("https://%s/RPC2" % self.agent.hostport(),
                                      context=unverified()).echo("x")
        self.assertEqual(cm.exception.errcode, 403)
        for req in (http_request("POST", "/RPC2", call_body("echo", "x")),
                    http_request("POST", "/", call_body("echo", "x")),
                    http_request("GET", "/"),
                    http_request("HEAD", "/")):
            with self.subTest(req=req[:12]):
                status, headers, body, s = self.exchange(req, head_only=req.startswith(b"HEAD"))
                s.close()
                self.assert_403(status, headers, body,
                                403 if req.startswith(b"POST") else 401)
                self.assertNotIn(b"<html", body)
        self.assert_serving()

    def test_403_bad_authorization_headers(self):
        good = self.auth()
        for value in ["Basic", "Basic !!!!", "Bearer " + good[6:], "Digest " + good[6:],
                      "Basic " + base64.b64encode(b"admin").decode(),
                      "Basic " + base64.b64encode(b":secret").decode(),
                      "Basic " + base64.b64encode(b"admin:secret\x00x").decode(),
                      "Basic " + base64.b64encode(b"admin:secre").decode(),
                      "Basic " + base64.b64encode(b"admin:secretx").decode(),
                      "Basic " + base64.b64encode(b"Admin:secret").decode(),
                      "Basic " + base64.b64encode(b"admin:secret")[:-1].decode(),
                      "Basic " + base64.b64encode(b"admin:" + b"s" * 5000).decode()]:
            with self.subTest(value=value[:40]):
                status, headers, body, s = self.exchange(
                    http_request("POST", "/RPC2", call_body("echo", "x"), value))
                s.close()
                self.assert_403(status, headers, body)
        # The right credentials still work, and so does the cached credential.
        self.assert_serving()
        self.assert_serving()

    def test_403_keeps_connection_alive(self):
        c = self.https()
        try:
            c.request("POST", "/RPC2", call_body("echo", "x"),
                      {"Authorization": basic("admin", "wrong"), "Content-Type": "text/xml"})
            r = c.getresponse()
            body = r.read()
            self.assertEqual(r.status, 403)
            self.assertNotIn(b"methodResponse", body)
            self.assertEqual(r.getheader("Connection"), "keep-alive")
            sock = c.sock
            self.assertIsNotNone(sock, "the agent closed the connection after 403")
            c.request("GET", "/")  # no credentials at all: a page asks for them
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 401)
            self.assertEqual(r.getheader("Connection"), "keep-alive")
            self.assertIs(c.sock, sock)
            c.request("POST", "/RPC2", call_body("echo", "after 403"),
                      {"Authorization": self.auth(), "Content-Type": "text/xml"})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(xmlrpc.client.loads(r.read())[0], ("success:echo=after 403",))
            self.assertIs(c.sock, sock, "the 403 connection was not kept alive")
        finally:
            c.close()

    # -- connections ---------------------------------------------------------------------
    def test_keepalive_several_calls(self):
        c = self.https()
        try:
            sock = None
            for i in range(6):
                c.request("POST", "/RPC2", call_body("echo", "call %d" % i),
                          {"Authorization": self.auth(), "Content-Type": "text/xml"})
                r = c.getresponse()
                self.assertEqual(r.status, 200)
                self.assertEqual(r.getheader("Connection"), "keep-alive")
                self.assertEqual(xmlrpc.client.loads(r.read())[0], ("success:echo=call %d" % i,))
                if sock is None:
                    sock = c.sock
                    port = sock.getsockname()[1]
                self.assertIs(c.sock, sock, "connection not reused for call %d" % i)
            c.request("GET", "/", headers={"Authorization": self.auth()})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn(b"get_agent_version", r.read())
            c.request("POST", "/RPC2", call_body("no_such_method"),
                      {"Authorization": self.auth(), "Content-Type": "text/xml"})
            r = c.getresponse()
            self.assertEqual(parse_fault(r.read()).faultCode, -32601)
            self.assertIs(c.sock, sock)
            self.assertEqual(c.sock.getsockname()[1], port)
        finally:
            c.close()

    def test_pipelined_requests(self):
        s = self.raw()
        try:
            s.sendall(b"".join(http_request("POST", "/RPC2", call_body("echo", str(i)),
                                            self.auth()) for i in range(4)))
            rest = b""
            for i in range(4):
                status, _, body, rest = read_response(s, buf=rest)
                self.assertEqual(status, 200)
                self.assertEqual(xmlrpc.client.loads(body)[0], ("success:echo=%d" % i,))
            self.assertEqual(rest, b"")
        finally:
            s.close()

    def test_connection_close_and_http10(self):
        for req in (http_request("POST", "/RPC2", call_body("echo", "c"), self.auth(),
                                 extra=["Connection: close"]),
                    http_request("POST", "/RPC2", call_body("echo", "c"), self.auth(),
                                 version="HTTP/1.0")):
            with self.subTest(req=req.split(b"\r\n")[0]):
                status, headers, body, s = self.exchange(req)
                try:
                    self.assertEqual(status, 200)
                    self.assertEqual(headers["connection"], "close")
                    self.assertEqual(xmlrpc.client.loads(body)[0], ("success:echo=c",))
                    self.assertEqual(wait_closed(s), b"")
                finally:
                    s.close()
        status, headers, _, s = self.exchange(
            http_request("POST", "/RPC2", call_body("echo", "k"), self.auth(),
                         version="HTTP/1.0", extra=["Connection: keep-alive"]))
        s.close()
        self.assertEqual(status, 200)
        self.assertEqual(headers["connection"], "keep-alive")

    def test_expect_100_continue(self):
        body = call_body("echo", "continued")
        s = self.raw()
        try:
            s.sendall(http_request("POST", "/RPC2", body, self.auth(),
                                   extra=["Expect: 100-continue"])[:-len(body)])
            status, _, _, rest = read_response(s)
            self.assertEqual(status, 100)
            s.sendall(body)
            status, _, data, rest = read_response(s, buf=rest)
            self.assertEqual(status, 200)
            self.assertEqual(xmlrpc.client.loads(data)[0], ("success:echo=continued",))
        finally:
            s.close()

    def test_plain_http_on_tls_port(self):
        with socket.create_connection((self.agent.host, self.agent.port), timeout=TIMEOUT) as s:
            s.sendall(http_request("POST", "/RPC2", call_body("echo", "x"), self.auth()))
            status, headers, body, _ = read_response(s)
            self.assertEqual(status, 400)
            self.assertTrue(headers["content-type"].startswith("text/plain"))
            self.assertIn(b"This agent speaks HTTPS only", body)
            self.assertEqual(headers.get("connection"), "close")
            self.assertEqual(wait_closed(s), b"")
        with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
            xmlrpc.client.ServerProxy("http://admin:secret@%s/RPC2" % self.agent.hostport()).echo("x")
        self.assertEqual(cm.exception.errcode, 400)
        self.assert_serving()

    # -- curl ------------------------------------------------------------------------
    def curl(self, *args, data=None):
        if not shutil.which("curl"):
            self.skipTest("curl is not installed")
        r = subprocess.run(["curl", "-sS", "-k", "--max-time", str(TIMEOUT)] + list(args),
                           input=data, capture_output=True, timeout=TIMEOUT + 5)
        return r

    def test_curl_echo(self):
        url = "https://%s/RPC2" % self.agent.hostport()
        r = self.curl("-u", "admin:secret", "-H", "Content-Type: text/xml",
                      "--data-binary", "@-", "-w", "\n%{http_code}", url,
                      data=call_body("echo", "from curl"))
        self.assertEqual(r.returncode, 0, r.stderr)
        body, _, code = r.stdout.rpartition(b"\n")
        self.assertEqual(code, b"200")
        self.assertEqual(xmlrpc.client.loads(body)[0], ("success:echo=from curl",))
        # A body over 1 KiB makes curl send Expect: 100-continue.
        big = "y" * 5000
        r = self.curl("-u", "admin:secret", "-H", "Content-Type: text/xml",
                      "--data-binary", "@-", url, data=call_body("echo", big))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(xmlrpc.client.loads(r.stdout)[0], ("success:echo=" + big,))

    def test_curl_get_index_401_and_403(self):
        base = "https://%s/" % self.agent.hostport()
        r = self.curl("-u", "admin:secret", "-D", "-", base)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, rb"^HTTP/1\.1 200 ")
        self.assertRegex(r.stdout, rb"(?i)\r\ncontent-type: text/html")
        for n in CORE_METHODS:
            self.assertIn(n.encode(), r.stdout)
        # A page asks for credentials (401), XML-RPC refuses them (403).
        for args, code in ((["-o", "/dev/null", "-w", "%{http_code}", base], b"401"),
                           (["-u", "admin:nope", "-o", "/dev/null", "-w", "%{http_code}", base],
                            b"401"),
                           (["-u", "admin:nope", "-o", "/dev/null", "-w", "%{http_code}",
                             "--data-binary", "@-", base + "RPC2"], b"403")):
            with self.subTest(args=args):
                r = self.curl(*args, data=call_body("echo", "x"))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, code)
        r = self.curl("-u", "admin:nope", "-H", "Content-Type: text/xml", "-D", "-",
                      "--data-binary", "@-", base + "RPC2", data=call_body("echo", "x"))
        self.assertRegex(r.stdout, rb"^HTTP/1\.1 403 ")
        self.assertRegex(r.stdout, rb"(?i)\r\ncontent-type: text/plain")
        self.assertNotIn(b"methodResponse", r.stdout)

    def test_curl_reuses_connection(self):
        url = "https://%s/RPC2" % self.agent.hostport()
        with tempfile.NamedTemporaryFile(suffix=".xml") as f:
            f.write(call_body("echo", "again"))
            f.flush()
            r = self.curl("-v", "-u", "admin:secret", "-H", "Content-Type: text/xml",
                          "--data-binary", "@" + f.name, url, url, url)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count(b"success:echo=again"), 3)
        self.assertRegex(r.stderr, rb"(?i)re-?using existing connection")
        self.assertEqual(r.stderr.count(b"SSL connection using"), 1, "curl reconnected")


# ---- malformed multicall entries (own agent: a crash here must not take the
# ---- other tests down with it) -------------------------------------------------

class MulticallBadEntryTest(AgentCase):
    agent_kw = {"host": "127.0.0.2"}

    def test_multicall_bad_entries(self):
        p = self.proxy()
        self.assert_fault(-32602, p.system.multicall, "not a list")
        self.assert_fault(-32602, p.system.multicall)
        # Each entry must be {methodName: string, params: array}; anything
        # else is a -32600 entry and the other entries still run.
        bad = ["not a struct", {"params": []}, {"methodName": 7, "params": []},
               {"methodName": "echo"}, {"methodName": "echo", "params": "not an array"}]
        for entry in bad:
            with self.subTest(entry=entry):
                r = p.system.multicall([entry, {"methodName": "echo", "params": ["ok"]}])
                self.assertEqual(len(r), 2)
                self.assertEqual(set(r[0]), {"faultCode", "faultString"})
                self.assertEqual(r[0]["faultCode"], -32600)
                self.assertIn("methodName", r[0]["faultString"])
                self.assertEqual(r[1], ["success:echo=ok"])
                self.assert_serving()


# ---- hostile XML (own agent: a stall here must not slow the other tests) ----------

def entity_bomb(levels):
    """A small call whose one string expands to 30 * 10**levels characters."""
    decls = '<!ENTITY lol "lollollollollollollollollollol">'
    for i in range(1, levels + 1):
        decls += '<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10)
    return ('<?xml version="1.0"?><!DOCTYPE lolz [%s]><methodCall><methodName>echo'
            '</methodName><params><param><value><string>&lol%d;</string></value></param>'
            '</params></methodCall>' % (decls, levels)).encode()


class HostileXmlTest(AgentCase):
    agent_kw = {"host": "127.0.0.2"}

    def post(self, body, timeout=TIMEOUT):
        c = http.client.HTTPSConnection(self.agent.host, self.agent.port, timeout=timeout,
                                        context=unverified())
        try:
            t0 = time.monotonic()
            c.request("POST", "/RPC2", body, {"Authorization": self.auth(),
                                              "Content-Type": "text/xml"})
            r = c.getresponse()
            data = r.read()
            return r.status, data, time.monotonic() - t0
        finally:
            c.close()

    def test_deep_nesting(self):
        n = 5000
        body = ("<methodCall><methodName>echo</methodName><params><param>" +
                "<value><array><data>" * n + "</data></array></value>" * n +
                "</param></params></methodCall>").encode()
        status, data, elapsed = self.post(body)
        self.assertEqual(status, 200)
        self.assertEqual(parse_fault(data).faultCode, -32700)
        self.assertLess(elapsed, 2)
        self.assert_serving()

    def test_external_entity_not_read(self):
        with open("/etc/hostname") as f:
            secret = f.read().strip()
        body = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
                '<methodCall><methodName>echo</methodName><params><param><value><string>[&e;]'
                '</string></value></param></params></methodCall>').encode()
        status, data, _ = self.post(body)
        self.assertEqual(status, 200)
        try:
            result = xmlrpc.client.loads(data)[0][0]
        except xmlrpc.client.Fault:
            result = ""
        if secret:
            self.assertNotIn(secret, result.replace("success:echo=", ""))
        self.assert_serving()

    def test_entity_expansion_refused(self):
        # 661 bytes that expand to 30 MB, far over max_body_bytes (4 MiB): the
        # agent must refuse the call (not echo 30 MB) and not stall on it.
        body = entity_bomb(6)
        self.assertLess(len(body), 1024)
        status, data, elapsed = self.post(body, timeout=60)
        self.assertLess(len(data), 1024 * 1024, "a %d-byte call produced a %d-byte answer"
                        % (len(body), len(data)))
        self.assertEqual(status, 200)
        parse_fault(data)
        self.assertLess(elapsed, 2, "entity expansion kept the agent busy %.1fs" % elapsed)
        self.assert_serving()


# ---- ssl=disable -------------------------------------------------------------

class PlainHttpTest(AgentCase):
    agent_kw = {"host": "127.0.0.4", "ssl_on": False}

    def test_plain_xmlrpc(self):
        p = self.proxy()
        self.assertTrue(self.agent.url().startswith("http://"))
        self.assertEqual(p.echo("hello"), "success:echo=hello")
        self.assertIn("echo", p.system.listMethods())
        self.assert_fault(-32601, p.no_such_method)
        with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
            self.proxy(password="wrong").echo("x")
        self.assertEqual(cm.exception.errcode, 403)

    def test_pipelined_then_half_close(self):
        # Three calls in one write, then shutdown(SHUT_WR): all three are
        # answered, in order, and then the agent closes.
        s = self.raw()
        try:
            s.sendall(b"".join(http_request("POST", "/RPC2", call_body("echo", str(i)),
                                            self.auth()) for i in range(3)))
            s.shutdown(socket.SHUT_WR)
            rest = b""
            for i in range(3):
                status, _, body, rest = read_response(s, buf=rest)
                self.assertEqual(status, 200)
                self.assertEqual(xmlrpc.client.loads(body)[0], ("success:echo=%d" % i,))
            self.assertEqual(rest + wait_closed(s), b"")
        finally:
            s.close()
        self.assert_serving()

    def test_half_close_inside_a_request(self):
        # A body cut short by the half-close is never answered: the
        # connection just ends.
        s = self.raw()
        try:
            req = http_request("POST", "/RPC2", call_body("echo", "x"), self.auth())
            s.sendall(req[:-5])
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(wait_closed(s), b"")
        finally:
            s.close()
        self.assert_serving()

    def test_plain_keepalive_and_index(self):
        c = self.https()
        try:
            c.request("POST", "/RPC2", call_body("echo", "1"),
                      {"Authorization": self.auth(), "Content-Type": "text/xml"})
            r = c.getresponse()
            self.assertEqual(xmlrpc.client.loads(r.read())[0], ("success:echo=1",))
            sock = c.sock
            c.request("GET", "/", headers={"Authorization": self.auth()})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn(b"system.multicall", r.read())
            self.assertIs(c.sock, sock)
        finally:
            c.close()

    def test_tls_client_on_plain_agent(self):
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            xmlrpc.client.ServerProxy("https://admin:secret@%s/RPC2" % self.agent.hostport(),
                                      context=unverified()).echo("x")
        # The agent answers the TLS ClientHello in plain HTTP and closes.
        bio_in, bio_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = unverified().wrap_bio(bio_in, bio_out, server_hostname="localhost")
        with self.assertRaises(ssl.SSLWantReadError):
            tls.do_handshake()
        with socket.create_connection((self.agent.host, self.agent.port), timeout=TIMEOUT) as s:
            s.sendall(bio_out.read())
            status, headers, body, _ = read_response(s)
            self.assertEqual(status, 400)
            self.assertTrue(headers["content-type"].startswith("text/plain"))
            self.assertEqual(wait_closed(s), b"")
        self.assert_serving()


# ---- IPv6 --------------------------------------------------------------------

def ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@unittest.skipUnless(ipv6_loopback(), "::1 is not available on this host")
class Ipv6Test(AgentCase):
    agent_kw = {"host": "::1"}

    def test_ipv6_listen(self):
        self.assertEqual(self.agent.hostport()[:5], "[::1]")
        p = self.proxy()
        self.assertEqual(p.echo("v6"), "success:echo=v6")
        self.assertRegex(p.get_agent_version(), r"^success:agent_version=2\.2-\d+$")
        c = self.https()
        try:
            c.request("GET", "/", headers={"Authorization": self.auth()})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn(b"echo", r.read())
        finally:
            c.close()
        self.assertIn("::1", self.agent.log())


if __name__ == "__main__":
    main()
