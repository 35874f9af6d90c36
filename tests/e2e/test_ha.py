#!/usr/bin/env python3
"""test_ha.py - server pools with HA (guide 9.1): real corosync, one agent
per "host", failover that never runs a guest twice.

Each host is a network namespace with a mount namespace of its own
(tests/e2e/hostfix.py), running corosync (configured by
hooks/ovs-cluster-configure) and an ovs-agent on the sim hypervisor. The
cluster root, where the guests' vm.cfg and the heartbeat file live, is one
temp directory every host sees. The test itself joins the hosts' bridge
namespace (its thread, through setns) with an address of its own there, so
its XML-RPC calls reach every agent and nothing leaves the namespaces it
made. Everything it starts is ended by pid (hostfix) and every namespace
deleted, pass or fail. Needs root, iproute2, util-linux and corosync.

Run: python3 tests/e2e/test_ha.py [test_name...]
"""

import os
import shutil
import subprocess
import sys
import tarfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
import hostfix  # noqa: E402
import test_templates  # noqa: E402  (a template archive's members)
from tap import main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
CONFIGURE = os.path.join(ROOT, "hooks", "ovs-cluster-configure")
WITHIN = 40             # seconds any one expected change may take
HA_KEYS = {"hb_interval": "1", "hb_timeout": "3", "fence_timeout": "4"}

VM_CFG = """name = '%(name)s'
uuid = '%(uuid)s'
memory = '%(memory)s'
vcpus = 1
builder = 'hvm'
disk = [ 'file:%(dir)s/system.img,hda,w', ]
"""

def can_run():
    why = hostfix.can_run()
    if why:
        return why
    if not os.path.exists(agentfix.binary("ovs-agent")):
        return "build the agent first"
    return None


class Pool:
    """n hosts, corosync quorate on all, an agent on each, the pool formed
    through the API with host 1 as master (site,xen), the others xen."""

    def __init__(self, case, n, prefix):
        self.case = case
        self.hosts = hostfix.Hosts(n=n, prefix=prefix, tag="ha")
        self.agents = [None] * n
        self.root = os.path.join(self.hosts.tmp, "cluster-root")
        os.makedirs(os.path.join(self.root, "running_pool"))
        self.home_ns = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        # the test's own address on the hosts' bridge
        hostfix.run("ip", "-n", self.hosts.br, "addr", "add", prefix + ".254/24", "dev", "br0")
        hostfix.setns("/run/netns/" + self.hosts.br)
        self.nodes = ",".join("%s=%s" % p for p in zip(self.hosts.addrs, self.hosts.names))

    def close(self):
        try:
            for a in self.agents:
                if a:
                    a.cleanup()
        finally:
            try:
                hostfix.setns("/proc/self/fd/%d" % self.home_ns)
            finally:
                os.close(self.home_ns)
            self.hosts.close()

    # -- corosync ------------------------------------------------------------
    def env(self, i):
        return self.hosts.script_env(i)

    def start_corosync(self, i):
        r = self.hosts.on(i, CONFIGURE, "--nodes", self.nodes, env=self.env(i))
        self.case.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def form_ring(self):
        self.start_corosync(0)
        for i in range(1, self.hosts.n):
            for src, mode in (("/etc/corosync/corosync.conf", 0o644),
                              ("/etc/corosync/authkey", 0o400)):
                shutil.copyfile(self.hosts.inside(0, src), self.hosts.inside(i, src))
                os.chmod(self.hosts.inside(i, src), mode)
            self.start_corosync(i)

    def kill_corosync(self, i):
        pid = self.hosts.corosync_pid(i)
        if pid:
            hostfix.end_pid(pid, sig=9)

    # -- agents --------------------------------------------------------------
    def start_agent(self, i):
        keys = {"ovs_root": self.root, "cluster_root": self.root}
        keys.update(HA_KEYS)
        a = self.agents[i] or self.hosts.agent(i, extra=keys)
        self.agents[i] = a
        a.start()
        return a

    def kill_agent(self, i):
        a = self.agents[i]
        a.proc.kill()
        a.proc.wait(10)

    def rpc(self, i):
        return self.agents[i].proxy()

    def state(self, i):
        return self.rpc(i).get_pool_ha_state()

    def wait(self, what, cond, within=WITHIN):
        deadline = time.monotonic() + within
        last = None
        while time.monotonic() < deadline:
            try:
                if cond():
                    return
            except (OSError, agentfix.xmlrpc.client.Error) as e:
                last = e
            time.sleep(0.2)
        self.case.fail("%s not within %d s (%s)\n%s" % (what, within, last, self.logs()))

    def logs(self):
        out = []
        for i, a in enumerate(self.agents):
            if a:
                out.append("--- host %d ---\n%s" % (i + 1, a.log()[-3000:]))
        return "\n".join(out)

    def form(self):
        self.form_ring()
        for i in range(self.hosts.n):
            self.start_agent(i)
        agentfix.form_pool(self.agents[0], *self.agents[1:])
        alive = range(self.hosts.n)
        self.wait("every agent synced, quorate, one master",
                  lambda: self.agreed(alive, self.hosts.addrs[0]))

    def agreed(self, alive, master=None):
        states = [self.state(i) for i in alive]
        if not all(s["synced"] and s["quorate"] for s in states):
            return False
        if master and any(s["master"] != master for s in states):
            return False
        return len({(s["master"], s["gen"]) for s in states}) == 1

    # -- guests --------------------------------------------------------------
    def guest(self, name, memory=128):
        d = os.path.join(self.root, "running_pool", name)
        os.makedirs(d, exist_ok=True)
        uuid = "00000000-0000-4000-8000-%012d" % (abs(hash(name)) % 10**12)
        with open(os.path.join(d, "vm.cfg"), "w") as f:
            f.write(VM_CFG % {"name": name, "uuid": uuid, "memory": memory, "dir": d})
        open(os.path.join(d, "system.img"), "w").close()
        return d

    def runs_on(self, i):
        """The guests host i's backend runs, by its own table (db_dump sim)."""
        a = self.agents[i]
        r = subprocess.run([agentfix.binary("db_dump"), "--config", a.ini, "sim"],
                           capture_output=True, text=True, timeout=30)
        names = set()
        for line in r.stdout.splitlines():
            f = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
            if f.get("state") in ("running", "paused", "r", "b", "p"):
                names.add(f.get("name"))
        return names

    def owners(self, i):
        return {os.path.basename(g["path"]): g for g in self.state(i)["guests"]}


@unittest.skipIf(can_run(), can_run())
class HATest(unittest.TestCase):
    def setUp(self):
        self.pool = None

    def tearDown(self):
        if self.pool:
            self.pool.close()

    def make_pool(self, n, prefix):
        self.pool = Pool(self, n, prefix)
        self.pool.form()
        return self.pool

    def test_failover(self):
        """kill -9 of a VM server's agent alone moves nothing (its host is
        still a corosync member); then of its corosync: its HA guests
        run on the others by their preference, never on two at once; its
        non-HA guest is recorded DOWN; a Manual guest whose only preferred
        server is the failed one waits powered off and starts when it
        returns."""
        p = self.make_pool(3, "10.78.0")
        a1, a2, a3 = p.hosts.addrs
        m = p.rpc(0)
        self.assertEqual(m.set_pool_ha(True), "success")
        names = ["ha1", "ha2", "ha3", "plain", "pinned", "to3"]
        for n in names:
            p.guest(n)
        for n in names:
            self.assertEqual(p.rpc(1).start_vm(n), "success:ip=%s" % a2)
        for n in names:
            if n != "plain":
                self.assertEqual(m.set_vm_ha(n, True), "success")
        self.assertEqual(m.set_vm_preferred_servers("pinned", "Manual", [a2]), "success")
        self.assertEqual(m.set_vm_preferred_servers("to3", "Manual", a3), "success")
        self.assertEqual(p.owners(2)["to3"]["mode"], "Manual")
        p.wait("host 2 owns its six guests in every copy", lambda: all(
            p.owners(i)[n]["owner"] == a2 and p.owners(i)[n]["running"]
            for i in range(3) for n in names))
        self.assertEqual(p.runs_on(1), set(names))

        # its agent alone dies: its host is still in corosync's membership
        # and may run its guests on (QEMU outlives agents): nothing moves
        p.kill_agent(1)
        time.sleep(int(HA_KEYS["fence_timeout"]) + int(HA_KEYS["hb_timeout"]) + 3)
        o = p.owners(0)
        self.assertEqual({n: o[n]["owner"] for n in names}, {n: a2 for n in names})
        self.assertFalse((p.runs_on(0) | p.runs_on(2)) & set(names))

        t0 = time.monotonic()
        p.kill_corosync(1)
        moved = {"ha1", "ha2", "ha3", "to3"}

        def failed_over():
            o = p.owners(0)
            return all(o[n]["owner"] in (a1, a3) and o[n]["running"] for n in moved) and \
                moved <= p.runs_on(0) | p.runs_on(2)
        p.wait("HA guests running on hosts 1 and 3", failed_over)
        took = time.monotonic() - t0
        print("# failover of 4 HA sim guests: %.1f s from kill -9 of the host's corosync "
              "(its agent already dead) to RUNNING elsewhere" % took)
        on1, on3 = p.runs_on(0), p.runs_on(2)
        self.assertFalse(on1 & on3, "a guest runs on two servers")
        self.assertIn("to3", on3)
        o = p.owners(0)
        self.assertFalse(o["plain"]["running"])
        self.assertEqual(o["plain"]["owner"], "")
        self.assertEqual(o["pinned"]["owner"], "")      # waits for its server
        self.assertTrue(o["pinned"]["running"])
        self.assertNotIn("pinned", on1 | on3)
        # every copy agrees, epochs moved on
        p.wait("hosts 1 and 3 agree", lambda: p.agreed([0, 2]))
        self.assertGreater(int(o["ha1"]["epoch"]), 1)

        # host 2 comes back with its sim guests still "running" (the sim
        # table outlives the agent, as guests outlive a hung agent): once
        # synced it powers off the copies the pool gave to others, and
        # claims the two nobody else runs
        p.start_corosync(1)
        p.start_agent(1)
        p.wait("host 2 runs only pinned and plain", lambda: p.runs_on(1) == {"pinned", "plain"})
        p.wait("host 2 owns pinned and plain in every copy", lambda: all(
            p.owners(i)[n]["owner"] == a2 for i in range(3) for n in ("pinned", "plain")))
        p.wait("all three agree", lambda: p.agreed(range(3)))
        self.assertIn("powering off the copy here", p.agents[1].log())
        on = [p.runs_on(i) for i in range(3)]
        for n in names:
            self.assertEqual(sum(n in s for s in on), 1, "%s runs on %r" % (n, on))

    def test_placement(self):
        """start_vm on the master goes where the placement rule says: Auto
        (equal memory: the master itself), Manual (only the preferred),
        a named server, and 1005 when nothing fits."""
        p = self.make_pool(3, "10.81.0")
        a1, a2, a3 = p.hosts.addrs
        m = p.rpc(0)
        for n in ("auto", "manual", "named", "huge"):
            p.guest(n, memory=4 << 30 if n == "huge" else 128)
        status = m.get_srv_agent_status(a2)
        self.assertIn("in_cluster=true", status)
        self.assertEqual(m.get_vm_placement("auto"), "success:ip=%s" % a1)
        self.assertNotEqual(m.get_vm_placement("auto", a1), "success:ip=%s" % a1)
        self.assertEqual(m.start_vm("auto"), "success:ip=%s" % a1)
        self.assertEqual(m.set_vm_preferred_servers("manual", "Manual", [a3]), "success")
        self.assertEqual(p.rpc(1).get_vm_placement("manual"), "success:ip=%s" % a3)
        with self.assertRaises(agentfix.xmlrpc.client.Fault) as cm:
            m.get_vm_placement("manual", a3)
        self.assertEqual(cm.exception.faultCode, 1005)
        self.assertEqual(m.start_vm("manual"), "success:ip=%s" % a3)
        self.assertEqual(m.start_vm("named", a2), "success:ip=%s" % a2)
        with self.assertRaises(agentfix.xmlrpc.client.Fault) as cm:
            m.start_vm("huge")
        self.assertEqual(cm.exception.faultCode, 1005)
        self.assertIn("no VM server of the pool can take", cm.exception.faultString)
        self.assertEqual(p.runs_on(0), {"auto"})
        self.assertEqual(p.runs_on(1), {"named"})
        self.assertEqual(p.runs_on(2), {"manual"})
        p.wait("owners recorded", lambda: {n: g["owner"] for n, g in p.owners(1).items()
                                           if g["running"]} ==
               {"auto": a1, "named": a2, "manual": a3})

        # migration without a destination: from where it runs to where the
        # rule says (never the same server)
        self.assertEqual(m.xen_migrate_vm("named"), "success")
        p.wait("named moved off host 2", lambda: "named" not in p.runs_on(1) and
               "named" in p.runs_on(0) | p.runs_on(2))
        self.assertIn("xen_migrate_vm: on %s" % a2, p.agents[0].log())

        # utility work goes to a utility server when the master has no such role
        seed = os.path.join(p.root, "seed_pool")
        os.makedirs(seed)
        with tarfile.open(os.path.join(seed, "tpl.tgz"), "w:gz") as t:
            test_templates.add_file(t, "tpl/vm.cfg", test_templates.cfg_text("tpl").encode())
            test_templates.add_file(t, "tpl/system.img", test_templates.IMG)
        self.assertEqual(m.register_server(a3, "utility"), "success")
        out = m.create_vm_from_template("tpl", "fromtpl")
        self.assertTrue(out.startswith("success:vm_path="), out)
        self.assertIn("create_vm_from_template: on %s" % a3, p.agents[0].log())
        self.assertEqual(p.rpc(2).get_vm_status("fromtpl"), "success:status=DOWN")

    def test_partition_fences(self):
        """A server cut off (its link down) loses quorum and powers off its
        HA guests itself before the others restart them; back, it rejoins,
        takes the current state and refuses a stale epoch."""
        p = self.make_pool(3, "10.79.0")
        a1, a2, a3 = p.hosts.addrs
        m = p.rpc(0)
        self.assertEqual(m.set_pool_ha(True), "success")
        for n in ("p1", "p2", "only3"):
            p.guest(n)
            self.assertEqual(p.rpc(2).start_vm(n), "success:ip=%s" % a3)
            self.assertEqual(m.set_vm_ha(n, True), "success")
        self.assertEqual(m.set_vm_preferred_servers("only3", "Manual", [a3]), "success")
        p.wait("host 3 owns p1, p2, only3", lambda: all(
            p.owners(0)[n]["owner"] == a3 for n in ("p1", "p2", "only3")))
        old_epoch = p.owners(0)["p1"]["epoch"]

        hostfix.run("ip", "-n", p.hosts.br, "link", "set", "p3", "down")
        p.wait("p1, p2 running on hosts 1 and 2", lambda: {"p1", "p2"} <=
               p.runs_on(0) | p.runs_on(1) and p.owners(0)["p1"]["owner"] in (a1, a2))
        self.assertFalse(p.runs_on(2) & {"p1", "p2", "only3"}, "host 3 still runs them")
        self.assertEqual(p.owners(0)["only3"]["owner"], "")     # waits for host 3
        self.assertNotIn("only3", p.runs_on(0) | p.runs_on(1))
        log3 = p.agents[2].log()
        self.assertIn("fencing this server", log3)
        # host 3 fenced before the master restarted anything (one clock)
        fenced_at = next(l for l in log3.splitlines() if "fencing this server" in l)[:19]
        moved_at = next(l for l in p.agents[0].log().splitlines() if "HA: " in l)[:19]
        self.assertLessEqual(fenced_at, moved_at)

        hostfix.run("ip", "-n", p.hosts.br, "link", "set", "p3", "up")
        p.wait("host 3 back and synced", lambda: p.agreed(range(3)))
        self.assertEqual(p.owners(2)["p1"]["owner"], p.owners(0)["p1"]["owner"])
        secret = next(l.split("=", 1)[1] for l in subprocess.run(
            [agentfix.binary("db_dump"), "--config", p.agents[2].ini, "pool"],
            capture_output=True, text=True, timeout=30).stdout.splitlines()
            if l.startswith("credential="))
        stale = p.agents[2].proxy(user="ovs-pool", password=secret)
        with self.assertRaises(agentfix.xmlrpc.client.Fault) as cm:
            stale.pool_start_vm("p1", old_epoch, "1")
        self.assertEqual(cm.exception.faultCode, 1004)
        self.assertIn("stale epoch", cm.exception.faultString)
        self.assertFalse(p.runs_on(2) & {"p1", "p2"})
        # the guest that waited for host 3 is placed there now
        p.wait("only3 runs on host 3", lambda: "only3" in p.runs_on(2) and
               p.owners(0)["only3"]["owner"] == a3)

    def test_agents_away_fence_nothing(self):
        """The other two agents of a 3-server pool stop (their hosts and
        corosyncs stay up): the third keeps its HA guest running (quorate,
        nobody fails it over) though it may not act alone; they come back
        and all agree."""
        p = self.make_pool(3, "10.82.0")
        a3 = p.hosts.addrs[2]
        self.assertEqual(p.rpc(0).set_pool_ha(True), "success")
        p.guest("stay")
        self.assertEqual(p.rpc(2).start_vm("stay"), "success:ip=%s" % a3)
        self.assertEqual(p.rpc(0).set_vm_ha("stay", True), "success")
        p.wait("host 3 owns stay", lambda: p.owners(0)["stay"]["owner"] == a3)
        for i in (0, 1):
            self.assertEqual(p.agents[i].stop(), 0, p.agents[i].stderr())
        time.sleep(int(HA_KEYS["fence_timeout"]) + int(HA_KEYS["hb_timeout"]) + 2)
        self.assertEqual(p.runs_on(2), {"stay"})
        s = p.state(2)
        self.assertFalse(s["fenced"], s)
        self.assertFalse(s["quorate"], s)       # alone in the group: may not act
        self.assertNotIn("fencing this server", p.agents[2].log())
        for i in (0, 1):
            p.start_agent(i)
        p.wait("all three agree again", lambda: p.agreed(range(3)))
        self.assertEqual(p.owners(0)["stay"]["owner"], a3)
        self.assertEqual(p.runs_on(2), {"stay"})

    def test_master_failure(self):
        """The master dies: the others elect a new one within seconds, every
        agent names it, and a later VM server failure is still handled."""
        p = self.make_pool(5, "10.80.0")
        addrs = p.hosts.addrs
        self.assertEqual(p.rpc(0).set_pool_ha(True), "success")
        p.guest("m1")
        self.assertEqual(p.rpc(4).start_vm("m1"), "success:ip=%s" % addrs[4])
        self.assertEqual(p.rpc(0).set_vm_ha("m1", True), "success")
        p.wait("host 5 owns m1", lambda: p.owners(0)["m1"]["owner"] == addrs[4])

        t0 = time.monotonic()
        p.kill_agent(0)
        p.kill_corosync(0)
        p.wait("a new master", lambda: p.agreed(range(1, 5), addrs[1]))
        print("# new master elected %.1f s after kill -9 of the old" % (time.monotonic() - t0))
        for i in range(1, 5):
            self.assertEqual(p.rpc(i).get_master_ip(), "success:ip=%s" % addrs[1])
        p.kill_agent(4)
        p.kill_corosync(4)
        p.wait("m1 running on another server", lambda: p.owners(1)["m1"]["owner"] in
               addrs[1:4] and "m1" in set().union(*(p.runs_on(i) for i in range(1, 4))))


if __name__ == "__main__":
    sys.exit(main())
