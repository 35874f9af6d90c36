"""test_guests_sim.py - the guest lifecycle end to end on the simulated
hypervisor: every state of guide 5.1, faults, busy guests, path rules,
injected failures, persistence across a restart and kill -9 mid-operation.

Run: python3 tests/e2e/test_guests_sim.py [test_name...]
"""

import os
import socket
import sys
import threading
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from agentfix import Agent  # noqa: E402
from tap import main  # noqa: E402

socket.setdefaulttimeout(20)
HOST = "127.0.0.2"

VM_CFG = """# a guest for the tests
name = '%(name)s'
%(uuid)s
memory = %(memory)s
vcpus = 1
builder = 'hvm'
disk = [ 'file:%(dir)s/system.img,hda,w', ]
vif = [ 'type=ioemu, bridge=xenbr0' ]
vnc = 1
"""


def make_guest(agent, name, memory="256", uuid=None, text=None):
    d = os.path.join(agent.keys["ovs_root"], "running_pool", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "vm.cfg"), "w") as f:
        f.write(text if text is not None else VM_CFG % {
            "name": name, "memory": memory, "dir": d,
            "uuid": "uuid = '%s'" % uuid if uuid else ""})
    open(os.path.join(d, "system.img"), "w").close()
    return d


class GuestCase(agentfix.AgentCase):
    agent_kw = {"host": HOST}

    def rpc(self):
        return self.agent.proxy()

    def status(self, name):
        return self.rpc().get_vm_status(name)


class Lifecycle(GuestCase):
    def test_every_state(self):
        d = make_guest(self.agent, "g1")
        p = self.rpc()
        self.assertEqual(p.start_vm("g1"), "success:ip=%s" % HOST)
        self.assertEqual(self.status("g1"), "success:status=RUNNING")
        perf = dict(kv.split("=") for kv in p.xen_get_vm_perf_metrics("g1")[8:].split(";"))
        self.assertEqual(perf["cpu_time"], "0.00")                # a simulated guest
        self.assertEqual(perf["memory"], "256")
        self.assertEqual(perf["vcpus"], "1")
        self.assertEqual(p.pause_vm(d), "success")
        self.assertEqual(self.status("g1"), "success:status=PAUSED")
        self.assertEqual(p.unpause_vm("g1"), "success")
        self.assertEqual(p.reboot_vm("g1"), "success")
        self.assertEqual(p.reset_vm("g1"), "success")
        self.assertEqual(self.status("g1"), "success:status=RUNNING")
        self.assertEqual(p.suspend_vm("g1"), "success")
        self.assertEqual(self.status("g1"), "success:status=SUSPEND")
        self.assertTrue(os.path.exists(os.path.join(d, "vm.state")))
        self.assertEqual(p.resume_vm("g1"), "success")
        self.assertFalse(os.path.exists(os.path.join(d, "vm.state")))
        self.assertEqual(self.status("g1"), "success:status=RUNNING")
        self.assertEqual(p.stop_vm("g1"), "success")
        self.assertEqual(self.status("g1"), "success:status=DOWN")
        self.fault(1004, p.xen_get_vm_perf_metrics, "g1")

    def test_start_with_own_server_ip(self):
        make_guest(self.agent, "g2")
        self.assertEqual(self.rpc().start_vm("g2", HOST), "success:ip=%s" % HOST)
        self.fault(1008, self.rpc().start_vm, "g2", "10.9.9.9")
        self.assertEqual(self.rpc().destroy_vm("g2"), "success")

    def test_migrate_port_follows_the_number_rule(self):
        # The port after "host:" is a whole number like every other: digits
        # only. An accepted address gets 1008: sim migrates between servers
        # of a pool, and this agent is in none.
        make_guest(self.agent, "gport")
        p = self.rpc()
        p.register_vm("gport")
        for arg in ("127.0.0.3: 8899", "127.0.0.3:8899 ", "127.0.0.3:+8899", "127.0.0.3:8899x",
                    "127.0.0.3:0x22c3", "127.0.0.3:", "[::1]:+8899", "127.0.0.3:70000"):
            with self.subTest(host=arg):
                self.fault(1000, p.xen_migrate_vm, "gport", arg)
        self.fault(1008, p.xen_migrate_vm, "gport", "127.0.0.3:8899")
        self.fault(1008, p.xen_migrate_vm, "gport", "[::1]:08899")

    def test_wrong_state_faults(self):
        make_guest(self.agent, "g3")
        p = self.rpc()
        self.fault(1001, p.stop_vm, "g3")            # not registered yet
        self.assertTrue(p.register_vm("g3").startswith("success:uuid="))
        self.fault(1002, p.register_vm, "g3")
        msg = self.fault(1004, p.stop_vm, "g3")
        self.assertIn("DOWN", msg)
        self.fault(1004, p.unpause_vm, "g3")
        self.fault(1004, p.resume_vm, "g3")
        p.start_vm("g3")
        self.fault(1004, p.start_vm, "g3")
        self.fault(1004, p.unregister_vm, "g3")
        p.stop_vm("g3")
        self.assertEqual(p.unregister_vm("g3"), "success")
        self.fault(1001, p.get_vm_status, "g3")

    def test_crash_then_destroy(self):
        make_guest(self.agent, "g4")
        p = self.rpc()
        p.start_vm("g4")
        self.assertEqual(p.sim_crash_vm("g4"), "success")
        self.assertEqual(self.status("g4"), "success:status=ERROR")
        self.fault(1004, p.reboot_vm, "g4")
        self.assertEqual(p.destroy_vm("g4"), "success")
        self.assertEqual(self.status("g4"), "success:status=DOWN")

    def test_list_and_set_status(self):
        make_guest(self.agent, "g5", uuid="5e5e5e5e-0000-4000-8000-000000000005")
        p = self.rpc()
        p.register_vm("g5")
        rows = {r["path"]: r for r in p.list_vms()}
        path = os.path.join(self.agent.keys["ovs_root"], "running_pool", "g5")
        self.assertIn(path, rows)
        self.assertEqual(rows[path]["uuid"], "5e5e5e5e-0000-4000-8000-000000000005")
        self.assertEqual(rows[path]["status"], "DOWN")
        self.assertEqual(rows[path]["name"], "g5")
        self.assertEqual(p.set_vm_status("g5", "error"), "success")
        self.assertEqual(self.status("g5"), "success:status=ERROR")
        self.fault(1000, p.set_vm_status, "g5", "SLEEPING")

    def test_missing_uuid_is_generated_and_kept(self):
        d = make_guest(self.agent, "g6")
        out = self.rpc().register_vm("g6")
        uuid = out.split("uuid=")[1].split(";")[0]
        self.assertEqual(len(uuid), 36)
        with open(os.path.join(d, "vm.cfg")) as f:
            text = f.read()
        self.assertIn("uuid = '%s'" % uuid, text)
        self.assertIn("# a guest for the tests", text)   # comments kept on rewrite

    def test_copied_guest_needs_its_own_uuid(self):
        make_guest(self.agent, "orig", uuid="0C0C0C0C-0000-4000-8000-00000000000C")
        make_guest(self.agent, "copy", uuid="0c0c0c0c-0000-4000-8000-00000000000c")
        p = self.rpc()
        p.start_vm("orig")
        rows = {r["name"]: r for r in p.list_vms()}
        self.assertEqual(rows["orig"]["uuid"], "0c0c0c0c-0000-4000-8000-00000000000c")  # one spelling
        msg = self.fault(1002, p.start_vm, "copy")
        self.assertIn("fresh uuid", msg)
        self.fault(1001, p.destroy_vm, "copy")     # never registered: cannot touch orig
        self.assertEqual(self.status("orig"), "success:status=RUNNING")
        make_guest(self.agent, "badid", uuid="../../../../../../../../../run/x.pid")
        self.fault(1000, p.start_vm, "badid")
        p.destroy_vm("orig")

    def test_memory_that_does_not_fit(self):
        make_guest(self.agent, "huge", memory="10000000")
        msg = self.fault(1005, self.rpc().start_vm, "huge")
        self.assertIn("MB", msg)
        self.assertEqual(self.status("huge"), "success:status=DOWN")

    def test_bad_vm_cfg(self):
        make_guest(self.agent, "bad", text="name = 'bad'\nmemory = [1,\n")
        msg = self.fault(1000, self.rpc().start_vm, "bad")
        self.assertIn("vm.cfg:", msg)

    def test_vm_cfg_names_must_be_text(self):
        """A vm.cfg name that is not UTF-8 or holds a control character is
        refused when the guest is registered (also by a start that would
        register it); nothing is recorded."""
        p = self.rpc()
        for dirname, name, phrase in (
                ("latin1", b"caf\xe9", "name 'caf?' is not valid UTF-8 at byte 3 (0xe9)"),
                ("ctl", b"a\x01b\x1bc", "name 'a?b?c' has a control character at byte 1"),
                ("esc", b"a\\tb", "name 'a?b' has a control character at byte 1 (0x09)"),
                ("del", b"x\x7f", "has a control character at byte 1 (0x7f)"),
                ("overlong", b"\xc0\xaf", "is not valid UTF-8 at byte 0")):
            with self.subTest(name=name):
                d = make_guest(self.agent, dirname)
                with open(os.path.join(d, "vm.cfg"), "wb") as f:
                    f.write(b"name = '" + name + b"'\nmemory = 64\n")
                for method in (p.register_vm, p.start_vm):
                    msg = self.fault(1000, method, dirname)
                    self.assertIn("/vm.cfg name '", msg)
                    self.assertIn(phrase, msg)
                self.fault(1001, p.get_vm_status, dirname)
        d = make_guest(self.agent, "utf8name")
        with open(os.path.join(d, "vm.cfg"), "w", encoding="utf-8") as f:
            f.write("name = 'caf\u00e9 \u65e5\u672c'\nmemory = 64\n")
        self.assertTrue(p.register_vm("utf8name").startswith("success:"))
        # a name longer than the record keeps (255 bytes) is cut between characters
        d2 = make_guest(self.agent, "longname")
        with open(os.path.join(d2, "vm.cfg"), "w", encoding="utf-8") as f:
            f.write("name = '%s'\nmemory = 64\n" % ("\u00e9" * 200))
        self.assertTrue(p.register_vm("longname").startswith("success:"))
        rows = {r["path"]: r for r in p.list_vms()}
        self.assertEqual(rows[d]["name"], "caf\u00e9 \u65e5\u672c")
        self.assertEqual(rows[d2]["name"], "\u00e9" * 127)

    def test_paths_outside_are_refused(self):
        p = self.rpc()
        self.fault(1006, p.start_vm, "../../etc")
        self.fault(1006, p.start_vm, "/etc")
        self.fault(1006, p.start_vm, os.path.join(self.agent.keys["ovs_root"], "seed_pool", "x"))
        outside = os.path.join(self.agent.dir, "outside")
        os.makedirs(outside, exist_ok=True)
        with open(os.path.join(outside, "vm.cfg"), "w") as f:
            f.write("name='x'\nmemory=64\n")
        link = os.path.join(self.agent.keys["ovs_root"], "running_pool", "escape")
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(outside, link)
        self.fault(1006, p.start_vm, "escape")

    def test_injected_failure_then_success(self):
        make_guest(self.agent, "g7")
        p = self.rpc()
        self.assertEqual(p.sim_inject_fault("start", "once"), "success")
        msg = self.fault(1100, p.start_vm, "g7")
        self.assertIn("injected", msg)
        self.assertEqual(self.status("g7"), "success:status=DOWN")
        self.assertEqual(p.start_vm("g7"), "success:ip=%s" % HOST)
        p.sim_inject_fault("shutdown", "always")
        self.fault(1100, p.stop_vm, "g7")
        self.fault(1100, p.stop_vm, "g7")
        self.assertEqual(self.status("g7"), "success:status=RUNNING")
        p.sim_inject_fault("shutdown", "clear")
        self.assertEqual(p.stop_vm("g7"), "success")
        self.fault(1000, p.sim_inject_fault, "explode", "once")

    def test_xm_info_accounts_guest_memory(self):
        make_guest(self.agent, "g8", memory="2048")
        p = self.rpc()

        def free():
            info = dict(kv.split("=", 1) for kv in p.xen_get_xm_info()[8:].split(";"))
            return int(info["free_memory"])
        before = free()
        p.start_vm("g8")
        self.assertEqual(before - free(), 2048)
        p.stop_vm("g8")
        self.assertEqual(free(), before)


class Busy(GuestCase):
    agent_kw = {"host": HOST, "env": {"OVS_AGENT_SIM_DELAY_MS": "800"}}

    def test_second_operation_is_busy(self):
        make_guest(self.agent, "b1")
        result = {}

        def start():
            result["start"] = self.rpc().start_vm("b1")
        t = threading.Thread(target=start)
        t.start()
        deadline = time.time() + 5
        # Wait until the start is recorded as in flight, then collide with it.
        while time.time() < deadline:
            try:
                if self.status("b1") == "success:status=STARTING":
                    break
            except xmlrpc.client.Fault:
                pass
            time.sleep(0.02)
        self.fault(1003, self.rpc().stop_vm, "b1")
        # The loop is not blocked while the start is pending.
        t0 = time.time()
        self.assertEqual(self.rpc().echo("x"), "success:echo=x")
        self.assertLess(time.time() - t0, 0.5)
        t.join(10)
        self.assertEqual(result.get("start"), "success:ip=%s" % HOST)


class Restart(unittest.TestCase):
    """State outlives the agent: a clean restart and kill -9 mid-operation."""

    def setUp(self):
        self.agent = Agent(host=HOST, env={"OVS_AGENT_SIM_DELAY_MS": "1500"})

    def tearDown(self):
        self.agent.cleanup()

    def test_running_guest_survives_restart(self):
        a = self.agent
        make_guest(a, "r1")
        a.start()
        a.proxy().start_vm("r1")
        self.assertEqual(a.stop(), 0)
        a.start()
        self.assertEqual(a.proxy().get_vm_status("r1"), "success:status=RUNNING")
        a.proxy().stop_vm("r1")
        self.assertEqual(a.stop(), 0)

    def kill_during(self, method, name):
        a = self.agent
        done = {}

        def call():
            try:
                done["r"] = getattr(a.proxy(), method)(name)
            except Exception as e:  # noqa: BLE001 - the agent dies under it
                done["e"] = e
        t = threading.Thread(target=call)
        t.start()
        deadline = time.time() + 5
        op = method.split("_")[0]
        while time.time() < deadline and self.row(name).get("op") != op:
            time.sleep(0.02)
        a.proc.kill()
        a.proc.wait(10)
        t.join(10)
        self.assertIn("e", done, "the call cannot have been acknowledged")
        a.start()

    def row(self, name):
        try:
            rows = [r for r in self.agent.proxy().list_vms() if r.get("name") == name]
        except (OSError, xmlrpc.client.Error):
            return {}
        return rows[0] if rows else {}

    def test_kill_during_start_rolls_back(self):
        a = self.agent
        make_guest(a, "k1")
        a.start()
        self.kill_during("start_vm", "k1")
        self.assertEqual(a.proxy().get_vm_status("k1"), "success:status=DOWN")
        row = [r for r in a.proxy().list_vms() if r["name"] == "k1"][0]
        self.assertNotIn("op", row)
        self.assertIn("reconciled", a.log())
        self.assertEqual(a.proxy().start_vm("k1"), "success:ip=%s" % HOST)
        self.assertEqual(a.stop(), 0)

    def test_kill_during_stop_keeps_it_running(self):
        a = self.agent
        make_guest(a, "k2")
        a.start()
        a.proxy().start_vm("k2")
        self.kill_during("stop_vm", "k2")
        # The stop was never acknowledged and never happened.
        self.assertEqual(a.proxy().get_vm_status("k2"), "success:status=RUNNING")
        self.assertEqual(a.proxy().stop_vm("k2"), "success")
        self.assertEqual(a.stop(), 0)


if __name__ == "__main__":
    main()
