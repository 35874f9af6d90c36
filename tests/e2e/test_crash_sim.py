"""test_crash_sim.py - kill -9 the agent at random moments of a scripted
run of hundreds of guest operations (simulated hypervisor), restart it,
and check after every restart that
  - no guest is left in a transient state or with an operation in flight,
  - the db agrees with what the hypervisor runs (db_dump vm vs db_dump sim),
  - every acknowledged operation held: a guest is in the state its last
    acknowledged operation left it in, or in the state the one operation
    that was in flight (never acknowledged) would have left it in.
The random choices come from a fixed seed, printed, so a failure repeats.

Run: python3 tests/e2e/test_crash_sim.py
"""

import os
import random
import socket
import subprocess
import sys
import threading
import time
import unittest
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from agentfix import Agent, binary  # noqa: E402
from tap import main  # noqa: E402
from test_guests_sim import make_guest  # noqa: E402

socket.setdefaulttimeout(20)
SEED = int(os.environ.get("CRASH_SEED", "20261127"))
ROUNDS = int(os.environ.get("CRASH_ROUNDS", "12"))
OPS_PER_ROUND = 60          # at most; the kill usually comes first
GUESTS = 6

# op -> (states it may start from, state after success)
OPS = {
    "start_vm": ({"DOWN"}, "RUNNING"),
    "stop_vm": ({"RUNNING", "PAUSED"}, "DOWN"),
    "destroy_vm": ({"RUNNING", "PAUSED"}, "DOWN"),
    "pause_vm": ({"RUNNING"}, "PAUSED"),
    "unpause_vm": ({"PAUSED"}, "RUNNING"),
    "suspend_vm": ({"RUNNING", "PAUSED"}, "SUSPEND"),
    "resume_vm": ({"SUSPEND"}, "RUNNING"),
    "reboot_vm": ({"RUNNING"}, "RUNNING"),
}


class CrashRun(unittest.TestCase):
    def setUp(self):
        self.agent = Agent(host="127.0.0.5", log_level="info",
                           env={"OVS_AGENT_SIM_DELAY_MS": "25"})
        self.names = ["c%d" % i for i in range(GUESTS)]
        for n in self.names:
            make_guest(self.agent, n, memory="128")

    def tearDown(self):
        self.agent.cleanup()

    def dump(self, table):
        out = subprocess.run([binary("db_dump"), "--config", self.agent.ini, table],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = {}
        for line in out.stdout.splitlines():
            key, *fields = line.split(" ")
            rows[key] = dict(f.split("=", 1) for f in fields if "=" in f)
        return rows

    def check_consistent(self, expected, maybe, round_no):
        vm = self.dump("vm")
        sim = self.dump("sim")
        by_uuid = {r.get("uuid"): (path, r) for path, r in vm.items()}
        for path, r in vm.items():
            name = os.path.basename(path)
            st = r.get("status")
            self.assertNotIn("op", r, "round %d: %s still has an operation in flight" %
                             (round_no, name))
            self.assertIn(st, {"RUNNING", "PAUSED", "DOWN", "SUSPEND"},
                          "round %d: %s is %s" % (round_no, name, st))
            running = r.get("uuid") in sim
            self.assertEqual(running, st in ("RUNNING", "PAUSED"),
                             "round %d: %s is %s in the db but %s the hypervisor" %
                             (round_no, name, st, "in" if running else "not in"))
            if running:
                self.assertEqual(sim[r["uuid"]]["state"],
                                 "paused" if st == "PAUSED" else "running")
            allowed = {expected[name]} | ({maybe[name]} if name in maybe else set())
            self.assertIn(st, allowed, "round %d: %s is %s; acknowledged %s%s" % (
                round_no, name, st, expected[name],
                " (or %s from the operation in flight)" % maybe[name] if name in maybe else ""))
            suspended = os.path.exists(os.path.join(path, "vm.state"))
            if st == "SUSPEND":
                self.assertTrue(suspended, "round %d: %s SUSPEND without vm.state" %
                                (round_no, name))
        for uuid in sim:
            self.assertIn(uuid, by_uuid, "round %d: the hypervisor runs an unknown guest %s" %
                          (round_no, uuid))
        return {os.path.basename(p): r["status"] for p, r in vm.items()}

    def test_kill_at_random_points(self):
        rng = random.Random(SEED)
        sys.stderr.write("# CRASH_SEED=%d\n" % SEED)
        expected = {n: "DOWN" for n in self.names}
        acked = 0
        for round_no in range(ROUNDS):
            self.agent.start()
            p = self.agent.proxy()
            if round_no == 0:
                for n in self.names:
                    p.register_vm(n)
            maybe = {}
            stop = threading.Event()
            state = {"acked": 0, "error": None}

            def run():
                px = self.agent.proxy()
                for _ in range(OPS_PER_ROUND):
                    if stop.is_set():
                        return
                    name = rng.choice(self.names)
                    ops = [o for o, (frm, _) in OPS.items() if expected[name] in frm]
                    op = rng.choice(ops)
                    maybe[name] = OPS[op][1]
                    try:
                        getattr(px, op)(name)
                    except xmlrpc.client.Fault as f:
                        maybe.pop(name, None)
                        state["error"] = "%s %s: fault %d %s" % (op, name, f.faultCode,
                                                                  f.faultString)
                        return
                    except (OSError, xmlrpc.client.ProtocolError, http_errors()):
                        return  # the agent died under the call: not acknowledged
                    expected[name] = OPS[op][1]
                    maybe.pop(name, None)
                    state["acked"] += 1

            t = threading.Thread(target=run)
            t.start()
            time.sleep(rng.uniform(0.05, 1.5))
            stop.set()
            self.agent.proc.kill()
            self.agent.proc.wait(10)
            t.join(30)
            self.assertIsNone(state["error"], "round %d: a valid operation failed" % round_no)
            acked += state["acked"]
            self.agent.start()
            self.check_consistent(expected, maybe, round_no)
            # What the db says now is the truth the next round builds on.
            expected = {n: s for n, s in self.check_consistent(expected, maybe,
                                                                round_no).items()}
            self.assertEqual(self.agent.stop(), 0)
        sys.stderr.write("# %d operations acknowledged over %d kills\n" % (acked, ROUNDS))
        self.assertGreater(acked, 40, "too few operations ran to mean anything")


def http_errors():
    import http.client
    return http.client.HTTPException


if __name__ == "__main__":
    main()
