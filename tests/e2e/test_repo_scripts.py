#!/usr/bin/env python3
"""test_repo_scripts.py - hooks/ovs-makerepo, hooks/ovs-offlinerepo and
hooks/ovsrepositories (guide chapter 7) on real loop-device mounts.

The whole file runs inside a mount namespace of its own (`unshare -m
--propagation private`, entered by re-running itself), so no mount is seen
outside it. Each test gets a temp dir with a tmpfs at OVS/ (OVS_ROOT) and
one at etc/ (OVS_REPOSITORIES=etc/repositories), three 64 MiB ext4 images
on loop devices (`losetup -f --show`) and a blank one; everything is
unmounted, the loop devices detached by name and the dir removed after each
test, pass or fail. The offline refusal runs a real agent (sim backend) in
the same namespace, its ovs_root the test's OVS/. NFS is not in this
kernel: an NFS source is tested up to mount's error. Needs root, losetup,
mkfs.ext4, unshare.

Run: python3 tests/e2e/test_repo_scripts.py [test_name...]
Prints one TAP line per test (see tap.py); exits 1 when any failed.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from agentfix import Agent, binary  # noqa: E402
from tap import main  # noqa: E402
from test_network_bridge import run  # noqa: E402  (argv's result; fails on a non-zero exit)

ROOT = os.path.dirname(os.path.dirname(HERE))
HOOKS = os.path.join(ROOT, "hooks")
MAKEREPO = os.path.join(HOOKS, "ovs-makerepo")
OFFLINEREPO = os.path.join(HOOKS, "ovs-offlinerepo")
REPOSITORIES = os.path.join(HOOKS, "ovsrepositories")
POOLS = ["running_pool", "seed_pool", "iso_pool", "publish_pool", "sharedDisk"]
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
TIMEOUT = 60            # every script run
IN_NS = "OVS_REPO_TEST_NS"


def can_run():
    if os.geteuid() != 0:
        return "needs root (loop devices, mounts)"
    for tool in ("losetup", "mkfs.ext4", "unshare", "mountpoint", "flock", "blkid"):
        if not shutil.which(tool):
            return "%s is not installed" % tool
    if not os.environ.get(IN_NS):
        return "not inside the test's mount namespace"
    return None


def mounts():
    """{mount point: [(source, options), ...]} from this namespace's mountinfo,
    stacked mounts in order."""
    out = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            a, _, b = line.partition(" - ")
            fields, tail = a.split(), b.split()
            mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            out.setdefault(mp, []).append((tail[1], fields[5]))
    return out


@unittest.skipIf(can_run(), can_run())
class RepoCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ovs-repo-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.root = os.path.join(self.tmp, "OVS")
        self.etc = os.path.join(self.tmp, "etc")
        self.scratch = os.path.join(self.tmp, "scratch")  # the scripts' TMPDIR
        for d in (self.root, self.etc, self.scratch):
            os.mkdir(d)
        self.addCleanup(self.unmount_all)
        run("mount", "-t", "tmpfs", "tmpfs", self.root)
        run("mount", "-t", "tmpfs", "tmpfs", self.etc)
        self.file = os.path.join(self.etc, "repositories")
        self.env = dict(os.environ, OVS_ROOT=self.root, OVS_REPOSITORIES=self.file,
                        TMPDIR=self.scratch, OVS_DB_DUMP="")
        self.loops = {}
        for name in ("a", "b", "c", "blank"):
            img = os.path.join(self.tmp, name + ".img")
            with open(img, "wb") as f:
                f.truncate(64 << 20)
            if name != "blank":
                run("mkfs.ext4", "-q", "-F", img)
            dev = run("losetup", "-f", "--show", img).stdout.strip()
            self.addCleanup(run, "losetup", "-d", dev, check=False)
            self.loops[name] = dev

    def unmount_all(self):
        """Every mount under the temp dir, deepest first, so the loop
        devices come free."""
        for _ in range(20):
            here = sorted((mp for mp in mounts() if mp.startswith(self.tmp + "/")),
                          key=len, reverse=True)
            if not here:
                return
            run("umount", here[0], check=False)
        raise AssertionError("mounts left under %s: %s" % (self.tmp, here))

    # -- helpers -------------------------------------------------------------
    def script(self, path, *args, ok=True, code=None, **env):
        e = dict(self.env, **env)
        r = run(path, *args, env=e, check=False)
        if code is not None:
            self.assertEqual(r.returncode, code, (args, r.stdout, r.stderr))
        elif ok and r.returncode != 0:
            self.fail("%s %s: exit %d\n%s%s" % (os.path.basename(path), " ".join(args),
                                                r.returncode, r.stdout, r.stderr))
        return r

    def makerepo(self, source, shared, desc, **kw):
        r = self.script(MAKEREPO, source, shared, desc, **kw)
        if r.returncode == 0:
            self.assertRegex(r.stdout.strip(), UUID_RE)
            self.assertEqual(r.stdout.count("\n"), 1, r.stdout)  # the uuid alone
        return r

    def offline(self, *args, **kw):
        return self.script(OFFLINEREPO, *args, **kw)

    def init(self, *args, **kw):
        return self.script(REPOSITORIES, *args, **kw)

    def lines(self, path=None):
        path = path or self.file
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [l.rstrip("\n") for l in f]

    def marker(self, d):
        with open(os.path.join(d, ".ovsrepo")) as f:
            return dict(l.rstrip("\n").split("=", 1) for l in f)

    def assert_mounted(self, dev, mp, ro=False):
        m = mounts().get(mp)
        self.assertTrue(m, "nothing mounted at %s" % mp)
        self.assertEqual(m[-1][0], dev, m)
        self.assertEqual(m[-1][1].split(",")[0], "ro" if ro else "rw", m)
        for p in POOLS:
            self.assertTrue(os.path.isdir(os.path.join(mp, p)), p)

    def assert_not_mounted(self, dev):
        for mp, stack in mounts().items():
            self.assertNotIn(dev, [s for s, _ in stack], "%s still mounted at %s" % (dev, mp))

    def assert_no_leftovers(self):
        self.assertEqual(os.listdir(self.scratch), [])
        self.assertEqual([n for n in os.listdir(self.etc) if n.startswith(".repositories.")
                          and n != ".repositories.lock"], [])


class MakeRepo(RepoCase):
    def test_local_disk(self):
        """The guide's `ovs-makerepo /dev/loopN 0 "local disk"`."""
        dev = self.loops["a"]
        uuid = self.makerepo(dev, "0", "local disk").stdout.strip()
        self.assertEqual(self.lines(), ["%s %s" % (uuid, dev)])
        mp = os.path.join(self.root, uuid)
        self.assert_mounted(dev, mp)
        self.assertEqual(self.marker(mp), {"OVS_REPO_UUID": uuid, "OVS_REPO_SHARED": "0",
                                           "OVS_REPO_DESCRIPTION": "local disk",
                                           "OVS_REPO_VERSION": "1"})
        # Once more: says so, changes nothing.
        before = (self.lines(), os.stat(self.file).st_ino, mounts())
        r = self.makerepo(dev, "0", "local disk")
        self.assertEqual(r.stdout.strip(), uuid)
        self.assertIn("already", r.stderr)
        self.assertEqual((self.lines(), os.stat(self.file).st_ino, mounts()), before)
        self.assertEqual(len(mounts()[mp]), 1)
        self.assert_no_leftovers()

    def test_at_once(self):
        """Eight ovs-makerepo of one source at the same time: the lock lets
        one make it, the others find it listed; one line, one mount."""
        procs = [subprocess.Popen([MAKEREPO, self.loops["a"], "0", "d"], env=self.env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(8)]
        outs = [p.communicate(timeout=TIMEOUT) for p in procs]
        self.assertEqual([p.returncode for p in procs], [0] * 8, outs)
        uuids = {o.strip() for o, _ in outs}
        self.assertEqual(len(uuids), 1, outs)
        uuid = uuids.pop()
        self.assertEqual(self.lines(), ["%s %s" % (uuid, self.loops["a"])])
        self.assertEqual(len(mounts()[os.path.join(self.root, uuid)]), 1)
        self.assert_no_leftovers()

    def test_cluster_root(self):
        """`ovs-makerepo /dev/loopM C "cluster root"` mounts at /OVS, over
        which a repository made before is mounted again; a second C is
        refused."""
        local = self.makerepo(self.loops["a"], "0", "local disk").stdout.strip()
        root = self.makerepo(self.loops["b"], "C", "cluster root").stdout.strip()
        self.assert_mounted(self.loops["b"], self.root)
        self.assertEqual(self.marker(self.root)["OVS_REPO_SHARED"], "C")
        self.assert_mounted(self.loops["a"], os.path.join(self.root, local))
        self.assertEqual(self.lines(), ["%s %s" % (local, self.loops["a"]),
                                        "%s %s" % (root, self.loops["b"])])
        before = self.lines()
        r = self.makerepo(self.loops["c"], "C", "another root", code=1)
        self.assertIn("a second cluster root: %s" % root, r.stderr)
        self.assertEqual(self.lines(), before)
        self.assert_not_mounted(self.loops["c"])
        # Also while the cluster root is not mounted: its marker is read.
        self.init("stop")
        r = self.makerepo(self.loops["c"], "C", "another root", code=1)
        self.assertIn("a second cluster root: %s" % root, r.stderr)
        self.assert_not_mounted(self.loops["c"])
        self.assert_no_leftovers()

    def test_same_source_keeps_its_uuid(self):
        """The marker travels with the file system: made again on "another
        host" (an empty repositories file), the source keeps its uuid; a
        description given then is written to the marker."""
        uuid = self.makerepo(self.loops["a"], "1", "shared disk").stdout.strip()
        self.offline("-d", uuid, self.loops["a"])
        self.assertEqual(self.lines(), [])
        self.assert_not_mounted(self.loops["a"])
        r = self.makerepo(self.loops["a"], "1", "renamed")
        self.assertEqual(r.stdout.strip(), uuid)
        mp = os.path.join(self.root, uuid)
        self.assertEqual(self.marker(mp)["OVS_REPO_DESCRIPTION"], "renamed")
        # The marker is read, never run: a description is only text.
        self.offline("-d", uuid, self.loops["a"])
        r = self.makerepo(self.loops["a"], "1", "$(touch %s/x) `id`" % self.tmp)
        self.assertEqual(self.marker(mp)["OVS_REPO_DESCRIPTION"], "$(touch %s/x) `id`" % self.tmp)
        self.init("restart")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x")))

    def test_directory_source(self):
        """An absolute directory is bind-mounted (labs and tests)."""
        d = os.path.join(self.tmp, "dir")
        os.mkdir(d)
        uuid = self.makerepo(d, "0", "a directory").stdout.strip()
        mp = os.path.join(self.root, uuid)
        self.assertTrue(os.path.ismount(mp))
        self.assertEqual(self.marker(d)["OVS_REPO_UUID"], uuid)
        self.assertTrue(os.path.isdir(os.path.join(d, "running_pool")))
        self.offline(uuid, d)
        self.assertFalse(os.path.ismount(mp))
        self.assertEqual(self.lines(), ["%s %s" % (uuid, d)])

    def test_bad_sources(self):
        for src, words in (("foo", "neither a block device"),
                           ("relative/dir", "neither a block device"),
                           ("/nonexistent", "neither a block device"),
                           (os.path.join(self.tmp, "a.img"), "neither a block device"),
                           ("host:relative", "neither a block device"),
                           ("/dev/null", "neither a block device"),
                           (self.loops["blank"], "no file system on %s" % self.loops["blank"])):
            r = self.makerepo(src, "0", "bad", code=1)
            self.assertIn(words, r.stderr, src)
            self.assertEqual(r.stdout, "")
        self.assertEqual(self.lines(), [])
        self.assertEqual(os.listdir(self.root), [])
        self.assert_no_leftovers()

    def test_nfs_up_to_mount(self):
        """host:/export is mounted with mount -t nfs; this kernel has no NFS,
        so it fails with mount's own words and nothing is recorded."""
        for src in ("nfs.example.com:/export/ovs", "[fd00::1]:/export"):
            r = self.makerepo(src, "1", "nfs", code=1)
            self.assertIn("cannot mount %s: mount: " % src, r.stderr)
            self.assertIn("nfs", r.stderr)
        self.assertEqual(self.lines(), [])
        self.assert_no_leftovers()

    def test_mount_failure_takes_the_line_back(self):
        """Options that mount refuses: mount's words, and the line that was
        written for the repository is gone again."""
        uuid = self.makerepo(self.loops["a"], "0", "d").stdout.strip()
        self.offline("-d", uuid, self.loops["a"])
        with open(self.file + ".options", "w") as f:
            f.write("%s nosuchoption=1\n" % uuid)
        r = self.makerepo(self.loops["a"], "0", "d", code=1)
        self.assertIn("cannot mount %s at %s/%s: mount: " % (self.loops["a"], self.root, uuid),
                      r.stderr)
        self.assertEqual(self.lines(), [])
        self.assert_not_mounted(self.loops["a"])

    def test_usage(self):
        for args in ([], ["a"], ["a", "0"], ["a", "0", "d", "x"], [self.loops["a"], "2", "d"],
                     [self.loops["a"], "c", "d"], [self.loops["a"], "0", "two\nlines"],
                     [self.loops["a"], "0", "x" * 257]):
            r = self.makerepo(*args, code=2) if len(args) == 3 else \
                self.script(MAKEREPO, *args, code=2)
            self.assertIn("usage: ovs-makerepo source C|1|0 description", r.stderr)
        for args in ([], ["-d"], ["-d", "x"], ["NOT-A-UUID", "/dev/x"],
                     ["-x", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "/dev/x"]):
            r = self.offline(*args, code=2)
            self.assertIn("usage: ovs-offlinerepo [-d] uuid source", r.stderr)
        for args in ([], ["frobnicate"], ["start", "stop"]):
            r = self.init(*args, code=2)
            self.assertIn("usage: ovsrepositories start|stop|status|restart|reload", r.stderr)
        self.assertEqual(self.lines(), [])
        self.assertEqual(self.makerepo(self.loops["a"], "0", "x" * 256).returncode, 0)


class InitScript(RepoCase):
    def two(self):
        local = self.makerepo(self.loops["a"], "0", "local").stdout.strip()
        root = self.makerepo(self.loops["b"], "C", "root").stdout.strip()
        return local, root

    def test_stop_start_status(self):
        local, root = self.two()
        lmp = os.path.join(self.root, local)
        r = self.init("status")
        self.assertEqual(r.stdout.splitlines(), [
            "%s %s %s mounted" % (local, self.loops["a"], lmp),
            "%s %s %s mounted" % (root, self.loops["b"], self.root)])
        self.init("stop")
        self.assert_not_mounted(self.loops["a"])
        self.assert_not_mounted(self.loops["b"])
        r = self.init("status", code=3)
        self.assertEqual(r.stdout.splitlines(), [
            "%s %s - not mounted" % (local, self.loops["a"]),
            "%s %s - not mounted" % (root, self.loops["b"])])
        self.init("stop")                       # nothing to do
        self.init("start")
        self.assert_mounted(self.loops["b"], self.root)
        self.assert_mounted(self.loops["a"], lmp)
        self.assertEqual(len(mounts()[self.root]), 2)    # the tmpfs and the root
        r = self.init("start")                  # nothing to do
        self.assertEqual(len(mounts()[lmp]), 1)
        self.init("restart")
        self.assert_mounted(self.loops["a"], lmp)
        self.assertEqual(self.init("status").returncode, 0)
        self.assert_no_leftovers()

    def test_options_read_only(self):
        """repositories.options `uuid ro` makes the next mount read-only."""
        local, root = self.two()
        with open(self.file + ".options", "w") as f:
            f.write("# mount options\n%s ro\n" % local)
        lmp = os.path.join(self.root, local)
        self.assert_mounted(self.loops["a"], lmp)            # not yet
        self.init("stop")
        self.init("start")
        self.assert_mounted(self.loops["a"], lmp, ro=True)
        self.assert_mounted(self.loops["b"], self.root)
        with self.assertRaises(OSError):
            open(os.path.join(lmp, "running_pool", "f"), "w").close()
        # -d takes the options line too, and keeps the comment.
        self.offline("-d", local, self.loops["a"])
        self.assertEqual(self.lines(self.file + ".options"), ["# mount options"])

    def test_reload(self):
        """reload after editing the file: the new one mounted, the removed
        one unmounted, the others left alone."""
        local, root = self.two()
        d = os.path.join(self.tmp, "dir")
        os.mkdir(d)
        new = self.makerepo(d, "1", "new").stdout.strip()
        self.offline("-d", new, d)              # its marker stays on d
        self.assertFalse(os.path.ismount(os.path.join(self.root, new)))
        with open(self.file, "w") as f:
            f.write("# edited by hand\n\n%s %s\n%s %s\n" % (root, self.loops["b"], new, d))
        self.init("reload")
        self.assert_not_mounted(self.loops["a"])
        self.assertTrue(os.path.ismount(os.path.join(self.root, new)))
        self.assert_mounted(self.loops["b"], self.root)
        self.assertEqual(len(mounts()[self.root]), 2)
        self.assertEqual(self.lines()[:2], ["# edited by hand", ""])
        # The cluster root taken out of the file too.
        with open(self.file, "w") as f:
            f.write("%s %s\n" % (new, d))
        self.init("reload")
        self.assert_not_mounted(self.loops["b"])
        self.assertTrue(os.path.ismount(os.path.join(self.root, new)))
        self.assertEqual(len(mounts()[self.root]), 1)     # the test's tmpfs


class Offline(RepoCase):
    def test_refused_while_a_guest_runs(self):
        """A sim guest under OVS/<uuid>/running_pool/ runs: ovs-offlinerepo
        is refused and names it; once it stops, -d unmounts and removes the
        line."""
        uuid = self.makerepo(self.loops["a"], "0", "local disk").stdout.strip()
        other = self.makerepo(self.loops["b"], "0", "other").stdout.strip()
        agent = Agent(host="127.0.0.2", extra={"ovs_root": self.root,
                                               "repositories_file": self.file})
        self.addCleanup(agent.cleanup)
        agent.start()
        env = {"OVS_DB_DUMP": binary("db_dump"), "OVS_AGENT_CONFIG": agent.ini}
        g = os.path.join(self.root, uuid, "running_pool", "g1")
        os.mkdir(g)
        with open(os.path.join(g, "vm.cfg"), "w") as f:
            f.write("name = 'g1'\nmemory = 256\nvcpus = 1\nbuilder = 'hvm'\n"
                    "disk = [ 'file:%s/system.img,hda,w', ]\n" % g)
        open(os.path.join(g, "system.img"), "w").close()
        p = agent.proxy()
        self.assertTrue(p.start_vm(g).startswith("success"))
        r = self.offline(uuid, self.loops["a"], code=1, **env)
        self.assertIn("repository %s has running guests: g1 (%s, RUNNING)" % (uuid, g), r.stderr)
        r = self.offline("-d", uuid, self.loops["a"], code=1, **env)
        self.assert_mounted(self.loops["a"], os.path.join(self.root, uuid))
        self.assertIn("%s %s" % (uuid, self.loops["a"]), self.lines())
        # The other repository has no guest of its own.
        self.offline(other, self.loops["b"], **env)
        self.assert_not_mounted(self.loops["b"])
        # Paused counts as running; stopped does not.
        p.pause_vm(g)
        r = self.offline(uuid, self.loops["a"], code=1, **env)
        self.assertIn("g1 (%s, PAUSED)" % g, r.stderr)
        p.unpause_vm(g)
        self.assertEqual(p.stop_vm(g), "success")
        self.offline("-d", uuid, self.loops["a"], **env)
        self.assert_not_mounted(self.loops["a"])
        self.assertEqual(self.lines(), ["%s %s" % (other, self.loops["b"])])
        self.assertFalse(os.path.exists(os.path.join(self.root, uuid)))
        self.assertEqual(agent.stop(), 0)

    def test_idempotent_and_checked(self):
        uuid = self.makerepo(self.loops["a"], "0", "d").stdout.strip()
        r = self.offline(uuid, "/dev/other", code=1)
        self.assertIn("listed with source %s, not /dev/other" % self.loops["a"], r.stderr)
        self.offline(uuid, self.loops["a"])
        r = self.offline(uuid, self.loops["a"])
        self.assertIn("not mounted", r.stdout)
        self.offline("-d", uuid, self.loops["a"])
        r = self.offline("-d", uuid, self.loops["a"])
        self.assertIn("not listed", r.stdout)
        self.assertEqual(self.lines(), [])
        # The db tool that cannot read the db: refused, its words passed on.
        uuid = self.makerepo(self.loops["a"], "0", "d").stdout.strip()
        r = self.offline(uuid, self.loops["a"], code=1, OVS_DB_DUMP=binary("db_dump"),
                         OVS_AGENT_CONFIG=os.path.join(self.tmp, "nosuch.ini"))
        self.assertIn("nosuch.ini", r.stderr)
        self.assert_mounted(self.loops["a"], os.path.join(self.root, uuid))

    def test_cluster_root_last(self):
        local = self.makerepo(self.loops["a"], "0", "local").stdout.strip()
        root = self.makerepo(self.loops["b"], "C", "root").stdout.strip()
        r = self.offline(root, self.loops["b"], code=1)
        self.assertIn("cluster root %s still holds mounted repositories: %s/%s"
                      % (root, self.root, local), r.stderr)
        self.offline(local, self.loops["a"])
        self.offline(root, self.loops["b"])
        self.assert_not_mounted(self.loops["b"])


class Scripts(unittest.TestCase):
    def test_shellcheck(self):
        if not shutil.which("shellcheck"):
            self.skipTest("shellcheck is not installed")
        run("shellcheck", REPOSITORIES)

    def test_lsb_header(self):
        with open(REPOSITORIES) as f:
            text = f.read()
        self.assertIn("### BEGIN INIT INFO\n# Provides:          ovsrepositories\n", text)
        self.assertIn("### END INIT INFO", text)
        for name in (MAKEREPO, OFFLINEREPO):
            self.assertEqual(os.path.realpath(name), os.path.realpath(REPOSITORIES))


if __name__ == "__main__":
    if not os.environ.get(IN_NS) and os.geteuid() == 0 and shutil.which("unshare"):
        os.environ[IN_NS] = "1"
        os.execvp("unshare", ["unshare", "-m", "--propagation", "private", "--",
                              sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
    main()
