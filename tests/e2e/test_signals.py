#!/usr/bin/env python3
"""test_signals.py - SIGHUP reload, SIGTERM/SIGINT stop, the auth slow-down.

The agent listens on 127.0.0.6. Clients bind their source address to
127.0.0.6 ("here") or 127.0.0.7 ("there") so that allow/deny rules and the
per-address failure counter can tell them apart.

SIGHUP: the certificate is swapped for new connections while a live
keep-alive connection keeps working; a broken config (or certificate) is
refused as a whole with "reload refused"; allow/deny change live; the log
file is reopened (logrotate style) and log_file may move.

SIGTERM: with hypervisor=qemu and a fake `qemu --version` that sleeps 2 s,
xen_get_xm_info is a deferred reply. While it is pending the loop still
answers other clients at once; SIGTERM then closes the listener, lets the
pending reply finish, and exits 0, removing the PID file.

Exit with children in flight: children still running when the agent exits
(xl create, xl info and xl list of the xen backend over tests/e2e/fake-xl
made to hang, a template's tar, a slow `qemu --version`) are killed with
their process groups and reaped, their owners' failure paths free what
they hold: exit status 0 and no sanitizer report (OVS_BUILD=build-san),
and none of those processes is left.

Run: python3 tests/e2e/test_signals.py [test_name...]
"""

import base64
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from agentfix import Agent, make_cert, unverified  # noqa: E402
from tap import main  # noqa: E402

HOST = "127.0.0.6"
THERE = "127.0.0.7"
TIMEOUT = 10
QEMU_SLEEP = 2


class Client:
    """A keep-alive HTTPS (XML-RPC) connection from a chosen source address."""

    def __init__(self, agent, source=HOST, user=None, password=None, timeout=TIMEOUT):
        self.agent = agent
        self.user = agent.user if user is None else user
        self.password = agent.password if password is None else password
        cls = http.client.HTTPSConnection if agent.ssl_on else http.client.HTTPConnection
        kw = {"context": unverified()} if agent.ssl_on else {}
        self.conn = cls(agent.host, agent.port, timeout=timeout,
                        source_address=(source, 0), **kw)

    def call(self, method, *params):
        """Returns (status, result-or-Fault-or-body)."""
        body = xmlrpc.client.dumps(params, method)
        token = base64.b64encode(("%s:%s" % (self.user, self.password)).encode()).decode()
        self.conn.request("POST", "/RPC2", body=body,
                          headers={"Content-Type": "text/xml",
                                   "Authorization": "Basic " + token})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            return resp.status, data
        try:
            return 200, xmlrpc.client.loads(data)[0][0]
        except xmlrpc.client.Fault as f:
            return 200, f

    def peer_der(self):
        return self.conn.sock.getpeercert(binary_form=True)

    def local(self):
        return self.conn.sock.getsockname()

    def close(self):
        self.conn.close()


def call_once(agent, method, *params, **kw):
    c = Client(agent, **kw)
    try:
        return c.call(method, *params)
    finally:
        c.close()


def der_of(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def wait_for(pred, timeout=TIMEOUT, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def proc_state(pid):
    """The state letter of /proc/PID/stat ("T" when stopped)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return ""
    return data[data.rindex(")") + 2:][:1]


def proc_stat(pid):
    """(ppid, pgrp, starttime) of a running process; None when it is gone
    or dead (a zombie: a killed grandchild is reparented to init, which
    reaps it when it gets to it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), int(fields[2]), int(fields[19])


def descendants(pid):
    """{pid: starttime} of pid's children and the members of their process
    groups (what a tool's children, like tar's gzip, run in)."""
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st:
                stats[int(name)] = st
    kids = {p for p, st in stats.items() if st[0] == pid}
    return {p: st[2] for p, st in stats.items() if p in kids or st[1] in kids}


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def still_there(procs):
    """Those of {pid: starttime} still running (same pid, same start)."""
    return [p for p, start in procs.items() if (proc_stat(p) or (0, 0, None))[2] == start]


def kill_left(procs):
    """SIGKILL those of {pid: starttime} still running (a failed test must
    not leave a fake-xl sleeping for an hour)."""
    for p in still_there(procs):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


def refused_at_once(agent, source):
    """True when a TCP connection from source is closed by the agent without
    a single byte (what allow/deny does), False when it is served."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    try:
        s.bind((source, 0))
        s.connect((agent.host, agent.port))
        try:
            return s.recv(1) == b""  # a served TLS client would wait for our hello
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
    finally:
        s.close()


class Base(unittest.TestCase):
    agent = None

    def start(self, **kw):
        kw.setdefault("host", HOST)
        self.agent = Agent(**kw)
        self.agent.start()
        return self.agent

    def tearDown(self):
        if self.agent:
            self.agent.cleanup()

    def reload_and_wait(self, marker):
        """SIGHUP, then wait until the log gains one more line with marker."""
        a = self.agent
        before = a.log().count(marker)
        a.reload()
        ok = wait_for(lambda: a.log().count(marker) > before)
        self.assertTrue(ok, "no %r after SIGHUP; log:\n%s" % (marker, a.log()))

    def assert_echo(self, source=HOST, what=""):
        self.assertEqual(call_once(self.agent, "echo", "x", source=source),
                         (200, "success:echo=x"), what)

    def stop_ok(self):
        rc = self.agent.stop()
        self.assertEqual(rc, 0, self.agent.stderr())
        self.assertFalse(os.path.exists(self.agent.pid_file), "PID file left behind")


class SighupTest(Base):
    def test_sighup_swaps_certificate_under_live_connection(self):
        a = self.start()
        old_der = der_of(a.cert)
        live = Client(a)
        try:
            self.assertEqual(live.call("echo", "one"), (200, "success:echo=one"))
            self.assertEqual(live.peer_der(), old_der)
            where = live.local()

            newdir = os.path.join(a.dir, "newcert")
            os.mkdir(newdir)
            cert, key = make_cert(newdir, "next", cn="renewed")
            new_der = der_of(cert)
            self.assertNotEqual(new_der, old_der)
            os.replace(key, a.key)
            os.replace(cert, a.cert)
            self.reload_and_wait("configuration reloaded")

            # the live connection: same socket, old certificate, still serving
            self.assertEqual(live.call("echo", "two"), (200, "success:echo=two"))
            self.assertEqual(live.local(), where, "the keep-alive connection was reopened")
            self.assertEqual(live.peer_der(), old_der)

            # a new connection gets the new certificate
            fresh = Client(a)
            try:
                self.assertEqual(fresh.call("echo", "three"), (200, "success:echo=three"))
                self.assertEqual(fresh.peer_der(), new_der,
                                 "new connection still presents the old certificate")
            finally:
                fresh.close()
            self.assertEqual(live.call("echo", "four"), (200, "success:echo=four"))
        finally:
            live.close()
        self.stop_ok()

    def test_sighup_broken_config_keeps_running_config(self):
        a = self.start()
        self.assert_echo()
        good_der = der_of(a.cert)
        # an unknown key makes the whole file invalid; the deny in it must not apply
        with open(a.ini, "a") as f:
            f.write("deny=%s\nno_such_key=1\n" % HOST)
        self.reload_and_wait("reload refused")
        line = [l for l in a.log().splitlines() if "reload refused" in l][-1]
        self.assertIn(a.ini + ":", line, "the message names the file and line")
        self.assertIn("no_such_key", line)
        self.assert_echo(what="old configuration still in force")
        self.assertIsNone(a.proc.poll())

        # a valid file naming a broken certificate is refused too
        a.write_ini()  # rewrites the good keys, dropping the junk
        bad = os.path.join(a.dir, "broken.pem")
        with open(bad, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        a.write_ini(ssl_cert=bad)
        self.reload_and_wait("reload refused")
        c = Client(a)
        try:
            self.assertEqual(c.call("echo", "x"), (200, "success:echo=x"))
            self.assertEqual(c.peer_der(), good_der)
        finally:
            c.close()

        # fixed: the next SIGHUP is accepted
        a.write_ini(ssl_cert=a.cert)
        self.reload_and_wait("configuration reloaded")
        self.assert_echo()
        self.stop_ok()

    def test_sighup_changes_allow_deny_live(self):
        a = self.start()
        self.assertFalse(refused_at_once(a, THERE))
        self.assert_echo(source=THERE)

        a.write_ini(deny=THERE)
        self.reload_and_wait("configuration reloaded")
        self.assertTrue(refused_at_once(a, THERE), "denied address still served")
        with self.assertRaises((OSError, http.client.HTTPException)):
            call_once(a, "echo", "x", source=THERE)
        self.assertIn("%s refused by allow/deny rules" % THERE, a.log())
        self.assert_echo(source=HOST, what="only the denied address is refused")

        a.write_ini(deny="", allow=THERE)
        self.reload_and_wait("configuration reloaded")
        self.assertTrue(refused_at_once(a, HOST), "address outside allow still served")
        self.assert_echo(source=THERE, what="allowed again")

        a.write_ini(allow="*")
        self.reload_and_wait("configuration reloaded")
        self.assert_echo(source=HOST)
        self.assert_echo(source=THERE)
        self.stop_ok()

    def test_sighup_reopens_log(self):
        a = self.start()
        self.assert_echo()
        rotated = a.log_path + ".1"
        os.rename(a.log_path, rotated)
        a.reload()
        self.assertTrue(wait_for(lambda: "configuration reloaded" in read(a.log_path)),
                        "no new log file at %s after SIGHUP; rotated one:\n%s"
                        % (a.log_path, read(rotated)))
        self.assertEqual(call_once(a, "echo", "after-rotate"), (200, "success:echo=after-rotate"))
        self.assertTrue(wait_for(lambda: "echo ok" in read(a.log_path)), read(a.log_path))
        old = read(rotated)
        self.assertIn("listening on", old)
        self.assertNotIn("configuration reloaded", old)
        self.assertEqual(old.count("echo ok"), 1, old)

        # log_file itself may change on reload
        moved = os.path.join(a.dir, "moved.log")
        a.write_ini(log_file=moved)
        a.reload()
        self.assertTrue(wait_for(lambda: "configuration reloaded" in read(moved)),
                        "log did not move; log:\n%s" % read(a.log_path))
        size = len(read(a.log_path))
        self.assert_echo()
        self.assertTrue(wait_for(lambda: "echo ok" in read(moved)))
        self.assertEqual(len(read(a.log_path)), size, "still writing the old log file")
        self.stop_ok()

    def test_sighup_restart_only_key_is_reported(self):
        a = self.start()
        old_port = a.port
        a.write_ini(port=str(old_port + 1 if old_port < 65535 else old_port - 1))
        self.reload_and_wait("configuration reloaded")
        self.assertIn("port changed; it takes effect at the next restart", a.log())
        self.assert_echo(what="still on the old port")
        self.stop_ok()


class StopTest(Base):
    def fake_qemu(self, directory):
        mark = os.path.join(directory, "qemu-started")
        path = os.path.join(directory, "fake-qemu")
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho $$ > '%s'\nsleep %d\n"
                    "echo 'QEMU emulator version 7.2.5 (fake)'\n" % (mark, QEMU_SLEEP))
        os.chmod(path, 0o755)
        return path, mark

    def start_qemu_agent(self, **extra):
        d = tempfile.mkdtemp(prefix="ovs-fakeqemu-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        qemu, mark = self.fake_qemu(d)
        a = self.start(hypervisor="qemu", env={"OVS_AGENT_QEMU": qemu},
                       extra={k: str(v) for k, v in extra.items()})
        return a, mark

    def pending_info(self, a):
        """Start xen_get_xm_info in a thread; returns (thread, box)."""
        box = {}

        def run():
            box["t0"] = time.monotonic()
            try:
                box["reply"] = call_once(a, "xen_get_xm_info", timeout=TIMEOUT + QEMU_SLEEP)
            except Exception as e:  # reported by the test
                box["error"] = e
            box["t1"] = time.monotonic()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, box

    def test_sigterm_finishes_pending_reply(self):
        a, mark = self.start_qemu_agent(shutdown_timeout=20)
        idle = Client(a)  # an idle keep-alive connection must not hold up the stop
        self.assertEqual(idle.call("echo", "idle"), (200, "success:echo=idle"))

        t, box = self.pending_info(a)
        self.assertTrue(wait_for(lambda: os.path.exists(mark), timeout=5),
                        "fake qemu never started; log:\n%s" % a.log())
        # the loop is not blocked by the pending reply
        t0 = time.monotonic()
        self.assertEqual(call_once(a, "echo", "meanwhile"), (200, "success:echo=meanwhile"))
        self.assertLess(time.monotonic() - t0, 1.0, "echo waited for the pending call")
        self.assertTrue(t.is_alive(), "xen_get_xm_info answered before qemu finished")

        t_term = time.monotonic()
        a.signal(signal.SIGTERM)
        # new connections are refused while the pending call is still running
        refused = False
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not refused:
            try:
                socket.create_connection((a.host, a.port), timeout=1).close()
                time.sleep(0.02)
            except ConnectionRefusedError:
                refused = True
        self.assertTrue(refused, "listener still open after SIGTERM")
        self.assertTrue(t.is_alive(), "(test timing) the pending call ended too early")
        self.assertIsNone(a.proc.poll(), "agent exited with a reply still pending")

        t.join(TIMEOUT + QEMU_SLEEP)
        self.assertFalse(t.is_alive())
        self.assertNotIn("error", box, "%r\nlog:\n%s\nstderr:\n%s"
                         % (box.get("error"), a.log(), a.stderr()))
        status, reply = box["reply"]
        self.assertEqual(status, 200, reply)
        self.assertIsInstance(reply, str, reply)
        self.assertTrue(reply.startswith("success:"), reply)
        self.assertIn("xen_major=7;xen_minor=2", reply)
        keys = dict(kv.split("=", 1) for kv in reply[len("success:"):].split(";") if "=" in kv)
        self.assertEqual((keys.get("xen_major"), keys.get("xen_minor")), ("7", "2"), reply)
        self.assertGreaterEqual(box["t1"] - box["t0"], QEMU_SLEEP - 0.3)

        try:
            a.proc.wait(TIMEOUT)
        except Exception:
            self.fail("agent did not exit after the pending reply; log:\n%s" % a.log())
        self.assertLess(time.monotonic() - t_term, QEMU_SLEEP + 3,
                        "the idle keep-alive connection held up the stop")
        self.assertEqual(a.proc.returncode, 0, a.stderr())
        self.assertFalse(os.path.exists(a.pid_file), "PID file left behind")
        self.assertIn("ovs-agent stopped", a.log())
        with self.assertRaises(OSError):
            socket.create_connection((a.host, a.port), timeout=2).close()
        idle.close()

    def test_sigterm_and_accept_in_one_batch(self):
        # The loop is frozen so that SIGTERM (on the signalfd) and a pending
        # connection on the listener are reported by the same epoll_wait:
        # closing the listener while handling SIGTERM must not leave the
        # rest of that batch pointing at freed memory (seen by ASan).
        a = self.start()
        a.signal(signal.SIGSTOP)
        try:
            self.assertTrue(wait_for(lambda: proc_state(a.proc.pid) == "T"), "not stopped")
            a.signal(signal.SIGTERM)
            s = socket.create_connection((a.host, a.port), timeout=TIMEOUT)
        finally:
            a.signal(signal.SIGCONT)
        try:
            a.proc.wait(TIMEOUT)
        except Exception:
            self.fail("agent did not stop; log:\n%s" % a.log())
        finally:
            s.close()
        self.assertEqual(a.proc.returncode, 0, a.stderr())
        self.assertFalse(os.path.exists(a.pid_file), "PID file left behind")

    def test_shutdown_timeout_bounds_the_wait(self):
        a, mark = self.start_qemu_agent(shutdown_timeout=0)
        t, box = self.pending_info(a)
        self.assertTrue(wait_for(lambda: os.path.exists(mark) and read(mark).strip(),
                                 timeout=5), a.log())
        qemu = descendants(a.proc.pid)  # the fake qemu and its sleep
        self.assertIn(int(read(mark)), qemu)
        t0 = time.monotonic()
        a.signal(signal.SIGTERM)
        try:
            a.proc.wait(TIMEOUT)
        except Exception:
            self.fail("agent ignored shutdown_timeout=0; log:\n%s" % a.log())
        self.assertLess(time.monotonic() - t0, QEMU_SLEEP - 0.5,
                        "agent waited for the reply despite shutdown_timeout=0")
        self.assertIn("shutdown_timeout passed with 1 connection(s) still busy", a.log())
        self.assertFalse(os.path.exists(a.pid_file), "PID file left behind")
        # qemu --version was still running: killed with its sleep, and freed
        self.assertEqual(a.proc.returncode, 0, a.stderr())
        # (its sleep would end by itself QEMU_SLEEP s after it started)
        self.assertTrue(wait_for(lambda: not still_there(qemu), timeout=0.5),
                        "the fake qemu outlived the agent")
        t.join(TIMEOUT + QEMU_SLEEP)
        self.assertFalse(t.is_alive())
        if "reply" in box:  # the connection was still open: the agent says it gave up
            self.assertIsInstance(box["reply"][1], xmlrpc.client.Fault, box["reply"])
            self.assertIn("the agent is stopping", box["reply"][1].faultString)

    def test_sigint_stops(self):
        a = self.start()
        self.assertTrue(os.path.exists(a.pid_file))
        with open(a.pid_file) as f:
            self.assertEqual(int(f.read().strip()), a.proc.pid)
        self.assert_echo()
        a.signal(signal.SIGINT)
        try:
            a.proc.wait(TIMEOUT)
        except Exception:
            self.fail("SIGINT did not stop the agent")
        self.assertEqual(a.proc.returncode, 0, a.stderr())
        self.assertFalse(os.path.exists(a.pid_file), "PID file left behind")
        self.assertIn("ovs-agent stopped", a.log())
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((a.host, a.port), timeout=2).close()

    def test_sigterm_stops_idle_agent(self):
        a = self.start(extra={"shutdown_timeout": "20"})
        self.assert_echo()
        t0 = time.monotonic()
        self.stop_ok()
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertIn("ovs-agent stopped", a.log())


FAKE_XL = os.path.join(HERE, "fake-xl")
XEN_CFG = "name = 'x1'\nuuid = '7a000000-0000-4000-8000-0000000000e1'\nmemory = 256\n"
TEMPLATE_FILES = 8000  # tar takes a second or more to unpack them


class ExitWithChildrenTest(Base):
    """Children in flight at exit are killed, reaped and freed."""

    def make_template(self, seed):
        import io
        import tarfile
        os.makedirs(seed)
        with tarfile.open(os.path.join(seed, "many.tgz"), "w:gz", compresslevel=1) as t:
            cfg = b"name = 'many'\nmemory = 256\n"
            ti = tarfile.TarInfo("vm.cfg")
            ti.size = len(cfg)
            t.addfile(ti, io.BytesIO(cfg))
            for i in range(TEMPLATE_FILES):
                t.addfile(tarfile.TarInfo("files/%d" % i))

    def background(self, a, method, *params):
        box = {}

        def run():
            try:
                box["reply"] = call_once(a, method, *params, timeout=30)
            except Exception as e:  # the agent may close before it answers
                box["error"] = e
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, box

    def wait_child(self, a, word):
        """The pid of the agent's child whose command line holds word."""
        found = []

        def look():
            found[:] = [p for p in descendants(a.proc.pid) if word in cmdline(p)]
            return found
        self.assertTrue(wait_for(look), "no child running %r; log:\n%s" % (word, a.log()))
        self.seen.update(descendants(a.proc.pid))
        return found[0]

    def test_children_in_flight_are_killed_and_freed_at_exit(self):
        tmp = tempfile.mkdtemp(prefix="ovs-exit-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        self.seen = {}  # every child seen, killed at the end if the agent did not
        self.addCleanup(kill_left, self.seen)
        state = os.path.join(tmp, "xl-state")
        os.makedirs(state)
        a = self.start(hypervisor="xen", extra={"shutdown_timeout": "0"},
                       env={"OVS_AGENT_XL": FAKE_XL, "FAKE_XL_STATE": state,
                            "OVS_AGENT_XL_POLL_MS": "200"})
        guest = os.path.join(a.keys["ovs_root"], "running_pool", "x1")
        os.makedirs(guest)
        with open(os.path.join(guest, "vm.cfg"), "w") as f:
            f.write(XEN_CFG)
        self.make_template(os.path.join(a.keys["ovs_root"], "seed_pool"))

        # a backend operation, a backend query and the backend's own refresh
        for op in ("create", "info"):
            open(os.path.join(state, "hang-" + op), "w").close()
        threads = [self.background(a, "start_vm", "x1")]
        self.wait_child(a, " create ")
        threads.append(self.background(a, "xen_get_xm_info"))
        self.wait_child(a, " info")
        open(os.path.join(state, "hang-list"), "w").close()
        self.wait_child(a, " list -v")
        # and a template job, caught while tar unpacks
        threads.append(self.background(a, "create_vm_from_template", "many", "m1"))
        self.wait_child(a, "/bin/tar -x")
        procs = descendants(a.proc.pid)
        self.seen.update(procs)
        self.assertGreaterEqual(len(procs), 4, procs)

        a.signal(signal.SIGTERM)
        try:
            a.proc.wait(TIMEOUT)
        except Exception:
            self.fail("agent did not exit; log:\n%s" % a.log())
        err = a.stderr()
        self.assertEqual(a.proc.returncode, 0, err)
        self.assertNotRegex(err, "Sanitizer|runtime error", err)
        self.assertTrue(wait_for(lambda: not still_there(procs), timeout=1),
                        "left running: %s" % ["%d %s" % (p, cmdline(p))
                                              for p in still_there(procs)])
        log = a.log()
        self.assertRegex(log, r"\d+ child processes still running at exit: killing them")
        for p in procs:
            if p in (int(x) for x in re.findall(r"killing \S+ \(pid (\d+)", log)):
                break
        else:
            self.fail("no child killed by pid; log:\n%s" % log)
        self.assertRegex(log, r"start \S+: failed: xl create \S+ was killed \(signal 9\): "
                              r"the agent is stopping")
        self.assertRegex(log, r"create_vm_from_template m1: unpacking template \S+ failed: "
                              r"tar was killed \(signal 9\): the agent is stopping")
        for t, box in threads:
            t.join(TIMEOUT)
            self.assertFalse(t.is_alive())
        self.assertFalse(os.path.exists(a.pid_file), "PID file left behind")


class SlowdownTest(Base):
    def timed(self, source, password):
        t0 = time.monotonic()
        status, _ = call_once(self.agent, "echo", "x", source=source, password=password,
                              timeout=TIMEOUT)
        return status, time.monotonic() - t0

    def test_auth_failure_slowdown(self):
        a = self.start(extra={"auth_fail_limit": "2", "auth_fail_delay_max": "2"})
        for i in (1, 2):
            status, took = self.timed(THERE, "wrong-%d" % i)
            self.assertEqual(status, 403)
            self.assertLess(took, 0.8, "failure %d (within the limit) was delayed" % i)
        status, took = self.timed(THERE, "wrong-3")
        self.assertEqual(status, 403)
        self.assertGreaterEqual(took, 0.9, "3rd failure not delayed")
        self.assertLess(took, 1.8)
        status, took = self.timed(THERE, "wrong-4")
        self.assertEqual(status, 403)
        self.assertGreaterEqual(took, 1.9, "4th failure not delayed 2 s")

        # the 5th is capped at auth_fail_delay_max; meanwhile others are served at once
        box = {}
        t = threading.Thread(target=lambda: box.update(r=self.timed(THERE, "wrong-5")),
                             daemon=True)
        t.start()
        time.sleep(0.2)
        status, took = self.timed(HOST, "wrong-elsewhere")
        self.assertEqual(status, 403)
        self.assertLess(took, 0.8, "another address was slowed down too")
        t0 = time.monotonic()
        self.assert_echo(source=HOST, what="the loop is blocked by a delayed 403")
        self.assertLess(time.monotonic() - t0, 0.8)
        t.join(TIMEOUT)
        self.assertEqual(box["r"][0], 403)
        self.assertGreaterEqual(box["r"][1], 1.9)
        self.assertLess(box["r"][1], 3.0, "delay not capped at auth_fail_delay_max=2")

        log = a.log()
        self.assertRegex(log, r"authentication failed for user 'admin' from %s "
                              r"\(3 consecutive failures; answer delayed 1s\)" % re.escape(THERE))
        self.assertRegex(log, r"authentication failed for user 'admin' from %s "
                              r"\(5 consecutive failures; answer delayed 2s\)" % re.escape(THERE))

        # the right password from the slowed-down address still works, promptly
        t0 = time.monotonic()
        self.assert_echo(source=THERE, what="right password after failures")
        self.assertLess(time.monotonic() - t0, 0.8)
        self.stop_ok()

    def fail_until_delayed(self, source):
        for i in range(3):
            status, took = self.timed(source, "wrong-%d" % i)
            self.assertEqual(status, 403)
        self.assertGreaterEqual(took, 0.9, "3rd failure not delayed")

    def test_success_resets_failure_count(self):
        a = self.start(extra={"auth_fail_limit": "2", "auth_fail_delay_max": "2"})
        # a success that goes to the password check resets the count
        self.fail_until_delayed(THERE)
        self.assert_echo(source=THERE, what="right password after failures")
        status, took = self.timed(THERE, "wrong-again")
        self.assertEqual(status, 403)
        self.assertLess(took, 0.8, "failure count not reset by a (verified) success")
        # a success answered from the credential cache must count the same
        self.fail_until_delayed(THERE)
        self.assert_echo(source=THERE, what="right (cached) password after failures")
        status, took = self.timed(THERE, "wrong-again")
        self.assertEqual(status, 403)
        self.assertLess(took, 0.8, "failure count not reset by a success from the "
                                   "credential cache (it is by an uncached one)")
        self.stop_ok()

    def test_failure_log_names_user_and_address(self):
        a = self.start()
        status, _ = call_once(a, "echo", "x", source=THERE, user="mallory", password="guess")
        self.assertEqual(status, 403)
        self.assertTrue(wait_for(lambda: "mallory" in a.log()))
        self.assertRegex(a.log(), r"authentication failed for user 'mallory' from %s "
                                  r"\(1 consecutive failure\)" % re.escape(THERE))
        self.assertNotIn("guess", a.log(), "the password was logged")
        self.stop_ok()


if __name__ == "__main__":
    main()
