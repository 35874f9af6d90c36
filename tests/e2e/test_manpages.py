"""test_manpages.py - the manual pages in man/ against what they describe.

- every page the issue lists exists, and `make install-man` puts each into
  $(DESTDIR)$(MANDIR)/manN;
- `mandoc -Tlint -Wwarning` is silent on every page (and groff, which
  man-db uses, warns about nothing);
- every option, NAME= variable and command a program's usage names (its
  --help, the program itself being the one source of truth) is in its page;
- every key of agent/server/config.c's table is in agent.ini.5 with its
  default and, for numbers, its range; no key there is missing from the
  table.

Run: OVS_BUILD=build python3 tests/e2e/test_manpages.py [test_name...]
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tap import main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
MAN = os.path.join(ROOT, "man")
BUILD = os.path.join(ROOT, os.environ.get("OVS_BUILD", "build"))

# page -> the program whose usage it documents: ("bin", name) is built,
# ("hooks", name) is a script (or a link to one) in hooks/.
PROGRAMS = {
    "ovs-agent.8": ("bin", "ovs-agent"),
    "do_rpc.1": ("bin", "do_rpc"),
    "ovs-agent-passwd.8": ("bin", "ovs-agent-passwd"),
    "db_kfv.8": ("bin", "db_kfv"),
    "db_del.8": ("bin", "db_del"),
    "db_dump.8": ("bin", "db_dump"),
    "ovs-makerepo.8": ("hooks", "ovs-makerepo"),
    "ovs-offlinerepo.8": ("hooks", "ovs-offlinerepo"),
    "ovsrepositories.8": ("hooks", "ovsrepositories"),
    "ovs-cluster-configure.8": ("hooks", "ovs-cluster-configure"),
    "ovs-cluster-check.8": ("hooks", "ovs-cluster-check"),
    "network-bridge.8": ("hooks", "network-bridge"),
    "vif-bridge.8": ("hooks", "vif-bridge"),
}
PAGES = sorted(list(PROGRAMS) + ["agent.ini.5"])
SECTIONS = ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES",
            "EXIT STATUS", "EXAMPLES", "SEE ALSO")
# A file's page (section 5) has neither options nor an exit status.
FILE_SECTIONS = tuple(s for s in SECTIONS if s not in ("OPTIONS", "EXIT STATUS"))


def page_path(page):
    return os.path.join(MAN, page)


def rendered(page):
    """The page as a reader sees it: mandoc's (else groff's) text, no
    overstrike, no line-end hyphenation to worry about (neither hyphenates
    mdoc by default)."""
    if shutil.which("mandoc"):
        cmd = ["mandoc", "-Tascii", page_path(page)]
    else:
        cmd = ["groff", "-mandoc", "-Tascii", "-P-cbou", page_path(page)]
    out = subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout
    return re.sub(r".\x08", "", out.decode("utf-8", "replace"))


def usage_text(kind, name):
    """What the program prints for --help (exit 0), with a clean
    environment so OVS_* of the caller's shell change nothing."""
    if kind == "bin":
        path = os.path.join(BUILD, "bin", name)
    else:
        path = os.path.join(ROOT, "hooks", name)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
    r = subprocess.run([path, "--help"], env=env, capture_output=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, "%s --help: exit %d, %r" % (name, r.returncode, r.stderr)
    return r.stdout.decode()


def usage_words(text):
    """The options (-d, --config), NAME= variables and alternatives
    (start|stop, C|1|0) a usage text names."""
    words = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))
    words |= {w + "=" for w in re.findall(r"(?<![\w=-])([a-z][a-z_]*)=", text)}
    for alt in re.findall(r"(?<![\w-])([\w-]+(?:\|[\w-]+)+)", text):
        words |= set(alt.split("|"))
    return words


def in_text(word, text):
    """word in text as a whole word (a NAME= variable: followed by anything)."""
    tail = "" if word.endswith("=") else r"(?![\w-])"
    return re.search(r"(?<![\w-])" + re.escape(word) + tail, text) is not None


class Pages(unittest.TestCase):
    def test_every_page_exists_with_its_sections(self):
        for page in PAGES:
            with self.subTest(page=page):
                self.assertTrue(os.path.isfile(page_path(page)), page)
                src = open(page_path(page), encoding="utf-8").read()
                heads = re.findall(r"^\.Sh (.+)$", src, re.M)
                for sec in FILE_SECTIONS if page.endswith(".5") else SECTIONS:
                    self.assertIn(sec, heads, "%s lacks .Sh %s" % (page, sec))
        extra = set(os.listdir(MAN)) - set(PAGES)
        self.assertEqual(extra, set(), "pages not checked here")

    def test_mandoc_lint(self):
        if not shutil.which("mandoc"):
            self.skipTest("mandoc is not installed (make deps installs it)")
        r = subprocess.run(["mandoc", "-Tlint", "-Wwarning"] + [page_path(p) for p in PAGES],
                           capture_output=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, b""))

    def test_groff_warns_nothing(self):
        if not shutil.which("groff"):
            self.skipTest("groff is not installed")
        for page in PAGES:
            r = subprocess.run(["groff", "-mandoc", "-Tutf8", "-ww", "-z", page_path(page)],
                               capture_output=True, timeout=60)
            self.assertEqual((r.returncode, r.stderr), (0, b""), page)

    def test_install_man(self):
        if not shutil.which("make"):
            self.skipTest("make is not installed")
        with tempfile.TemporaryDirectory() as dest:
            subprocess.run(["make", "-s", "-C", ROOT, "install-man", "DESTDIR=" + dest,
                            "MANDIR=/usr/share/man"], check=True, capture_output=True, timeout=60)
            for page in PAGES:
                got = os.path.join(dest, "usr/share/man", "man" + page.rsplit(".", 1)[1], page)
                with open(got, "rb") as f, open(page_path(page), "rb") as g:
                    self.assertEqual(f.read(), g.read(), got)


class Usage(unittest.TestCase):
    def test_usage_words_in_pages(self):
        if not os.path.isfile(os.path.join(BUILD, "bin", "ovs-agent")):
            self.skipTest("not built: %s/bin/ovs-agent" % BUILD)
        missing = []
        for page, (kind, name) in sorted(PROGRAMS.items()):
            text = rendered(page)
            words = usage_words(usage_text(kind, name))
            self.assertIn("--help", text, page)
            missing += ["%s: %s" % (page, w) for w in sorted(words) if not in_text(w, text)]
        self.assertEqual(missing, [])

    def test_usage_words_found(self):
        """The extraction itself: it finds what the usages are known to say,
        so a change that made it find nothing would not pass silently."""
        w = usage_words("usage: db_del [--config PATH] [--force] [--keep-files] vm GUEST\n"
                        "usage: net start|stop|status [netdev=NAME] [-d]\n")
        self.assertTrue({"--config", "--force", "--keep-files", "start", "stop", "status",
                         "netdev=", "-d"} <= w, w)
        self.assertFalse(in_text("--force", "--force-reload"))


def config_table():
    """agent/server/config.c: [(key, type, field, min, max, words)], the
    enum words tables {table: {value: word}} and the defaults {field: expr}."""
    src = open(os.path.join(ROOT, "agent/server/config.c"), encoding="utf-8").read()
    num = r"(-?\d+)(?:LL)?"
    keys = re.findall(r'\{ "(\w+)", (KT_\w+), OFF\((\w+)\), %s, %s, (\w+) \}' % (num, num), src)
    tables = {}
    for name, body in re.findall(r"enum_word (\w+)\[\] = \{(.*?)\};", src, re.S):
        tables[name] = {v: w for w, v in re.findall(r'\{ "(\w+)", (\w+) \}', body)}
    body = re.search(r"void config_defaults\(.*?\n\}", src, re.S).group(0)
    defaults = dict(re.findall(r"cfg->(\w+) = (.+);", body))
    return keys, tables, defaults


def default_words(expr, words):
    """What the page must say for a default written as expr in C; None when
    it is derived from another key (the page says so in words)."""
    m = re.fullmatch(r'xstrdup\("(.*)"\)', expr)
    if m:
        return m.group(1) or None
    m = re.fullmatch(r"\(size_t\)(\d+) << (\d+)", expr)
    if m:
        return str(int(m.group(1)) << int(m.group(2)))
    if re.fullmatch(r"\d+", expr):
        return expr
    if words:
        value = {"true": "1", "false": "0"}.get(expr, expr)
        return words.get(value)
    return None


class AgentIni(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys, cls.tables, cls.defaults = config_table()
        src = open(page_path("agent.ini.5"), encoding="utf-8").read()
        # each ".It Cm key" item's source, up to the next item or list end
        cls.items = {}
        for m in re.finditer(r"^\.It Cm (\w+)\n(.*?)(?=^\.It |^\.El)", src, re.M | re.S):
            cls.items[m.group(1)] = m.group(2)

    def test_table_read(self):
        names = [k[0] for k in self.keys]
        self.assertGreater(len(names), 40)
        for k in ("listen", "port", "ssl", "hypervisor", "ocfs2_conf"):
            self.assertIn(k, names)

    def test_every_key_in_page(self):
        missing = [k[0] for k in self.keys if k[0] not in self.items]
        self.assertEqual(missing, [], "keys of config.c missing from agent.ini.5")

    def test_no_page_key_unknown(self):
        names = {k[0] for k in self.keys}
        self.assertEqual(sorted(set(self.items) - names), [],
                         "agent.ini.5 documents keys config.c does not have")

    def test_ranges_and_defaults(self):
        bad = []
        for name, ktype, field, lo, hi, words in self.keys:
            item = self.items.get(name, "")
            if ktype in ("KT_INT", "KT_SIZE"):
                for n in (lo, hi):
                    if not re.search(r"(?<!\d)%s(?!\d)" % n, item):
                        bad.append("%s: range bound %s" % (name, n))
            if ktype == "KT_ENUM":
                for w in self.tables[words].values():
                    if not re.search(r"\bCm %s\b" % re.escape(w), item):
                        bad.append("%s: value %s" % (name, w))
            d = default_words(self.defaults.get(field, ""), self.tables.get(words))
            if d is not None and not re.search(r"Default\s*\n?(?:\.\w+ )?%s" % re.escape(d),
                                               item):
                bad.append("%s: default %s" % (name, d))
        self.assertEqual(bad, [])


if __name__ == "__main__":
    main()
