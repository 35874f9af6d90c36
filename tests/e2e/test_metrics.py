#!/usr/bin/env python3
"""test_metrics.py - GET /metrics of a real agent (sim hypervisor) in the
Prometheus text format: promtool (Debian prometheus) passes on it, with
guests in several statuses, a hook run and a failed login behind it, and
the request counters move by exactly the calls made between two scrapes.
As root the file runs itself again inside a mount namespace (`unshare -m
--propagation private`) where a tmpfs is a mounted repository: its size
comes from status_facts' statvfs child, so that scrape is answered later,
from the loop (the deferred reply).

Run: python3 tests/e2e/test_metrics.py [test_name...]
"""

import base64
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from agentfix import unverified  # noqa: E402
import hostfix  # noqa: E402
from tap import main  # noqa: E402
from test_guests_sim import make_guest  # noqa: E402
from test_repositories import write_marker  # noqa: E402

TIMEOUT = 20
socket.setdefaulttimeout(TIMEOUT)
HOST = "127.0.0.2"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PROMTOOL = shutil.which("promtool")
INSIDE = "OVS_METRICS_TEST_NS"  # set for the copy inside the mount namespace
REPO_UUID = "0004fb00-0000-1000-8000-0000000000c1"
REPO_BYTES = 16 << 20

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse(text):
    """{(name, frozenset of (label, value)): float}; asserts every line parses."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError("line does not parse: %r" % line)
        labels = frozenset((k, unescape(v)) for k, v in LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def key(name, **labels):
    return (name, frozenset(labels.items()))


class MetricsBase(agentfix.AgentCase):
    agent_kw = {"host": HOST}

    def setUp(self):
        os.makedirs(os.path.join(self.agent.keys["ovs_root"], "running_pool"), exist_ok=True)

    def auth(self, user=None, password=None):
        u = self.agent.user if user is None else user
        p = self.agent.password if password is None else password
        return "Basic " + base64.b64encode(("%s:%s" % (u, p)).encode()).decode()

    def get(self, method="GET", path="/metrics", auth=True):
        c = http.client.HTTPSConnection(HOST, self.agent.port, timeout=TIMEOUT,
                                        context=unverified())
        try:
            c.request(method, path, headers={"Authorization": self.auth()} if auth else {})
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def scrape(self):
        status, headers, body = self.get()
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["content-type"], CONTENT_TYPE)
        return body.decode("utf-8")

    def fail_login(self, user):
        with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
            self.agent.proxy(user=user, password="wrong").echo("x")
        self.assertEqual(cm.exception.errcode, 403)

    def wait_hook_runs(self, n, timeout=20):
        deadline = time.time() + timeout
        while True:
            done = [r for r in self.agent.proxy().list_hook_runs()
                    if not r["running"] and not r["queued"]]
            if len(done) >= n or time.time() > deadline:
                return done
            time.sleep(0.1)


class Metrics(MetricsBase):
    @unittest.skipUnless(PROMTOOL, "promtool (Debian prometheus) is not installed")
    def test_promtool_passes_on_a_busy_agent(self):
        p = self.agent.proxy()
        hooks = os.path.join(self.agent.keys["hooks_dir"], "guest.d")
        os.makedirs(hooks, exist_ok=True)
        with open(os.path.join(hooks, "10-note"), "w") as f:
            f.write('#!/bin/sh\n[ "$2" = before_start ] && exit 0\nexit 3\n')
        os.chmod(os.path.join(hooks, "10-note"), 0o755)
        for name in ("mrun", "mpause", "mdown", "merr"):
            make_guest(self.agent, name)
        self.assertTrue(p.start_vm("mrun").startswith("success"))
        self.assertTrue(p.start_vm("mpause").startswith("success"))
        self.assertEqual(p.pause_vm("mpause"), "success")
        p.register_vm("mdown")
        p.register_vm("merr")
        self.assertEqual(p.set_vm_status("merr", "error"), "success")
        self.fault(1001, p.get_vm_status, "no-such-guest")
        self.fail_login('ev"il\\')
        runs = self.wait_hook_runs(1)
        self.assertTrue(runs, "no hook ran")

        text = self.scrape()
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode() + text)
        m = parse(text)
        self.assertEqual(m[key("ovs_agent_guests", status="RUNNING")], 1)
        self.assertEqual(m[key("ovs_agent_guests", status="PAUSED")], 1)
        self.assertEqual(m[key("ovs_agent_guests", status="DOWN")], 1)
        self.assertEqual(m[key("ovs_agent_guests", status="ERROR")], 1)
        hook_ok = [v for (n, lab), v in m.items() if n == "ovs_agent_hook_runs"
                   and ("result", "ok") in lab and dict(lab)["hook"].endswith("/10-note")]
        self.assertTrue(hook_ok and hook_ok[0] >= 1, text)
        self.assertGreaterEqual(m[key("ovs_agent_rpc_requests_total", method="get_vm_status",
                                      result="fault")], 1)
        self.assertGreaterEqual(m[key("ovs_agent_rpc_faults_total", code="1001")], 1)
        self.assertEqual(m[key("ovs_agent_auth_failures_total", family="ipv4",
                               user='ev"il\\')], 1)
        expiry = m[key("ovs_agent_tls_cert_expiry_seconds")]
        self.assertLess(abs(expiry - (time.time() + 2 * 86400)), 3600)  # make_cert: -days 2
        self.assertGreaterEqual(m[key("ovs_agent_connections_open")], 1)
        self.assertGreater(m[key("process_resident_memory_bytes")], 1 << 20)

    def test_counters_move_by_exactly_the_calls_made(self):
        p = self.agent.proxy()
        p.echo("warm")  # the methods below have series before the first scrape
        self.fault(1001, p.get_vm_status, "no-such-guest")
        before = parse(self.scrape())
        for i in range(7):
            self.assertEqual(p.echo("e%d" % i), "success:echo=e%d" % i)
        for i in range(3):
            self.fault(1001, p.get_vm_status, "nope%d" % i)
        self.get("HEAD")  # scrapes and pages are no XML-RPC calls
        self.get("GET", "/")
        after = parse(self.scrape())

        def delta(name, **labels):
            k = key(name, **labels)
            return after.get(k, 0) - before.get(k, 0)
        self.assertEqual(delta("ovs_agent_rpc_requests_total", method="echo", result="ok"), 7)
        self.assertEqual(delta("ovs_agent_rpc_requests_total", method="echo", result="fault"), 0)
        self.assertEqual(delta("ovs_agent_rpc_requests_total", method="get_vm_status",
                               result="fault"), 3)
        self.assertEqual(delta("ovs_agent_rpc_request_duration_seconds_count", method="echo"), 7)
        self.assertEqual(delta("ovs_agent_rpc_request_duration_seconds_bucket", method="echo",
                               le="+Inf"), 7)
        self.assertEqual(delta("ovs_agent_rpc_faults_total", code="1001"), 3)
        total = sum(v - before.get(k, 0) for k, v in after.items()
                    if k[0] == "ovs_agent_rpc_requests_total")
        self.assertEqual(total, 10)

    def test_head_and_auth(self):
        status, headers, body = self.get("HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], CONTENT_TYPE)
        self.assertGreater(int(headers["content-length"]), 100)
        self.assertEqual(body, b"")
        status, headers, body = self.get("GET", "/metrics?x=1")
        self.assertEqual(status, 200)
        status, headers, _ = self.get("GET", auth=False)
        self.assertEqual(status, 401)  # as GET /: a browser prompts
        self.assertEqual(headers["www-authenticate"], 'Basic realm="ovs-agent"')
        status, _, _ = self.get("GET", "/metricsx")
        self.assertEqual(status, 404)


class MetricsRepository(MetricsBase):
    """A tmpfs as a mounted repository (inside the namespace only)."""

    @classmethod
    def setUpClass(cls):
        if not os.environ.get(INSIDE):
            raise unittest.SkipTest("needs root and unshare (a mount namespace)")
        cls.agent = agentfix.Agent(**cls.agent_kw)
        cls.mnt = None
        try:
            root = cls.agent.keys["ovs_root"]
            mnt = os.path.join(root, REPO_UUID)
            os.makedirs(mnt)
            with open(cls.agent.keys["repositories_file"], "w") as f:
                f.write("%s ovs-metrics-tmpfs\n" % REPO_UUID)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % REPO_BYTES,
                            "ovs-metrics-tmpfs", mnt], check=True, timeout=TIMEOUT)
            cls.mnt = mnt
            write_marker(mnt, REPO_UUID, "0", "metrics")
            cls.agent.start()
        except BaseException:
            cls.unmount()
            cls.agent.cleanup()
            raise

    @classmethod
    def unmount(cls):
        if cls.mnt:
            subprocess.run(["umount", "-l", cls.mnt], capture_output=True, timeout=TIMEOUT)
            cls.mnt = None

    @classmethod
    def tearDownClass(cls):
        try:
            cls.unmount()  # before the agent's cleanup removes its directory
        finally:
            super().tearDownClass()

    def test_repository_sized_by_the_child(self):
        text = self.scrape()
        if PROMTOOL:
            r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                               capture_output=True, timeout=TIMEOUT)
            self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode() + text)
        m = parse(text)
        self.assertEqual(m[key("ovs_agent_repository_mounted", uuid=REPO_UUID)], 1)
        self.assertEqual(m[key("ovs_agent_repository_size_bytes", uuid=REPO_UUID)], REPO_BYTES)
        free = m[key("ovs_agent_repository_free_bytes", uuid=REPO_UUID)]
        self.assertGreater(free, 0)
        self.assertLessEqual(free, REPO_BYTES)
        status, headers, body = self.get("HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], CONTENT_TYPE)
        self.assertGreater(int(headers["content-length"]), 100)  # RSS may change its digits
        self.assertEqual(body, b"")


def can_unshare():
    return os.geteuid() == 0 and shutil.which("unshare") and shutil.which("mount")


if __name__ == "__main__":
    if os.environ.get(INSIDE) or not can_unshare():
        main()
    else:
        sys.exit(hostfix.rerun_in_namespaces(__file__, ["-m"],
                                             dict(os.environ, **{INSIDE: "1"})))
