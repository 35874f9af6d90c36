/* log.c - leveled log lines to a file, stderr and optionally syslog. */
#include "agent/base/log.h"
#include "agent/base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static int log_level = LOG_INFO;
static bool log_syslog;
static char *log_path;
static time_t stamp_sec = -1;
static char stamp_text[32];

/* With batching on (the daemon), info and debug lines gather here and go
 * out in one write per loop turn (log_flush() before the loop sleeps): a
 * write per line cost a third of the echo throughput at log_level=info.
 * Warnings and errors still go out at once (after what is pending), so
 * the lines before a crash are not lost. */
#define BATCH_MAX 65536
static bool batching;
static char batch[BATCH_MAX];
static size_t batch_len;

static const char *level_name(int level)
{
	switch (level) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "ERROR";
	case LOG_WARNING: return "WARNING";
	case LOG_NOTICE: case LOG_INFO: return "INFO";
	default: return "DEBUG";
	}
}

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(log_fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere else to report a failing log: drop it */
		p += w;
		n -= (size_t)w;
	}
}

void log_flush(void)
{
	int saved = errno;

	if (batch_len)
		write_all(batch, batch_len);
	batch_len = 0;
	errno = saved;
}

void log_set_batch(bool on)
{
	if (!on)
		log_flush();
	batching = on;
}

int log_open(const char *path, int level, bool use_syslog)
{
	int fd = 2;

	if (path && strcmp(path, "-") != 0) {
		fd = open_file(path);
		if (fd < 0)
			return -1;
	}
	log_close();
	log_fd = fd;
	log_path = (path && fd != 2) ? xstrdup(path) : NULL;
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog("ovs-agent", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	return 0;
}

int log_reopen(void)
{
	int fd;

	if (!log_path)
		return 0;
	fd = open_file(log_path);
	if (fd < 0)
		return -1;
	/* dup2 keeps log_fd's number, so nothing holding it goes stale. */
	dup2(fd, log_fd);
	close(fd);
	fd_set_cloexec(log_fd);
	return 0;
}

void log_set_level(int level) { log_level = level; }
int log_get_level(void) { return log_level; }

void log_close(void)
{
	log_flush();
	if (log_fd > 2)
		close(log_fd);
	log_fd = 2;
	free(log_path);
	log_path = NULL;
	if (log_syslog)
		closelog();
	log_syslog = false;
}

void log_write(int level, const char *cat, const char *func, int line,
	       const char *fmt, ...)
{
	char msg[2048], out[2400], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, saved = errno;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line per record: a message never smuggles a newline into the log. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Formatting the time is most of a log line's cost: once a second. */
	if (ts.tv_sec != stamp_sec) {
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp_text, sizeof(stamp_text), "%Y-%m-%d %H:%M:%S", &tm);
		stamp_sec = ts.tv_sec;
	}
	memcpy(stamp, stamp_text, sizeof(stamp));
	if (level >= LOG_DEBUG)
		n = snprintf(out, sizeof(out), "%s.%03ld %s [%s] %s:%d %s\n", stamp,
			     ts.tv_nsec / 1000000, level_name(level), cat, func, line, msg);
	else
		n = snprintf(out, sizeof(out), "%s.%03ld %s [%s] %s\n", stamp,
			     ts.tv_nsec / 1000000, level_name(level), cat, msg);
	if (n > (int)sizeof(out) - 1)
		n = sizeof(out) - 1;
	if (batching && level > LOG_WARNING) {
		if (batch_len + (size_t)n > sizeof(batch))
			log_flush();
		memcpy(batch + batch_len, out, (size_t)n);
		batch_len += (size_t)n;
	} else {
		log_flush(); /* keep the order of the lines */
		write_all(out, (size_t)n);
	}
	if (log_syslog)
		syslog(level, "[%s] %s", cat, msg);
	errno = saved;
}
