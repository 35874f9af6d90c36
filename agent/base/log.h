/* log.h - the agent's log: levels, a file, optionally syslog.
 *
 * Levels are syslog's (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG). Each line
 * is "YYYY-mm-dd HH:MM:SS LEVEL [category] message"; debug lines also carry
 * function:line. log_reopen() is called on SIGHUP so logrotate can move the
 * file away. Before log_open() (and in the tools) lines go to stderr. */
#ifndef OVS_LOG_H
#define OVS_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Open path (append, 0640, close-on-exec); NULL or "-" means stderr.
 * Returns 0 or -1 with errno. */
int log_open(const char *path, int level, bool use_syslog);
int log_reopen(void);
void log_set_level(int level);
int log_get_level(void);
void log_close(void);

/* Batching (the daemon turns it on): info and debug lines are kept in a
 * buffer until log_flush(), which the loop calls before it sleeps, so a
 * loop turn costs one write however many lines it logged. */
void log_set_batch(bool on);
void log_flush(void);

void log_write(int level, const char *cat, const char *func, int line,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Each .c file defines LOG_CAT before including this header, e.g.
 * #define LOG_CAT "http". */
#ifndef LOG_CAT
#define LOG_CAT "agent"
#endif
#define log_err(...)   log_write(LOG_ERR, LOG_CAT, __func__, __LINE__, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_WARNING, LOG_CAT, __func__, __LINE__, __VA_ARGS__)
#define log_info(...)  log_write(LOG_INFO, LOG_CAT, __func__, __LINE__, __VA_ARGS__)
#define log_debug(...) do { if (log_get_level() >= LOG_DEBUG) \
	log_write(LOG_DEBUG, LOG_CAT, __func__, __LINE__, __VA_ARGS__); } while (0)

#endif
