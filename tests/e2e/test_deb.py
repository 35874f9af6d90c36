#!/usr/bin/env python3
"""test_deb: `make deb` twice (2.2-<build> and a bumped 2.2-<build>.1), lintian
on the package, then tests/deb/in_root.sh installs, upgrades and purges it in
a throw-away root (an overlay of / in its own mount and network namespaces,
loopback only) with the admin password preseeded through debconf.

Root only (mounts, chroot, dpkg); skips when a tool is missing and cannot be
installed. About 4 minutes on 2 cores (two package builds): it runs when
OVS_CHECK_DEB=1, which `make check` and `make check-deb` set; a bare
tests/run.sh sees it skip."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IN_ROOT = os.path.join(ROOT, "tests", "deb", "in_root.sh")
PW = "Deb-Test-Pw-7c1e"
TOOLS = ["dpkg-buildpackage", "dh", "fakeroot", "lintian", "unshare", "chroot",
         "debconf-set-selections", "git"]


def why_skip():
    if os.environ.get("OVS_CHECK_DEB") != "1":
        return "two package builds take minutes: make check and make check-deb run this (OVS_CHECK_DEB=1)"
    if os.geteuid() != 0:
        return "needs root (mounts, chroot, dpkg)"
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        return "missing: " + " ".join(missing)
    if not os.path.isdir(os.path.join(ROOT, ".git")) and \
            not os.path.isfile(os.path.join(ROOT, ".git")):
        return "not a git checkout (make deb archives the committed tree)"
    return None


class DebPackage(unittest.TestCase):
    results = {}
    build_err = None
    lintian_out = ""

    @classmethod
    def setUpClass(cls):
        cls.skip = why_skip()
        if cls.skip:
            return
        cls.tmp = tempfile.mkdtemp(prefix="ovs-deb-")
        try:
            cls._run()
        except Exception as e:  # reported by every test
            cls.build_err = "%s: %s" % (type(e).__name__, e)
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def _run(cls):
        n = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.strip()
        debs = []
        for build in (n, n + ".1"):
            out = os.path.join(cls.tmp, build)
            t0 = time.monotonic()
            r = subprocess.run(["make", "--no-print-directory", "deb", "BUILDNO=" + build,
                                "DEB_OUT=" + out], cwd=ROOT, capture_output=True,
                               text=True, timeout=900)
            if r.returncode != 0:
                raise RuntimeError("make deb BUILDNO=%s failed:\n%s" % (build, r.stdout[-3000:] + r.stderr[-3000:]))
            print("# make deb BUILDNO=%s: %.0f s" % (build, time.monotonic() - t0))
            found = [f for f in os.listdir(out) if re.fullmatch(
                r"ovs-agent_2\.2-%s_[a-z0-9]+\.deb" % re.escape(build), f)]
            if len(found) != 1:
                raise RuntimeError("no ovs-agent_2.2-%s_<arch>.deb in %s" % (build, os.listdir(out)))
            debs.append(os.path.join(out, found[0]))
        cls.version2 = "2.2-%s.1" % n
        r = subprocess.run(["lintian", debs[0]], capture_output=True, text=True, timeout=300)
        cls.lintian_out = r.stdout + r.stderr
        t0 = time.monotonic()
        r = subprocess.run(["timeout", "-k", "10", "300", "unshare", "-m", "-n", "--",
                            "bash", IN_ROOT, debs[0], debs[1], PW, cls.version2],
                           capture_output=True, text=True, timeout=330)
        print("# install, upgrade, purge: %.0f s" % (time.monotonic() - t0))
        for line in r.stdout.splitlines():
            m = re.match(r"CHECK (\S+) (ok|FAIL)(?: (.*))?$", line)
            if m:
                cls.results[m.group(1)] = (m.group(2), m.group(3) or "")
        cls.root_out = r.stdout[-3000:] + r.stderr[-3000:]

    def setUp(self):
        if self.skip:
            self.skipTest(self.skip)
        if self.build_err:
            self.fail(self.build_err)

    def step(self, *names):
        for name in names:
            state, why = self.results.get(name, ("missing", self.root_out))
            self.assertEqual(state, "ok", "%s: %s" % (name, why))

    def test_lintian_no_errors(self):
        errors = [ln for ln in self.lintian_out.splitlines() if ln.startswith("E:")]
        self.assertEqual(errors, [], self.lintian_out)
        warnings = [ln for ln in self.lintian_out.splitlines() if ln.startswith("W:")]
        self.assertEqual(warnings, [], self.lintian_out)

    def test_install_starts_and_answers_echo(self):
        self.step("preseed", "install", "started", "echo_hello")

    def test_password_gone_from_debconf(self):
        self.step("password_not_in_debconf")

    def test_certificate_made_key_0600(self):
        self.step("key_0600")

    def test_upgrade_keeps_edited_agent_ini(self):
        self.step("edit_ini", "upgrade", "upgraded_version", "ini_kept", "restarted",
                  "echo_after_upgrade")

    def test_purge_leaves_nothing(self):
        self.step("purge", "stopped", "nothing_left")

    def test_no_answer_no_password_not_started(self):
        self.step("install_without_password", "not_started_without_password",
                  "purge_again", "nothing_left_again")


if __name__ == "__main__":
    main()
