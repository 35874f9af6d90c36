#!/usr/bin/env python3
"""test_pool.py - a server pool of three agents on 127.0.0.2-4 (TLS on),
formed through the API: register_server, list_servers, get_master_ip on
every agent, get_srv_agent_status before and after one agent stops, the
pool credential between agents (each agent has its own admin password, so
only the credential can carry those calls) and the pinned certificate."""

import os
import re
import subprocess
import sys
import time
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentfix  # noqa: E402
from agentfix import Agent, FaultAssertions, make_cert  # noqa: E402
from tap import main  # noqa: E402
import unittest  # noqa: E402

HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


def status_fields(s):
    """'success:k=v;k=v' -> dict."""
    assert s.startswith("success:"), s
    return dict(kv.split("=", 1) for kv in s[len("success:"):].split(";"))


def db_dump_pool(agent):
    out = subprocess.run([agentfix.binary("db_dump"), "--config", agent.ini, "pool"],
                         capture_output=True, text=True, timeout=30)
    return out.stdout + out.stderr


class PoolTest(FaultAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agents = []
        try:
            for i, h in enumerate(HOSTS):
                cls.agents.append(Agent(host=h, password="secret-%d" % i))
            for a in cls.agents:
                a.start()
        except BaseException:
            for a in cls.agents:
                a.cleanup()
            raise
        cls.m, cls.b, cls.c = cls.agents

    @classmethod
    def tearDownClass(cls):
        bad = []
        for a in cls.agents:
            try:
                rc = a.stop()
                if rc != 0:
                    bad.append("%s exited %d: %s" % (a.host, rc, a.stderr()))
            finally:
                a.cleanup()
        if bad:
            raise AssertionError("\n".join(bad))

    def register(self, a, roles, **kw):
        return self.m.proxy().register_server(a.host, roles, "", a.user, a.password,
                                              a.port, True)

    def test_1_pool_formed_through_the_api(self):
        pm = self.m.proxy()
        self.fault(1008, pm.get_master_ip)
        self.fault(1008, pm.list_servers)
        # a member cannot be registered before the master
        self.fault(1008, pm.register_server, self.b.host, "xen", "", "admin", "x",
                   self.b.port, True)
        # the master names one of its own addresses
        self.fault(1000, pm.register_server, "192.0.2.1", "site")
        self.assertEqual(pm.register_server(self.m.host, "site,utility"), "success")
        self.assertEqual(pm.get_master_ip(), "success:ip=127.0.0.2")
        self.assertEqual(self.register(self.b, "xen"), "success")
        self.assertEqual(self.register(self.c, "xen,utility"), "success")
        # repeated calls add roles
        self.assertEqual(pm.register_server(self.b.host, "utility"), "success")
        self.assertEqual(pm.register_server(self.m.host, "xen"), "success")
        rows = {r["ip"]: r for r in pm.list_servers()}
        self.assertEqual(sorted(rows), list(HOSTS))
        self.assertEqual(rows["127.0.0.2"]["roles"], "site,utility,xen")
        self.assertTrue(rows["127.0.0.2"]["master"])
        self.assertEqual(rows["127.0.0.3"]["roles"], "utility,xen")
        self.assertFalse(rows["127.0.0.3"]["master"])
        self.assertEqual(rows["127.0.0.4"]["roles"], "utility,xen")
        self.assertEqual(rows["127.0.0.4"]["port"], self.c.port)
        for r in rows.values():
            self.assertEqual(len(r["sha256"]), 64)
            self.assertTrue(r["tls"])
        for a in self.agents:
            self.assertEqual(a.proxy().get_master_ip(), "success:ip=127.0.0.2")
        # the keys the cluster scripts read
        dump = db_dump_pool(self.m)
        self.assertIn("server.127.0.0.3", dump)
        self.assertIn("master_ip", dump)
        # every member has the master's table (the master sends it after each
        # change, asynchronously)
        deadline = time.time() + 10
        while "server.127.0.0.4=utility,xen" not in db_dump_pool(self.b) and \
                time.time() < deadline:
            time.sleep(0.1)
        dump = db_dump_pool(self.b)
        self.assertIn("server.127.0.0.4=utility,xen", dump)
        self.assertIn("server.127.0.0.2=site,utility,xen", dump)
        # which only the master may send
        self.fault(1006, self.b.proxy().pool_sync, [])
        # a push overtaken by a newer one changes nothing (pushes run side
        # by side; each carries a number that only grows)
        cred = re.search(r"^credential=(\w+)$", dump, re.M).group(1)
        have = int(re.search(r"^synced_seq=(\d+)$", dump, re.M).group(1))
        pool = self.b.proxy(user="ovs-pool", password=cred)
        self.assertEqual(pool.pool_sync([], 1), "success:stale=1;have=%d" % have)
        self.assertIn("server.127.0.0.4=utility,xen", db_dump_pool(self.b))
        # members send the manager to the master
        msg = self.fault(1004, self.b.proxy().list_servers)
        self.assertIn("127.0.0.2", msg)

    def test_2_register_refused(self):
        pm = self.m.proxy()
        self.fault(1000, pm.register_server, "127.0.0.300", "xen")
        self.fault(1000, pm.register_server, "host.example", "xen")
        msg = self.fault(1000, pm.register_server, "127.0.0.5", "master")
        self.assertIn("'master' is not a role", msg)
        self.fault(1000, pm.register_server, "127.0.0.5", "xen,xen")
        self.fault(-32602, pm.register_server, "127.0.0.5")
        # a second site
        self.fault(1004, pm.register_server, self.b.host, "site")
        # a new server without its agent's credentials
        self.fault(1000, pm.register_server, "127.0.0.5", "xen")
        # its agent refuses the wrong password: nothing recorded
        self.fault(1400, pm.register_server, "127.0.0.5", "xen", "", "admin", "nope",
                   agentfix.free_port("127.0.0.5"), True)
        self.fault(1001, pm.get_srv_agent_status, "127.0.0.5")
        self.fault(1000, pm.register_server, "127.0.0.5", "xen", "", "admin", "x", 0, True)
        # the member is in this pool already; another master cannot take it
        with Agent(host="127.0.0.5", password="other") as other:
            po = other.proxy()
            self.assertEqual(po.register_server(other.host, "site"), "success")
            msg = self.fault(1400, po.register_server, self.b.host, "xen", "", self.b.user,
                             self.b.password, self.b.port, True)
            self.assertIn("in the pool of 127.0.0.2 already", msg)
            self.assertEqual(po.unregister_server(other.host), "success")
            self.fault(1008, po.get_master_ip)

    def test_3_status_and_credential(self):
        pm = self.m.proxy()
        for a in self.agents:
            st = status_fields(pm.get_srv_agent_status(a.host))
            self.assertEqual(st["status"], "reachable", st)
            self.assertEqual(st["reachable"], "true")
            self.assertEqual(st["ip"], a.host)
            self.assertEqual(st["running_guests"], "0")
            self.assertGreater(int(st["mem_free"]), 0)
        # from outside: the reserved user with a guessed credential, or with
        # the admin password, is refused
        for pw in ("0" * 64, self.b.password):
            with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
                self.b.proxy(user="ovs-pool", password=pw).echo("x")
            self.assertEqual(cm.exception.errcode, 403)
        # the admin password still works for the manager
        self.assertEqual(self.b.proxy().echo("x"), "success:echo=x")

    def test_4_wrong_certificate_refused(self):
        pm = self.m.proxy()
        self.c.stop()
        st = status_fields(pm.get_srv_agent_status(self.c.host))
        self.assertEqual(st["status"], "unreachable")
        self.assertEqual(st["reachable"], "false")
        self.assertIn("cannot connect", st["reason"])
        # the same address and port, another certificate
        make_cert(self.c.dir)
        self.c.start()
        st = status_fields(pm.get_srv_agent_status(self.c.host))
        self.assertEqual(st["reachable"], "false")
        self.assertIn("not the one pinned", st["reason"])
        # it cannot be told to leave over an unchecked connection; registering
        # it again (it joins the same master again) pins the new one
        st = status_fields(pm.unregister_server(self.c.host))
        self.assertEqual(st["notified"], "false")
        self.assertIn("not the one pinned", st["reason"])
        self.assertEqual(self.register(self.c, "xen"), "success")
        st = status_fields(pm.get_srv_agent_status(self.c.host))
        self.assertEqual(st["reachable"], "true", st)

    def test_5_unregister(self):
        pm = self.m.proxy()
        self.fault(1004, pm.unregister_server, self.m.host)
        self.fault(1004, self.b.proxy().unregister_server, self.c.host)
        self.fault(1000, pm.unregister_server, "nowhere")
        self.fault(1001, pm.unregister_server, "127.0.0.9")
        self.assertEqual(pm.unregister_server(self.c.host), "success")
        self.fault(1008, self.c.proxy().get_master_ip)
        # a member that is down is removed all the same, and said so
        self.b.stop()
        st = status_fields(pm.unregister_server(self.b.host))
        self.assertEqual(st["notified"], "false")
        self.b.start()
        self.assertEqual(self.b.proxy().get_master_ip(), "success:ip=127.0.0.2")
        self.assertEqual([r["ip"] for r in pm.list_servers()], ["127.0.0.2"])
        self.assertEqual(pm.unregister_server(self.m.host), "success")
        self.fault(1008, pm.get_master_ip)


if __name__ == "__main__":
    main()
