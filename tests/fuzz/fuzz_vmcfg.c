/* fuzz_vmcfg.c - libFuzzer target for the vm.cfg parser and writer.
 *
 * Whatever parses must come back byte for byte when nothing changed; its
 * canonical rendering (every key touched) must parse again to the same
 * values and be a fixed point; every string in a list goes through the
 * disk and vif item parsers, and what they accept must format and parse
 * back to the same item. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor/vmcfg.h"

static int value_equal(const struct vmcfg_value *a, const struct vmcfg_value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case VMCFG_STR:
		return strcmp(a->str, b->str) == 0;
	case VMCFG_INT:
	case VMCFG_BOOL:
		return a->num == b->num;
	case VMCFG_FLOAT:
		return a->real == b->real;
	case VMCFG_NONE:
		return 1;
	case VMCFG_LIST:
		if (a->n != b->n)
			return 0;
		for (size_t i = 0; i < a->n; i++)
			if (!value_equal(&a->items[i], &b->items[i]))
				return 0;
		return 1;
	}
	return 0;
}

static void check_disk(const char *item)
{
	static struct vmcfg_disk d, back;
	static char out[8192];
	char err[256];

	if (vmcfg_parse_disk(item, &d, err, sizeof(err)) < 0)
		return;
	if (vmcfg_format_disk(&d, out, sizeof(out)) < 0 ||
	    vmcfg_parse_disk(out, &back, err, sizeof(err)) < 0 ||
	    memcmp(&d, &back, sizeof(d)) != 0)
		abort();
}

static void check_vif(const char *item)
{
	struct vmcfg_vif v, back;
	char out[512], err[256];

	if (vmcfg_parse_vif(item, &v, err, sizeof(err)) < 0)
		return;
	if (vmcfg_format_vif(&v, out, sizeof(out)) < 0 ||
	    vmcfg_parse_vif(out, &back, err, sizeof(err)) < 0 ||
	    memcmp(&v, &back, sizeof(v)) != 0)
		abort();
}

static void check_items(const struct vmcfg_value *v)
{
	if (v->type == VMCFG_STR) {
		check_disk(v->str);
		check_vif(v->str);
	}
	for (size_t i = 0; v->type == VMCFG_LIST && i < v->n; i++)
		check_items(&v->items[i]);
}

/* The canonical text parses to the same keys and values, and is stable. */
static void check_canonical(struct vmcfg *c)
{
	struct vmcfg *again = NULL, *third = NULL;
	char err[512], *text, *text2, *text3;
	size_t len, len2, len3;

	for (size_t i = 0; i < vmcfg_count(c); i++)
		if (vmcfg_touch(c, vmcfg_key(c, i)) < 0)
			abort();
	text = vmcfg_format(c, &len);
	if (vmcfg_parse("canon", text, len, &again, err, sizeof(err)) < 0)
		abort();
	if (vmcfg_count(again) != vmcfg_count(c))
		abort();
	for (size_t i = 0; i < vmcfg_count(c); i++) {
		const char *k = vmcfg_key(c, i);
		if (strcmp(k, vmcfg_key(again, i)) != 0 ||
		    !value_equal(vmcfg_get(c, k), vmcfg_get(again, k)))
			abort();
	}
	text2 = vmcfg_format(again, &len2);
	if (len2 != len || memcmp(text, text2, len) != 0)
		abort();
	/* Touching the canonical text again changes nothing. */
	for (size_t i = 0; i < vmcfg_count(again); i++)
		vmcfg_touch(again, vmcfg_key(again, i));
	text3 = vmcfg_format(again, &len3);
	if (len3 != len || memcmp(text, text3, len) != 0)
		abort();
	if (vmcfg_parse("canon", text3, len3, &third, err, sizeof(err)) < 0)
		abort();
	vmcfg_free(third);
	free(text3);
	free(text2);
	free(text);
	vmcfg_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmcfg *c = NULL;
	char err[512], *text;
	size_t len;

	if (vmcfg_parse("fuzz", (const char *)data, size, &c, err, sizeof(err)) < 0) {
		if (c || strncmp(err, "fuzz", 4) != 0)
			abort();
		return 0;
	}
	text = vmcfg_format(c, &len);
	if (len != size || memcmp(text, data, size) != 0)
		abort();
	free(text);
	for (size_t i = 0; i < vmcfg_count(c); i++)
		check_items(vmcfg_get(c, vmcfg_key(c, i)));
	check_canonical(c);
	vmcfg_free(c);
	return 0;
}
