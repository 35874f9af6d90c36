/* listener.h - the listening sockets (IPv4 and IPv6) and accept(). */
#ifndef OVS_LISTENER_H
#define OVS_LISTENER_H

#include <stddef.h>

struct server;

/* Bind every address of `listen` ("*" = all, dual stack where the host has
 * IPv6) on port and start accepting. Returns 0 or -1 with err. */
int listeners_open(struct server *srv, const char *listen, int port, char *err, size_t errlen);
/* Stop accepting and close the sockets. */
void listeners_close(struct server *srv);
/* The port actually bound by the first listener (useful with port 0). */
int listeners_port(const struct server *srv);

#endif
