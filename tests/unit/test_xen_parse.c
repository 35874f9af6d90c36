/* test_xen_parse.c - `xl info` output into struct hv_info; `xl list -v`
 * into domains. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hypervisor/xen/xen_parse.h"

static const char xl_info[] =
	"host                   : ovs1.example.com\n"
	"release                : 6.1.0-21-amd64\n"
	"machine                : x86_64\n"
	"nr_cpus                : 8\n"
	"nr_nodes               : 1\n"
	"cores_per_socket       : 4\n"
	"threads_per_core       : 2\n"
	"cpu_mhz                : 2793.436\n"
	"virt_caps              : pv hvm hvm_directio pv_directio hap shadow\n"
	"total_memory           : 32643\n"
	"free_memory            : 30123\n"
	"xen_major              : 4\n"
	"xen_minor              : 17\n"
	"xen_extra              : .3-pre\n"
	"xen_caps               : xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_64\n"
	"cc_compiler            : x86_64-linux-gnu-gcc (Debian 12.2.0-14) 12.2.0\n"
	"garbage line without separator\n"
	"unknown_key            : whatever\n"
	"xend_config_format     : 4";

TEST(parses_every_field)
{
	struct hv_info i;

	memset(&i, 0, sizeof(i));
	xen_parse_info(xl_info, &i);
	CHECK_STR(i.host, "ovs1.example.com");
	CHECK_STR(i.release, "6.1.0-21-amd64");
	CHECK_INT(i.nr_cpus, 8);
	CHECK_INT(i.threads_per_core, 2);
	CHECK_INT(i.cpu_mhz, 2793);
	CHECK_INT(i.total_memory, 32643);
	CHECK_INT(i.free_memory, 30123);
	CHECK_INT(i.xen_major, 4);
	CHECK_INT(i.xen_minor, 17);
	CHECK_STR(i.xen_extra, ".3-pre");
	CHECK_STR(i.virt_caps, "pv hvm hvm_directio pv_directio hap shadow");
	CHECK_STR(i.cc_compiler, "x86_64-linux-gnu-gcc (Debian 12.2.0-14) 12.2.0");
}

TEST(empty_and_odd_input)
{
	struct hv_info i;

	memset(&i, 0, sizeof(i));
	xen_parse_info("", &i);
	xen_parse_info(":\n:::\nhost:\nnr_cpus : \n", &i);
	CHECK_STR(i.host, "");
	CHECK_INT(i.nr_cpus, 0);
}

/* As xl 4.17 prints it: %-40s name, then ID Mem VCPUs State Time(s) UUID
 * Reason-Code Security-Label. */
static const char xl_list[] =
	"Name                                        ID   Mem VCPUs\tState\tTime(s)   UUID                            Reason-Code\tSecurity Label\n"
	"Domain-0                                     0  1024     4     r-----     123.4 00000000-0000-0000-0000-000000000000        -                -\n"
	"web1                                         3   512     2     -b----       5.2 6F1B2C3D-0000-4000-8000-00000000000a        -                -\n"
	"my guest with spaces                         7  2048     1     --p---       0.0 6f1b2c3d-0000-4000-8000-00000000000b        -                -\n"
	"dead                                         8   256     1     ---sc-       1.0 6f1b2c3d-0000-4000-8000-00000000000c        3                -\n"
	"gone                                         9   256     1     ---s--       1.0 6f1b2c3d-0000-4000-8000-00000000000d        0                -\n"
	"dying                                       10   256     1     -----d       1.0 6f1b2c3d-0000-4000-8000-00000000000e        -                -\n"
	"rebooting                                   11   256     1     ---sr-       1.0 6f1b2c3d-0000-4000-8000-00000000000f        1                -\n"
	"idle                                        12   128     1     ------       0.5 6f1b2c3d-0000-4000-8000-000000000010        -  system_u:system_r:domU_t\n";

TEST(list_rows)
{
	struct xen_dom *d = NULL;
	size_t n = 0;
	char err[256];

	CHECK_INT(xen_parse_list(xl_list, &d, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 5);
	if (n != 5) {
		free(d);
		return;
	}
	CHECK_STR(d[0].dom.name, "web1");
	CHECK_STR(d[0].dom.uuid, "6f1b2c3d-0000-4000-8000-00000000000a"); /* lower case */
	CHECK_INT(d[0].dom.id, 3);
	CHECK_INT(d[0].dom.memory, 512);
	CHECK_INT(d[0].dom.vcpus, 2);
	CHECK_INT(d[0].dom.state, HV_RUNNING);
	CHECK_INT(d[0].dom.vnc_port, -1);
	CHECK(d[0].cpu_seconds > 5.1 && d[0].cpu_seconds < 5.3);
	CHECK_STR(d[1].dom.name, "my guest with spaces");
	CHECK_INT(d[1].dom.state, HV_PAUSED);
	CHECK_INT(d[1].dom.id, 7);
	CHECK_STR(d[2].dom.name, "dead");
	CHECK_INT(d[2].dom.state, HV_CRASHED);
	CHECK_STR(d[3].dom.name, "rebooting");            /* still exists */
	CHECK_INT(d[3].dom.state, HV_RUNNING);
	CHECK_STR(d[4].dom.name, "idle");
	CHECK_INT(d[4].dom.state, HV_RUNNING);
	free(d);
}

TEST(list_only_dom0)
{
	struct xen_dom *d = (struct xen_dom *)1;
	size_t n = 99;
	char err[256];

	CHECK_INT(xen_parse_list("Name  ID   Mem VCPUs\tState\tTime(s)   UUID    Reason-Code\tSecurity Label\n"
				 "Domain-0  0  1024  4  r-----  1.0 00000000-0000-0000-0000-000000000000 - -\n",
				 &d, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 0);
	free(d);
}

TEST(list_refuses_junk)
{
	struct xen_dom *d = NULL;
	size_t n = 0;
	char err[256];
	static const char *const bad[] = {
		"",
		"libxl: error: cannot init xl context\n",
		"Name ID Mem VCPUs State Time(s) UUID\nweb1 3 512 2 -b---- 5.2\n",         /* no uuid */
		"Name ID Mem VCPUs State Time(s) UUID\nweb1 x 512 2 -b---- 5.2 6f1b2c3d-0000-4000-8000-00000000000a - -\n",
		"Name ID Mem VCPUs State Time(s) UUID\nweb1 3 512 2 -bz--- 5.2 6f1b2c3d-0000-4000-8000-00000000000a - -\n",
		"Name ID Mem VCPUs State Time(s) UUID\n3 512 2 -b---- 5.2 6f1b2c3d-0000-4000-8000-00000000000a - -\n",
		"Name ID Mem VCPUs State Time(s) UUID\nweb1 3 512 2 -b---- x 6f1b2c3d-0000-4000-8000-00000000000a - -\n",
		/* a CPU time xl never prints (found by fuzz_xl_list) */
		"Name ID Mem VCPUs State Time(s) UUID\nweb1 3 512 2 -b---- -7.0 6f1b2c3d-0000-4000-8000-00000000000a - -\n",
		"Name ID Mem VCPUs State Time(s) UUID\nweb1 3 512 2 -b---- nan 6f1b2c3d-0000-4000-8000-00000000000a - -\n",
		"Name ID Mem VCPUs State Time(s) UUID\nweb1 3 512 2 -b---- inf 6f1b2c3d-0000-4000-8000-00000000000a - -\n",
		"Name ID Mem VCPUs State Time(s) UUID\nweb1 3 512 2 -b---- 1e999 6f1b2c3d-0000-4000-8000-00000000000a - -\n",
		"Name ID Mem VCPUs State Time(s) UUID\nweb1 3 512 2 -b---- 0x1p4 6f1b2c3d-0000-4000-8000-00000000000a - -\n",
		"Name ID Mem VCPUs State Time(s) UUID\nweb1 3 512 2 -b---- . 6f1b2c3d-0000-4000-8000-00000000000a - -\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_INT(xen_parse_list(bad[i], &d, &n, err, sizeof(err)), -1);
		CHECK(err[0] != '\0');
	}
}

/* A name of many words: 127 one-letter words fit a 255-byte name; the
 * row is read from the right, so none is too many (found by
 * fuzz_xl_list: 59 and more failed the whole list). */
TEST(list_name_of_many_words)
{
	struct xen_dom *d = NULL;
	size_t n = 0;
	char name[256], text[1024], err[256];

	for (int words = 1; words <= 127; words++) {
		for (int i = 0; i < words; i++)
			memcpy(name + 2 * i, "w ", 2);
		name[2 * words - 1] = '\0';
		snprintf(text, sizeof(text), "Name ID Mem VCPUs State Time(s) UUID\n"
			 "%-40s %5d %5d %5d     %s  %8.1f %s %8s %16s\n", name, 7, 512, 2, "-b----",
			 1.0, "6f1b2c3d-0000-4000-8000-00000000000a", "-", "-");
		CHECK_INT(xen_parse_list(text, &d, &n, err, sizeof(err)), 0);
		CHECK_INT(n, 1);
		if (n == 1) {
			CHECK_STR(d[0].dom.name, name);
			CHECK_INT(d[0].dom.id, 7);
		}
		free(d);
		d = NULL;
		n = 0;
	}
}

TEST(state_letters)
{
	enum hv_state st;

	CHECK_INT(xen_state_of("r-----", &st), 1);
	CHECK_INT(st, HV_RUNNING);
	CHECK_INT(xen_state_of("--p---", &st), 1);
	CHECK_INT(st, HV_PAUSED);
	CHECK_INT(xen_state_of("---sc-", &st), 1);
	CHECK_INT(st, HV_CRASHED);
	CHECK_INT(xen_state_of("---sw-", &st), 1);
	CHECK_INT(st, HV_CRASHED);
	CHECK_INT(xen_state_of("---s--", &st), 0);
	CHECK_INT(xen_state_of("-----d", &st), 0);
	CHECK_INT(xen_state_of("---ss-", &st), 1);    /* being saved */
	CHECK_INT(xen_state_of("r----", &st), -1);
	CHECK_INT(xen_state_of("x-----", &st), -1);
}

int main(void)
{
	RUN(parses_every_field);
	RUN(empty_and_odd_input);
	RUN(list_rows);
	RUN(list_only_dom0);
	RUN(list_refuses_junk);
	RUN(list_name_of_many_words);
	RUN(state_letters);
	return harness_done();
}
