"""test_repositories.py - the agent's repositories on real mounts: ext4
images on loop devices, mounted inside a mount namespace this test makes
(`unshare -m --propagation private`), so nothing outside it sees a mount.

The outer copy makes the images (mkfs.ext4) and the loop devices
(`losetup -f --show`) and detaches each, by the name losetup printed, at
the end, pass or fail; it then runs itself again inside the namespace,
where the mounts, the agent and the client live. Checked:
get_storage_repos shows a mounted repository with its size and free
space; `umount` behind the agent's back shows it offline within a second
(the agent watches mountinfo) and start_vm of a guest on it faults 1004
naming the repository; mounted again, online; a full file system makes
xen_create_disk fault 1005 with the free space; every storage method's
answer parses with json.loads; add_repository / remove_repository
through hooks/ovs-makerepo and ovs-offlinerepo (skipped until those are
in the tree), refused while a guest of it runs, and list_hook_runs shows
the runs; sr_create on sp_create's storage; a second agent started while a
listed repository is not mounted runs ovsrepositories start; SIGHUP reads
the files again.

Needs root, unshare, losetup, mkfs.ext4; skipped otherwise.
Run: python3 tests/e2e/test_repositories.py [test_name...]
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
import hostfix  # noqa: E402
from tap import main, main_inside  # noqa: E402

INSIDE = "OVS_REPO_TEST_DEVS"   # the loop devices, set for the copy inside
HOOKS = os.path.join(agentfix.REPO, "hooks")
U_BIG = "0004fb00-0000-1000-8000-0000000000b1"
U_SMALL = "0004fb00-0000-1000-8000-0000000000b2"

VM_CFG = """name = '%(name)s'
memory = 128
vcpus = 1
builder = 'hvm'
disk = [ 'file:%(dir)s/system.img,hda,w', ]
vif = [ 'type=ioemu, bridge=xenbr0' ]
"""


def run(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError("%s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def can_run():
    if os.geteuid() != 0:
        return "needs root (loop devices, mounts)"
    for tool in ("unshare", "losetup", "mkfs.ext4", "mount", "umount"):
        if not shutil.which(tool):
            return "needs %s" % tool
    return None


def scripts_ready():
    for s in ("ovs-makerepo", "ovs-offlinerepo", "ovsrepositories"):
        if not os.access(os.path.join(HOOKS, s), os.X_OK):
            return "hooks/%s is not in the tree yet" % s
    return None


def answer(s):
    """A storage method's answer: a JSON string with status SUCC."""
    assert isinstance(s, str), s
    v = json.loads(s)
    assert v["status"] == "SUCC", s
    return v["value"]


def write_marker(mnt, uuid, shared, desc):
    with open(os.path.join(mnt, ".ovsrepo"), "w") as f:
        f.write("OVS_REPO_UUID=%s\nOVS_REPO_SHARED=%s\nOVS_REPO_DESCRIPTION=%s\n"
                "OVS_REPO_VERSION=1\n" % (uuid, shared, desc))
    for p in ("running_pool", "seed_pool", "iso_pool", "publish_pool", "sharedDisk"):
        os.makedirs(os.path.join(mnt, p), exist_ok=True)


def repo_by_uuid(agent, uuid):
    for r in answer(agent.proxy().get_storage_repos())["repositories"]:
        if r["uuid"] == uuid:
            return r
    return None


def wait_mounted(agent, uuid, want, limit=1.0):
    """Seconds until get_storage_repos shows uuid mounted == want, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        r = repo_by_uuid(agent, uuid)
        if r and r["mounted"] == want:
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


class Repositories(agentfix.AgentCase):
    @classmethod
    def setUpClass(cls):
        cls.devs = os.environ[INSIDE].split(",")
        cls.agent = agentfix.Agent(host="127.0.0.1", env={
            "OVS_DB_DUMP": agentfix.binary("db_dump")})
        cls.mounted = []
        try:
            root = cls.agent.keys["ovs_root"]
            os.makedirs(root)
            os.makedirs(cls.agent.keys["hooks_dir"])
            cls.big = os.path.join(root, U_BIG)
            cls.small = os.path.join(root, U_SMALL)
            with open(cls.agent.keys["repositories_file"], "w") as f:
                f.write("# test repositories\n%s %s\n%s %s\n"
                        % (U_BIG, cls.devs[0], U_SMALL, cls.devs[1]))
            for d, dev, u, desc in ((cls.big, cls.devs[0], U_BIG, "big disk"),
                                    (cls.small, cls.devs[1], U_SMALL, "small disk")):
                os.makedirs(d)
                cls.mount(dev, d)
                write_marker(d, u, "0", desc)
            g = os.path.join(cls.big, "running_pool", "g1")
            os.makedirs(g)
            with open(os.path.join(g, "vm.cfg"), "w") as f:
                f.write(VM_CFG % {"name": "g1", "dir": g})
            open(os.path.join(g, "system.img"), "w").close()
            cls.guest = g
            cls.agent.start()
        except BaseException:
            cls.unmount_all()
            cls.agent.cleanup()
            raise

    @classmethod
    def mount(cls, dev, d):
        run("mount", "-t", "ext4", dev, d)
        cls.mounted.append(d)

    @classmethod
    def unmount_all(cls):
        for d in reversed(cls.mounted):
            subprocess.run(["umount", "-l", d], capture_output=True, timeout=30)
        cls.mounted = []

    @classmethod
    def tearDownClass(cls):
        # the mounts first: the agent's cleanup removes its directory
        try:
            cls.unmount_all()
        finally:
            super().tearDownClass()

    def test_1_repos_shown(self):
        """get_storage_repos: both repositories mounted, with size, free and
        the marker's description; get_storage_free_space agrees."""
        r = repo_by_uuid(self.agent, U_BIG)
        self.assertIsNotNone(r)
        self.assertTrue(r["mounted"])
        self.assertEqual(r["mount_point"], self.big)
        self.assertEqual(r["source"], self.devs[0])
        self.assertEqual(r["description"], "big disk")
        self.assertEqual(r["shared"], "0")
        self.assertEqual(r["fstype"], "ext4")
        self.assertGreater(r["size"], 30 << 20)
        self.assertGreater(r["free"], 0)
        self.assertLessEqual(r["free"], r["size"])
        f = answer(self.agent.proxy().get_storage_free_space(U_BIG))
        self.assertEqual(f["uuid"], U_BIG)
        self.assertEqual(f["total"], r["size"])
        self.assertLessEqual(f["free"], f["total"])
        self.fault(1001, self.agent.proxy().get_storage_free_space,
                   "0004fb00-0000-1000-8000-0000000000ff")
        self.fault(1000, self.agent.proxy().get_storage_free_space, "nonsense")

    def test_2_offline_and_back(self):
        """umount behind the agent's back: offline within a second, logged;
        start_vm faults 1004 naming the repository; mounted again: online,
        and the guest starts."""
        p = self.agent.proxy()
        self.assertEqual(p.start_vm(self.guest), "success:ip=127.0.0.1")
        self.assertEqual(p.destroy_vm(self.guest), "success")
        run("umount", self.big)
        self.mounted.remove(self.big)
        took = wait_mounted(self.agent, U_BIG, False)
        self.assertIsNotNone(took, "still shown mounted after 1 s")
        sys.stdout.write("# offline seen after %.0f ms\n" % (took * 1000))
        self.assertIn("repository %s (%s) is offline" % (U_BIG, self.devs[0]), self.agent.log())
        msg = self.fault(1004, p.start_vm, self.guest)
        self.assertIn(U_BIG, msg)
        self.assertIn(self.devs[0], msg)
        self.fault(1004, p.get_storage_free_space, U_BIG)
        r = repo_by_uuid(self.agent, U_BIG)
        self.assertIsNone(r["size"])
        # the same guest through a path that still exists under the mount point
        os.makedirs(self.guest)
        with open(os.path.join(self.guest, "vm.cfg"), "w") as f:
            f.write(VM_CFG % {"name": "g1", "dir": self.guest})
        try:
            self.assertIn(U_BIG, self.fault(1004, p.start_vm, self.guest))
        finally:
            shutil.rmtree(os.path.join(self.big, "running_pool"))
        self.mount(self.devs[0], self.big)
        took = wait_mounted(self.agent, U_BIG, True)
        self.assertIsNotNone(took, "not shown mounted after 1 s")
        sys.stdout.write("# online seen after %.0f ms\n" % (took * 1000))
        self.assertIn("repository %s (%s) is online" % (U_BIG, self.devs[0]), self.agent.log())
        self.assertEqual(p.start_vm(self.guest), "success:ip=127.0.0.1")
        self.assertEqual(p.destroy_vm(self.guest), "success")

    def test_3_full_file_system(self):
        """A disk larger than the free space: 1005 with the free space in
        human units and bytes; one that fits is made."""
        p = self.agent.proxy()
        free = answer(p.get_storage_free_space(U_SMALL))["free"]
        disk = os.path.join(self.small, "sharedDisk", "big.img")
        msg = self.fault(1005, p.xen_create_disk, disk, 64)
        self.assertIn("%d bytes" % free, msg)
        self.assertIn("MiB", msg)
        self.assertFalse(os.path.exists(disk))
        small = os.path.join(self.small, "sharedDisk", "small.img")
        self.assertEqual(p.xen_create_disk(small, 1), "success")
        self.assertEqual(os.path.getsize(small), 1 << 20)
        os.unlink(small)

    def test_4_storage_methods_json(self):
        """sp_create, sr_do: JSON strings; bad arguments are faults."""
        p = self.agent.proxy()
        sp = answer(p.sp_create("OVSSPPartition", self.devs[2]))
        uuidlib.UUID(sp["uuid"])
        self.assertEqual(sp["type"], "OVSSPPartition")
        self.assertEqual(sp["fs_spec"], self.devs[2])
        self.assertEqual(answer(p.sp_create("OVSSPPartition", self.devs[2]))["uuid"], sp["uuid"])
        nfs = answer(p.sp_create("OVSSPNFS", "filer1:/export/ovs"))
        self.assertNotEqual(nfs["uuid"], sp["uuid"])
        self.fault(1000, p.sp_create, "OVSSPZFS", self.devs[2])
        self.fault(1000, p.sp_create, "OVSSPNFS", "/dev/null")
        self.fault(1000, p.sp_create, "OVSSPPartition", "/etc/passwd")
        self.fault(1001, p.sr_create, "0004fb00-0000-1000-8000-0000000000ff", "x")
        r = answer(p.sr_do(U_BIG, "initialize"))
        self.assertEqual(r["uuid"], U_BIG)
        self.assertTrue(os.path.isdir(os.path.join(self.big, "publish_pool")))
        self.assertTrue(answer(p.sr_do(U_BIG, "mount"))["mounted"])
        self.fault(1000, p.sr_do, U_BIG, "explode")
        self.fault(1001, p.sr_do, "0004fb00-0000-1000-8000-0000000000ff", "mount")
        self.assertIn("repositories", answer(p.get_storage_repos()))

    def test_5_add_remove_through_scripts(self):
        """add_repository / remove_repository run ovs-makerepo and
        ovs-offlinerepo through the hook runner; remove is refused while a
        guest of the repository runs; list_hook_runs shows the runs."""
        why = scripts_ready()
        if why:
            self.skipTest(why)
        hooks = self.agent.keys["hooks_dir"]
        for s in ("ovs-makerepo", "ovs-offlinerepo", "ovsrepositories"):
            if not os.path.exists(os.path.join(hooks, s)):
                os.symlink(os.path.join(HOOKS, s), os.path.join(hooks, s))
        p = self.agent.proxy()
        r = answer(p.add_repository(self.devs[2], "0", "added by the test"))
        u = r["uuid"]
        uuidlib.UUID(u)
        mnt = os.path.join(self.agent.keys["ovs_root"], u)
        self.mounted.append(mnt)
        self.assertTrue(r["mounted"], r)
        self.assertEqual(r["mount_point"], mnt)
        self.assertEqual(r["description"], "added by the test")
        shown = repo_by_uuid(self.agent, u)
        self.assertTrue(shown["mounted"])
        self.assertGreater(shown["size"], 0)
        # a guest of it runs: refused in the agent, naming it
        g = os.path.join(mnt, "running_pool", "g2")
        os.makedirs(g)
        with open(os.path.join(g, "vm.cfg"), "w") as f:
            f.write(VM_CFG % {"name": "g2", "dir": g})
        self.assertEqual(p.start_vm(g), "success:ip=127.0.0.1")
        try:
            msg = self.fault(1004, p.remove_repository, u, True)
            self.assertIn(g, msg)
        finally:
            self.assertEqual(p.destroy_vm(g), "success")
        p.unregister_vm(g)
        r = answer(p.remove_repository(u, True))
        self.assertEqual(r["uuid"], u)
        self.assertTrue(r["deleted"])
        self.assertFalse(r["mounted"])
        self.mounted.remove(mnt)
        self.assertIsNone(repo_by_uuid(self.agent, u))
        runs = p.list_hook_runs()
        names = [os.path.basename(x["hook"]) for x in runs if x["kind"] == "repository"]
        self.assertIn("ovs-makerepo", names)
        self.assertIn("ovs-offlinerepo", names)
        self.fault(1001, p.remove_repository, u)

    def test_6_sr_create_and_start_up(self):
        """sr_create on recorded storage runs ovs-makerepo; a second agent
        started while that repository is listed but not mounted runs
        ovsrepositories start, and its view shows it mounted."""
        why = scripts_ready()
        if why:
            self.skipTest(why)
        p = self.agent.proxy()
        sp = answer(p.sp_create("OVSSPPartition", self.devs[2]))["uuid"]
        r = answer(p.sr_create(sp, "made by sr_create"))
        u = r["uuid"]
        mnt = os.path.join(self.agent.keys["ovs_root"], u)
        self.mounted.append(mnt)
        self.assertEqual(r["sp_uuid"], sp)
        self.assertEqual(r["description"], "made by sr_create")
        self.assertEqual(r["shared"], "0")
        self.assertTrue(r["mounted"])
        r = answer(p.sr_do(u, "unmount"))
        self.assertFalse(r["mounted"])
        self.assertFalse(r["deleted"])
        self.mounted.remove(mnt)
        self.assertFalse(repo_by_uuid(self.agent, u)["mounted"])
        keys = self.agent.keys
        with agentfix.Agent(host="127.0.0.1", env={"OVS_DB_DUMP": agentfix.binary("db_dump")},
                            extra={k: keys[k] for k in ("ovs_root", "repositories_file",
                                                        "hooks_dir")}) as b:
            self.mounted.append(mnt)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not repo_by_uuid(b, u)["mounted"]:
                time.sleep(0.1)
            self.assertTrue(repo_by_uuid(b, u)["mounted"], b.log())
            runs = [x for x in b.proxy().list_hook_runs() if x["kind"] == "repository"]
            self.assertEqual([os.path.basename(x["hook"]) for x in runs], ["ovsrepositories"])
            self.assertIn("start", runs[0]["argv"])
        # the first agent saw the mount too (mountinfo)
        self.assertIsNotNone(wait_mounted(self.agent, u, True))
        r = answer(p.remove_repository(u, True))
        self.assertTrue(r["deleted"])
        self.mounted.remove(mnt)
        self.assertIsNone(repo_by_uuid(self.agent, u))

    def test_7_sighup_reads_the_files(self):
        """A line added to the repositories file shows after SIGHUP."""
        u = "0004fb00-0000-1000-8000-0000000000b7"
        path = self.agent.keys["repositories_file"]
        with open(path) as f:
            old = f.read()
        try:
            with open(path, "a") as f:
                f.write("%s /nonexistent/lab\n" % u)
            self.agent.reload()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not repo_by_uuid(self.agent, u):
                time.sleep(0.05)
            r = repo_by_uuid(self.agent, u)
            self.assertIsNotNone(r)
            self.assertFalse(r["mounted"])
            self.assertIsNone(r["size"])
            self.assertEqual(r["mount_point"], os.path.join(self.agent.keys["ovs_root"], u))
        finally:
            with open(path, "w") as f:
                f.write(old)
            self.agent.reload()

    def test_8_install_and_template_space(self):
        """With running_pool on the small file system: install_vm_hvm with a
        disk larger than its free space, and a directory template larger
        than it, fault 1005 with the free space; nothing is left behind."""
        root = self.agent.keys["ovs_root"]
        pool = os.path.join(root, "running_pool")
        iso = os.path.join(root, "iso_pool", "boot.iso")
        os.makedirs(os.path.dirname(iso), exist_ok=True)
        with open(iso, "wb") as f:
            f.write(bytes(0x8000) + b"\x01CD001\x01" + bytes(0x10000))
        tdir = os.path.join(root, "seed_pool", "fat_seed")
        os.makedirs(tdir, exist_ok=True)
        with open(os.path.join(tdir, "vm.cfg"), "w") as f:
            f.write("name = 'fat_seed'\nmemory = 128\n"
                    "disk = [ 'file:%s/system.img,hda,w', ]\n" % tdir)
        with open(os.path.join(tdir, "system.img"), "wb") as f:
            f.truncate(32 << 20)        # sparse: counted at its size
        os.makedirs(pool, exist_ok=True)
        run("mount", "--bind", os.path.join(self.small, "running_pool"), pool)
        self.mounted.append(pool)
        try:
            p = self.agent.proxy()
            free = answer(p.get_storage_free_space(U_SMALL))["free"]
            msg = self.fault(1005, p.install_vm_hvm, "fat", 256, 1, 64, iso)
            self.assertIn("%d bytes" % free, msg)
            self.assertIn("67108864 bytes", msg)
            self.fault(1001, p.get_vm_status, "fat")
            msg = self.fault(1005, p.create_vm_from_template, "fat_seed", "fat2")
            self.assertIn("bytes) free", msg)
            self.assertIn("33554", msg)     # the template's 32 MiB and more
            self.assertEqual([e for e in os.listdir(pool) if e != "lost+found"], [])
        finally:
            run("umount", pool)
            self.mounted.remove(pool)


def outer():
    """Images and loop devices here; the test inside a mount namespace."""
    tmp = tempfile.mkdtemp(prefix="ovs-repo-test-")
    devs = []
    try:
        for name, mb in (("big", 64), ("small", 8), ("spare", 32)):
            img = os.path.join(tmp, name + ".img")
            with open(img, "wb") as f:
                f.truncate(mb << 20)
            run("mkfs.ext4", "-q", "-F", "-m", "0", img)
            devs.append(run("losetup", "-f", "--show", img).stdout.strip())
        return hostfix.rerun_in_namespaces(__file__, ["-m"],
                                           dict(os.environ, **{INSIDE: ",".join(devs)}))
    finally:
        for d in devs:
            subprocess.run(["losetup", "-d", d], capture_output=True, timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main_inside(INSIDE, can_run(), outer)
