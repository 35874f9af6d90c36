"""test_guests_qemu.py - real guests with QEMU (KVM when /dev/kvm works, TCG
otherwise) through the agent's XML-RPC API: start, pause, resume, reset,
reboot, VNC, an agent restart that re-attaches to running guests, a clean
ACPI stop of a real Linux guest (tests/guest builds it from Debian's
packages), the power-off fallback for a guest that ignores the button,
destroy, and a guest that dies on its own.

Run: python3 tests/e2e/test_guests_qemu.py
"""

import os
import socket
import subprocess
import sys
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from tap import main  # noqa: E402

socket.setdefaulttimeout(120)
HOST = "127.0.0.7"
GUEST_DIR = os.path.join(REPO, "build", "guest")

# A guest with no disk: SeaBIOS finds nothing to boot and waits. It runs,
# pauses and resets like any guest, but no OS hears the power button.
BARE_CFG = "name = '%s'\nmemory = 64\nvcpus = 1\nbuilder = 'hvm'\nvnc = 1\nvncunused = 1\n"

LINUX_CFG = """# a small Linux that powers off on the ACPI button (tests/guest)
name = '%(name)s'
memory = 256
vcpus = 1
kernel = '%(kernel)s'
ramdisk = '%(dir)s/initrd.img'
extra = 'console=ttyS0 quiet panic=-1'
vnc = 0
"""


def guest_kernel():
    # The uncompressed kernel boots twice as fast under TCG.
    kernel = os.path.join(GUEST_DIR, "vmlinux")
    return kernel if os.path.exists(kernel) else os.path.join(GUEST_DIR, "vmlinuz")


def probe_accel(timeout=45):
    """KVM when /dev/kvm opens and the test guest boots under it in time;
    TCG otherwise. On some hosts /dev/kvm opens but a guest hangs under it
    (nested virtualisation): one boot decides for the whole run."""
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
    except OSError as e:
        return "tcg", "/dev/kvm: %s" % e.strerror
    if not os.path.exists(os.path.join(GUEST_DIR, "initrd.img")):
        return "kvm", "/dev/kvm opens (no test guest to try it with)"
    qemu = os.environ.get("OVS_AGENT_QEMU", "/usr/bin/qemu-system-x86_64")
    proc = subprocess.Popen([qemu, "-accel", "kvm", "-m", "256", "-nodefaults", "-no-reboot",
                             "-display", "none", "-serial", "stdio", "-kernel", guest_kernel(),
                             "-initrd", os.path.join(GUEST_DIR, "initrd.img"),
                             "-append", "console=ttyS0 quiet panic=-1"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    seen, deadline = b"", time.time() + timeout
    try:
        os.set_blocking(proc.stdout.fileno(), False)
        while time.time() < deadline and b"OVS-GUEST READY" not in seen:
            chunk = proc.stdout.read(65536)
            if chunk:
                seen = (seen + chunk)[-65536:]
            elif proc.poll() is not None:
                break
            else:
                time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
    if b"OVS-GUEST READY" in seen:
        return "kvm", "the test guest booted under KVM"
    return "tcg", "/dev/kvm opens but the test guest did not boot under KVM in %ds" % timeout


ACCEL, ACCEL_WHY = probe_accel()
print("# QEMU guests run under %s: %s" % (ACCEL.upper(), ACCEL_WHY), flush=True)


def qemu_agent(**kw):
    """An agent with hypervisor=qemu and the accelerator this run uses."""
    kw.setdefault("host", HOST)
    extra = dict(kw.pop("extra", {}))
    extra["qemu_accel"] = ACCEL
    return agentfix.Agent(hypervisor="qemu", extra=extra, **kw)


def make(agent, name, text):
    d = os.path.join(agent.keys["ovs_root"], "running_pool", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "vm.cfg"), "w") as f:
        f.write(text)
    return d


def alive(pid):
    """Running, not exited: a zombie waiting for its reaper counts as gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


class Console:
    """Reads a guest's serial console (a unix socket QEMU serves)."""

    def __init__(self, agent, uuid):
        path = os.path.join(agent.keys["state_dir"], "qemu", uuid + ".console")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.time() + 10
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.text = b""

    def wait_for(self, needle, timeout, count=1):
        deadline = time.time() + timeout
        while self.text.count(needle.encode()) < count:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("console never showed %r (%d times); it shows:\n%s" %
                                     (needle, count, self.text.decode(errors="replace")[-2000:]))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                continue
            if not chunk:
                raise AssertionError("console closed before %r" % needle)
            self.text += chunk

    def close(self):
        self.sock.close()


class QemuCase(agentfix.AgentCase):
    agent_kw = {"host": HOST, "hypervisor": "qemu",
                "extra": {"guest_stop_timeout": "3", "qemu_accel": ACCEL}}

    def p(self):
        return self.agent.proxy()

    def row(self, name):
        return [r for r in self.p().list_vms() if r.get("name") == name][0]


class Bare(QemuCase):
    def test_lifecycle(self):
        make(self.agent, "b1", BARE_CFG % "b1")
        p = self.p()
        self.assertEqual(p.start_vm("b1"), "success:ip=%s" % HOST)
        pid = int(self.row("b1")["hv_id"])
        self.assertTrue(alive(pid))
        self.assertEqual(p.get_vm_status("b1"), "success:status=RUNNING")
        self.assertEqual(p.pause_vm("b1"), "success")
        self.assertEqual(p.get_vm_status("b1"), "success:status=PAUSED")
        self.assertEqual(p.unpause_vm("b1"), "success")
        self.assertEqual(p.reset_vm("b1"), "success")
        self.assertEqual(p.get_vm_status("b1"), "success:status=RUNNING")
        perf = dict(kv.split("=") for kv in p.xen_get_vm_perf_metrics("b1")[8:].split(";"))
        self.assertGreater(float(perf["cpu_time"]), 0)            # QEMU really ran
        self.assertGreater(int(perf["memory"]), 0)
        self.assertLessEqual(float(perf["cpu_util"]), 1.0)
        port = int(p.xen_get_vnc_port("b1").split("=")[1])
        self.assertGreaterEqual(port, 5900)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            self.assertTrue(s.recv(12).startswith(b"RFB "))   # a real VNC server
        # No OS hears the power button: power-off after guest_stop_timeout.
        t0 = time.time()
        self.assertEqual(p.stop_vm("b1"), "success")
        self.assertGreaterEqual(time.time() - t0, 2.5)
        self.assertEqual(p.get_vm_status("b1"), "success:status=DOWN")
        deadline = time.time() + 10
        while alive(pid) and time.time() < deadline:
            time.sleep(0.1)
        self.assertFalse(alive(pid))

    def test_destroy_and_death(self):
        make(self.agent, "b2", BARE_CFG % "b2")
        p = self.p()
        p.start_vm("b2")
        self.assertEqual(p.destroy_vm("b2"), "success")
        self.assertEqual(p.get_vm_status("b2"), "success:status=DOWN")
        p.start_vm("b2")
        pid = int(self.row("b2")["hv_id"])
        os.kill(pid, 9)                      # the guest dies on its own
        deadline = time.time() + 10
        while p.get_vm_status("b2") != "success:status=DOWN" and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(p.get_vm_status("b2"), "success:status=DOWN")
        self.assertIn("reported by the hypervisor", self.agent.log())

    def test_suspend_to_file_and_resume(self):
        d = make(self.agent, "b5", BARE_CFG % "b5")
        p = self.p()
        p.start_vm("b5")
        pid = int(self.row("b5")["hv_id"])
        self.assertEqual(p.suspend_vm("b5"), "success")
        self.assertEqual(p.get_vm_status("b5"), "success:status=SUSPEND")
        state = os.path.join(d, "vm.state")
        self.assertGreater(os.path.getsize(state), 100000)   # 64 MB of guest, compressed
        self.assertFalse(alive(pid), "the suspended guest's QEMU is still running")
        self.assertEqual(p.resume_vm("b5"), "success")
        self.assertEqual(p.get_vm_status("b5"), "success:status=RUNNING")
        self.assertFalse(os.path.exists(state))
        self.assertNotEqual(int(self.row("b5")["hv_id"]), pid)
        self.assertEqual(p.pause_vm("b5"), "success")
        self.assertEqual(p.destroy_vm("b5"), "success")

    def test_vnc_password(self):
        make(self.agent, "b6", BARE_CFG % "b6" + "vncpasswd = 'secret1'\n")
        p = self.p()
        p.start_vm("b6")
        port = int(p.xen_get_vnc_port("b6").split("=")[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            self.assertEqual(s.recv(12), b"RFB 003.008\n")
            s.sendall(b"RFB 003.008\n")
            n = s.recv(1)[0]
            types = s.recv(n)
        # VNC authentication (2) is demanded; no way in without it (1 = none).
        self.assertIn(2, types)
        self.assertNotIn(1, types)
        self.assertNotIn("secret1", " ".join(open("/proc/%s/cmdline" % self.row("b6")["hv_id"])
                                           .read().split("\0")))
        self.assertNotIn("secret1", self.agent.log())
        p.destroy_vm("b6")

    def test_qemu_refusal_is_a_fault(self):
        make(self.agent, "b3", BARE_CFG % "b3" +
             "disk = [ 'file:%s/nothere.img,hda,w' ]\n" %
             os.path.join(self.agent.keys["ovs_root"], "running_pool", "b3"))
        msg = self.fault(1100, self.p().start_vm, "b3")
        self.assertIn("QEMU", msg)
        self.assertEqual(self.p().get_vm_status("b3"), "success:status=DOWN")

    def test_bad_setting_is_refused_before_qemu(self):
        make(self.agent, "b4", BARE_CFG % "b4" + "boot = 'xyz'\n")
        self.fault(1000, self.p().start_vm, "b4")


class AccelSetting(unittest.TestCase):
    def test_tcg_by_name(self):
        a = qemu_agent()
        a.keys["qemu_accel"] = "tcg"
        a.write_ini()
        try:
            a.start()
            self.assertIn("TCG (qemu_accel=tcg)", a.log())
            self.assertIn("hypervisor=tcg", a.proxy().xen_get_xm_info())
            self.assertEqual(a.stop(), 0)
        finally:
            a.cleanup()

    def test_kvm_without_kvm_is_refused(self):
        try:
            os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
            self.skipTest("/dev/kvm opens on this machine")
        except OSError:
            pass
        a = qemu_agent()
        a.keys["qemu_accel"] = "kvm"
        a.write_ini()
        try:
            with self.assertRaises(RuntimeError) as cm:
                a.start()
            self.assertIn("qemu_accel=kvm: /dev/kvm", str(cm.exception))
        finally:
            a.cleanup()


class Restart(unittest.TestCase):
    def test_guest_outlives_the_agent(self):
        a = qemu_agent(extra={"guest_stop_timeout": "2"})
        try:
            make(a, "r1", BARE_CFG % "r1")
            a.start()
            a.proxy().start_vm("r1")
            pid = int([r for r in a.proxy().list_vms()][0]["hv_id"])
            self.assertEqual(a.stop(), 0)
            self.assertTrue(alive(pid), "the guest died with the agent")
            a.start()
            self.assertIn("re-attached", a.log())
            self.assertEqual(a.proxy().get_vm_status("r1"), "success:status=RUNNING")
            self.assertEqual(a.proxy().pause_vm("r1"), "success")   # QMP works again
            self.assertEqual(a.proxy().destroy_vm("r1"), "success")
            self.assertFalse(alive(pid))
            self.assertEqual(a.stop(), 0)
        finally:
            a.cleanup()


@unittest.skipUnless(os.path.exists(os.path.join(GUEST_DIR, "vmlinuz")),
                     "no test guest image (tests/guest/build.sh build/guest)")
class Linux(QemuCase):
    agent_kw = {"host": HOST, "hypervisor": "qemu",
                "extra": {"guest_stop_timeout": "90", "qemu_accel": ACCEL}}

    def test_clean_acpi_stop_and_reboot(self):
        make(self.agent, "l1", LINUX_CFG % {"name": "l1", "dir": GUEST_DIR,
                                            "kernel": guest_kernel()})
        p = self.p()
        p.start_vm("l1")
        con = Console(self.agent, self.row("l1")["uuid"])
        try:
            con.wait_for("OVS-GUEST READY", 90)
            self.assertEqual(p.reboot_vm("l1"), "success")      # Ctrl-Alt-Del
            con.wait_for("OVS-GUEST READY", 90, count=2)
            # Suspended and resumed, the same kernel runs on: no third boot.
            self.assertEqual(p.suspend_vm("l1"), "success")
            con.close()
            self.assertEqual(p.resume_vm("l1"), "success")
            con = Console(self.agent, self.row("l1")["uuid"])
            t0 = time.time()
            self.assertEqual(p.stop_vm("l1"), "success")         # the ACPI button
            took = time.time() - t0
            con.wait_for("OVS-GUEST POWERING OFF", 5)
            self.assertNotIn(b"OVS-GUEST READY", con.text)
        finally:
            con.close()
        self.assertLess(took, 80, "the guest did not power itself off")
        self.assertNotIn("powering it off", self.agent.log())
        self.assertEqual(p.get_vm_status("l1"), "success:status=DOWN")


@unittest.skipUnless(os.path.exists(os.path.join(GUEST_DIR, "vmlinuz")),
                     "no test guest image (tests/guest/build.sh build/guest)")
class Migration(unittest.TestCase):
    """Live migration between two agents (127.0.0.2 and 127.0.0.3) that
    share the repository, as servers of a pool share /OVS. They form a pool
    first: the source calls the destination with the pool credential and
    checks its pinned certificate, never with the manager's password (each
    agent has its own here, so only the credential can carry the calls)."""

    def setUp(self):
        self.a = qemu_agent(host="127.0.0.2", extra={"guest_stop_timeout": "60"})
        self.b = qemu_agent(host="127.0.0.3", password="other-secret",
                            extra={"guest_stop_timeout": "60",
                                   "ovs_root": self.a.keys["ovs_root"]})
        make(self.a, "m1", LINUX_CFG % {"name": "m1", "dir": GUEST_DIR, "kernel": guest_kernel()})
        self.a.start()
        self.b.start()
        agentfix.form_pool(self.a, self.b)

    def tearDown(self):
        try:
            self.assertEqual(self.a.stop(), 0)
            self.assertEqual(self.b.stop(), 0)
        finally:
            self.a.cleanup()
            self.b.cleanup()

    def test_live_migration(self):
        pa, pb = self.a.proxy(), self.b.proxy()
        pa.start_vm("m1")
        row = pa.list_vms()[0]
        con = Console(self.a, row["uuid"])
        con.wait_for("OVS-GUEST READY", 90)
        con.close()
        self.assertEqual(pa.xen_migrate_vm("m1", "127.0.0.3:%d" % self.b.port), "success")
        self.assertFalse(alive(int(row["hv_id"])), "the guest still runs at the source")
        self.assertEqual(pa.get_vm_status("m1"), "success:status=DOWN")
        self.assertEqual(pa.list_vms()[0]["host"], "127.0.0.3")
        self.assertEqual(pb.get_vm_status("m1"), "success:status=RUNNING")
        # The same kernel runs on at the destination: it did not boot again,
        # and it still hears its power button.
        con = Console(self.b, row["uuid"])
        try:
            self.assertEqual(pb.stop_vm("m1"), "success")
            con.wait_for("OVS-GUEST POWERING OFF", 10)
            self.assertNotIn(b"OVS-GUEST READY", con.text)
        finally:
            con.close()
        self.assertEqual(pb.get_vm_status("m1"), "success:status=DOWN")

    def test_unreachable_destination_leaves_the_guest_running(self):
        pa = self.a.proxy()
        pa.start_vm("m1")
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            pa.xen_migrate_vm("m1", "127.0.0.3:%d" % agentfix.free_port("127.0.0.3"))
        self.assertEqual(cm.exception.faultCode, 1400, cm.exception.faultString)
        self.assertEqual(pa.get_vm_status("m1"), "success:status=RUNNING")
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            pa.xen_migrate_vm("m1", "not-an-address")
        self.assertEqual(cm.exception.faultCode, 1000)
        # only to a server of the pool
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            pa.xen_migrate_vm("m1", "127.0.0.4:%d" % self.b.port)
        self.assertEqual(cm.exception.faultCode, 1001, cm.exception.faultString)
        self.assertEqual(pa.get_vm_status("m1"), "success:status=RUNNING")
        self.assertEqual(pa.destroy_vm("m1"), "success")


if __name__ == "__main__":
    main()
