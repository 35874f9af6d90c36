#!/usr/bin/env python3
"""test_pam.py - auth=pam through pam_wrapper and pam_matrix, no /etc/pam.d edits.

pam_wrapper (LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1) makes libpam read
its service files from PAM_WRAPPER_SERVICE_DIR (an absolute path) instead of
/etc/pam.d; module paths in those files must be absolute. pam_matrix checks
the password against a `user:password:service` file (passdb=PATH) in the
auth phase and the service column in the account phase. The agent verifies
credentials in a forked child, which inherits the LD_PRELOAD environment.
For the ASan build (OVS_BUILD=build-san) the ASan runtime is preloaded
first and PAM_WRAPPER_DISABLE_DEEPBIND=1 is set.

Each test runs a real agent on 127.0.0.4 with auth=pam and its own temp
service dir and passdb.

Run: python3 tests/e2e/test_pam.py [test_name...]
"""

import base64
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from agentfix import Agent, binary, unverified  # noqa: E402
from tap import main  # noqa: E402

HOST = "127.0.0.4"
LIBDIR = "/usr/lib/x86_64-linux-gnu"
PAM_WRAPPER = os.path.join(LIBDIR, "libpam_wrapper.so")
PAM_MATRIX = os.path.join(LIBDIR, "pam_wrapper", "pam_matrix.so")
PAM_DENY = os.path.join(LIBDIR, "security", "pam_deny.so")
SERVICE = "ovs-agent-test"
TIMEOUT = 10


def preload():
    """LD_PRELOAD for the agent: pam_wrapper, after the ASan runtime when the
    agent is a sanitizer build (ASan must come first in the library list;
    pam_wrapper's deep binding is then turned off, as its manual says)."""
    env = {"PAM_WRAPPER": "1"}
    libs = [PAM_WRAPPER]
    try:
        out = subprocess.run(["ldd", binary("ovs-agent")], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    m = re.search(r"^\s*libasan\.so\S*\s+=>\s+(\S+)", out, re.M)
    if m:
        libs.insert(0, m.group(1))
        env["PAM_WRAPPER_DISABLE_DEEPBIND"] = "1"
    env["LD_PRELOAD"] = ":".join(libs)
    return env


def call(agent, user, password, method="echo", params=("hi",)):
    """One XML-RPC call on a fresh HTTPS connection.
    Returns (status, value-or-body): the result (or Fault) on 200."""
    body = xmlrpc.client.dumps(tuple(params), method)
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    conn = http.client.HTTPSConnection(agent.host, agent.port, timeout=TIMEOUT,
                                       context=unverified())
    try:
        conn.request("POST", "/RPC2", body=body,
                     headers={"Content-Type": "text/xml", "Authorization": "Basic " + token})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        return resp.status, data
    try:
        return 200, xmlrpc.client.loads(data)[0][0]
    except xmlrpc.client.Fault as f:
        return 200, f


class PamTest(unittest.TestCase):
    def setUp(self):
        if not (os.path.exists(PAM_WRAPPER) and os.path.exists(PAM_MATRIX)):
            self.skipTest("libpam-wrapper is not installed")
        self.tmp = tempfile.mkdtemp(prefix="ovs-pam-")
        self.svcdir = os.path.join(self.tmp, "pam.d")
        os.mkdir(self.svcdir)
        self.passdb = os.path.join(self.tmp, "passdb")
        self.write_passdb({"alice": "Wonder-Land-1", "bob": "Builder-2"})
        self.write_service(SERVICE, PAM_MATRIX + " passdb=" + self.passdb,
                           PAM_MATRIX + " passdb=" + self.passdb)
        self.env = preload()
        self.env["PAM_WRAPPER_SERVICE_DIR"] = self.svcdir
        self.agent = None

    def tearDown(self):
        try:
            if self.agent:
                self.agent.__exit__(None, None, None)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def write_passdb(self, users, service=SERVICE):
        """users: {name: password} or {name: (password, service)}; replaced atomically."""
        tmp = self.passdb + ".new"
        with open(tmp, "w") as f:
            for user, pw in users.items():
                pw, svc = pw if isinstance(pw, tuple) else (pw, service)
                f.write("%s:%s:%s\n" % (user, pw, svc))
        os.replace(tmp, self.passdb)

    def write_service(self, name, auth_module, account_module):
        with open(os.path.join(self.svcdir, name), "w") as f:
            f.write("auth required %s\n" % auth_module)
            f.write("account required %s\n" % account_module)

    def start(self, **extra):
        keys = {"pam_service": SERVICE, "auth_fail_limit": "1000"}
        keys.update({k: str(v) for k, v in extra.items()})
        a = Agent(host=HOST, auth="pam", extra=keys, env=self.env)
        try:
            a.start()
        except Exception:
            a.cleanup()
            raise
        self.agent = a
        return a

    def assert_ok(self, user, password, what=""):
        status, value = call(self.agent, user, password)
        self.assertEqual((status, value), (200, "success:echo=hi"),
                         "%s:%s should be accepted %s\nlog:\n%s"
                         % (user, password, what, self.agent.log()))

    def assert_403(self, user, password, what=""):
        status, body = call(self.agent, user, password)
        self.assertEqual(status, 403, "%s:%s should be refused %s (got %r)\nlog:\n%s"
                         % (user, password, what, body, self.agent.log()))
        self.assertNotIn(b"methodResponse", body)
        return body

    # -- basic verdicts ---------------------------------------------------
    def test_right_password_accepted(self):
        a = self.start()
        self.assert_ok("alice", "Wonder-Land-1")
        self.assert_ok("bob", "Builder-2")
        # xmlrpc.client through the URL's user:password works the same way
        self.assertEqual(a.proxy("alice", "Wonder-Land-1").echo("pam"), "success:echo=pam")
        self.assertIn("auth pam", a.log())
        self.assertRegex(a.log(), r"alice echo ok")

    def test_wrong_password_403(self):
        a = self.start()
        self.assert_403("alice", "Wonder-Land-2")
        self.assert_403("alice", "wonder-land-1")
        self.assert_403("alice", "Builder-2")  # bob's password is not alice's
        self.assertIn("authentication failed for user 'alice'", a.log())
        # the right one still works afterwards
        self.assert_ok("alice", "Wonder-Land-1")

    def test_unknown_user_403_same_answer(self):
        a = self.start()
        unknown = self.assert_403("mallory", "Wonder-Land-1")
        wrong = self.assert_403("alice", "nope")
        # no way to tell an unknown user from a wrong password
        self.assertEqual(unknown, wrong)
        self.assert_403("Alice", "Wonder-Land-1")  # names are case sensitive
        self.assertIn("authentication failed for user 'mallory'", a.log())

    def test_account_phase_is_checked(self):
        # auth succeeds, account refuses: the agent must run pam_acct_mgmt
        self.write_service("ovs-agent-noacct", PAM_MATRIX + " passdb=" + self.passdb, PAM_DENY)
        a = self.start(pam_service="ovs-agent-noacct")
        self.assert_403("alice", "Wonder-Land-1", "(account phase is pam_deny)")
        self.assertIn("authentication failed for user 'alice'", a.log())

    def test_account_wrong_service_403(self):
        # pam_matrix's account phase refuses a user registered for another service
        self.write_passdb({"alice": "Wonder-Land-1", "carol": ("Carol-3", "sshd")})
        self.start()
        self.assert_403("carol", "Carol-3", "(passdb allows carol only for sshd)")
        self.assert_ok("alice", "Wonder-Land-1")

    def test_missing_service_refused_and_logged(self):
        a = self.start(pam_service="ovs-agent-nonexistent")
        self.assert_403("alice", "Wonder-Land-1", "(the PAM service does not exist)")
        log = a.log()
        self.assertIn("cannot check credentials of 'alice'", log)
        self.assertIn("ovs-agent-nonexistent", log)

    # -- credential cache ---------------------------------------------------
    def test_cache_keeps_old_password_until_ttl(self):
        ttl = 3
        self.start(auth_cache_ttl=ttl)
        t0 = time.monotonic()
        self.assert_ok("alice", "Wonder-Land-1")
        self.assert_403("alice", "Changed-Pw-9", "(PAM does not know it yet)")
        self.write_passdb({"alice": "Changed-Pw-9", "bob": "Builder-2"})
        self.assert_ok("alice", "Changed-Pw-9", "(PAM knows it now; a 403 is never cached)")
        self.assert_403("alice", "Third-Pw-0", "(never accepted by PAM)")
        self.assertLess(time.monotonic() - t0, ttl - 0.5, "test too slow to check the cache")
        self.assert_ok("alice", "Wonder-Land-1", "(still cached, ttl %ds)" % ttl)
        # bob was never verified: his (unchanged) password goes to PAM and works
        self.assert_ok("bob", "Builder-2")
        # after the ttl the old password goes back to PAM, which refuses it
        time.sleep(max(0.0, t0 + ttl + 0.6 - time.monotonic()))
        self.assert_403("alice", "Wonder-Land-1", "(cache entry expired)")
        self.assert_ok("alice", "Changed-Pw-9")

    def test_cache_removed_user_until_ttl(self):
        ttl = 3
        self.start(auth_cache_ttl=ttl)
        t0 = time.monotonic()
        self.assert_ok("bob", "Builder-2")
        self.write_passdb({"alice": "Wonder-Land-1"})
        self.assert_ok("bob", "Builder-2", "(cached, removed from PAM)")
        self.assertLess(time.monotonic() - t0, ttl - 0.5)
        time.sleep(max(0.0, t0 + ttl + 0.6 - time.monotonic()))
        self.assert_403("bob", "Builder-2", "(removed from PAM, cache expired)")

    def test_no_cache_asks_pam_every_time(self):
        self.start(auth_cache_ttl=0)
        self.assert_ok("alice", "Wonder-Land-1")
        self.write_passdb({"alice": "Changed-Pw-9"})
        self.assert_403("alice", "Wonder-Land-1", "(auth_cache_ttl=0)")
        self.assert_ok("alice", "Changed-Pw-9")

    def test_reload_flushes_cache(self):
        a = self.start(auth_cache_ttl=300)
        self.assert_ok("alice", "Wonder-Land-1")
        self.write_passdb({"alice": "Changed-Pw-9"})
        self.assert_ok("alice", "Wonder-Land-1", "(cached)")
        before = a.log().count("configuration reloaded")
        a.reload()
        deadline = time.monotonic() + TIMEOUT
        while a.log().count("configuration reloaded") == before and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertGreater(a.log().count("configuration reloaded"), before, a.log())
        self.assert_403("alice", "Wonder-Land-1", "(SIGHUP flushed the cache)")
        self.assert_ok("alice", "Changed-Pw-9")


if __name__ == "__main__":
    main()
