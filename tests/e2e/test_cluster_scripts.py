#!/usr/bin/env python3
"""test_cluster_scripts.py - hooks/ovs-cluster-configure and
hooks/ovs-cluster-check (guide 9.2) with real corosync.

Three "hosts" (hostfix.py: network namespaces with 10.77.0.1..3/24 on one
bridge, each with a mount namespace of its own: private /run, /dev/shm and
corosync's directories). The scripts run with their default corosync paths
and OVS_OCFS2_CONF, OVS_ROOT, OVS_REPOSITORIES in the host's temp dir. After
each test the hosts are closed (every process in them ended by pid, the
namespaces deleted, the temp dir removed), pass or fail. Needs root,
iproute2, util-linux and corosync (Debian package corosync).

Run: python3 tests/e2e/test_cluster_scripts.py [test_name...]
Prints one TAP line per test (see tap.py); exits 1 when any failed.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tap import main  # noqa: E402
from test_network_bridge import run  # noqa: E402  (argv's result; fails on a non-zero exit)
import hostfix  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
HOOKS = os.path.join(ROOT, "hooks")
CONFIGURE = os.path.join(HOOKS, "ovs-cluster-configure")
CHECK = os.path.join(HOOKS, "ovs-cluster-check")
MAKEREPO = os.path.join(HOOKS, "ovs-makerepo")
ADDRS = ["10.77.0.1", "10.77.0.2", "10.77.0.3"]
NAMES = ["ovs1", "ovs2", "ovs3"]
NODES = ",".join("%s=%s" % p for p in zip(ADDRS, NAMES))
QUORATE_WITHIN = 30     # seconds for a ring to form or lose quorum

CLUSTER_CONF = "".join(
    "node:\n\tip_port = 7777\n\tip_address = %s\n\tnumber = %d\n\tname = %s\n"
    "\tcluster = ocfs2\n\n" % (a, i, n) for i, (a, n) in enumerate(zip(ADDRS, NAMES))
) + "cluster:\n\tnode_count = 3\n\tname = ocfs2\n"


def can_run():
    why = hostfix.can_run()
    if why:
        return why
    for tool in ("mountpoint", "flock", "losetup", "mkfs.ext4",
                 "corosync", "corosync-quorumtool", "corosync-cmapctl"):
        if not shutil.which(tool):
            return "%s is not installed" % tool
    return None


@unittest.skipIf(can_run(), can_run())
class ClusterCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.hosts = hostfix.Hosts(3, prefix="10.77.0", tag="cs")
        self.addCleanup(self.hosts.close)

    # -- helpers -------------------------------------------------------------
    def env(self, i, **extra):
        return self.hosts.script_env(i, **extra)

    def on(self, i, *argv, code=0, **extra):
        """argv on host i; its exit status must be code (when not None)."""
        r = self.hosts.on(i, *argv, env=self.env(i, **extra))
        if code is not None:
            self.assertEqual(r.returncode, code, "%s on host %d:\n%s%s"
                             % (" ".join(argv), i + 1, r.stdout, r.stderr))
        return r

    def wait_for(self, what, cond, within=QUORATE_WITHIN):
        deadline = time.monotonic() + within
        while not cond():
            if time.monotonic() > deadline:
                self.fail("%s not within %d s" % (what, within))
            time.sleep(0.5)

    def quorate(self, i):
        return self.on(i, "corosync-quorumtool", "-s", code=None).returncode == 0

    def form_ring(self):
        """configure on the master (host 1), its files copied to the others
        (as the master's agent will), configure there too; all quorate."""
        r = self.on(0, CONFIGURE, "--nodes", NODES)
        self.assertIn("corosync started (pid ", r.stdout)
        self.assertIn("o2cb not started", r.stdout)     # no OCFS2 in this kernel
        for i in (1, 2):
            self.hosts.copy(0, i, "/etc/corosync/corosync.conf", 0o644)
            self.hosts.copy(0, i, "/etc/corosync/authkey", 0o400)
            os.makedirs(self.hosts.hostdir(i) + "/ocfs2")
            shutil.copy(self.hosts.hostdir(0) + "/ocfs2/cluster.conf", self.hosts.hostdir(i) + "/ocfs2/")
            r = self.on(i, CONFIGURE, "--nodes", NODES)
            self.assertIn("kept", r.stdout)
            self.assertIn("corosync started (pid ", r.stdout)
        for i in range(3):
            self.wait_for("host %d quorate" % (i + 1), lambda i=i: self.quorate(i))
        out = self.on(0, "corosync-quorumtool", "-s").stdout
        self.assertRegex(out, r"Total votes:\s+3")
        r = self.on(0, CONFIGURE, "--nodes", NODES)    # again: nothing changes
        self.assertIn("corosync runs already (pid %d)" % self.hosts.corosync_pid(0), r.stdout)

    def make_root(self, i):
        """The cluster root on host i: a directory of the test's made a
        repository with ovs-makerepo ... C (a bind mount at OVS_ROOT)."""
        src = os.path.join(self.hosts.tmp, "shared-root")
        os.makedirs(src, exist_ok=True)
        os.makedirs(self.hosts.hostdir(i) + "/OVS", exist_ok=True)
        self.on(i, MAKEREPO, src, "C", "cluster root")

    def heartbeat(self, i, age=0):
        hb = self.hosts.hostdir(i) + "/OVS/.server_pool_hb"
        with open(self.hosts.inside(i, hb), "w") as f:
            f.write("hb\n")
        t = time.time() - age
        os.utime(self.hosts.inside(i, hb), (t, t))

    # -- tests -----------------------------------------------------------------
    def test_configure_files(self):
        """The guide's cluster.conf, exactly; the corosync.conf of the same
        nodes; an authkey 0400 made once; an existing cluster.conf kept;
        other nodes refused without --force."""
        r = self.on(0, CONFIGURE, "--nodes", NODES, "--no-start")
        self.assertEqual(self.hosts.read(0, self.hosts.hostdir(0) + "/ocfs2/cluster.conf"), CLUSTER_CONF)
        conf = self.hosts.read(0, "/etc/corosync/corosync.conf")
        for want in ("transport: knet", "cluster_name: ocfs2", "provider: corosync_votequorum",
                     "\ttoken: 1000\n", "\ttoken_coefficient: 0\n",
                     "logfile: /var/log/corosync/corosync.log", "to_logfile: yes",
                     "keyfile: /etc/corosync/authkey"):
            self.assertIn(want, conf)
        for n, (a, name) in enumerate(zip(ADDRS, NAMES)):
            self.assertIn("\tnode {\n\t\tring0_addr: %s\n\t\tnodeid: %d\n\t\tname: %s\n\t}\n"
                          % (a, n + 1, name), conf)
        self.assertNotIn("two_node", conf)
        key = os.stat(self.hosts.inside(0, "/etc/corosync/authkey"))
        self.assertEqual(key.st_mode & 0o777, 0o400)
        self.assertGreaterEqual(key.st_size, 128)
        with open(self.hosts.inside(0, "/etc/corosync/authkey"), "rb") as f:
            secret = f.read()
        # Again: everything kept, the key too.
        r = self.on(0, CONFIGURE, "--nodes", NODES, "--no-start")
        self.assertIn("exists: kept as it is", r.stdout)
        self.assertIn("has these nodes already: kept", r.stdout)
        with open(self.hosts.inside(0, "/etc/corosync/authkey"), "rb") as f:
            self.assertEqual(f.read(), secret)
        # Two nodes: refused, then --force (two_node; the old file kept).
        two = ",".join(NODES.split(",")[:2])
        r = self.on(0, CONFIGURE, "--nodes", two, "--no-start", code=1)
        self.assertIn("names other nodes (10.77.0.1 10.77.0.2 10.77.0.3) than 10.77.0.1 "
                      "10.77.0.2: not changed (--force replaces it)", r.stderr)
        self.assertEqual(self.hosts.read(0, "/etc/corosync/corosync.conf"), conf)
        r = self.on(0, CONFIGURE, "--nodes", two, "--no-start", "--force")
        self.assertIn("two_node: 1", self.hosts.read(0, "/etc/corosync/corosync.conf"))
        self.assertEqual(self.hosts.read(0, "/etc/corosync/corosync.conf.old"), conf)
        self.assertEqual(self.hosts.read(0, self.hosts.hostdir(0) + "/ocfs2/cluster.conf"), CLUSTER_CONF)
        self.assertIn("names other nodes than", r.stderr)    # the kept cluster.conf
        # The token timeout from the environment, a number of ms only.
        for bad in ("abc", "99", "1e4", "-1000", "1000 "):
            r = self.on(0, CONFIGURE, "--nodes", NODES, "--no-start", "--force", code=1,
                        OVS_COROSYNC_TOKEN=bad)
            self.assertIn("OVS_COROSYNC_TOKEN '%s' is not a number of ms" % bad, r.stderr)
        self.on(0, CONFIGURE, "--nodes", NODES, "--no-start", "--force", OVS_COROSYNC_TOKEN="3000")
        self.assertIn("\ttoken: 3000\n", self.hosts.read(0, "/etc/corosync/corosync.conf"))
        # Not one of this host's addresses; bad arguments.
        r = self.on(1, CONFIGURE, "--nodes", "10.77.0.1", "--no-start", code=1)
        self.assertIn("none of the nodes (10.77.0.1) is an address of this host", r.stderr)
        for bad in (["--nodes", "10.77.0.300"], ["--nodes", "10.77.0.1,10.77.0.1"],
                    ["--nodes", "10.77.0.1=bad name"], ["--nodes"], ["--what"]):
            r = self.on(0, CONFIGURE, *bad, code=2)
            self.assertIn("usage: ovs-cluster-configure", r.stderr)

    def test_pool_state(self):
        """Without --nodes, the nodes come from db_dump pool (a stand-in
        printing the agreed lines): the master first; not on the master:
        refused."""
        dump = os.path.join(self.hosts.tmp, "db_dump")
        with open(dump, "w") as f:
            f.write("#!/bin/sh\n[ \"$1\" = pool ] || exit 2\n"
                    "printf 'master_ip=10.77.0.2\\nserver.10.77.0.1=xen\\n"
                    "server.10.77.0.2=site,utility,xen\\nserver.10.77.0.3=xen\\n'\n")
        os.chmod(dump, 0o755)
        r = self.on(0, CONFIGURE, "--no-start", code=1, OVS_DB_DUMP=dump)
        self.assertIn("this host is not the pool master (10.77.0.2)", r.stderr)
        self.on(1, CONFIGURE, "--no-start", OVS_DB_DUMP=dump)
        text = self.hosts.read(1, self.hosts.hostdir(1) + "/ocfs2/cluster.conf")
        self.assertEqual([l.split(" = ")[1] for l in text.splitlines() if "ip_address" in l],
                         ["10.77.0.2", "10.77.0.1", "10.77.0.3"])
        self.assertIn("\tname = %s\n" % os.uname().nodename.split(".")[0], text)
        r = self.on(0, CHECK, "--master", code=1, OVS_DB_DUMP=dump)
        self.assertIn("this host is not the pool master (10.77.0.2 is)", r.stderr)
        r = self.on(1, CHECK, "--master", code=1, OVS_DB_DUMP=dump)
        self.assertNotIn("pool master", r.stderr)

    def test_at_once(self):
        """Six configures at once: the lock lets one write, the others
        keep its files; one authkey."""
        procs = [subprocess.Popen(self.hosts.argv(0, CONFIGURE, "--nodes", NODES, "--no-start"),
                                  env=self.env(0), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(6)]
        outs = [p.communicate(timeout=60) for p in procs]
        self.assertEqual([p.returncode for p in procs], [0] * 6, outs)
        self.assertEqual(sum("wrote /etc/corosync/authkey" in o for o, _ in outs), 1, outs)
        self.assertEqual(sum("wrote %s/ocfs2/cluster.conf" % self.hosts.hostdir(0) in o
                             for o, _ in outs), 1, outs)
        self.assertEqual(sorted(n for n in os.listdir(self.hosts.inside(0, "/etc/corosync"))),
                         [".ovs-cluster.lock", "authkey", "corosync.conf"])

    def test_ring_and_check(self):
        """A quorate ring of three; ovs-cluster-check --master passes with
        the cluster root mounted and its heartbeat fresh; says so when the
        heartbeat is missing or stale, and when two corosyncs end."""
        self.form_ring()
        r = self.on(0, CHECK, "--master", code=1)
        self.assertIn("the cluster root is not mounted at %s/OVS" % self.hosts.hostdir(0), r.stderr)
        self.make_root(0)
        r = self.on(0, CHECK, "--master", code=1)
        self.assertIn("no heartbeat yet: %s/OVS/.server_pool_hb does not exist"
                      % self.hosts.hostdir(0), r.stderr)
        self.assertIn("1 problem(s)", r.stderr)
        self.on(0, CHECK)                       # not the master: only said
        self.heartbeat(0)
        r = self.on(0, CHECK, "--master")
        self.assertIn("the cluster is configured and quorate", r.stdout)
        self.assertEqual(r.stderr, "")
        self.heartbeat(0, age=120)
        r = self.on(0, CHECK, "--master", code=1)
        self.assertRegex(r.stderr, r"the heartbeat is stale: .*/OVS/\.server_pool_hb was "
                                   r"written 12\d s ago \(more than 60 s\)")
        self.on(0, CHECK, "--master", OVS_HB_MAX_AGE="600")
        self.heartbeat(0)
        # Two of three corosyncs ended (by pid): no quorum on the master.
        for i in (1, 2):
            pid = self.hosts.corosync_pid(i)
            self.assertIsNotNone(pid)
            hostfix.end_pid(pid, signal.SIGKILL)
        self.wait_for("host 1 not quorate", lambda: not self.quorate(0))
        r = self.on(0, CHECK, "--master", code=1)
        self.assertRegex(r.stderr, r"corosync \(pid \d+\) is not quorate: 1 votes of the 2 needed")
        # And its own corosync ended: not running.
        hostfix.end_pid(self.hosts.corosync_pid(0))
        r = self.on(0, CHECK, "--master", code=1)
        self.assertIn("corosync is not running (no live pid in /run/corosync.pid)", r.stderr)
        # A file gone and a mismatch are named.
        os.unlink(self.hosts.inside(0, "/etc/corosync/authkey"))
        with open(self.hosts.hostdir(0) + "/ocfs2/cluster.conf", "w") as f:
            f.write(CLUSTER_CONF.replace("10.77.0.3", "10.77.0.9"))
        r = self.on(0, CHECK, code=1)
        self.assertIn("/etc/corosync/authkey is missing", r.stderr)
        self.assertIn("name other nodes", r.stderr)

    def test_reload(self):
        """--force on a running ring: the new nodelist reloaded by the
        running corosyncs (corosync-cfgtool -R); a fourth node that never
        comes raises the expected votes, the three stay quorate."""
        self.form_ring()
        four = NODES + ",10.77.0.4=ovs4"
        pids = [self.hosts.corosync_pid(i) for i in range(3)]
        for i in range(3):
            r = self.on(i, CONFIGURE, "--nodes", four, "--force")
            self.assertIn("corosync (pid %d) reloaded /etc/corosync/corosync.conf" % pids[i],
                          r.stdout)
        out = self.on(0, "corosync-quorumtool", "-s").stdout
        self.assertRegex(out, r"Expected votes:\s+4")
        self.assertRegex(out, r"Quorate:\s+Yes")
        self.assertEqual([self.hosts.corosync_pid(i) for i in range(3)], pids)

    def test_alter_fstab(self):
        """--alter-fstab moves the /OVS line of a private fstab into the
        repositories file (uuid from the marker, options kept), backs fstab
        up in /tmp first and is idempotent; an ext4 without a marker gets
        blkid's uuid."""
        root = self.hosts.hostdir(0) + "/OVS"
        os.makedirs(root)
        devs = []
        for name in ("marked", "bare"):
            img = os.path.join(self.hosts.tmp, name + ".img")
            with open(img, "wb") as f:
                f.truncate(32 << 20)
            run("mkfs.ext4", "-q", "-F", img)
            dev = run("losetup", "-f", "--show", img).stdout.strip()
            self.addCleanup(run, "losetup", "-d", dev, check=False)
            devs.append(dev)
        uuid = "0b5f5a3c-1111-4222-8333-944455556666"
        mnt = os.path.join(self.hosts.tmp, "m")
        os.makedirs(mnt)
        self.on(0, "mount", devs[0], mnt)
        with open(self.hosts.inside(0, mnt + "/.ovsrepo"), "w") as f:
            f.write("OVS_REPO_UUID=%s\nOVS_REPO_SHARED=C\nOVS_REPO_DESCRIPTION=root\n" % uuid)
        self.on(0, "umount", mnt)
        fstab = os.path.join(self.hosts.tmp, "fstab")
        other = "proc /proc proc defaults 0 0\n# a comment\n\n"
        for dev, want in ((devs[0], uuid), (devs[1], None)):
            text = other + "%s %s ext4 noatime,errors=remount-ro 0 0\n" % (dev, root)
            with open(fstab, "w") as f:
                f.write(text)
            os.chmod(fstab, 0o640)
            repos = self.hosts.hostdir(0) + "/ovs/repositories"
            for f in (repos, repos + ".options"):
                if os.path.exists(f):
                    os.unlink(f)
            r = self.on(0, CHECK, "--alter-fstab", code=1, OVS_FSTAB=fstab)
            if want is None:
                want = run("blkid", "-o", "value", "-s", "UUID", dev).stdout.strip()
            self.assertIn("moved %s's %s line" % (fstab, root), r.stdout)
            backup = [l.split(" copied to ")[1] for l in r.stdout.splitlines()
                      if " copied to " in l][0]
            self.addCleanup(os.unlink, backup)
            self.assertTrue(backup.startswith("/tmp/"), backup)
            with open(backup) as f:
                self.assertEqual(f.read(), text)
            with open(fstab) as f:
                self.assertEqual(f.read(), other)
            self.assertEqual(os.stat(fstab).st_mode & 0o777, 0o640)
            with open(repos) as f:
                self.assertEqual(f.read(), "%s %s\n" % (want, dev))
            with open(repos + ".options") as f:
                self.assertEqual(f.read(), "%s noatime,errors=remount-ro\n" % want)
            # Once more: nothing to move, nothing changed.
            r = self.on(0, CHECK, "--alter-fstab", code=1, OVS_FSTAB=fstab)
            self.assertIn("has no %s line: nothing to move" % root, r.stdout)
            with open(repos) as f:
                self.assertEqual(f.read(), "%s %s\n" % (want, dev))
        self.assertFalse(os.listdir(mnt))

    def test_usage(self):
        r = self.on(0, CHECK, "--bogus", code=2)
        self.assertIn("usage: ovs-cluster-check [--master] [--alter-fstab]", r.stderr)
        r = self.on(0, CHECK, code=1)
        self.assertIn("is missing: run ovs-cluster-configure on the master", r.stderr)
        self.assertIn("corosync is not running", r.stderr)

    def test_shellcheck(self):
        if not shutil.which("shellcheck"):
            self.skipTest("shellcheck is not installed")
        run("shellcheck", CONFIGURE)


if __name__ == "__main__":
    main()
