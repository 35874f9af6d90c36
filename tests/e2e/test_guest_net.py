"""test_guest_net.py - QEMU guests with NICs for real, in network namespaces
this test makes (ovs8-gn-<pid>...), deleted at the end pass or fail.

The agent runs inside namespace NS (`ip netns exec`), which holds the
bridge xenbr0 (10.80.0.1/24, the host's side) and its uplink eth0, a veth
whose other end is in namespace FAR (10.80.0.100). The test process itself
enters NS to talk to the agent (127.0.0.1) and to the guests. Test guests
(tests/guest: eth0 from ovs.ip= on the kernel command line, TCP services
7001 discard, 7002 source, 7003 count, 7004 echo, 7005 ping) get:
  - taps named vif<uuid>.<n> on xenbr0, a MAC written into vm.cfg, models
    e1000, virtio and rtl8139: two guests ping each other, one reaches FAR;
  - QoS: rate=8Mb/s limits what a guest sends, a vif_other_config tbef of
    8mbit what it receives; the bytes through its tap in 5 s of a steady TCP
    stream are within 15 % of the rate, and a guest without QoS moves far
    more (both figures are printed);
  - disk_other_config ionice: prio 7 and 0 on two virtio disks, each on its
    own iothread, and 3 on an IDE disk (QEMU's main thread): ioprio_get on
    those threads shows them;
  - a missing bridge is fault 1004 before QEMU starts;
  - stop removes the taps and the ifb QoS made, also after an agent restart;
  - live migration to an agent in another namespace: the taps are made
    there before the guest arrives, and it answers there.
Every guest is ended by pid at the end (agentfix.kill_guests) if the test
did not destroy it.

Run (root): python3 tests/e2e/test_guest_net.py
OVS_GUEST_DIR names another test guest build (default build/guest).
"""

import ctypes
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from hostfix import setns  # noqa: E402
from tap import main  # noqa: E402

socket.setdefaulttimeout(180)
GUEST_DIR = os.environ.get("OVS_GUEST_DIR", os.path.join(REPO, "build", "guest"))
HOOKS_DIR = os.environ.get("OVS_HOOKS_DIR", os.path.join(REPO, "hooks"))
QEMU = os.environ.get("OVS_AGENT_QEMU", "/usr/bin/qemu-system-x86_64")
NS = "ovs8-gn-%d" % os.getpid()
FAR = NS + "-far"
NS2 = NS + "-b"
CLONE_NEWNET = 0x40000000
RATE = 1000000          # 8Mb/s, 8mbit: bytes per second
SECONDS = 5

LIBC = ctypes.CDLL(None, use_errno=True)

GUEST_CFG = """name = '%(name)s'
memory = 128
vcpus = 1
kernel = '%(kernel)s'
ramdisk = '%(dir)s/initrd.img'
extra = 'console=ttyS0 quiet panic=-1 ovs.ip=%(ip)s/24'
vnc = 0
vif = [ %(vif)s ]
"""


def guest_kernel():
    kernel = os.path.join(GUEST_DIR, "vmlinux")
    return kernel if os.path.exists(kernel) else os.path.join(GUEST_DIR, "vmlinuz")


def why_not():
    """Why this test cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, taps)"
    if not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        return "no /dev/net/tun"
    if not os.access(QEMU, os.X_OK):
        return "no " + QEMU
    if not shutil.which("ip"):
        return "no ip (iproute2)"
    if not os.access(os.path.join(HOOKS_DIR, "vif-bridge"), os.X_OK):
        return "no hooks/vif-bridge"
    try:
        with gzip.open(os.path.join(GUEST_DIR, "initrd.img")) as f:
            if b"ovs.ip=" not in f.read():
                return "the test guest has no networking (tests/guest/build.sh build/guest)"
    except OSError:
        return "no test guest image (tests/guest/build.sh build/guest)"
    return None


WHY_NOT = why_not()


def run(*argv, ns=None, check=True):
    if ns:
        argv = ("ip", "netns", "exec", ns) + argv
    return subprocess.run(argv, check=check, capture_output=True, timeout=60, text=True)


def links(ns):
    """{name: master or ""} of the namespace's links."""
    out = {}
    for line in run("ip", "-o", "link", "show", ns=ns).stdout.splitlines():
        name = line.split(": ", 2)[1].split("@")[0]
        words = line.split()
        out[name] = words[words.index("master") + 1] if "master" in words else ""
    return out


def make_guest(agent, name, ip, vif, more=""):
    d = os.path.join(agent.keys["ovs_root"], "running_pool", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "vm.cfg"), "w") as f:
        f.write(GUEST_CFG % {"name": name, "kernel": guest_kernel(), "dir": GUEST_DIR,
                             "ip": ip, "vif": vif} + more)
    return d


def wait_net(ip, timeout=150):
    """Until the guest at ip answers on its echo service (its /init says
    NET on the console once its services listen, but a console's output
    before anyone reads it is lost)."""
    deadline = time.time() + timeout
    while True:
        try:
            if service(ip, 7004, b"up", timeout=2) == "up":
                return
        except OSError:
            pass
        if time.time() > deadline:
            raise AssertionError("the guest at %s never answered" % ip)
        time.sleep(0.5)


def cpu_ticks(pid, comm):
    """utime + stime of the process's thread named comm."""
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() != comm:
                continue
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    raise AssertionError("no thread %r in %d" % (comm, pid))


def service(ip, port, send=b"", timeout=20):
    """One short exchange with a guest's service: the whole answer."""
    with socket.create_connection((ip, port), timeout=timeout) as s:
        s.sendall(send)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out.decode(errors="replace")
            out += chunk


def guest_pings(ip, target):
    """The guest at ip pings target (its service 7005): "ok TARGET"."""
    for _ in range(3):  # the first ARP may be lost while a bridge port learns
        answer = service(ip, 7005, (target + "\n").encode()).strip()
        if answer.startswith("ok"):
            return answer
    return answer


def tap_bytes(tap, direction):
    """The tap's byte counter: "rx" is what the guest sent, "tx" what it
    was sent (frames, headers included: what the shapers count)."""
    out = run("ip", "-j", "-s", "link", "show", "dev", tap, ns=NS).stdout
    return json.loads(out)[0]["stats64"][direction]["bytes"]


def stream(ip, port, sending, stop):
    """Keep a TCP stream to the guest's service busy until stop is set (at
    most 30 s): send to it, or read what it sends."""
    try:
        with socket.create_connection((ip, port), timeout=20) as s:
            buf, end = b"\0" * 65536, time.time() + 30
            while not stop.is_set() and time.time() < end:
                if sending:
                    s.sendall(buf)
                elif not s.recv(65536):
                    return
    except OSError:
        pass  # the measurement says what got through


def rate_over(tap, ip, guest_sends):
    """Bytes through the guest's tap in SECONDS of a steady stream: the
    guest's source service (7002) when guest_sends, else its discard
    service (7001); the stream runs a second before the window opens, so
    the service's start-up under TCG is not counted."""
    direction = "rx" if guest_sends else "tx"
    stop = threading.Event()
    t = threading.Thread(target=stream, args=(ip, 7002 if guest_sends else 7001,
                                              not guest_sends, stop))
    t.start()
    try:
        time.sleep(1.5)
        before, t0 = tap_bytes(tap, direction), time.time()
        time.sleep(SECONDS)
        after, t1 = tap_bytes(tap, direction), time.time()
    finally:
        stop.set()
        t.join(40)
    return (after - before) * SECONDS / (t1 - t0)


def ioprio_get(tid):
    nr = 252  # x86_64 ioprio_get
    v = LIBC.syscall(nr, 1, tid)  # IOPRIO_WHO_PROCESS
    if v < 0:
        raise OSError(ctypes.get_errno(), "ioprio_get %d" % tid)
    return (v >> 13, v & 0xff)


def threads(pid):
    """{comm: tid} of a process's threads."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            out[f.read().strip()] = int(tid)
    return out


def make_ns(ns):
    run("ip", "netns", "add", ns)
    run("ip", "link", "set", "lo", "up", ns=ns)


def make_bridge(ns):
    run("ip", "link", "add", "xenbr0", "type", "bridge", ns=ns)
    run("ip", "addr", "add", "10.80.0.1/24", "dev", "xenbr0", ns=ns)
    run("ip", "link", "set", "xenbr0", "up", ns=ns)


def delete_ns(ns):
    run("ip", "netns", "delete", ns, check=False)


class NetCase(agentfix.FaultAssertions, unittest.TestCase):
    """Namespaces and the test process's place in them, for one class."""
    namespaces = ()

    @classmethod
    def enter(cls, ns):
        if not hasattr(cls, "home"):
            cls.home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            cls.addClassCleanup(cls.leave)
        setns("/run/netns/" + ns)

    @classmethod
    def leave(cls):
        if LIBC.setns(cls.home, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns back")
        os.close(cls.home)
        del cls.home

    @classmethod
    def make_namespaces(cls, *names):
        for ns in names:
            cls.addClassCleanup(delete_ns, ns)
            make_ns(ns)

    @classmethod
    def agent(cls, ns, host, **extra):
        keys = {"qemu_accel": "tcg", "hooks_dir": HOOKS_DIR, "guest_stop_timeout": "10"}
        keys.update(extra)
        # The port is picked here, in the test's namespace: any is free in
        # a namespace just made.
        a = agentfix.Agent(host=host, port=agentfix.free_port("127.0.0.1"), hypervisor="qemu",
                           netns=ns, extra=keys)
        cls.addClassCleanup(cls.end_agent, a)
        a.start()
        return a

    @classmethod
    def end_agent(cls, a):
        try:
            rc = a.stop()
            if rc != 0:
                raise AssertionError("agent exited with status %d\n%s" % (rc, a.stderr()))
        finally:
            a.cleanup()  # guests it left are ended by pid (and reported)

    @staticmethod
    def uuid(p, name):
        return [r for r in p.list_vms() if r.get("name") == name][0]["uuid"]

    @staticmethod
    def pid(p, name):
        return int([r for r in p.list_vms() if r.get("name") == name][0]["hv_id"])


@unittest.skipIf(WHY_NOT, WHY_NOT)
class Guests(NetCase):
    @classmethod
    def setUpClass(cls):
        cls.make_namespaces(NS, FAR)
        make_bridge(NS)
        run("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "far0", "netns", FAR,
            ns=NS)
        run("ip", "link", "set", "eth0", "master", "xenbr0", "up", ns=NS)
        run("ip", "addr", "add", "10.80.0.100/24", "dev", "far0", ns=FAR)
        run("ip", "link", "set", "far0", "up", ns=FAR)
        cls.enter(NS)
        cls.a = cls.agent(NS, "127.0.0.1")
        cls.p = cls.a.proxy()
        make_guest(cls.a, "ga", "10.80.0.11", "'bridge=xenbr0'")
        make_guest(cls.a, "gb", "10.80.0.12", "'model=virtio'")
        make_guest(cls.a, "gc", "10.80.0.13",
                   "'mac=00:16:3e:00:08:13, bridge=xenbr0, model=rtl8139, rate=8Mb/s'",
                   "vif_other_config = [['00:16:3e:00:08:13', 'tbef', "
                   "'rate=8mbit,latency=50ms']]\n")
        for g in ("ga", "gb", "gc"):
            cls.p.start_vm(g)
        for ip in ("10.80.0.11", "10.80.0.12", "10.80.0.13"):
            wait_net(ip)

    @classmethod
    def tearDownClass(cls):
        for g in ("ga", "gb", "gc", "gd"):
            try:
                cls.p.destroy_vm(g)
            except (xmlrpc.client.Fault, OSError):
                pass

    def test_taps_macs_and_bridge(self):
        ports = links(NS)
        for g in ("ga", "gb", "gc"):
            tap = "vif%s.0" % self.uuid(self.p, g).replace("-", "")[:8]
            self.assertEqual(ports.get(tap), "xenbr0", "%s of %s: %s" % (tap, g, ports))
        # A vif without a MAC got one in vm.cfg, and the guest has it.
        with open(os.path.join(self.a.keys["ovs_root"], "running_pool", "ga", "vm.cfg")) as f:
            text = f.read()
        self.assertRegex(text, r"vif = \['mac=00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}, "
                               r"bridge=xenbr0'\]")
        self.assertRegex(self.p.xen_get_vifs("gb"), r"^success:vif0=00:16:3e:")

    def test_guests_ping_each_other_and_the_far_side(self):
        self.assertEqual(guest_pings("10.80.0.11", "10.80.0.12"), "ok 10.80.0.12")
        self.assertEqual(guest_pings("10.80.0.12", "10.80.0.13"), "ok 10.80.0.13")
        self.assertEqual(guest_pings("10.80.0.13", "10.80.0.11"), "ok 10.80.0.11")
        # beyond the bridge's uplink
        self.assertEqual(guest_pings("10.80.0.11", "10.80.0.100"), "ok 10.80.0.100")
        self.assertEqual(service("10.80.0.12", 7004, b"hello"), "hello")

    def tap(self, name):
        return "vif%s.0" % self.uuid(self.p, name).replace("-", "")[:8]

    def check_rate(self, transmit, what, limited_by):
        """Bytes through the tap of gc (limited) and ga (not) in SECONDS."""
        limited = rate_over(self.tap("gc"), "10.80.0.13", transmit)
        free = rate_over(self.tap("ga"), "10.80.0.11", transmit)
        print("# guest %s in %d s: %s %d bytes (%.2f Mb/s); none %d bytes (%.2f Mb/s)"
              % (what, SECONDS, limited_by, limited, limited * 8 / SECONDS / 1e6, free,
                 free * 8 / SECONDS / 1e6), flush=True)
        self.assertLess(abs(limited - RATE * SECONDS), 0.15 * RATE * SECONDS, limited)
        self.assertGreater(free, 2 * limited)

    def test_transmit_rate(self):
        self.check_rate(True, "transmit", "rate=8Mb/s")

    def test_receive_rate(self):
        self.check_rate(False, "receive", "tbef 8mbit")

    def test_ionice_on_iothreads(self):
        d = make_guest(self.a, "gd", "10.80.0.14", "",
                       "disk = [ 'file:%(d)s/a.img,xvda,w', 'file:%(d)s/b.img,xvdb,w', "
                       "'file:%(d)s/c.img,hda,w' ]\n"
                       "disk_other_config = [['xvda', 'ionice', 'sched=best-effort,prio=7'], "
                       "['xvdb', 'ionice', 'sched=best-effort,prio=0'], "
                       "['hda', 'ionice', 'prio=3']]\n"
                       % {"d": os.path.join(self.a.keys["ovs_root"], "running_pool", "gd")})
        for img in ("a.img", "b.img", "c.img"):
            with open(os.path.join(d, img), "wb") as f:
                f.truncate(16 << 20)
        self.p.start_vm("gd")
        try:
            pid = self.pid(self.p, "gd")
            t = threads(pid)
            self.assertEqual(ioprio_get(t["IO io-vda"]), (2, 7))
            self.assertEqual(ioprio_get(t["IO io-vdb"]), (2, 0))
            self.assertEqual(ioprio_get(pid), (2, 3))  # QEMU's main thread: IDE
            # and it runs: -S, then cont after the priorities (its vCPU works)
            self.assertEqual(self.p.get_vm_status("gd"), "success:status=RUNNING")
            before = cpu_ticks(pid, "CPU 0/TCG")
            time.sleep(1)
            self.assertGreater(cpu_ticks(pid, "CPU 0/TCG"), before)
        finally:
            self.p.destroy_vm("gd")

    def test_missing_bridge_is_a_fault_before_qemu(self):
        make_guest(self.a, "gf", "10.80.0.15", "'bridge=xenbr9'")
        before = set(links(NS))
        msg = self.fault(1004, self.p.start_vm, "gf")
        self.assertIn("bridge xenbr9 does not exist", msg)
        self.assertRegex(msg, r"gf/vm.cfg:8: vif item 1")
        self.assertEqual(set(links(NS)), before)
        self.assertEqual(self.p.get_vm_status("gf"), "success:status=DOWN")

    def hook_events(self, guest, want):
        """The events vif-bridge ran for guest with success, once want is
        among them (or after 10 s); {want} when the runner keeps no records
        (list_hook_runs)."""
        if "list_hook_runs" not in self.p.system.listMethods():
            return {want}
        deadline, seen = time.time() + 10, set()
        while time.time() < deadline and want not in seen:
            seen = {r["event"] for r in self.p.list_hook_runs(200)
                    if r["hook"].endswith("vif-bridge") and r["guest"] == guest and
                    r["exit_status"] == 0}
            time.sleep(0.2)
        return seen

    def test_stop_takes_the_taps_and_ifb_away(self):
        make_guest(self.a, "ge", "10.80.0.16", "'rate=1MB/s@20ms'")
        self.p.start_vm("ge")
        tap = "vif%s.0" % self.uuid(self.p, "ge").replace("-", "")[:8]
        ifb = "ifb" + tap[3:]
        ports = links(NS)
        self.assertEqual(ports.get(tap), "xenbr0")
        self.assertIn(ifb, ports)
        self.assertEqual(self.hook_events("ge", "online"), {"online"})
        # An agent restarted meanwhile still knows what to undo.
        self.assertEqual(self.a.stop(), 0)
        self.a.start()
        type(self).p = self.a.proxy()  # the old one's connection went with the agent
        self.assertEqual(self.p.destroy_vm("ge"), "success")
        deadline = time.time() + 10
        while time.time() < deadline and (tap in links(NS) or ifb in links(NS)):
            time.sleep(0.1)
        self.assertNotIn(tap, links(NS))
        self.assertNotIn(ifb, links(NS))
        self.assertEqual(self.hook_events("ge", "offline"), {"offline"})


@unittest.skipIf(WHY_NOT, WHY_NOT)
class Migration(NetCase):
    """Two agents in two namespaces (two hosts), each with its xenbr0,
    linked by a veth for the agents' and QEMU's traffic, sharing /OVS."""

    @classmethod
    def setUpClass(cls):
        cls.make_namespaces(NS, NS2)
        make_bridge(NS)
        make_bridge(NS2)
        run("ip", "link", "add", "mig0", "type", "veth", "peer", "name", "mig1", "netns", NS2,
            ns=NS)
        run("ip", "addr", "add", "10.81.0.1/24", "dev", "mig0", ns=NS)
        run("ip", "link", "set", "mig0", "up", ns=NS)
        run("ip", "addr", "add", "10.81.0.2/24", "dev", "mig1", ns=NS2)
        run("ip", "link", "set", "mig1", "up", ns=NS2)
        cls.enter(NS)
        cls.a = cls.agent(NS, "10.81.0.1")
        cls.b = cls.agent(NS2, "10.81.0.2", ovs_root=cls.a.keys["ovs_root"])
        agentfix.form_pool(cls.a, cls.b)   # migration goes to pool members only

    def test_taps_are_made_at_the_destination(self):
        pa, pb = self.a.proxy(), self.b.proxy()
        make_guest(self.a, "gm", "10.80.0.21", "'bridge=xenbr0, model=virtio'")
        pa.start_vm("gm")
        try:
            uuid = self.uuid(pa, "gm")
            tap = "vif%s.0" % uuid.replace("-", "")[:8]
            wait_net("10.80.0.21")
            self.assertEqual(links(NS).get(tap), "xenbr0")
            self.assertEqual(pa.xen_migrate_vm("gm", "10.81.0.2:%d" % self.b.port), "success")
            self.assertEqual(pb.get_vm_status("gm"), "success:status=RUNNING")
            self.assertEqual(links(NS2).get(tap), "xenbr0")
            self.assertNotIn(tap, links(NS))
            # The guest answers on the destination's bridge.
            out = run("python3", "-c", "import socket; s = socket.create_connection("
                      "('10.80.0.21', 7004), timeout=20); s.sendall(b'moved'); "
                      "s.shutdown(socket.SHUT_WR); print(s.recv(100).decode())", ns=NS2)
            self.assertEqual(out.stdout.strip(), "moved")
        finally:
            for p in (pb, pa):
                try:
                    p.destroy_vm("gm")
                except xmlrpc.client.Fault:
                    pass


if __name__ == "__main__":
    main()
