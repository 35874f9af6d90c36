#!/usr/bin/env python3
"""test_corolink.py - agent/cluster/corolink.c against real corosync.

Three hosts (hostfix.py, 10.78.0.1..3), one corolink_probe in each
(build/tests/corolink_probe, $OVS_BUILD for the sanitizer build), started
before corosync runs; then ovs-cluster-configure --nodes writes the
configuration on host 1, its files are copied to the others, and it starts
corosync on each. The probes come up, see the same views and the same
message order, map node ids to the hosts' addresses, and are quorate. A
kill -9 of host 3's corosync: hosts 1 and 2 see it leave within 10 s and
stay quorate, host 3's probe sees the link go down; corosync started again
there, the probe rejoins. Everything (probes, corosyncs, namespaces) ends
by pid in the cleanups, pass or fail. Needs root, iproute2, util-linux,
corosync.

Run: python3 tests/e2e/test_corolink.py [test_name...]
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tap import main  # noqa: E402
import hostfix  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
PROBE = os.path.join(ROOT, os.environ.get("OVS_BUILD", "build"), "tests", "corolink_probe")
CONFIGURE = os.path.join(ROOT, "hooks", "ovs-cluster-configure")
N = 3
LEAVE_WITHIN = 10       # seconds from kill -9 to the others' view
FORM_WITHIN = 30        # seconds for a ring to form


def can_run():
    why = hostfix.can_run()
    if why:
        return why
    for tool in ("corosync", "corosync-cmapctl", "flock"):
        if not shutil.which(tool):
            return "%s is not installed" % tool
    if not os.access(PROBE, os.X_OK):
        return "%s is not built (make %s)" % (PROBE, os.path.relpath(PROBE, ROOT))
    return None


class Probe:
    """One corolink_probe on a host: its stdout lines, timestamped, read by
    a thread; stdin to multicast."""

    def __init__(self, hosts, i, stderr_path):
        self.i = i
        self.err = open(stderr_path, "w")
        self.proc = subprocess.Popen(hosts.argv(i, PROBE), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.lines = []         # (monotonic time, line)
        self.cv = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cv:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self.cv.notify_all()

    def send(self, *texts):
        self.proc.stdin.write("".join(t + "\n" for t in texts))
        self.proc.stdin.flush()

    def seen(self):
        with self.cv:
            return [l for _, l in self.lines]

    def wait(self, what, pred, within, since=0):
        """The (time, line) of the first line from index since on that
        pred accepts; fails after within seconds."""
        deadline = time.monotonic() + within
        with self.cv:
            while True:
                for t, l in self.lines[since:]:
                    if pred(l):
                        return t, l
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("host %d's probe: no %s within %d s; it printed:\n%s"
                                         % (self.i + 1, what, within,
                                            "\n".join(l for _, l in self.lines)))
                self.cv.wait(left)

    def stop(self):
        """stdin closed: the probe leaves and exits; its status."""
        try:
            if self.proc.poll() is None:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.reader.join(timeout=10)
            self.proc.stdout.close()
            self.err.close()
        return self.proc.returncode


def members(line):
    """view line -> [(id, ip)]."""
    part = [w for w in line.split() if w.startswith("members=")][0][len("members="):]
    return [tuple(m.split("@")) for m in part.split(",")] if part else []


@unittest.skipIf(can_run(), can_run())
class CorolinkCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.hosts = hostfix.Hosts(N, prefix="10.78.0", tag="cl")
        self.addCleanup(self.hosts.close)
        self.nodes = ",".join("%s=%s" % p for p in zip(self.hosts.addrs, self.hosts.names))
        self.probes = []
        self.addCleanup(self.stop_probes)

    def stop_probes(self):
        for p in self.probes:
            p.stop()

    def env(self, i):
        return self.hosts.script_env(i)

    def configure(self, i):
        r = self.hosts.on(i, CONFIGURE, "--nodes", self.nodes, env=self.env(i))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("corosync started (pid ", r.stdout)

    def form_ring(self):
        """configure on host 1 (files and corosync), its files copied to
        the others, configure there too."""
        self.configure(0)
        for i in range(1, N):
            self.hosts.copy(0, i, "/etc/corosync/corosync.conf", 0o644)
            self.hosts.copy(0, i, "/etc/corosync/authkey", 0o400)
            self.configure(i)

    def all_view(self, line):
        return line.startswith("view ") and len(members(line)) == N

    def test_ring(self):
        """Probes started before corosync come up with it; same views and
        message order everywhere; kill -9 of one corosync seen by the
        others within 10 s, quorum kept; the victim's link goes down and
        comes back with its corosync."""
        for i in range(N):
            self.probes.append(Probe(self.hosts, i, os.path.join(self.hosts.tmp,
                                                                 "probe%d.err" % (i + 1))))
        time.sleep(1)
        for p in self.probes:
            self.assertEqual(p.seen(), [], "a link up without corosync")
            self.assertIsNone(p.proc.poll())
        self.form_ring()

        # Up, quorate, all three in the view, each id mapped to its address.
        want = [(str(i + 1), a) for i, a in enumerate(self.hosts.addrs)]
        for p in self.probes:
            p.wait("link up", lambda l: l == "link up", FORM_WITHIN)
            p.wait("quorum 1", lambda l: l == "quorum 1", FORM_WITHIN)
            _, v = p.wait("a view of all three", self.all_view, FORM_WITHIN)
            self.assertEqual(members(v), want, v)
            self.assertIn("self=%d " % (p.i + 1), v)

        # Every fd of the probe beyond 0-2 close-on-exec (libqb's too).
        pid = self.probes[0].proc.pid
        for fd in os.listdir("/proc/%d/fd" % pid):
            if int(fd) < 3:
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                flags = int(f.read().split("flags:")[1].split()[0], 8)
            self.assertTrue(flags & 0o2000000, "fd %s (%s) of host 1's probe is not O_CLOEXEC"
                            % (fd, os.readlink("/proc/%d/fd/%s" % (pid, fd))))
        # Each sends several at once: one order, everywhere.
        k = 6
        for p in self.probes:
            p.send(*["h%d-%d" % (p.i + 1, j) for j in range(k)])
        for p in self.probes:
            p.wait("all %d messages" % (N * k),
                   lambda l: False if not l.startswith("msg ") else
                   sum(x.startswith("msg ") for x in p.seen()) >= N * k, 20)
        # From each probe's first view of all three on, the same views
        # (members; left and joined are as each one's CPG tells its joins)
        # and messages, in one order.
        tails = []
        for p in self.probes:
            seen = p.seen()
            first = next(n for n, l in enumerate(seen) if self.all_view(l))
            tails.append([l if l.startswith("msg ") else members(l)
                          for l in seen[first:] if l.startswith(("msg ", "view "))])
        self.assertEqual(tails[0], tails[1])
        self.assertEqual(tails[0], tails[2])
        msgs = [l for l in tails[0] if isinstance(l, str)]
        self.assertEqual(len(msgs), N * k, tails[0])
        for i in range(N):      # each sender's own order kept
            mine = [l.split()[3] for l in msgs if l.split()[1] == str(i + 1)]
            self.assertEqual(mine, ["h%d-%d" % (i + 1, j) for j in range(k)])
        # The limit: 1 MiB goes through, more is refused.
        marks = [len(p.seen()) for p in self.probes]
        self.probes[0].send("!big %d" % (1 << 20), "!big %d" % ((1 << 20) + 1))
        for p, m in zip(self.probes, marks):
            p.wait("the 1 MiB message", lambda l: l.startswith("msg 1 1048576 xxx"), 20, m)
        self.probes[0].wait("senderr for 1 MiB + 1",
                            lambda l: l.startswith("senderr message of 1048577 bytes"), 5,
                            marks[0])

        # kill -9 of host 3's corosync.
        victim = N - 1
        marks = [len(p.seen()) for p in self.probes]
        pid = self.hosts.corosync_pid(victim)
        self.assertIsNotNone(pid)
        t0 = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        for p in self.probes[:victim]:
            t, v = p.wait("host 3 leaving", lambda l: l.startswith("view ")
                          and len(members(l)) == N - 1, LEAVE_WITHIN, marks[p.i])
            self.assertEqual(members(v), want[:victim], v)
            self.assertIn("left=3 ", v)
            print("# host %d saw host 3 leave %.1f s after kill -9" % (p.i + 1, t - t0))
        for p in self.probes[:victim]:
            self.assertNotIn("quorum 0", p.seen()[marks[p.i]:])
            self.assertNotIn("link down", p.seen()[marks[p.i]:])
        vp = self.probes[victim]
        t, _ = vp.wait("link down", lambda l: l == "link down", LEAVE_WITHIN, marks[victim])
        print("# host 3's probe saw its link down %.1f s after kill -9" % (t - t0))
        vp.wait("an empty view", lambda l: l.startswith("view ") and not members(l), 5,
                marks[victim])
        vp.wait("quorum 0", lambda l: l == "quorum 0", 5, marks[victim])
        vp.send("while down")
        vp.wait("senderr while down", lambda l: l.startswith("senderr not joined"), 5,
                marks[victim])

        # corosync again on host 3: the probe rejoins, the others see it.
        marks = [len(p.seen()) for p in self.probes]
        t0 = time.monotonic()
        self.configure(victim)
        for p in self.probes:
            t, v = p.wait("host 3 back", self.all_view, FORM_WITHIN, marks[p.i])
            self.assertEqual(members(v), want, v)
            print("# host %d saw host 3 back %.1f s after its corosync started"
                  % (p.i + 1, t - t0))
        vp.wait("link up again", lambda l: l == "link up", 5, marks[victim])
        vp.wait("quorum 1 again", lambda l: l == "quorum 1", FORM_WITHIN, marks[victim])
        marks = [len(p.seen()) for p in self.probes]
        vp.send("back")
        for p in self.probes:
            p.wait("the rejoined host's message", lambda l: l == "msg 3 4 back", 10, marks[p.i])

        for p in self.probes:
            self.assertEqual(p.stop(), 0, "host %d's probe exit status" % (p.i + 1))
        # The one that stayed sees the others leave as they end.


if __name__ == "__main__":
    main()
