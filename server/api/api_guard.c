/* api_guard.c: the HTTP API's connection limits beyond libmicrohttpd's own (which caps
 * connections in total and per client address, and closes a connection idle for a while):
 * a whole-request deadline, and a reserve of connections for new clients.
 *
 * MHD's timeout is an idle timeout: any byte restarts it, so a client that sends one
 * header byte every few seconds holds its connection (and its thread) for ever. The guard
 * tracks every connection (MHD_OPTION_NOTIFY_CONNECTION) with the time its current request
 * began (when the connection opened, or when the previous response was done), and its
 * thread shuts down the socket of any connection whose request has not fully arrived
 * within api.request_timeout_ms; MHD then sees the end of the stream and closes it.
 *
 * The reserve: once more than three quarters of api.max_connections are open, each new
 * connection makes the guard shut down the connection that has waited longest for its
 * request, so that slow clients spread over many addresses cannot fill every slot before
 * the deadline frees them. A connection whose request is complete (being answered) is
 * never closed by the guard.
 *
 * The guard shuts sockets down under its lock, and MHD reports a connection closed (which
 * takes the lock) before it closes the socket: the guard never touches a descriptor that
 * may have been reused. */
#include "server/api/api_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/log.h"

/* One open connection: MHD's socket_context. */
struct api_conn {
    struct api_guard *g;
    struct api_conn *prev, *next; /* g->head list */
    int fd;
    uint64_t since_ms; /* monotonic ms when the request now awaited began */
    bool answering;    /* the whole request is in: no deadline until its response is done */
    bool shut;         /* the guard shut the socket down; MHD closes it next */
    char who[64];      /* client address, for logs */
};

bool api_guard_log_ok(struct api_guard *g, unsigned *held_back)
{
    *held_back = 0;
    if (!g->running)
        return true;
    uint64_t s = api_mono_ms() / 1000;
    bool ok;
    pthread_mutex_lock(&g->lock);
    if (s != g->mhd_log_s) {
        g->mhd_log_s = s;
        g->mhd_log_n = 0;
    }
    ok = g->mhd_log_n < API_MHD_LOG_PER_S;
    if (ok) {
        g->mhd_log_n++;
        *held_back = g->mhd_log_held;
        g->mhd_log_held = 0;
    } else {
        g->mhd_log_held++;
    }
    pthread_mutex_unlock(&g->lock);
    return ok;
}

/* How often the deadline is checked: fine enough for a deadline of half a second. */
static uint64_t sweep_ms(const struct api_guard *g)
{
    uint64_t ms = g->timeout_ms / 4;
    return ms < 100 ? 100 : ms > 250 ? 250 : ms;
}

/* Shut c's socket down (under g->lock): MHD reads the end of the stream and closes it. */
static void shut(struct api_conn *c)
{
    c->shut = true;
    shutdown(c->fd, SHUT_RDWR);
}

/* Log what was closed since the last line, at most once a second (under g->lock). */
static void log_closed(struct api_guard *g, uint64_t now)
{
    if (now - g->logged_ms < 1000 || (g->late_unlogged == 0 && g->pushed_unlogged == 0))
        return;
    g->logged_ms = now;
    if (g->late_unlogged > 0)
        log_info("api: closed %u connection(s) that sent no whole request within %u ms "
                 "(the last from %s)",
                 g->late_unlogged, (unsigned)g->timeout_ms, g->late_who);
    if (g->pushed_unlogged > 0)
        log_info("api: closed %u connection(s) waiting for a request to keep room for new "
                 "clients: %u of %u open (the last from %s)",
                 g->pushed_unlogged, g->n, g->max, g->pushed_who);
    g->late_unlogged = g->pushed_unlogged = 0;
}

static void sweep(struct api_guard *g, uint64_t now)
{
    for (struct api_conn *c = g->head; c != NULL; c = c->next) {
        if (c->answering || c->shut || now - c->since_ms < g->timeout_ms)
            continue;
        shut(c);
        g->timed_out++;
        g->late_unlogged++;
        snprintf(g->late_who, sizeof(g->late_who), "%s", c->who);
    }
    log_closed(g, now);
}

static void *guard_main(void *arg)
{
    struct api_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stop) {
        sweep(g, api_mono_ms());
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + sweep_ms(g) * 1000000u;
        until.tv_sec += (time_t)(ns / 1000000000u);
        until.tv_nsec = (long)(ns % 1000000000u);
        while (!g->stop && pthread_cond_timedwait(&g->wake, &g->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

int api_guard_start(struct api_guard *g, const struct conf_api *ca)
{
    memset(g, 0, sizeof(*g));
    g->max = ca->max_connections;
    g->per_source = ca->max_per_source;
    g->keep = ca->max_connections - ca->max_connections / 4;
    g->timeout_ms = ca->request_timeout_ms;
    int rc = api_thread_start(&g->thread, &g->lock, &g->wake, guard_main, g);
    g->running = rc == 0;
    return rc;
}

void api_guard_stop(struct api_guard *g)
{
    if (!g->running)
        return;
    pthread_mutex_lock(&g->lock);
    g->stop = true;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->thread, NULL);
    /* MHD_stop_daemon reported every connection closed: the list is empty */
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->wake);
    g->running = false;
}

/* A new connection: track it, and keep the reserve free by closing the connection that
 * has waited longest for its request. */
static void conn_started(struct api_guard *g, struct MHD_Connection *mc, void **socket_context)
{
    struct api_conn *c = calloc(1, sizeof(*c));
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (c == NULL || ci == NULL) { /* untracked: MHD's own limits still hold it */
        free(c);
        return;
    }
    c->g = g;
    c->fd = ci->connect_fd;
    c->since_ms = api_mono_ms();
    api_client_text(mc, c->who, sizeof(c->who));
    pthread_mutex_lock(&g->lock);
    c->next = g->head;
    if (g->head != NULL)
        g->head->prev = c;
    g->head = c;
    g->n++;
    unsigned open = 0;
    for (struct api_conn *o = g->head; o != NULL; o = o->next)
        open += !o->shut;
    if (open > g->keep) {
        /* the list runs newest first: among equal times the later one opened first */
        struct api_conn *oldest = NULL;
        for (struct api_conn *o = c->next; o != NULL; o = o->next)
            if (!o->answering && !o->shut && (oldest == NULL || o->since_ms <= oldest->since_ms))
                oldest = o;
        if (oldest != NULL) {
            shut(oldest);
            g->pushed_out++;
            g->pushed_unlogged++;
            snprintf(g->pushed_who, sizeof(g->pushed_who), "%s", oldest->who);
        }
    }
    log_closed(g, c->since_ms);
    pthread_mutex_unlock(&g->lock);
    *socket_context = c;
}

static void conn_closed(struct api_conn *c)
{
    struct api_guard *g = c->g;
    pthread_mutex_lock(&g->lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    g->n--;
    pthread_mutex_unlock(&g->lock);
    free(c);
}

void api_guard_notify(void *cls, struct MHD_Connection *mc, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe)
{
    struct api *a = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        conn_started(&a->guard, mc, socket_context);
    else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL)
        conn_closed(*socket_context);
}

static struct api_conn *conn_of(struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

void api_guard_request_in(struct MHD_Connection *mc)
{
    struct api_conn *c = conn_of(mc);
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->g->lock);
    c->answering = true;
    pthread_mutex_unlock(&c->g->lock);
}

void api_guard_request_done(struct MHD_Connection *mc)
{
    struct api_conn *c = conn_of(mc);
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->g->lock);
    c->answering = false;
    c->since_ms = api_mono_ms(); /* the next request's clock (keep-alive) */
    pthread_mutex_unlock(&c->g->lock);
}
