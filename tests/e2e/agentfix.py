"""agentfix.py - run a real ovs-agent for an end-to-end test.

    from agentfix import Agent
    with Agent(host="127.0.0.2", extra={"max_body_bytes": "4096"}) as a:
        print(a.proxy().echo("hello"))

Each Agent gets its own temp dir holding agent.ini, a self-signed
certificate, the password file, the db, the log and the pid file; it runs
in the foreground as a child of the test with `--foreground`. Binaries come
from $OVS_BUILD/bin (default build/bin), so the same tests run against the
ASan+UBSan build (OVS_BUILD=build-san). Only loopback addresses are used.
"""

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import xmlrpc.client

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("OVS_BUILD", "build")
BIN = os.path.join(REPO, BUILD, "bin")


def binary(name, bin_dir=None):
    return os.path.join(bin_dir or BIN, name)


def free_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def make_cert(directory, name="cert", cn="localhost", days=2):
    """Write name.pem and name-key.pem (self-signed, RSA 2048, valid for
    days) into directory."""
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes",
                    "-days", str(days), "-subj", "/CN=" + cn, "-addext",
                    "subjectAltName=DNS:localhost," + ",".join("IP:127.0.0.%d" % i for i in range(1, 10)),
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def kill_guests(run_dir):
    """QEMU guests outlive their agent by design: end the ones this agent's
    state dir started, each by the pid in its pid file, after checking the
    process's command line names that pid file (so a recycled pid is never
    hit). Each one found is written to $OVS_LEFTOVER_LOG, which tests/run.sh
    reports: a test should have destroyed its guests itself."""
    try:
        names = sorted(os.listdir(run_dir))
    except FileNotFoundError:
        return []
    killed = []
    for name in names:
        if not name.endswith(".pid"):
            continue
        path = os.path.join(run_dir, name)
        try:
            with open(path) as f:
                pid = int(f.read().strip() or 0)
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                mine = path.encode() in f.read()
        except (OSError, ValueError):
            continue
        if not mine or pid <= 1:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        deadline = time.time() + 10
        while time.time() < deadline and os.path.exists("/proc/%d/cmdline" % pid):
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break  # dead; its reaper (init) collects it
            except OSError:
                break
            time.sleep(0.05)
        killed.append(pid)
        log = os.environ.get("OVS_LEFTOVER_LOG")
        if log:
            with open(log, "a") as f:
                f.write("QEMU pid %d (%s) was still running when its test ended; killed\n"
                        % (pid, path))
    return killed


def unverified():
    return ssl._create_unverified_context()


class Agent:
    def __init__(self, host="127.0.0.1", port=None, ssl_on=True, hypervisor="sim",
                 auth="password", user="admin", password="secret", extra=None, env=None,
                 log_level="debug", bin_dir=None, netns=None, prefix=None, cert_days=2):
        self.bin_dir = bin_dir  # another build's bin/ (bench/echo --baseline)
        # Run through this argv prefix: inside network namespace netns (`ip
        # netns exec`), or a hostfix host's (Hosts.argv(i): nsenter -m -n).
        self.prefix = list(prefix) if prefix else (["ip", "netns", "exec", netns] if netns else [])
        self.host = host
        self.port = port or free_port(host)
        self.ssl_on = ssl_on
        self.user = user
        self.password = password
        self.dir = tempfile.mkdtemp(prefix="ovs-e2e-")
        if os.environ.get("OVS_E2E_DIRS"):  # tests/run.sh checks none is left running
            with open(os.environ["OVS_E2E_DIRS"], "a") as f:
                f.write(self.dir + "\n")
        self.cert, self.key = make_cert(self.dir, days=cert_days)
        self.ini = os.path.join(self.dir, "agent.ini")
        self.log_path = os.path.join(self.dir, "agent.log")
        self.pid_file = os.path.join(self.dir, "agent.pid")
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None
        keys = {
            "listen": host, "port": str(self.port),
            "ssl": "enable" if ssl_on else "disable",
            "ssl_cert": self.cert, "ssl_key": self.key,
            "auth": auth, "password_file": os.path.join(self.dir, "password"),
            "state_dir": os.path.join(self.dir, "db"), "log_file": self.log_path,
            "log_level": log_level, "pid_file": self.pid_file,
            "hypervisor": hypervisor, "ovs_root": os.path.join(self.dir, "OVS"),
            "hooks_dir": os.path.join(self.dir, "hooks"),
            "repositories_file": os.path.join(self.dir, "repositories"),
        }
        keys.update(extra or {})
        self.keys = keys
        self.write_ini()
        if auth == "password" and password is not None:
            self.set_password(user, password)

    # -- configuration -----------------------------------------------------
    def write_ini(self, **changes):
        self.keys.update(changes)
        with open(self.ini, "w") as f:
            for k, v in self.keys.items():
                f.write("%s=%s\n" % (k, v))

    def set_password(self, user, password):
        subprocess.run([binary("ovs-agent-passwd", self.bin_dir), "--config", self.ini, user],
                       input=(password + "\n").encode(), check=True, capture_output=True,
                       timeout=60, env=self.env)

    # -- process -----------------------------------------------------------
    def start(self, timeout=15):
        # A pid file left by a killed agent must not pass for readiness.
        if os.path.exists(self.pid_file):
            os.unlink(self.pid_file)
        self.proc = subprocess.Popen(self.prefix + [binary("ovs-agent", self.bin_dir), "--config",
                                               self.ini, "--foreground"],
                                     env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise RuntimeError("agent exited %d: %s" % (self.proc.returncode, err.decode()))
            if os.path.exists(self.pid_file):
                return self
            time.sleep(0.05)
        raise RuntimeError("agent did not start within %ss; log:\n%s" % (timeout, self.log()))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self):
        self.signal(signal.SIGHUP)

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit status (also checked by callers:
        under ASan a memory error or leak makes it non-zero)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise RuntimeError("agent did not stop within %ss" % timeout)
        return self.proc.returncode

    def stderr(self):
        if self.proc and self.proc.poll() is not None and self.proc.stderr:
            return self.proc.stderr.read().decode(errors="replace")
        return ""

    def log(self):
        # A running agent writes info lines once per loop turn, just after
        # the turn that answered us: give that turn a moment to end.
        if self.proc and self.proc.poll() is None:
            time.sleep(0.1)
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def cleanup(self):
        try:
            if self.proc and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
        finally:
            try:
                kill_guests(os.path.join(self.keys["state_dir"], "qemu"))
            finally:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            rc = self.stop()
            if exc[0] is None and rc != 0:
                raise AssertionError("agent exited with status %d\n%s" % (rc, self.stderr()))
        finally:
            self.cleanup()

    # -- clients -----------------------------------------------------------
    @property
    def scheme(self):
        return "https" if self.ssl_on else "http"

    def hostport(self):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%d" % (h, self.port)

    def url(self, user=None, password=None, path="/RPC2"):
        user = self.user if user is None else user
        password = self.password if password is None else password
        return "%s://%s:%s@%s%s" % (self.scheme, user, password, self.hostport(), path)

    def proxy(self, user=None, password=None, **kw):
        if self.ssl_on:
            kw.setdefault("context", unverified())
        return xmlrpc.client.ServerProxy(self.url(user, password), **kw)

    def connect(self, source=None, timeout=10):
        """A raw socket (TLS-wrapped when ssl is on) to the agent."""
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        s.connect((self.host, self.port))
        if self.ssl_on:
            s = unverified().wrap_socket(s, server_hostname="localhost")
        return s


# ---- raw HTTP, for tests that speak it by hand ---------------------------

def form_pool(master, *members):
    """A server pool made through the API, as a manager makes it: master
    registers itself (site,xen), then each member (xen) with that agent's
    own admin credentials. Live migration goes only to pool members."""
    p = master.proxy()
    r = p.register_server(master.host, "site,xen")
    if r != "success":
        raise AssertionError("register_server(%s): %r" % (master.host, r))
    for m in members:
        r = p.register_server(m.host, "xen", "", m.user, m.password, m.port, m.ssl_on)
        if r != "success":
            raise AssertionError("register_server(%s): %r" % (m.host, r))


def recv_some(sock, deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise AssertionError("timed out waiting for the agent")
    sock.settimeout(left)
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


def read_response(sock, timeout=10, head_only=False, buf=b""):
    """Read one HTTP response from sock. Returns (status, headers, body, rest):
    headers keyed in lower case, rest = bytes read past this response."""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf:
        chunk = recv_some(sock, deadline)
        if not chunk:
            raise AssertionError("connection closed before a full response head: %r" % buf)
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0] + " ")
    if not m:
        raise AssertionError("bad status line %r" % lines[0])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = 0 if head_only else int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = recv_some(sock, deadline)
        if not chunk:
            raise AssertionError("connection closed inside the body")
        rest += chunk
    return int(m.group(1)), headers, rest[:n], rest[n:]


class FaultAssertions:
    """fault(code, fn, *args): fn(*args) must raise an XML-RPC fault with
    that code; returns its message for further checks."""

    def fault(self, code, fn, *args):
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            fn(*args)
        self.assertEqual(cm.exception.faultCode, code, cm.exception.faultString)
        return cm.exception.faultString


class AgentCase(FaultAssertions, unittest.TestCase):
    """One agent per test class, started in setUpClass from the class's
    agent_kw; a non-zero exit status at tearDownClass (e.g. a sanitizer
    report) fails the class."""
    agent_kw = {}

    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(**cls.agent_kw)
        try:
            cls.agent.start()
        except BaseException:
            cls.agent.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.agent.stop()
            if rc != 0:
                raise AssertionError("agent exited with status %d\n%s" % (rc, cls.agent.stderr()))
        finally:
            cls.agent.cleanup()
