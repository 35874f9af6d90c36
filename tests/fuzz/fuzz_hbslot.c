/* fuzz_hbslot.c - libFuzzer target for agent/cluster/hbslot.c: a slot of
 * the heartbeat file, which every host of the pool writes.
 *
 * The first byte is the slot index asked for (0: any), the rest the slot,
 * in a heap copy of exactly its size (so ASan catches a read past the
 * end). Checked: a slot that parses is for that index, its node id in
 * 1..255, its ip NUL-terminated, and it encodes back to exactly the bytes
 * read (the format has one spelling per slot, so parse then encode is
 * the identity); what encodes parses back to the same slot. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cluster/hbslot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hb_slot s, r;
	char out[HB_SLOT_SIZE];
	uint32_t index;
	char *p;

	if (size < 1)
		return 0;
	index = data[0];
	p = malloc(size - 1 ? size - 1 : 1);
	memcpy(p, data + 1, size - 1);
	if (hbslot_parse(p, size - 1, index, &s) == 0) {
		if (size - 1 != HB_SLOT_SIZE || s.nodeid < 1 || s.nodeid > HB_NODEID_MAX ||
		    (index && s.nodeid != index) || !memchr(s.ip, '\0', sizeof(s.ip)))
			abort();
		if (hbslot_encode(&s, out) != 0 || memcmp(out, p, HB_SLOT_SIZE) != 0)
			abort();
		if (hbslot_parse(out, sizeof(out), s.nodeid, &r) != 0 || r.seq != s.seq ||
		    r.unix_ms != s.unix_ms || r.fenced != s.fenced || strcmp(r.ip, s.ip) != 0)
			abort();
	}
	free(p);
	return 0;
}
