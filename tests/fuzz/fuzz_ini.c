/* fuzz_ini.c - libFuzzer target: arbitrary bytes as agent.ini.
 *
 * The input is handed over as (pointer, length) without a terminating NUL,
 * exactly as the parser's contract allows, so ASan catches any read past
 * the end. Whatever the outcome the config must free cleanly; on error it
 * must already be zeroed. */
#include "agent/server/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct agent_config zero;
	struct agent_config cfg;
	char err[256];
	char *copy = malloc(size ? size : 1);

	/* A heap copy of exactly `size` bytes: no slack to hide overreads. */
	memcpy(copy, data, size);
	if (config_parse("fuzz.ini", copy, size, &cfg, err, sizeof(err)) != 0) {
		if (memchr(err, '\0', sizeof(err)) == NULL ||
		    memcmp(&cfg, &zero, sizeof(cfg)) != 0)
			abort();
	} else if (cfg.allow == NULL || cfg.deny == NULL || cfg.listen == NULL ||
	    cfg.max_unauth_connections > cfg.max_connections) {
		abort();
	}
	config_free(&cfg);
	free(copy);
	return 0;
}
