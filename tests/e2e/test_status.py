#!/usr/bin/env python3
"""test_status.py - the agent's view of itself, end to end: browsers are
asked to log in, and get_agent_status.

One agent (TLS on 127.0.0.2, sim) with a certificate that expires in 10
days, auth_fail_limit 8 and auth_fail_delay_max 1, so ten failed logins
take about two seconds and leave their address slowed down. Checks:
curl (the real binary) without credentials gets 401 with the realm on
GET / and HEAD /, and 403 on POST /RPC2; get_agent_status through
xmlrpc.client shows the certificate's days left with its warning, ten
failed logins from 127.0.0.7 (the client bound there) with the address and
the user, that address slowed down, and request counters that move by
exactly the calls made between two reads, a sim guest in the list and
its status's count.

Run: python3 tests/e2e/test_status.py [test_name...]
Prints one TAP line per test (see tap.py); exits 1 when any failed.
"""

import base64
import http.client
import os
import shutil
import subprocess
import sys
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from agentfix import AgentCase, unverified  # noqa: E402
from test_guests_sim import make_guest  # noqa: E402
from tap import main  # noqa: E402

TIMEOUT = 10
CALL = (b"<?xml version='1.0'?><methodCall><methodName>echo</methodName><params>"
        b"<param><value><string>x</string></value></param></params></methodCall>")


class StatusTest(AgentCase):
    agent_kw = {"host": "127.0.0.2", "cert_days": 10,
                "extra": {"auth_fail_limit": "8", "auth_fail_delay_max": "1"}}

    def status(self):
        return self.agent.proxy().get_agent_status()

    def curl(self, *args, data=None):
        if not shutil.which("curl"):
            self.skipTest("curl is not installed")
        r = subprocess.run(["curl", "-sS", "-k", "--max-time", str(TIMEOUT)] + list(args),
                           input=data, capture_output=True, timeout=TIMEOUT + 5)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    # -- browsers are asked to log in ------------------------------------------------
    def test_curl_401_on_pages_403_on_rpc(self):
        base = "https://%s/" % self.agent.hostport()
        realm = rb'(?i)\r\nwww-authenticate: Basic realm="ovs-agent"\r\n'
        for args in (["-D", "-", "-o", "/dev/null", base],        # GET, no credentials
                     ["-I", base],                                # HEAD
                     ["-u", "admin:wrong", "-D", "-", "-o", "/dev/null", base]):
            with self.subTest(args=args):
                out = self.curl(*args)
                self.assertRegex(out, rb"^HTTP/1\.1 401 ")
                self.assertRegex(out, realm)
        out = self.curl("-D", "-", "-o", "/dev/null", "-H", "Content-Type: text/xml",
                        "--data-binary", "@-", base + "RPC2", data=CALL)
        self.assertRegex(out, rb"^HTTP/1\.1 403 ")
        self.assertNotRegex(out, rb"(?i)www-authenticate")
        # The right credentials: the page.
        out = self.curl("-u", "admin:secret", "-D", "-", base)
        self.assertRegex(out, rb"^HTTP/1\.1 200 ")

    # -- get_agent_status ---------------------------------------------------------------
    def test_shape(self):
        st = self.status()
        for key in ("host", "guests", "repositories", "bridges", "pool", "hooks", "security",
                    "requests"):
            self.assertIn(key, st)
        h = st["host"]
        self.assertEqual(h["hypervisor"], "sim")
        self.assertTrue(h["hypervisor_version"], h)    # the sim answers at once
        self.assertTrue(h["agent_version"].startswith("2.2-"), h)
        self.assertGreater(h["cpus"], 0)
        self.assertGreater(h["mem_total_mb"], 0)
        self.assertGreater(h["rss_bytes"], 1 << 20)
        self.assertGreaterEqual(h["connections"], 1)
        self.assertGreaterEqual(h["uptime_s"], 0)
        self.assertEqual(st["guests"]["counts"].get("RUNNING"), 0)
        self.assertFalse(st["pool"]["in_pool"])
        self.assertEqual(st["error"], "")

    def test_guests_listed_with_counts(self):
        p = self.agent.proxy()
        path = make_guest(self.agent, "st1", memory="300")
        p.register_vm("st1")
        p.start_vm("st1")
        try:
            g = self.status()["guests"]
            row = [x for x in g["list"] if x["path"] == path]
            self.assertEqual(len(row), 1, g)
            self.assertEqual(row[0]["name"], "st1")
            self.assertEqual(row[0]["status"], "RUNNING")
            self.assertEqual(row[0]["memory"], 300)
            self.assertFalse(row[0]["ha"])
            self.assertEqual(g["counts"]["RUNNING"], 1)
        finally:
            p.destroy_vm("st1")
            p.unregister_vm("st1")

    def test_cert_expiring_in_10_days(self):
        """get_agent_status, /status and /metrics all show it."""
        sec = self.status()["security"]
        self.assertIn(sec["cert_days_left"], (9, 10), sec)
        self.assertTrue(sec["cert_warning"], sec)
        self.assertIn("CN=localhost", sec["cert_subject"])
        self.assertAlmostEqual(sec["cert_expiry"], time.time() + 10 * 86400, delta=2 * 86400)
        # the same fact on the page and in the metrics
        page = self.curl("-u", "admin:secret", "https://%s/status" % self.agent.hostport())
        # (9 or 10: the days left of a 10-day certificate turn over as it ages)
        self.assertRegex(page, rb'class="warn">(9|10): renew the certificate \(under 30 days')
        metrics = self.curl("-u", "admin:secret", "https://%s/metrics" % self.agent.hostport())
        line = next(l for l in metrics.decode().splitlines()
                    if l.startswith("ovs_agent_tls_cert_expiry_seconds "))
        self.assertEqual(int(float(line.split()[1])), sec["cert_expiry"])

    def test_ten_failed_logins_from_127_0_0_7(self):
        bad = "Basic " + base64.b64encode(b"mallory:guess").decode()
        for _ in range(10):
            c = http.client.HTTPSConnection(self.agent.host, self.agent.port, timeout=TIMEOUT,
                                            context=unverified(),
                                            source_address=("127.0.0.7", 0))
            try:
                c.request("POST", "/RPC2", CALL, {"Authorization": bad,
                                                  "Content-Type": "text/xml"})
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 403)
            finally:
                c.close()
        sec = self.status()["security"]
        mine = [x for x in sec["failed_logins"] if x["address"] == "127.0.0.7"]
        self.assertEqual(len(mine), 1, sec["failed_logins"])
        self.assertEqual(mine[0]["user"], "mallory")
        self.assertEqual(mine[0]["count"], 10)
        self.assertAlmostEqual(mine[0]["last"], time.time(), delta=60)
        slowed = [x for x in sec["slowed"] if x["address"] == "127.0.0.7"]
        self.assertEqual(len(slowed), 1, sec["slowed"])
        self.assertTrue(0 < slowed[0]["seconds_left"] <= 15 * 60, slowed)
        # Our own address, which logged in, is neither.
        self.assertFalse([x for x in sec["slowed"] if x["address"] == "127.0.0.1"])

    def test_request_counters_move_by_exactly_our_calls(self):
        def counts(st):
            req = st["requests"]
            return ({m["name"]: (m["calls"], m["faults"]) for m in req["methods"]},
                    {f["code"]: f["count"] for f in req["faults"]})

        p = self.agent.proxy()
        m0, f0 = counts(p.get_agent_status())
        for i in range(3):
            p.echo("n%d" % i)
        with self.assertRaises(xmlrpc.client.Fault):
            p.no_such_method()
        mc = xmlrpc.client.MultiCall(p)
        mc.echo("a")
        mc.echo("b")
        self.assertEqual(list(mc()), ["success:echo=a", "success:echo=b"])
        st = p.get_agent_status()
        m1, f1 = counts(st)

        def delta(name):
            c0, x0 = m0.get(name, (0, 0))
            c1, x1 = m1.get(name, (0, 0))
            return (c1 - c0, x1 - x0)

        self.assertEqual(delta("echo"), (3, 0))          # the multicall's echos are not calls
        self.assertEqual(delta("system.multicall"), (1, 0))
        self.assertEqual(delta("(unknown)"), (1, 1))
        self.assertEqual(delta("get_agent_status"), (1, 0))  # the first read; this one is not in yet
        changed = {n for n in set(m0) | set(m1) if delta(n) != (0, 0)}
        self.assertEqual(changed, {"echo", "system.multicall", "(unknown)", "get_agent_status"})
        self.assertEqual(f1.get(-32601, 0) - f0.get(-32601, 0), 1)
        self.assertEqual({c for c in set(f0) | set(f1) if f1.get(c, 0) != f0.get(c, 0)}, {-32601})
        req = st["requests"]
        self.assertGreater(req["latency_p50_ms"], 0)
        self.assertGreaterEqual(req["latency_p99_ms"], req["latency_p50_ms"])


if __name__ == "__main__":
    main()
