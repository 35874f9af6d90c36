/* version.c - see version.h. */
#include "agent/server/version.h"

#ifndef AGENT_BUILD
#define AGENT_BUILD "0"
#endif

const char agent_version[] = AGENT_VERSION "-" AGENT_BUILD;
