/* sock.h: what udp.c and tcp.c share: a listening socket made and bound, a socket option
 * set, and the start of a transport thread. */
#ifndef GSLBD_SOCK_H
#define GSLBD_SOCK_H

#include "server/conf/conf.h"
#include "server/err.h"

/* setsockopt of an int; 0 or -errno. */
int sock_set_int(int fd, int level, int name, int val);

/* A socket for l of type (SOCK_DGRAM or SOCK_STREAM, with SOCK_ flags) with SO_REUSEPORT
 * (every worker binds the same address), SO_REUSEADDR for a stream, IPV6_V6ONLY for IPv6.
 * 0 with *fd set, or the error reported ("listen TEXT: ...") and nothing left open. */
int sock_open(const struct conf_listen *l, int type, int *fd, struct err *e);

/* Close s, and report that setting option opt failed with r (-errno); returns the error. */
int sock_fail(int s, const struct conf_listen *l, const char *opt, int r, struct err *e);

/* Bind s to l's address; on failure s is closed and the error reported. 0 or the error. */
int sock_bind(int s, const struct conf_listen *l, struct err *e);

/* Start of every transport thread (worker loop 'w', UDP 'u'): block signals (they belong to
 * the control thread) and name it gslbd-KINDn. */
void sock_thread_begin(char kind, unsigned n);

#endif
