"""test_hooks.py - the hook runner and the site's guest event hooks, end to
end on the simulated hypervisor: hooks written into the agent's temp dir
(<hooks_dir>/guest.d), run on start, stop and crash; a veto; a hook that
never ends killed at its timeout with its children (by pid); 100 MB of
output capped while the agent's RSS stays flat; 50 hooks at once beyond
hooks_max_running, all finished and all in list_hook_runs.

Run: python3 tests/e2e/test_hooks.py [test_name...]
"""

import os
import socket
import sys
import threading
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from tap import main  # noqa: E402
from test_guests_sim import make_guest  # noqa: E402

socket.setdefaulttimeout(60)
HOST = "127.0.0.6"


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pid_gone(pid):
    """No such process, or a zombie left for a reaper that is not ours."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


class HookCase(agentfix.AgentCase):
    agent_kw = {"host": HOST}

    def setUp(self):
        self.dir = os.path.join(self.agent.keys["hooks_dir"], "guest.d")
        os.makedirs(self.dir, exist_ok=True)
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))

    def hook(self, name, body, mode=0o755):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, mode)
        return path

    def file(self, name):
        return os.path.join(self.agent.dir, name)

    def read(self, name):
        try:
            with open(self.file(name)) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def runs(self, **match):
        """list_hook_runs, only the records whose fields equal match's."""
        return [r for r in self.agent.proxy().list_hook_runs()
                if all(r.get(k) == v for k, v in match.items())]

    def wait_runs(self, count, timeout=30, **match):
        """Wait until count finished records match; return them."""
        deadline = time.time() + timeout
        while True:
            done = [r for r in self.runs(**match) if not r["running"] and not r["queued"]]
            if len(done) >= count or time.time() > deadline:
                return done
            time.sleep(0.1)


class GuestEvents(HookCase):
    def test_veto_keeps_the_guest_down(self):
        p = self.agent.proxy()
        d = make_guest(self.agent, "veto1")
        log = self.file("env.log")
        self.hook("10-env", 'echo "argv=$1 $2" >> %s\nenv | grep -E "^OVS_|^PATH=" | sort >> %s\n'
                  % (log, log))
        self.hook("20-veto", '[ "$2" = before_start ] || exit 0\n'
                  'echo "maintenance window: no starts on $OVS_GUEST_NAME" >&2\nexit 1\n')
        self.hook("30-never", "echo ran >> %s\n" % self.file("never.log"))
        msg = self.fault(1200, p.start_vm, "veto1")
        self.assertIn("maintenance window: no starts on veto1", msg)
        self.assertIn("20-veto before_start: exited with status 1", msg)
        self.assertEqual(p.get_vm_status("veto1"), "success:status=DOWN")
        self.assertEqual(self.read("never.log"), "")
        env = self.read("env.log")
        uuid = [line.split("=", 1)[1] for line in env.splitlines()
                if line.startswith("OVS_GUEST_UUID=")][0]
        self.assertEqual(len(uuid), 36)
        for want in ("argv=%s/vm.cfg before_start" % d, "OVS_GUEST_PATH=%s" % d,
                     "OVS_GUEST_NAME=veto1", "OVS_HOOK_EVENT=before_start",
                     "OVS_HOOK_KIND=guest", "OVS_HOST=%s" % socket.gethostname(),
                     "PATH=/usr/sbin:/usr/bin:/sbin:/bin"):
            self.assertIn(want + "\n", env)
        self.assertNotIn("OVS_MIGRATE_PEER", env)
        veto = self.runs(event="before_start", guest="veto1")
        self.assertEqual([os.path.basename(r["hook"]) for r in veto], ["20-veto", "10-env"])
        self.assertEqual(veto[0]["exit_status"], 1)
        self.assertEqual(veto[0]["kind"], "guest")
        self.assertIn("maintenance window", veto[0]["output_tail"])
        self.assertRegex(veto[0]["started"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(veto[0]["argv"], "%s/20-veto %s/vm.cfg before_start" % (self.dir, d))
        # the veto lifted: the start goes ahead
        os.unlink(os.path.join(self.dir, "20-veto"))
        self.assertTrue(p.start_vm("veto1").startswith("success"))
        self.assertEqual(p.get_vm_status("veto1"), "success:status=RUNNING")
        self.assertEqual(p.destroy_vm("veto1"), "success")

    def test_after_hooks_never_change_the_outcome(self):
        p = self.agent.proxy()
        make_guest(self.agent, "after1")
        self.hook("50-fail-after", 'case "$2" in after_*|crashed) echo "$2 failed" >&2; exit 7;; '
                  'esac\nexit 0\n')
        self.assertTrue(p.start_vm("after1").startswith("success"))
        self.assertEqual(p.get_vm_status("after1"), "success:status=RUNNING")
        runs = self.wait_runs(1, event="after_start", guest="after1")
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0]["exit_status"], 7)
        self.assertIn("after_start failed", runs[0]["output_tail"])
        # a crash is told too, and changes nothing more
        self.assertTrue(p.sim_crash_vm("after1").startswith("success"))
        self.assertEqual(len(self.wait_runs(1, event="crashed", guest="after1")), 1)
        self.assertEqual(p.get_vm_status("after1"), "success:status=ERROR")
        self.assertEqual(p.reset_vm("after1"), "success")
        # a stop: before_stop waited for, after_stop told
        self.assertEqual(p.stop_vm("after1"), "success")
        self.assertEqual(p.get_vm_status("after1"), "success:status=DOWN")
        self.assertEqual(len(self.runs(event="before_stop", guest="after1")), 1)
        runs = self.wait_runs(1, event="after_stop", guest="after1")
        self.assertEqual(runs[0]["exit_status"], 7)
        self.assertIn("failed after", self.agent.log())

    def test_list_hook_runs_newest_first_and_limit(self):
        p = self.agent.proxy()
        make_guest(self.agent, "order1")
        self.hook("10-a", "exit 0\n")
        self.hook("20-b", "exit 0\n")
        self.hook("15-not-executable", "exit 1\n", mode=0o644)
        self.hook(".05-hidden", "exit 1\n")
        self.assertTrue(p.start_vm("order1").startswith("success"))
        self.wait_runs(2, event="after_start", guest="order1")
        runs = self.runs(guest="order1")
        self.assertEqual([(os.path.basename(r["hook"]), r["event"]) for r in runs],
                         [("20-b", "after_start"), ("10-a", "after_start"),
                          ("20-b", "before_start"), ("10-a", "before_start")])
        two = p.list_hook_runs(2)
        self.assertEqual(len(two), 2)
        self.assertEqual(two, p.list_hook_runs()[:2])
        for r in runs:
            self.assertEqual(sorted(r), sorted([
                "hook", "kind", "argv", "event", "guest", "started", "duration_ms", "queued_ms",
                "exit_status", "signal", "timed_out", "queued", "running", "output_tail"]))
        self.fault(1000, p.list_hook_runs, 0)
        self.assertEqual(p.destroy_vm("order1"), "success")

    def test_reload_moves_the_hooks_dir(self):
        p = self.agent.proxy()
        make_guest(self.agent, "moved1")
        other = os.path.join(self.agent.dir, "site-hooks")
        os.makedirs(other, exist_ok=True)
        with open(os.path.join(other, "01-here"), "w") as f:
            f.write("#!/bin/sh\n[ \"$2\" = before_start ] || exit 0\necho nope >&2\nexit 2\n")
        os.chmod(os.path.join(other, "01-here"), 0o755)
        self.agent.write_ini(guest_hooks_dir=other)
        try:
            self.agent.reload()
            deadline = time.time() + 10
            while "configuration reloaded" not in self.agent.log() and time.time() < deadline:
                time.sleep(0.1)
            self.assertIn("nope", self.fault(1200, p.start_vm, "moved1"))
        finally:
            del self.agent.keys["guest_hooks_dir"]
            self.agent.write_ini()
            self.agent.reload()
            time.sleep(0.5)
        self.assertEqual(p.get_vm_status("moved1"), "success:status=DOWN")


class Timeout(HookCase):
    agent_kw = {"host": HOST, "extra": {"hook_timeout_guest": "2"}}

    def test_timeout_kills_the_hook_and_its_children(self):
        p = self.agent.proxy()
        make_guest(self.agent, "slow1")
        pids = self.file("pids")
        # a child that sleeps, one that ignores SIGTERM, and the hook itself
        self.hook("10-forever", '[ "$2" = before_start ] || exit 0\n'
                  'sleep 1000 &\necho $! >> %s\n'
                  "(trap '' TERM; exec sleep 1000) &\necho $! >> %s\n"
                  'echo $$ >> %s\nsleep 1000\n' % (pids, pids, pids))
        t0 = time.time()
        msg = self.fault(1500, p.start_vm, "slow1")
        took = time.time() - t0
        self.assertIn("10-forever before_start: timed out after 2 s", msg)
        self.assertGreater(took, 1.5)
        self.assertLess(took, 6)
        self.assertEqual(p.get_vm_status("slow1"), "success:status=DOWN")
        written = [int(x) for x in self.read("pids").split()]
        self.assertEqual(len(written), 3)
        deadline = time.time() + 5
        while time.time() < deadline and not all(pid_gone(x) for x in written):
            time.sleep(0.05)
        self.assertEqual([x for x in written if not pid_gone(x)], [], "processes left")
        r = self.runs(guest="slow1", event="before_start")[0]
        self.assertTrue(r["timed_out"])
        self.assertEqual(r["signal"], 15)
        self.assertEqual(r["exit_status"], -1)


class Output(HookCase):
    def test_100_mb_of_output_is_capped(self):
        p = self.agent.proxy()
        pid = self.agent.proc.pid
        make_guest(self.agent, "loud1")
        self.hook("10-loud", '[ "$2" = before_start ] || exit 0\n'
                  "yes 0123456789 | head -c 100000000\necho THE END\n")
        p.echo("warm")
        before = rss_kb(pid)
        peak = [before]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                try:
                    peak[0] = max(peak[0], rss_kb(pid))
                except OSError:
                    return
                time.sleep(0.01)

        t = threading.Thread(target=sample)
        t.start()
        try:
            self.assertTrue(p.start_vm("loud1").startswith("success"))
        finally:
            stop.set()
            t.join()
        after = rss_kb(pid)
        sys.stderr.write("# agent RSS %d kB before, %d kB at most during 100 MB of hook "
                         "output, %d kB after\n" % (before, peak[0], after))
        self.assertLess(peak[0] - before, 8 * 1024)
        self.assertLess(after - before, 4 * 1024)
        r = self.runs(guest="loud1", event="before_start")[0]
        self.assertEqual(r["exit_status"], 0)
        self.assertTrue(r["output_tail"].startswith("..."))
        self.assertTrue(r["output_tail"].endswith("0123456789\n0THE END"), r["output_tail"][-40:])
        self.assertLessEqual(len(r["output_tail"].encode()), 1023)
        self.assertIn("output past 65536 bytes a stream dropped", self.agent.log())
        self.assertEqual(p.destroy_vm("loud1"), "success")


class Fifty(HookCase):
    agent_kw = {"host": HOST, "extra": {"hooks_max_running": "8"}}

    def test_fifty_starts_at_once(self):
        names = ["f%02d" % i for i in range(50)]
        for n in names:
            make_guest(self.agent, n, memory="64")
        times = self.file("times")
        os.makedirs(times)
        self.hook("10-after", '[ "$2" = after_start ] || exit 0\n'
                  'echo "$(date +%%s.%%N)" > %s/$OVS_GUEST_NAME\nsleep 0.2\n'
                  'echo "$(date +%%s.%%N)" >> %s/$OVS_GUEST_NAME\necho "hello $OVS_GUEST_NAME"\n'
                  % (times, times))
        errors = []
        go = threading.Barrier(len(names))

        def start(n):
            try:
                go.wait(30)
                r = self.agent.proxy().start_vm(n)
                if not r.startswith("success"):
                    errors.append((n, r))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append((n, e))

        threads = [threading.Thread(target=start, args=(n,)) for n in names]
        for t in threads:
            t.start()
        seen_queued = 0
        deadline = time.time() + 60
        while any(t.is_alive() for t in threads) and time.time() < deadline:
            seen_queued = max(seen_queued, len(self.runs(event="after_start", queued=True)))
            time.sleep(0.05)
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        runs = self.wait_runs(50, timeout=60, event="after_start")
        self.assertEqual(len(runs), 50)
        self.assertEqual(sorted(r["guest"] for r in runs), names)
        for r in runs:
            self.assertEqual(r["exit_status"], 0, r)
            self.assertEqual(r["output_tail"], "hello " + r["guest"])
        # never more than hooks_max_running at once, by the hooks' own clocks
        spans = []
        for n in names:
            with open(os.path.join(times, n)) as f:
                a, b = (float(x) for x in f.read().split())
            spans.append((a, b))
        most = max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans)
        sys.stderr.write("# 50 after_start hooks: at most %d ran at once, %d seen queued at "
                         "one time, longest wait %d ms\n" % (
                             most, seen_queued, max(r["queued_ms"] for r in runs)))
        self.assertLessEqual(most, 8)
        self.assertGreaterEqual(max(r["queued_ms"] for r in runs), 100)
        p = self.agent.proxy()
        m = xmlrpc.client.MultiCall(p)
        for n in names:
            m.destroy_vm(n)
        self.assertEqual(list(m()), ["success"] * 50)


class Stopping(agentfix.FaultAssertions, agentfix.unittest.TestCase):
    def test_stop_ends_hooks_in_flight(self):
        """SIGTERM while a before_start hook runs and others wait: the agent
        ends them through child_end_all, the caller hears 1600, the agent
        exits 0 (under ASan: nothing leaked) and no hook process is left."""
        a = agentfix.Agent(host=HOST, extra={"shutdown_timeout": "1", "hooks_max_running": "1"})
        try:
            a.start()
            d = os.path.join(a.keys["hooks_dir"], "guest.d")
            os.makedirs(d)
            pids = os.path.join(a.dir, "pids")
            with open(os.path.join(d, "10-forever"), "w") as f:
                f.write("#!/bin/sh\n[ \"$2\" = before_start ] || exit 0\n"
                        "echo $$ >> %s\nexec sleep 1000\n" % pids)
            os.chmod(os.path.join(d, "10-forever"), 0o755)
            for n in ("s1", "s2"):
                make_guest(a, n)
            answers = {}

            def start(n):
                try:
                    answers[n] = a.proxy().start_vm(n)
                except xmlrpc.client.Fault as e:
                    answers[n] = e.faultCode
                except (OSError, xmlrpc.client.ProtocolError) as e:
                    answers[n] = repr(e)

            threads = [threading.Thread(target=start, args=(n,)) for n in ("s1", "s2")]
            for t in threads:
                t.start()
            deadline = time.time() + 10
            while time.time() < deadline and not os.path.exists(pids):
                time.sleep(0.05)
            time.sleep(0.2)
            queued = [r for r in a.proxy().list_hook_runs() if r["queued"]]
            self.assertEqual(len(queued), 1)
            self.assertEqual(a.stop(), 0, a.stderr())
            for t in threads:
                t.join(20)
            self.assertEqual(sorted(answers.values()), [1600, 1600], answers)
            with open(pids) as f:
                written = [int(x) for x in f.read().split()]
            self.assertEqual(len(written), 1)
            deadline = time.time() + 5
            while time.time() < deadline and not pid_gone(written[0]):
                time.sleep(0.05)
            self.assertTrue(pid_gone(written[0]))
        finally:
            a.cleanup()


QEMU = os.environ.get("OVS_AGENT_QEMU", "/usr/bin/qemu-system-x86_64")
# No disk: SeaBIOS waits for ever, which is all a migration needs.
BARE_CFG = "name = '%s'\nmemory = 64\nvcpus = 1\nbuilder = 'hvm'\nvnc = 0\n"


@agentfix.unittest.skipUnless(os.access(QEMU, os.X_OK), "no QEMU (%s)" % QEMU)
class Migration(agentfix.FaultAssertions, agentfix.unittest.TestCase):
    """before_migrate and after_migrate at both ends of a live migration
    between two agents (127.0.0.2 and 127.0.0.3) sharing the repository."""

    def setUp(self):
        self.a = agentfix.Agent(host="127.0.0.2", hypervisor="qemu")
        self.b = agentfix.Agent(host="127.0.0.3", hypervisor="qemu",
                                extra={"ovs_root": self.a.keys["ovs_root"]})
        d = os.path.join(self.a.keys["ovs_root"], "running_pool", "mig1")
        os.makedirs(d)
        with open(os.path.join(d, "vm.cfg"), "w") as f:
            f.write(BARE_CFG % "mig1")
        self.log = os.path.join(self.a.dir, "events.log")
        for ag, who in ((self.a, "source"), (self.b, "destination")):
            gd = os.path.join(ag.keys["hooks_dir"], "guest.d")
            os.makedirs(gd)
            self.write(os.path.join(gd, "10-log"), 'echo "%s $2 $OVS_GUEST_NAME '
                       'peer=$OVS_MIGRATE_PEER" >> %s\n' % (who, self.log))
        self.a.start()
        self.b.start()
        agentfix.form_pool(self.a, self.b)  # migration goes to pool members only

    def write(self, path, body):
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)

    def veto(self, agent, on):
        path = os.path.join(agent.keys["hooks_dir"], "guest.d", "20-veto")
        if on:
            self.write(path, '[ "$2" = before_migrate ] || exit 0\n'
                       'echo "no migrations to or from $OVS_HOST today" >&2\nexit 4\n')
        elif os.path.exists(path):
            os.unlink(path)

    def events(self):
        try:
            with open(self.log) as f:
                return [line for line in f.read().splitlines() if "migrate" in line]
        except FileNotFoundError:
            return []

    def tearDown(self):
        try:
            # A case that failed half-way leaves mig1 running on one side:
            # end it through the agent, as a manager would, before stopping.
            for ag in (self.a, self.b):
                try:
                    ag.proxy().destroy_vm("mig1")
                except (xmlrpc.client.Fault, OSError):
                    pass
            for ag in (self.a, self.b):
                self.assertEqual(ag.stop(), 0, ag.stderr())
        finally:
            for ag in (self.a, self.b):
                ag.cleanup()

    def test_migration_hooks(self):
        pa, pb = self.a.proxy(), self.b.proxy()
        target = "127.0.0.3:%d" % self.b.port
        self.assertTrue(pa.start_vm("mig1").startswith("success"))
        # the source refuses
        self.veto(self.a, True)
        msg = self.fault(1200, pa.xen_migrate_vm, "mig1", target)
        self.assertIn("a before_migrate hook refused: 20-veto before_migrate: exited with "
                      "status 4: no migrations to or from %s today" % socket.gethostname(), msg)
        self.assertEqual(pa.get_vm_status("mig1"), "success:status=RUNNING")
        self.assertEqual(self.events(), ["source before_migrate mig1 peer=127.0.0.3"])
        # the destination refuses
        self.veto(self.a, False)
        self.veto(self.b, True)
        msg = self.fault(1400, pa.xen_migrate_vm, "mig1", target)
        self.assertIn("a before_migrate hook refused to receive", msg)
        self.assertIn("exited with status 4", msg)
        self.assertEqual(pa.get_vm_status("mig1"), "success:status=RUNNING")
        self.assertEqual(pb.get_vm_status("mig1"), "success:status=DOWN")
        # both agree
        self.veto(self.b, False)
        del_lines = len(self.events())
        self.assertEqual(pa.xen_migrate_vm("mig1", target), "success")
        self.assertEqual(pb.get_vm_status("mig1"), "success:status=RUNNING")
        deadline = time.time() + 20
        while time.time() < deadline and len(self.events()) < del_lines + 4:
            time.sleep(0.1)
        # the destination sees the source's connection, whatever address
        # it left from (unbound, 127.0.0.1 here)
        got = [line.rsplit(".", 1)[0] if line.startswith("destination") else line
               for line in sorted(self.events()[del_lines:])]
        self.assertEqual(got, [
            "destination after_migrate mig1 peer=127.0.0",
            "destination before_migrate mig1 peer=127.0.0",
            "source after_migrate mig1 peer=127.0.0.3",
            "source before_migrate mig1 peer=127.0.0.3"])
        self.assertEqual(pb.destroy_vm("mig1"), "success")


if __name__ == "__main__":
    main()
