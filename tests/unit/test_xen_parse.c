/* test_xen_parse.c - `xl info` output into struct hv_info. */
#include <string.h>

#include "harness.h"
#include "hypervisor/xen_parse.h"

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

int main(void)
{
	RUN(parses_every_field);
	RUN(empty_and_odd_input);
	return harness_done();
}
