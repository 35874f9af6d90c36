#!/usr/bin/env python3
"""test_hastop.py - `service ovs-agent stop` on a pool server running HA
guests (guide 3.4 and appendix A), init.d/ovs-agent run inside a host.

A pool of 3 hosts with corosync and an agent each (test_ha.Pool); host 2
runs HA guests and a plain one. The init script runs in host 2's network
and mount namespaces (hostfix argv) with OVS_AGENT_CONFIG, OVS_DO_RPC and
OVS_DB_DUMP pointing at that agent's agent.ini and the built tools, so it
asks that agent. Through a pty (the three choices, a wrong answer, end of
input, choice 1 timing out) and once without a terminal (live migration
by get_vm_placement, a guest no server may take stopped instead). What
happened is checked in the pool state (get_pool_ha_state) and in the
backends' own lists (db_dump sim). Needs root, iproute2, util-linux and
corosync; everything is ended by pid and removed, pass or fail.

Run: python3 tests/e2e/test_hastop.py [test_name...]
"""

import os
import re
import shutil
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from tap import main  # noqa: E402
from test_ha import VM_CFG, Pool, can_run  # noqa: E402
from test_initscript import PtyDialog, is_agent  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "init.d", "ovs-agent")
SCRIPT_TIMEOUT = 120
CANCELLED = 150
HA = ("ha1", "ha2")
# A guest's directory may hold any printable character but '/'.
HOSTILE = "it's \"$(touch pwned)\" `id` \\ [x] {y}; é"
QUESTION = ("Guests run on this HA-enabled Oracle VM Server:",
            "Choose what to do before Oracle VM Agent stops:",
            "  1) Migrate or power off the guests using Oracle VM Manager. Once they are\n"
            "     migrated or powered off, Oracle VM Agent stops.",
            "  2) Stop the guests and Oracle VM Agent.",
            "  3) Cancel the stop operation.")


@unittest.skipIf(can_run(), can_run())
class HAStopTest(unittest.TestCase):
    def setUp(self):
        self.pool = None
        self.dialog = None

    def tearDown(self):
        try:
            if self.dialog:
                self.dialog.close()
        finally:
            if self.pool:
                self.pool.close()

    def make_pool(self, prefix, more=()):
        """A pool of 3 with HA on; host 2 runs ha1, ha2 (HA), plain (not
        HA) and the HA guests named in more: pinned (Manual on host 2
        alone), HOSTILE (its vm.cfg name "hostile"), others."""
        p = self.pool = Pool(self, 3, prefix)
        p.form()
        a2 = p.hosts.addrs[1]
        self.assertEqual(p.rpc(0).set_pool_ha(True), "success")
        names = list(HA) + ["plain"] + list(more)
        for n in names:
            if n == HOSTILE:
                d = os.path.join(p.root, "running_pool", n)
                os.makedirs(d)
                with open(os.path.join(d, "vm.cfg"), "w") as f:
                    f.write(VM_CFG % {"name": "hostile", "memory": 128, "dir": "/nonexistent",
                                      "uuid": "00000000-0000-4000-8000-00000000beef"})
            else:
                p.guest(n)
            self.assertEqual(p.rpc(1).start_vm(n), "success:ip=%s" % a2)
            if n != "plain":
                self.assertEqual(p.rpc(0).set_vm_ha(n, True), "success")
        if "pinned" in more:
            self.assertEqual(p.rpc(0).set_vm_preferred_servers("pinned", "Manual", [a2]),
                             "success")
        p.wait("host 2 owns its guests, running, in every copy", lambda: all(
            p.owners(i)[n]["owner"] == a2 and p.owners(i)[n]["running"]
            for i in range(3) for n in names))
        self.assertEqual(p.runs_on(1), {"hostile" if n == HOSTILE else n for n in names})
        return p

    def env(self, i, **extra):
        a = self.pool.agents[i]
        env = dict(os.environ, OVS_AGENT_CONFIG=a.ini,
                   OVS_AGENT_BIN=agentfix.binary("ovs-agent"),
                   OVS_DO_RPC=agentfix.binary("do_rpc"),
                   OVS_DB_DUMP=agentfix.binary("db_dump"))
        env.update(extra)
        return env

    def argv(self, i, action):
        argv = self.pool.hosts.argv(i, "/bin/bash", SCRIPT, action)
        argv[0] = shutil.which(argv[0])
        return argv

    def dialogue(self, i, action="stop", **env):
        self.dialog = PtyDialog(self.argv(i, action), self.env(i, **env))
        d = self.dialog
        for line in QUESTION:
            d.expect(line)
        return d

    def run_script(self, i, action="stop"):
        """The script without a terminal (stdin /dev/null, output piped)."""
        return subprocess.run(self.argv(i, action), env=self.env(i), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=SCRIPT_TIMEOUT)

    def assert_running(self, i):
        """Host i's agent still runs and answers."""
        a = self.pool.agents[i]
        self.assertIsNone(a.proc.poll())
        self.assertTrue(is_agent(a.proc.pid))
        self.assertEqual(a.proxy().echo("up"), "success:echo=up")

    def assert_stopped(self, i):
        """Host i's agent ended by the script, cleanly."""
        a = self.pool.agents[i]
        self.assertEqual(a.proc.wait(30), 0)
        self.assertFalse(os.path.exists(a.pid_file))

    def assert_untouched(self):
        p = self.pool
        a2 = p.hosts.addrs[1]
        self.assertEqual(p.runs_on(1), {"ha1", "ha2", "plain"})
        self.assertFalse((p.runs_on(0) | p.runs_on(2)) & {"ha1", "ha2", "plain"})
        o = p.owners(0)
        for n in HA:
            self.assertEqual((o[n]["owner"], o[n]["running"]), (a2, True))

    def test_cancel(self):
        """Choice 3 (after a wrong answer), end of input and `restart`
        cancelled: exit 150, the agent and the guests as they were."""
        p = self.make_pool("10.81.0")
        d = self.dialogue(1)
        shown = d.text
        for n in HA:
            self.assertIn("  /%s\n" % n, shown.replace(p.root + "/running_pool", ""))
        self.assertNotIn("plain", shown)
        d.expect("Choice [1-3]: ")
        d.send("4")
        d.expect("Please answer 1, 2 or 3.")
        d.expect("Choice [1-3]: ")
        d.send("3")
        d.expect("Stop cancelled: nothing changed.")
        self.assertEqual(d.wait(), CANCELLED, d.text)
        self.assert_running(1)
        self.assert_untouched()

        d = self.dialogue(1)
        d.expect("Choice [1-3]: ")
        os.write(d.fd, b"\x04")         # ^D: end of input
        self.assertEqual(d.wait(), CANCELLED, d.text)
        self.assertIn("Stop cancelled", d.text)

        d = self.dialogue(1, "restart")
        d.expect("Choice [1-3]: ")
        d.send("3")
        self.assertEqual(d.wait(), CANCELLED, d.text)
        self.assert_running(1)
        self.assert_untouched()

    def test_stop_guests(self):
        """Choice 2: the HA guests stopped (DOWN), then the agent; the
        plain guest is left as a plain stop leaves it."""
        p = self.make_pool("10.82.0")
        d = self.dialogue(1)
        d.expect("Choice [1-3]: ")
        d.send("2")
        d.expect("Stopping the guests")
        self.assertEqual(d.wait(SCRIPT_TIMEOUT), 0, d.text)
        for n in HA:
            self.assertRegex(d.text, r"  \S*/%s: stopped\n" % n)
        self.assertIn("Stopping ovs-agent: [ OK ]", d.text)
        self.assert_stopped(1)
        self.assertEqual(p.runs_on(1), {"plain"})
        for n in HA:
            self.assertFalse(p.owners(0)[n]["running"], n)
        # the pool restarts nothing the operator stopped, well past the
        # time it takes to fail a server over (fence_timeout 4 s)
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            self.assertFalse((p.runs_on(0) | p.runs_on(2)) & set(HA))
            time.sleep(0.5)

    def test_manager(self):
        """Choice 1: the agent keeps running while the guests are still
        here (and is not stopped when that lasts past the bound); once the
        manager has migrated one and powered off the other, it stops."""
        p = self.make_pool("10.83.0")
        a3 = p.hosts.addrs[2]
        d = self.dialogue(1, OVS_HA_MANAGER_WAIT="3")
        d.expect("Choice [1-3]: ")
        d.send("1")
        d.expect("Oracle VM Agent keeps running for Oracle VM Manager")
        self.assertEqual(d.wait(), 1, d.text)
        self.assertIn("HA guests still run here after 3 s: Oracle VM Agent was not stopped",
                      d.text)
        self.assert_running(1)
        self.assert_untouched()

        d = self.dialogue(1)
        d.expect("Choice [1-3]: ")
        d.send("1")
        d.expect("waiting 1800 s at most")
        # the manager's work, through the agent the script leaves running
        self.assertIn("success", p.rpc(1).xen_migrate_vm("ha1", a3))
        self.assertEqual(p.rpc(1).stop_vm("ha2"), "success")
        d.expect("No HA guest runs here any more.")
        self.assertEqual(d.wait(), 0, d.text)
        self.assert_stopped(1)
        self.assertEqual(p.runs_on(1), {"plain"})
        self.assertIn("ha1", p.runs_on(2))
        self.assertEqual(p.owners(0)["ha1"]["owner"], a3)

    def test_no_terminal(self):
        """No terminal: each HA guest migrated live where get_vm_placement
        says, one line each; stopped instead when no other server may take
        it (pinned: Manual, host 2 alone) or its migration fails (one,
        injected); then the agent stops. A guest's name is data, never
        shell."""
        p = self.make_pool("10.84.0", more=("ha3", HOSTILE, "pinned"))
        a1, a2, a3 = p.hosts.addrs
        self.assertEqual(p.rpc(1).sim_inject_fault("migrate", "once"), "success")
        cwd = os.getcwd()
        r = self.run_script(1)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(os.path.join(cwd, "pwned")))
        out = r.stdout.replace(p.root + "/running_pool/", "")
        lines = out.splitlines()
        self.assertEqual(lines[0], "HA guests run here: migrating them to other servers of the pool.")
        self.assertEqual(lines[-1], "Stopping ovs-agent: [ OK ]", out)
        ha = ["ha1", "ha2", "ha3", HOSTILE]
        self.assertEqual(len(lines), 2 + len(ha) + 1, out)
        failed = [l for l in lines if re.fullmatch(
            r"(.*): not migrated \(migration to (%s|%s) failed: fault 1100: .*\); stopped"
            % (a1, a3), l)]
        self.assertEqual(len(failed), 1, out)
        # names are shown as do_rpc prints them (Python's escapes kept)
        shown = {repr(n)[1:-1]: n for n in ha}
        stopped = shown[failed[0].split(": not migrated")[0]]
        moved = [n for n in ha if n != stopped]
        for n in moved:
            self.assertRegex(out, r"(?m)^%s: migrated to (%s|%s)$"
                             % (re.escape(repr(n)[1:-1]), a1, a3))
        self.assertIn("pinned: not migrated (no server can take it); stopped\n", out)
        self.assert_stopped(1)
        self.assertEqual(p.runs_on(1), {"plain"})
        sim = {HOSTILE: "hostile"}
        p.wait("the pool state shows the migrated guests running on hosts 1 and 3", lambda: all(
            p.owners(0)[n]["owner"] in (a1, a3) and p.owners(0)[n]["running"] for n in moved))
        for n in moved:
            owner = p.owners(0)[n]["owner"]
            self.assertIn(sim.get(n, n), p.runs_on(p.hosts.addrs.index(owner)))
        self.assertFalse(p.runs_on(0) & p.runs_on(2))
        for n in (stopped, "pinned"):
            self.assertFalse(p.owners(0)[n]["running"], n)
            self.assertNotIn(sim.get(n, n), p.runs_on(0) | p.runs_on(2))

    def test_shellcheck(self):
        if not shutil.which("shellcheck"):
            self.skipTest("shellcheck is not installed")
        r = subprocess.run(["shellcheck", SCRIPT], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    sys.exit(main())
