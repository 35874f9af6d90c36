#!/usr/bin/env python3
"""test_cluster_share.py - the master shares its cluster with the pool
(guide 9.3), so a manager needs only the API.

Three hosts (tests/e2e/hostfix.py, through test_ha.Pool), agents started
with NO corosync running, the pool formed through the API; then
set_pool_ha(True) on the master runs ovs-cluster-configure there, gives
every member corosync.conf, authkey, cluster.conf and the repository list
(pool_cluster_files), which start corosync there, and answers once the
cluster is quorate: corosync quorate on all three, the files identical,
pool_ha on in every copy. Then a member's corosync and agent stop and its
corosync.conf is deleted; its agent starts again and the master gives it
the files back: it rejoins, quorate and synced. Everything started is
ended by pid and every namespace deleted, pass or fail. Needs root,
iproute2, util-linux and corosync.

Run: python3 tests/e2e/test_cluster_share.py
"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
import hostfix  # noqa: E402
import test_ha  # noqa: E402
from tap import main  # noqa: E402

FILES = (("/etc/corosync/corosync.conf", 0o644), ("/etc/corosync/authkey", 0o400))
REPOS = "1f7c4d0e-8a4b-4c8e-9a51-0d2b3c4e5f60 nfs.example.com:/OVS\n"


class SharePool(test_ha.Pool):
    """test_ha.Pool whose agents configure the cluster themselves: hooks_dir
    holds ovs-cluster-configure only (no ovsrepositories: the shared list
    is not mounted), o2cb's cluster.conf in each host's own dir."""

    def __init__(self, case, n, prefix):
        super().__init__(case, n, prefix)
        self.hooks = os.path.join(self.hosts.tmp, "hooks")
        os.makedirs(self.hooks)
        os.symlink(test_ha.CONFIGURE, os.path.join(self.hooks, "ovs-cluster-configure"))

    def ocfs2(self, i):
        return os.path.join(self.hosts.hostdir(i), "ocfs2", "cluster.conf")

    def start_agent(self, i):
        if not self.agents[i]:
            keys = {"ovs_root": self.root, "cluster_root": self.root, "hooks_dir": self.hooks,
                    "ocfs2_conf": self.ocfs2(i)}
            keys.update(test_ha.HA_KEYS)
            # a host name of its own (a UTS namespace), which the agent's
            # ovs-cluster-configure and corosync inherit: corosync tells
            # its node by name as well as by address
            prefix = self.hosts.argv(i, "unshare", "-u", "--", "sh", "-c",
                                     'hostname "$1" && shift && exec "$@"', "sh",
                                     self.hosts.names[i])
            self.agents[i] = agentfix.Agent(
                prefix=prefix, host=self.hosts.addrs[i], port=8899, extra=keys,
                env={"OVS_DB_DUMP": agentfix.binary("db_dump")})
        return self.agents[i].start()

    def stop_corosync(self, i):
        pid = self.hosts.corosync_pid(i)
        if pid:
            hostfix.end_pid(pid)

    def files(self, i):
        """Host i's cluster files: {path: (bytes, mode)}."""
        out = {}
        paths = [(p, self.hosts.inside(i, p)) for p, _ in FILES]
        paths += [("cluster.conf", self.ocfs2(i)), ("repositories", self.agents[i].keys[
            "repositories_file"])]
        for name, path in paths:
            with open(path, "rb") as f:
                out[name] = (f.read(), os.stat(path).st_mode & 0o7777)
        return out

    def diagnose(self):
        out = []
        for i in range(self.hosts.n):
            out.append("--- host %d: corosync pid %s\n%s" % (
                i + 1, self.hosts.corosync_pid(i),
                self.hosts.on(i, "corosync-quorumtool", "-s").stdout))
        return "\n".join(out) + self.logs()

    def quorate(self, i):
        return self.hosts.on(i, "corosync-quorumtool", "-s").returncode == 0


@unittest.skipIf(test_ha.can_run(), test_ha.can_run())
class ClusterShareTest(unittest.TestCase):
    def test_set_pool_ha_shares_the_cluster(self):
        p = SharePool(self, 3, "10.83.0")
        self.addCleanup(p.close)
        for i in range(3):
            p.start_agent(i)
        agentfix.form_pool(p.agents[0], *p.agents[1:])
        for i in range(3):
            self.assertIsNone(p.hosts.corosync_pid(i))
            self.assertFalse(os.path.exists(p.hosts.inside(i, FILES[0][0])))
        with open(p.agents[0].keys["repositories_file"], "w") as f:
            f.write(REPOS)

        # a bad call first: not from the pool credential
        with self.assertRaises(agentfix.xmlrpc.client.Fault) as cm:
            p.rpc(1).pool_cluster_files({"authkey": agentfix.xmlrpc.client.Binary(b"x" * 256)})
        self.assertEqual(cm.exception.faultCode, 1006)

        t0 = time.monotonic()
        try:
            r = p.rpc(0).set_pool_ha(True)
        except agentfix.xmlrpc.client.Fault as e:
            self.fail("%s\n%s" % (e, p.diagnose()))
        self.assertEqual(r, "success")
        print("# set_pool_ha(True) with no corosync anywhere: %.1f s" % (time.monotonic() - t0))
        for i in range(3):
            self.assertTrue(p.hosts.corosync_pid(i), "no corosync on host %d" % (i + 1))
        p.wait("corosync quorate on all three", lambda: all(p.quorate(i) for i in range(3)))
        want = p.files(0)
        self.assertEqual(want["/etc/corosync/authkey"][1], 0o400)
        self.assertIn(b"node:", want["cluster.conf"][0])
        for a in p.hosts.addrs:
            self.assertIn(("ring0_addr: %s" % a).encode(), want["/etc/corosync/corosync.conf"][0])
        for i in (1, 2):
            self.assertEqual(p.files(i), want, "host %d's files differ" % (i + 1))
        p.wait("pool_ha on, quorate and synced everywhere", lambda: all(
            s["pool_ha"] and s["quorate"] and s["synced"] and len(s["members"]) == 3
            for s in (p.state(i) for i in range(3))))
        self.assertEqual(p.rpc(0).set_pool_ha(True), "success")    # up now: no setup

        # a member whose agent starts later, its corosync.conf gone
        self.assertEqual(p.agents[2].stop(), 0, p.agents[2].stderr())
        p.stop_corosync(2)
        os.unlink(p.hosts.inside(2, FILES[0][0]))
        p.wait("the master sees host 3 gone", lambda: len(p.state(0)["members"]) == 2)
        t0 = time.monotonic()
        p.start_agent(2)
        p.wait("host 3 back, quorate and synced", lambda: p.quorate(2) and all(
            s["quorate"] and s["synced"] and s["pool_ha"] and len(s["members"]) == 3
            for s in (p.state(i) for i in range(3))))
        print("# a member's agent started without corosync.conf: in the cluster %.1f s later"
              % (time.monotonic() - t0))
        self.assertEqual(p.files(2), want)
        self.assertIn("took the cluster's files again", p.agents[0].log())
        self.assertIn("ovs-cluster-configure --from-files: done", p.agents[2].log())


if __name__ == "__main__":
    sys.exit(main())
