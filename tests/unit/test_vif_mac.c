/* test_vif_mac.c - vif items without a MAC get one in 00:16:3e, distinct,
 * written in the item; the others stay as written. */
#include "harness.h"
#include "agent/guest/vif_mac.h"
#include "hypervisor/vmcfg.h"

#include <stdlib.h>
#include <string.h>

static struct vmcfg *parse(const char *text)
{
	struct vmcfg *c = NULL;
	char err[256];

	if (vmcfg_parse("vm.cfg", text, strlen(text), &c, err, sizeof(err)) < 0)
		fprintf(stderr, "  %s\n", err);
	return c;
}

TEST(gives_missing_macs)
{
	struct vmcfg *c = parse("name = 'g'\nvif = [ 'bridge=xenbr0, model=e1000', "
				"'mac=00:16:3E:00:00:01 , bridge=xenbr1', ' ' ]\n");
	struct vmcfg_vif v0, v2;
	char err[256];
	bool changed = false;

	if (!c)
		return;
	err[0] = '\0';
	CHECK(vif_give_macs(c, &changed, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(changed);
	CHECK(vmcfg_parse_vif(vmcfg_list_str(c, "vif", 0), &v0, err, sizeof(err)) == 0);
	CHECK(strncmp(v0.mac, "00:16:3e:", 9) == 0 && strtol(v0.mac + 9, NULL, 16) < 0x80);
	CHECK_STR(v0.bridge, "xenbr0");
	CHECK_STR(v0.model, "e1000");
	/* one with a MAC keeps its own text */
	CHECK_STR(vmcfg_list_str(c, "vif", 1), "mac=00:16:3E:00:00:01 , bridge=xenbr1");
	CHECK(vmcfg_parse_vif(vmcfg_list_str(c, "vif", 2), &v2, err, sizeof(err)) == 0);
	CHECK(strlen(v2.mac) == 17 && strcmp(v0.mac, v2.mac) != 0);
	/* done once: the next start changes nothing */
	CHECK(vif_give_macs(c, &changed, err, sizeof(err)) == 0);
	CHECK(!changed);
	vmcfg_free(c);
}

TEST(leaves_the_rest)
{
	const char *texts[] = { "name = 'g'\n", "vif = []\n", "vif = None\n",
				"vif = [ 'mac=00:16:3e:00:00:01' ]\n",
				"vif = [ 'bridge=a', 'nonsense' ]\n" /* refused later, with its line */ };
	char err[256];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct vmcfg *c = parse(texts[i]);
		bool changed = true;
		CHECK(c && vif_give_macs(c, &changed, err, sizeof(err)) == 0 && !changed);
		vmcfg_free(c);
	}
}

int main(void)
{
	RUN(gives_missing_macs);
	RUN(leaves_the_rest);
	return harness_done();
}
