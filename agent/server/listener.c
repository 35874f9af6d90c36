/* listener.c - listening sockets and the accept loop with its limits. */
#define LOG_CAT "listen"
#include "agent/server/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/server/conn.h"
#include "agent/base/log.h"
#include "agent/server/server.h"
#include "agent/base/util.h"

#define BACKLOG 4096
#define REJECT_MAX 64        /* connections turned away with 503 at once */
#define ACCEPT_BATCH 64      /* accepts per wake-up, so others get a turn */

struct listener {
	struct server *srv;
	struct listener *next;
	struct io io;
	int fd;
	int port;
};

/* A spare fd lets us accept-and-close when out of descriptors instead of
 * spinning on a listening socket that stays readable. */
static int spare_fd = -1;

static void accept_one_and_drop(int lfd)
{
	if (spare_fd >= 0) {
		close(spare_fd);
		spare_fd = -1;
	}
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept(struct io *io, uint32_t events)
{
	struct listener *l = io->data;
	struct server *srv = l->srv;
	const struct agent_config *cfg = &srv->cfg;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		bool reject;
		int one = 1;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				log_warn("out of file descriptors (%d connections); dropping a client",
					 srv->nconns);
				accept_one_and_drop(l->fd);
			} else if (errno != EAGAIN) {
				log_err("accept: %s", strerror(errno));
			}
			return;
		}
		reject = srv->nconns >= cfg->max_connections ||
			 srv->nunauth >= cfg->max_unauth_connections;
		if (reject && srv->nreject >= REJECT_MAX) {
			/* Past the limit and the reject pool: no answer at all. */
			close(fd);
			continue;
		}
		if (reject)
			log_warn("connection limit reached (%d connections, %d unauthenticated); "
				 "answering 503", srv->nconns, srv->nunauth);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		conn_accept(srv, fd, (struct sockaddr *)&ss, len, reject);
	}
}

static int open_one(struct server *srv, int family, const void *addr, int port, bool dual,
		    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct listener *l;
	socklen_t len;
	int fd, one = 1, zero = 0;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, addr, 4);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, addr, 16);
		len = sizeof(*s6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? &zero : &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, BACKLOG) < 0) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(family, addr, a, sizeof(a));
		snprintf(err, errlen, "cannot listen on %s%s%s:%d: %s", family == AF_INET6 ? "[" : "",
			 a, family == AF_INET6 ? "]" : "", port, strerror(errno));
		close(fd);
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					       : ((struct sockaddr_in6 *)&ss)->sin6_port);
	l = xcalloc(1, sizeof(*l));
	l->srv = srv;
	l->fd = fd;
	l->port = port;
	if (io_add(srv->loop, &l->io, fd, EPOLLIN, on_accept, l) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		close(fd);
		free(l);
		return -1;
	}
	l->next = srv->listeners;
	srv->listeners = l;
	return 0;
}

int listeners_open(struct server *srv, const char *listen_spec, int port, char *err, size_t errlen)
{
	char *copy = xstrdup(listen_spec), *save = NULL, *item;
	int rc = 0;

	if (spare_fd < 0)
		spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (item = strtok_r(copy, ",", &save); item && rc == 0; item = strtok_r(NULL, ",", &save)) {
		unsigned char a[16];
		while (*item == ' ' || *item == '\t')
			item++;
		for (char *e = item + strlen(item); e > item && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		if (!*item)
			continue;
		if (strcmp(item, "*") == 0) {
			/* One dual-stack socket serves IPv4 and IPv6; without IPv6
			 * on the host, fall back to IPv4 only. */
			rc = open_one(srv, AF_INET6, &in6addr_any, port, true, err, errlen);
			if (rc != 0) {
				struct in_addr any = { htonl(INADDR_ANY) };
				rc = open_one(srv, AF_INET, &any, port, false, err, errlen);
			}
		} else if (inet_pton(AF_INET, item, a) == 1) {
			rc = open_one(srv, AF_INET, a, port, false, err, errlen);
		} else if (inet_pton(AF_INET6, item, a) == 1) {
			rc = open_one(srv, AF_INET6, a, port, false, err, errlen);
		} else {
			snprintf(err, errlen, "listen: '%s' is not an IP address", item);
			rc = -1;
		}
	}
	free(copy);
	if (rc == 0 && !srv->listeners) {
		snprintf(err, errlen, "listen: no address to listen on");
		rc = -1;
	}
	if (rc != 0)
		listeners_close(srv);
	return rc;
}

void listeners_close(struct server *srv)
{
	while (srv->listeners) {
		struct listener *l = srv->listeners;
		srv->listeners = l->next;
		io_del(srv->loop, &l->io);
		close(l->fd);
		/* Its accept event may still be queued in this loop turn (SIGTERM
		 * and a new client in one batch): free it after the turn. */
		loop_defer(srv->loop, free, l);
	}
}

int listeners_port(const struct server *srv)
{
	return srv->listeners ? srv->listeners->port : -1;
}
