#!/usr/bin/env python3
"""test_acl.py - allow/deny rules of a real agent, end to end.

Agents from agentfix.Agent listen on 127.0.0.2 (TLS); clients bind their
source address anywhere in 127.0.0.1-127.0.0.9. A refused client must see
its connection closed before the agent sends a single byte: no TLS
ServerHello even when the client has sent a ClientHello. An admitted client
must get a full authenticated echo. Covers single addresses, lists,
wildcards (127.0.0.*, 127.*), CIDR, host names (localhost, fnmatch patterns)
and IPv6 (::1).

Run: python3 tests/e2e/test_acl.py [test_name...]
Prints one TAP line per test (see tap.py); exits 1 when any failed.
"""

import base64
import http.client
import os
import socket
import ssl
import sys
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from agentfix import Agent, unverified  # noqa: E402
from tap import main  # noqa: E402

TIMEOUT = 10
socket.setdefaulttimeout(TIMEOUT)  # xmlrpc.client connections too
AGENT_HOST = "127.0.0.2"
AUTH = "Basic " + base64.b64encode(b"admin:secret").decode()


def client_hello():
    """The bytes of a TLS ClientHello, as a real client sends first."""
    bio_in, bio_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = unverified().wrap_bio(bio_in, bio_out, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = bio_out.read()
    assert hello[:1] == b"\x16", "not a TLS handshake record"
    return hello


def raw_probe(host, port, source, timeout=TIMEOUT):
    """Connect from `source`, send a ClientHello and return what the agent
    sends before it closes the connection: b"" for a refused client (closed
    or reset with nothing sent), the first bytes (a ServerHello) otherwise.
    Fails when the agent neither answers nor closes within timeout."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect((host, port))
        try:
            s.sendall(client_hello())
        except (BrokenPipeError, ConnectionResetError):
            return b""
        try:
            return s.recv(65536)
        except ConnectionResetError:
            return b""
        except (socket.timeout, TimeoutError):
            raise AssertionError("from %s: no answer and no close within %ss" % (source, timeout))


def https_echo(host, port, source, text="acl"):
    """An authenticated echo over TLS from `source`; returns the result."""
    c = http.client.HTTPSConnection(host, port, timeout=TIMEOUT, context=unverified(),
                                    source_address=(source, 0))
    try:
        c.request("POST", "/RPC2", xmlrpc.client.dumps((text,), "echo").encode(),
                  {"Authorization": AUTH, "Content-Type": "text/xml"})
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise AssertionError("HTTP %d from %s: %r" % (r.status, source, body))
        return xmlrpc.client.loads(body)[0][0]
    finally:
        c.close()


class AclCase(agentfix.AgentCase):
    """One agent per class with the class's allow/deny keys."""
    rules = {}
    host = AGENT_HOST

    @classmethod
    def setUpClass(cls):
        cls.agent_kw = {"host": cls.host, "extra": dict(cls.rules)}
        super().setUpClass()

    def assert_served(self, source):
        first = raw_probe(self.agent.host, self.agent.port, source)
        self.assertTrue(first, "client %s was refused (rules %r)" % (source, self.rules))
        self.assertEqual(first[:1], b"\x16", "expected a TLS handshake record")
        self.assertEqual(https_echo(self.agent.host, self.agent.port, source, source),
                         "success:echo=" + source)

    def assert_refused(self, source):
        got = raw_probe(self.agent.host, self.agent.port, source)
        self.assertEqual(got, b"", "refused client %s received %d bytes (rules %r)"
                         % (source, len(got), self.rules))
        with self.assertRaises(OSError):  # SSLError, ConnectionResetError, RemoteDisconnected
            https_echo(self.agent.host, self.agent.port, source)
        self.assert_logged_refusal(source)

    def assert_logged_refusal(self, source):
        deadline = time.monotonic() + 5
        while True:
            lines = [l for l in self.agent.log().splitlines()
                     if "refused by allow/deny" in l and (" %s " % source) in l]
            if lines or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertTrue(lines, "no refusal of %s in the log" % source)


class DenyOneAddressTest(AclCase):
    rules = {"deny": "127.0.0.3"}

    def test_denied_client_gets_no_byte(self):
        self.assert_refused("127.0.0.3")

    def test_denied_client_plain_http(self):
        # Not even an HTTP error: the socket is closed unanswered.
        with socket.socket() as s:
            s.settimeout(TIMEOUT)
            s.bind(("127.0.0.3", 0))
            s.connect((self.agent.host, self.agent.port))
            try:
                s.sendall(b"GET / HTTP/1.1\r\nHost: agent\r\n\r\n")
                data = s.recv(65536)
            except (BrokenPipeError, ConnectionResetError):
                data = b""
            self.assertEqual(data, b"")

    def test_denied_client_sends_nothing(self):
        # A client that connects and waits is closed too, without a byte.
        with socket.socket() as s:
            s.settimeout(TIMEOUT)
            s.bind(("127.0.0.3", 0))
            s.connect((self.agent.host, self.agent.port))
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                data = b""
            self.assertEqual(data, b"")

    def test_other_clients_served(self):
        for src in ("127.0.0.1", "127.0.0.2", "127.0.0.4", "127.0.0.9"):
            with self.subTest(source=src):
                self.assert_served(src)
        self.assertEqual(self.agent.proxy().echo("default"), "success:echo=default")

    def test_refusals_do_not_disturb_service(self):
        for _ in range(20):
            self.assertEqual(raw_probe(self.agent.host, self.agent.port, "127.0.0.3"), b"")
        self.assert_served("127.0.0.4")


class AllowOnlyOneAddressTest(AclCase):
    rules = {"allow": "127.0.0.2"}

    def test_allowed_address_served(self):
        self.assert_served("127.0.0.2")

    def test_other_addresses_refused(self):
        for src in ("127.0.0.3", "127.0.0.1", "127.0.0.9"):
            with self.subTest(source=src):
                self.assert_refused(src)
        self.assert_served("127.0.0.2")


class AllowListTest(AclCase):
    rules = {"allow": "127.0.0.3, 127.0.0.5", "deny": ""}

    def test_list(self):
        self.assert_served("127.0.0.3")
        self.assert_served("127.0.0.5")
        self.assert_refused("127.0.0.4")
        self.assert_refused("127.0.0.1")


class CidrTest(AclCase):
    rules = {"allow": "127.0.0.0/30"}

    def test_cidr(self):
        for src in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
            with self.subTest(source=src):
                self.assert_served(src)
        for src in ("127.0.0.4", "127.0.0.5", "127.0.0.8"):
            with self.subTest(source=src):
                self.assert_refused(src)


class WildcardAllowCidrDenyTest(AclCase):
    rules = {"allow": "127.0.0.*", "deny": "127.0.0.4/31, 127.0.0.9"}

    def test_wildcard_and_deny(self):
        for src in ("127.0.0.1", "127.0.0.3", "127.0.0.6", "127.0.0.8"):
            with self.subTest(source=src):
                self.assert_served(src)
        for src in ("127.0.0.4", "127.0.0.5", "127.0.0.9"):
            with self.subTest(source=src):
                self.assert_refused(src)


class TrailingWildcardTest(AclCase):
    rules = {"allow": "127.*", "deny": "127.0.0.6"}

    def test_trailing_wildcard(self):
        self.assert_served("127.0.0.1")
        self.assert_served("127.0.0.7")
        self.assert_refused("127.0.0.6")


class DenyWildcardTest(AclCase):
    rules = {"allow": "*", "deny": "127.0.0.*"}

    def test_deny_wins_over_allow(self):
        for src in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
            with self.subTest(source=src):
                self.assert_refused(src)


class EmptyAllowTest(AclCase):
    rules = {"allow": ""}

    def test_empty_allow_admits_nobody(self):
        self.assert_refused("127.0.0.1")
        self.assert_refused("127.0.0.3")


def localhost_resolves():
    try:
        name = socket.gethostbyaddr("127.0.0.1")[0]
        return name == "localhost" and "127.0.0.1" in socket.gethostbyname_ex("localhost")[2]
    except OSError:
        return False


NO_LOCALHOST = "127.0.0.1 does not reverse-resolve to localhost (and back) here"


@unittest.skipUnless(localhost_resolves(), NO_LOCALHOST)
class AllowHostNameTest(AclCase):
    rules = {"allow": "localhost"}

    def test_host_name_allowed(self):
        self.assert_served("127.0.0.1")

    def test_other_addresses_refused(self):
        # 127.0.0.3 has no name: a name rule cannot admit it.
        self.assert_refused("127.0.0.3")
        self.assert_refused("127.0.0.2")
        self.assert_served("127.0.0.1")


@unittest.skipUnless(localhost_resolves(), NO_LOCALHOST)
class AllowHostPatternTest(AclCase):
    rules = {"allow": "LOCAL*, 127.0.0.5", "deny": "*.invalid"}

    def test_pattern_case_insensitive(self):
        self.assert_served("127.0.0.1")
        self.assert_served("127.0.0.5")
        self.assert_refused("127.0.0.4")


@unittest.skipUnless(localhost_resolves(), NO_LOCALHOST)
class DenyHostNameTest(AclCase):
    rules = {"allow": "*", "deny": "localhost"}

    def test_host_name_denied(self):
        self.assert_refused("127.0.0.1")
        self.assert_served("127.0.0.3")


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@unittest.skipUnless(ipv6_loopback(), "::1 is not available on this host")
class Ipv6DenyTest(AclCase):
    host = "::1"
    rules = {"allow": "*", "deny": "::1"}

    def test_ipv6_denied(self):
        self.assertEqual(raw_probe("::1", self.agent.port, "::1"), b"")
        self.assert_logged_refusal("::1")


@unittest.skipUnless(ipv6_loopback(), "::1 is not available on this host")
class Ipv6AllowTest(AclCase):
    host = "::1"
    rules = {"allow": "::1/128", "deny": "127.0.0.1"}

    def test_ipv6_allowed(self):
        first = raw_probe("::1", self.agent.port, "::1")
        self.assertEqual(first[:1], b"\x16")
        self.assertEqual(https_echo("::1", self.agent.port, "::1", "v6"), "success:echo=v6")


if __name__ == "__main__":
    main()
