/* tool.h - what the agent's command-line tools share: their options
 * (--config PATH, --help and the tool's own flags, one message for a bad
 * one), the agent.ini they read, and the db opened beside a running agent.
 *
 * Not a program: the Makefile links it into the tools that use it. */
#ifndef OVS_TOOL_H
#define OVS_TOOL_H

#include <stdbool.h>
#include <stdio.h>

#include "agent/server/config.h"

#define TOOL_DEFAULT_CONFIG "/etc/ovs-agent/agent.ini"

/* A tool's own on/off option, e.g. { "force", 'f', &a->force }. */
struct tool_flag {
	const char *name;       /* long name; NULL ends a table */
	char letter;            /* short option, 0 for none */
	bool *set;
};

struct tool {
	const char *prog;       /* names the tool in messages */
	const char *config;     /* --config, else $OVS_AGENT_CONFIG, else the default */
	struct agent_config cfg;        /* once tool_load_config succeeded */
	struct store *store;            /* once tool_open succeeded */
	bool loaded;
};

/* Read the options in argv: --config PATH (-c), --help (-h) and the flags
 * (a table ended by a NULL name, or NULL). Returns 0 with *first the index
 * of the first operand, 1 for --help, -1 for a bad option or a missing
 * argument, reported as "PROG: bad option or missing argument: ARG"
 * (getopt's own message would name the binary's full path). */
int tool_options(struct tool *t, int argc, char **argv, const struct tool_flag *flags,
		 int *first);

/* The exit code after tool_options (or a tool's own checks) returned r != 0:
 * usage on stdout and 0 for --help (r > 0), on stderr and 2 otherwise. */
int tool_usage_exit(int r, void (*usage)(FILE *f));

/* Load t->config: 0, or 1 with "PROG: <why>" on stderr. */
int tool_load_config(struct tool *t);

/* Load t->config and open its existing db: 0, or 1 with "PROG: <why>" on
 * stderr. */
int tool_open(struct tool *t);

/* Close the db and free the config, whatever was opened. */
void tool_close(struct tool *t);

#endif
