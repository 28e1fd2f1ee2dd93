/* sock.c: the listening sockets' common set-up and the transport threads' common start. */
#include "server/net/sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sock_set_int(int fd, int level, int name, int val)
{
    return setsockopt(fd, level, name, &val, sizeof(val)) == 0 ? 0 : -errno;
}

int sock_fail(int s, const struct conf_listen *l, const char *opt, int r, struct err *e)
{
    close(s);
    return err_set(e, r, NULL, 0, 0, "listen %s: setsockopt %s: %s", l->text, opt,
                   gslbd_strerror(r));
}

int sock_open(const struct conf_listen *l, int type, int *fd, struct err *e)
{
    int fam = l->addr.ss_family;
    bool stream = (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM;
    int s = socket(fam, type | SOCK_CLOEXEC, 0);
    if (s < 0)
        return err_set(e, -errno, NULL, 0, 0, "listen %s: %s socket: %s", l->text,
                       stream ? "tcp" : "udp", strerror(errno));
    int r;
    if (stream && (r = sock_set_int(s, SOL_SOCKET, SO_REUSEADDR, 1)) < 0)
        return sock_fail(s, l, "SO_REUSEADDR", r, e);
    if ((r = sock_set_int(s, SOL_SOCKET, SO_REUSEPORT, 1)) < 0)
        return sock_fail(s, l, "SO_REUSEPORT", r, e);
    if (fam == AF_INET6 && (r = sock_set_int(s, IPPROTO_IPV6, IPV6_V6ONLY, 1)) < 0)
        return sock_fail(s, l, "IPV6_V6ONLY", r, e);
    *fd = s;
    return 0;
}

int sock_bind(int s, const struct conf_listen *l, struct err *e)
{
    if (bind(s, (const struct sockaddr *)&l->addr, l->addrlen) == 0)
        return 0;
    int r = -errno;
    close(s);
    return err_set(e, r, NULL, 0, 0, "listen %s: %s", l->text, gslbd_strerror(r));
}

void sock_thread_begin(char kind, unsigned n)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    char name[16];
    snprintf(name, sizeof(name), "gslbd-%c%u", kind, n);
    pthread_setname_np(pthread_self(), name);
}
