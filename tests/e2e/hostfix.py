"""hostfix.py - several "hosts" on one machine for the cluster tests.

    from hostfix import Hosts
    hosts = Hosts(3, prefix="10.77.0", tag="cs")   # made at once
    self.addCleanup(hosts.close)                   # pass or fail
    hosts.on(0, "corosync-quorumtool", "-s")       # argv's result on host 1

n hosts (3 by default, at most 8) are network namespaces ovs10-<tag>-<pid>-<k>-1..n,
each joined by a veth (eth0) to a bridge in one more namespace, ...-br, with
<prefix>.1..n/24. Each host also has a mount namespace of its own, held by a
`sleep` (the holder, started through `ip netns exec NS unshare -m`), with
tmpfs on /run and /dev/shm (corosync's pid file, libqb's shared memory) and
temp dirs bound over /etc/corosync, /var/lib/corosync and /var/log/corosync;
commands run there through `nsenter -t <holder> -m -n` (argv(i, ...)), so a
program run that way (an agent, a probe) talks to that host's corosync over
libqb IPC. close() ends every process in a holder's mount namespace by pid
(corosync, agents, then the holder), deletes the namespaces and removes the
temp dir. Needs root, iproute2 and util-linux.
"""

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from test_network_bridge import run  # noqa: E402  (argv's result; fails on a non-zero exit)

PRIVATE = ("/etc/corosync", "/var/lib/corosync", "/var/log/corosync")
MAX_HOSTS = 8


def can_run():
    """None, or why the hosts cannot be made here."""
    if os.geteuid() != 0:
        return "needs root (network and mount namespaces)"
    for tool in ("ip", "unshare", "nsenter"):
        if not shutil.which(tool):
            return "%s is not installed" % tool
    for d in PRIVATE:
        if not os.path.isdir(d):
            return "%s is missing (corosync's package makes it)" % d
    return None


def mnt_ns(pid):
    try:
        return os.readlink("/proc/%d/ns/mnt" % pid)
    except OSError:
        return None


def end_pid(pid, sig=signal.SIGTERM):
    """sig, then SIGKILL after 10 s; waits until the pid is gone (a child
    of ours must be waited for by its Popen; this is for the others)."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while os.path.exists("/proc/%d" % pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline += 10
        time.sleep(0.05)


CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def setns(path):
    """This thread into the network namespace at path (an ns file, or a
    /proc/self/fd/N of one): its sockets from now on are made there."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + path)
    finally:
        os.close(fd)


def rerun_in_namespaces(script, flags, env, timeout=None):
    """script (a test file) again with this process's arguments, under
    `unshare <flags> --propagation private` with env; its exit status, or
    None when it ran past timeout seconds (then it is killed by pid). A
    child still running when this returns otherwise (an exception here)
    is ended too."""
    child = subprocess.Popen(["unshare"] + list(flags) + ["--propagation", "private",
                                                          sys.executable, os.path.abspath(script)]
                             + sys.argv[1:], env=env)
    try:
        return child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)


class Hosts:
    _made = 0

    def __init__(self, n=3, prefix="10.77.0", tag="h"):
        if not 1 <= n <= MAX_HOSTS:
            raise ValueError("1 to %d hosts, not %d" % (MAX_HOSTS, n))
        Hosts._made += 1
        base = "ovs10-%s-%d-%d" % (tag, os.getpid(), Hosts._made)
        self.n = n
        self.addrs = ["%s.%d" % (prefix, i + 1) for i in range(n)]
        self.names = ["ovs%d" % (i + 1) for i in range(n)]
        self.tmp = tempfile.mkdtemp(prefix="ovs10-%s." % tag)
        self.br = base + "-br"
        self.ns = [base + "-%d" % (i + 1) for i in range(n)]
        self.made_ns = []
        self.holders = []       # pids
        self.procs = []         # the holders' Popen
        try:
            self._make()
        except BaseException:
            self.close()
            raise

    def _make(self):
        for ns in [self.br] + self.ns:
            run("ip", "netns", "add", ns)
            self.made_ns.append(ns)
        run("ip", "-n", self.br, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.br, "link", "set", "br0", "up")
        for i, ns in enumerate(self.ns):
            port = "p%d" % (i + 1)
            run("ip", "-n", self.br, "link", "add", port, "type", "veth",
                "peer", "name", "eth0", "netns", ns)
            run("ip", "-n", self.br, "link", "set", port, "master", "br0", "up")
            run("ip", "-n", ns, "addr", "add", self.addrs[i] + "/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        for i in range(self.n):
            self._start_holder(i)

    def _start_holder(self, i):
        """The sleep that holds host i's mount namespace."""
        d = self.hostdir(i)
        binds = []
        for p in PRIVATE:
            os.makedirs(d + p)
            binds.append("mount --bind %s%s %s" % (d, p, p))
        script = ("set -e; mount --make-rprivate /; mount -t tmpfs tmpfs /run; "
                  "mount -t tmpfs tmpfs /dev/shm; %s; echo ready; exec sleep 100000"
                  % "; ".join(binds))
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[i], "unshare", "-m",
                              "sh", "-c", script],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        line = p.stdout.readline()
        if line != "ready\n":
            raise RuntimeError("host %d's mount namespace was not made" % (i + 1))
        self.holders.append(p.pid)

    def close(self):
        """Every process in a holder's mount namespace ended by its pid
        (corosync, agents first, then the holder), the namespaces deleted,
        the temp dir removed. Safe to call twice."""
        try:
            mine = {mnt_ns(pid) for pid in self.holders} - {None}
            if mine & {mnt_ns(os.getpid())}:
                raise AssertionError("a holder shares the test's mount namespace")
            others = []
            for name in os.listdir("/proc"):
                if name.isdigit() and int(name) not in self.holders \
                        and mnt_ns(int(name)) in mine:
                    others.append(int(name))
            for pid in others:
                end_pid(pid)
        finally:
            for p in self.procs:
                if p.poll() is None:
                    p.kill()
                p.wait(timeout=10)
                p.stdout.close()
            self.procs, self.holders = [], []
            for ns in reversed(self.made_ns):
                run("ip", "netns", "del", ns, check=False)
            self.made_ns = []
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- inside a host -------------------------------------------------------
    def hostdir(self, i):
        """Host i's own temp dir (seen the same from everywhere)."""
        return os.path.join(self.tmp, "h%d" % (i + 1))

    def script_env(self, i, **extra):
        """The cluster scripts' environment on host i: their files in its
        own temp dir (hooks/ovs-cluster-configure's OVS_* variables)."""
        d = self.hostdir(i)
        e = dict(os.environ, OVS_OCFS2_CONF=d + "/ocfs2/cluster.conf", OVS_ROOT=d + "/OVS",
                 OVS_REPOSITORIES=d + "/ovs/repositories", OVS_DB_DUMP="", TMPDIR=self.tmp)
        e.update(extra)
        return e

    def argv(self, i, *argv):
        """argv run in host i's network and mount namespaces."""
        return ["nsenter", "-t", str(self.holders[i]), "-m", "-n", "--"] + list(argv)

    def on(self, i, *argv, env=None):
        """argv's result on host i (never fails by itself: see returncode)."""
        return run(*self.argv(i, *argv), env=env, check=False)

    def inside(self, i, path):
        """A path of host i's mount namespace, seen from here."""
        return "/proc/%d/root%s" % (self.holders[i], path)

    def read(self, i, path):
        with open(self.inside(i, path)) as f:
            return f.read()

    def copy(self, src, dst, path, mode):
        """File path of host src's mount namespace to the same path in host
        dst's, with mode (the configuration a master hands its pool)."""
        with open(self.inside(src, path), "rb") as f, open(self.inside(dst, path), "wb") as g:
            g.write(f.read())
        os.chmod(self.inside(dst, path), mode)

    def corosync_pid(self, i):
        """The pid in host i's /run/corosync.pid, or None."""
        try:
            return int(self.read(i, "/run/corosync.pid").strip())
        except (OSError, ValueError):
            return None

    def agent(self, i, **kw):
        """An agentfix.Agent run on host i, listening on its address (port
        8899 by default: agentfix's free_port cannot probe a namespace's)."""
        from agentfix import Agent
        kw.setdefault("host", self.addrs[i])
        kw.setdefault("port", 8899)
        return Agent(prefix=self.argv(i), **kw)
