"""test_vmcfg_methods.py - the vm.cfg getters and setters end to end on the
simulated hypervisor: xen_get_vm_type, xen_get/set_vcpus, xen_get/set_memory,
xen_get_vdisks, xen_add_disk, xen_get/set_vifs, xen_set_vm_vnc_password,
xen_config_boot_sequence, xen_change_vm_cdrom, xen_get_vm_path and
xen_get_vnc_port; comments kept in vm.cfg, and every error class.

Run: python3 tests/e2e/test_vmcfg_methods.py [test_name...]
"""

import os
import socket
import subprocess
import sys
import threading
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from agentfix import binary  # noqa: E402
from tap import main  # noqa: E402
from test_guests_sim import make_guest  # noqa: E402

socket.setdefaulttimeout(20)
HOST = "127.0.0.3"

# Every method: name and the arguments after the guest, all valid.
GETTERS = ["xen_get_vm_type", "xen_get_vcpus", "xen_get_memory", "xen_get_vdisks",
           "xen_get_vifs"]
SETTERS = [("xen_set_vcpus", (2,)), ("xen_set_memory", (512,)),
           ("xen_add_disk", ("phy:/dev/mapper/x,hdd,w",)),
           ("xen_set_vifs", (["bridge=xenbr0"],)), ("xen_set_vm_vnc_password", ("pw",)),
           ("xen_config_boot_sequence", ("cd",)), ("xen_change_vm_cdrom", ("",))]
DB_METHODS = ["xen_get_vm_path", "xen_get_vnc_port"]

COMMENTED = """# Guest for the comment test
#   edited by hand, keep me
name = '%(name)s'
memory = 256   # MB, raised for the database
vcpus = 1

# disks
disk = [ 'file:%(dir)s/system.img,hda,w',
         # the installer
         ',hdc:cdrom,r',
       ]
vif = [ 'type=ioemu, bridge=xenbr0' ]   # one NIC
builder = 'hvm'
on_crash = 'restart'
"""


class VmcfgCase(agentfix.AgentCase):
    agent_kw = {"host": HOST}

    def rpc(self):
        return self.agent.proxy()

    def call(self, method, *args):
        return getattr(self.rpc(), method)(*args)

    def fault(self, code, method, *args):
        with self.assertRaises(xmlrpc.client.Fault, msg="%s%r" % (method, args)) as cm:
            self.call(method, *args)
        self.assertEqual(cm.exception.faultCode, code,
                         "%s%r: %s" % (method, args, cm.exception.faultString))
        return cm.exception.faultString

    def root(self):
        return self.agent.keys["ovs_root"]

    def cfg(self, d):
        with open(os.path.join(d, "vm.cfg")) as f:
            return f.read()

    def guest(self, name, text=None, **kw):
        d = os.path.join(self.root(), "running_pool", name)
        if text is not None:
            text = text % {"name": name, "dir": d}
        return make_guest(self.agent, name, text=text, **kw)

    def file_in(self, *parts, data=b"\0" * 512):
        p = os.path.join(self.root(), *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return p


class Getters(VmcfgCase):
    def test_vm_type(self):
        d = self.guest("t1")
        self.assertEqual(self.call("xen_get_vm_type", "t1"), "success:type=hvm")
        self.assertEqual(self.call("xen_get_vm_type", d), "success:type=hvm")
        self.guest("t2", text="name = 't2'\nmemory = 128\nbootloader = '/usr/bin/pygrub'\n")
        self.assertEqual(self.call("xen_get_vm_type", "t2"), "success:type=pv")

    def test_vcpus(self):
        self.guest("c1")
        self.assertEqual(self.call("xen_get_vcpus", "c1"), "success:vcpus=1")
        self.guest("c2", text="name = 'c2'\nmemory = 128\n")
        self.assertEqual(self.call("xen_get_vcpus", "c2"), "success:vcpus=1")  # xm's default
        self.guest("c3", text="name = 'c3'\nmemory = 128\nvcpus = '4'\n")
        self.assertEqual(self.call("xen_get_vcpus", "c3"), "success:vcpus=4")

    def test_memory(self):
        self.guest("m1")
        self.assertEqual(self.call("xen_get_memory", "m1"), "success:memory=256")
        self.guest("m2", text="name = 'm2'\nmemory = '512'\nmaxmem = 1024\n")
        self.assertEqual(self.call("xen_get_memory", "m2"), "success:memory=512;maxmem=1024")
        self.guest("m3", text="name = 'm3'\nvcpus = 1\n")
        msg = self.fault(1000, "xen_get_memory", "m3")
        self.assertIn("no memory", msg)

    def test_vdisks(self):
        d = self.guest("d1", text="name = '%(name)s'\nmemory = 64\n"
                       "disk = ['file:%(dir)s/system.img,hda,w', 'phy:/dev/vg/x, xvdb ,w!',\n"
                       "        'tap:aio:%(dir)s/b.img,hdb,r', "
                       "'file:/OVS/iso_pool/x.iso,hdc:cdrom,r', ',hdd:cdrom,r']\n")
        self.assertEqual(self.call("xen_get_vdisks", "d1"),
                         "success:vdisk0=file:%s/system.img,hda,w;vdisk1=phy:/dev/vg/x,xvdb,w!;"
                         "vdisk2=tap:aio:%s/b.img,hdb,r;vdisk3=file:/OVS/iso_pool/x.iso,hdc:cdrom,r;"
                         "vdisk4=,hdd:cdrom,r" % (d, d))
        self.guest("d2", text="name = 'd2'\nmemory = 64\n")
        self.assertEqual(self.call("xen_get_vdisks", "d2"), "success")

    def test_vifs(self):
        self.guest("v1")
        self.assertEqual(self.call("xen_get_vifs", "v1"), "success:vif0=,xenbr0,ioemu")
        self.guest("v2", text="name = 'v2'\nmemory = 64\nvif = ['mac=00:16:3E:73:A3:27, "
                   "bridge=xenbr1', 'bridge=xenbr0,type=netfront, model=e1000', '']\n")
        self.assertEqual(self.call("xen_get_vifs", "v2"),
                         "success:vif0=00:16:3e:73:a3:27,xenbr1,;vif1=,xenbr0,netfront;vif2=,,")
        self.guest("v3", text="name = 'v3'\nmemory = 64\n")
        self.assertEqual(self.call("xen_get_vifs", "v3"), "success")

    def test_vm_path(self):
        d = self.guest("p1")
        self.fault(1001, "xen_get_vm_path", "p1")   # not registered yet
        self.rpc().register_vm("p1")
        self.assertEqual(self.call("xen_get_vm_path", "p1"), "success:vm_path=%s" % d)
        self.assertEqual(self.call("xen_get_vm_path", d + "/"), "success:vm_path=%s" % d)

    def test_vnc_port(self):
        d = self.guest("n1")
        self.fault(1001, "xen_get_vnc_port", "n1")
        self.rpc().register_vm("n1")
        msg = self.fault(1004, "xen_get_vnc_port", "n1")
        self.assertIn("DOWN", msg)
        self.rpc().start_vm("n1")
        out = self.call("xen_get_vnc_port", "n1")
        self.assertTrue(out.startswith("success:vnc_port="), out)
        self.assertGreaterEqual(int(out.split("=")[1]), 5900)
        self.rpc().pause_vm("n1")
        self.assertEqual(self.call("xen_get_vnc_port", d), out)
        self.rpc().unpause_vm("n1")
        if os.path.exists(binary("db_kfv")):
            # A guest without a console (the sim always gives one: fake it).
            subprocess.run([binary("db_kfv"), "--config", self.agent.ini, "--", "vm", "n1",
                            "vnc_port", "-1"], check=True, capture_output=True, timeout=20)
            msg = self.fault(1001, "xen_get_vnc_port", "n1")
            self.assertIn("no VNC", msg)
        self.rpc().stop_vm("n1")
        self.fault(1004, "xen_get_vnc_port", "n1")

    def test_vnc_port_with_vnc_0(self):
        """vnc=0 means no VNC console, even beside a vfb that asks for one."""
        for name, extra in (("nv1", "vnc = 0\n"),
                            ("nv2", "vnc = '0'\nvfb = ['type=vnc,vncunused=1']\n"),
                            ("nv3", "vnc = 0\nvncunused = 0\nvncdisplay = 3\n")):
            with self.subTest(vm_cfg=extra):
                self.guest(name, text="name = '%(name)s'\nmemory = 64\nbuilder = 'hvm'\n" + extra)
                self.rpc().register_vm(name)
                self.rpc().start_vm(name)
                msg = self.fault(1001, "xen_get_vnc_port", name)
                self.assertIn("no VNC console", msg)
                self.rpc().stop_vm(name)
        # vnc = 1 beside them still gets its own
        self.guest("nv4", text="name = '%(name)s'\nmemory = 64\nbuilder = 'hvm'\nvnc = 1\n")
        self.rpc().register_vm("nv4")
        self.rpc().start_vm("nv4")
        self.assertTrue(self.call("xen_get_vnc_port", "nv4").startswith("success:vnc_port="))
        self.rpc().stop_vm("nv4")

    def test_qos_refused_at_start(self):
        """An ionice prio outside 0-7 or an unknown vif QoS algorithm: the
        start is refused with vm.cfg's file and line, the guest stays DOWN."""
        for name, text, needle in (
                ("q1", "name = '%(name)s'\nmemory = 64\ndisk_other_config = "
                 "[['hda', 'ionice', 'sched=best-effort,prio=8']]\n",
                 "vm.cfg:3: disk_other_config item 1: hda: ionice prio '8' is outside 0-7"),
                ("q2", "name = '%(name)s'\nmemory = 64\n\nvif_other_config = "
                 "[['00:16:3e:31:d5:4b', 'sfq', 'rate=8mbit']]\n",
                 "vm.cfg:4: vif_other_config item 1: 00:16:3e:31:d5:4b: unknown QoS "
                 "algorithm 'sfq'")):
            with self.subTest(guest=name):
                d = self.guest(name, text=text)
                msg = self.fault(1000, "start_vm", name)
                self.assertIn(os.path.join(d, needle), msg)
        ok = self.guest("q3", text="name = '%(name)s'\nmemory = 64\ndisk_other_config = "
                        "[['hda', 'ionice', 'sched=best-effort,prio=7']]\nvif_other_config = "
                        "[['00:16:3e:31:d5:4b', 'tbef', 'rate=8mbit,latency=50ms']]\n")
        self.assertEqual(self.call("start_vm", ok), "success:ip=%s" % HOST)
        self.assertEqual(self.call("destroy_vm", ok), "success")


class Setters(VmcfgCase):
    def test_set_vcpus(self):
        d = self.guest("sc1")
        self.assertEqual(self.call("xen_set_vcpus", "sc1", 4), "success")
        self.assertEqual(self.call("xen_get_vcpus", "sc1"), "success:vcpus=4")
        self.assertEqual(self.call("xen_set_vcpus", d, "2"), "success")   # a string works too
        self.assertEqual(self.call("xen_get_vcpus", "sc1"), "success:vcpus=2")
        self.assertIn("vcpus = 2\n", self.cfg(d))
        # one number rule for every method: digits only, no spaces, sign or 0x
        for bad in (0, 513, -1, "two", "", "3x", "2 ", " 2", "+2", "0x2"):
            msg = self.fault(1000, "xen_set_vcpus", "sc1", bad)
            self.assertIn("1 to 512", msg)
        self.assertIn("got '2 '", self.fault(1000, "xen_set_vcpus", "sc1", "2 "))
        self.assertEqual(self.call("xen_get_vcpus", "sc1"), "success:vcpus=2")
        self.guest("sc2", text="name = 'sc2'\nmemory = 64\nvcpus = 1\nmaxvcpus = 2\n")
        self.call("xen_set_vcpus", "sc2", 8)
        self.assertIn("maxvcpus = 8\n", self.cfg(os.path.join(self.root(), "running_pool", "sc2")))

    def test_set_memory(self):
        d = self.guest("sm1", text="name = 'sm1'\nmemory = 256\nmaxmem = 512\n")
        self.assertEqual(self.call("xen_set_memory", "sm1", 384), "success")
        self.assertEqual(self.call("xen_get_memory", "sm1"), "success:memory=384;maxmem=512")
        self.assertEqual(self.call("xen_set_memory", "sm1", "1024"), "success")
        # maxmem never stays below memory
        self.assertEqual(self.call("xen_get_memory", "sm1"), "success:memory=1024;maxmem=1024")
        self.call("xen_set_memory", "sm1", 128)
        self.assertEqual(self.call("xen_get_memory", "sm1"), "success:memory=128;maxmem=1024")
        for bad in (0, 8, -5, "lots", 1.5, "512 ", "+512", "0x200"):
            code = -32602 if isinstance(bad, float) else 1000
            self.fault(code, "xen_set_memory", "sm1", bad)
        self.assertIn("memory = 128\n", self.cfg(d))
        self.guest("sm2")
        self.call("xen_set_memory", "sm2", 2048)
        self.assertEqual(self.call("xen_get_memory", "sm2"), "success:memory=2048")

    def test_add_disk(self):
        d = self.guest("a1")
        img = self.file_in("running_pool", "a1", "data.img")
        self.assertEqual(self.call("xen_add_disk", "a1", "file:%s,hdb,w" % img), "success")
        self.assertEqual(self.call("xen_get_vdisks", "a1"),
                         "success:vdisk0=file:%s/system.img,hda,w;vdisk1=file:%s,hdb,w" % (d, img))
        # a shared image elsewhere in the repository, by tap:aio
        shared = self.file_in("sharedDisk", "shared.img")
        self.assertEqual(self.call("xen_add_disk", "a1", "tap:aio:%s,xvdc,w!" % shared), "success")
        # phy: devices under /dev/, existing here or not
        self.assertEqual(self.call("xen_add_disk", "a1", "phy:/dev/mapper/nosuch-lun,hdd,w"),
                         "success")
        self.assertEqual(self.call("xen_add_disk", "a1", "phy:/dev/null,xvde,r"), "success")
        # a cdrom drive can be added too
        iso = self.file_in("iso_pool", "a1.iso")
        self.assertEqual(self.call("xen_add_disk", "a1", "file:%s,hdc:cdrom,r" % iso), "success")
        out = self.call("xen_get_vdisks", "a1")
        self.assertTrue(out.endswith(";vdisk5=file:%s,hdc:cdrom,r" % iso), out)
        text = self.cfg(d)
        self.assertIn("'file:%s,hdb,w'" % img, text)
        self.assertIn("'tap:aio:%s,xvdc,w!'" % shared, text)

    def test_add_disk_refused(self):
        d = self.guest("a2")
        img = self.file_in("running_pool", "a2", "data.img")
        other = self.file_in("running_pool", "a2", "other.img")
        before = self.cfg(d)
        # the device name is taken (1002), the image already attached (1002)
        msg = self.fault(1002, "xen_add_disk", "a2", "file:%s,hda,w" % img)
        self.assertIn("hda", msg)
        self.fault(1002, "xen_add_disk", "a2", "file:%s/system.img,hdb,w" % d)
        self.fault(1002, "xen_add_disk", "a2", "file:%s/system.img,hdc:cdrom,r" % d)
        # outside the repository root (1006)
        self.fault(1006, "xen_add_disk", "a2", "file:/etc/passwd,hdb,w")
        outside = os.path.join(self.agent.dir, "outside.img")
        open(outside, "w").close()
        self.fault(1006, "xen_add_disk", "a2", "file:%s,hdb,w" % outside)
        link = os.path.join(d, "link.img")
        os.symlink(outside, link)
        msg = self.fault(1006, "xen_add_disk", "a2", "file:%s,hdb,w" % link)
        self.assertIn("outside", msg)
        self.fault(1006, "xen_add_disk", "a2", "file:%s/../a2/data.img,hdb,w" % d)
        self.fault(1006, "xen_add_disk", "a2", "phy:/etc/passwd,hdb,w")
        self.fault(1006, "xen_add_disk", "a2", "phy:/dev/../etc/passwd,hdb,w")
        # missing image (1001), malformed items and unknown kinds (1000)
        msg = self.fault(1001, "xen_add_disk", "a2", "file:%s/nosuch.img,hdb,w" % d)
        self.assertIn("does not exist", msg)
        for bad in ("", "garbage", "file:%s,hdb" % img, "file:%s,hdb,rw" % img,
                    "file:%s,1db,w" % img, "file:relative.img,hdb,w", "nbd:%s,hdb,w" % img,
                    ",hdb,w", "file:%s,hdb,w" % os.path.join(d)):
            self.fault(1000, "xen_add_disk", "a2", bad)
        self.assertEqual(self.cfg(d), before)     # nothing written on refusal
        self.assertEqual(self.call("xen_add_disk", "a2", "file:%s,hdb,w" % other), "success")

    def test_set_vifs(self):
        d = self.guest("f1")
        self.assertEqual(self.call("xen_set_vifs", "f1", [
            "mac=00:16:3E:00:00:01, bridge=xenbr0, type=ioemu, model=e1000",
            "bridge=xenbr1, rate=10Mb/s@50ms"]), "success")
        self.assertEqual(self.call("xen_get_vifs", "f1"),
                         "success:vif0=00:16:3e:00:00:01,xenbr0,ioemu;vif1=,xenbr1,")
        self.assertIn("'mac=00:16:3e:00:00:01, bridge=xenbr0, type=ioemu, model=e1000'",
                      self.cfg(d))
        before = self.cfg(d)
        self.fault(1000, "xen_set_vifs", "f1", ["mac=nonsense"])
        self.fault(1000, "xen_set_vifs", "f1", ["bridge=xenbr0", "colour=blue"])
        msg = self.fault(1000, "xen_set_vifs", "f1", ["mac=00:16:3e:00:00:02",
                                                      "mac=00:16:3E:00:00:02, bridge=x"])
        self.assertIn("same MAC", msg)
        self.fault(1000, "xen_set_vifs", "f1", ["bridge=xenbr0", 7])
        self.fault(-32602, "xen_set_vifs", "f1", "bridge=xenbr0")
        self.assertEqual(self.cfg(d), before)
        self.assertEqual(self.call("xen_set_vifs", "f1", []), "success")
        self.assertEqual(self.call("xen_get_vifs", "f1"), "success")

    def test_set_vifs_bounds(self):
        """At most 256 vifs, counted before anything else; duplicate MACs
        found by sorting report the pair a reader meets first."""
        d = self.guest("f2")
        before = self.cfg(d)

        def vif(i, bridge="xenbr0"):
            return "mac=00:16:3e:%02x:%02x:%02x, bridge=%s" % (i >> 16, (i >> 8) & 255, i & 255,
                                                                bridge)
        msg = self.fault(1000, "xen_set_vifs", "f2", [vif(i) for i in range(257)])
        self.assertIn("at most 256 vifs", msg)
        # 45,000 distinct MACs (the 2.4 MB request): refused by count
        t = time.monotonic()
        msg = self.fault(1000, "xen_set_vifs", "f2", [vif(i) for i in range(45000)])
        self.assertIn("45000 vifs given; a guest has at most 256 vifs", msg)
        self.assertLess(time.monotonic() - t, 10)
        # the count is checked before the items' types and texts
        self.assertIn("at most 256 vifs", self.fault(1000, "xen_set_vifs", "f2", [7] * 300))
        self.assertEqual(self.cfg(d), before)
        # duplicates: the lowest pair in reading order, however far apart
        vifs = [vif(i) for i in range(256)]
        vifs[255] = "mac=00:16:3E:00:00:03, bridge=xenbr1"   # the same MAC, upper case
        msg = self.fault(1000, "xen_set_vifs", "f2", vifs)
        self.assertIn("vif 3 and vif 255 have the same MAC address 00:16:3e:00:00:03; each "
                      "needs its own", msg)
        vifs[200] = vif(100)
        msg = self.fault(1000, "xen_set_vifs", "f2", vifs)
        self.assertIn("vif 100 and vif 200 have the same MAC", msg)
        # an error before the first duplicate is the one reported, and after it not
        msg = self.fault(1000, "xen_set_vifs", "f2", [vif(1), "mac=nonsense", vif(1)])
        self.assertIn("vif 1: ", msg)
        msg = self.fault(1000, "xen_set_vifs", "f2", [vif(1), vif(1), "mac=nonsense"])
        self.assertIn("vif 0 and vif 1", msg)
        # vifs without a MAC never clash
        self.assertEqual(self.call("xen_set_vifs", "f2", ["bridge=xenbr0"] * 3), "success")
        # one item is bounded before it is parsed
        msg = self.fault(1000, "xen_set_vifs", "f2", ["bridge=xenbr0" + "," * 2000])
        self.assertIn("vif 0 is 2013 bytes long; a vif is at most 1024 bytes", msg)
        self.assertEqual(self.call("xen_set_vifs", "f2", ["bridge=xenbr0" + "," * 900]),
                         "success")
        vifs = [vif(i) for i in range(256)]
        self.assertEqual(self.call("xen_set_vifs", "f2", vifs), "success")
        self.assertEqual(self.call("xen_get_vifs", "f2").count("vif"), 256)

    def test_vnc_password(self):
        d = self.guest("w1")
        self.assertEqual(self.call("xen_set_vm_vnc_password", "w1", "s3cr3t!!"), "success")
        self.assertIn("vncpasswd = 's3cr3t!!'\n", self.cfg(d))
        self.assertNotIn("s3cr3t", self.agent.log())   # never logged
        # quotes are quoted by the writer; the file still parses
        self.assertEqual(self.call("xen_set_vm_vnc_password", "w1", "a'b\"c\\"), "success")
        self.assertIn("vncpasswd = 'a\\'b\"c\\\\'\n", self.cfg(d))
        self.assertEqual(self.call("xen_get_vm_type", "w1"), "success:type=hvm")
        msg = self.fault(1000, "xen_set_vm_vnc_password", "w1", "123456789")
        self.assertIn("8", msg)
        self.fault(1000, "xen_set_vm_vnc_password", "w1", "a\nb")
        self.fault(1000, "xen_set_vm_vnc_password", "w1", "a\tb")
        self.assertEqual(self.call("xen_set_vm_vnc_password", "w1", ""), "success")
        self.assertIn("vncpasswd = ''\n", self.cfg(d))

    def test_boot_sequence(self):
        d = self.guest("b1")
        self.assertEqual(self.call("xen_config_boot_sequence", "b1", "cd"), "success")
        self.assertIn("boot = 'cd'\n", self.cfg(d))
        self.assertEqual(self.call("xen_config_boot_sequence", "b1", "DNCA"), "success")
        self.assertIn("boot = 'dnca'\n", self.cfg(d))
        for bad in ("", "x", "cdnac", "cc", "c d", "c'"):
            msg = self.fault(1000, "xen_config_boot_sequence", "b1", bad)
            self.assertIn("boot sequence", msg)
        self.assertIn("boot = 'dnca'\n", self.cfg(d))

    def test_change_cdrom(self):
        d = self.guest("r1")
        iso1 = self.file_in("iso_pool", "one.iso")
        iso2 = self.file_in("iso_pool", "two.iso")
        disk0 = "vdisk0=file:%s/system.img,hda,w" % d
        # no drive yet: one is added as hdc
        self.assertEqual(self.call("xen_change_vm_cdrom", "r1", iso1), "success")
        self.assertEqual(self.call("xen_get_vdisks", "r1"),
                         "success:%s;vdisk1=file:%s,hdc:cdrom,r" % (disk0, iso1))
        self.assertEqual(self.call("xen_change_vm_cdrom", d, iso2), "success")
        self.assertEqual(self.call("xen_get_vdisks", "r1"),
                         "success:%s;vdisk1=file:%s,hdc:cdrom,r" % (disk0, iso2))
        self.assertEqual(self.call("xen_change_vm_cdrom", "r1", ""), "success")   # eject
        self.assertEqual(self.call("xen_get_vdisks", "r1"), "success:%s;vdisk1=,hdc:cdrom,r" % disk0)
        self.assertIn("',hdc:cdrom,r'", self.cfg(d))
        # an existing drive on another device keeps its device
        self.guest("r2", text="name = 'r2'\nmemory = 64\n"
                   "disk = [',hdd:cdrom,r', 'file:%(dir)s/system.img,hda,w']\n")
        self.call("xen_change_vm_cdrom", "r2", iso1)
        out = self.call("xen_get_vdisks", "r2")
        self.assertTrue(out.startswith("success:vdisk0=file:%s,hdd:cdrom,r;" % iso1), out)
        # refusals
        before = self.cfg(d)
        self.fault(1006, "xen_change_vm_cdrom", "r1", "/etc/passwd")
        self.fault(1006, "xen_change_vm_cdrom", "r1", os.path.join(self.root(), "iso_pool", "..",
                                                                   "..", "x.iso"))
        self.fault(1001, "xen_change_vm_cdrom", "r1", os.path.join(self.root(), "iso_pool",
                                                                   "nosuch.iso"))
        self.fault(1000, "xen_change_vm_cdrom", "r1", "one.iso")
        self.fault(1000, "xen_change_vm_cdrom", "r1", os.path.join(self.root(), "iso_pool"))
        comma = self.file_in("iso_pool", "a,b.iso")
        self.fault(1000, "xen_change_vm_cdrom", "r1", comma)
        self.assertEqual(self.cfg(d), before)
        # no drive and hdc taken by a disk
        self.guest("r3", text="name = 'r3'\nmemory = 64\n"
                   "disk = ['file:%(dir)s/system.img,hdc,w']\n")
        self.fault(1002, "xen_change_vm_cdrom", "r3", iso1)

    def test_comments_kept(self):
        d = self.guest("k1", text=COMMENTED)
        before = self.cfg(d)
        self.assertEqual(self.call("xen_set_memory", "k1", 1024), "success")
        after = self.cfg(d)
        self.assertIn("# Guest for the comment test\n#   edited by hand, keep me\n", after)
        self.assertIn("# MB, raised for the database", after)
        self.assertIn("on_crash = 'restart'\n", after)
        self.assertIn("vif = [ 'type=ioemu, bridge=xenbr0' ]   # one NIC\n", after)
        # only the memory line changed
        diff = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
        self.assertEqual(len(before.splitlines()), len(after.splitlines()))
        self.assertEqual(len(diff), 1, diff)
        self.assertIn("1024", diff[0][1])
        # a list setter keeps every comment outside the list it rewrites
        self.call("xen_change_vm_cdrom", "k1", "")
        self.call("xen_config_boot_sequence", "k1", "dc")
        after = self.cfg(d)
        for line in ("# Guest for the comment test", "#   edited by hand, keep me", "# disks",
                     "# MB, raised for the database", "# one NIC", "on_crash = 'restart'"):
            self.assertIn(line, after)
        self.assertTrue(after.endswith("boot = 'dc'\n"), after)

    def test_setters_apply_at_next_start(self):
        self.guest("x1")
        p = self.rpc()
        p.start_vm("x1")
        self.assertEqual(self.call("xen_set_memory", "x1", 512), "success")
        self.assertEqual(self.call("xen_set_vcpus", "x1", 2), "success")
        row = [r for r in p.list_vms() if r["name"] == "x1"][0]
        self.assertEqual((row["memory"], row["vcpus"]), ("256", "1"))
        p.stop_vm("x1")
        p.start_vm("x1")
        row = [r for r in p.list_vms() if r["name"] == "x1"][0]
        self.assertEqual((row["memory"], row["vcpus"]), ("512", "2"))
        p.destroy_vm("x1")


class Errors(VmcfgCase):
    def every(self, guest):
        """(method, args) of every method for guest."""
        calls = [(m, (guest,)) for m in GETTERS + DB_METHODS]
        return calls + [(m, (guest,) + a) for m, a in SETTERS]

    def test_missing_guest(self):
        for m, args in self.every("nosuch"):
            self.fault(1001, m, *args)

    def test_no_vm_cfg(self):
        os.makedirs(os.path.join(self.root(), "running_pool", "empty"))
        for m, args in self.every("empty"):
            if m in DB_METHODS:
                continue
            msg = self.fault(1001, m, *args)
            self.assertIn("vm.cfg", msg)

    def test_outside_root(self):
        for guest in ("../../etc", "/etc", os.path.join(self.root(), "seed_pool", "x")):
            for m, args in self.every(guest):
                self.fault(1006, m, *args)
        outside = os.path.join(self.agent.dir, "elsewhere")
        os.makedirs(outside)
        with open(os.path.join(outside, "vm.cfg"), "w") as f:
            f.write("name = 'x'\nmemory = 64\n")
        os.makedirs(os.path.join(self.root(), "running_pool"), exist_ok=True)
        os.symlink(outside, os.path.join(self.root(), "running_pool", "escape"))
        for m, args in self.every("escape"):
            self.fault(1006, m, *args)

    def test_bad_vm_cfg(self):
        d = self.guest("bad", text="name = 'bad'\nmemory = [1,\n")
        before = self.cfg(d)
        for m, args in self.every("bad"):
            if m in DB_METHODS:
                continue
            msg = self.fault(1000, m, *args)
            self.assertIn("vm.cfg:", msg)
        self.assertEqual(self.cfg(d), before)

    def test_bad_values_in_vm_cfg(self):
        self.guest("bv", text="name = 'bv'\nmemory = 'lots'\nvcpus = 0\n"
                   "disk = ['nonsense']\nvif = 'bridge=xenbr0'\n")
        for m, where in (("xen_get_memory", ":2:"), ("xen_get_vcpus", ":3:"),
                         ("xen_get_vdisks", ":4:"), ("xen_get_vifs", ":5:")):
            msg = self.fault(1000, m, "bv")
            self.assertIn("vm.cfg" + where, msg)
        self.fault(1000, "xen_add_disk", "bv", "phy:/dev/x,hdb,w")
        self.fault(1000, "xen_change_vm_cdrom", "bv", "")

    def test_names_with_control_characters(self):
        """File and guest names from callers: valid UTF-8 without control
        characters, refused with the byte that breaks the rule."""
        d = self.guest("nm")
        before = self.cfg(d)
        img = self.file_in("running_pool", "nm", "data.img")
        for name, at, code in (("nm\n", 2, "0x0a"), ("n\tm", 1, "0x09"),
                               ("nm\x7f", 2, "0x7f")):
            for m, args in self.every(name):
                msg = self.fault(1000, m, *args)
                self.assertIn("guest name", msg)
                self.assertIn("has a control character at byte %d (%s)" % (at, code), msg)
        for item in ("file:%s\n,hdb,w" % img, "file:%s,hdb,w\t" % img,
                     "file:%s/da\x7fta.img,hdb,w" % d):
            msg = self.fault(1000, "xen_add_disk", "nm", item)
            self.assertIn("disk 'file:", msg)
            at = next(i for i, c in enumerate(item) if ord(c) < 32 or ord(c) == 127)
            self.assertIn("has a control character at byte %d" % at, msg)
        for iso in ("\n", "x\ty.iso", os.path.join(self.root(), "iso_pool", "a\x7f.iso")):
            msg = self.fault(1000, "xen_change_vm_cdrom", "nm", iso)
            self.assertIn("ISO image name", msg)
            self.assertIn("has a control character at byte", msg)
        self.assertEqual(self.cfg(d), before)
        # other characters are fine: the usual checks decide
        self.fault(1001, "xen_get_vm_type", "n\u00e9m")
        self.fault(1001, "xen_add_disk", "nm", "file:%s/\u00e9t\u00e9.img,hdb,w" % d)

    def test_long_lists_in_vm_cfg(self):
        """vm.cfg is outside input: a disk or vif list longer than 256 items
        is refused before any per-item work, however long it is."""
        items = ", ".join("'file:/OVS/x%d.img,xvd%d,w'" % (i, i) for i in range(257))
        self.guest("ld", text="name = 'ld'\nmemory = 64\ndisk = [%s]\n" % items)
        msg = self.fault(1000, "xen_get_vdisks", "ld")
        self.assertIn("disk has 257 items; a guest has at most 256", msg)
        self.fault(1000, "xen_add_disk", "ld", "phy:/dev/x,hdb,w")
        self.fault(1000, "xen_change_vm_cdrom", "ld", "")
        # 200,000 empty vifs: nearly the whole 1 MiB
        self.guest("lv", text="name = 'lv'\nmemory = 64\nvif = [%s]\n" % ",".join(["''"] * 200000))
        t = time.monotonic()
        msg = self.fault(1000, "xen_get_vifs", "lv")
        self.assertIn("vif has 200000 items; a guest has at most 256", msg)
        self.assertLess(time.monotonic() - t, 10)
        # exactly 256 disks: listed, but no 257th added
        items = ", ".join("'phy:/dev/x%d,xvd%d,w'" % (i, i) for i in range(256))
        self.guest("l256", text="name = 'l256'\nmemory = 64\ndisk = [%s]\n" % items)
        self.assertEqual(self.call("xen_get_vdisks", "l256").count("vdisk"), 256)
        msg = self.fault(1000, "xen_add_disk", "l256", "phy:/dev/y,hdb,w")
        self.assertIn("already has 256 disks", msg)
        msg = self.fault(1000, "xen_change_vm_cdrom", "l256", "")
        self.assertIn("no cdrom drive and already 256 disks", msg)

    def test_wrong_parameters(self):
        self.guest("wp")
        self.fault(-32602, "xen_set_vcpus", "wp")
        self.fault(-32602, "xen_set_vcpus", "wp", 1.5)
        self.fault(-32602, "xen_get_vcpus", "wp", "extra")
        self.fault(-32602, "xen_add_disk", "wp", ["file:/x,hdb,w"])
        self.fault(1000, "xen_get_vm_type", "")

    def test_listed_with_help(self):
        p = self.rpc()
        names = set(p.system.listMethods())
        for m in GETTERS + DB_METHODS + [s for s, _ in SETTERS]:
            self.assertIn(m, names)
            self.assertTrue(p.system.methodHelp(m))
        for m in ("xen_set_vcpus", "xen_set_memory", "xen_add_disk", "xen_set_vifs"):
            self.assertIn("next start", p.system.methodHelp(m))
        self.assertEqual(p.system.methodSignature("xen_set_vifs"), [["string", "string", "array"]])


class Busy(VmcfgCase):
    agent_kw = {"host": HOST, "env": {"OVS_AGENT_SIM_DELAY_MS": "1500"}}

    def test_setters_refuse_a_busy_guest(self):
        d = self.guest("busy")
        result = {}

        def start():
            result["start"] = self.rpc().start_vm("busy")
        t = threading.Thread(target=start)
        t.start()
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                if self.rpc().get_vm_status("busy") == "success:status=STARTING":
                    break
            except xmlrpc.client.Fault:
                pass
            time.sleep(0.02)
        before = self.cfg(d)
        for m, args in SETTERS:
            msg = self.fault(1003, m, "busy", *args)
            self.assertIn("busy", msg)
        # getters still answer
        self.assertEqual(self.call("xen_get_memory", "busy"), "success:memory=256")
        self.assertEqual(self.cfg(d), before)
        t.join(15)
        self.assertEqual(result.get("start"), "success:ip=%s" % HOST)
        self.assertEqual(self.call("xen_set_vcpus", "busy", 2), "success")


if __name__ == "__main__":
    main()
