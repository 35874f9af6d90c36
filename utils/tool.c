/* tool.c - what the agent's command-line tools share (tool.h). */
#include "utils/tool.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "db/store.h"

#define FLAGS_MAX 8
#define FLAG_VAL 256            /* getopt_long's value of a long-only flag i: FLAG_VAL + i */

int tool_options(struct tool *t, int argc, char **argv, const struct tool_flag *flags,
		 int *first)
{
	struct option opts[FLAGS_MAX + 3];
	char shorts[2 * FLAGS_MAX + 8] = "c:";
	const char *env = getenv("OVS_AGENT_CONFIG");
	size_t n = 0, s = strlen(shorts);
	int c;

	t->config = env && *env ? env : TOOL_DEFAULT_CONFIG;
	opts[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	for (size_t i = 0; flags && flags[i].name; i++) {
		if (i == FLAGS_MAX)
			abort(); /* a tool with more flags raises FLAGS_MAX */
		opts[n++] = (struct option){ flags[i].name, no_argument, NULL,
					     flags[i].letter ? flags[i].letter : FLAG_VAL + (int)i };
		if (flags[i].letter)
			shorts[s++] = flags[i].letter;
	}
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	shorts[s++] = 'h';
	shorts[s] = '\0';

	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		bool known = false;

		if (c == 'c') {
			t->config = optarg;
			continue;
		}
		if (c == 'h')
			return 1;
		for (size_t i = 0; c != '?' && c != ':' && flags && flags[i].name; i++) {
			if (c == (flags[i].letter ? flags[i].letter : FLAG_VAL + (int)i)) {
				*flags[i].set = true;
				known = true;
			}
		}
		if (!known) {
			fprintf(stderr, "%s: bad option or missing argument: %s\n", t->prog,
				argv[optind - 1]);
			return -1;
		}
	}
	*first = optind;
	return 0;
}

int tool_usage_exit(int r, void (*usage)(FILE *f))
{
	usage(r > 0 ? stdout : stderr);
	return r > 0 ? 0 : 2;
}

int tool_load_config(struct tool *t)
{
	char err[1024];

	if (config_load(t->config, &t->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", t->prog, err);
		return 1;
	}
	t->loaded = true;
	return 0;
}

int tool_open(struct tool *t)
{
	char err[1024];

	if (tool_load_config(t) != 0)
		return 1;
	if (!(t->store = store_open_existing(t->cfg.state_dir, err, sizeof(err)))) {
		fprintf(stderr, "%s: %s\n", t->prog, err);
		return 1;
	}
	return 0;
}

void tool_close(struct tool *t)
{
	if (t->store)
		store_close(t->store);
	t->store = NULL;
	if (t->loaded)
		config_free(&t->cfg);
	t->loaded = false;
}
