/* vmcfg_qos.c - see vmcfg_qos.h. */
#include "hypervisor/vmcfg_qos.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/base/util.h"

#define QOS_MAX_ITEMS 256   /* as many as a guest has disks or vifs */

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The three strings of an item, or -1. */
static int item_strings(const struct vmcfg_value *item, const char *s[3])
{
	if (item->type != VMCFG_LIST || item->n != 3)
		return -1;
	for (int i = 0; i < 3; i++) {
		if (item->items[i].type != VMCFG_STR)
			return -1;
		s[i] = item->items[i].str;
	}
	return 0;
}

typedef int (*setting_fn)(const char *key, const char *val, void *arg, char *err, size_t errlen);

/* Each "key=value" of "k=v, k=v" (blanks around either ignored; '' is no
 * settings) to fn. */
static int each_setting(const char *params, setting_fn fn, void *arg, char *err, size_t errlen)
{
	for (const char *p = params;;) {
		size_t n = strcspn(p, ","), lead = strspn(p, " \t");
		char field[128], shown[80], *eq, *k, *v, *end;

		if (lead < n) {
			quote_printable(shown, sizeof(shown), p + lead, n - lead);
			if (n - lead >= sizeof(field))
				return fail(err, errlen, "the setting '%s' is too long", shown);
			memcpy(field, p + lead, n - lead);
			field[n - lead] = '\0';
			if (!(eq = strchr(field, '=')))
				return fail(err, errlen, "'%s' is not key=value", shown);
			k = field;
			v = eq + 1;
			for (end = eq; end > k && (end[-1] == ' ' || end[-1] == '\t'); end--)
				;
			*end = '\0';
			v += strspn(v, " \t");
			for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
				;
			*end = '\0';
			if (fn(k, v, arg, err, errlen) < 0)
				return -1;
		}
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

/* A decimal number, optionally with a fraction, above 0, then one of units
 * (case as tc: any). */
static bool number_with_unit(const char *s, const char *const *units)
{
	size_t d = strspn(s, "0123456789"), f = 0;
	bool nonzero = strspn(s, "0") < d;

	if (d == 0)
		return false;
	if (s[d] == '.') {
		f = strspn(s + d + 1, "0123456789");
		if (f == 0)
			return false;
		nonzero = nonzero || strspn(s + d + 1, "0") < f;
		f++;
	}
	if (!nonzero)
		return false;
	for (int i = 0; units[i]; i++)
		if (strcasecmp(s + d + f, units[i]) == 0)
			return true;
	return false;
}

/* ---- disks: ionice ------------------------------------------------------- */

static int disk_setting(const char *key, const char *val, void *arg, char *err, size_t errlen)
{
	static const char *const classes[] = { "none", "realtime", "best-effort", "idle" };
	struct vmcfg_disk_qos *q = arg;
	char shown[48];

	quote_printable(shown, sizeof(shown), val, strlen(val));
	if (strcmp(key, "sched") == 0) {
		if (q->ioclass >= 0)
			return fail(err, errlen, "sched given twice");
		for (int i = 0; i < 4; i++)
			if (strcmp(val, classes[i]) == 0 || (val[0] == '0' + i && !val[1]))
				q->ioclass = i;
		if (q->ioclass < 0)
			return fail(err, errlen, "sched '%s' is not an ionice class (none, realtime, "
				    "best-effort or idle)", shown);
	} else if (strcmp(key, "prio") == 0) {
		if (q->prio >= 0)
			return fail(err, errlen, "prio given twice");
		if (!val[0] || strlen(val) > 2 || strspn(val, "0123456789") != strlen(val) ||
		    atoi(val) > 7)
			return fail(err, errlen, "ionice prio '%s' is outside 0-7", shown);
		q->prio = atoi(val);
	} else {
		quote_printable(shown, sizeof(shown), key, strlen(key));
		return fail(err, errlen, "unknown ionice setting '%s' (sched, prio)", shown);
	}
	return 0;
}

int vmcfg_parse_disk_qos(const struct vmcfg_value *item, struct vmcfg_disk_qos *q, char *err,
			 size_t errlen)
{
	const char *s[3];
	char shown[48], msg[256];
	size_t n;

	memset(q, 0, sizeof(*q));
	q->ioclass = q->prio = -1;
	if (item_strings(item, s) < 0)
		return fail(err, errlen, "must be ['DEVICE', 'ionice', 'SETTINGS'], like "
			    "['hda', 'ionice', 'sched=best-effort,prio=5']");
	n = strlen(s[0]);
	quote_printable(shown, sizeof(shown), s[0], n);
	if (n == 0 || n >= sizeof(q->dev) || !((s[0][0] >= 'a' && s[0][0] <= 'z')) ||
	    strspn(s[0], "abcdefghijklmnopqrstuvwxyz0123456789") != n)
		return fail(err, errlen, "'%s' is not a disk's front end (like hda or xvda)", shown);
	strcpy(q->dev, s[0]);
	if (strcmp(s[1], "ionice") != 0) {
		quote_printable(msg, sizeof(msg), s[1], strlen(s[1]));
		return fail(err, errlen, "%s: unknown QoS algorithm '%s' (a disk's is 'ionice')",
			    q->dev, msg);
	}
	if (each_setting(s[2], disk_setting, q, msg, sizeof(msg)) < 0)
		return fail(err, errlen, "%s: %s", q->dev, msg);
	return 0;
}

/* ---- vifs: token bucket --------------------------------------------------- */

static int vif_setting(const char *key, const char *val, void *arg, char *err, size_t errlen)
{
	static const char *const rate_units[] = { "bit", "kbit", "mbit", "gbit", "tbit", "bps",
						  "kbps", "mbps", "gbps", "tbps", NULL };
	static const char *const time_units[] = { "s", "sec", "secs", "ms", "msec", "msecs",
						  "us", "usec", "usecs", NULL };
	struct vmcfg_vif_qos *q = arg;
	bool rate = strcmp(key, "rate") == 0;
	char *dst = rate ? q->rate : q->latency, shown[48];

	quote_printable(shown, sizeof(shown), val, strlen(val));
	if (!rate && strcmp(key, "latency") != 0) {
		quote_printable(shown, sizeof(shown), key, strlen(key));
		return fail(err, errlen, "unknown tbef setting '%s' (rate, latency)", shown);
	}
	if (dst[0])
		return fail(err, errlen, "%s given twice", key);
	if (strlen(val) >= sizeof(q->rate) || !number_with_unit(val, rate ? rate_units : time_units))
		return fail(err, errlen, rate ? "rate '%s' is not a rate like 8mbit, 10mbit or 250kbps"
				   : "latency '%s' is not a time like 50ms", shown);
	strcpy(dst, val);
	return 0;
}

int vmcfg_parse_vif_qos(const struct vmcfg_value *item, struct vmcfg_vif_qos *q, char *err,
			size_t errlen)
{
	const char *s[3];
	char shown[48], msg[256];

	memset(q, 0, sizeof(*q));
	if (item_strings(item, s) < 0)
		return fail(err, errlen, "must be ['MAC', 'tbef', 'SETTINGS'], like "
			    "['00:16:3e:31:d5:4b', 'tbef', 'rate=8mbit,latency=50ms']");
	quote_printable(shown, sizeof(shown), s[0], strlen(s[0]));
	if (strlen(s[0]) != 17 || !vmcfg_mac_ok(s[0]))
		return fail(err, errlen, "'%s' is not a MAC address (six hex pairs like "
			    "00:16:3e:31:d5:4b)", shown);
	for (int i = 0; i < 18; i++)
		q->mac[i] = (char)(s[0][i] >= 'A' && s[0][i] <= 'F' ? s[0][i] - 'A' + 'a' : s[0][i]);
	if (strcmp(s[1], "tbef") != 0 && strcmp(s[1], "tbf") != 0) {
		quote_printable(msg, sizeof(msg), s[1], strlen(s[1]));
		return fail(err, errlen, "%s: unknown QoS algorithm '%s' (a vif's is 'tbef', "
			    "or tc's name 'tbf')", q->mac, msg);
	}
	if (each_setting(s[2], vif_setting, q, msg, sizeof(msg)) < 0)
		return fail(err, errlen, "%s: %s", q->mac, msg);
	if (!q->rate[0])
		return fail(err, errlen, "%s: tbef needs a rate, like rate=8mbit", q->mac);
	return 0;
}

/* ---- both keys ------------------------------------------------------------ */

int vmcfg_check_qos(const struct vmcfg *c, const char **key, char *err, size_t errlen)
{
	static const char *const keys[] = { "disk_other_config", "vif_other_config" };

	for (int k = 0; k < 2; k++) {
		const struct vmcfg_value *v = vmcfg_get(c, keys[k]);
		char msg[512];

		*key = keys[k];
		if (!v || v->type == VMCFG_NONE)
			continue;
		if (v->type != VMCFG_LIST)
			return fail(err, errlen, "%s must be a list of [%s, algorithm, settings] items",
				    keys[k], k ? "MAC" : "device");
		if (v->n > QOS_MAX_ITEMS)
			return fail(err, errlen, "%s has %zu items; a guest has at most %d", keys[k],
				    v->n, QOS_MAX_ITEMS);
		for (size_t i = 0; i < v->n; i++) {
			struct vmcfg_disk_qos dq;
			struct vmcfg_vif_qos vq;
			int r = k ? vmcfg_parse_vif_qos(&v->items[i], &vq, msg, sizeof(msg))
				  : vmcfg_parse_disk_qos(&v->items[i], &dq, msg, sizeof(msg));
			if (r < 0)
				return fail(err, errlen, "%s item %zu: %s", keys[k], i + 1, msg);
		}
	}
	return 0;
}
