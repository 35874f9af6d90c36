/* vif_mac.c - see vif_mac.h. */
#include "agent/guest/vif_mac.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#include "agent/base/util.h"
#include "hypervisor/vmcfg.h"

#define ITEM_MAX 512   /* a formatted vif item: six settings of < 80 bytes */

static bool mac_taken(const struct vmcfg_vif *v, size_t n, const char *mac)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].mac, mac) == 0)
			return true;
	return false;
}

static int random_mac(const struct vmcfg_vif *v, size_t n, char out[18], char *err, size_t errlen)
{
	unsigned char b[3];
	char mac[18];

	/* A clash among a guest's own 256 vifs at most: a few tries suffice. */
	for (int tries = 0; tries < 64; tries++) {
		if (RAND_bytes(b, sizeof(b)) != 1) {
			snprintf(err, errlen, "no randomness for a MAC address");
			return -1;
		}
		snprintf(mac, sizeof(mac), "00:16:3e:%02x:%02x:%02x", b[0] & 0x7f, b[1], b[2]);
		if (!mac_taken(v, n, mac)) {
			memcpy(out, mac, sizeof(mac));
			return 0;
		}
	}
	snprintf(err, errlen, "no free MAC address found");
	return -1;
}

int vif_give_macs(struct vmcfg *cfg, bool *changed, char *err, size_t errlen)
{
	const struct vmcfg_value *l = vmcfg_get(cfg, "vif");
	struct vmcfg_vif *v;
	char **items;
	bool *parsed;
	size_t n;
	int rc = -1;

	*changed = false;
	if (!l || l->type != VMCFG_LIST || l->n == 0 || l->n > VMCFG_MAX_VIFS)
		return 0; /* nothing to give, or refused by whoever reads the list */
	n = l->n;
	v = xcalloc(n, sizeof(*v));
	parsed = xcalloc(n, sizeof(*parsed));
	items = xcalloc(n, sizeof(*items));
	for (size_t i = 0; i < n; i++) {
		char msg[256];
		parsed[i] = l->items[i].type == VMCFG_STR &&
			    vmcfg_parse_vif(l->items[i].str, &v[i], msg, sizeof(msg)) == 0;
		if (!parsed[i])
			goto done; /* the start refuses the list, with its line */
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].mac[0]) {
			items[i] = xstrdup(l->items[i].str);
			continue;
		}
		if (random_mac(v, n, v[i].mac, err, errlen) < 0)
			goto out;
		items[i] = xcalloc(1, ITEM_MAX);
		if (vmcfg_format_vif(&v[i], items[i], ITEM_MAX) < 0) {
			snprintf(err, errlen, "vif item %zu cannot be written back", i + 1);
			goto out;
		}
		*changed = true;
	}
	if (*changed && vmcfg_set_list(cfg, "vif", (const char *const *)items, n) < 0) {
		snprintf(err, errlen, "the vif list cannot be written back");
		*changed = false;
		goto out;
	}
done:
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
	free(parsed);
	free(v);
	return rc;
}
