/* hbslot.h - one slot of the pool's heartbeat file, <cluster_root>/.server_pool_hb.
 *
 * The file is HB_SLOTS fixed slots of HB_SLOT_SIZE bytes; slot i belongs
 * to the node whose corosync node id is i (slot 0 is never used). A slot
 * is one text line padded with spaces to 127 bytes, then '\n':
 *
 *   OVSHB1 <nodeid> <ip> <seq> <unix_ms> <state>
 *
 * nodeid 1..255 (the slot's own index), ip an IPv4 or IPv6 literal in
 * inet_ntop's canonical form, seq and unix_ms decimal without leading
 * zeros, state "alive" or "fenced", single spaces between fields. Every
 * other host of the pool writes this file: what is read is hostile, so a
 * slot is taken only when it is exactly that; anything else (a hole of
 * zeros, a torn write, a stray byte) is no slot. Pure: no I/O, no
 * allocation; fuzzed by tests/fuzz/fuzz_hbslot.c. */
#ifndef OVS_HBSLOT_H
#define OVS_HBSLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_SLOTS      256
#define HB_SLOT_SIZE  128
#define HB_FILE_SIZE  (HB_SLOTS * HB_SLOT_SIZE)
#define HB_NODEID_MAX 255
#define HB_IP_MAX     46                  /* INET6_ADDRSTRLEN, the NUL included */
/* The writer's wall clock, only shown: Dec 31 9999, in ms. */
#define HB_UNIX_MS_MAX 253402300799999ULL

struct hb_slot {
	uint32_t nodeid;
	char ip[HB_IP_MAX];
	uint64_t seq;
	uint64_t unix_ms;
	bool fenced;          /* state "fenced", else "alive" */
};

/* The slot's bytes into out: the line, spaces, '\n'. 0, or -1 when s
 * breaks a rule above (then out is untouched). */
int hbslot_encode(const struct hb_slot *s, char out[HB_SLOT_SIZE]);

/* Parse p[0..n) as slot index (1..HB_NODEID_MAX; 0 takes any node id).
 * 0 with *s filled when n is HB_SLOT_SIZE and the bytes are exactly a
 * slot whose nodeid is index; else -1 (*s then undefined). */
int hbslot_parse(const char *p, size_t n, uint32_t index, struct hb_slot *s);

#endif
