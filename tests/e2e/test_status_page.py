#!/usr/bin/env python3
"""test_status_page.py - GET /status in a real browser: headless Chromium
opens the page of an agent (sim) with guests in every status, a mounted
repository, a bridge and a failed hook, and the DOM it builds shows each
in its section; a guest named <script>alert(1)</script> is text, no script
element. Screenshots (laptop and phone widths) are written to
/tmp/ovs-status-shots/ and kept there for a person to look at (the test
prints the folder).

The test runs itself again inside new mount and network namespaces
(`unshare -m -n --propagation private`), where it makes the bridge
(ovsbr0, its port ovsport0, one end of a
veth pair) and the repository (a 64 MiB tmpfs at
<ovs_root>/<uuid>, a quarter of it filled) and where the agent and
Chromium run: nothing outside sees them, and Chromium can reach nothing
but the agent on the namespace's loopback. Chromium gets a throw-away
profile (--user-data-dir in a temp dir, removed after) and trusts only
the agent's certificate's key (--ignore-certificate-errors-spki-list with
its SHA-256), not every certificate. Every wait is bounded; a Chromium
that outlives its timeout is killed by its process group (its pid).

Also checked without a browser: GET and HEAD /status send text/html with
the Content-Security-Policy (default-src 'none'), and no credentials get
401 with the realm.

Needs root, unshare, ip, mount and chromium (Debian `chromium`); skipped
otherwise.
Run: python3 tests/e2e/test_status_page.py [test_name...]
"""

import base64
import html.parser
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentfix  # noqa: E402
from agentfix import AgentCase, unverified  # noqa: E402
import hostfix  # noqa: E402
from tap import main, main_inside  # noqa: E402
from test_guests_sim import VM_CFG  # noqa: E402

INSIDE = "OVS_STATUS_PAGE_INSIDE"
SHOTS = "/tmp/ovs-status-shots"
CHROMIUM_TIMEOUT = 60
TIMEOUT = 30
HOSTILE = "<script>alert(1)</script>"
REPO = "0004fb00-0000-1000-8000-0000000000c1"
BRIDGE, PORT, PEER = "ovsbr0", "ovsport0", "ovspeer0"
# dir name -> what is done to the guest after register_vm
GUESTS = [("g-running", "start"), ("g-paused", "pause"), ("g-down", None),
          ("g-error", "crash"), ("g-suspend", "suspend"), ("hostile", "start")]


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def can_run():
    if os.geteuid() != 0:
        return "needs root (namespaces, mounts)"
    for tool in ("unshare", "ip", "mount", "umount", "openssl"):
        if not shutil.which(tool):
            return "needs %s" % tool
    if not chromium():
        return "needs chromium (Debian package chromium)"
    return None


def run(*argv):
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=TIMEOUT)
    if r.returncode != 0:
        raise AssertionError("%s: %s" % (" ".join(argv), r.stderr.strip()))
    return r.stdout


def spki_sha256(cert):
    """base64 SHA-256 of the certificate's public key (what Chromium's
    --ignore-certificate-errors-spki-list names)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"],
                         capture_output=True, check=True, timeout=TIMEOUT).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         capture_output=True, check=True, timeout=TIMEOUT).stdout
    dig = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der,
                         capture_output=True, check=True, timeout=TIMEOUT).stdout
    return base64.b64encode(dig).decode()


def browse(url, spki, *args):
    """Run headless Chromium on url with a throw-away profile; its stdout.
    Killed (the whole process group it leads) past CHROMIUM_TIMEOUT."""
    profile = tempfile.mkdtemp(prefix="ovs-chromium-")
    argv = [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--user-data-dir=" + profile, "--ignore-certificate-errors-spki-list=" + spki,
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--hide-scrollbars"] + list(args) + [url]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=CHROMIUM_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=TIMEOUT)
        raise AssertionError("chromium did not finish within %d s" % CHROMIUM_TIMEOUT)
    finally:
        # Chromium's helpers are in its group; none may outlive the call.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(profile, ignore_errors=True)
    if proc.returncode != 0:
        raise AssertionError("chromium exited %d: %s" % (proc.returncode,
                                                         err.decode(errors="replace")[-2000:]))
    return out.decode("utf-8", errors="replace")


class Dom(html.parser.HTMLParser):
    """The sections' text by id, script elements, meter elements."""

    def __init__(self):
        super().__init__()
        self.sections = {}
        self.scripts = 0
        self.meters = 0
        self.warn = []
        self._section = None
        self._in_warn = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self._section = a.get("id")
            self.sections[self._section] = ""
        elif tag == "script":
            self.scripts += 1
        elif tag == "meter":
            self.meters += 1
        if "warn" in (a.get("class") or "").split():
            self._in_warn += 1
            self.warn.append("")
        # Cells end with a separator so texts of neighbours stay apart.
        if self._section and tag in ("td", "th", "dd", "dt", "span", "p", "tr", "br"):
            self.sections[self._section] += " | "

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None
        if tag == "span" and self._in_warn:
            self._in_warn -= 1

    def handle_data(self, data):
        if self._section:
            self.sections[self._section] += data
        if self._in_warn:
            self.warn[-1] += data


class StatusPage(AgentCase):
    agent_kw = {"host": "127.0.0.1", "cert_days": 10,
                "extra": {"auth_fail_limit": "50", "auth_fail_delay_max": "1"}}

    @classmethod
    def setUpClass(cls):
        cls.mounted = None
        run("ip", "link", "set", "lo", "up")
        run("ip", "link", "add", BRIDGE, "type", "bridge")
        run("ip", "link", "add", PORT, "type", "veth", "peer", "name", PEER)
        run("ip", "link", "set", PORT, "master", BRIDGE)
        run("ip", "link", "set", PEER, "up")
        run("ip", "link", "set", PORT, "up")
        run("ip", "link", "set", BRIDGE, "up")
        cls.agent = agentfix.Agent(**cls.agent_kw)
        try:
            a = cls.agent
            root = a.keys["ovs_root"]
            mnt = os.path.join(root, REPO)
            os.makedirs(mnt)
            os.makedirs(os.path.join(a.keys["hooks_dir"], "guest.d"))
            run("mount", "-t", "tmpfs", "-o", "size=64m", "statuspage", mnt)
            cls.mounted = mnt
            with open(os.path.join(mnt, ".ovsrepo"), "w") as f:
                f.write("OVS_REPO_UUID=%s\nOVS_REPO_SHARED=0\nOVS_REPO_DESCRIPTION=status page "
                        "repo\nOVS_REPO_VERSION=1\n" % REPO)
            with open(os.path.join(mnt, "filler"), "wb") as f:
                f.write(b"\0" * (16 << 20))
            with open(a.keys["repositories_file"], "w") as f:
                f.write("%s statuspage:/tmpfs\n" % REPO)
            hook = os.path.join(a.keys["hooks_dir"], "guest.d", "50-fails-after-start")
            with open(hook, "w") as f:
                f.write('#!/bin/sh\n[ "$2" = after_start ] || exit 0\n'
                        'echo "after_start of $1 failed on purpose" >&2\nexit 7\n')
            os.chmod(hook, 0o755)
            for name, _ in GUESTS:
                d = os.path.join(root, "running_pool", name)
                os.makedirs(d)
                with open(os.path.join(d, "vm.cfg"), "w") as f:
                    f.write(VM_CFG % {"name": HOSTILE if name == "hostile" else name,
                                      "memory": "256", "dir": d, "uuid": ""})
                open(os.path.join(d, "system.img"), "w").close()
            a.start()
            cls.make_guests()
        except BaseException:
            cls.cleanup_all()
            raise

    @classmethod
    def make_guests(cls):
        p = cls.agent.proxy()
        for name, act in GUESTS:
            p.register_vm(name)
            if act:
                p.start_vm(name)
            if act == "pause":
                p.pause_vm(name)
            elif act == "crash":
                p.sim_crash_vm(name)
            elif act == "suspend":
                p.suspend_vm(name)
        # Failed logins from 127.0.0.7, so the security section has rows.
        for _ in range(3):
            c = http.client.HTTPSConnection(cls.agent.host, cls.agent.port, timeout=TIMEOUT,
                                            context=unverified(),
                                            source_address=("127.0.0.7", 0))
            try:
                c.request("GET", "/status", headers={
                    "Authorization": "Basic " + base64.b64encode(b"mallory:guess").decode()})
                c.getresponse().read()
            finally:
                c.close()

    @classmethod
    def cleanup_all(cls):
        try:
            if cls.mounted:
                subprocess.run(["umount", "-l", cls.mounted], capture_output=True,
                               timeout=TIMEOUT)
                cls.mounted = None
        finally:
            cls.agent.cleanup()

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.agent.stop()
        finally:
            cls.cleanup_all()
        if rc != 0:
            raise AssertionError("agent exited with status %d" % rc)

    def url(self, user="admin:secret@"):
        return "https://%s%s/status" % (user, self.agent.hostport())

    def get(self, method="GET", auth=True):
        c = http.client.HTTPSConnection(self.agent.host, self.agent.port, timeout=TIMEOUT,
                                        context=unverified())
        try:
            h = {"Authorization": "Basic " + base64.b64encode(b"admin:secret").decode()} \
                if auth else {}
            c.request(method, "/status", headers=h)
            r = c.getresponse()
            return r, r.read()
        finally:
            c.close()

    def test_headers(self):
        r, body = self.get()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/html; charset=utf-8")
        csp = r.getheader("Content-Security-Policy") or ""
        self.assertTrue(csp.startswith("default-src 'none'; style-src 'sha256-"), csp)
        self.assertEqual(r.getheader("X-Content-Type-Options"), "nosniff")
        self.assertTrue(body.startswith(b"<!DOCTYPE html>"))
        body.decode("utf-8")  # strict: the page is UTF-8
        r, head = self.get("HEAD")
        self.assertEqual(r.status, 200)
        self.assertEqual(head, b"")
        self.assertIsNotNone(r.getheader("Content-Security-Policy"))
        self.assertGreater(int(r.getheader("Content-Length")), 1000)
        r, _ = self.get(auth=False)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.getheader("WWW-Authenticate"), 'Basic realm="ovs-agent"')

    def test_chromium_dom_and_screenshot(self):
        spki = spki_sha256(self.agent.cert)
        dom_text = browse(self.url(), spki, "--dump-dom")
        dom = Dom()
        dom.feed(dom_text)
        dom.close()
        for sec in ("host", "guests", "repositories", "network", "pool", "hooks", "security",
                    "requests"):
            self.assertIn(sec, dom.sections, "section %s missing; DOM:\n%s"
                          % (sec, dom_text[:3000]))
        s = dom.sections
        # guests: every status, the hostile name as text, no script element
        for status in ("RUNNING", "PAUSED", "DOWN", "ERROR", "SUSPEND"):
            self.assertIn(status, s["guests"])
        for name, _ in GUESTS[:-1]:
            self.assertIn(name, s["guests"])
        self.assertIn(HOSTILE, s["guests"])
        self.assertIn("RUNNING 2", s["guests"])
        self.assertIn("6 in all", s["guests"])
        self.assertEqual(dom.scripts, 0, "a script element in the DOM")
        # the repository: mounted, sized, with its bar
        self.assertIn("status page repo", s["repositories"])
        self.assertIn("statuspage:/tmpfs", s["repositories"])
        self.assertIn("| mounted", s["repositories"])
        self.assertIn("64.0 MiB", s["repositories"])
        self.assertRegex(s["repositories"], r"4[78]\.\d MiB free \(2[56]% used\)")
        self.assertEqual(dom.meters, 1)
        # the bridge and its port
        self.assertIn(BRIDGE, s["network"])
        self.assertIn(PORT, s["network"])
        # the failed hook, first
        self.assertIn("50-fails-after-start", s["hooks"])
        self.assertIn("exit 7", s["hooks"])
        self.assertIn("failed on purpose", s["hooks"])
        # security: the certificate's 10 days with the warning; the failed logins
        self.assertIn("CN=localhost", s["security"])
        self.assertTrue(any("renew the certificate" in w for w in dom.warn), dom.warn)
        self.assertIn("127.0.0.7", s["security"])
        self.assertIn("mallory", s["security"])
        self.assertIn("start_vm", s["requests"])
        self.assertIn("No members.", s["pool"])

        os.makedirs(SHOTS, exist_ok=True)
        for name, size in (("status-laptop.png", "1280,2000"), ("status-phone.png", "390,2400")):
            shot = os.path.join(SHOTS, name)
            if os.path.exists(shot):
                os.unlink(shot)
            browse(self.url(), spki, "--screenshot=" + shot, "--window-size=" + size)
            self.assertTrue(os.path.getsize(shot) > 10000, shot)
            with open(shot, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        sys.stderr.write("# screenshots of /status kept in %s/ (not removed)\n" % SHOTS)


def outer():
    """The test again, inside new mount and network namespaces."""
    rc = hostfix.rerun_in_namespaces(__file__, ["-m", "-n"], dict(os.environ, **{INSIDE: "1"}),
                                     int(os.environ.get("E2E_TEST_TIMEOUT", "300")) * 2)
    if rc is None:
        print("not ok - test_status_page:namespace # did not finish in time")
        return 1
    return rc


if __name__ == "__main__":
    main_inside(INSIDE, can_run(), outer)
