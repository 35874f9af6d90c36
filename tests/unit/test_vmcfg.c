/* test_vmcfg.c - vm.cfg parsing, byte-exact rewriting, errors, disk and vif
 * items, atomic save. The texts are the guide's own examples. */
#include "harness.h"
#include "hypervisor/vmcfg.h"
#include "hypervisor/vmcfg_qos.h"
#include "agent/base/buf.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[1024];

static struct vmcfg *parse(const char *text)
{
	struct vmcfg *c = NULL;

	strcpy(err, "untouched");
	if (vmcfg_parse("vm.cfg", text, strlen(text), &c, err, sizeof(err)) < 0)
		return NULL;
	return c;
}

/* The error for text, or "" when it parses. */
static const char *parse_err(const char *text)
{
	struct vmcfg *c = parse(text);

	if (c) {
		vmcfg_free(c);
		return "";
	}
	return err;
}

/* Format c and compare with want; frees the text. */
static int formats_to(const struct vmcfg *c, const char *want)
{
	size_t len;
	char *got = vmcfg_format(c, &len);
	int same = len == strlen(want) && memcmp(got, want, len) == 0 && got[len] == '\0';

	if (!same)
		fprintf(stderr, "  got:\n%s\n  want:\n%s\n", got, want);
	free(got);
	return same;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Guide 4.x: the hvm example, without its Python code lines. */
static const char hvm_example[] =
	"# Kernel for hvm domain will be hvmloder\n"
	"kernel=\"/usr/lib/xen/boot/hvmloder\"\n"
	"builder='hvm'\n"
	"# Memory in MB for HVM guest domU\n"
	"memory=3000\n"
	"# Name of domain\n"
	"name=\"hvm-dom\"\n"
	"# No of virtual cpus\n"
	"vcpus=4\n"
	"# Mac address and corresponding bridge\n"
	"vif=[ 'mac=00:50:56:1e:34:b5 , bridge=xenbr0' ]\n"
	"# Disk in which Guest OS is installed\n"
	"disk=[ 'phy:/dev/cciss/c0d1,hda,w' ]\n"
	"# Here /dev/cciss/c0d1 is the disk onwhich OS is installed.\n"
	"# Enable vnc library\n"
	"sdl=0\n"
	"vnc=1\n"
	"# Vncviewer no is 1\n"
	"vncviewer=1\n"
	"# Password to access the vnc for this guest\n"
	"vncpasswd=\"welcome\"\n"
	"vnclisten=\"0.0.0.0\"\n"
	"ne2000=1\n"
	"serial='pty'\n"
	"# Enable USB\n"
	"usb=1\n"
	"usbdevice='mouse'\n";

/* Guide 4.8 step 14. */
static const char el4u4_example[] =
	"name = \"el4u4\"\n"
	"memory = \"512\"\n"
	"disk = [ 'phy:/dev/VolGroup00/el4u4,hda,w', ]\n"
	"vif = [ 'bridge=xenbr0', ]\n"
	"bootloader=\"/usr/bin/pygrub\"\n"
	"vcpus=1\n"
	"on_reboot = 'restart'\n"
	"on_crash = 'restart'\n";

/* Appendix C.3, with its wrapped comment put back on one line. */
static const char appendix_c3[] =
	"disk = [ 'file:/mnt/el4u5_64_hvm//system.img,hda,w' ]\n"
	"memory=4096\n"
	"vcpus=2\n"
	"name=\"el4u5_64_hvm\"\n"
	"vif = [ ' ' ] #By default no n/w interfaces are configured. E.g: A default hvm\n"
	"builder = \"hvm\"\n"
	"device_model = \"/usr/lib/xen/bin/qemu-dm\"\n"
	"\n"
	"vnc=1\n"
	"vncunused=1\n"
	"\n"
	"apic=1\n"
	"acpi=1\n"
	"pae=1\n"
	"serial = \"pty\" # enable serial console\n"
	"\n"
	"on_reboot   = 'restart'\n"
	"on_crash    = 'restart'\n";

/* Appendix C.4 (abridged): a list over several lines, comments around. */
static const char appendix_c4[] =
	"# Example of after-setup \"HVM up and running\" disk parameters below;\n"
	"#disk = [ 'phy:/dev/vgxen/lvol0,hda,w', 'phy:/dev/loop0,hdc:cdrom,r' ]\n"
	"disk = [ 'phy:/dev/vgxen/lvol0,hda,w',\n"
	"        'phy:/dev/vgxen/tls4-swap,hdb,w',\n"
	"        'phy:/dev/vgxen/sharedvol1,hdc,w!',\n"
	"        'phy:/dev/vgxen/sharedvol2,hdd,w!' ]\n"
	"# Result of this config file from within the new domU:\n"
	"# For vnc setup try:\n"
	"vfb = [ \"type=vnc,vncunused=1,vnclisten=0.0.0.0\" ]\n"
	"# Example with a passwd of \"foo\".\n"
	"#vfb = [ \"type=vnc,vncunused=1,vnclisten=0.0.0.0,vncpasswd=foo\" ]\n"
	"#\n";

/* Appendix C.2. */
static const char qos_example[] =
	"disk_other_config = [['hda', 'ionice', 'sched=best-effort,prio=5'], "
	"['hdb', 'ionice', 'sched=best-effort,prio=6']]\n"
	"vif_other_config = [['00:16:3e:31:d5:4b', 'tbef', 'rate=8mbit,latency=50ms'], "
	"['00:16:3e:52:c4:03', 'tbef', 'rate=10mbit']]\n"
	"vif = ['mac=00:16:3e:31:d5:4b,bridge=xenbr0,rate=10Mb/s@50ms']\n";

TEST(guide_hvm_example)
{
	struct vmcfg *c = parse(hvm_example);
	long long n;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_STR(vmcfg_get_str(c, "builder"), "hvm");
	CHECK_STR(vmcfg_get_str(c, "kernel"), "/usr/lib/xen/boot/hvmloder");
	CHECK_INT(vmcfg_get_int(c, "memory", &n), 0);
	CHECK_INT(n, 3000);
	CHECK_INT(vmcfg_get_int(c, "vcpus", &n), 0);
	CHECK_INT(n, 4);
	CHECK_INT(vmcfg_list_len(c, "vif"), 1);
	CHECK_STR(vmcfg_list_str(c, "vif", 0), "mac=00:50:56:1e:34:b5 , bridge=xenbr0");
	CHECK_STR(vmcfg_list_str(c, "disk", 0), "phy:/dev/cciss/c0d1,hda,w");
	CHECK_INT(vmcfg_get_int(c, "vnc", &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(vmcfg_get_str(c, "vncpasswd"), "welcome");
	CHECK_STR(vmcfg_get_str(c, "vnclisten"), "0.0.0.0");
	CHECK_STR(vmcfg_get_str(c, "usbdevice"), "mouse");
	CHECK_INT(vmcfg_count(c), 16);
	CHECK_STR(vmcfg_key(c, 0), "kernel");
	CHECK_STR(vmcfg_key(c, 15), "usbdevice");
	CHECK(vmcfg_key(c, 16) == NULL);
	CHECK_INT(vmcfg_line(c, "builder"), 3);
	CHECK_INT(vmcfg_line(c, "usbdevice"), 27);
	CHECK_INT(vmcfg_line(c, "nothere"), 0);
	CHECK(formats_to(c, hvm_example));
	vmcfg_free(c);
}

TEST(guide_quoted_memory_and_trailing_commas)
{
	struct vmcfg *c = parse(el4u4_example);
	long long n = 0;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_STR(vmcfg_get_str(c, "memory"), "512");
	CHECK_INT(vmcfg_get_int(c, "memory", &n), 0);
	CHECK_INT(n, 512);
	CHECK_INT(vmcfg_list_len(c, "disk"), 1);
	CHECK_STR(vmcfg_list_str(c, "disk", 0), "phy:/dev/VolGroup00/el4u4,hda,w");
	CHECK_STR(vmcfg_list_str(c, "vif", 0), "bridge=xenbr0");
	CHECK(vmcfg_list_str(c, "vif", 1) == NULL);
	CHECK_STR(vmcfg_get_str(c, "on_crash"), "restart");
	CHECK(formats_to(c, el4u4_example));
	vmcfg_free(c);
}

TEST(guide_appendix_examples)
{
	struct vmcfg *c = parse(appendix_c3);

	CHECK(c != NULL);
	if (c) {
		CHECK_STR(vmcfg_list_str(c, "vif", 0), " ");
		CHECK_STR(vmcfg_get_str(c, "serial"), "pty");
		CHECK_STR(vmcfg_get_str(c, "on_reboot"), "restart");
		CHECK(formats_to(c, appendix_c3));
		vmcfg_free(c);
	}
	c = parse(appendix_c4);
	CHECK(c != NULL);
	if (c) {
		CHECK_INT(vmcfg_list_len(c, "disk"), 4);
		CHECK_STR(vmcfg_list_str(c, "disk", 3), "phy:/dev/vgxen/sharedvol2,hdd,w!");
		CHECK_STR(vmcfg_list_str(c, "vfb", 0), "type=vnc,vncunused=1,vnclisten=0.0.0.0");
		CHECK_INT(vmcfg_line(c, "disk"), 3);
		CHECK_INT(vmcfg_line(c, "vfb"), 9);
		CHECK_INT(vmcfg_count(c), 2);
		CHECK(formats_to(c, appendix_c4));
		vmcfg_free(c);
	}
}

TEST(qos_nested_lists)
{
	struct vmcfg *c = parse(qos_example);
	const struct vmcfg_value *v;

	CHECK(c != NULL);
	if (!c)
		return;
	v = vmcfg_get(c, "disk_other_config");
	CHECK(v && v->type == VMCFG_LIST && v->n == 2);
	if (v && v->n == 2) {
		CHECK_INT(v->items[1].type, VMCFG_LIST);
		CHECK_INT(v->items[1].n, 3);
		CHECK_STR(v->items[1].items[0].str, "hdb");
		CHECK_STR(v->items[1].items[2].str, "sched=best-effort,prio=6");
	}
	/* Not a list of strings: the string accessor says so. */
	CHECK_INT(vmcfg_list_len(c, "vif_other_config"), 2);
	CHECK(vmcfg_list_str(c, "vif_other_config", 0) == NULL);
	CHECK(formats_to(c, qos_example));
	vmcfg_touch(c, "disk_other_config");
	CHECK(vmcfg_touch(c, "nothere") == -1);
	v = vmcfg_get(c, "vif_other_config");
	CHECK(vmcfg_set_value(c, "vif_other_config", v) == 0); /* self-copy is safe */
	CHECK(formats_to(c,
		"disk_other_config = [['hda', 'ionice', 'sched=best-effort,prio=5'], "
		"['hdb', 'ionice', 'sched=best-effort,prio=6']]\n"
		"vif_other_config = [['00:16:3e:31:d5:4b', 'tbef', 'rate=8mbit,latency=50ms'], "
		"['00:16:3e:52:c4:03', 'tbef', 'rate=10mbit']]\n"
		"vif = ['mac=00:16:3e:31:d5:4b,bridge=xenbr0,rate=10Mb/s@50ms']\n"));
	vmcfg_free(c);
}

/* The QoS check of text: "" when it passes, else "KEY:LINE: message". */
static const char *qos_err(const char *text)
{
	static char out[1200];
	struct vmcfg *c = parse(text);
	const char *key = NULL;
	char msg[600];

	if (!c)
		return "(does not parse)";
	if (vmcfg_check_qos(c, &key, msg, sizeof(msg)) == 0)
		out[0] = '\0';
	else
		snprintf(out, sizeof(out), "vm.cfg:%u: %s", vmcfg_line(c, key), msg);
	vmcfg_free(c);
	return out;
}

TEST(qos_items)
{
	struct vmcfg *c = parse(qos_example);
	const struct vmcfg_value *v;
	struct vmcfg_disk_qos dq;
	struct vmcfg_vif_qos vq;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_STR(qos_err(qos_example), "");
	v = vmcfg_get(c, "disk_other_config");
	CHECK_INT(vmcfg_parse_disk_qos(&v->items[1], &dq, err, sizeof(err)), 0);
	CHECK_STR(dq.dev, "hdb");
	CHECK_INT(dq.ioclass, IOCLASS_BEST_EFFORT);
	CHECK_INT(dq.prio, 6);
	v = vmcfg_get(c, "vif_other_config");
	CHECK_INT(vmcfg_parse_vif_qos(&v->items[0], &vq, err, sizeof(err)), 0);
	CHECK_STR(vq.mac, "00:16:3e:31:d5:4b");
	CHECK_STR(vq.rate, "8mbit");
	CHECK_STR(vq.latency, "50ms");
	CHECK_INT(vmcfg_parse_vif_qos(&v->items[1], &vq, err, sizeof(err)), 0);
	CHECK_STR(vq.rate, "10mbit");
	CHECK_STR(vq.latency, "");
	vmcfg_free(c);

	/* What ionice(1) and tc(8) also take; absent, None and [] are no QoS. */
	CHECK_STR(qos_err("name = 'g'\n"), "");
	CHECK_STR(qos_err("disk_other_config = None\nvif_other_config = []\n"), "");
	CHECK_STR(qos_err("disk_other_config = [['xvda', 'ionice', ' sched = idle '],\n"
			  "  ['hdc', 'ionice', 'prio=0'], ['hdd', 'ionice', 'sched=realtime,prio=7'],\n"
			  "  ['sda', 'ionice', 'sched=2'], ['hde', 'ionice', '']]\n"), "");
	CHECK_STR(qos_err("vif_other_config = [['00:16:3E:31:D5:4B', 'tbf', 'rate=1.5Mbit, "
			  "latency=2s'], ['00:16:3e:00:00:01', 'tbef', 'latency=500us,rate=250kbps']]\n"),
		  "");
}

TEST(qos_refusals)
{
	/* ionice priorities outside 0-7, with the line of the key */
	CHECK_STR(qos_err("name = 'g'\ndisk_other_config = [['hda', 'ionice', 'sched=best-effort,"
			  "prio=8']]\n"),
		  "vm.cfg:2: disk_other_config item 1: hda: ionice prio '8' is outside 0-7");
	CHECK_STR(qos_err("disk_other_config = [['hda', 'ionice', 'prio=5'],\n"
			  "  ['hdb', 'ionice', 'prio=-1']]\n"),
		  "vm.cfg:1: disk_other_config item 2: hdb: ionice prio '-1' is outside 0-7");
	CHECK_STR(qos_err("disk_other_config = [['hda', 'ionice', 'prio=10']]\n"),
		  "vm.cfg:1: disk_other_config item 1: hda: ionice prio '10' is outside 0-7");
	CHECK_STR(qos_err("disk_other_config = [['hda', 'ionice', 'prio=']]\n"),
		  "vm.cfg:1: disk_other_config item 1: hda: ionice prio '' is outside 0-7");
	CHECK_STR(qos_err("disk_other_config = [['hda', 'ionice', 'prio=5.0']]\n"),
		  "vm.cfg:1: disk_other_config item 1: hda: ionice prio '5.0' is outside 0-7");
	CHECK_STR(qos_err("disk_other_config = [['hda', 'ionice', 'prio=007']]\n"),
		  "vm.cfg:1: disk_other_config item 1: hda: ionice prio '007' is outside 0-7");
	/* unknown QoS algorithms */
	CHECK_STR(qos_err("\n\nvif_other_config = [['00:16:3e:31:d5:4b', 'htb', 'rate=8mbit']]\n"),
		  "vm.cfg:3: vif_other_config item 1: 00:16:3e:31:d5:4b: unknown QoS algorithm 'htb' "
		  "(a vif's is 'tbef', or tc's name 'tbf')");
	CHECK_STR(qos_err("vif_other_config = [['00:16:3e:31:d5:4b', 'TBEF', 'rate=8mbit']]\n"),
		  "vm.cfg:1: vif_other_config item 1: 00:16:3e:31:d5:4b: unknown QoS algorithm 'TBEF' "
		  "(a vif's is 'tbef', or tc's name 'tbf')");
	CHECK_STR(qos_err("vif_other_config = [['00:16:3e:31:d5:4b', '', 'rate=8mbit']]\n"),
		  "vm.cfg:1: vif_other_config item 1: 00:16:3e:31:d5:4b: unknown QoS algorithm '' "
		  "(a vif's is 'tbef', or tc's name 'tbf')");
	CHECK_STR(qos_err("disk_other_config = [['hda', 'cfq', 'prio=5']]\n"),
		  "vm.cfg:1: disk_other_config item 1: hda: unknown QoS algorithm 'cfq' "
		  "(a disk's is 'ionice')");
	/* the rest of an item's shape */
	CHECK_STR(qos_err("disk_other_config = [['hda', 'ionice', 'sched=fast']]\n"),
		  "vm.cfg:1: disk_other_config item 1: hda: sched 'fast' is not an ionice class "
		  "(none, realtime, best-effort or idle)");
	CHECK_STR(qos_err("disk_other_config = [['hda', 'ionice', 'nice=5']]\n"),
		  "vm.cfg:1: disk_other_config item 1: hda: unknown ionice setting 'nice' (sched, prio)");
	CHECK_STR(qos_err("disk_other_config = [['hda', 'ionice', 'prio=1,prio=2']]\n"),
		  "vm.cfg:1: disk_other_config item 1: hda: prio given twice");
	CHECK_STR(qos_err("disk_other_config = [['hda', 'ionice', 'prio']]\n"),
		  "vm.cfg:1: disk_other_config item 1: hda: 'prio' is not key=value");
	CHECK_STR(qos_err("disk_other_config = [['hdc:cdrom', 'ionice', 'prio=1']]\n"),
		  "vm.cfg:1: disk_other_config item 1: 'hdc:cdrom' is not a disk's front end "
		  "(like hda or xvda)");
	CHECK_STR(qos_err("disk_other_config = ['hda', 'ionice', 'prio=1']\n"),
		  "vm.cfg:1: disk_other_config item 1: must be ['DEVICE', 'ionice', 'SETTINGS'], "
		  "like ['hda', 'ionice', 'sched=best-effort,prio=5']");
	CHECK_STR(qos_err("disk_other_config = [['hda', 'ionice', 5]]\n"),
		  "vm.cfg:1: disk_other_config item 1: must be ['DEVICE', 'ionice', 'SETTINGS'], "
		  "like ['hda', 'ionice', 'sched=best-effort,prio=5']");
	CHECK_STR(qos_err("disk_other_config = 'hda'\n"),
		  "vm.cfg:1: disk_other_config must be a list of [device, algorithm, settings] items");
	CHECK_STR(qos_err("vif_other_config = [['00:16:3e:31:d5', 'tbef', 'rate=8mbit']]\n"),
		  "vm.cfg:1: vif_other_config item 1: '00:16:3e:31:d5' is not a MAC address "
		  "(six hex pairs like 00:16:3e:31:d5:4b)");
	CHECK_STR(qos_err("vif_other_config = [['00:16:3e:31:d5:4b', 'tbef', 'latency=50ms']]\n"),
		  "vm.cfg:1: vif_other_config item 1: 00:16:3e:31:d5:4b: tbef needs a rate, "
		  "like rate=8mbit");
	CHECK_STR(qos_err("vif_other_config = [['00:16:3e:31:d5:4b', 'tbef', 'rate=8']]\n"),
		  "vm.cfg:1: vif_other_config item 1: 00:16:3e:31:d5:4b: rate '8' is not a rate "
		  "like 8mbit, 10mbit or 250kbps (from 8bit to 17gbit)");
	CHECK_STR(qos_err("vif_other_config = [['00:16:3e:31:d5:4b', 'tbef', 'rate=0mbit']]\n"),
		  "vm.cfg:1: vif_other_config item 1: 00:16:3e:31:d5:4b: rate '0mbit' is not a rate "
		  "like 8mbit, 10mbit or 250kbps (from 8bit to 17gbit)");
	CHECK_STR(qos_err("vif_other_config = [['00:16:3e:31:d5:4b', 'tbef', "
			  "'rate=10Mb/s@50ms']]\n"),
		  "vm.cfg:1: vif_other_config item 1: 00:16:3e:31:d5:4b: rate '10Mb/s@50ms' is not a "
		  "rate like 8mbit, 10mbit or 250kbps (from 8bit to 17gbit)");
	CHECK_STR(qos_err("vif_other_config = [['00:16:3e:31:d5:4b', 'tbef', "
			  "'rate=8mbit,latency=50']]\n"),
		  "vm.cfg:1: vif_other_config item 1: 00:16:3e:31:d5:4b: latency '50' is not a time "
		  "like 50ms (from 1us to 1 hour)");
	CHECK_STR(qos_err("vif_other_config = [['00:16:3e:31:d5:4b', 'tbef', "
			  "'rate=8mbit,burst=10k']]\n"),
		  "vm.cfg:1: vif_other_config item 1: 00:16:3e:31:d5:4b: unknown tbef setting "
		  "'burst' (rate, latency)");
}

/* The vif items' rate= is QoS too: refused at the start with its line. */
TEST(qos_vif_rate)
{
	struct vmcfg_vif_qos vq;
	uint64_t r, w;

	CHECK_STR(qos_err("name = 'g'\nvif = ['bridge=xenbr0',\n  'rate=0Mb/s']\n"),
		  "vm.cfg:2: vif item 2: vif 'rate=0Mb/s': rate must be NUM[GMK]B/s or "
		  "NUM[GMK]b/s, optionally @NUM[mu]s, like 10Mb/s@50ms, above 0 and at most "
		  "17Gb/s, the window at most 10 s (at most 63 characters)");
	CHECK(starts_with(qos_err("vif = ['rate=10Mb/s@0ms']\n"), "vm.cfg:1: vif item 1: "));
	CHECK(starts_with(qos_err("vif = ['rate=18Gb/s']\n"), "vm.cfg:1: vif item 1: "));
	CHECK(starts_with(qos_err("vif = ['rate=99999999999999999999Gb/s']\n"),
			  "vm.cfg:1: vif item 1: "));
	CHECK_STR(qos_err("vif = ['rate=10Mb/s@50ms', 'rate=250KB/s', 'rate=1MB/s@20ms', '']\n"), "");

	/* xl's units: powers of 1000, b bits, B bytes, 50 ms by default */
	CHECK(vmcfg_vif_rate("10Mb/s@50ms", &r, &w) == 0 && r == 1250000 && w == 50000);
	CHECK(vmcfg_vif_rate("250KB/s", &r, &w) == 0 && r == 250000 && w == 50000);
	CHECK(vmcfg_vif_rate("1MB/s@20ms", &r, &w) == 0 && r == 1000000 && w == 20000);
	CHECK(vmcfg_vif_rate("8Mb/s", &r, &w) == 0 && r == 1000000);
	CHECK(vmcfg_vif_rate("100b/s@1s", &r, &w) == 0 && r == 12 && w == 1000000);
	CHECK(vmcfg_vif_rate("64000B/s@500us", &r, &w) == 0 && r == 64000 && w == 500);
	CHECK(vmcfg_vif_rate("17Gb/s", &r, &w) == 0 && r == 2125000000);
	CHECK(vmcfg_vif_rate("2147483647B/s", &r, &w) == 0);
	CHECK(vmcfg_vif_rate("2147483648B/s", &r, &w) == -1);
	CHECK(vmcfg_vif_rate("7b/s", &r, &w) == -1);     /* 0 bytes */
	CHECK(vmcfg_vif_rate("1Mb/s@11s", &r, &w) == -1);
	CHECK(vmcfg_vif_rate("1Mb/s@10s", &r, &w) == 0 && w == 10000000);
	CHECK(vmcfg_vif_rate("1mb/s", &r, &w) == -1);
	CHECK(vmcfg_vif_rate("1Mb/s@50ns", &r, &w) == -1);
	CHECK(vmcfg_vif_rate("1000000000000Mb/s", &r, &w) == -1);

	/* tc's units for tbef */
	memset(&vq, 0, sizeof(vq));
	strcpy(vq.rate, "8mbit");
	strcpy(vq.latency, "50ms");
	CHECK(vmcfg_vif_qos_values(&vq, &r, &w) == 0 && r == 1000000 && w == 50000);
	strcpy(vq.rate, "1.5Mbit");
	vq.latency[0] = '\0';
	CHECK(vmcfg_vif_qos_values(&vq, &r, &w) == 0 && r == 187500 && w == 0);
	strcpy(vq.rate, "250kbps");
	strcpy(vq.latency, "2s");
	CHECK(vmcfg_vif_qos_values(&vq, &r, &w) == 0 && r == 250000 && w == 2000000);
	strcpy(vq.rate, "4bit");
	CHECK(vmcfg_vif_qos_values(&vq, &r, &w) == -1);
	CHECK(starts_with(qos_err("vif_other_config = [['00:16:3e:31:d5:4b', 'tbef', "
				  "'rate=20gbit']]\n"), "vm.cfg:1: vif_other_config item 1: "));
}

TEST(qos_item_count_bounded)
{
	struct buf b;
	char *text;

	buf_init(&b, 0);
	buf_printf(&b, "disk_other_config = [");
	for (int i = 0; i < 257; i++)
		buf_printf(&b, "%s['hda', 'ionice', 'prio=1']", i ? ", " : "");
	buf_printf(&b, "]\n");
	text = buf_steal(&b, NULL);
	CHECK_STR(qos_err(text), "vm.cfg:1: disk_other_config has 257 items; a guest has at most 256");
	free(text);
	buf_free(&b);
}

TEST(value_types)
{
	const char *text =
		"a = True\nb = False\nc = None\nd = -5\ne = +7\nf = 1.5\ng = -2e3\n"
		"h = 'it\\'s \\\"x\\\" \\\\ \\n\\t\\r'\ni = \"say 'hi' # not a comment\"\n"
		"j = []\nk = [1, 2.0, 'x', True, None, [[]]]\nl = 0\nm = 5.\nn = .25\n"
		"o = -9223372036854775808\np = ''\n";
	struct vmcfg *c = parse(text);
	const struct vmcfg_value *v;
	long long n;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(vmcfg_get(c, "a")->type == VMCFG_BOOL && vmcfg_get(c, "a")->num == 1);
	CHECK(vmcfg_get(c, "b")->type == VMCFG_BOOL && vmcfg_get(c, "b")->num == 0);
	CHECK_INT(vmcfg_get(c, "c")->type, VMCFG_NONE);
	CHECK(vmcfg_get_int(c, "d", &n) == 0 && n == -5);
	CHECK(vmcfg_get_int(c, "e", &n) == 0 && n == 7);
	CHECK(vmcfg_get(c, "f")->type == VMCFG_FLOAT && vmcfg_get(c, "f")->real == 1.5);
	CHECK(vmcfg_get(c, "g")->real == -2000.0);
	CHECK_STR(vmcfg_get_str(c, "h"), "it's \"x\" \\ \n\t\r");
	CHECK_STR(vmcfg_get_str(c, "i"), "say 'hi' # not a comment");
	CHECK(vmcfg_get(c, "j")->type == VMCFG_LIST && vmcfg_list_len(c, "j") == 0);
	v = vmcfg_get(c, "k");
	CHECK(v->n == 6 && v->items[1].type == VMCFG_FLOAT && v->items[5].n == 1);
	CHECK(vmcfg_get_int(c, "l", &n) == 0 && n == 0);
	CHECK(vmcfg_get(c, "m")->real == 5.0 && vmcfg_get(c, "n")->real == 0.25);
	CHECK(vmcfg_get_int(c, "o", &n) == 0 && n == -9223372036854775807LL - 1);
	CHECK_STR(vmcfg_get_str(c, "p"), "");
	CHECK(formats_to(c, text));
	/* Canonical forms of all of them. */
	for (size_t i = 0; i < vmcfg_count(c); i++)
		vmcfg_touch(c, vmcfg_key(c, i));
	CHECK(formats_to(c,
		"a = True\nb = False\nc = None\nd = -5\ne = 7\nf = 1.5\ng = -2000.0\n"
		"h = 'it\\'s \"x\" \\\\ \\n\\t\\r'\ni = 'say \\'hi\\' # not a comment'\n"
		"j = []\nk = [1, 2.0, 'x', True, None, [[]]]\nl = 0\nm = 5.0\nn = 0.25\n"
		"o = -9223372036854775808\np = ''\n"));
	vmcfg_free(c);
}

TEST(get_int_variants)
{
	struct vmcfg *c = parse("a = 1\nb = '-42'\nc = 'x'\nd = ''\ne = [1]\n"
				"f = '99999999999999999999'\ng = 1.0\nh = ' 5'\n");
	long long n = 77;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(vmcfg_get_int(c, "b", &n) == 0 && n == -42);
	CHECK_INT(vmcfg_get_int(c, "zz", &n), -1);
	CHECK_INT(vmcfg_get_int(c, "c", &n), -2);
	CHECK_INT(vmcfg_get_int(c, "d", &n), -2);
	CHECK_INT(vmcfg_get_int(c, "e", &n), -2);
	CHECK_INT(vmcfg_get_int(c, "f", &n), -2);
	CHECK_INT(vmcfg_get_int(c, "g", &n), -2);
	CHECK_INT(vmcfg_get_int(c, "h", &n), -2);
	CHECK(vmcfg_get_str(c, "a") == NULL);
	CHECK(vmcfg_get_str(c, "zz") == NULL);
	CHECK(!vmcfg_has(c, "zz") && vmcfg_has(c, "a"));
	CHECK_INT(vmcfg_list_len(c, "a"), 0);
	CHECK(vmcfg_list_str(c, "a", 0) == NULL);
	vmcfg_free(c);
}

TEST(round_trip_odd_layouts)
{
	static const char *const texts[] = {
		"",
		"\n\n\n",
		"# only a comment",
		"name = 'x'",                                   /* no final newline */
		"name = 'x' # c",
		"name\t=\t'x'\t\t# tabs\r\nvcpus = 2\r\n",      /* CRLF */
		"   # indented comment\n\t\n",
		"disk = [\n  # first\n  'a', # one\n\n  'b',  # two\n] # end\n",
		"x=[[1,2],[3,4],]\ny=[ ]\n",
		"k = 'caf\xc3\xa9 \x01'\n",                      /* raw bytes in strings */
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct vmcfg *c = parse(texts[i]);
		CHECK(c != NULL);
		if (!c) {
			fprintf(stderr, "  text %zu: %s\n", i, err);
			continue;
		}
		CHECK(formats_to(c, texts[i]));
		vmcfg_free(c);
	}
}

TEST(set_keeps_everything_else)
{
	struct vmcfg *c = parse(appendix_c3);
	const char *items[] = { "type=ioemu, bridge=xenbr0" };

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(vmcfg_set_int(c, "memory", 2048) == 0);
	CHECK(vmcfg_set_str(c, "serial", "file") == 0);       /* trailing comment kept */
	CHECK(vmcfg_set_list(c, "vif", items, 1) == 0);
	CHECK(vmcfg_set_str(c, "on_crash", "it's") == 0);
	CHECK(formats_to(c,
		"disk = [ 'file:/mnt/el4u5_64_hvm//system.img,hda,w' ]\n"
		"memory = 2048\n"
		"vcpus=2\n"
		"name=\"el4u5_64_hvm\"\n"
		"vif = ['type=ioemu, bridge=xenbr0'] #By default no n/w interfaces are configured. E.g: A default hvm\n"
		"builder = \"hvm\"\n"
		"device_model = \"/usr/lib/xen/bin/qemu-dm\"\n"
		"\n"
		"vnc=1\n"
		"vncunused=1\n"
		"\n"
		"apic=1\n"
		"acpi=1\n"
		"pae=1\n"
		"serial = 'file' # enable serial console\n"
		"\n"
		"on_reboot   = 'restart'\n"
		"on_crash = 'it\\'s'\n"));
	CHECK_INT(vmcfg_line(c, "serial"), 15);
	vmcfg_free(c);
}

TEST(set_multiline_list_in_place)
{
	struct vmcfg *c = parse(appendix_c4);
	const char *items[] = { "phy:/dev/vgxen/lvol0,hda,w", "file:/iso/x.iso,hdc:cdrom,r" };

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(vmcfg_set_list(c, "disk", items, 2) == 0);
	CHECK(formats_to(c,
		"# Example of after-setup \"HVM up and running\" disk parameters below;\n"
		"#disk = [ 'phy:/dev/vgxen/lvol0,hda,w', 'phy:/dev/loop0,hdc:cdrom,r' ]\n"
		"disk = ['phy:/dev/vgxen/lvol0,hda,w', 'file:/iso/x.iso,hdc:cdrom,r']\n"
		"# Result of this config file from within the new domU:\n"
		"# For vnc setup try:\n"
		"vfb = [ \"type=vnc,vncunused=1,vnclisten=0.0.0.0\" ]\n"
		"# Example with a passwd of \"foo\".\n"
		"#vfb = [ \"type=vnc,vncunused=1,vnclisten=0.0.0.0,vncpasswd=foo\" ]\n"
		"#\n"));
	CHECK(vmcfg_set_list(c, "vfb", NULL, 0) == 0);
	CHECK(vmcfg_list_len(c, "vfb") == 0 && vmcfg_get(c, "vfb")->type == VMCFG_LIST);
	vmcfg_free(c);
}

TEST(add_and_delete)
{
	struct vmcfg *c = parse("# head\nname = 'a'\ndisk = [ 'x',\n  'y' ] # gone too\n"
				"# tail\nvcpus = 1");
	size_t len;
	char *text;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(vmcfg_set_str(c, "uuid", "8a87a97c-65ad-f243-b373-20185c83053e") == 0);
	CHECK(vmcfg_del(c, "disk") == 0);
	CHECK(vmcfg_del(c, "disk") == -1);
	CHECK(vmcfg_set_int(c, "maxmem", 1024) == 0);
	CHECK(formats_to(c, "# head\nname = 'a'\n# tail\nvcpus = 1\n"
			    "uuid = '8a87a97c-65ad-f243-b373-20185c83053e'\nmaxmem = 1024\n"));
	CHECK_INT(vmcfg_count(c), 4);
	CHECK_STR(vmcfg_key(c, 2), "uuid");
	CHECK_INT(vmcfg_line(c, "uuid"), 0);
	/* Deleting and re-adding moves the key to the end. */
	CHECK(vmcfg_del(c, "name") == 0);
	CHECK(vmcfg_set_str(c, "name", "b") == 0);
	text = vmcfg_format(c, &len);
	CHECK_STR(text, "# head\n# tail\nvcpus = 1\n"
			"uuid = '8a87a97c-65ad-f243-b373-20185c83053e'\nmaxmem = 1024\nname = 'b'\n");
	free(text);
	/* Deleting every key leaves the comments. */
	CHECK(vmcfg_del(c, "vcpus") == 0 && vmcfg_del(c, "uuid") == 0 &&
	      vmcfg_del(c, "maxmem") == 0 && vmcfg_del(c, "name") == 0);
	CHECK(formats_to(c, "# head\n# tail\n"));
	CHECK_INT(vmcfg_count(c), 0);
	vmcfg_free(c);
}

TEST(setter_refusals)
{
	struct vmcfg *c = parse("a = 1\n");
	struct vmcfg_value bad_float = { .type = VMCFG_FLOAT, .real = 1.0 / 0.0 };
	struct vmcfg_value null_str = { .type = VMCFG_STR };
	struct vmcfg_value deep[VMCFG_MAX_DEPTH + 1];
	struct vmcfg_value okf = { .type = VMCFG_FLOAT, .real = 0.1 };

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(vmcfg_set_int(c, "", 1) == -1);
	CHECK(vmcfg_set_int(c, "9x", 1) == -1);
	CHECK(vmcfg_set_int(c, "a-b", 1) == -1);
	CHECK(vmcfg_set_int(c, "if", 1) == -1);
	CHECK(vmcfg_set_int(c, "None", 1) == -1);
	CHECK(vmcfg_set_int(c, NULL, 1) == -1);
	CHECK(vmcfg_set_str(c, "b", NULL) == -1);
	CHECK(vmcfg_set_value(c, "b", &bad_float) == -1);
	CHECK(vmcfg_set_value(c, "b", &null_str) == -1);
	for (int i = 0; i <= VMCFG_MAX_DEPTH; i++) {
		deep[i].type = VMCFG_LIST;
		deep[i].n = i < VMCFG_MAX_DEPTH ? 1 : 0;
		deep[i].items = i < VMCFG_MAX_DEPTH ? &deep[i + 1] : NULL;
	}
	CHECK(vmcfg_set_value(c, "b", &deep[0]) == -1);
	CHECK(vmcfg_set_value(c, "b", &deep[1]) == 0);
	CHECK(vmcfg_set_value(c, "f", &okf) == 0);
	/* A refused value leaves the old one alone. */
	CHECK(vmcfg_set_str(c, "a", NULL) == -1);
	CHECK(formats_to(c, "a = 1\nb = [[[[[[[[]]]]]]]]\nf = 0.1\n"));
	vmcfg_free(c);
}

TEST(too_many_keys)
{
	char *text = malloc(VMCFG_MAX_KEYS * 16 + 32), *p = text;
	struct vmcfg *c;

	for (int i = 0; i < VMCFG_MAX_KEYS; i++)
		p += sprintf(p, "k%d = %d\n", i, i);
	c = parse(text);
	CHECK(c != NULL);
	if (c) {
		CHECK(vmcfg_set_int(c, "one_more", 1) == -1);
		CHECK(vmcfg_set_int(c, "k5", 1) == 0);
		vmcfg_free(c);
	}
	strcpy(p, "one_more = 1\n");
	CHECK_STR(parse_err(text), "vm.cfg:1025: more than 1024 keys");
	free(text);
}

TEST(errors_name_the_line)
{
	CHECK_STR(parse_err("a = 1\nb = 2\na = 3\n"), "vm.cfg:3: key 'a' repeated (first at line 1)");
	CHECK_STR(parse_err("name = 'abc\n"),
		  "vm.cfg:1: unterminated string in the value of 'name': no closing ' on this line");
	CHECK_STR(parse_err("a = 1\ndisk = [ 'x',\n  'y'\n\n"),
		  "vm.cfg:2: the list of 'disk' opened here is never closed");
	CHECK_STR(parse_err("disk = [ 'x'"),
		  "vm.cfg:1: the list of 'disk' opened here is never closed");
	CHECK_STR(parse_err("vnclisten = 0.0.0.0   # Address\n"),
		  "vm.cfg:1: value of 'vnclisten' is not a quoted string, number, True, False, "
		  "None or list: 0.0.0.0 (strings need quotes: '0.0.0.0')");
	CHECK_STR(parse_err("vnc=1\nvnclisten '0.0.0.0'\n"),
		  "vm.cfg:2: expected '=' after 'vnclisten', found '0.0.0.0'");
	CHECK_STR(parse_err("x = '''a'''\n"),
		  "vm.cfg:1: triple-quoted strings are not supported (value of 'x')");
	CHECK_STR(parse_err("device_model='/usr/' + arch_libdir + '/xen/bin/qemu-dm'\n"),
		  "vm.cfg:1: unexpected text after the value of 'device_model': + arch_libdir + "
		  "'/xen/bin/qemu-dm' (one value per line; expressions are not supported)");
	CHECK_STR(parse_err("if re.search('64', arch):\n    arch_libdir = 'lib64'\n"),
		  "vm.cfg:1: Python statements are not supported, only 'key = value' lines: "
		  "if re.search('64', arch):");
	CHECK_STR(parse_err("a = 1\n  b = 2\n"),
		  "vm.cfg:2: indented line; xm reads vm.cfg as Python, so 'key = value' must "
		  "start in the first column");
	CHECK_STR(parse_err("memory = 0512\n"),
		  "vm.cfg:1: integer 0512 for 'memory' has a leading zero (Python 2 reads it "
		  "as octal); leave the zero out");
	CHECK_STR(parse_err("x = (1, 2)\n"),
		  "vm.cfg:1: tuples ( ... ) are not supported in 'x'; use a list [ ... ]");
	CHECK_STR(parse_err("x = [1,,2]\n"),
		  "vm.cfg:1: empty item (two commas) in the list of 'x'");
	CHECK_STR(parse_err("x = [1 2]\n"),
		  "vm.cfg:1: expected ',' or ']' in the list of 'x', found 2");
	CHECK_STR(parse_err("x =\n"), "vm.cfg:1: missing value after 'x ='");
	CHECK_STR(parse_err("x = # c\n"), "vm.cfg:1: missing value after 'x ='");
	CHECK_STR(parse_err("x = 'a\\qb'\n"),
		  "vm.cfg:1: unsupported escape '\\q' in the string of 'x' (known: \\\\ \\' \\\" "
		  "\\n \\t \\r)");
	CHECK_STR(parse_err("x = 'a\\\nb'\n"),
		  "vm.cfg:1: string in 'x' ends with a backslash; continuation lines are not supported");
	CHECK_STR(parse_err("x = 99999999999999999999\n"),
		  "vm.cfg:1: integer 99999999999999999999 for 'x' is out of range");
	CHECK_STR(parse_err("x = 1e999\n"), "vm.cfg:1: number 1e999 for 'x' is out of range");
	CHECK_STR(parse_err("x = yes\n"),
		  "vm.cfg:1: value of 'x' is not a quoted string, number, True, False, None or "
		  "list: yes (strings need quotes: 'yes')");
	CHECK_STR(parse_err("x = 1\r\ny = 2\rz = 3\n"),
		  "vm.cfg:2: carriage return not followed by a newline");
	CHECK_STR(parse_err("= 3\n"), "vm.cfg:1: expected 'key = value', found: = 3");
	CHECK_STR(parse_err("x = 1; y = 2\n"),
		  "vm.cfg:1: unexpected text after the value of 'x': ; y = 2 (one value per "
		  "line; expressions are not supported)");
	CHECK_STR(parse_err("x = {'a': 1}\n"),
		  "vm.cfg:1: dictionaries { ... } are not supported in 'x'");
	CHECK_STR(parse_err("x = [[[[[[[[[1]]]]]]]]]\n"),
		  "vm.cfg:1: lists in 'x' are nested more than 8 deep");
	CHECK(starts_with(parse_err("x = u'a'\n"), "vm.cfg:1: value of 'x' is not"));
	CHECK(starts_with(parse_err("x = 0x10\n"), "vm.cfg:1: value of 'x' is not"));
	CHECK(starts_with(parse_err("x = -\n"), "vm.cfg:1: value of 'x' is not"));
	CHECK(starts_with(parse_err("x = 1.2.3\n"), "vm.cfg:1: value of 'x' is not"));
	/* An error inside a multi-line list names the line it is on. */
	CHECK_STR(parse_err("disk = [ 'a',\n# c\n  'b\n]\n"),
		  "vm.cfg:3: unterminated string in the value of 'disk': no closing ' on this line");
}

TEST(errors_in_the_guide_as_printed)
{
	/* Appendix C.3 as printed: the comment wrapped onto a line of its own. */
	CHECK_STR(parse_err("vif = [ ' ' ] #By default no n/w interfaces are configured.\n"
			    "install will have the line as vif=[ 'type=ioemu,bridge=xenbr0' ]\n"),
		  "vm.cfg:2: expected '=' after 'install', found will");
	/* Section 4.8 step 17 has a stray quote. */
	CHECK(starts_with(parse_err("vif = [ 'mac=xx:xx:xx:xx:xx:xx', bridge=xenbr0', ]\n"),
			  "vm.cfg:1: value of 'vif' is not a quoted string"));
	/* Appendix E.11 wraps a string over two lines. */
	CHECK(starts_with(parse_err("disk = [ 'file:/ovm/guests/win2003sp1.dsk,hda,w', "
				    "'file:/ovm/trees/ISO/WIN/en_\nwindows.iso,hdc:cdrom,r', ]\n"),
			  "vm.cfg:1: unterminated string"));
}

TEST(refuses_nul_and_huge)
{
	struct vmcfg *c = (struct vmcfg *)1;
	char *big;

	CHECK(vmcfg_parse("g.cfg", "a = 1\nb = '\0'\n", 12, &c, err, sizeof(err)) == -1);
	CHECK_STR(err, "g.cfg:2: NUL byte; vm.cfg must be text");
	CHECK(c == NULL);
	big = malloc(VMCFG_MAX_SIZE + 1);
	memset(big, '\n', VMCFG_MAX_SIZE + 1);
	CHECK(vmcfg_parse("g.cfg", big, VMCFG_MAX_SIZE + 1, &c, err, sizeof(err)) == -1);
	CHECK_STR(err, "g.cfg: larger than 1048576 bytes");
	CHECK(vmcfg_parse("g.cfg", big, VMCFG_MAX_SIZE, &c, err, sizeof(err)) == 0);
	vmcfg_free(c);
	free(big);
	/* Not NUL-terminated: only len bytes are read. */
	CHECK(vmcfg_parse("g.cfg", "a = 1xyz", 5, &c, err, sizeof(err)) == 0);
	if (c)
		CHECK(formats_to(c, "a = 1"));
	vmcfg_free(c);
	/* A tiny error buffer is not overrun. */
	CHECK(vmcfg_parse("g.cfg", "a = b", 5, &c, err, 8) == -1);
	CHECK_STR(err, "g.cfg:1");
}

TEST(disk_items)
{
	struct vmcfg_disk d;
	char out[4200];

	CHECK(vmcfg_parse_disk("file:/OVS/running_pool/g/system.img,hda,w", &d, err, sizeof(err)) == 0);
	CHECK_STR(d.kind, "file");
	CHECK_STR(d.path, "/OVS/running_pool/g/system.img");
	CHECK_STR(d.dev, "hda");
	CHECK(!d.cdrom);
	CHECK_STR(d.mode, "w");
	CHECK(vmcfg_parse_disk("phy:/dev/x,hdb,w!", &d, err, sizeof(err)) == 0);
	CHECK_STR(d.kind, "phy");
	CHECK_STR(d.mode, "w!");
	CHECK(vmcfg_parse_disk("file:/iso/x.iso,hdc:cdrom,r", &d, err, sizeof(err)) == 0);
	CHECK(d.cdrom);
	CHECK_STR(d.dev, "hdc");
	CHECK(vmcfg_format_disk(&d, out, sizeof(out)) == 0);
	CHECK_STR(out, "file:/iso/x.iso,hdc:cdrom,r");
	CHECK(vmcfg_parse_disk(",hdc:cdrom,r", &d, err, sizeof(err)) == 0);
	CHECK(d.cdrom && d.kind[0] == '\0' && d.path[0] == '\0');
	CHECK(vmcfg_format_disk(&d, out, sizeof(out)) == 0);
	CHECK_STR(out, ",hdc:cdrom,r");
	CHECK(vmcfg_parse_disk("tap:aio:/OVS/x.img,xvda,w", &d, err, sizeof(err)) == 0);
	CHECK_STR(d.kind, "tap:aio");
	CHECK_STR(d.path, "/OVS/x.img");
	CHECK(vmcfg_parse_disk("tap:qcow:/a:b.img,xvdb,r", &d, err, sizeof(err)) == 0);
	CHECK_STR(d.kind, "tap:qcow");
	CHECK_STR(d.path, "/a:b.img");
	CHECK(vmcfg_parse_disk(" phy:/dev/vgxen/lvol0 , hda , w ", &d, err, sizeof(err)) == 0);
	CHECK(vmcfg_format_disk(&d, out, sizeof(out)) == 0);
	CHECK_STR(out, "phy:/dev/vgxen/lvol0,hda,w");
	CHECK(vmcfg_parse_disk("file:/mnt/el4u5_64_hvm//system.img,hda,w", &d, err, sizeof(err)) == 0);
	CHECK_STR(d.path, "/mnt/el4u5_64_hvm//system.img");
	/* Too small an output buffer. */
	CHECK(vmcfg_format_disk(&d, out, 10) == -1);
}

TEST(disk_item_errors)
{
	struct vmcfg_disk d;
	char out[4200];

	CHECK(vmcfg_parse_disk("file:/x,hda", &d, err, sizeof(err)) == -1);
	CHECK_STR(err, "disk 'file:/x,hda': expected 'TYPE:PATH,DEVICE,MODE' like "
		       "'file:/OVS/running_pool/g/system.img,hda,w'");
	CHECK(vmcfg_parse_disk("file:/x,hda,w,0", &d, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_disk("", &d, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_disk("file:/x,hda,rw", &d, err, sizeof(err)) == -1);
	CHECK_STR(err, "disk 'file:/x,hda,rw': mode must be r, w or w!");
	CHECK(vmcfg_parse_disk("file:/x,,w", &d, err, sizeof(err)) == -1);
	CHECK_STR(err, "disk 'file:/x,,w': bad device name (like hda, xvda or hdc:cdrom)");
	CHECK(vmcfg_parse_disk("file:/x,hd a,w", &d, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_disk(",hda,w", &d, err, sizeof(err)) == -1);
	CHECK_STR(err, "disk ',hda,w': only a cdrom may be empty");
	CHECK(vmcfg_parse_disk("/dev/x,hda,w", &d, err, sizeof(err)) == -1);
	CHECK_STR(err, "disk '/dev/x,hda,w': source must be TYPE:PATH like file:/path, "
		       "phy:/dev/x or tap:aio:/path");
	CHECK(vmcfg_parse_disk("file:,hda,w", &d, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_disk("FILE:/x,hda,w", &d, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_disk("averyveryverylongkind:/x,hda,w", &d, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_disk("file:/x\t\x01,hda,w", &d, err, sizeof(err)) == -1);
	/* Structs that would not read back are not formatted. */
	memset(&d, 0, sizeof(d));
	strcpy(d.kind, "file");
	strcpy(d.path, "/a,b");
	strcpy(d.dev, "hda");
	strcpy(d.mode, "w");
	CHECK(vmcfg_format_disk(&d, out, sizeof(out)) == -1);
	strcpy(d.path, "/ab");
	CHECK(vmcfg_format_disk(&d, out, sizeof(out)) == 0);
	strcpy(d.dev, "hdc:cdrom");
	CHECK(vmcfg_format_disk(&d, out, sizeof(out)) == -1);
	strcpy(d.dev, "hdc");
	d.kind[0] = '\0';
	CHECK(vmcfg_format_disk(&d, out, sizeof(out)) == -1);
	d.path[0] = '\0';
	CHECK(vmcfg_format_disk(&d, out, sizeof(out)) == -1); /* empty, not a cdrom */
	d.cdrom = true;
	CHECK(vmcfg_format_disk(&d, out, sizeof(out)) == 0);
	strcpy(d.kind, "tap");
	strcpy(d.path, "aio:x");     /* would read back as kind tap:aio */
	CHECK(vmcfg_format_disk(&d, out, sizeof(out)) == -1);
	memset(d.mode, 'w', sizeof(d.mode));  /* unterminated */
	CHECK(vmcfg_format_disk(&d, out, sizeof(out)) == -1);
}

TEST(vif_items)
{
	struct vmcfg_vif v;
	char out[400];

	CHECK(vmcfg_parse_vif("mac=00:16:3e:73:a3:27, bridge=xenbr0, type=ioemu, model=e1000, "
			      "rate=10Mb/s@50ms", &v, err, sizeof(err)) == 0);
	CHECK_STR(v.mac, "00:16:3e:73:a3:27");
	CHECK_STR(v.bridge, "xenbr0");
	CHECK_STR(v.type, "ioemu");
	CHECK_STR(v.model, "e1000");
	CHECK_STR(v.rate, "10Mb/s@50ms");
	CHECK_STR(v.vifname, "");
	CHECK(vmcfg_format_vif(&v, out, sizeof(out)) == 0);
	CHECK_STR(out, "mac=00:16:3e:73:a3:27, bridge=xenbr0, type=ioemu, model=e1000, "
		       "rate=10Mb/s@50ms");
	CHECK(vmcfg_parse_vif("type=ioemu, , bridge=xenbr0", &v, err, sizeof(err)) == 0);
	CHECK_STR(v.type, "ioemu");
	CHECK_STR(v.mac, "");
	CHECK(vmcfg_format_vif(&v, out, sizeof(out)) == 0);
	CHECK_STR(out, "bridge=xenbr0, type=ioemu");
	CHECK(vmcfg_parse_vif("", &v, err, sizeof(err)) == 0);
	CHECK(vmcfg_format_vif(&v, out, sizeof(out)) == 0);
	CHECK_STR(out, "");
	CHECK(vmcfg_parse_vif(" ", &v, err, sizeof(err)) == 0);
	CHECK(vmcfg_parse_vif(",,", &v, err, sizeof(err)) == 0);
	CHECK(vmcfg_parse_vif("mac=00:50:56:1E:34:B5 , bridge=xenbr0", &v, err, sizeof(err)) == 0);
	CHECK_STR(v.mac, "00:50:56:1e:34:b5");
	CHECK(vmcfg_parse_vif("mac=00:16:3e:31:d5:4b,bridge=xenbr0,rate=10Mb/s@50ms", &v, err,
			      sizeof(err)) == 0);
	CHECK(vmcfg_parse_vif("rate=250KB/s", &v, err, sizeof(err)) == 0);
	CHECK(vmcfg_parse_vif("rate=1MB/s@20ms, vifname=vif-g1.0", &v, err, sizeof(err)) == 0);
	CHECK_STR(v.vifname, "vif-g1.0");
	CHECK(vmcfg_format_vif(&v, out, 10) == -1);
}

TEST(vif_item_errors)
{
	struct vmcfg_vif v;
	char out[400];

	CHECK(vmcfg_parse_vif("mac=xx:xx:xx:xx:xx:xx, bridge=xenbr0", &v, err, sizeof(err)) == -1);
	CHECK_STR(err, "vif 'mac=xx:xx:xx:xx:xx:xx, bridge=xenbr0': mac must be six hex pairs "
		       "like 00:16:3e:73:a3:27 (at most 17 characters)");
	CHECK(vmcfg_parse_vif("ip=10.0.0.1", &v, err, sizeof(err)) == -1);
	CHECK_STR(err, "vif 'ip=10.0.0.1': unknown setting 'ip' (known: mac, bridge, type, "
		       "model, rate, vifname)");
	CHECK(vmcfg_parse_vif("bridge=a, bridge=b", &v, err, sizeof(err)) == -1);
	CHECK_STR(err, "vif 'bridge=a, bridge=b': bridge given twice");
	CHECK(vmcfg_parse_vif("xenbr0", &v, err, sizeof(err)) == -1);
	CHECK_STR(err, "vif 'xenbr0': settings are key=value, separated by commas");
	CHECK(vmcfg_parse_vif("bridge=", &v, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_vif("bridge=xen br0", &v, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_vif("bridge=x;rm -rf /", &v, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_vif("mac=00:16:3e:73:a3", &v, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_vif("mac=00:16:3e:73:a3:27:00", &v, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_vif("mac=00-16-3e-73-a3-27", &v, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_vif("rate=10Mb", &v, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_vif("rate=10Mb/s@", &v, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_vif("rate=10Tb/s", &v, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_vif("rate=10Mb/s@50ks", &v, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_vif("type=averyveryverylongtype", &v, err, sizeof(err)) == -1);
	CHECK(vmcfg_parse_vif("=x", &v, err, sizeof(err)) == -1);
	/* Bad structs are not formatted. */
	memset(&v, 0, sizeof(v));
	strcpy(v.bridge, "xen br0");
	CHECK(vmcfg_format_vif(&v, out, sizeof(out)) == -1);
	memset(&v, 0, sizeof(v));
	memset(v.mac, 'a', sizeof(v.mac));
	CHECK(vmcfg_format_vif(&v, out, sizeof(out)) == -1);
}

TEST(every_item_of_the_guide)
{
	struct vmcfg *c = parse(appendix_c4);
	struct vmcfg_disk d;
	struct vmcfg_vif v;

	CHECK(c != NULL);
	if (!c)
		return;
	for (size_t i = 0; i < vmcfg_list_len(c, "disk"); i++)
		CHECK(vmcfg_parse_disk(vmcfg_list_str(c, "disk", i), &d, err, sizeof(err)) == 0);
	vmcfg_free(c);
	c = parse(hvm_example);
	CHECK(c && vmcfg_parse_vif(vmcfg_list_str(c, "vif", 0), &v, err, sizeof(err)) == 0);
	CHECK_STR(v.mac, "00:50:56:1e:34:b5");
	vmcfg_free(c);
}

TEST(known_keys)
{
	size_t n = 0;
	int found = 0;

	for (; vmcfg_known_keys[n]; n++)
		found += strcmp(vmcfg_known_keys[n], "disk_other_config") == 0 ||
			 strcmp(vmcfg_known_keys[n], "timer_mode") == 0;
	CHECK(n >= 37);
	CHECK_INT(found, 2);
}

static char dir[] = "/tmp/test_vmcfg.XXXXXX";

static int dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	static char data[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, data, sizeof(data) - 1);

	if (fd >= 0)
		close(fd);
	data[n < 0 ? 0 : n] = '\0';
	return data;
}

TEST(save_is_atomic_and_keeps_mode)
{
	char path[64], missing[96];
	struct vmcfg *c = NULL;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/vm.cfg", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, appendix_c3, strlen(appendix_c3)) == (ssize_t)strlen(appendix_c3));
	close(fd);
	CHECK(chmod(path, 0640) == 0);
	CHECK(vmcfg_load(path, &c, err, sizeof(err)) == 0);
	if (!c)
		return;
	CHECK(vmcfg_set_int(c, "vcpus", 8) == 0);
	CHECK(vmcfg_save(c, path, err, sizeof(err)) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
	CHECK(strstr(slurp(path), "\nvcpus = 8\nname=\"el4u5_64_hvm\"\n") != NULL);
	CHECK_INT(dir_entries(), 1);
	/* A new file gets 0644 whatever the umask. */
	snprintf(path, sizeof(path), "%s/new.cfg", dir);
	CHECK(vmcfg_save(c, path, err, sizeof(err)) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644);
	CHECK_INT(dir_entries(), 2);
	/* A failed save leaves nothing behind. */
	snprintf(missing, sizeof(missing), "%s/nodir/vm.cfg", dir);
	CHECK(vmcfg_save(c, missing, err, sizeof(err)) == -1);
	CHECK(starts_with(err, missing) && strstr(err, "cannot create a temporary file"));
	CHECK_INT(dir_entries(), 2);
	vmcfg_free(c);
	c = NULL;
	/* What was saved loads back the same. */
	CHECK(vmcfg_load(path, &c, err, sizeof(err)) == 0);
	if (c)
		CHECK(vmcfg_get_int(c, "vcpus", &(long long){0}) == 0);
	vmcfg_free(c);
	unlink(path);
	snprintf(path, sizeof(path), "%s/vm.cfg", dir);
	unlink(path);
}

TEST(load_errors)
{
	char path[64];
	struct vmcfg *c = (struct vmcfg *)1;
	int fd;

	snprintf(path, sizeof(path), "%s/absent.cfg", dir);
	CHECK(vmcfg_load(path, &c, err, sizeof(err)) == -1);
	CHECK(c == NULL);
	CHECK(starts_with(err, path) && strstr(err, "No such file"));
	CHECK(vmcfg_load(dir, &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a regular file") != NULL);
	snprintf(path, sizeof(path), "%s/bad.cfg", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "a = 1\nb = c\n", 12) == 12);
	close(fd);
	CHECK(vmcfg_load(path, &c, err, sizeof(err)) == -1);
	CHECK(starts_with(err, path) && strncmp(err + strlen(path), ":2: ", 4) == 0);
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(guide_hvm_example);
	RUN(guide_quoted_memory_and_trailing_commas);
	RUN(guide_appendix_examples);
	RUN(qos_nested_lists);
	RUN(qos_items);
	RUN(qos_refusals);
	RUN(qos_vif_rate);
	RUN(qos_item_count_bounded);
	RUN(value_types);
	RUN(get_int_variants);
	RUN(round_trip_odd_layouts);
	RUN(set_keeps_everything_else);
	RUN(set_multiline_list_in_place);
	RUN(add_and_delete);
	RUN(setter_refusals);
	RUN(too_many_keys);
	RUN(errors_name_the_line);
	RUN(errors_in_the_guide_as_printed);
	RUN(refuses_nul_and_huge);
	RUN(disk_items);
	RUN(disk_item_errors);
	RUN(vif_items);
	RUN(vif_item_errors);
	RUN(every_item_of_the_guide);
	RUN(known_keys);
	RUN(save_is_atomic_and_keeps_mode);
	RUN(load_errors);
	rmdir(dir);
	return harness_done();
}
