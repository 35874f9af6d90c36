#!/usr/bin/env python3
"""test_do_rpc.py - the do_rpc client tool against real agents.

Two agents are shared by the tests: HTTPS on 127.0.0.8 (its certificate has
subjectAltName IP:127.0.0.8, so --cacert can verify it) and plain HTTP
(ssl=disable) on 127.0.0.9. A small in-process HTTP server on 127.0.0.9
records the XML do_rpc sends, to check argument typing on the wire.

Output contract (utils/do_rpc.c): stdout is the call as a Python list, then
"=> result" or "=> fault CODE: message"; errors are one line on stderr.
Exit 0 success, 1 fault, 2 usage, 3 other errors.

Run: python3 tests/e2e/test_do_rpc.py [test_name...]
"""

import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from agentfix import Agent, binary, free_port, make_cert  # noqa: E402
from tap import main  # noqa: E402

TLS_HOST = "127.0.0.8"
PLAIN_HOST = "127.0.0.9"
DO_RPC = binary("do_rpc")
RUN_TIMEOUT = 30


def do_rpc(*args, timeout=RUN_TIMEOUT, env=None):
    """Run do_rpc; returns (rc, stdout, stderr) as text."""
    p = subprocess.run([DO_RPC] + list(args), capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, env=env)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def cert_for(directory, name, ip):
    """A self-signed certificate whose subjectAltName holds ip."""
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes",
                    "-days", "2", "-subj", "/CN=" + name, "-addext",
                    "subjectAltName=IP:%s" % ip, "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Capture(http.server.BaseHTTPRequestHandler):
    """Records each POST body; answers with a fixed XML-RPC string."""
    bodies = []
    timeout = 10

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.bodies.append(self.rfile.read(n))
        reply = (b"<?xml version='1.0'?><methodResponse><params><param><value><string>"
                 b"captured</string></value></param></params></methodResponse>")
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *a):
        pass


def wire_value(v):
    """A <value> element as (type, python value), arrays/structs recursively."""
    kids = list(v)
    if not kids:
        return ("string", v.text or "")
    t = kids[0]
    tag = t.tag
    if tag in ("int", "i4", "i8"):
        return (tag, int(t.text))
    if tag == "boolean":
        return ("boolean", t.text.strip())
    if tag == "string":
        return ("string", t.text or "")
    if tag == "array":
        return ("array", [wire_value(x) for x in t.find("data").findall("value")])
    if tag == "struct":
        return ("struct", {m.find("name").text: wire_value(m.find("value"))
                           for m in t.findall("member")})
    return (tag, t.text)


class DoRpcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ovs-dorpc-")
        cls.cert, cls.key = cert_for(cls.tmp, "agent", TLS_HOST)
        cls.other_cert, _ = cert_for(cls.tmp, "other", TLS_HOST)
        cls.tls = Agent(host=TLS_HOST, extra={"ssl_cert": cls.cert, "ssl_key": cls.key})
        cls.plain = Agent(host=PLAIN_HOST, ssl_on=False)
        cls.server = None
        try:
            cls.tls.start()
            cls.plain.start()
            cls.server = http.server.ThreadingHTTPServer((PLAIN_HOST, 0), Capture)
            cls.server.daemon_threads = True
            threading.Thread(target=cls.server.serve_forever, kwargs={"poll_interval": 0.1},
                             daemon=True).start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.shutdown()
            cls.server.server_close()
        rcs = []
        for a in (cls.tls, cls.plain):
            try:
                rcs.append(a.stop())
            finally:
                a.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if any(rcs):
            raise AssertionError("agent exit status %r" % rcs)

    def tls_url(self, user="admin", password="secret", host=TLS_HOST, port=None, path=""):
        return "https://%s:%s@%s:%d%s" % (user, password, host, port or self.tls.port, path)

    def plain_url(self, user="admin", password="secret", path=""):
        return "http://%s:%s@%s:%d%s" % (user, password, PLAIN_HOST, self.plain.port, path)

    def assert_one_error_line(self, err, *needles):
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, "want one line on stderr, got %r" % err)
        for n in needles:
            self.assertIn(n.lower(), lines[0].lower(), lines[0])
        return lines[0]

    def captured(self, *args, opts=()):
        """Send args to the capture server; returns the params as wire values."""
        Capture.bodies.clear()
        url = "http://u:p@%s:%d/RPC2" % self.server.server_address
        rc, out, err = do_rpc(*opts, url, "probe", *args)
        self.assertEqual((rc, err), (0, ""), out)
        self.assertTrue(out.endswith("=> captured\n"), out)
        self.assertEqual(len(Capture.bodies), 1)
        root = ET.fromstring(Capture.bodies[0])
        self.assertEqual(root.findtext("methodName"), "probe")
        return [wire_value(p.find("value")) for p in root.find("params").findall("param")]

    # -- the guide's example and output format --------------------------------
    def test_echo_hello_exact_output(self):
        rc, out, err = do_rpc(self.tls_url(), "echo", "hello")
        self.assertEqual(out, "echo ['hello']\n=> success:echo=hello\n")
        self.assertEqual((rc, err), (0, ""))

    def test_echo_over_plain_http(self):
        rc, out, err = do_rpc(self.plain_url(), "echo", "hello")
        self.assertEqual((rc, out, err), (0, "echo ['hello']\n=> success:echo=hello\n", ""))

    def test_url_paths(self):
        for path in ("/RPC2", "/"):
            rc, out, err = do_rpc(self.tls_url(path=path), "echo", "p")
            self.assertEqual((rc, out, err), (0, "echo ['p']\n=> success:echo=p\n", ""), path)
        rc, out, err = do_rpc(self.tls_url(path="/nope"), "echo", "p")
        self.assertEqual(rc, 3)
        self.assertNotIn("=>", out)
        self.assert_one_error_line(err, "404")

    def test_non_string_results_printed_as_python(self):
        rc, out, err = do_rpc(self.tls_url(), "system.methodSignature", "echo")
        self.assertEqual((rc, out, err),
                         (0, "system.methodSignature ['echo']\n=> [['string', 'string']]\n", ""))
        rc, out, err = do_rpc(self.tls_url(), "system.listMethods")
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("system.listMethods []\n=> ['system.listMethods', "), out)
        self.assertIn("'echo'", out)

    def test_quoting_in_printed_call(self):
        rc, out, err = do_rpc(self.tls_url(), "echo", "it's")
        self.assertEqual((rc, out, err), (0, "echo [\"it's\"]\n=> success:echo=it's\n", ""))
        rc, out, err = do_rpc(self.tls_url(), "echo", "a b")
        self.assertEqual((rc, out, err), (0, "echo ['a b']\n=> success:echo=a b\n", ""))

    # -- argument typing --------------------------------------------------------
    def test_int_argument_gives_type_fault(self):
        rc, out, err = do_rpc(self.tls_url(), "echo", "123")
        self.assertEqual(rc, 1, out + err)
        self.assertEqual(err, "")
        lines = out.splitlines()
        self.assertEqual(lines[0], "echo [123]")
        self.assertTrue(lines[1].startswith("=> fault -32602: "), out)
        self.assertIn("int", lines[1])
        self.assertEqual(len(lines), 2, out)

    def test_strings_option_sends_text(self):
        rc, out, err = do_rpc("--strings", self.tls_url(), "echo", "123")
        self.assertEqual((rc, out, err), (0, "echo ['123']\n=> success:echo=123\n", ""))
        rc, out, err = do_rpc("--strings", self.tls_url(), "echo", "[1, 2]")
        self.assertEqual((rc, out, err), (0, "echo ['[1, 2]']\n=> success:echo=[1, 2]\n", ""))

    def test_boolean_list_struct_observed_by_agent(self):
        for arg, printed, kind in (("True", "True", "boolean"), ("false", "False", "boolean"),
                                   ("[1, 'a']", "[1, 'a']", "array"),
                                   ("{'k': 1}", "{'k': 1}", "struct"),
                                   ("-5", "-5", "int")):
            rc, out, err = do_rpc(self.tls_url(), "echo", arg)
            self.assertEqual(rc, 1, arg)
            self.assertEqual(out, "echo [%s]\n=> fault -32602: echo takes (string); got (%s)\n"
                             % (printed, kind), arg)

    def test_nested_literals_through_multicall(self):
        calls = "[{'methodName': 'echo', 'params': ['a']}, {'methodName': 'echo', 'params': [7]}]"
        rc, out, err = do_rpc(self.tls_url(), "system.multicall", calls)
        self.assertEqual(err, "")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out, "system.multicall [%s]\n=> [['success:echo=a'], "
                              "{'faultCode': -32602, 'faultString': "
                              "'echo takes (string); got (int)'}]\n" % calls)

    def test_argument_types_on_the_wire(self):
        got = self.captured("123", "-7", "1099511627776", "99999999999999999999999",
                            "True", "False", "1.5", "abc", "")
        self.assertIn(got[0][0], ("int", "i4"))
        self.assertEqual(got[0][1], 123)
        self.assertIn(got[1][0], ("int", "i4"))
        self.assertEqual(got[1][1], -7)
        self.assertEqual(got[2], ("i8", 1099511627776))
        self.assertEqual(got[3], ("string", "99999999999999999999999"))
        self.assertEqual(got[4], ("boolean", "1"))
        self.assertEqual(got[5], ("boolean", "0"))
        self.assertEqual(got[6:], [("string", "1.5"), ("string", "abc"), ("string", "")])

        got = self.captured("[1, 'two', [True], {}]", "{'a': 1, \"b\": ['x', \"y z\"], c: d}")
        arr = got[0]
        self.assertEqual(arr[0], "array")
        self.assertEqual(arr[1][0][1], 1)
        self.assertEqual(arr[1][1], ("string", "two"))
        self.assertEqual(arr[1][2], ("array", [("boolean", "1")]))
        self.assertEqual(arr[1][3], ("struct", {}))
        st = got[1]
        self.assertEqual(st[0], "struct")
        self.assertEqual(sorted(st[1]), ["a", "b", "c"])
        self.assertEqual(st[1]["a"][1], 1)
        self.assertEqual(st[1]["b"], ("array", [("string", "x"), ("string", "y z")]))
        self.assertEqual(st[1]["c"], ("string", "d"))

        got = self.captured("123", "True", "[1]", opts=["--strings"])
        self.assertEqual(got, [("string", "123"), ("string", "True"), ("string", "[1]")])
        # options end at the URL: later words are arguments, even "--strings"
        got = self.captured("--strings", "5")
        self.assertEqual(got[0], ("string", "--strings"))
        self.assertEqual(got[1][1], 5)

    # -- faults and errors --------------------------------------------------------
    def test_fault_exits_1(self):
        rc, out, err = do_rpc(self.tls_url(), "no_such_method")
        self.assertEqual(rc, 1)
        self.assertEqual(err, "")
        self.assertRegex(out, r"\Ano_such_method \[\]\n=> fault -32601: [^\n]+\n\Z")

    def test_wrong_password_403_exit_3(self):
        for url in (self.tls_url(password="wrong"), self.tls_url(user="nobody"),
                    "https://%s:%d" % (TLS_HOST, self.tls.port)):
            rc, out, err = do_rpc(url, "echo", "hello")
            self.assertEqual(rc, 3, url)
            self.assertNotIn("=>", out)
            self.assert_one_error_line(err, "403")

    def test_percent_encoded_credentials(self):
        self.plain.set_password("oper", "p@ss:w/rd%")
        deadline = time.monotonic() + 5
        while True:  # the agent notices the changed password file within a second
            rc, out, err = do_rpc(self.plain_url("oper", "p%40ss%3Aw%2Frd%25"), "echo", "e")
            if rc == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        self.assertEqual((rc, out, err), (0, "echo ['e']\n=> success:echo=e\n", ""))

    def test_password_from_environment(self):
        """user@ without a password takes $DO_RPC_PASSWORD (kept out of argv)."""
        url = "https://admin@%s:%d" % (TLS_HOST, self.tls.port)
        env = {k: v for k, v in os.environ.items() if k != "DO_RPC_PASSWORD"}
        rc, out, err = do_rpc(url, "echo", "e", env=dict(env, DO_RPC_PASSWORD="secret"))
        self.assertEqual((rc, out, err), (0, "echo ['e']\n=> success:echo=e\n", ""))
        rc, out, err = do_rpc(url, "echo", "e", env=dict(env, DO_RPC_PASSWORD="wrong"))
        self.assertEqual(rc, 3)
        rc, out, err = do_rpc(url, "echo", "e", env=env)
        self.assertEqual(rc, 3)
        # a password in the URL wins
        rc, out, err = do_rpc(self.tls_url(), "echo", "e", env=dict(env, DO_RPC_PASSWORD="wrong"))
        self.assertEqual(rc, 0, out + err)

    def test_connection_refused_exit_3(self):
        port = free_port(TLS_HOST)  # nothing listens there
        rc, out, err = do_rpc(self.tls_url(port=port), "echo", "hello")
        self.assertEqual(rc, 3)
        self.assertNotIn("=>", out)
        self.assert_one_error_line(err, "refused")

    def test_https_against_plain_agent(self):
        url = "https://admin:secret@%s:%d" % (PLAIN_HOST, self.plain.port)
        rc, out, err = do_rpc(url, "echo", "hello")
        self.assertEqual(rc, 3)
        self.assertNotIn("=>", out)
        line = self.assert_one_error_line(err)
        self.assertRegex(line, r"^socket error! code=1, msg=\S")

    def test_http_against_tls_agent(self):
        url = "http://admin:secret@%s:%d" % (TLS_HOST, self.tls.port)
        rc, out, err = do_rpc(url, "echo", "hello")
        self.assertEqual(rc, 3)
        self.assertNotIn("=>", out)
        self.assert_one_error_line(err, "https")

    def test_timeout_when_server_is_silent(self):
        # a socket that is listening but never answers
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((TLS_HOST, 0))
            s.listen(4)
            port = s.getsockname()[1]
            for scheme in ("https", "http"):
                t0 = time.monotonic()
                rc, out, err = do_rpc("--timeout", "1",
                                      "%s://a:b@%s:%d" % (scheme, TLS_HOST, port), "echo", "x",
                                      timeout=15)
                took = time.monotonic() - t0
                self.assertEqual(rc, 3, scheme)
                self.assert_one_error_line(err)
                self.assertLess(took, 5, "%s: --timeout 1 took %.1fs" % (scheme, took))
        finally:
            s.close()

    # -- certificate verification -------------------------------------------------
    def test_cacert_own_certificate_verifies(self):
        rc, out, err = do_rpc("--cacert", self.cert, self.tls_url(), "echo", "hello")
        self.assertEqual((rc, out, err), (0, "echo ['hello']\n=> success:echo=hello\n", ""))

    def test_cacert_other_certificate_fails(self):
        rc, out, err = do_rpc("--cacert", self.other_cert, self.tls_url(), "echo", "hello")
        self.assertEqual(rc, 3)
        self.assertNotIn("=>", out)
        self.assert_one_error_line(err, "verify")

    def test_cacert_name_mismatch_fails(self):
        # right issuer, but its subjectAltName does not name this address
        with tempfile.TemporaryDirectory() as d:
            cert, key = cert_for(d, "elsewhere", "127.0.0.99")
            a = Agent(host=TLS_HOST, extra={"ssl_cert": cert, "ssl_key": key})
            try:
                a.start()
                url = "https://admin:secret@%s:%d" % (TLS_HOST, a.port)
                rc, out, err = do_rpc("--cacert", cert, url, "echo", "hello")
                self.assertEqual(rc, 3, out)
                self.assert_one_error_line(err, "mismatch")
                # without --cacert the same agent is reachable (encrypted, unverified)
                rc, out, err = do_rpc(url, "echo", "hello")
                self.assertEqual(rc, 0, err)
                self.assertEqual(a.stop(), 0)
            finally:
                a.cleanup()

    def test_cacert_unreadable_file(self):
        rc, out, err = do_rpc("--cacert", os.path.join(self.tmp, "missing.pem"),
                              self.tls_url(), "echo", "hello")
        self.assertEqual(rc, 3)
        self.assertNotIn("=>", out)
        self.assert_one_error_line(err, "missing.pem")

    # -- usage --------------------------------------------------------------------
    def test_usage_errors_exit_2(self):
        url = self.tls_url()
        for args in ([], [url], ["--bogus", url, "echo"], ["ftp://x", "echo"],
                     ["not-a-url", "echo"], ["--timeout", "abc", url, "echo"],
                     ["--timeout", "0", url, "echo"], [url, "echo", "[1,"],
                     [url, "echo", "{'a' 1}"], [url, "echo", "[1] x"], ["--cacert"]):
            rc, out, err = do_rpc(*args)
            self.assertEqual(rc, 2, "%r: rc=%d out=%r err=%r" % (args, rc, out, err))
            self.assertEqual(out, "", args)
            self.assertNotEqual(err.strip(), "", args)

    def test_help(self):
        rc, out, err = do_rpc("--help")
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("usage: do_rpc "), out)
        self.assertIn("--cacert", out)
        self.assertIn("Exit status", out)


if __name__ == "__main__":
    main()
