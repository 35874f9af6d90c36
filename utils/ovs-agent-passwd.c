/* ovs-agent-passwd - set a user's password in the agent's password file.
 *
 *   ovs-agent-passwd [--config PATH] USER
 *
 * The password file is the one agent.ini names (password_file=). The new
 * password comes from the first line of standard input when that is not a
 * terminal (for scripts and `service ovs-agent configure`), otherwise it is
 * asked for twice with echo off. Exit 0 done, 1 error, 2 usage. */
#include "agent/server/passwd.h"
#include "agent/base/util.h"
#include "utils/tool.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PROG "ovs-agent-passwd"
/* Room for any acceptable password plus a margin, so that a slightly
 * long one gets passwd_set's precise message rather than ours. */
#define LINE_MAX_BYTES 4096

enum line_result { LINE_OK, LINE_EOF, LINE_ERROR, LINE_TOO_LONG, LINE_NUL };

/* Terminal state to put back if a signal arrives while echo is off. */
static struct termios saved_tio;
static volatile sig_atomic_t echo_is_off;

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--config PATH] USER\n"
		"Set USER's password in the agent's password file (password_file= in\n"
		"the config, default config " TOOL_DEFAULT_CONFIG ", or $OVS_AGENT_CONFIG).\n"
		"The password is read from the first line of standard input, or asked\n"
		"for twice when standard input is a terminal.\n");
}

/* Read one line from fd byte by byte: no stdio buffer keeps a copy of the
 * password, and nothing past the newline is consumed. The \n (and a \r
 * before it) is stripped. */
static enum line_result read_line(int fd, char *line, size_t size)
{
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return LINE_ERROR;
		if (r == 0) {
			if (n == 0)
				return LINE_EOF;
			break;
		}
		if (c == '\n')
			break;
		if (c == '\0')
			return LINE_NUL;
		if (n + 1 >= size)
			return LINE_TOO_LONG;
		line[n++] = c;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return LINE_OK;
}

static int report_line(enum line_result r)
{
	switch (r) {
	case LINE_OK:
		return 0;
	case LINE_EOF:
		fprintf(stderr, PROG ": no password given on standard input\n");
		break;
	case LINE_ERROR:
		fprintf(stderr, PROG ": cannot read the password: %s\n", strerror(errno));
		break;
	case LINE_TOO_LONG:
		fprintf(stderr, PROG ": the password is longer than "
			PASSWD_MAX_LEN_STR " bytes\n");
		break;
	case LINE_NUL:
		fprintf(stderr, PROG ": the password contains a NUL byte\n");
		break;
	}
	return -1;
}

static void restore_echo(void)
{
	if (echo_is_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		echo_is_off = 0;
	}
}

/* Only async-signal-safe calls: put the terminal back, end the prompt's
 * line, then die of the same signal so the parent sees why. */
static void on_signal(int sig)
{
	if (echo_is_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		echo_is_off = 0;
		if (write(STDERR_FILENO, "\n", 1) < 0) {
			/* nothing more to do */
		}
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static const int caught_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void catch_signals(struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(caught_signals); i++)
		sigaction(caught_signals[i], &sa, &old[i]);
}

static void release_signals(const struct sigaction *old)
{
	for (size_t i = 0; i < ARRAY_SIZE(caught_signals); i++)
		sigaction(caught_signals[i], &old[i], NULL);
}

/* Prompt on stderr and read a line from the terminal with echo off. */
static int prompt_hidden(const char *prompt, char *line, size_t size)
{
	struct termios tio;
	enum line_result r;

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0) {
		fprintf(stderr, PROG ": cannot read terminal settings: %s\n", strerror(errno));
		return -1;
	}
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	tio.c_lflag |= ECHONL; /* the user still sees the Enter */
	fputs(prompt, stderr);
	fflush(stderr);
	echo_is_off = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) < 0) {
		echo_is_off = 0;
		fprintf(stderr, "\n" PROG ": cannot turn echo off: %s\n", strerror(errno));
		return -1;
	}
	r = read_line(STDIN_FILENO, line, size);
	restore_echo();
	if (r == LINE_EOF)
		fputc('\n', stderr);
	return report_line(r);
}

static int ask_twice(char *pw, char *again, size_t size)
{
	struct sigaction old[ARRAY_SIZE(caught_signals)];
	int ret = -1;

	catch_signals(old);
	if (prompt_hidden("New password: ", pw, size) < 0 ||
	    prompt_hidden("Retype new password: ", again, size) < 0)
		goto out;
	if (strcmp(pw, again) != 0) {
		fprintf(stderr, PROG ": the passwords do not match; nothing changed\n");
		goto out;
	}
	ret = 0;
out:
	restore_echo();
	release_signals(old);
	return ret;
}

static int get_password(char *pw, char *again, size_t size, bool tty)
{
	if (tty)
		return ask_twice(pw, again, size);
	return report_line(read_line(STDIN_FILENO, pw, size));
}

/* Returns 0 with *user set, 1 for --help, -1 on a usage error. */
static int parse_args(struct tool *t, int argc, char **argv, const char **user)
{
	int first, r;

	if ((r = tool_options(t, argc, argv, NULL, &first)) != 0)
		return r;
	if (argc - first != 1)
		return -1;
	*user = argv[first];
	return 0;
}

int main(int argc, char **argv)
{
	struct tool t = { .prog = PROG };
	const char *user = NULL;
	char *pw = xcalloc(1, LINE_MAX_BYTES), *again = xcalloc(1, LINE_MAX_BYTES);
	char err[512];
	bool tty;
	int ret = 1, r;

	r = parse_args(&t, argc, argv, &user);
	if (r != 0) {
		ret = tool_usage_exit(r, usage);
		goto out;
	}
	/* Check what can be checked before the user types a password twice. */
	if (!passwd_valid_user(user)) {
		fprintf(stderr, PROG ": invalid user name \"%s\": use 1-64 characters "
			"from A-Z a-z 0-9 . _ -\n", user);
		goto out;
	}
	if (tool_load_config(&t) != 0)
		goto out;
	tty = isatty(STDIN_FILENO);
	if (get_password(pw, again, LINE_MAX_BYTES, tty) < 0)
		goto out;
	if (passwd_set(t.cfg.password_file, user, pw, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}
	if (tty)
		fprintf(stderr, PROG ": password for %s updated in %s\n", user,
			t.cfg.password_file);
	ret = 0;
out:
	explicit_bzero(pw, LINE_MAX_BYTES);
	explicit_bzero(again, LINE_MAX_BYTES);
	free(pw);
	free(again);
	tool_close(&t);
	return ret;
}
