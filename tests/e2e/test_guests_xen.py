"""test_guests_xen.py - the xen backend end to end, over tests/e2e/fake-xl
(no Xen here: the backend has never met a live Xen hypervisor).

Checks the exact xl command lines the agent runs for each operation, the
clean-stop timeout falling back to xl destroy, an xl failure surfacing as
fault 1100 with xl's stderr, a domain vanishing behind the agent's back,
and a restarted agent finding the running domains.

Run: python3 tests/e2e/test_guests_xen.py [test_name...]
"""

import os
import re
import socket
import sys
import tempfile
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from agentfix import Agent  # noqa: E402
from tap import main  # noqa: E402

socket.setdefaulttimeout(30)
HOST = "127.0.0.9"
FAKE_XL = os.path.join(HERE, "fake-xl")

VM_CFG = """name = '%(name)s'
uuid = '%(uuid)s'
memory = 256
vcpus = 2
builder = 'hvm'
disk = [ 'file:%(dir)s/system.img,hda,w', ]
vif = [ 'type=ioemu, bridge=xenbr0' ]
"""


class XenCase(agentfix.FaultAssertions, unittest.TestCase):
    extra = {}

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ovs-xen-")
        self.state = os.path.join(self.tmp, "xl-state")
        self.xl_log = os.path.join(self.tmp, "xl.log")
        os.makedirs(self.state)
        self.agent = Agent(host=HOST, hypervisor="xen", extra=self.extra, env={
            "OVS_AGENT_XL": FAKE_XL, "FAKE_XL_LOG": self.xl_log,
            "FAKE_XL_STATE": self.state, "OVS_AGENT_XL_POLL_MS": "300"})
        self.agent.start()

    def tearDown(self):
        try:
            rc = self.agent.stop()
            self.assertEqual(rc, 0, self.agent.stderr())
        finally:
            self.agent.cleanup()
            for root, dirs, files in os.walk(self.tmp, topdown=False):
                for f in files:
                    os.unlink(os.path.join(root, f))
                for d in dirs:
                    os.rmdir(os.path.join(root, d))
            os.rmdir(self.tmp)

    def p(self):
        return self.agent.proxy()

    def guest(self, name, uuid):
        d = os.path.join(self.agent.keys["ovs_root"], "running_pool", name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "vm.cfg"), "w") as f:
            f.write(VM_CFG % {"name": name, "uuid": uuid, "dir": d})
        open(os.path.join(d, "system.img"), "w").close()
        return d

    def status(self, name):
        return self.p().get_vm_status(name)

    def calls(self):
        """The xl command lines run so far, except the list refreshes."""
        try:
            with open(self.xl_log) as f:
                lines = [ln.rstrip("\n").split("\t") for ln in f]
        except FileNotFoundError:
            return []
        return [ln for ln in lines if ln != ["list", "-v"]]

    def clear_calls(self):
        open(self.xl_log, "w").close()

    def doms(self):
        out = {}
        for f in os.listdir(self.state):
            if f.startswith("dom."):
                import json
                with open(os.path.join(self.state, f)) as fh:
                    d = json.load(fh)
                out[d["uuid"]] = d
        return out

    def domid(self, uuid):
        return str(self.doms()[uuid]["domid"])

    def wait_status(self, name, want, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.status(name)
            if st == want:
                return
            time.sleep(0.1)
        self.assertEqual(self.status(name), want)


U1 = "7a000000-0000-4000-8000-000000000001"
U2 = "7a000000-0000-4000-8000-000000000002"
U3 = "7a000000-0000-4000-8000-000000000003"


class Lifecycle(XenCase):
    def test_every_operation_and_its_xl_command(self):
        d = self.guest("x1", U1)
        p = self.p()
        self.clear_calls()
        self.assertEqual(p.start_vm("x1"), "success:ip=%s" % HOST)
        # The vif got a MAC in vm.cfg; xl runs the agent's vif-bridge for it.
        calls = self.calls()
        self.assertEqual([c[:2] for c in calls], [["create", d + "/vm.cfg"]])
        self.assertRegex(calls[0][2], r"^vif=\['mac=00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}, "
                                      r"bridge=xenbr0, type=ioemu, script=%s/vif-bridge'\]$"
                         % re.escape(self.agent.keys["hooks_dir"]))
        self.assertEqual(self.status("x1"), "success:status=RUNNING")
        dom = self.domid(U1)
        self.assertEqual(dom, "1")

        steps = [
            (p.pause_vm, "success", "PAUSED", ["pause", dom]),
            (p.unpause_vm, "success", "RUNNING", ["unpause", dom]),
            (p.reset_vm, "success", "RUNNING", ["trigger", dom, "reset"]),
        ]
        for fn, reply, status, cmd in steps:
            self.clear_calls()
            self.assertEqual(fn("x1"), reply)
            self.assertEqual(self.calls(), [cmd])
            self.assertEqual(self.status("x1"), "success:status=" + status)

        self.clear_calls()
        self.assertEqual(p.reboot_vm("x1"), "success")
        self.assertEqual(self.calls(), [["reboot", "-w", "-F", dom]])
        self.assertEqual(self.status("x1"), "success:status=RUNNING")
        dom = self.domid(U1)                      # a rebooted domain has a new domid
        self.assertEqual(dom, "2")

        self.clear_calls()
        self.assertEqual(p.suspend_vm("x1"), "success")
        self.assertEqual(self.calls(), [["save", dom, d + "/vm.state"]])
        self.assertEqual(self.status("x1"), "success:status=SUSPEND")
        self.assertTrue(os.path.exists(os.path.join(d, "vm.state")))
        self.assertEqual(self.doms(), {})

        self.clear_calls()
        self.assertEqual(p.resume_vm("x1"), "success")
        self.assertEqual(self.calls(), [["restore", d + "/vm.state"]])
        self.assertEqual(self.status("x1"), "success:status=RUNNING")
        self.assertFalse(os.path.exists(os.path.join(d, "vm.state")))
        dom = self.domid(U1)

        self.clear_calls()
        self.assertEqual(p.stop_vm("x1"), "success")
        self.assertEqual(self.calls(), [["shutdown", "-w", "-F", dom]])
        self.assertEqual(self.status("x1"), "success:status=DOWN")

        p.start_vm("x1")
        dom = self.domid(U1)
        self.clear_calls()
        self.assertEqual(p.destroy_vm("x1"), "success")
        self.assertEqual(self.calls(), [["destroy", dom]])
        self.assertEqual(self.status("x1"), "success:status=DOWN")
        self.assertEqual(self.doms(), {})

    def test_xm_info(self):
        info = dict(kv.split("=", 1) for kv in self.p().xen_get_xm_info()[8:].split(";"))
        self.assertEqual(info["xen_minor"], "17")
        self.assertEqual(info["total_memory"], "16384")
        self.assertIn(["info"], self.calls())

    def test_perf_metrics_from_the_list(self):
        self.guest("x5", U1)
        self.p().start_vm("x5")
        perf = dict(kv.split("=") for kv in self.p().xen_get_vm_perf_metrics("x5")[8:].split(";"))
        self.assertEqual(perf["memory"], "256")
        self.assertEqual(perf["vcpus"], "2")
        self.p().destroy_vm("x5")


class StopTimeout(XenCase):
    extra = {"guest_stop_timeout": "2"}

    def test_shutdown_that_hangs_is_powered_off(self):
        self.guest("x2", U2)
        p = self.p()
        p.start_vm("x2")
        dom = self.domid(U2)
        open(os.path.join(self.state, "hang-shutdown"), "w").close()
        self.clear_calls()
        t0 = time.time()
        self.assertEqual(p.stop_vm("x2"), "success")
        took = time.time() - t0
        self.assertGreaterEqual(took, 1.9)
        self.assertLess(took, 8)
        self.assertEqual(self.calls(), [["shutdown", "-w", "-F", dom], ["destroy", dom]])
        self.assertEqual(self.status("x2"), "success:status=DOWN")
        self.assertIn("powering the domain off with xl destroy", self.agent.log())

    def test_loop_not_blocked_while_xl_hangs(self):
        import threading
        self.guest("x6", U2)
        p = self.p()
        p.start_vm("x6")
        open(os.path.join(self.state, "hang-shutdown"), "w").close()
        res = {}
        t = threading.Thread(target=lambda: res.setdefault("r", self.p().stop_vm("x6")))
        t.start()
        time.sleep(0.5)
        t0 = time.time()
        self.assertEqual(p.echo("x"), "success:echo=x")
        self.assertLess(time.time() - t0, 0.5)
        t.join(15)
        self.assertEqual(res.get("r"), "success")


class Failures(XenCase):
    def test_xl_failure_is_fault_1100_with_stderr(self):
        self.guest("x3", U3)
        p = self.p()
        with open(os.path.join(self.state, "fail-create"), "w") as f:
            f.write("libxl: error: libxl_dm.c:3150:device_model_spawn_outcome: "
                    "Domain 4:domain 4 device model: spawn failed (rc=-3)\n")
        msg = self.fault(1100, p.start_vm, "x3")
        self.assertIn("xl create", msg)
        self.assertIn("exited with status 3", msg)
        self.assertIn("device model: spawn failed", msg)
        self.assertEqual(self.status("x3"), "success:status=DOWN")
        os.unlink(os.path.join(self.state, "fail-create"))
        p.start_vm("x3")
        with open(os.path.join(self.state, "fail-pause"), "w") as f:
            f.write("libxl: error: cannot pause domain\n")
        msg = self.fault(1100, p.pause_vm, "x3")
        self.assertIn("cannot pause domain", msg)
        self.assertEqual(self.status("x3"), "success:status=RUNNING")
        os.unlink(os.path.join(self.state, "fail-pause"))
        p.destroy_vm("x3")

    def test_domain_vanishes_behind_the_agents_back(self):
        self.guest("x4", U1)
        p = self.p()
        p.start_vm("x4")
        os.unlink(os.path.join(self.state, "dom." + self.domid(U1)))
        self.wait_status("x4", "success:status=DOWN")
        # ... and one that crashes is ERROR
        p.start_vm("x4")
        import json
        path = os.path.join(self.state, "dom." + self.domid(U1))
        with open(path) as f:
            dom = json.load(f)
        dom["state"] = "---sc-"
        with open(path + ".new", "w") as f:
            json.dump(dom, f)
        os.rename(path + ".new", path)
        self.wait_status("x4", "success:status=ERROR")
        self.fault(1004, p.reboot_vm, "x4")
        self.assertEqual(p.destroy_vm("x4"), "success")
        self.assertEqual(self.status("x4"), "success:status=DOWN")

    def test_action_on_a_domain_xl_does_not_show(self):
        self.guest("x7", U2)
        p = self.p()
        p.start_vm("x7")
        # Gone, and acted on before any refresh could notice.
        os.unlink(os.path.join(self.state, "dom." + self.domid(U2)))
        self.clear_calls()
        msg = self.fault(1004, p.pause_vm, "x7")
        self.assertIn("not running", msg)
        self.assertEqual(self.calls(), [])        # no xl pause on a stale domid
        self.wait_status("x7", "success:status=DOWN")


class Restart(XenCase):
    def test_restarted_agent_sees_running_domains(self):
        self.guest("r1", U1)
        self.guest("r2", U2)
        p = self.p()
        p.start_vm("r1")
        p.start_vm("r2")
        p.pause_vm("r2")
        self.assertEqual(self.agent.stop(), 0)
        # While the agent is down r1 goes away.
        os.unlink(os.path.join(self.state, "dom." + self.domid(U1)))
        self.agent.start()
        self.assertEqual(self.status("r2"), "success:status=PAUSED")
        self.assertEqual(self.status("r1"), "success:status=ERROR")
        self.assertEqual(self.p().destroy_vm("r2"), "success")

    def test_agent_refuses_to_start_when_xl_list_fails(self):
        self.assertEqual(self.agent.stop(), 0)
        with open(os.path.join(self.state, "fail-list"), "w") as f:
            f.write("xencall: error: Could not obtain handle on privileged command interface\n")
        with self.assertRaises(RuntimeError) as cm:
            self.agent.start()
        self.assertIn("privileged command interface", str(cm.exception))
        os.unlink(os.path.join(self.state, "fail-list"))
        self.agent.start()


if __name__ == "__main__":
    main()
