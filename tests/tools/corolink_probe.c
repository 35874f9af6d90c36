/* corolink_probe - a corolink in a loop, for tests/e2e/test_corolink.py.
 *
 *   build/tests/corolink_probe [GROUP]      (default group: ovs-pool)
 *
 * Prints one line per event on stdout (line-buffered):
 *   link up|down
 *   view self=<id> members=<id>@<ip>,... left=<id>,... joined=<id>,...
 *        (<ip> from corolink_node_ip, "?" when not in the nodelist, "!"
 *        when corolink_node_id does not map it back to the same id)
 *   quorum 1|0
 *   msg <from> <len> <text>   (the first 200 bytes; bytes outside
 *        printable ASCII as '?')
 *   senderr <why>
 * and multicasts each line read from stdin (without its newline); a line
 * "!big N" multicasts N bytes of 'x' (N up to 2 MiB, to see the limit).
 * Ends at the end of stdin (leaving the group); the link's own log lines
 * go to stderr. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agent/base/log.h"
#include "agent/base/loop.h"
#include "agent/base/util.h"
#include "agent/cluster/corolink.h"

#define LINE_MAX_BYTES (64u << 10)
#define BIG_MAX        (2u << 20)

struct probe {
	struct loop *loop;
	struct corolink *link;
	struct io in;
	char buf[LINE_MAX_BYTES];
	size_t have;
	bool skipping;          /* inside a line longer than the buffer */
};

static void print_ids(const char *name, const uint32_t *ids, size_t n)
{
	printf(" %s=", name);
	for (size_t i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", ids[i]);
}

static void on_view(void *arg, const uint32_t *members, size_t n, const uint32_t *left,
		    size_t nleft, const uint32_t *joined, size_t njoined)
{
	struct probe *p = arg;

	printf("view self=%u members=", corolink_self(p->link));
	for (size_t i = 0; i < n; i++) {
		char ip[46];
		const char *shown = "?";

		if (corolink_node_ip(p->link, members[i], ip) == 1)
			shown = corolink_node_id(p->link, ip) == members[i] ? ip : "!";
		printf("%s%u@%s", i ? "," : "", members[i], shown);
	}
	print_ids("left", left, nleft);
	print_ids("joined", joined, njoined);
	printf("\n");
}

static void on_message(void *arg, uint32_t from, const void *data, size_t len)
{
	const unsigned char *d = data;
	char text[201];
	size_t n = len < 200 ? len : 200;

	for (size_t i = 0; i < n; i++)
		text[i] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : '?';
	text[n] = '\0';
	printf("msg %u %zu %s\n", from, len, text);
}

static void on_quorum(void *arg, bool quorate)
{
	printf("quorum %d\n", quorate ? 1 : 0);
}

static void on_link(void *arg, bool up)
{
	printf("link %s\n", up ? "up" : "down");
}

static const struct corolink_ops probe_ops = {
	.on_view = on_view,
	.on_message = on_message,
	.on_quorum = on_quorum,
	.on_link = on_link,
};

static void send_line(struct probe *p, const char *line, size_t len)
{
	char err[160];
	char *big = NULL;
	int rc;

	if (len > 5 && !memcmp(line, "!big ", 5)) {
		unsigned long n = strtoul(line + 5, NULL, 10);

		if (n > BIG_MAX)
			n = BIG_MAX;
		big = xmalloc(n ? n : 1);
		memset(big, 'x', n);
		rc = corolink_send(p->link, big, n, err, sizeof(err));
	} else {
		rc = corolink_send(p->link, line, len, err, sizeof(err));
	}
	free(big);
	if (rc != 0)
		printf("senderr %s\n", err);
}

static void stdin_ready(struct io *io, uint32_t events)
{
	struct probe *p = io->data;
	ssize_t r = read(io->fd, p->buf + p->have, sizeof(p->buf) - p->have);
	size_t start = 0;

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		io_del(p->loop, io);
		loop_stop(p->loop);
		return;
	}
	p->have += (size_t)r;
	for (size_t i = 0; i < p->have; i++) {
		if (p->buf[i] != '\n')
			continue;
		if (!p->skipping)
			send_line(p, p->buf + start, i - start);
		p->skipping = false;
		start = i + 1;
	}
	memmove(p->buf, p->buf + start, p->have - start);
	p->have -= start;
	if (p->have == sizeof(p->buf)) {        /* a line too long: dropped */
		printf("senderr line longer than %u bytes dropped\n", LINE_MAX_BYTES);
		p->have = 0;
		p->skipping = true;
	}
}

int main(int argc, char **argv)
{
	static struct probe p;
	const char *group = argc > 1 ? argv[1] : "ovs-pool";
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_DEBUG);
	p.loop = loop_new();
	if (!p.loop) {
		fprintf(stderr, "corolink_probe: no loop\n");
		return 1;
	}
	p.link = corolink_new(p.loop, group, &probe_ops, &p);
	if (!p.link) {
		fprintf(stderr, "corolink_probe: bad group name\n");
		loop_free(p.loop);
		return 2;
	}
	p.in.fd = -1;
	if (io_add(p.loop, &p.in, STDIN_FILENO, EPOLLIN, stdin_ready, &p) != 0) {
		fprintf(stderr, "corolink_probe: cannot watch stdin\n");
		corolink_free(p.link);
		loop_free(p.loop);
		return 1;
	}
	rc = loop_run(p.loop);
	io_del(p.loop, &p.in);
	corolink_free(p.link);
	loop_free(p.loop);
	return rc == 0 ? 0 : 1;
}
