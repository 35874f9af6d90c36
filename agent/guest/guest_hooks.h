/* guest_hooks.h - the site's own hooks on guest events.
 *
 * Executables in guest_hooks_dir (agent.ini; default <hooks_dir>/guest.d)
 * run one after the other in name order on each event, the way libvirt's
 * /etc/libvirt/hooks/qemu and VDSM's hook directories serve sites
 * (README.md, "Guest event hooks", is the contract):
 *   argv          the guest's vm.cfg path, then the event
 *   environment   OVS_GUEST_PATH, OVS_GUEST_NAME, OVS_GUEST_UUID,
 *                 OVS_HOOK_EVENT, OVS_HOST (this host's name),
 *                 OVS_MIGRATE_PEER (migrations: the other agent's address),
 *                 and from the runner OVS_HOOK_KIND=guest and PATH
 *   before_start, before_migrate   a non-zero exit vetoes: the hooks after
 *                 it do not run, the operation does not happen, the
 *                 caller gets fault 1200 with the hook's words (1500 when
 *                 it timed out)
 *   before_stop   runs, and is waited for, before a clean stop; it cannot
 *                 stop the stop
 *   after_start, after_stop, after_migrate, crashed   told after the fact;
 *                 a failure is logged and recorded, never changes the
 *                 outcome */
#ifndef OVS_GUEST_HOOKS_H
#define OVS_GUEST_HOOKS_H

struct server;

enum guest_event {
	GE_BEFORE_START, GE_AFTER_START, GE_BEFORE_STOP, GE_AFTER_STOP,
	GE_BEFORE_MIGRATE, GE_AFTER_MIGRATE, GE_CRASHED, GE_COUNT
};
const char *guest_event_name(enum guest_event e);   /* "before_start", ... */

/* Whom an event is about. */
struct guest_hook_who {
	const char *path;       /* the guest's directory */
	const char *name;       /* NULL or "" when unknown */
	const char *uuid;
	const char *peer;       /* the other host of a migration, or NULL */
};

/* fault 0, or what ended the hooks: 1200 (a hook failed), 1500 (timed
 * out), 1600 (the agent is stopping), with the words. */
typedef void (*guest_hooks_cb)(void *arg, int fault, const char *msg);

/* Run ev's hooks and wait for them; done is called exactly once: from
 * the loop, or before this returns when the runner refuses (1600 when
 * the agent is stopping). For before_start and before_migrate the first
 * failure stops the rest. */
void guest_hooks_wait(struct server *srv, enum guest_event ev, const struct guest_hook_who *who,
		      guest_hooks_cb done, void *arg);

/* Run ev's hooks without waiting (after_*, crashed): every hook runs,
 * failures are logged. */
void guest_hooks_tell(struct server *srv, enum guest_event ev, const struct guest_hook_who *who);

#endif
