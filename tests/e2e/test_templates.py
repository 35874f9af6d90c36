"""test_templates.py - guests made from templates (guide 4.4), blank disks
and deleting guests, end to end on the simulated hypervisor:
create_vm_from_template, xen_create_disk, delete_vm.

Run: python3 tests/e2e/test_templates.py [test_name...]
"""

import http.client
import io
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import time
import unittest
import uuid as uuidlib
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from tap import main  # noqa: E402

socket.setdefaulttimeout(60)
HOST = "127.0.0.4"

OLD_UUID = "8a87a97c-65ad-f243-b373-20185c83053e"
OLD_MAC = "00:16:3e:73:a3:27"

# Like the guide's template (4.4), with a comment to keep.
TEMPLATE_CFG = """# Oracle VM template %(t)s - keep this comment
name = '%(t)s'
memory = '512'
vcpus = 1
disk = [ 'file:/OVS/seed_pool/%(t)s/system.img,hda,w', ]
kernel = '/OVS/seed_pool/%(t)s/vmlinuz-2.6.9-42.32.0.0.1.ELxenU'
ramdisk = '/OVS/seed_pool/%(t)s/initrd-2.6.9-42.32.0.0.1.ELxenU.img'
vif = ['type=ioemu, mac=%(mac)s, bridge=xenbr0']
uuid = "%(uuid)s"
on_crash = 'restart'   # trailing comment
"""

IMG = b"\x00" * 4096 + b"system image" + b"\x00" * 4096


def cfg_text(t, mac=OLD_MAC, uuid=OLD_UUID):
    return TEMPLATE_CFG % {"t": t, "mac": mac, "uuid": uuid}


class Zeros(io.RawIOBase):
    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


def add_file(t, name, data=b"", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.mode = mode
    ti.size = len(data)
    ti.mtime = int(time.time())
    t.addfile(ti, io.BytesIO(data))


def add_special(t, name, typ, link="", mode=0o777):
    ti = tarfile.TarInfo(name)
    ti.type = typ
    ti.linkname = link
    ti.mode = mode
    t.addfile(ti)


class Templates(agentfix.AgentCase):
    agent_kw = {"host": HOST}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.agent.keys["ovs_root"]
        cls.seed = os.path.join(cls.root, "seed_pool")
        cls.pool = os.path.join(cls.root, "running_pool")
        cls.outside = os.path.join(cls.agent.dir, "outside")
        for d in (cls.seed, cls.pool, cls.outside):
            os.makedirs(d, exist_ok=True)

    # -- helpers -----------------------------------------------------------
    def rpc(self):
        return self.agent.proxy()

    def make_tgz(self, fname, members):
        """members: fn(tarfile) filling the archive."""
        path = os.path.join(self.seed, fname)
        with tarfile.open(path, "w:gz") as t:
            members(t)
        return path

    def guide_tgz(self, fname, top, t="para_seed"):
        def fill(tar):
            pre = top + "/" if top else ""
            if top:
                add_special(tar, top, tarfile.DIRTYPE, mode=0o755)
            add_file(tar, pre + "vm.cfg", cfg_text(t).encode())
            add_file(tar, pre + "system.img", IMG)
            add_file(tar, pre + "vmlinuz-2.6.9-42.32.0.0.1.ELxenU", b"kernel", 0o755)
            add_file(tar, pre + "initrd-2.6.9-42.32.0.0.1.ELxenU.img", b"initrd")
        return self.make_tgz(fname, fill)

    def read_cfg(self, name):
        with open(os.path.join(self.pool, name, "vm.cfg")) as f:
            return f.read()

    def leftovers(self):
        return [e for e in os.listdir(self.pool) if e.startswith(".")]

    def assert_created(self, out, name, tmpl="para_seed"):
        m = re.fullmatch(r"success:vm_path=(.*);uuid=([0-9a-f-]{36})", out)
        self.assertTrue(m, out)
        d = os.path.join(self.pool, name)
        self.assertEqual(m.group(1), d)
        new_uuid = m.group(2)
        self.assertNotEqual(new_uuid, OLD_UUID)
        self.assertEqual(uuidlib.UUID(new_uuid).version, 4)
        text = self.read_cfg(name)
        self.assertIn("# Oracle VM template %s - keep this comment" % tmpl, text)
        self.assertIn("# trailing comment", text)
        self.assertRegex(text, r"(?m)^name = '%s'$" % re.escape(name))
        self.assertIn(new_uuid, text)
        self.assertNotIn(OLD_UUID, text)
        self.assertIn("file:%s/system.img,hda,w" % d, text)
        self.assertIn("'%s/vmlinuz-2.6.9-42.32.0.0.1.ELxenU'" % d, text)
        self.assertIn("'%s/initrd-2.6.9-42.32.0.0.1.ELxenU.img'" % d, text)
        self.assertNotIn("seed_pool", text)
        macs = re.findall(r"mac=([0-9a-f:]{17})", text)
        self.assertEqual(len(macs), 1, text)
        self.assertRegex(macs[0], r"^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$")
        self.assertNotEqual(macs[0], OLD_MAC)
        self.assertIn("bridge=xenbr0", text)
        self.assertIn("type=ioemu", text)
        with open(os.path.join(d, "system.img"), "rb") as f:
            self.assertEqual(f.read(), IMG)
        self.assertEqual(self.rpc().get_vm_status(name), "success:status=DOWN")
        rows = {r["path"]: r for r in self.rpc().list_vms()}
        self.assertEqual(rows[d]["uuid"], new_uuid)
        self.assertEqual(rows[d]["name"], name)
        self.assertEqual(self.leftovers(), [])
        return new_uuid, macs[0]

    def assert_not_created(self, name):
        self.assertFalse(os.path.lexists(os.path.join(self.pool, name)))
        self.fault(1001, self.rpc().get_vm_status, name)
        self.assertEqual(self.leftovers(), [])

    def refused(self, tname, text, needles, files=(("system.img", IMG),)):
        """A template whose vm.cfg is text is refused with 1006 naming each of
        needles; nothing appears in running_pool, no temporary directory stays."""
        gname = tname + "g"

        def fill(t):
            add_file(t, "vm.cfg", text.encode())
            for n, data in files:
                add_file(t, n, data)
        self.make_tgz(tname + ".tgz", fill)
        before = sorted(os.listdir(self.pool))
        msg = self.fault(1006, self.rpc().create_vm_from_template, tname, gname)
        for n in needles:
            self.assertIn(n, msg)
        self.assertEqual(sorted(os.listdir(self.pool)), before)
        self.assert_not_created(gname)
        os.unlink(os.path.join(self.seed, tname + ".tgz"))
        return msg

    def files_named(self, token):
        hits = []
        for top in (self.agent.dir, "/tmp"):
            for dirpath, dirnames, filenames in os.walk(top):
                for n in dirnames + filenames:
                    if token in n:
                        hits.append(os.path.join(dirpath, n))
        return hits

    # -- create_vm_from_template -------------------------------------------
    def test_from_tgz_with_top_directory(self):
        self.guide_tgz("OVM_EL4U5_X86_HVM.tgz", "para_seed")
        p = self.rpc()
        out = p.create_vm_from_template("OVM_EL4U5_X86_HVM", "el4a")
        self.assert_created(out, "el4a")
        # the template itself is untouched
        self.assertTrue(os.path.isfile(os.path.join(self.seed, "OVM_EL4U5_X86_HVM.tgz")))
        self.assertEqual(p.start_vm("el4a"), "success:ip=%s" % HOST)
        self.assertEqual(p.get_vm_status("el4a"), "success:status=RUNNING")
        self.assertEqual(p.stop_vm("el4a"), "success")

    def test_from_flat_tgz_by_file_name(self):
        self.guide_tgz("flat_seed.tgz", "", t="flat_seed")
        out = self.rpc().create_vm_from_template("flat_seed.tgz", "flat1")
        u1, mac1 = self.assert_created(out, "flat1", tmpl="flat_seed")
        # a second guest from the same template gets its own identity
        out = self.rpc().create_vm_from_template("flat_seed", "flat2")
        u2, mac2 = self.assert_created(out, "flat2", tmpl="flat_seed")
        self.assertNotEqual(u1, u2)
        self.assertNotEqual(mac1, mac2)

    def test_from_directory(self):
        src = os.path.join(self.seed, "dir_seed")
        os.makedirs(src)
        with open(os.path.join(src, "vm.cfg"), "w") as f:
            f.write(cfg_text("dir_seed"))
        for n, data in (("system.img", IMG), ("vmlinuz-2.6.9-42.32.0.0.1.ELxenU", b"k"),
                        ("initrd-2.6.9-42.32.0.0.1.ELxenU.img", b"i")):
            with open(os.path.join(src, n), "wb") as f:
                f.write(data)
        out = self.rpc().create_vm_from_template("dir_seed", "fromdir")
        self.assert_created(out, "fromdir", tmpl="dir_seed")
        with open(os.path.join(src, "vm.cfg")) as f:
            self.assertEqual(f.read(), cfg_text("dir_seed"))   # the template is unchanged
        self.assertEqual(self.rpc().start_vm("fromdir"), "success:ip=%s" % HOST)
        self.assertEqual(self.rpc().destroy_vm("fromdir"), "success")

    def test_several_vifs_and_other_disks(self):
        text = cfg_text("multi").replace(
            "vif = ['type=ioemu, mac=%s, bridge=xenbr0']" % OLD_MAC,
            "vif = ['type=ioemu, mac=%s, bridge=xenbr0', 'mac=00:16:3e:00:00:02, bridge=xenbr1, "
            "model=e1000, rate=10Mb/s@50ms', '']" % OLD_MAC).replace(
            "disk = [ 'file:/OVS/seed_pool/multi/system.img,hda,w', ]",
            "disk = [ 'file:/OVS/seed_pool/multi/system.img,hda,w', 'file:data.img,hdb,w', "
            "'file:%s/iso_pool/inst.iso,hdd:cdrom,r', ',hdc:cdrom,r' ]" % self.root)
        os.makedirs(os.path.join(self.root, "iso_pool"), exist_ok=True)
        with open(os.path.join(self.root, "iso_pool", "inst.iso"), "wb") as f:
            f.write(b"iso")

        def fill(t):
            add_file(t, "vm.cfg", text.encode())
            add_file(t, "system.img", IMG)
            add_file(t, "data.img", b"data")
        self.make_tgz("multi.tgz", fill)
        out = self.rpc().create_vm_from_template("multi", "multi1")
        d = os.path.join(self.pool, "multi1")
        self.assertTrue(out.startswith("success:vm_path=%s;" % d), out)
        cfg = self.read_cfg("multi1")
        macs = re.findall(r"mac=([0-9a-f:]{17})", cfg)
        # the third item ('') gets a MAC of its own, written back (issue 8)
        self.assertEqual(len(macs), 3, cfg)
        self.assertEqual(len(set(macs)), 3, cfg)
        self.assertNotIn(OLD_MAC, macs)
        self.assertNotIn("00:16:3e:00:00:02", macs)
        for m in macs:
            self.assertTrue(m.startswith("00:16:3e:"), m)
        self.assertIn("bridge=xenbr1", cfg)
        self.assertIn("model=e1000", cfg)
        self.assertIn("rate=10Mb/s@50ms", cfg)
        self.assertNotIn("''", cfg)     # the default interface has its MAC now
        self.assertIn("file:%s/system.img,hda,w" % d, cfg)
        self.assertIn("file:%s/data.img,hdb,w" % d, cfg)
        # an ISO in iso_pool is not the template's: kept
        self.assertIn("file:%s/iso_pool/inst.iso,hdd:cdrom,r" % self.root, cfg)
        self.assertIn(",hdc:cdrom,r", cfg)

    def test_duplicate_name(self):
        self.guide_tgz("dup_seed.tgz", "dup_seed", t="dup_seed")
        p = self.rpc()
        self.assertTrue(p.create_vm_from_template("dup_seed", "dup1").startswith("success:"))
        before = self.read_cfg("dup1")
        msg = self.fault(1002, p.create_vm_from_template, "dup_seed", "dup1")
        self.assertIn("dup1", msg)
        self.assertEqual(self.read_cfg("dup1"), before)
        # a directory made by hand counts too
        os.makedirs(os.path.join(self.pool, "byhand"))
        self.fault(1002, p.create_vm_from_template, "dup_seed", "byhand")
        self.assertEqual(os.listdir(os.path.join(self.pool, "byhand")), [])
        self.assertEqual(self.leftovers(), [])

    def test_bad_names(self):
        self.guide_tgz("names_seed.tgz", "", t="names_seed")
        p = self.rpc()
        for bad in ("", ".", "..", "a/b", "../x", "x" * 65, "has space", "semi;colon", "new\nline",
                    "/abs"):
            with self.subTest(name=bad):
                self.fault(1000, p.create_vm_from_template, "names_seed", bad)
        self.assertTrue(p.create_vm_from_template("names_seed", "x" * 64).startswith("success:"))
        for bad in ("", "..", "../seed_pool/names_seed", "a b", "/etc/passwd"):
            with self.subTest(template=bad):
                self.fault(1000, p.create_vm_from_template, bad, "okname")
        self.assertEqual(self.leftovers(), [])

    def test_names_with_control_characters(self):
        """Template and guest names: no control characters, the byte named."""
        self.guide_tgz("ctl_seed.tgz", "", t="ctl_seed")
        p = self.rpc()
        msg = self.fault(1000, p.create_vm_from_template, "ctl_seed", "tab\tname")
        self.assertIn("guest name 'tab?name' has a control character at byte 3 (0x09)", msg)
        msg = self.fault(1000, p.create_vm_from_template, "ctl\x7fseed", "ok2")
        self.assertIn("template name 'ctl?seed' has a control character at byte 3 (0x7f)", msg)
        self.assert_not_created("ok2")
        self.assertEqual(self.leftovers(), [])

    def test_long_lists_in_template(self):
        """A template's vm.cfg with more than 256 disk or vif items is refused
        before any per-item work (a stat per disk, a MAC per vif)."""
        for key, item, n in (("disk", "',hdc:cdrom,r'", 257), ("vif", "''", 257),
                             ("vif", "''", 150000)):
            with self.subTest(key=key, n=n):
                text = "name = 'x'\nmemory = 64\n%s = [%s]\n" % (key, ",".join([item] * n))

                def fill(t):
                    add_file(t, "vm.cfg", text.encode())
                    add_file(t, "system.img", IMG)
                self.make_tgz("long_seed.tgz", fill)
                t = time.monotonic()
                msg = self.fault(1000, self.rpc().create_vm_from_template, "long_seed", "longg")
                self.assertLess(time.monotonic() - t, 30)
                self.assertIn("has %d %s items; a guest has at most 256" % (n, key), msg)
                self.assert_not_created("longg")
                os.unlink(os.path.join(self.seed, "long_seed.tgz"))

    def test_missing_template(self):
        msg = self.fault(1001, self.rpc().create_vm_from_template, "no_such_seed", "nothere")
        self.assertIn("no_such_seed", msg)
        self.assert_not_created("nothere")

    def test_template_without_vm_cfg(self):
        self.make_tgz("nocfg.tgz", lambda t: add_file(t, "system.img", IMG))
        self.fault(1000, self.rpc().create_vm_from_template, "nocfg", "nocfg1")
        self.assert_not_created("nocfg1")

    def test_corrupt_archive(self):
        with open(os.path.join(self.seed, "corrupt.tgz"), "wb") as f:
            f.write(b"\x1f\x8b this is not gzip data at all")
        msg = self.fault(1300, self.rpc().create_vm_from_template, "corrupt", "corrupt1")
        self.assertIn("tar", msg)        # the tail of tar's stderr
        self.assert_not_created("corrupt1")

    def test_second_create_while_in_flight_is_busy(self):
        size = 300 << 20     # big enough for tar to take a while

        def fill(t):
            add_file(t, "vm.cfg", cfg_text("big_seed").encode())
            ti = tarfile.TarInfo("system.img")
            ti.size = size
            t.addfile(ti, Zeros(size))
        path = os.path.join(self.seed, "big_seed.tgz")
        with tarfile.open(path, "w:gz", compresslevel=1) as t:
            fill(t)
        result = {}

        def first():
            try:
                result["out"] = self.rpc().create_vm_from_template("big_seed", "big1")
            except Exception as e:   # reported below
                result["err"] = e
        th = threading.Thread(target=first)
        th.start()
        deadline = time.time() + 20
        while not any(e.startswith(".big1.tmp-") for e in os.listdir(self.pool)):
            self.assertLess(time.time(), deadline, "the first create never started")
            time.sleep(0.01)
        try:
            p = self.rpc()
            self.fault(1003, p.create_vm_from_template, "big_seed", "big1")
            self.fault(1001, p.start_vm, "big1")     # not there until it is complete
        finally:
            th.join(60)
        self.assertNotIn("err", result, result.get("err"))
        self.assertTrue(result["out"].startswith("success:vm_path="), result)
        st = os.stat(os.path.join(self.pool, "big1", "system.img"))
        self.assertEqual(st.st_size, size)
        self.assertEqual(self.rpc().delete_vm("big1"), "success")
        os.unlink(path)

    # -- hostile templates ---------------------------------------------------
    def test_dotdot_members_cannot_escape(self):
        token = "escape_dd_%d" % os.getpid()

        def fill(t):
            add_file(t, "vm.cfg", cfg_text("evil1").encode())
            add_file(t, "system.img", IMG)
            add_file(t, "../" + token, b"pwned")
            add_file(t, "../../" + token, b"pwned")
            add_file(t, "sub/../../../" + token, b"pwned")
        self.make_tgz("evil1.tgz", fill)
        msg = self.fault(1300, self.rpc().create_vm_from_template, "evil1", "evil1g")
        self.assertIn("..", msg)
        self.assertEqual(self.files_named(token), [])
        self.assert_not_created("evil1g")

    def test_absolute_members_stay_inside(self):
        token = "escape_abs_%d" % os.getpid()
        outside = os.path.join(self.outside, token)

        def fill(t):
            add_file(t, "vm.cfg", cfg_text("evil2").encode())
            add_file(t, "system.img", IMG)
            add_file(t, outside, b"pwned")
            add_file(t, "/tmp/%s/x" % token, b"pwned")
        self.make_tgz("evil2.tgz", fill)
        try:
            out = self.rpc().create_vm_from_template("evil2", "evil2g")
        except xmlrpc.client.Fault as f:
            out = f.faultCode
        self.assertFalse(os.path.lexists(outside))
        self.assertFalse(os.path.lexists("/tmp/" + token))
        d = os.path.join(self.pool, "evil2g")
        for hit in self.files_named(token):
            self.assertTrue(hit.startswith(d + "/"), hit)   # only inside the new guest
        self.assertTrue(str(out).startswith("success:"), out)

    def test_symlink_members_cannot_write_outside(self):
        token = "escape_ln_%d" % os.getpid()
        target = os.path.join(self.outside, token)
        os.makedirs(target)

        def fill(t):
            add_file(t, "vm.cfg", cfg_text("evil3").encode())
            add_file(t, "system.img", IMG)
            add_special(t, "evil", tarfile.SYMTYPE, link=target)
            add_file(t, "evil/pwn", b"pwned")
            add_special(t, "rel", tarfile.SYMTYPE, link="../../../outside/" + token)
            add_file(t, "rel/pwn2", b"pwned")
            add_special(t, "hard", tarfile.LNKTYPE, link=os.path.join(self.outside, "victim"))
        with open(os.path.join(self.outside, "victim"), "w") as f:
            f.write("victim")
        self.make_tgz("evil3.tgz", fill)
        self.fault(1300, self.rpc().create_vm_from_template, "evil3", "evil3g")
        self.assertEqual(os.listdir(target), [])
        with open(os.path.join(self.outside, "victim")) as f:
            self.assertEqual(f.read(), "victim")
        self.assertEqual(os.stat(os.path.join(self.outside, "victim")).st_nlink, 1)
        self.assert_not_created("evil3g")

    def test_symlink_leading_out_is_refused(self):
        def fill(t):
            add_file(t, "vm.cfg", cfg_text("evil4").encode())
            add_special(t, "system.img", tarfile.SYMTYPE, link="/etc/passwd")
        self.make_tgz("evil4.tgz", fill)
        msg = self.fault(1006, self.rpc().create_vm_from_template, "evil4", "evil4g")
        self.assertIn("system.img", msg)
        self.assert_not_created("evil4g")

        def fill2(t):
            add_file(t, "vm.cfg", cfg_text("evil5").encode())
            add_special(t, "d", tarfile.SYMTYPE, link=".")
            add_special(t, "system.img", tarfile.SYMTYPE, link="d/../../../../../etc/passwd")
        self.make_tgz("evil5.tgz", fill2)
        self.fault(1006, self.rpc().create_vm_from_template, "evil5", "evil5g")
        self.assert_not_created("evil5g")

    def test_symlink_within_is_fine(self):
        def fill(t):
            add_file(t, "vm.cfg", cfg_text("lnok").encode())
            add_file(t, "images/disk0.img", IMG)
            add_special(t, "system.img", tarfile.SYMTYPE, link="images/disk0.img")
        self.make_tgz("lnok.tgz", fill)
        out = self.rpc().create_vm_from_template("lnok", "lnok1")
        self.assertTrue(out.startswith("success:"), out)
        with open(os.path.join(self.pool, "lnok1", "system.img"), "rb") as f:
            self.assertEqual(f.read(), IMG)

    def test_device_node_is_refused(self):
        def fill(t):
            add_file(t, "vm.cfg", cfg_text("evil6").encode())
            ti = tarfile.TarInfo("system.img")
            ti.type = tarfile.BLKTYPE
            ti.devmajor, ti.devminor = 7, 0
            t.addfile(ti)
        self.make_tgz("evil6.tgz", fill)
        # root: tar makes the node and the check refuses it; others: tar fails
        code = 1006 if os.geteuid() == 0 else 1300
        self.fault(code, self.rpc().create_vm_from_template, "evil6", "evil6g")
        self.assert_not_created("evil6g")

    def test_template_symlinked_out_of_root(self):
        real = os.path.join(self.outside, "elsewhere.tgz")
        with tarfile.open(real, "w:gz") as t:
            add_file(t, "vm.cfg", cfg_text("elsewhere").encode())
        os.symlink(real, os.path.join(self.seed, "elsewhere.tgz"))
        self.fault(1006, self.rpc().create_vm_from_template, "elsewhere", "else1")
        self.assert_not_created("else1")

    # -- hostile vm.cfg: host paths and host programs ------------------------
    def test_cfg_disk_outside_guest_is_refused(self):
        base = cfg_text("hcfg1")
        seed_disk = "'file:/OVS/seed_pool/hcfg1/system.img,hda,w'"
        victim = os.path.join(self.pool, "victim")
        for disk, needle in (
                ("'file:/etc/passwd,hdb,w'", "/etc/passwd"),
                ("'tap:aio:/etc/shadow,xvdb,w'", "/etc/shadow"),
                ("'file:%s/system.img,hdb,w'" % victim, victim),     # another guest's disk
                ("'file:%s/hcfg1g/../victim/system.img,hdb,w'" % self.pool, ".."),
                ("'file:images/system.img,hdb,w'", "images/system.img"),   # relative
                ("'file:/OVS/seed_pool/hcfg1/../../../etc/passwd,hdb,w'", "etc/passwd"),
                ("'file:/etc/passwd,hdc:cdrom,r'", "/etc/passwd"),   # cdrom outside iso_pool
        ):
            with self.subTest(disk=disk):
                text = base.replace("disk = [ %s, ]" % seed_disk,
                                    "disk = [ %s, %s ]" % (seed_disk, disk))
                self.assertIn(disk, text)
                msg = self.refused("hcfg1", text, [needle])
                self.assertIn("disk", msg)

    def test_cfg_review_reproduction_is_refused(self):
        # the security review's template: host file, host device, host bootloader
        text = cfg_text("hcfg2").replace(
            "disk = [ 'file:/OVS/seed_pool/hcfg2/system.img,hda,w', ]",
            "disk = ['file:/etc/passwd,hda,w','phy:/dev/sda,hdb,w']") + "bootloader = '/tmp/evil'\n"
        msg = self.refused("hcfg2", text, ["bootloader", "/tmp/evil"])
        text = text.replace("bootloader = '/tmp/evil'\n", "")
        self.refused("hcfg2", text, ["/etc/passwd"])

    def test_cfg_phy_disk_is_refused(self):
        for phy in ("phy:/dev/sda,hdb,w", "phy:/dev/vg0/shared,hdd,w!", "phy:/dev/sr0,hdc:cdrom,r"):
            with self.subTest(phy=phy):
                text = cfg_text("hcfg3").replace(
                    "disk = [ 'file:/OVS/seed_pool/hcfg3/system.img,hda,w', ]",
                    "disk = [ 'file:/OVS/seed_pool/hcfg3/system.img,hda,w', '%s' ]" % phy)
                msg = self.refused("hcfg3", text, ["phy:", phy.split(",")[0][4:]])
                self.assertIn("host device", msg)
        # other host block devices (xend runs block-<type> scripts for them)
        text = cfg_text("hcfg3").replace(
            "disk = [ 'file:/OVS/seed_pool/hcfg3/system.img,hda,w', ]",
            "disk = [ 'file:/OVS/seed_pool/hcfg3/system.img,hda,w', 'nbd:1.2.3.4:9,hdb,w' ]")
        self.refused("hcfg3", text, ["nbd:"])

    def test_cfg_kernel_or_ramdisk_outside_is_refused(self):
        base = cfg_text("hcfg4")
        for key, val in (
                ("kernel", "/boot/vmlinuz-evil"),
                ("kernel", "/etc/shadow"),
                ("kernel", "%s/hcfg4g/../other/vmlinuz" % self.pool),
                ("ramdisk", "/etc/shadow"),
                ("ramdisk", "/OVS/seed_pool/hcfg4/../../../etc/shadow"),
        ):
            with self.subTest(key=key, val=val):
                old = re.search(r"(?m)^%s = '.*'$" % key, base).group(0)
                text = base.replace(old, "%s = '%s'" % (key, val))
                self.refused("hcfg4", text, [key])

    def test_cfg_bootloader_is_refused(self):
        for val in ("'/tmp/evil'", "'/usr/bin/pygrub'", "['x']"):
            with self.subTest(bootloader=val):
                text = cfg_text("hcfg5") + "bootloader = %s\n" % val
                self.refused("hcfg5", text, ["bootloader"])
        # absent (the other tests) or empty: fine
        with tarfile.open(os.path.join(self.seed, "bl_empty.tgz"), "w:gz") as t:
            add_file(t, "vm.cfg", (cfg_text("bl_empty") + "bootloader = ''\n").encode())
            add_file(t, "system.img", IMG)
            add_file(t, "vmlinuz-2.6.9-42.32.0.0.1.ELxenU", b"kernel", 0o755)
            add_file(t, "initrd-2.6.9-42.32.0.0.1.ELxenU.img", b"initrd")
        out = self.rpc().create_vm_from_template("bl_empty", "bl_empty1")
        self.assert_created(out, "bl_empty1", tmpl="bl_empty")

    def test_cfg_device_model_is_refused(self):
        for key in ("device_model", "device_model_override"):
            for val in ("'/tmp/evil-qemu'", "'/usr/lib/xen/bin/qemu-dm'"):
                with self.subTest(key=key, val=val):
                    text = cfg_text("hcfg6") + "%s = %s\n" % (key, val)
                    msg = self.refused("hcfg6", text, [key])
                    self.assertNotIn("%s_override" % key, msg)

    STOCK_HVM = """# Oracle VM 2.x HVM template
acpi = 1
apic = 1
builder = 'hvm'
device_model = '%(dm)s'
disk = [ 'file:/OVS/seed_pool/%(t)s/System.img,hda,w' ]
kernel = '%(k)s'
memory = '1024'
name = '%(t)s'
on_reboot = 'restart'
pae = 1
serial = 'pty'
uuid = '%(uuid)s'
vcpus = 1
vif = [ 'type=ioemu, mac=%(mac)s, bridge=xenbr0' ]
vnc = 1
vncunused = 1
"""

    def stock_hvm(self, t, dm="/usr/lib/xen/bin/qemu-dm", k="/usr/lib/xen/boot/hvmloader"):
        return self.STOCK_HVM % {"t": t, "dm": dm, "k": k, "uuid": OLD_UUID, "mac": OLD_MAC}

    def test_stock_hvm_template_is_accepted(self):
        """device_model and kernel at Xen's stock qemu-dm and hvmloader, in an
        HVM template, are kept exactly."""
        for t, dm in (("hvm_stock", "/usr/lib/xen/bin/qemu-dm"),
                      ("hvm_stock64", "/usr/lib64/xen/bin/qemu-dm")):
            with self.subTest(device_model=dm):
                with tarfile.open(os.path.join(self.seed, t + ".tgz"), "w:gz") as tar:
                    add_special(tar, t, tarfile.DIRTYPE, mode=0o755)
                    add_file(tar, t + "/vm.cfg", self.stock_hvm(t, dm).encode())
                    add_file(tar, t + "/System.img", IMG)
                out = self.rpc().create_vm_from_template(t, t + "g")
                self.assertTrue(out.startswith("success:"), out)
                cfg = self.read_cfg(t + "g")
                self.assertIn("\ndevice_model = '%s'\n" % dm, cfg)
                self.assertIn("\nkernel = '/usr/lib/xen/boot/hvmloader'\n", cfg)
                self.assertIn("file:%s/System.img,hda,w" % os.path.join(self.pool, t + "g"), cfg)
                self.assertEqual(self.rpc().start_vm(t + "g"), "success:ip=%s" % HOST)
                self.assertEqual(self.rpc().destroy_vm(t + "g"), "success")

    def test_near_stock_hvm_values_are_refused(self):
        dm, k = "/usr/lib/xen/bin/qemu-dm", "/usr/lib/xen/boot/hvmloader"
        for key, text in (
                ("device_model", self.stock_hvm("hvm_near", dm="/usr/lib/xen/bin/qemu-dm ")),
                ("device_model", self.stock_hvm("hvm_near", dm="/usr/lib/xen/bin/../bin/qemu-dm")),
                ("device_model", self.stock_hvm("hvm_near", dm="//usr/lib/xen/bin/qemu-dm")),
                ("device_model", self.stock_hvm("hvm_near", dm="/usr/local/lib/xen/bin/qemu-dm")),
                ("device_model", self.stock_hvm("hvm_near", dm="/usr/lib/xen/bin/qemu-dm2")),
                ("device_model", self.stock_hvm("hvm_near", dm="/tmp/evil-qemu")),
                ("device_model", self.stock_hvm("hvm_near").replace("'%s'" % dm, "['%s']" % dm)),
                ("kernel", self.stock_hvm("hvm_near", k="/usr/lib/xen/boot/hvmloder")),  # the guide's typo
                ("kernel", self.stock_hvm("hvm_near", k="/usr/lib/xen/boot//hvmloader")),
                ("kernel", self.stock_hvm("hvm_near", k="/usr/lib64/xen/boot/hvmloader")),
                ("kernel", self.stock_hvm("hvm_near", k="/usr/lib/xen/boot/hvmloader/")),
                ("kernel", self.stock_hvm("hvm_near", k="/etc/shadow")),
                # stock values outside an HVM guest
                ("device_model", self.stock_hvm("hvm_near").replace("builder = 'hvm'", "builder = 'linux'")),
                ("device_model", self.stock_hvm("hvm_near").replace("builder = 'hvm'\n", "")),
                ("kernel", self.stock_hvm("hvm_near").replace(
                    "builder = 'hvm'\ndevice_model = '%s'\n" % dm, "")),
                ("kernel", self.stock_hvm("hvm_near").replace(
                    "builder = 'hvm'", "builder = 'HVM'").replace("device_model = '%s'\n" % dm, "")),
        ):
            with self.subTest(text=text):
                self.refused("hvm_near", text, [key], files=(("System.img", IMG),))

    def test_cfg_vif_script_is_refused(self):
        for vif in (
                "'type=ioemu, mac=%s, bridge=xenbr0, script=/tmp/evil'" % OLD_MAC,
                "'bridge=xenbr0', ' script = vif-bridge ,mac=00:16:3e:00:00:09'",
        ):
            with self.subTest(vif=vif):
                text = cfg_text("hcfg7").replace(
                    "vif = ['type=ioemu, mac=%s, bridge=xenbr0']" % OLD_MAC, "vif = [%s]" % vif)
                self.assertIn(vif, text)
                self.refused("hcfg7", text, ["script"])

    def test_cfg_cdrom_in_iso_pool(self):
        iso_pool = os.path.join(self.root, "iso_pool")
        os.makedirs(iso_pool, exist_ok=True)
        with open(os.path.join(self.outside, "secret.iso"), "w") as f:
            f.write("secret")
        os.symlink(os.path.join(self.outside, "secret.iso"), os.path.join(iso_pool, "out.iso"))
        seed_disk = "'file:/OVS/seed_pool/hcfg8/system.img,hda,w'"
        for cd in (
                "file:%s/out.iso,hdc:cdrom,r" % iso_pool,         # symlink out of the root
                "file:%s/inst.iso,hdc:cdrom,w" % iso_pool,        # the shared ISO writable
                "file:%s/inst.iso,hdb,w" % iso_pool,              # not a cdrom
                "file:%s/../seed_pool/x.iso,hdc:cdrom,r" % iso_pool,
        ):
            with self.subTest(cdrom=cd):
                text = cfg_text("hcfg8").replace("disk = [ %s, ]" % seed_disk,
                                                 "disk = [ %s, '%s' ]" % (seed_disk, cd))
                self.refused("hcfg8", text, ["hd"])
        # a read-only ISO in iso_pool (existing or not yet) and an empty drive stay
        text = cfg_text("hcfg8").replace(
            "disk = [ %s, ]" % seed_disk,
            "disk = [ %s, 'file:%s/later.iso,hdc:cdrom,r', 'tap:aio:%s//./inst.iso,hdd:cdrom,r', "
            "',hde:cdrom,r' ]" % (seed_disk, iso_pool, iso_pool))
        with tarfile.open(os.path.join(self.seed, "hcfg8ok.tgz"), "w:gz") as t:
            add_file(t, "vm.cfg", text.replace("hcfg8", "hcfg8ok").encode())
            add_file(t, "system.img", IMG)
        out = self.rpc().create_vm_from_template("hcfg8ok", "hcfg8ok1")
        self.assertTrue(out.startswith("success:"), out)
        cfg = self.read_cfg("hcfg8ok1")
        self.assertIn("file:%s/later.iso,hdc:cdrom,r" % iso_pool, cfg)
        self.assertIn(",hde:cdrom,r", cfg)

    def test_cfg_host_resources_are_refused(self):
        for line in (
                "pci = ['0000:03:00.0']",
                "device_model_args = ['-drive', 'file=/etc/shadow']",
                "firmware_override = '/etc/shadow'",
                "iomem = ['fee00,1']",
                "serial = 'file:/etc/passwd'",
                "serial = '/dev/ttyS0'",
        ):
            with self.subTest(line=line):
                text = cfg_text("hcfg9") + line + "\n"
                self.refused("hcfg9", text, [line.split()[0]])
        # consoles, and empty lists, are fine
        with tarfile.open(os.path.join(self.seed, "hcfg9ok.tgz"), "w:gz") as t:
            add_file(t, "vm.cfg", (cfg_text("hcfg9ok") + "serial = 'pty'\npci = []\n").encode())
            add_file(t, "system.img", IMG)
        out = self.rpc().create_vm_from_template("hcfg9ok", "hcfg9ok1")
        self.assertTrue(out.startswith("success:"), out)

    # -- xen_create_disk ---------------------------------------------------
    def test_create_disk_sparse(self):
        d = os.path.join(self.pool, "diskguest")
        os.makedirs(d)
        path = os.path.join(d, "extra.img")
        self.assertEqual(self.rpc().xen_create_disk(path, 2048), "success")
        st = os.stat(path)
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(st.st_size, 2048 << 20)
        self.assertLess(st.st_blocks * 512, 1 << 20)      # sparse
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o644)
        # the size may also come as a string
        self.assertEqual(self.rpc().xen_create_disk(path + "2", "3"), "success")
        self.assertEqual(os.stat(path + "2").st_size, 3 << 20)
        msg = self.fault(1002, self.rpc().xen_create_disk, path, 10)
        self.assertIn("extra.img", msg)
        self.assertEqual(os.stat(path).st_size, 2048 << 20)   # untouched

    def test_create_disk_refusals(self):
        p = self.rpc()
        d = os.path.join(self.pool, "diskguest2")
        os.makedirs(d)
        for size in (0, -1, 16777217, "abc", "", "1.5", "10 ", " 10", "+10", "0x10"):
            with self.subTest(size=size):
                self.fault(1000, p.xen_create_disk, os.path.join(d, "s.img"), size)
        self.assertFalse(os.path.exists(os.path.join(d, "s.img")))
        self.fault(1006, p.xen_create_disk, os.path.join(self.outside, "o.img"), 10)
        self.fault(1006, p.xen_create_disk, os.path.join(self.root, "..", "outside", "o2.img"), 10)
        self.fault(1006, p.xen_create_disk, os.path.join(d, "..", "..", "..", "o3.img"), 10)
        self.fault(1006, p.xen_create_disk, "relative.img", 10)
        os.symlink(self.outside, os.path.join(self.root, "link_out"))
        self.fault(1006, p.xen_create_disk, os.path.join(self.root, "link_out", "o4.img"), 10)
        self.assertEqual([n for n in os.listdir(self.outside) if n.startswith("o")], [])
        self.fault(1001, p.xen_create_disk, os.path.join(self.pool, "no_dir", "x.img"), 10)
        # a symlink at the target is not followed
        os.symlink(os.path.join(self.outside, "via_link.img"), os.path.join(d, "ln.img"))
        self.fault(1002, p.xen_create_disk, os.path.join(d, "ln.img"), 10)
        self.assertFalse(os.path.lexists(os.path.join(self.outside, "via_link.img")))

    def test_create_disk_names(self):
        """The issue's four names are refused with the byte that breaks the
        rule; nothing is created. UTF-8 names are fine."""
        p = self.rpc()
        d = os.path.join(self.pool, "diskguest3")
        os.makedirs(d)
        for base, at, code in (("x.img\n", 5, "0x0a"), ("a\nb.img", 1, "0x0a"),
                               ("tab\t.img", 3, "0x09"), ("del\x7f.img", 3, "0x7f")):
            with self.subTest(name=base):
                msg = self.fault(1000, p.xen_create_disk, os.path.join(d, base), 10)
                self.assertIn("disk file name", msg)
                self.assertIn("has a control character at byte %d (%s)" % (len(d) + 1 + at, code),
                              msg)
        self.assertEqual(os.listdir(d), [])
        self.assertEqual(p.xen_create_disk(os.path.join(d, "caf\u00e9 \u65e5.img"), 1), "success")
        self.assertEqual(os.listdir(d), ["caf\u00e9 \u65e5.img"])

    # -- delete_vm ---------------------------------------------------------
    def test_delete(self):
        self.guide_tgz("del_seed.tgz", "del_seed", t="del_seed")
        p = self.rpc()
        p.create_vm_from_template("del_seed", "del1")
        d = os.path.join(self.pool, "del1")
        # a symlink in the guest to a file outside: the file must survive
        keep = os.path.join(self.outside, "keep_me")
        with open(keep, "w") as f:
            f.write("keep")
        os.symlink(keep, os.path.join(d, "link_out"))
        os.symlink(self.outside, os.path.join(d, "dirlink_out"))
        p.start_vm("del1")
        msg = self.fault(1004, p.delete_vm, "del1")
        self.assertIn("RUNNING", msg)
        p.pause_vm("del1")
        self.fault(1004, p.delete_vm, "del1")
        p.destroy_vm("del1")
        self.assertEqual(p.delete_vm(d), "success")
        self.assertFalse(os.path.lexists(d))
        self.fault(1001, p.get_vm_status, "del1")
        self.assertNotIn(d, [r["path"] for r in p.list_vms()])
        self.assertTrue(os.path.exists(keep))
        self.assertEqual(self.leftovers(), [])
        self.fault(1001, p.delete_vm, "del1")
        # the name is free again
        self.assertTrue(p.create_vm_from_template("del_seed", "del1").startswith("success:"))
        self.assertEqual(p.delete_vm("del1"), "success")

    def test_delete_error_and_unregistered(self):
        self.guide_tgz("del2_seed.tgz", "", t="del2_seed")
        p = self.rpc()
        p.create_vm_from_template("del2_seed", "del2")
        p.start_vm("del2")
        p.sim_crash_vm("del2")
        self.assertEqual(p.get_vm_status("del2"), "success:status=ERROR")
        # the hypervisor still holds the crashed guest: destroy first
        self.fault(1004, p.delete_vm, "del2")
        p.destroy_vm("del2")
        p.set_vm_status("del2", "ERROR")
        self.assertEqual(p.delete_vm("del2"), "success")
        self.assertFalse(os.path.lexists(os.path.join(self.pool, "del2")))
        # a guest directory nobody registered
        d = os.path.join(self.pool, "unreg")
        os.makedirs(os.path.join(d, "sub"))
        with open(os.path.join(d, "vm.cfg"), "w") as f:
            f.write(cfg_text("unreg"))
        self.assertEqual(p.delete_vm("unreg"), "success")
        self.assertFalse(os.path.lexists(d))

    def test_delete_refusals(self):
        p = self.rpc()
        self.fault(1001, p.delete_vm, "never_was")
        self.fault(1006, p.delete_vm, self.outside)
        self.fault(1006, p.delete_vm, os.path.join(self.pool, "..", "seed_pool"))
        self.fault(1000, p.delete_vm, "..")
        self.assertTrue(os.path.isdir(self.seed))
        self.assertTrue(os.path.isdir(self.outside))


class TemplateSizeLimit(agentfix.AgentCase):
    """template_max_bytes (here 1 MiB) bounds what a template unpacks to:
    the tar stream, any one file (sparse or not), all files together (a hard
    link counted once per name), and a directory template's files."""
    LIMIT = 1 << 20
    agent_kw = {"host": HOST, "extra": {"template_max_bytes": str(1 << 20)}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seed = os.path.join(cls.agent.keys["ovs_root"], "seed_pool")
        cls.pool = os.path.join(cls.agent.keys["ovs_root"], "running_pool")
        os.makedirs(cls.seed)
        os.makedirs(cls.pool)

    def tgz(self, tname, fill):
        with tarfile.open(os.path.join(self.seed, tname + ".tgz"), "w:gz") as t:
            add_file(t, "vm.cfg", cfg_text(tname).encode())
            fill(t)

    def refused(self, tname, needle):
        gname = tname + "g"
        msg = self.fault(1005, self.agent.proxy().create_vm_from_template, tname, gname)
        self.assertIn("template_max_bytes (%d bytes)" % self.LIMIT, msg)
        self.assertIn(needle, msg)
        self.assertFalse(os.path.lexists(os.path.join(self.pool, gname)))
        self.assertEqual([e for e in os.listdir(self.pool) if e.startswith(".")], [])
        return msg

    def test_under_the_limit_is_fine(self):
        self.tgz("small", lambda t: add_file(t, "system.img", b"\1" * (900 << 10)))
        out = self.agent.proxy().create_vm_from_template("small", "smallg")
        self.assertTrue(out.startswith("success:"), out)

    def test_stream_over_the_limit_is_stopped(self):
        # 8 MiB of zeros: a small archive, but more than 1 MiB unpacked
        self.tgz("bigz", lambda t: add_file(t, "system.img", bytes(8 << 20)))
        self.assertLess(os.path.getsize(os.path.join(self.seed, "bigz.tgz")), 64 << 10)
        self.refused("bigz", "unpacking was stopped")

    def sparse_tgz(self, tname, sizes):
        """tname.tgz in GNU tar's sparse format: vm.cfg and a file of each
        size (4 bytes of data, the rest a hole)."""
        src = os.path.join(self.agent.dir, tname + "_src")
        os.makedirs(src)
        names = ["vm.cfg"] + ["d%d.img" % i for i in range(len(sizes))]
        with open(os.path.join(src, "vm.cfg"), "w") as f:
            f.write(cfg_text(tname))
        for name, size in zip(names[1:], sizes):
            with open(os.path.join(src, name), "wb") as f:
                f.write(b"data")
                f.truncate(size)
        path = os.path.join(self.seed, tname + ".tgz")
        subprocess.run(["tar", "-C", src, "--sparse", "-czf", path] + names, check=True,
                       timeout=60)
        self.assertLess(os.path.getsize(path), 64 << 10)

    def test_sparse_file_over_the_limit(self):
        self.sparse_tgz("sparse", [100 << 30])     # 100 GiB from a few hundred bytes
        self.refused("sparse", "holds a file larger than")

    def test_sparse_files_adding_up(self):
        # each under the limit, together over it
        self.sparse_tgz("sparse3", [900 << 10] * 3)
        self.refused("sparse3", "add up to more than")

    def test_hard_links_count_per_name(self):
        def fill(t):
            add_file(t, "system.img", b"\1" * (400 << 10))
            for i in range(3):
                add_special(t, "link%d.img" % i, tarfile.LNKTYPE, link="system.img", mode=0o644)
        self.tgz("hard", fill)
        self.refused("hard", "add up to more than")

    def test_directory_template_over_the_limit(self):
        src = os.path.join(self.seed, "bigdir")
        os.makedirs(src)
        with open(os.path.join(src, "vm.cfg"), "w") as f:
            f.write(cfg_text("bigdir"))
        with open(os.path.join(src, "system.img"), "wb") as f:
            f.truncate(2 << 20)
        self.refused("bigdir", "holds %d bytes" % ((2 << 20) + len(cfg_text("bigdir"))))


def proc_children(pid):
    """Pids whose parent is pid, from /proc."""
    kids = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % e) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(e))
    return kids


def proc_comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def proc_gone(pid):
    """Exited (a zombie waiting for init counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


class TemplateCrash(agentfix.FaultAssertions, unittest.TestCase):
    """An agent killed (-9) while it unpacks templates leaves its temporary
    directories; the next start removes them - only those it wrote down, only
    real directories directly in running_pool - and logs each. The unpacking
    processes die with the agent."""

    def test_leftovers_removed_at_next_start(self):
        a = agentfix.Agent(host=HOST)
        pids = []
        try:
            a.start()
            root = a.keys["ovs_root"]
            seed, pool = os.path.join(root, "seed_pool"), os.path.join(root, "running_pool")
            outside = os.path.join(a.dir, "outside")
            for d in (seed, pool, outside):
                os.makedirs(d)
            size = 300 << 20     # big enough for tar to take a while
            with tarfile.open(os.path.join(seed, "slow.tgz"), "w:gz", compresslevel=1) as t:
                add_file(t, "vm.cfg", cfg_text("slow").encode())
                ti = tarfile.TarInfo("system.img")
                ti.size = size
                t.addfile(ti, Zeros(size))
            # another server's unpack in flight in the shared running_pool
            other = os.path.join(pool, ".other.tmp-AbC123")
            os.makedirs(other)

            def create(name):
                try:
                    a.proxy().create_vm_from_template("slow", name)
                except (OSError, xmlrpc.client.Error, http.client.HTTPException):
                    pass   # the agent dies under it
            threads = [threading.Thread(target=create, args=(n,)) for n in ("crash1", "crash2")]
            for th in threads:
                th.start()
            # freeze both unpacks (helper, gzip, tar share a process group)
            deadline = time.time() + 30
            helpers = set()
            while len(helpers) < 2:
                self.assertLess(time.time(), deadline, "the unpacks never started")
                for h in proc_children(a.proc.pid):
                    if h not in helpers and "tar" in [proc_comm(k) for k in proc_children(h)]:
                        os.killpg(h, signal.SIGSTOP)
                        helpers.add(h)
                        pids += [h] + proc_children(h)
                time.sleep(0.005)
            tmps = sorted(e for e in os.listdir(pool) if e.startswith(".crash"))
            self.assertEqual([t.split(".tmp-")[0] for t in tmps], [".crash1", ".crash2"], tmps)
            a.proc.kill()
            a.proc.wait(10)
            for th in threads:
                th.join(30)
            deadline = time.time() + 10
            while not all(proc_gone(p) for p in pids):
                self.assertLess(time.time(), deadline, "unpacking processes outlived the agent")
                time.sleep(0.05)
            self.assertTrue(all(os.path.isdir(os.path.join(pool, t)) for t in tmps))
            # one leftover swapped for a symlink to a directory outside
            with open(os.path.join(outside, "keep"), "w") as f:
                f.write("keep")
            shutil.rmtree(os.path.join(pool, tmps[1]))
            os.symlink(outside, os.path.join(pool, tmps[1]))

            a.start()
            deadline = time.time() + 60
            while os.path.lexists(os.path.join(pool, tmps[0])) or "left alone" not in a.log():
                self.assertLess(time.time(), deadline, "the leftover was not removed:\n" + a.log())
                time.sleep(0.05)
            log = a.log()
            self.assertIn("removed %s/%s, left by a create_vm_from_template that did not finish"
                          % (pool, tmps[0]), log)
            self.assertIn("%s/%s is not a directory (a symlink, not followed): left alone"
                          % (pool, tmps[1]), log)
            self.assertTrue(os.path.islink(os.path.join(pool, tmps[1])))
            with open(os.path.join(outside, "keep")) as f:
                self.assertEqual(f.read(), "keep")
            self.assertTrue(os.path.isdir(other))        # never written down: not ours
            self.assertFalse(os.path.lexists(os.path.join(pool, "crash1")))
            self.fault(1001, a.proxy().get_vm_status, "crash1")
            # forgotten once handled: the next start finds nothing to do
            self.assertEqual(a.stop(), 0)
            a.start()
            with tarfile.open(os.path.join(seed, "quick.tgz"), "w:gz") as t:
                add_file(t, "vm.cfg", cfg_text("quick").encode())
                add_file(t, "system.img", IMG)
            out = a.proxy().create_vm_from_template("quick", "crash1")
            self.assertTrue(out.startswith("success:"), out)
            self.assertEqual(a.log().count("left by a create_vm_from_template"), 1)
            self.assertEqual(a.log().count("left alone"), 1)
            self.assertEqual(a.stop(), 0)
        finally:
            for p in pids:
                if not proc_gone(p):
                    os.kill(p, signal.SIGKILL)
            a.cleanup()


if __name__ == "__main__":
    main()
