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

struct unit {
	const char *name;
	double scale;           /* to bytes/s or to microseconds */
};

/* tc(8)'s units: bit and bps (bytes per second) with k, m, g, t as powers
 * of 1000; times in s, ms, us. */
static const struct unit rate_units[] = {
	{ "bit", 1.0 / 8 }, { "kbit", 1e3 / 8 }, { "mbit", 1e6 / 8 }, { "gbit", 1e9 / 8 },
	{ "tbit", 1e12 / 8 }, { "bps", 1 }, { "kbps", 1e3 }, { "mbps", 1e6 }, { "gbps", 1e9 },
	{ "tbps", 1e12 }, { NULL, 0 },
};
static const struct unit time_units[] = {
	{ "s", 1e6 }, { "sec", 1e6 }, { "secs", 1e6 }, { "ms", 1e3 }, { "msec", 1e3 },
	{ "msecs", 1e3 }, { "us", 1 }, { "usec", 1 }, { "usecs", 1 }, { NULL, 0 },
};

/* A decimal number, optionally with a fraction, then one of units (case
 * as tc: any), to its value in the units' base; at most 12 digits before
 * the point and 6 after, so the double is exact enough. 0 and *out, or
 * -1. */
static int number_with_unit(const char *s, const struct unit *units, double *out)
{
	size_t d = strspn(s, "0123456789"), f = 0;
	double v;

	if (d == 0 || d > 12)
		return -1;
	if (s[d] == '.') {
		f = strspn(s + d + 1, "0123456789");
		if (f == 0 || f > 6)
			return -1;
		f++;
	}
	v = strtod(s, NULL); /* the digits checked above: nothing else is read */
	for (int i = 0; units[i].name; i++)
		if (strcasecmp(s + d + f, units[i].name) == 0) {
			*out = v * units[i].scale;
			return 0;
		}
	return -1;
}

static int rate_value(const char *s, uint64_t *out)
{
	double v;

	/* At least a byte a second, at most what tc's 32-bit rate holds. */
	if (number_with_unit(s, rate_units, &v) < 0 || v < 1 || v > 2147483647.0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int time_value(const char *s, uint64_t *out)
{
	double v;

	/* tc keeps times in 32-bit microseconds-ish ticks: an hour is plenty. */
	if (number_with_unit(s, time_units, &v) < 0 || v < 1 || v > 3600e6)
		return -1;
	*out = (uint64_t)v;
	return 0;
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
	struct vmcfg_vif_qos *q = arg;
	bool rate = strcmp(key, "rate") == 0;
	char *dst = rate ? q->rate : q->latency, shown[48];
	uint64_t x;

	quote_printable(shown, sizeof(shown), val, strlen(val));
	if (!rate && strcmp(key, "latency") != 0) {
		quote_printable(shown, sizeof(shown), key, strlen(key));
		return fail(err, errlen, "unknown tbef setting '%s' (rate, latency)", shown);
	}
	if (dst[0])
		return fail(err, errlen, "%s given twice", key);
	if (strlen(val) >= sizeof(q->rate) || (rate ? rate_value(val, &x) : time_value(val, &x)) < 0)
		return fail(err, errlen, rate ? "rate '%s' is not a rate like 8mbit, 10mbit or 250kbps "
				   "(from 8bit to 17gbit)" : "latency '%s' is not a time like 50ms "
				   "(from 1us to 1 hour)", shown);
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

int vmcfg_vif_qos_values(const struct vmcfg_vif_qos *q, uint64_t *bytes_per_s,
			 uint64_t *latency_us)
{
	*latency_us = 0;
	if (rate_value(q->rate, bytes_per_s) < 0)
		return -1;
	return q->latency[0] ? time_value(q->latency, latency_us) : 0;
}

/* ---- both keys ------------------------------------------------------------ */

/* The vif items' own QoS (rate=): every item must parse, rate included. */
static int check_vif_rates(const struct vmcfg *c, char *err, size_t errlen)
{
	const struct vmcfg_value *v = vmcfg_get(c, "vif");
	struct vmcfg_vif vif;
	char msg[512];

	if (!v || v->type != VMCFG_LIST)
		return 0; /* absent, None, or refused by whoever reads the list */
	for (size_t i = 0; i < v->n && i < VMCFG_MAX_VIFS; i++)
		if (v->items[i].type == VMCFG_STR &&
		    vmcfg_parse_vif(v->items[i].str, &vif, msg, sizeof(msg)) < 0)
			return fail(err, errlen, "vif item %zu: %s", i + 1, msg);
	return 0;
}

int vmcfg_check_qos(const struct vmcfg *c, const char **key, char *err, size_t errlen)
{
	static const char *const keys[] = { "disk_other_config", "vif_other_config" };

	*key = "vif";
	if (check_vif_rates(c, err, errlen) < 0)
		return -1;

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
