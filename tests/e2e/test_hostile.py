#!/usr/bin/env python3
"""test_hostile.py - hostile input, end to end (issue 6): what an
authenticated caller can send to a `sim` agent, and what must come back.

Each test asserts the precise fault (code, "line N: " prefix and the phrase
of the contract) or HTTP status, and tearDown checks after every test that
the agent is alive and still answers an echo (a dead agent is restarted so
the following tests still mean something, and the test fails).

  Reproductions (run on an HTTPS and on a plain-HTTP agent): the request
    side of the eight defects of issue 6: bad <i8>, deep nesting of three
    shapes, a DTD in UTF-16 and other encodings, xen_set_vifs with 45,000
    vifs (and another client's echo meanwhile), multicall with a 600-"é"
    method name, control characters in xen_create_disk's file name.
  HostileTLS: the classes around them: every scalar type with bad and good
    values, other nesting shapes and the exact depth limit, encodings,
    well-formedness, structure, counts, huge lists for every list-taking
    method, escaping of replies.
  GuestNames: list_vms with Latin-1, control-character and other
    unencodable guest names in the db (set with db_kfv, since register_vm
    refuses them) and with a name beyond U+FFFF, parsed by xmlrpc.client,
    before and after a restart; register_vm and the methods taking file
    names refusing control characters with 1000.
  At the end of each agent class, test_zz_resources: RSS, open fds and
  children back to the baseline measured after warm-up.

Run: python3 tests/e2e/test_hostile.py [test_name...]   (OVS_BUILD=build-san
for the sanitizer build). Prints one TAP line per test (tap.py).
"""

import base64
import codecs
import gc
import os
import re
import socket
import subprocess
import sys
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from agentfix import binary, read_response  # noqa: E402
from tap import main  # noqa: E402
from test_guests_sim import make_guest  # noqa: E402

SAN = "san" in agentfix.BUILD
TIMEOUT = 60 if SAN else 20           # one request, including a 4 MB upload
socket.setdefaulttimeout(TIMEOUT)
# Another client's echo while a 2.4 MB xen_set_vifs is parsed and refused:
# the loop is held for the parse (tens of ms) and the refusal (microseconds).
# Before the fix it was held ~5 s. Generous slack: a check, not a benchmark.
STALL_MAX = 4.0 if SAN else 1.0
# Back to baseline at the end (see HostileCase.warm_up and Baseline):
#   RSS: at most the warmed-up working size + 16 MB. A 100,000-value request
#        takes ~30 MB while it is parsed; glibc keeps freed heap and gives
#        it back only when the top of the heap is free, so RSS after the
#        same request is 12 or 40 MB by chance. The baseline is therefore
#        the highest RSS seen during a warm-up that sends the biggest benign
#        request of every kind the tests send; a leak of even a few hundred
#        kB per hostile request (there are hundreds) exceeds the margin.
#        Under ASan the allocator keeps its own caches and a quarantine
#        (capped at 16 MB for these agents, below): +64 MB; LeakSanitizer at
#        the agent's exit is the precise check there.
#   fds: +2 (a client connection the agent has not yet seen close);
#   children: none more than at baseline.
RSS_MARGIN_KB = (64 if SAN else 16) * 1024
FD_MARGIN = 2
AGENT_ENV = {"ASAN_OPTIONS": (os.environ.get("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
                              + ":quarantine_size_mb=16")} if SAN else {}

DECL = b'<?xml version="1.0"?>\n'
OPEN = b"<methodCall><methodName>%s</methodName><params>\n"
CLOSE = b"\n</params></methodCall>\n"
ALL_TYPES = ["int", "i4", "i8", "boolean", "double", "string", "dateTime.iso8601", "base64",
             "struct", "array", "nil"]


# ---- request bodies --------------------------------------------------------

def doc(param_line, method=b"echo", decl=DECL):
    """A methodCall whose params are all on line 3 (line 1 the declaration,
    line 2 the methodCall/methodName/params open, line 4 the close)."""
    return decl + OPEN % method + param_line + CLOSE


def param(value_xml):
    return b"<param><value>" + value_xml + b"</value></param>"


def typed(tag, text):
    t = tag.encode()
    return param(b"<%s>%s</%s>" % (t, text.encode() if isinstance(text, str) else text, t))


def line2(inner, method=b"echo"):
    """The whole methodCall on line 2 (for the nesting documents)."""
    return DECL + b"<methodCall><methodName>" + method + b"</methodName><params><param>" + inner


def call_body(method, *params):
    return xmlrpc.client.dumps(tuple(params), method).encode()


def multicall_line(structs_xml):
    """system.multicall with one array of the given struct values, on line 3."""
    return doc(b"<param><value><array><data>" + b"".join(structs_xml) + b"</data></array></value>"
               b"</param>", method=b"system.multicall")


def member(name, value_xml):
    return b"<member><name>" + name + b"</name><value>" + value_xml + b"</value></member>"


def echo_struct(text=b"x", extra=b""):
    return (b"<value><struct>" + member(b"methodName", b"<string>echo</string>") +
            member(b"params", b"<array><data><value><string>" + text +
                   b"</string></value></data></array>") + extra + b"</struct></value>")


def bomb(decl_encoding, lt="<"):
    """A billion-laughs document (9 levels, ~3 GB expanded) with the DTD on
    line 2; lt replaces '<' inside the DTD (UTF-7 writes it +ADw-)."""
    ents = [lt + '!ENTITY l0 "lol">'] + [
        lt + '!ENTITY l%d "%s">' % (i, ("&l%d;" % (i - 1)) * 10) for i in range(1, 10)]
    return ('<?xml version="1.0" encoding="%s"?>\n' % decl_encoding +
            lt + "!DOCTYPE methodCall [" + "".join(ents) + "]>\n"
            "<methodCall><methodName>echo</methodName><params><param><value><string>"
            "&l9;</string></value></param></params></methodCall>\n")


def vif_list(n, dup_last=False):
    vifs = ["mac=00:16:3e:%02x:%02x:%02x, bridge=xenbr0" % (i >> 16 & 255, i >> 8 & 255, i & 255)
            for i in range(n)]
    if dup_last and n > 1:
        vifs[-1] = vifs[0]
    return vifs


# ---- the agent process ------------------------------------------------------

def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def children(pid):
    out = []
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                out += f.read().split()
        except FileNotFoundError:
            pass
    return out


def basic_auth(agent):
    return "Basic " + base64.b64encode(("%s:%s" % (agent.user, agent.password)).encode()).decode()


def request(agent, body, content_type="text/xml"):
    head = ("POST /RPC2 HTTP/1.1\r\nHost: agent\r\nAuthorization: %s\r\n"
            "Content-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (basic_auth(agent), content_type, len(body))).encode()
    return head + body


class HostileCase(agentfix.AgentCase):
    """An agent per class; tearDown checks it after every test; warm-up then
    baseline in setUpClass. No tests of its own (unittest would run them)."""
    agent_kw = {"host": "127.0.0.6", "env": AGENT_ENV}
    measure = True   # warm up and take a baseline (for Baseline.test_zz_resources)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.prepare()
            if cls.measure:
                peak = cls.warm_up()
                pid, rss, fds, kids = cls.settle()
                cls.baseline = (pid, max(peak, rss), fds, kids)
        except BaseException:
            cls.agent.cleanup()
            raise

    @classmethod
    def prepare(cls):
        cls.root = cls.agent.keys["ovs_root"]
        cls.pool = os.path.join(cls.root, "running_pool")
        os.makedirs(cls.pool, exist_ok=True)
        make_guest(cls.agent, "vifs")
        cls.agent.proxy().register_vm("vifs")

    @classmethod
    def warm_up(cls):
        """Grow the agent's heap to its working size with the biggest benign
        request of every kind the tests send (answered as before issue 6:
        nothing here is hostile). Returns the highest RSS seen (kB)."""
        a = cls.agent
        p = a.proxy()
        pid = a.proc.pid
        peak = 0
        for i in range(20):
            p.echo("warm %d" % i)
        p.echo("w" * 3 * 1024 * 1024)
        p.system.multicall([{"methodName": "echo", "params": ["x"]}] * 1000)
        p.system.multicall([{"methodName": "no_such_%d" % i, "params": []} for i in range(1000)])
        for body in (doc(param(b"<array><data>" + b"<value>v</value>" * 99990 + b"</data></array>")),
                     doc(param(b"<array><data>" + b"<value>a</value>" * 4 + b"</data></array>")
                         * 19000),
                     doc(param(b"<array><data>" + b"<value><i4>1</i4></value>" * 60000 +
                               b"</data></array>")),
                     call_body("system.multicall",
                               [{"methodName": "echo", "params": ["x"]}] * 15000),
                     call_body("echo", *(["x"] * 60000)),
                     line2(b"<value><array><data>" * 80 + b"<value>x</value>" +
                           b"</data></array></value>" * 80 + b"</param></params></methodCall>"),
                     call_body("xen_set_vifs", "vifs", vif_list(200))):
            cls.post(body, a)
            peak = max(peak, rss_kb(pid))
        p.list_vms()
        return max(peak, rss_kb(pid))

    @classmethod
    def settle(cls):
        """(pid, rss_kb, fds, children) once no client connection is left:
        our sockets are closed, so wait until the fd count stops falling."""
        gc.collect()
        pid = cls.agent.proc.pid
        last, stable = None, 0
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and stable < 3:
            n = fd_count(pid)
            stable = stable + 1 if n == last else 0
            last = n
            time.sleep(0.1)
        return pid, rss_kb(pid), last, children(pid)

    # -- per test ---------------------------------------------------------
    def tearDown(self):
        a = self.agent
        if a.proc.poll() is not None:
            rc = a.proc.returncode
            err = a.stderr()[-3000:]
            a.start()
            self.fail("the agent died (status %s); restarted it. stderr tail:\n%s" % (rc, err))
        self.assertEqual(a.proxy().echo("still here"), "success:echo=still here")

    # -- requests ---------------------------------------------------------
    @classmethod
    def post(cls, body, agent=None, content_type="text/xml", timeout=TIMEOUT):
        """One raw POST /RPC2 on a fresh connection: (status, headers, body)."""
        s = (agent or cls.agent).connect(timeout=timeout)
        try:
            try:
                s.sendall(request(agent or cls.agent, body, content_type))
            except OSError:
                pass   # answered (413) before the whole body went out
            status, headers, data, _ = read_response(s, timeout=timeout)
            return status, headers, data
        finally:
            s.close()

    def parse_reply(self, body, agent=None):
        status, headers, data = self.post(body, agent)
        self.assertEqual(status, 200, data[:300])
        self.assertTrue(headers.get("content-type", "").startswith("text/xml"), headers)
        return data

    def xml_fault(self, body, code, phrase=None, line=None, agent=None):
        """body must get fault code; for -32700 the string starts "line N: "
        (N = line when given) and holds phrase (a str, or a tuple of
        alternatives). Returns the fault string."""
        data = self.last_reply = self.parse_reply(body, agent)
        with self.assertRaises(xmlrpc.client.Fault, msg=data[:300]) as cm:
            xmlrpc.client.loads(data)
        f = cm.exception
        self.assertEqual(f.faultCode, code, f.faultString)
        if code == -32700:
            prefix = r"^line %s: " % (line if line is not None else r"\d+")
            self.assertRegex(f.faultString, prefix)
        if phrase is not None:
            alts = phrase if isinstance(phrase, tuple) else (phrase,)
            self.assertTrue(any(p in f.faultString for p in alts),
                            "%r not in %r" % (alts, f.faultString))
        return f.faultString

    def xml_ok(self, body, agent=None):
        data = self.parse_reply(body, agent)
        return xmlrpc.client.loads(data)[0]

    def rpc_fault(self, code, fn, *args):
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            fn(*args)
        self.assertEqual(cm.exception.faultCode, code, cm.exception.faultString)
        return cm.exception.faultString


class Baseline:
    """Mixed into the classes that measure (HostileCase.measure)."""

    def test_zz_resources(self):
        """Runs last in its class (by name): RSS, fds and children back near
        the baseline measured after warm-up (margins at the top)."""
        pid0, rss0, fds0, kids0 = self.baseline
        self.assertEqual(self.agent.proc.pid, pid0, "the agent was restarted: it died in a test")
        deadline = time.monotonic() + 5
        while True:
            pid, rss, fds, kids = self.settle()
            if fds <= fds0 + FD_MARGIN or time.monotonic() > deadline:
                break
        sys.stderr.write("# %s resources: rss %d -> %d kB, fds %d -> %d, children %s -> %s\n"
                         % (type(self).__name__, rss0, rss, fds0, fds, kids0, kids))
        self.assertLessEqual(fds, fds0 + FD_MARGIN, os.listdir("/proc/%d/fd" % pid))
        self.assertLessEqual(len(kids), len(kids0), kids)
        self.assertLessEqual(rss, rss0 + RSS_MARGIN_KB, "RSS grew %d kB" % (rss - rss0))


# ---- the eight reproductions of issue 6 (request side), on TLS and plain HTTP

class Reproductions:
    # 1. <i8> that is not a number (crashed inside xmlrpc-c)
    def test_r1_i8_not_a_number(self):
        for text in ("abc", "9223372036854775808", "-9223372036854775809", "1.5", "", "1 2",
                     "0x10", "99999999999999999999999999999999999999"):
            with self.subTest(i8=text):
                self.xml_fault(doc(typed("i8", text)), -32700, "not a 64-bit integer", 3)
        ns = b' xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"'
        body = doc(typed("ex:i8", "abc")).replace(b"<methodCall>", b"<methodCall" + ns + b">")
        self.xml_fault(body, -32700, "not a 64-bit integer", 3)

    # 2. deep nesting within the default 4 MiB body (stack overflow)
    def test_r2_nested_a_300000(self):
        body = line2(b"<a>" * 300000 + b"</a>" * 300000 + b"</param></params></methodCall>")
        self.assertLess(len(body), 4 * 1024 * 1024)
        # The contract lists `<a>` inside <param> under both rows: too deep,
        # and an element that is not a value. Either is a precise answer.
        self.xml_fault(body, -32700, ("nested deeper than 256", "unexpected element"), 2)

    def test_r2_unclosed_arrays_100000(self):
        body = line2(b"<value><array><data>" * 100000)
        self.assertLess(len(body), 4 * 1024 * 1024)
        self.xml_fault(body, -32700, "nested deeper than 256", 2)

    def test_r2_unclosed_structs_100000(self):
        body = line2(b"<value><struct><member><name>a</name>" * 100000)
        self.assertLess(len(body), 4 * 1024 * 1024)
        self.xml_fault(body, -32700, "nested deeper than 256", 2)

    # 3. a DTD hidden from a byte search by the encoding
    def test_r3_dtd_in_other_encodings(self):
        cases = {
            "UTF-16LE BOM": codecs.BOM_UTF16_LE + bomb("UTF-16").encode("utf-16-le"),
            "UTF-16BE BOM": codecs.BOM_UTF16_BE + bomb("UTF-16").encode("utf-16-be"),
            "UTF-16LE no BOM": bomb("UTF-16").encode("utf-16-le"),
            "UCS-4": bomb("UCS-4").encode("utf-32-be"),
            "ISO-8859-1": bomb("ISO-8859-1").encode("latin-1"),
            "UTF-7": bomb("UTF-7", lt="+ADw-").encode("ascii"),
            "UTF-8": bomb("UTF-8").encode(),
        }
        # UCS-4 and UTF-7 are refused before parsing (their markup is not
        # in ASCII code units, so the attribute pre-scan could not read it).
        refused = {"UCS-4": ("UCS-4 or EBCDIC", 1), "UTF-7": ("'UTF-7' is not accepted", 1)}
        for name, body in cases.items():
            with self.subTest(encoding=name):
                if name not in ("UTF-8", "ISO-8859-1"):
                    self.assertNotIn(b"<!DOCTYPE", body)
                try:
                    phrase, line = refused.get(name, ("DTD", 2))
                    self.xml_fault(body, -32700, phrase, line)
                finally:
                    n = len(getattr(self, "last_reply", b""))
                    self.assertLess(n, 4096, "entities expanded? a %d-byte reply" % n)

    def test_r3_external_entities(self):
        for dtd in (b'<!DOCTYPE methodCall SYSTEM "file:///etc/passwd">',
                    b'<!DOCTYPE methodCall [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                    b'<!DOCTYPE methodCall [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'):
            with self.subTest(dtd=dtd):
                body = DECL + dtd + b"\n" + (OPEN % b"echo") + param(b"<string>&x;</string>") + CLOSE
                msg = self.xml_fault(body, -32700, "DTD", 2)
                self.assertNotIn("root:", msg)

    # 4. xen_set_vifs: 45,000 distinct MACs held the loop for seconds
    def test_r4_set_vifs_45000_does_not_hold_others(self):
        a = self.agent
        body = call_body("xen_set_vifs", "vifs", vif_list(45000))
        req = request(a, body)
        vifs_before = a.proxy().xen_get_vifs("vifs")
        big = a.connect(timeout=TIMEOUT)
        other = a.connect(timeout=TIMEOUT)
        try:
            # The other client is in (TLS, auth) before the big one lands.
            other.sendall(request(a, call_body("echo", "before")))
            self.assertEqual(read_response(other)[0], 200)
            big.sendall(req[:-1])
            time.sleep(0.3)            # the agent has read all but one byte
            t0 = time.monotonic()
            big.sendall(req[-1:])      # now it parses and runs it...
            other.sendall(request(a, call_body("echo", "meanwhile")))  # ...and this waits
            status, _, data, _ = read_response(other, timeout=TIMEOUT)
            echo_wait = time.monotonic() - t0
            self.assertEqual(status, 200)
            self.assertEqual(xmlrpc.client.loads(data)[0], ("success:echo=meanwhile",))
            status, _, data, _ = read_response(big, timeout=TIMEOUT)
            refused = time.monotonic() - t0
        finally:
            big.close()
            other.close()
        sys.stderr.write("# %s: 45,000 vifs refused after %.3f s; the other echo waited "
                         "%.3f s\n" % (type(self).__name__, refused, echo_wait))
        self.assertEqual(status, 200)
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            xmlrpc.client.loads(data)
        self.assertEqual(cm.exception.faultCode, 1000, cm.exception.faultString)
        self.assertIn("at most 256 vifs", cm.exception.faultString)
        self.assertLess(echo_wait, STALL_MAX)
        self.assertLess(refused, STALL_MAX)
        self.assertEqual(a.proxy().xen_get_vifs("vifs"), vifs_before)   # vm.cfg untouched

    # 5. multicall: an entry whose fault string was cut inside a character
    def test_r5_multicall_long_method_name(self):
        r = self.agent.proxy().system.multicall([
            {"methodName": "é" * 600, "params": ["x"]},
            {"methodName": "echo", "params": ["second"]}])
        self.assertEqual(len(r), 2, r)
        self.assertEqual(set(r[0]), {"faultCode", "faultString"})
        self.assertEqual(r[0]["faultCode"], -32601)
        fs = r[0]["faultString"]
        # Cut on a character boundary (at 1024 bytes), not escaped.
        self.assertTrue(fs.startswith("no such method '" + "é" * 500), fs[:80])
        self.assertLessEqual(len(fs.encode()), 1024)
        self.assertNotIn("\\x", fs)
        self.assertEqual(r[1], ["success:echo=second"])

    # 8. control characters in xen_create_disk's file name
    def test_r8_create_disk_control_characters(self):
        d = os.path.join(self.pool, "vifs")
        before = sorted(os.listdir(d))
        for name in ("x.img\n", "a\nb.img", "tab\t.img", "del\x7f.img"):
            with self.subTest(name=name):
                msg = self.rpc_fault(1000, self.agent.proxy().xen_create_disk,
                                     os.path.join(d, name), 1)
                self.assertTrue(msg)
        # A CR survives XML only as &#13;.
        self.xml_fault(doc(param(b"<string>" + d.encode() + b"/cr&#13;.img</string>") +
                           b"<param><value><int>1</int></value></param>",
                           method=b"xen_create_disk"), 1000)
        self.assertEqual(sorted(os.listdir(d)), before)
        # The same call with a plain name works: the name was the reason.
        self.assertEqual(self.agent.proxy().xen_create_disk(os.path.join(d, "plain.img"), 1),
                         "success")
        os.unlink(os.path.join(d, "plain.img"))


class ReproTLS(Reproductions, Baseline, HostileCase):
    agent_kw = {"host": "127.0.0.6", "env": AGENT_ENV}


class ReproPlain(Reproductions, Baseline, HostileCase):
    agent_kw = {"host": "127.0.0.7", "ssl_on": False, "env": AGENT_ENV}


# ---- the classes around them --------------------------------------------------

class HostileTLS(Baseline, HostileCase):
    agent_kw = {"host": "127.0.0.8", "env": AGENT_ENV}

    def got(self, value_xml):
        """echo(value): the -32602 names the type the parser built."""
        msg = self.xml_fault(doc(param(value_xml)), -32602)
        m = re.search(r"got \((.*)\)$", msg)
        self.assertTrue(m, msg)
        return m.group(1)

    # -- scalars: bad values ------------------------------------------------
    def test_int_bad_values(self):
        for tag in ("int", "i4"):
            for text in ("abc", "1.5", "", "2147483648", "-2147483649", "0x10", "1e3", "--1",
                         "1 2", "+", "99999999999999999999"):
                with self.subTest(tag=tag, text=text):
                    self.xml_fault(doc(typed(tag, text)), -32700, "not a 32-bit integer", 3)

    def test_boolean_bad_values(self):
        for text in ("2", "true", "false", "", "-1", "01", "1 1", "yes"):
            with self.subTest(text=text):
                self.xml_fault(doc(typed("boolean", text)), -32700, "boolean must be 0 or 1", 3)

    def test_double_bad_values(self):
        for text in ("nan", "NaN", "inf", "-inf", "Infinity", "1e999", "-1e999", "abc", "",
                     "1.2.3", "0x1p3", "1e", ".", "1,5", "1" * 600):
            with self.subTest(text=text[:20]):
                self.xml_fault(doc(typed("double", text)), -32700, "not a double", 3)

    def test_datetime_bad_values(self):
        for text in ("yesterday", "", "2024", "20240131", "20240131T12:34", "20240131 12:34:56",
                     "20240131T12:34:56junk", "2024-0131T12:34:56", "20241331T12:34:56",
                     "20240230T12:34:56", "20240131T25:00:00", "20240131T12:34:56+25:00",
                     "x0240131T12:34:56"):
            with self.subTest(text=text):
                self.xml_fault(doc(typed("dateTime.iso8601", text)), -32700,
                               "not a dateTime.iso8601", 3)

    def test_base64_bad_values(self):
        for text in ("a", "aGVsbG8", "aGVsbG8==", "aG=sbG8=", "aGVs!G8=", "****", "aGVsbG8===",
                     "=aGVsbG8", "aGVsbG8=x", "é"):
            with self.subTest(text=text):
                self.xml_fault(doc(typed("base64", text)), -32700, "not valid base64", 3)

    # -- scalars: good values, and the type each becomes ----------------------
    def test_every_type_parses_to_its_type(self):
        ns = b' xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"'
        cases = [
            (b"<int>42</int>", "int"), (b"<int> 1</int>", "int"), (b"<int>\n 7 \n</int>", "int"),
            (b"<int>2147483647</int>", "int"), (b"<int>-2147483648</int>", "int"),
            (b"<i4>-5</i4>", "int"), (b"<i8>9223372036854775807</i8>", "int"),
            (b"<i8>-9223372036854775808</i8>", "int"), (b"<i8> 12 </i8>", "int"),
            (b"<ex:i8>5</ex:i8>", "int"),
            (b"<boolean>0</boolean>", "boolean"), (b"<boolean>1</boolean>", "boolean"),
            (b"<double>1.5</double>", "double"), (b"<double>-0.0</double>", "double"),
            (b"<double>1e308</double>", "double"), (b"<double>3</double>", "double"),
            (b"<double>-2.5E-3</double>", "double"),
            (b"<dateTime.iso8601>20240131T12:34:56</dateTime.iso8601>", "dateTime.iso8601"),
            (b"<dateTime.iso8601>2024-01-31T12:34:56</dateTime.iso8601>", "dateTime.iso8601"),
            (b"<dateTime.iso8601>20240131T12:34:56.123</dateTime.iso8601>", "dateTime.iso8601"),
            (b"<dateTime.iso8601>20240131T12:34:56Z</dateTime.iso8601>", "dateTime.iso8601"),
            (b"<dateTime.iso8601>20240131T12:34:56+02:00</dateTime.iso8601>",
             "dateTime.iso8601"),
            (b"<dateTime.iso8601>20240229T00:00:00</dateTime.iso8601>", "dateTime.iso8601"),
            (b"<base64>aGVsbG8=</base64>", "base64"), (b"<base64></base64>", "base64"),
            (b"<base64>aGVs\n bG8h</base64>", "base64"), (b"<base64>YQ==</base64>", "base64"),
            (b"<nil/>", "nil"), (b"<ex:nil/>", "nil"),
            (b"<struct></struct>", "struct"),
            (b"<struct>" + member(b"a", b"<int>1</int>") + b"</struct>", "struct"),
            (b"<array><data></data></array>", "array"),
            (b"<array><data><value>x</value><value><int>1</int></value></data></array>",
             "array"),
        ]
        for xml, want in cases:
            with self.subTest(value=xml):
                body = doc(param(xml)).replace(b"<methodCall>", b"<methodCall" + ns + b">")
                msg = self.xml_fault(body, -32602)
                self.assertTrue(msg.endswith("got (%s)" % want), msg)
        self.assertEqual(set(w for _, w in cases) | {"string", "i4", "i8"}, set(ALL_TYPES))

    def test_strings_round_trip(self):
        cases = [
            (b"plain", "plain"), (b"<string>typed</string>", "typed"),
            (b"<string></string>", ""), (b"<string/>", ""), (b"", ""),
            (b"&amp;&lt;&gt;&quot;&apos;", "&<>\"'"),
            (b"caf&#233; &#x65E5;", "café 日"),
            (b"<string><![CDATA[<not>&markup;]]></string>", "<not>&markup;"),
            (b"<string>  spaces kept  </string>", "  spaces kept  "),
            (b"tab\tand\nnewline", "tab\tand\nnewline"),
            ("grüße 日本".encode(), "grüße 日本"),
            (b"back\\slash", "back\\slash"),
            (b"del\x7f", "del\x7f"),
        ]
        for xml, want in cases:
            with self.subTest(value=xml):
                self.assertEqual(self.xml_ok(doc(param(xml))), ("success:echo=" + want,))
        # CR: raw CR and CRLF become LF (XML); &#13; keeps a CR, which the
        # reply carries as &#x0d; (xmlrpc-c does), so it arrives unchanged.
        self.assertEqual(self.xml_ok(doc(param(b"a\r\nb\rc"))), ("success:echo=a\nb\nc",))
        self.assertEqual(self.xml_ok(doc(param(b"a&#13;b"))), ("success:echo=a\rb",))
        self.assertEqual(self.xml_ok(doc(param(b"c:\\d&#13;"))), ("success:echo=c:\\d\r",))

    def test_non_bmp_characters(self):
        """Characters beyond U+FFFF are valid UTF-8 and XML, but xmlrpc-c
        1.33 has no strings that hold them: a clear fault, in any spelling."""
        phrase = "characters beyond U+FFFF are not supported"
        for xml in ("😀".encode(), b"&#x1F600;", b"<string>\xf0\x9f\x98\x80</string>"):
            with self.subTest(value=xml):
                self.xml_fault(doc(param(xml)), -32700, phrase)
        body = codecs.BOM_UTF16_BE + doc(param("a😀".encode()), decl=b'<?xml version="1.0" '
                                         b'encoding="UTF-16"?>\n').decode().encode("utf-16-be")
        self.xml_fault(body, -32700, phrase)
        msg = self.rpc_fault(-32700, self.agent.proxy().echo, "𝄞 ok")
        self.assertIn("U+1D11E", msg)

    def test_empty_params(self):
        for body in (DECL + b"<methodCall><methodName>get_agent_version</methodName>"
                     b"<params/></methodCall>",
                     DECL + b"<methodCall><methodName>get_agent_version</methodName>"
                     b"<params></params></methodCall>",
                     DECL + b"<methodCall><methodName>get_agent_version</methodName></methodCall>",
                     DECL + b"<methodCall>\n  <methodName>get_agent_version</methodName>\n"
                     b"</methodCall>\n"):
            with self.subTest(body=body):
                self.assertRegex(self.xml_ok(body)[0], r"^success:agent_version=")

    # -- nesting -------------------------------------------------------------
    def test_depth_limit_is_exactly_256(self):
        # Elements open at once, methodCall counting 1: methodCall, params,
        # param, then 84 x (value, array, data), then the innermost value:
        # 3 + 252 + 1 = 256 is accepted; one <string> inside it is 257.
        k = 84
        ok = line2(b"<value><array><data>" * k + b"<value>x</value>" +
                   b"</data></array></value>" * k + b"</param></params></methodCall>")
        self.assertTrue(self.xml_fault(ok, -32602).endswith("got (array)"))
        deep = line2(b"<value><array><data>" * k + b"<value><string>x</string></value>" +
                     b"</data></array></value>" * k + b"</param></params></methodCall>")
        self.xml_fault(deep, -32700, "nested deeper than 256", 2)

    def test_other_nesting_shapes(self):
        shapes = {
            "closed arrays 30000": line2(b"<value><array><data>" * 30000 + b"<value>x</value>" +
                                         b"</data></array></value>" * 30000 +
                                         b"</param></params></methodCall>"),
            "closed structs 20000": line2(
                b"<value><struct><member><name>a</name>" * 20000 + b"<value>x</value>" +
                b"</member></struct></value>" * 20000 + b"</param></params></methodCall>"),
            "arrays and structs": line2(
                b"<value><array><data><value><struct><member><name>m</name>" * 5000),
            "in a multicall": line2(b"<value><array><data><value><struct>"
                                    b"<member><name>params</name><value><array><data>" +
                                    b"<value><array><data>" * 50000,
                                    method=b"system.multicall"),
        }
        for name, body in shapes.items():
            with self.subTest(shape=name):
                self.assertLess(len(body), 4 * 1024 * 1024)
                self.xml_fault(body, -32700, "nested deeper than 256", 2)
        # <value> in <value> is also out of place: either answer is precise.
        self.xml_fault(line2(b"<value>" * 100000), -32700,
                       ("nested deeper than 256", "unexpected element"), 2)

    def test_too_big_body_is_413_not_parsed(self):
        body = line2(b"<value><array><data>" * 250000)
        self.assertGreater(len(body), 4 * 1024 * 1024)
        status, _, data = self.post(body)
        self.assertEqual(status, 413, data[:200])

    # -- encodings -------------------------------------------------------------
    def test_declared_encodings_echo(self):
        cases = [
            ("ISO-8859-1 é", b'<?xml version="1.0" encoding="ISO-8859-1"?>\n' +
             doc(param(b"caf\xe9"), decl=b""), "café"),
            ("latin1 lower case", b"<?xml version='1.0' encoding='iso-8859-1'?>\n" +
             doc(param(b"<string>\xe9t\xe9</string>"), decl=b""), "été"),
            ("windows-1252 euro", b'<?xml version="1.0" encoding="windows-1252"?>\n' +
             doc(param(b"\x80 5"), decl=b""), "€ 5"),
            ("UTF-16LE BOM", codecs.BOM_UTF16_LE + doc(param("café 日".encode()),
             decl=b'<?xml version="1.0" encoding="UTF-16"?>\n').decode().encode("utf-16-le"),
             "café 日"),
            ("UTF-16BE BOM", codecs.BOM_UTF16_BE + doc(param("ça x".encode()),
             decl=b'<?xml version="1.0" encoding="UTF-16"?>\n').decode().encode("utf-16-be"),
             "ça x"),
            ("UTF-16LE BOM, no declaration", codecs.BOM_UTF16_LE +
             doc(param("ünï".encode()), decl=b"").decode().encode("utf-16-le"), "ünï"),
            ("UTF-8 BOM", codecs.BOM_UTF8 + doc(param("naïve".encode())), "naïve"),
            ("UTF-8 declared", doc(param("ß".encode()),
                                   decl=b'<?xml version="1.0" encoding="UTF-8"?>\n'), "ß"),
        ]
        for name, body, want in cases:
            with self.subTest(encoding=name):
                self.assertEqual(self.xml_ok(body), ("success:echo=" + want,))

    def test_many_attributes(self):
        # libxml2 2.9 compares an element's attributes pairwise: 370,000 on
        # one tag (4 MB) would hold the loop for a minute. Refused first.
        attrs = b" ".join(b'a%d=""' % i for i in range(370000))
        t0 = time.monotonic()
        self.xml_fault(doc(param(b"<string " + attrs + b"/>")), -32700,
                       "an element has more than 32 attributes", 3)
        self.assertLess(time.monotonic() - t0, 10)
        many = b"".join(b"<value xmlns:p%d='u'/>" % i for i in range(300))
        self.xml_fault(doc(param(b"<array><data>" + many + b"</data></array>")), -32700,
                       "more than 256 attributes")

    def test_unknown_encoding(self):
        body = doc(param(b"x"), decl=b'<?xml version="1.0" encoding="no-such-charset"?>\n')
        self.xml_fault(body, -32700, "encoding 'no-such-charset' is not accepted", 1)

    def test_not_well_formed(self):
        cases = [
            ("invalid UTF-8 byte", doc(param(b"caf\xe9 x")), 3),
            ("lone continuation byte", doc(param(b"a\x80b")), 3),
            ("overlong /", doc(param(b"a\xc0\xafb")), 3),
            ("surrogate", doc(param(b"a\xed\xa0\x80b")), 3),
            ("beyond U+10FFFF", doc(param(b"a\xf4\x90\x80\x80b")), 3),
            ("truncated sequence", doc(param(b"a\xe6\x97")), 3),
            ("&#1;", doc(param(b"a&#1;b")), 3),
            ("&#0;", doc(param(b"a&#0;b")), 3),
            ("&#xFFFE;", doc(param(b"a&#xFFFE;b")), 3),
            ("&#xD800;", doc(param(b"a&#xD800;b")), 3),
            ("&#x110000;", doc(param(b"a&#x110000;b")), 3),
            ("raw control byte", doc(param(b"a\x01b")), 3),
            ("raw escape byte", doc(param(b"a\x1bb")), 3),
            ("undefined entity", doc(param(b"a&foo;b")), 3),
            ("bare ampersand", doc(param(b"a & b")), 3),
            ("mismatched end tag", doc(param(b"<string>x</int>")), 3),
            ("attribute without quotes", doc(b"<param><value a=1>x</value></param>"), 3),
            ("unclosed at the end", DECL + b"<methodCall><methodName>echo</methodName><params>"
             b"<param><value>x</value></param>", 2),
            ("two roots", DECL + b"<methodCall><methodName>echo</methodName><params><param>"
             b"<value>x</value></param></params></methodCall><methodCall>", 2),
            ("garbage", b"hello", 1),
            ("text after the root", DECL + b"<methodCall><methodName>echo</methodName>"
             b"<params><param><value>x</value></param></params></methodCall>junk", 2),
        ]
        for name, body, line in cases:
            with self.subTest(case=name):
                self.xml_fault(body, -32700, "not well-formed", line)
        # An empty body: -32700 on line 1 (the contract gives no phrase for it).
        self.xml_fault(b"", -32700, None, 1)

    # -- structure -------------------------------------------------------------
    def test_unexpected_elements(self):
        for name, line_xml in (
                ("<a> in <param>", b"<param><a>x</a></param>"),
                ("<foo> as a type", param(b"<foo>x</foo>")),
                ("<int> holding an element", param(b"<int><b>1</b></int>")),
                ("<struct> holding a <value>", param(b"<struct><value>x</value></struct>")),
                ("<data> holding a <member>", param(b"<array><data>" + member(b"a", b"x") +
                                                    b"</data></array>"))):
            with self.subTest(case=name):
                self.xml_fault(doc(line_xml), -32700, "unexpected element", 3)

    def test_method_call_shape(self):
        for name, body, phrase in (
                ("methodResponse root", DECL + b"<methodResponse><params><param><value>x"
                 b"</value></param></params></methodResponse>", "methodCall"),
                ("other root", DECL + b"<notACall/>", "methodCall"),
                ("no methodName, params", DECL + b"<methodCall><params><param><value>x</value>"
                 b"</param></params></methodCall>", "methodName"),
                ("no methodName, empty", DECL + b"<methodCall/>", "methodName"),
                ("no methodName, no params", DECL + b"<methodCall></methodCall>", "methodName"),
                ("empty methodName", DECL + b"<methodCall><methodName></methodName><params/>"
                 b"</methodCall>", "methodName")):
            with self.subTest(case=name):
                self.xml_fault(body, -32700, phrase, 2)

    def test_struct_member_limit(self):
        def struct_of(n_extra):
            extra = b"".join(member(b"m%d" % i, b"<int>%d</int>" % i) for i in range(n_extra))
            return multicall_line([echo_struct(b"x", extra)])
        # methodName + params + 1022 = 1024 members: fine.
        self.assertEqual(self.xml_ok(struct_of(1022)), ([["success:echo=x"]],))
        self.xml_fault(struct_of(1023), -32700, "more than 1024 members", 3)

    def test_duplicate_member_names(self):
        dup = member(b"methodName", b"<string>echo</string>")
        self.xml_fault(multicall_line([echo_struct(b"x", dup)]), -32700, "appears twice", 3)
        again = member(b"m", b"1") + member(b"m", b"2")
        self.xml_fault(doc(param(b"<struct>" + again + b"</struct>")), -32700, "appears twice", 3)

    def test_value_count_limit(self):
        def array_of(n):
            return doc(param(b"<array><data>" + b"<value>v</value>" * n + b"</data></array>"))
        # 99,998 items + their array = 99,999 values (however counted, < 100,000).
        self.assertTrue(self.xml_fault(array_of(99998), -32602).endswith("got (array)"))
        self.xml_fault(array_of(100001), -32700, "more than 100000 values", 3)
        # Spread over many params: the count is per request, 5 values a param.
        many = doc(param(b"<array><data>" + b"<value>a</value>" * 4 + b"</data></array>") * 20001)
        self.assertLess(len(many), 4 * 1024 * 1024)
        self.xml_fault(many, -32700, "more than 100000 values", 3)

    # -- huge lists for every list-taking method ---------------------------------
    def test_multicall_huge_lists(self):
        p = self.agent.proxy()
        t0 = time.monotonic()
        msg = self.rpc_fault(-32602, p.system.multicall,
                             [{"methodName": "echo", "params": ["x"]}] * 15000)
        self.assertIn("at most 1000 calls", msg)
        self.assertLess(time.monotonic() - t0, STALL_MAX)
        # 1000 entries each faulting with a 1 KB message: 1000 results.
        r = p.system.multicall([{"methodName": "é" * 600, "params": []}] * 1000)
        self.assertEqual(len(r), 1000)
        self.assertTrue(all(e["faultCode"] == -32601 for e in r))
        # An entry with 50,000 params; an entry that is not a struct.
        r = p.system.multicall([{"methodName": "echo", "params": ["x"] * 50000}, "junk", 7,
                                {"methodName": "echo"}, {"params": []},
                                {"methodName": "echo", "params": ["ok"]}])
        self.assertEqual(len(r), 6, r)
        self.assertEqual(r[0]["faultCode"], -32602)
        for e in r[1:5]:
            self.assertEqual(e["faultCode"], -32600, e)
        self.assertEqual(r[5], ["success:echo=ok"])

    def test_many_params(self):
        p = self.agent.proxy()
        msg = self.rpc_fault(-32602, p.echo, *(["x"] * 60000))
        self.assertIn("echo takes (string)", msg)
        self.rpc_fault(-32602, p.get_agent_version, *([1] * 60000))

    def test_set_vifs_limits(self):
        p = self.agent.proxy()
        make_guest(self.agent, "vl")
        msg = self.rpc_fault(1000, p.xen_set_vifs, "vl", vif_list(257))
        self.assertIn("at most 256 vifs", msg)
        msg = self.rpc_fault(1000, p.xen_set_vifs, "vl", vif_list(256, dup_last=True))
        self.assertIn("same MAC", msg)
        # Duplicates told apart however the MAC is spelled.
        msg = self.rpc_fault(1000, p.xen_set_vifs, "vl", ["mac=00:16:3e:00:00:0a",
                                                           "mac=00:16:3E:00:00:0A"])
        self.assertIn("same MAC", msg)
        self.assertEqual(p.xen_set_vifs("vl", vif_list(256)), "success")
        self.assertEqual(p.xen_get_vifs("vl").count("vif"), 256)
        t0 = time.monotonic()
        msg = self.rpc_fault(1000, p.xen_set_vifs, "vl", vif_list(45000, dup_last=True))
        self.assertIn("at most 256 vifs", msg)
        self.assertLess(time.monotonic() - t0, STALL_MAX)

    # -- replies ---------------------------------------------------------------
    def test_long_method_name_fault_is_valid(self):
        msg = self.rpc_fault(-32601, getattr(self.agent.proxy(), "é" * 100))
        self.assertIn("é" * 100, msg)
        # A handler's "%.300s" cuts "/éé..." inside a character: the reply
        # still parses, the stray byte shown as \xc3 (or the cut is made on
        # a character boundary), never dropped or replaced.
        msg = self.rpc_fault(1006, self.agent.proxy().xen_create_disk, "/" + "é" * 600, 1)
        self.assertRegex(msg, r"^/(é){100,}(\\xc3)? is outside the repository root ")


# ---- guest names that XML cannot carry ---------------------------------------------

# db value -> how list_vms must show it (issue 6 contract: bytes that are not
# UTF-8 or not XML characters as \xNN, and then a backslash as \\).
DB_NAMES = [
    (b"caf\xe9", "caf\\xe9"),
    (b"a\x01b\x1bc", "a\\x01b\\x1bc"),
    (b"back\\slash\xff", "back\\\\slash\\xff"),
    (b"p\\q", "p\\q"),
    (b"tab\tok", "tab\tok"),
    (b"cr\rx", "cr\rx"),          # carried as &#x0d;
    (b"smile \xf0\x9f\x98\x80", "smile \\xf0\\x9f\\x98\\x80"),  # beyond U+FFFF
    (b"nc\xef\xbf\xbe", "nc\\xef\\xbf\\xbe"),
    (b"nc\xef\xbf\xbf", "nc\\xef\\xbf\\xbf"),
    (b"sur\xed\xa0\x80", "sur\\xed\\xa0\\x80"),
    (b"over\xc0\xaf", "over\\xc0\\xaf"),
    (b"del\x7f", "del\x7f"),
    (b"caf\xc3\xa9", "café"),
]


class GuestNames(HostileCase):
    agent_kw = {"host": "127.0.0.9", "env": AGENT_ENV}
    measure = False

    def db_set(self, guest, field, value):
        r = subprocess.run([binary("db_kfv"), "--config", self.agent.ini, "--", "vm", guest,
                            field, value], capture_output=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)

    def listed(self):
        """list_vms through xmlrpc.client, and the raw reply's bytes."""
        rows = self.agent.proxy().list_vms()
        data = self.parse_reply(call_body("list_vms"))
        return {r["path"]: r for r in rows}, data

    def check_listing(self, paths):
        rows, data = self.listed()
        data.decode("utf-8")   # strict: the reply is UTF-8
        # (Lines end in CRLF: a raw CR says nothing.)
        for ch in b"\x01\x1b":
            self.assertNotIn(bytes([ch]), data)
        for (raw, shown), path in zip(DB_NAMES, paths):
            with self.subTest(name=raw):
                self.assertIn(path, rows)
                self.assertEqual(rows[path]["name"], shown)
                self.assertEqual(rows[path]["status"], "DOWN")

    def forget_later(self, *guests):
        """Unregister at the end, pass or fail (after tearDown restarted a
        dead agent): a record that crashes list_vms must not spoil the
        other tests of the class."""
        def forget():
            for g in guests:
                try:
                    self.agent.proxy().unregister_vm(g)
                except xmlrpc.client.Fault:
                    pass
        self.addCleanup(forget)

    def test_list_vms_with_unencodable_names_and_restart(self):
        p = self.agent.proxy()
        paths = []
        self.forget_later(*["n%d" % i for i in range(len(DB_NAMES))])
        for i in range(len(DB_NAMES)):
            paths.append(make_guest(self.agent, "n%d" % i))
            p.register_vm("n%d" % i)
        # register_vm refuses such names now; older agents took them, so the
        # records are made the way a db tool (or an old agent) would.
        self.assertEqual(self.agent.stop(), 0, self.agent.stderr())
        for i, (raw, _) in enumerate(DB_NAMES):
            self.db_set("n%d" % i, "name", raw)
        self.agent.start()
        self.check_listing(paths)
        # A guest's own status call is unaffected, and so is the next start.
        self.assertEqual(self.agent.proxy().get_vm_status("n0"), "success:status=DOWN")
        self.assertEqual(self.agent.stop(), 0, self.agent.stderr())
        self.agent.start()
        self.check_listing(paths)

    def test_list_vms_with_a_name_beyond_the_bmp(self):
        """A name with a character beyond U+FFFF (an emoji) is refused at
        registration (xmlrpc-c 1.33 could never show it), and the agent
        keeps serving; a record that has one lists escaped (DB_NAMES)."""
        p = self.agent.proxy()
        self.forget_later("emoji")
        d = make_guest(self.agent, "emoji")
        with open(os.path.join(d, "vm.cfg"), "wb") as f:
            f.write("name = 'smile 😀'\nmemory = 256\nvcpus = 1\n".encode())
        msg = self.rpc_fault(1000, p.register_vm, "emoji")
        self.assertIn("U+1F600", msg)
        self.assertNotIn(d, {r["path"] for r in p.list_vms()})

    def test_register_refuses_unencodable_names(self):
        p = self.agent.proxy()
        for i, raw in enumerate((b"caf\xe9", b"a\x01b\x1bc", b"x\x7f", b"nl\x1fx", b"\xff")):
            with self.subTest(name=raw):
                g = "bad%d" % i
                d = make_guest(self.agent, g)
                with open(os.path.join(d, "vm.cfg"), "wb") as f:
                    f.write(b"name = '" + raw + b"'\nmemory = 256\nvcpus = 1\n")
                self.rpc_fault(1000, p.register_vm, g)
                self.assertNotIn(d, {r["path"] for r in p.list_vms()})
        d = make_guest(self.agent, "good")
        with open(os.path.join(d, "vm.cfg"), "wb") as f:
            f.write("name = 'café 日本'\nmemory = 256\nvcpus = 1\n".encode())
        self.assertTrue(p.register_vm("good").startswith("success:uuid="))
        self.assertIn("café 日本", [r["name"] for r in p.list_vms()])

    def test_file_and_guest_names_with_control_characters(self):
        """One rule for every name a caller gives: each call below would be
        accepted but for the control character in the name (the files exist,
        the rest is valid), so 1000 is the only right answer."""
        p = self.agent.proxy()
        root = self.agent.keys["ovs_root"]
        make_guest(self.agent, "cd")
        iso_dir = os.path.join(root, "iso_pool")
        os.makedirs(iso_dir, exist_ok=True)
        for n in ("ok.iso", "t\tab.iso", "n\nl.iso", "d\x7fel.iso"):
            with open(os.path.join(iso_dir, n), "wb") as f:
                f.write(b"\0" * 2048)
        self.assertEqual(p.xen_change_vm_cdrom("cd", os.path.join(iso_dir, "ok.iso")), "success")
        for n in ("t\tab.iso", "n\nl.iso", "d\x7fel.iso"):
            with self.subTest(method="xen_change_vm_cdrom", name=n):
                self.rpc_fault(1000, p.xen_change_vm_cdrom, "cd", os.path.join(iso_dir, n))
        for n in ("g\tx", "g\x7fx"):
            with self.subTest(method="register_vm", name=n):
                make_guest(self.agent, n)
                self.rpc_fault(1000, p.register_vm, n)
                self.rpc_fault(1000, p.register_vm, os.path.join(self.pool, n))
        d = os.path.join(self.pool, "cd")
        for n in ("a\tb.img", "a\nb.img"):
            with self.subTest(method="xen_add_disk", name=n):
                open(os.path.join(d, n), "wb").close()
                self.rpc_fault(1000, p.xen_add_disk, "cd", "file:%s/%s,hdb,w" % (d, n))
        for n in ("n\tx", "n\nx", "n\x7fx"):
            with self.subTest(method="install_vm_hvm", name=n):
                self.rpc_fault(1000, p.install_vm_hvm, n, 256, 1, 8,
                               os.path.join(iso_dir, "ok.iso"))
        self.assertFalse([e for e in os.listdir(self.pool) if e.startswith("n")])


if __name__ == "__main__":
    main()
