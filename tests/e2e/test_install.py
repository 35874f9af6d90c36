"""test_install.py - install_vm_hvm end to end on the simulated hypervisor:
a new HVM guest booting an installer ISO from the CD-ROM, what
`virt-install -v -c <iso> --vnc` did (guide 4.5): the files it makes, the
record, the start and its VNC port, argument checks, and what is left
after a failure before and after the start.

Run: python3 tests/e2e/test_install.py [test_name...]
"""

import ast
import os
import re
import socket
import sys
import uuid as uuidlib
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from tap import main  # noqa: E402

socket.setdefaulttimeout(60)
HOST = "127.0.0.8"
MAC_RE = r"00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}"


def write_iso(path, size=256 * 1024):
    """An ISO 9660 look-alike: zeros with the primary volume descriptor's
    signature where a real one has it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(bytes(0x8000) + b"\x01CD001\x01" + bytes(size - 0x8000 - 7))
    return path


def parse_cfg(text):
    """vm.cfg as Python would read it: one literal per assignment."""
    out = {}
    for node in ast.parse(text).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, ast.dump(node)
        out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def fields(reply):
    assert reply.startswith("success:"), reply
    return dict(kv.split("=", 1) for kv in reply[len("success:"):].split(";"))


class Install(agentfix.AgentCase):
    agent_kw = {"host": HOST}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.agent.keys["ovs_root"]
        cls.pool = os.path.join(cls.root, "running_pool")
        cls.isos = os.path.join(cls.root, "iso_pool")
        cls.outside = os.path.join(cls.agent.dir, "outside")
        os.makedirs(cls.outside, exist_ok=True)
        cls.iso = write_iso(os.path.join(cls.isos, "Enterprise-R5-U3-x86_64-dvd.iso"))

    # -- helpers -----------------------------------------------------------
    def rpc(self):
        return self.agent.proxy()

    def status(self, name):
        return self.rpc().get_vm_status(name)

    def gone(self, name):
        """Nothing of guest name is left: no directory, no record."""
        self.assertFalse(os.path.lexists(os.path.join(self.pool, name)))
        self.fault(1001, self.rpc().get_vm_status, name)
        self.assertEqual([e for e in os.listdir(self.pool) if e.startswith("." + name)]
                         if os.path.isdir(self.pool) else [], [])

    def cfg_of(self, name):
        with open(os.path.join(self.pool, name, "vm.cfg")) as f:
            text = f.read()
        return text, parse_cfg(text)

    # -- the good path -------------------------------------------------------
    def test_install_makes_and_starts_the_guest(self):
        p = self.rpc()
        out = fields(p.install_vm_hvm("el5", 512, 2, 100, self.iso))
        d = os.path.join(self.pool, "el5")
        self.assertEqual(set(out), {"vm_path", "uuid", "vnc_port"})
        self.assertEqual(out["vm_path"], d)
        self.assertEqual(str(uuidlib.UUID(out["uuid"])), out["uuid"])
        self.assertEqual(uuidlib.UUID(out["uuid"]).version, 4)
        self.assertGreaterEqual(int(out["vnc_port"]), 5900)
        self.assertEqual(self.status("el5"), "success:status=RUNNING")
        self.assertEqual(p.xen_get_vnc_port("el5"), "success:vnc_port=%s" % out["vnc_port"])

        # the disk: sparse, exactly disk_MB
        img = os.path.join(d, "system.img")
        st = os.stat(img)
        self.assertEqual(st.st_size, 100 << 20)
        self.assertLess(st.st_blocks * 512, 1 << 20, "system.img is not sparse")
        self.assertEqual(sorted(os.listdir(d)), ["system.img", "vm.cfg"])

        # vm.cfg: what virt-install wrote for an HVM guest
        text, cfg = self.cfg_of("el5")
        self.assertTrue(text.startswith("# "), text)
        self.assertIn("install_vm_hvm", text.split("\n")[0])
        self.assertEqual(cfg["name"], "el5")
        self.assertEqual(cfg["uuid"], out["uuid"])
        self.assertEqual(cfg["memory"], 512)
        self.assertEqual(cfg["vcpus"], 2)
        self.assertEqual(cfg["builder"], "hvm")
        self.assertEqual(cfg["disk"], ["file:%s,hda,w" % img, "file:%s,hdc:cdrom,r" % self.iso])
        self.assertEqual(len(cfg["vif"]), 1)
        self.assertRegex(cfg["vif"][0], r"^type=ioemu, mac=%s, bridge=xenbr0$" % MAC_RE)
        self.assertEqual(cfg["vnc"], 1)
        self.assertEqual(cfg["vncunused"], 1)
        self.assertEqual(cfg["boot"], "dc")
        self.assertEqual(cfg["on_reboot"], "restart")
        self.assertEqual(cfg["on_crash"], "restart")

        # the record, and the getters that read vm.cfg
        rows = {r["path"]: r for r in p.list_vms()}
        self.assertEqual(rows[d]["uuid"], out["uuid"])
        self.assertEqual(rows[d]["name"], "el5")
        self.assertEqual(p.xen_get_vm_type("el5"), "success:type=hvm")
        self.assertEqual(p.xen_get_memory("el5").split(":", 1)[0], "success")
        self.assertEqual(p.destroy_vm("el5"), "success")
        self.assertEqual(p.delete_vm("el5"), "success")
        self.gone("el5")

    def test_numbers_as_strings_and_iso_by_name(self):
        p = self.rpc()
        out = fields(p.install_vm_hvm("strs", "256", "1", "8", os.path.basename(self.iso)))
        self.assertGreaterEqual(int(out["vnc_port"]), 5900)
        _, cfg = self.cfg_of("strs")
        self.assertEqual(cfg["memory"], 256)
        self.assertEqual(cfg["vcpus"], 1)
        self.assertEqual(cfg["disk"][1], "file:%s,hdc:cdrom,r" % self.iso)
        self.assertEqual(os.stat(os.path.join(self.pool, "strs", "system.img")).st_size, 8 << 20)
        # two guests, two consoles, two MACs
        out2 = fields(p.install_vm_hvm("strs2", 256, 1, 8, self.iso))
        self.assertNotEqual(out["vnc_port"], out2["vnc_port"])
        self.assertNotEqual(out["uuid"], out2["uuid"])
        self.assertNotEqual(self.cfg_of("strs")[1]["vif"], self.cfg_of("strs2")[1]["vif"])
        for n in ("strs", "strs2"):
            p.destroy_vm(n)

    def test_wrong_types_are_refused(self):
        p = self.rpc()
        self.fault(-32602, p.install_vm_hvm, "types", 512.0, 1, 8, self.iso)
        self.fault(-32602, p.install_vm_hvm, "types", 512, 1, 8)
        self.fault(-32602, p.install_vm_hvm, "types", 512, "1", 8, self.iso)
        self.gone("types")

    # -- refusals before anything is made --------------------------------------
    def test_existing_name(self):
        p = self.rpc()
        fields(p.install_vm_hvm("twice", 256, 1, 8, self.iso))
        with open(os.path.join(self.pool, "twice", "vm.cfg")) as f:
            before = f.read()
        msg = self.fault(1002, p.install_vm_hvm, "twice", 256, 1, 8, self.iso)
        self.assertIn("twice", msg)
        with open(os.path.join(self.pool, "twice", "vm.cfg")) as f:
            self.assertEqual(f.read(), before)
        self.assertEqual(self.status("twice"), "success:status=RUNNING")
        p.destroy_vm("twice")
        # a directory nobody registered is not overwritten either
        os.makedirs(os.path.join(self.pool, "plain"))
        self.fault(1002, p.install_vm_hvm, "plain", 256, 1, 8, self.iso)
        self.assertEqual(os.listdir(os.path.join(self.pool, "plain")), [])

    def test_bad_arguments(self):
        p = self.rpc()
        for name in ("", ".", "..", "a/b", "../x", "a b", "x" * 65, "semi;colon", "\u00e9t\u00e9"):
            with self.subTest(name=name):
                self.assertIn("name", self.fault(1000, p.install_vm_hvm, name, 256, 1, 8, self.iso))
        for mem in (0, 15, 1048577, -1, "abc", "", "12MB", "512 ", " 512", "+512", "0x200"):
            with self.subTest(memory=mem):
                args = ("badmem", mem, 1, 8, self.iso)
                if isinstance(mem, str):
                    args = ("badmem", mem, "1", "8", self.iso)
                self.assertIn("memory", self.fault(1000, p.install_vm_hvm, *args))
        for vcpus in (0, 65, -2):
            with self.subTest(vcpus=vcpus):
                self.assertIn("vcpus", self.fault(1000, p.install_vm_hvm, "badcpu", 256, vcpus, 8,
                                                  self.iso))
        for mb in (0, -1, 16777217):
            with self.subTest(disk=mb):
                self.assertIn("disk", self.fault(1000, p.install_vm_hvm, "baddisk", 256, 1, mb,
                                                 self.iso))
        self.assertIn("disk", self.fault(1000, p.install_vm_hvm, "baddisk", "256", "1",
                                         "99999999999999999999", self.iso))
        # control characters in the name or the ISO: the byte is named
        msg = self.fault(1000, p.install_vm_hvm, "new\nline", 256, 1, 8, self.iso)
        self.assertIn("guest name 'new?line' has a control character at byte 3 (0x0a)", msg)
        msg = self.fault(1000, p.install_vm_hvm, "badiso", 256, 1, 8, self.iso + "\t")
        self.assertIn("ISO image name", msg)
        self.assertIn("has a control character at byte %d (0x09)" % len(self.iso), msg)
        for n in ("badmem", "badcpu", "baddisk", "badiso"):
            self.gone(n)
        self.assertFalse(os.path.lexists(os.path.join(self.root, "x")))

    def test_iso_outside_the_root(self):
        p = self.rpc()
        out_iso = write_iso(os.path.join(self.outside, "evil.iso"))
        self.assertIn("outside", self.fault(1006, p.install_vm_hvm, "out1", 256, 1, 8, out_iso))
        self.fault(1006, p.install_vm_hvm, "out1", 256, 1, 8, "/etc/passwd")
        self.fault(1006, p.install_vm_hvm, "out1", 256, 1, 8,
                   os.path.join(self.isos, "..", "..", "outside", "evil.iso"))
        # a symlink in iso_pool that leads out
        link = os.path.join(self.isos, "link-out.iso")
        os.symlink(out_iso, link)
        self.assertIn("outside", self.fault(1006, p.install_vm_hvm, "out1", 256, 1, 8, link))
        self.fault(1006, p.install_vm_hvm, "out1", 256, 1, 8, "link-out.iso")
        self.gone("out1")

    def test_iso_missing_or_not_a_file(self):
        p = self.rpc()
        msg = self.fault(1001, p.install_vm_hvm, "miss", 256, 1, 8,
                         os.path.join(self.isos, "nothere.iso"))
        self.assertIn("nothere.iso", msg)
        self.fault(1001, p.install_vm_hvm, "miss", 256, 1, 8, "nothere.iso")
        os.makedirs(os.path.join(self.isos, "adir.iso"), exist_ok=True)
        self.assertIn("regular file", self.fault(1000, p.install_vm_hvm, "miss", 256, 1, 8,
                                                 os.path.join(self.isos, "adir.iso")))
        self.fault(1000, p.install_vm_hvm, "miss", 256, 1, 8, "iso_pool/relative.iso")
        self.fault(1000, p.install_vm_hvm, "miss", 256, 1, 8, "")
        self.gone("miss")

    # -- failures after something was made ---------------------------------------
    def test_failure_before_start_takes_everything_back(self):
        # The ISO passes the path checks but cannot be named in a disk item:
        # the failure comes after the directory and the image were made.
        bad = write_iso(os.path.join(self.isos, "a,b.iso"))
        msg = self.fault(1000, self.rpc().install_vm_hvm, "undo", 256, 1, 8, bad)
        self.assertIn("a,b.iso", msg)
        self.gone("undo")

    def test_start_failure_keeps_the_guest_down(self):
        p = self.rpc()
        self.assertEqual(p.sim_inject_fault("start", "once"), "success")
        msg = self.fault(1100, p.install_vm_hvm, "nostart", 256, 1, 16, self.iso)
        self.assertIn("injected", msg)
        self.assertIn("start_vm", msg)
        d = os.path.join(self.pool, "nostart")
        self.assertEqual(sorted(os.listdir(d)), ["system.img", "vm.cfg"])
        self.assertEqual(os.stat(os.path.join(d, "system.img")).st_size, 16 << 20)
        self.assertEqual(self.status("nostart"), "success:status=DOWN")
        _, cfg = self.cfg_of("nostart")
        self.assertEqual(cfg["builder"], "hvm")
        # the manager retries: the guest starts as installed
        self.assertEqual(p.start_vm("nostart"), "success:ip=%s" % HOST)
        self.assertEqual(self.status("nostart"), "success:status=RUNNING")
        self.assertTrue(p.xen_get_vnc_port("nostart").startswith("success:vnc_port="))
        self.assertEqual(p.destroy_vm("nostart"), "success")
        self.fault(1002, p.install_vm_hvm, "nostart", 256, 1, 16, self.iso)


class Persist(agentfix.AgentCase):
    """An installed guest survives an agent restart as it was recorded."""
    agent_kw = {"host": HOST}

    def test_installed_guest_after_restart(self):
        root = self.agent.keys["ovs_root"]
        iso = write_iso(os.path.join(root, "iso_pool", "boot.iso"))
        p = self.agent.proxy()
        out = fields(p.install_vm_hvm("kept", 128, 1, 4, iso))
        self.assertEqual(self.agent.stop(), 0)
        self.agent.start()
        p = self.agent.proxy()
        rows = {r["path"]: r for r in p.list_vms()}
        self.assertEqual(rows[out["vm_path"]]["uuid"], out["uuid"])
        # the simulated hypervisor outlives the agent, as xend does
        self.assertEqual(rows[out["vm_path"]]["status"], "RUNNING")
        with open(os.path.join(out["vm_path"], "vm.cfg")) as f:
            self.assertEqual(parse_cfg(f.read())["uuid"], out["uuid"])


if __name__ == "__main__":
    main()
