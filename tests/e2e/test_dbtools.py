#!/usr/bin/env python3
"""test_dbtools.py - db_kfv, db_del and db_dump against a running agent's db.

One agent (sim hypervisor, 127.0.0.9) creates the db when it starts; the
tools then read and write it while the agent runs. Guest records are made
with the tools' own `db_kfv --create`, as there is no XML-RPC method to
register a guest yet. Each test uses its own guest names, so the tests
share the agent but not their data.

Run: python3 tests/e2e/test_dbtools.py [test_name...]
Prints one TAP line per test (see tap.py); exits 1 when any failed.
"""

import base64
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from agentfix import AgentCase, binary, read_response  # noqa: E402
from tap import main  # noqa: E402

TIMEOUT = 20          # every subprocess and socket
socket.setdefaulttimeout(TIMEOUT)


class DbTools(AgentCase):
    agent_kw = {"host": "127.0.0.9", "hypervisor": "sim"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.agent.keys["ovs_root"]
        cls.pool = os.path.join(cls.root, "running_pool")
        os.makedirs(cls.pool, exist_ok=True)
        # Files outside ovs_root that no removal may ever touch.
        cls.outside = tempfile.mkdtemp(prefix="ovs-e2e-outside-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.outside, ignore_errors=True)
        super().tearDownClass()

    # -- helpers -----------------------------------------------------------
    def tool(self, name, *args, config=True, env=None):
        argv = [binary(name)] + (["--config", self.agent.ini] if config else []) + list(args)
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                              env=env or self.agent.env)

    def ok(self, name, *args):
        r = self.tool(name, *args)
        self.assertEqual(r.returncode, 0, "%s %s: %s" % (name, args, r.stderr))
        return r.stdout

    def fails(self, name, *args, rc=1, msg=None):
        r = self.tool(name, *args)
        self.assertEqual(r.returncode, rc, "%s %s: out %r err %r" % (name, args, r.stdout,
                                                                       r.stderr))
        self.assertTrue(r.stderr.startswith(name + ": ") or rc == 2, r.stderr)
        if msg:
            self.assertIn(msg, r.stderr)
        return r

    def path(self, name):
        return os.path.join(self.pool, name)

    def create(self, name, status=None):
        out = self.ok("db_kfv", "--create", "vm", name)
        self.assertEqual(out, "%s created, status(now)=>DOWN\n" % self.path(name))
        if status:
            self.ok("db_kfv", "vm", name, "status", status)

    def status(self, name):
        return self.ok("db_kfv", "vm", name, "status").rsplit("=>", 1)[1].strip()

    def in_db(self, name):
        r = self.tool("db_kfv", "vm", name, "status")
        return r.returncode == 0

    def make_guest_dir(self, where):
        os.makedirs(os.path.join(where, "disks"))
        with open(os.path.join(where, "vm.cfg"), "w") as f:
            f.write("name = '%s'\nmemory = 256\n" % os.path.basename(where))
        with open(os.path.join(where, "disks", "System.img"), "wb") as f:
            f.write(b"\0" * 4096)

    # -- usage ---------------------------------------------------------------
    def test_help_and_usage(self):
        for name in ("db_kfv", "db_del", "db_dump"):
            r = self.tool(name, "--help", config=False)
            self.assertEqual(r.returncode, 0)
            self.assertTrue(r.stdout.startswith("usage: " + name), r.stdout)
            self.assertIn("--config", r.stdout)
        self.assertIn("--create", self.tool("db_kfv", "--help").stdout)
        self.assertIn("--keep-files", self.tool("db_del", "--help").stdout)
        self.fails("db_kfv", rc=2)
        self.fails("db_kfv", "vm", rc=2)
        self.fails("db_kfv", "vm", "g", "f", "v", "extra", rc=2)
        self.fails("db_kfv", "--bogus", "vm", "g", rc=2)
        r = self.fails("db_kfv", "nosuchtable", "x", rc=2)
        self.assertIn("db_kfv: unknown table", r.stderr)
        self.fails("db_del", rc=2)
        self.fails("db_del", "database", "g", rc=2)
        self.fails("db_dump", "vm", "extra", rc=2)
        self.fails("db_dump", "users", rc=2)

    def test_config_from_environment_and_missing_config(self):
        self.create("envguest")
        env = dict(self.agent.env, OVS_AGENT_CONFIG=self.agent.ini)
        r = self.tool("db_kfv", "vm", "envguest", "status", config=False, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "%s status(now)=>DOWN\n" % self.path("envguest"))
        missing = os.path.join(self.agent.dir, "nope.ini")
        for name in ("db_kfv", "db_del", "db_dump"):
            args = {"db_kfv": ["pool"], "db_del": ["vm", "x"], "db_dump": []}[name]
            r = self.tool(name, "--config", missing, *args, config=False)
            self.assertEqual(r.returncode, 1)
            self.assertTrue(r.stderr.startswith(name + ": "), r.stderr)
            self.assertIn("nope.ini", r.stderr)

    def test_no_db_yet(self):
        """A config whose state_dir holds no db: said plainly, nothing created."""
        d = tempfile.mkdtemp(prefix="ovs-e2e-nodb-")
        try:
            ini = os.path.join(d, "agent.ini")
            with open(ini, "w") as f:
                f.write("state_dir=%s/db\novs_root=%s/OVS\n" % (d, d))
            for name, args in (("db_kfv", ["pool"]), ("db_dump", []), ("db_del", ["vm", "g"])):
                r = self.tool(name, "--config", ini, *args, config=False)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertIn("%s: no db in %s/db" % (name, d), r.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "db")))
        finally:
            shutil.rmtree(d)

    # -- db_kfv ----------------------------------------------------------------
    def test_status_in_the_guides_format(self):
        self.create("guest")
        out = self.ok("db_kfv", "vm", "guest", "status")
        self.assertEqual(out, "%s/running_pool/guest status(now)=>DOWN\n" % self.root)
        # The absolute path names the same record.
        out = self.ok("db_kfv", "vm", self.path("guest") + "/", "status")
        self.assertEqual(out, "%s status(now)=>DOWN\n" % self.path("guest"))

    def test_set_and_get_fields(self):
        self.create("fields")
        p = self.path("fields")
        self.assertEqual(self.ok("db_kfv", "vm", "fields", "memory", "512"),
                         "%s memory(old)=> (new)=>512\n" % p)
        self.assertEqual(self.ok("db_kfv", "vm", "fields", "memory", "1024"),
                         "%s memory(old)=>512 (new)=>1024\n" % p)
        self.assertEqual(self.ok("db_kfv", "vm", "fields", "memory"),
                         "%s memory(now)=>1024\n" % p)
        self.assertEqual(self.ok("db_kfv", "vm", "fields", "error", "a=b; c d"),
                         "%s error(old)=> (new)=>a=b; c d\n" % p)
        self.ok("db_kfv", "vm", "fields", "hv_id", "--", "-1")
        self.assertEqual(self.ok("db_kfv", "vm", "fields", "hv_id"), "%s hv_id(now)=>-1\n" % p)
        lines = self.ok("db_kfv", "vm", "fields").splitlines()
        for line in lines:
            self.assertTrue(line.startswith(p + " "), line)
            self.assertIn("(now)=>", line)
        fields = dict(line[len(p) + 1:].split("(now)=>", 1) for line in lines)
        self.assertEqual(fields["name"], "fields")
        self.assertEqual(fields["status"], "DOWN")
        self.assertEqual(fields["memory"], "1024")
        self.assertEqual(fields["error"], "a=b; c d")
        self.assertTrue(fields["created"].isdigit() and fields["updated"].isdigit())
        self.fails("db_kfv", "vm", "fields", "Bad-Field", "x", msg="bad field")
        self.fails("db_kfv", "vm", "fields", "nofield", msg="has no field \"nofield\"")

    def test_status_validation(self):
        self.create("stat")
        p = self.path("stat")
        self.assertEqual(self.ok("db_kfv", "vm", "stat", "status", "running"),
                         "%s status(old)=>DOWN (new)=>RUNNING\n" % p)
        self.assertEqual(self.status("stat"), "RUNNING")
        for bad in ("bogus", "", "RUNNING2", "down now"):
            self.fails("db_kfv", "vm", "stat", "status", bad, msg="bad status")
        self.assertEqual(self.status("stat"), "RUNNING")
        for good in ("Paused", "SUSPEND", "error", "starting", "STOPPING", "migrating", "DOWN"):
            self.ok("db_kfv", "vm", "stat", "status", good)
            self.assertEqual(self.status("stat"), good.upper())

    def test_unknown_guest_and_bad_names(self):
        p = self.path("ghost")
        self.fails("db_kfv", "vm", "ghost", "status", msg="no such guest: %s" % p)
        self.fails("db_kfv", "vm", "ghost", "status", "DOWN", msg="no such guest")
        self.fails("db_kfv", "vm", "ghost", msg="no such guest")
        self.create("twice")
        self.fails("db_kfv", "--create", "vm", "twice", msg="already in the db")
        for bad in ("../etc", "a/b", ".", "..", ""):
            self.fails("db_kfv", "vm", bad, "status", msg="bad guest name")
        for bad in (self.root + "/running_pool/../x", self.root + "//running_pool/x",
                    self.root + "/./running_pool/x"):
            self.fails("db_kfv", "--create", "vm", bad)
        self.assertNotIn("/x ", self.ok("db_dump"))

    def test_create_with_field(self):
        out = self.ok("db_kfv", "--create", "vm", "made", "status", "paused")
        p = self.path("made")
        self.assertEqual(out, "%s created, status(now)=>DOWN\n"
                              "%s status(old)=>DOWN (new)=>PAUSED\n" % (p, p))

    def test_pool_table_seen_by_the_agent(self):
        self.assertEqual(self.ok("db_kfv", "pool", "master_ip", "127.0.0.9"),
                         "pool master_ip(old)=> (new)=>127.0.0.9\n")
        self.assertEqual(self.ok("db_kfv", "pool", "master_ip"),
                         "pool master_ip(now)=>127.0.0.9\n")
        self.assertIn("pool master_ip(now)=>127.0.0.9\n", self.ok("db_kfv", "pool"))
        # The running agent reads what the tool wrote.
        self.assertEqual(self.agent.proxy().get_master_ip(), "success:ip=127.0.0.9")
        self.fails("db_kfv", "pool", "no_such_key", msg="no such pool key")
        self.fails("db_kfv", "pool", "Bad Key", "x", msg="bad key")
        self.fails("db_kfv", "--create", "pool", "k", rc=2)

    # -- db_dump ---------------------------------------------------------------
    def test_db_dump(self):
        for n in ("dump_c", "dump_a", "dump_b"):
            self.create(n)
        self.ok("db_kfv", "vm", "dump_b", "uuid", "1234-abcd")
        self.ok("db_kfv", "vm", "dump_b", "status", "RUNNING")
        lines = self.ok("db_dump").splitlines()
        self.assertEqual(self.ok("db_dump", "vm").splitlines(), lines)
        paths = [line.split(" ", 1)[0] for line in lines]
        self.assertEqual(paths, sorted(paths))
        ours = [line for line in lines if "/dump_" in line.split(" ", 1)[0]]
        self.assertEqual([line.split(" ", 1)[0] for line in ours],
                         [self.path(n) for n in ("dump_a", "dump_b", "dump_c")])
        self.assertTrue(ours[0].startswith("%s status=DOWN name=dump_a created=" %
                                           self.path("dump_a")), ours[0])
        self.assertTrue(ours[1].startswith("%s status=RUNNING name=dump_b uuid=1234-abcd " %
                                           self.path("dump_b")), ours[1])
        self.assertIn(" updated=", ours[1])
        self.assertIn("schema=2\n", self.ok("db_dump", "meta"))
        self.ok("db_kfv", "pool", "dump_key", "v")
        self.assertIn("dump_key=v\n", self.ok("db_dump", "pool"))

    # -- the uuid index and list_vms ------------------------------------------------
    def guest_with_uuid(self, name, uuid):
        d = self.path(name)
        os.makedirs(d)
        with open(os.path.join(d, "vm.cfg"), "w") as f:
            f.write("name = '%s'\nmemory = 256\nuuid = '%s'\n" % (name, uuid))
        return d

    def test_tools_keep_the_uuid_index(self):
        """The agent finds a guest by uuid in an index the tools keep when
        they change or delete guests: what it says follows every change."""
        u1, u2 = "%08d-0000-4000-8000-000000000001" % 7, "%08d-0000-4000-8000-000000000002" % 7
        p = self.agent.proxy()
        self.guest_with_uuid("idx_a", u1)
        self.guest_with_uuid("idx_b", u1)
        self.guest_with_uuid("idx_c", u2)
        self.assertTrue(p.register_vm("idx_a").startswith("success:uuid=%s" % u1))
        self.assertIn("already belongs to %s" % self.path("idx_a"),
                      self.fault(1002, p.register_vm, "idx_b"))
        # db_kfv gives idx_a another uuid: u1 is free, u2 taken.
        self.ok("db_kfv", "vm", "idx_a", "uuid", u2)
        self.assertTrue(p.register_vm("idx_b").startswith("success:uuid=%s" % u1))
        self.assertIn("already belongs to %s" % self.path("idx_a"),
                      self.fault(1002, p.register_vm, "idx_c"))
        # db_del forgets it: u2 is free.
        self.ok("db_del", "--keep-files", "vm", "idx_a")
        self.assertTrue(p.register_vm("idx_c").startswith("success:uuid=%s" % u2))
        # A record db_kfv --create made, then gave a uuid, holds it too.
        self.ok("db_kfv", "--create", "vm", "idx_d")
        self.ok("db_kfv", "vm", "idx_d", "uuid", u1)
        self.ok("db_del", "--keep-files", "vm", "idx_b")
        self.guest_with_uuid("idx_e", u1)
        self.assertIn("already belongs to %s" % self.path("idx_d"),
                      self.fault(1002, p.register_vm, "idx_e"))
        for n in ("idx_c", "idx_d"):
            self.ok("db_del", "--keep-files", "vm", n)

    def fault(self, code, fn, *args):
        try:
            fn(*args)
        except xmlrpc.client.Fault as e:
            self.assertEqual(e.faultCode, code, e.faultString)
            return e.faultString
        self.fail("no fault %d" % code)

    def raw_call(self, body):
        auth = base64.b64encode(b"admin:secret").decode()
        s = self.agent.connect()
        try:
            s.sendall(("POST /RPC2 HTTP/1.1\r\nHost: a\r\nAuthorization: Basic %s\r\n"
                       "Content-Type: text/xml\r\nContent-Length: %d\r\n\r\n"
                       % (auth, len(body))).encode() + body)
            status, _, reply, _ = read_response(s, timeout=TIMEOUT)
        finally:
            s.close()
        self.assertEqual(status, 200)
        return reply

    def test_list_vms_as_text_is_list_vms_as_values(self):
        """list_vms answers a top-level call with text written straight from
        the db, and a multicall with values serialised by xmlrpc-c: the two
        must be the same bytes, whatever the records hold."""
        self.create("lv_odd")
        fields = [b"weird", b"a<b>&c \r cr \xe9 latin1 \x01 \xf0\x9f\x98\x80", b"path",
                  b"/elsewhere", b"empty", b""]
        for k, v in zip(fields[::2], fields[1::2]):
            r = subprocess.run([binary("db_kfv"), "--config", self.agent.ini, "--", "vm",
                                b"lv_odd", k, v], capture_output=True, timeout=TIMEOUT)
            self.assertEqual(r.returncode, 0, r.stderr)
        alone = self.raw_call(xmlrpc.client.dumps((), "list_vms").encode())
        multi = self.raw_call(xmlrpc.client.dumps(([{"methodName": "list_vms", "params": []}],),
                                                  "system.multicall").encode())
        value = re.search(rb"<param>(.*)</param>", alone, re.S).group(1)
        # multicall: an array of one-item arrays, each holding a result.
        self.assertEqual(re.search(rb"<param>(.*)</param>", multi, re.S).group(1),
                         b"<value><array><data>\r\n<value><array><data>\r\n" + value +
                         b"\r\n</data></array></value>\r\n</data></array></value>")
        self.assertIn(b"a&lt;b&gt;&amp;c &#x0d; cr \\xe9 latin1 \\x01 \\xf0\\x9f\\x98\\x80",
                      value)
        self.assertIn(b"<member><name>path</name>\r\n<value><string>/elsewhere</string>", value)
        rows = [r for r in xmlrpc.client.loads(alone)[0][0] if r.get("name") == "lv_odd"]
        self.assertEqual(len(rows), 1)
        self.assertEqual(list(rows[0])[:2], ["path", "name"])
        self.ok("db_del", "--force", "--keep-files", "vm", "lv_odd")

    # -- db_del ------------------------------------------------------------------
    def test_del_refuses_a_running_guest(self):
        for st in ("RUNNING", "PAUSED", "STARTING", "STOPPING", "MIGRATING"):
            name = "busy_" + st.lower()
            self.create(name, st)
            self.make_guest_dir(self.path(name))
            r = self.fails("db_del", "vm", name, msg="is %s" % st)
            self.assertIn("--force", r.stderr)
            self.assertTrue(os.path.exists(os.path.join(self.path(name), "vm.cfg")))
            self.assertTrue(self.in_db(name))
        out = self.ok("db_del", "vm", "busy_running", "--force")
        self.assertIn("removed directory %s" % self.path("busy_running"), out)
        self.assertIn("removed db entry %s" % self.path("busy_running"), out)
        self.assertFalse(os.path.lexists(self.path("busy_running")))
        self.assertFalse(self.in_db("busy_running"))

    def test_del_down_guest_removes_db_entry_and_directory(self):
        for st in (None, "ERROR", "SUSPEND"):
            name = "gone_%s" % (st or "down").lower()
            self.create(name, st)
            d = self.path(name)
            self.make_guest_dir(d)
            # A link inside the guest pointing out: removed, target kept.
            keep = os.path.join(self.outside, "shared-%s.iso" % name)
            with open(keep, "w") as f:
                f.write("keep me")
            os.symlink(keep, os.path.join(d, "disks", "cdrom.iso"))
            os.symlink(self.outside, os.path.join(d, "outside-dir"))
            out = self.ok("db_del", "vm", name)
            self.assertEqual(out, "removed directory %s (4 files)\nremoved db entry %s\n"
                             % (d, d))
            self.assertFalse(os.path.lexists(d))
            self.assertFalse(self.in_db(name))
            with open(keep) as f:
                self.assertEqual(f.read(), "keep me")
        self.assertTrue(os.path.isdir(self.pool))

    def test_del_keep_files(self):
        self.create("kept")
        self.make_guest_dir(self.path("kept"))
        out = self.ok("db_del", "--keep-files", "vm", "kept")
        self.assertEqual(out, "removed db entry %s\n" % self.path("kept"))
        self.assertTrue(os.path.exists(os.path.join(self.path("kept"), "vm.cfg")))
        self.assertFalse(self.in_db("kept"))
        self.fails("db_del", "--keep-files", "vm", "kept", msg="no such guest")

    def test_del_guest_without_files_or_entry(self):
        self.create("nofiles")
        out = self.ok("db_del", "vm", "nofiles")
        self.assertEqual(out, "no files at %s\nremoved db entry %s\n"
                         % (self.path("nofiles"), self.path("nofiles")))
        # Files but no db entry: refused, --force removes the files.
        self.make_guest_dir(self.path("orphan"))
        self.fails("db_del", "vm", "orphan", msg="no such guest in the db")
        self.assertTrue(os.path.isdir(self.path("orphan")))
        out = self.ok("db_del", "--force", "vm", "orphan")
        self.assertIn("removed directory", out)
        self.assertIn("no db entry for %s" % self.path("orphan"), out)
        self.assertFalse(os.path.lexists(self.path("orphan")))

    def test_del_symlinked_guest_removes_only_the_link(self):
        target = os.path.join(self.outside, "linked_target")
        self.make_guest_dir(target)
        os.symlink(target, self.path("linked"))
        self.create("linked")
        out = self.ok("db_del", "vm", "linked")
        self.assertIn("removed symbolic link %s (its target was left alone)"
                      % self.path("linked"), out)
        self.assertFalse(os.path.lexists(self.path("linked")))
        self.assertTrue(os.path.exists(os.path.join(target, "vm.cfg")))
        self.assertTrue(os.path.exists(os.path.join(target, "disks", "System.img")))

    def test_del_refuses_paths_outside_ovs_root(self):
        # A repository whose running_pool leads out of ovs_root.
        far = os.path.join(self.outside, "far_pool")
        os.makedirs(far)
        repo = os.path.join(self.root, "repo_out")
        os.makedirs(repo)
        os.symlink(far, os.path.join(repo, "running_pool"))
        self.make_guest_dir(os.path.join(far, "far_guest"))
        gpath = os.path.join(repo, "running_pool", "far_guest")
        self.create(gpath)
        r = self.fails("db_del", "--force", "vm", gpath, msg="refusing to remove %s" % gpath)
        self.assertIn(os.path.realpath(far), r.stderr)
        self.assertTrue(os.path.exists(os.path.join(far, "far_guest", "vm.cfg")))
        self.assertTrue(self.in_db(gpath))       # nothing removed at all
        # --keep-files never touches the disk, so it may drop the entry.
        self.ok("db_del", "--keep-files", "vm", gpath)
        # Paths not shaped like a guest's are refused before anything else.
        for bad in (os.path.join(self.outside, "running_pool", "g"),
                    self.root + "/running_pool/../running_pool/g",
                    self.root + "/running_pool",
                    self.root + "/a/b/running_pool/g",
                    self.root + "/elsewhere/g", "/"):
            self.fails("db_del", "--force", "vm", bad, msg="is not a guest: guests are")
        self.fails("db_del", "vm", "a/b", msg="bad guest name")
        # A real repository inside ovs_root is fine.
        inside = os.path.join(self.root, "repo_in", "running_pool", "in_guest")
        self.make_guest_dir(inside)
        self.create(inside)
        self.assertIn("removed directory %s" % inside, self.ok("db_del", "vm", inside))
        self.assertFalse(os.path.exists(inside))

    # -- concurrency ---------------------------------------------------------------
    def test_tools_while_the_agent_works(self):
        """Tools in parallel with each other and with XML-RPC traffic: every
        write lands, nothing is torn, the agent keeps answering."""
        names = ["conc_%d" % i for i in range(6)]
        for n in names:
            self.create(n)
        errors = []
        stop = threading.Event()

        def writer(n):
            for i in range(15):
                r = self.tool("db_kfv", "vm", n, "counter", str(i))
                if r.returncode != 0:
                    errors.append("%s: %s" % (n, r.stderr))
                r = self.tool("db_dump")
                if r.returncode != 0 or "%s status=DOWN" % self.path(n) not in r.stdout:
                    errors.append("dump: %r %r" % (r.stdout[-200:], r.stderr))

        def caller():
            proxy = self.agent.proxy()
            while not stop.is_set():
                try:
                    if proxy.echo("x") != "success:echo=x":
                        errors.append("bad echo")
                except Exception as e:  # noqa: BLE001
                    errors.append("echo: %r" % e)

        threads = [threading.Thread(target=writer, args=(n,)) for n in names]
        echo = threading.Thread(target=caller)
        echo.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT * 20)
        stop.set()
        echo.join(TIMEOUT)
        self.assertEqual(errors, [])
        for n in names:
            self.assertEqual(self.ok("db_kfv", "vm", n, "counter"),
                             "%s counter(now)=>14\n" % self.path(n))
        self.assertEqual(self.agent.proxy().echo("still here"), "success:echo=still here")
        self.assertIsNone(self.agent.proc.poll())


if __name__ == "__main__":
    main()
