#!/usr/bin/env python3
"""test_initscript.py - init.d/ovs-agent driving the real, built daemon.

Each test gets its own temp dir holding agent.ini (listen=127.0.0.5, a free
port, ssl=enable with a generated certificate, every path inside the dir,
hypervisor=sim), a password file with admin's password set by
ovs-agent-passwd, and runs the init script with OVS_AGENT_CONFIG,
OVS_AGENT_BIN and OVS_AGENT_PASSWD_BIN pointing there and at $OVS_BUILD/bin
(default build/). `configure` is driven through a pseudo terminal, as an
administrator would type it.

Run: python3 tests/e2e/test_initscript.py [test_name...]
Prints one TAP line per test (see tap.py); exits 1 when any failed.
"""

import errno
import os
import pty
import re
import select
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tap import main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
_BUILD = os.environ.get("OVS_BUILD", "build")
BUILD_DIR = _BUILD if os.path.isabs(_BUILD) else os.path.join(ROOT, _BUILD)
AGENT = os.path.join(BUILD_DIR, "bin", "ovs-agent")
PASSWD = os.path.join(BUILD_DIR, "bin", "ovs-agent-passwd")
SCRIPT = os.path.join(ROOT, "init.d", "ovs-agent")

HOST = "127.0.0.5"
OLD_PASSWORD = "Old-secret-4711"
NEW_PASSWORD = "New-secret-0815"
# stop may legitimately wait 35 s before its SIGKILL
SCRIPT_TIMEOUT = 90
DIALOGUE_TIMEOUT = 30

GUIDE_BLOCK = (
    ";network access control by ip --\n"
    ";rules := if addr.match(allow) and not addr.match(deny): return True\n"
    ";pattern items delimited by comma and could be\n"
    ";10.1.1.1 #single ip\n"
    ";10.1.1.* #range\n"
    ";10.1.1.1/24 #range\n"
    ";default to allow all, deny none\n"
)
PASSWORD_QUESTION = "would you like to modify password to communicate with agent? [y/N]"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_alive(pid):
    """True while pid exists and is not a zombie (nobody may reap it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rindex(")") + 2:][:1] not in ("Z", "X", "x")


def is_agent(pid):
    """True when pid is a live process named ovs-agent (as the script checks)."""
    if not proc_alive(pid):
        return False
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
        if os.path.basename(exe.replace(" (deleted)", "")) == "ovs-agent":
            return True
    except OSError:
        pass
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return False
    return any(os.path.basename(a) == b"ovs-agent" for a in args)


def make_cert(cert, key):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes",
         "-days", "2", "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
        check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, timeout=120)
    os.chmod(key, 0o600)


class _Transport(xmlrpc.client.SafeTransport):
    """HTTPS without certificate checks (the agent's is self-signed), with a
    timeout so a stuck agent fails the test instead of hanging it."""

    def __init__(self, timeout):
        super().__init__(context=ssl._create_unverified_context())
        self._timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


class PtyDialog:
    """A child on a pseudo terminal (its controlling tty), read with timeouts.

    text is everything it printed (and the terminal echoed), with CR LF as
    LF; expect() moves a cursor past each match, so a later expect() only
    looks at newer output."""

    def __init__(self, argv, env):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.raw = b""
        self.pos = 0
        self.eof = False
        self.status = None

    @property
    def text(self):
        return self.raw.decode("utf-8", "replace").replace("\r\n", "\n")

    def _read(self, timeout):
        if self.eof:
            return
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return
        try:
            data = os.read(self.fd, 4096)
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: the terminal's last user left
                raise
            data = b""
        if data:
            self.raw += data
        else:
            self.eof = True

    def _fail(self, what):
        raise AssertionError("%s; transcript so far:\n%s" % (what, self.text))

    def expect(self, pattern, regex=False, timeout=DIALOGUE_TIMEOUT):
        """Wait for pattern (a string, or a regex) after the cursor; return
        the output from the cursor to the match's end, and move past it."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern) if regex else None
        while True:
            text = self.text
            if rx:
                m = rx.search(text, self.pos)
                end = m.end() if m else -1
            else:
                i = text.find(pattern, self.pos)
                end = i + len(pattern) if i >= 0 else -1
            if end >= 0:
                seen, self.pos = text[self.pos:end], end
                return seen
            if self.eof:
                self._fail("output ended before %r" % pattern)
            left = deadline - time.monotonic()
            if left <= 0:
                self._fail("timed out waiting for %r" % pattern)
            self._read(left)

    def send(self, line):
        os.write(self.fd, (line + "\n").encode())

    def wait(self, timeout=DIALOGUE_TIMEOUT):
        """Read to the end and return the exit status."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        while self.status is None and time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
            else:
                time.sleep(0.05)
        if self.status is None:
            self._fail("still running after %d s" % timeout)
        return self.status

    def close(self):
        if self.status is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.status = -signal.SIGKILL
        try:
            os.close(self.fd)
        except OSError:
            pass


class TestInitScript(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One key pair for all tests: RSA generation is the slow part.
        cls.certdir = tempfile.mkdtemp(prefix="ovs-initscript-cert-")
        cls.cert = os.path.join(cls.certdir, "certificate.pem")
        cls.key = os.path.join(cls.certdir, "key.pem")
        make_cert(cls.cert, cls.key)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certdir, ignore_errors=True)

    def setUp(self):
        for prog in (SCRIPT, AGENT, PASSWD):
            self.assertTrue(os.access(prog, os.X_OK), "%s is not executable (built?)" % prog)
        self.dir = tempfile.mkdtemp(prefix="ovs-initscript-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.addCleanup(self._stop_agent)
        self.seen_pids = set()
        self.port = free_port()
        d = self.dir
        self.cfg = os.path.join(d, "agent.ini")
        self.pid_file = os.path.join(d, "ovs-agent.pid")
        self.log_file = os.path.join(d, "ovs-agent.log")
        self.cert = os.path.join(d, "cert", "certificate.pem")
        self.key = os.path.join(d, "cert", "key.pem")
        for sub in ("cert", "db", "hooks", "OVS/running_pool", "OVS/seed_pool",
                    "OVS/iso_pool", "OVS/publish_pool", "OVS/sharedDisk"):
            os.makedirs(os.path.join(d, sub))
        shutil.copyfile(type(self).cert, self.cert)
        shutil.copyfile(type(self).key, self.key)
        os.chmod(self.key, 0o600)
        open(os.path.join(d, "repositories"), "w").close()
        with open(self.cfg, "w") as f:
            f.write(
                "; agent.ini of test_initscript.py\n"
                "# configure must keep comments, spacing and other keys\n"
                "listen=%(host)s\n"
                "port = %(port)d\n"
                "ssl=enable\n"
                "ssl_cert=%(cert)s\n"
                "ssl_key=%(key)s\n"
                "\n"
                ";access\n"
                "allow=*\n"
                "deny=\n"
                "\n"
                "auth=password\n"
                "password_file=%(d)s/password\n"
                "state_dir=%(d)s/db\n"
                "log_file=%(log)s\n"
                "log_level=debug\n"
                "pid_file=%(pid)s\n"
                "hypervisor=sim\n"
                "ovs_root=%(d)s/OVS\n"
                "hooks_dir=%(d)s/hooks\n"
                "repositories_file=%(d)s/repositories\n"
                % {"host": HOST, "port": self.port, "cert": self.cert, "key": self.key,
                   "d": d, "log": self.log_file, "pid": self.pid_file})
        os.chmod(self.cfg, 0o640)
        self.env = dict(os.environ, OVS_AGENT_CONFIG=self.cfg,
                        OVS_AGENT_BIN=AGENT, OVS_AGENT_PASSWD_BIN=PASSWD)
        r = subprocess.run([PASSWD, "--config", self.cfg, "admin"],
                           input=OLD_PASSWORD + "\n", capture_output=True, text=True,
                           env=self.env, timeout=60)
        self.assertEqual(r.returncode, 0, "ovs-agent-passwd: %s%s" % (r.stdout, r.stderr))

    # --- helpers ---------------------------------------------------------

    def _read_pid_file(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def _stop_agent(self):
        """Always leave no agent behind: the script first, then SIGKILL to
        every ovs-agent pid this test saw."""
        try:
            subprocess.run([SCRIPT, "stop"], env=self.env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=SCRIPT_TIMEOUT)
        except (OSError, subprocess.SubprocessError):
            pass
        pids = set(self.seen_pids)
        pid = self._read_pid_file()
        if pid:
            pids.add(pid)
        for pid in pids:
            if is_agent(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def _log_tail(self, lines=40):
        try:
            with open(self.log_file, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log file)\n"

    def describe(self, r):
        return ("%s: exit %s\n--- stdout\n%s--- stderr\n%s--- agent log (tail)\n%s"
                % (" ".join(r.args), r.returncode, r.stdout, r.stderr, self._log_tail()))

    def script(self, action, expect_rc=0, input=None):
        r = subprocess.run([SCRIPT, action], env=self.env, capture_output=True, text=True,
                           input=input if input is not None else "",
                           timeout=SCRIPT_TIMEOUT)
        if expect_rc is not None:
            self.assertEqual(r.returncode, expect_rc, self.describe(r))
        return r

    def start(self):
        r = self.script("start")
        self.assertRegex(r.stdout, r"Starting ovs-agent: \[ OK \]", self.describe(r))
        return r

    def status_running(self):
        """status must say running; returns the pid (checked against the pid file)."""
        r = self.script("status")
        m = re.search(r"ovs-agent \(pid (\d+)\) is running on %s:%d \(https\), version 2\.2-\d+"
                      % (re.escape(HOST), self.port), r.stdout)
        self.assertIsNotNone(m, self.describe(r))
        pid = int(m.group(1))
        self.seen_pids.add(pid)
        self.assertEqual(pid, self._read_pid_file())
        self.assertTrue(is_agent(pid), "pid %d is not a running ovs-agent" % pid)
        return pid

    def echo(self, password, user="admin"):
        url = "https://%s:%s@%s:%d/RPC2" % (user, password, HOST, self.port)
        proxy = xmlrpc.client.ServerProxy(url, transport=_Transport(20))
        try:
            return proxy.echo("hello")
        finally:
            proxy("close")()

    def assert_stopped(self, pid):
        self.assertFalse(proc_alive(pid), "pid %d still runs" % pid)
        self.assertFalse(os.path.exists(self.pid_file), "pid file left behind")
        r = self.script("status", expect_rc=3)
        self.assertIn("ovs-agent is stopped", r.stdout)

    def config_lines(self):
        with open(self.cfg) as f:
            return f.read().split("\n")

    def dialogue(self):
        d = PtyDialog([SCRIPT, "configure"], self.env)
        self.addCleanup(d.close)
        return d

    def answer_password(self, d, password):
        # The password tool's prompt: a last line that mentions a password.
        d.expect(r"(?i)password[^\n]*\Z", regex=True)
        # Let it finish switching echo off (a TCSAFLUSH would drop early input).
        time.sleep(0.3)
        d.send(password)

    # --- tests -----------------------------------------------------------

    def test_start_status_echo(self):
        self.start()
        self.status_running()
        self.assertEqual(self.echo(OLD_PASSWORD), "success:echo=hello")

    def test_start_when_running(self):
        self.start()
        pid = self.status_running()
        r = self.script("start")
        self.assertIn("already running", r.stdout, self.describe(r))
        self.assertIn(str(pid), r.stdout)
        self.assertEqual(self.status_running(), pid)

    def test_stop(self):
        self.start()
        pid = self.status_running()
        t0 = time.monotonic()
        r = self.script("stop")
        took = time.monotonic() - t0
        self.assertRegex(r.stdout, r"Stopping ovs-agent: \[ OK \]", self.describe(r))
        # SIGTERM alone must do it: no SIGKILL after the 35 s wait.
        self.assertNotIn("killed", r.stderr, self.describe(r))
        self.assertLess(took, 30, self.describe(r))
        self.assert_stopped(pid)
        with self.assertRaises(OSError):
            self.echo(OLD_PASSWORD)
        r = self.script("stop")
        self.assertIn("not running", r.stdout)

    def test_restart(self):
        self.start()
        pid = self.status_running()
        r = self.script("restart")
        self.assertRegex(r.stdout, r"Stopping ovs-agent: \[ OK \]", self.describe(r))
        self.assertRegex(r.stdout, r"Starting ovs-agent: \[ OK \]", self.describe(r))
        self.assertFalse(proc_alive(pid), "old agent %d still runs" % pid)
        pid2 = self.status_running()
        self.assertNotEqual(pid, pid2)
        self.assertEqual(self.echo(OLD_PASSWORD), "success:echo=hello")
        # restart of a stopped agent starts it
        self.script("stop")
        self.assert_stopped(pid2)
        r = self.script("restart")
        self.assertRegex(r.stdout, r"Starting ovs-agent: \[ OK \]", self.describe(r))
        self.status_running()

    def test_stale_pid_file(self):
        # A pid file naming some other live process: not ours to signal.
        other = subprocess.Popen(["sleep", "300"])
        try:
            with open(self.pid_file, "w") as f:
                f.write("%d\n" % other.pid)
            r = self.script("status", expect_rc=1)
            self.assertIn("dead but pid file", r.stdout)
            r = self.script("stop")
            self.assertIn("not running", r.stdout)
            self.assertIsNone(other.poll(), "stop signalled a process that is not ovs-agent")
            self.assertFalse(os.path.exists(self.pid_file))
            self.script("status", expect_rc=3)
            # start goes ahead despite a stale pid file
            with open(self.pid_file, "w") as f:
                f.write("%d\n" % other.pid)
            self.start()
            self.assertNotEqual(self.status_running(), other.pid)
            self.assertIsNone(other.poll())
        finally:
            other.kill()
            other.wait()

    def test_start_creates_certificate(self):
        os.unlink(self.cert)
        os.unlink(self.key)
        r = self.start()
        for path in (self.cert, self.key):
            self.assertTrue(os.path.getsize(path) > 0, "%s not created: %s" % (path, self.describe(r)))
        self.assertEqual(stat.S_IMODE(os.stat(self.key).st_mode) & 0o077, 0, "key readable by others")
        with open(self.cert) as f:
            self.assertIn("BEGIN CERTIFICATE", f.read())
        self.status_running()
        self.assertEqual(self.echo(OLD_PASSWORD), "success:echo=hello")

    def test_usage(self):
        r = subprocess.run([SCRIPT, "bogus"], env=self.env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=SCRIPT_TIMEOUT)
        self.assertEqual(r.returncode, 2)
        self.assertIn("Usage", r.stdout + r.stderr)
        r = subprocess.run([SCRIPT], env=self.env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=SCRIPT_TIMEOUT)
        self.assertEqual(r.returncode, 2)
        self.script("status", expect_rc=3)

    def test_configure_dialogue(self):
        self.start()
        self.status_running()
        self.assertEqual(self.echo(OLD_PASSWORD), "success:echo=hello")
        before = self.config_lines()
        mode = stat.S_IMODE(os.stat(self.cfg).st_mode)

        d = self.dialogue()
        d.expect("allow=*\nallow=")
        self.assertTrue(d.text.startswith(GUIDE_BLOCK + "allow=*\nallow="),
                        "the dialogue must open exactly as in the guide:\n" + d.text)
        d.send("127.0.0.1, 10.1.1.*")
        d.expect("\nnow allow=127.0.0.1, 10.1.1.*\n")
        d.expect("deny=\ndeny=")
        d.send("10.1.1.9")
        d.expect("\nnow deny=10.1.1.9\n")
        d.expect(PASSWORD_QUESTION)
        d.send("y")
        self.answer_password(d, NEW_PASSWORD)
        self.answer_password(d, NEW_PASSWORD)
        self.assertEqual(d.wait(), 0, d.text)
        self.assertIn("service ovs-agent restart", d.text)
        self.assertNotIn(NEW_PASSWORD, d.text, "the password was echoed")
        # the whole dialogue, in order, as the guide shows it
        want = (GUIDE_BLOCK + "allow=*\nallow=127.0.0.1, 10.1.1.*\nnow allow=127.0.0.1, 10.1.1.*\n"
                "deny=\ndeny=10.1.1.9\nnow deny=10.1.1.9\n" + PASSWORD_QUESTION + "y\n")
        self.assertTrue(d.text.startswith(want), d.text)

        expected = []
        for line in before:
            key = line.split("=", 1)[0].strip() if "=" in line and line[:1] not in ";#" else None
            expected.append({"allow": "allow=127.0.0.1, 10.1.1.*",
                             "deny": "deny=10.1.1.9"}.get(key, line))
        self.assertEqual(self.config_lines(), expected)
        self.assertEqual(stat.S_IMODE(os.stat(self.cfg).st_mode), mode)
        self.assertEqual([n for n in os.listdir(self.dir) if n.startswith(".agent.ini")], [],
                         "temp files left beside agent.ini")

        r = self.script("restart")
        self.assertRegex(r.stdout, r"Starting ovs-agent: \[ OK \]", self.describe(r))
        self.status_running()
        self.assertEqual(self.echo(NEW_PASSWORD), "success:echo=hello")
        with self.assertRaises(xmlrpc.client.ProtocolError) as cm:
            self.echo(OLD_PASSWORD)
        self.assertEqual(cm.exception.errcode, 403)

    def test_configure_rejects_bad_allow(self):
        before = self.config_lines()
        d = self.dialogue()
        d.expect("allow=*\nallow=")
        d.send("10.1.1.1/99")
        # an error, then the same question again
        seen = d.expect(r"\nallow=\Z", regex=True)
        self.assertRegex(seen, r"(?i)error|invalid", d.text)
        self.assertNotIn("now allow=10.1.1.1/99", d.text)
        d.send("10.1.1.*")
        d.expect("\nnow allow=10.1.1.*\n")
        d.expect("deny=\ndeny=")
        d.send("")
        d.expect("\nnow deny=\n")
        d.expect(PASSWORD_QUESTION)
        d.send("")
        self.assertEqual(d.wait(), 0, d.text)
        self.assertEqual(self.config_lines(),
                         ["allow=10.1.1.*" if line == "allow=*" else line for line in before])

    def test_configure_piped_input(self):
        before = self.config_lines()
        # End of input at once: every answer is "keep", the file is untouched.
        r = self.script("configure")
        self.assertIn("now allow=*\n", r.stdout, self.describe(r))
        self.assertIn("now deny=\n", r.stdout)
        self.assertIn(PASSWORD_QUESTION, r.stdout)
        self.assertEqual(self.config_lines(), before)
        # Answers on a pipe, one per line; the password tool reads the line
        # after "y" (so a script can do the whole setup).
        r = self.script("configure", input="127.0.0.0/8\n\ny\n%s\n" % NEW_PASSWORD)
        self.assertTrue(r.stdout.startswith(GUIDE_BLOCK + "allow=*\n"), self.describe(r))
        self.assertIn("now allow=127.0.0.0/8\n", r.stdout)
        self.assertIn("now deny=\n", r.stdout)
        self.assertEqual(self.config_lines(),
                         ["allow=127.0.0.0/8" if line == "allow=*" else line for line in before])
        self.start()
        self.status_running()
        self.assertEqual(self.echo(NEW_PASSWORD), "success:echo=hello")


if __name__ == "__main__":
    main()
