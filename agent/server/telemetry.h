/* telemetry.h - what the loop already knows, counted where it happens:
 * XML-RPC calls per method (with faults and a latency histogram), faults
 * per code, failed logins. Read by get_agent_status, GET /metrics and
 * GET /status. Fixed memory, O(1) per event, never blocks. */
#ifndef OVS_TELEMETRY_H
#define OVS_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

struct telemetry;                       /* srv->telemetry, made in main.c */
struct telemetry *telemetry_new(void);
void telemetry_free(struct telemetry *t);

/* One XML-RPC call ended (rpc.c, where the reply is sent): method as
 * called (unknown names count under "(unknown)"), fault 0 for success,
 * else its code; usec from request parsed to reply queued. The name is
 * found through a hash built once from the method table. t may be NULL. */
void telemetry_call(struct telemetry *t, const char *method, int fault, int64_t usec);
/* The same, for a caller that already holds the method's row: index is
 * its position in method_table (rpc.c: m - method_table); any index past
 * the table counts under "(unknown)". */
void telemetry_call_at(struct telemetry *t, size_t index, int fault, int64_t usec);
/* A failed login (auth.c): the peer's address text, its family (AF_INET,
 * AF_INET6), the user tried ("" when none was given). t may be NULL. */
void telemetry_auth_failure(struct telemetry *t, const char *addr, int family,
			    const char *user, int64_t now_unix);

#define TM_BUCKETS 12   /* latency upper bounds in seconds:
			 * .001 .0025 .005 .01 .025 .05 .1 .25 .5 1 2.5 5, then +Inf */
extern const double telemetry_bucket_le[TM_BUCKETS];

struct tm_method {
	const char *name;               /* the method table's own string, or "(unknown)" */
	uint64_t calls, faults;         /* faults <= calls */
	uint64_t bucket[TM_BUCKETS + 1];/* NOT cumulative; [TM_BUCKETS] is +Inf */
	double sum_seconds;
};
/* Calls per method (the table's methods, in table order, then "(unknown)"). */
size_t telemetry_methods(const struct telemetry *t, const struct tm_method **out);

struct tm_fault { int code; uint64_t count; };
/* Faults per code, ascending by code (at most 64 distinct codes kept; more
 * count under code 0 "other"). */
size_t telemetry_faults(const struct telemetry *t, const struct tm_fault **out);

/* Latency over all calls: p50 and p99 estimated from the buckets (upper
 * bound of the bucket holding the quantile), in ms; 0 when no call yet.
 * A quantile in the +Inf bucket is the longest call seen. */
void telemetry_quantiles(const struct telemetry *t, double *p50_ms, double *p99_ms);

struct tm_login { char addr[46]; char user[65]; uint32_t count; int64_t last_unix; };
/* Failed logins in the last hour per (address, user), newest first, at
 * most 256 pairs kept (the oldest pair dropped when full). The hour is
 * counted in 5-minute steps: a failure leaves the count between 55 and
 * 60 minutes after it. */
size_t telemetry_failed_logins(const struct telemetry *t, int64_t now_unix,
			       struct tm_login *out, size_t max);

struct tm_authfail { const char *family; const char *user; uint64_t count; };
/* Since start, per (family "ipv4"|"ipv6", user), for the metrics
 * (at most 256 users kept; more count under user "(other)"). */
size_t telemetry_auth_failures(const struct telemetry *t, const struct tm_authfail **out);

#endif
