/* version.h - the agent's release string, "2.2-<build>". The build number
 * is the commit count, compiled into version.c alone so that a new commit
 * rebuilds one object, not the tree. */
#ifndef OVS_VERSION_H
#define OVS_VERSION_H

extern const char agent_version[];   /* "2.2-123" */

#endif
