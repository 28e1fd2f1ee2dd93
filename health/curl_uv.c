/* curl_uv.c: curl multi <-> libuv glue (curl_uv.h). */
#include "health/curl_uv.h"

#include <stdlib.h>

struct curl_uv_poll {
    uv_poll_t poll;
    curl_socket_t fd;
    struct curl_uv *cu;
    int events; /* what curl last asked for */
    bool closing;
    struct curl_uv_poll *prev, *next;
};

static void poll_free(uv_handle_t *handle)
{
    free(handle->data); /* the poll; never touches its owner, which may be gone */
}

static void poll_unlink_close(struct curl_uv_poll **polls, struct curl_uv_poll *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        *polls = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->closing = true;
    p->poll.data = p;
    uv_close((uv_handle_t *)&p->poll, poll_free);
}

void curl_uv_close_polls(struct curl_uv_poll **polls)
{
    while (*polls != NULL) {
        struct curl_uv_poll *p = *polls;
        curl_multi_assign(p->cu->multi, p->fd, NULL);
        uv_poll_stop(&p->poll);
        poll_unlink_close(polls, p);
    }
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
    struct curl_uv_poll *p = handle->data;
    struct curl_uv *cu = p->cu;
    int flags = 0;
    if (status < 0) {
        /* libuv reports a socket error (EPOLLERR) as UV_EBADF and stops the poll; let curl
         * try the socket so it reads the real error ("Connection reset by peer") */
        flags = CURL_CSELECT_IN | CURL_CSELECT_OUT;
    } else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    int running = 0;
    /* p may be closed by the socket callback inside; its memory lives until poll_free */
    curl_multi_socket_action(cu->multi, p->fd, flags, &running);
    if (status < 0 && !p->closing && !*cu->stopping)
        uv_poll_start(&p->poll, p->events, on_poll);
    cu->progress(cu->arg);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    struct curl_uv *cu = userp;
    struct curl_uv_poll *p = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (p != NULL) {
            curl_multi_assign(cu->multi, fd, NULL);
            uv_poll_stop(&p->poll);
            poll_unlink_close(cu->polls, p);
        }
        return 0;
    }
    if (*cu->stopping)
        return 0;
    if (p == NULL) {
        p = calloc(1, sizeof(*p));
        if (p == NULL)
            return -1;
        if (uv_poll_init_socket(cu->loop, &p->poll, fd) < 0) {
            free(p);
            return -1;
        }
        p->fd = fd;
        p->cu = cu;
        p->poll.data = p;
        p->next = *cu->polls;
        if (*cu->polls)
            (*cu->polls)->prev = p;
        *cu->polls = p;
        curl_multi_assign(cu->multi, fd, p);
    }
    p->events = 0;
    if (what & CURL_POLL_IN)
        p->events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        p->events |= UV_WRITABLE;
    uv_poll_start(&p->poll, p->events, on_poll);
    return 0;
}

static void on_timeout(uv_timer_t *timer)
{
    struct curl_uv *cu = timer->data;
    int running = 0;
    curl_multi_socket_action(cu->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    cu->progress(cu->arg);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct curl_uv *cu = userp;
    if (*cu->stopping || !cu->timer_ready)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&cu->timer);
    else /* 0 too goes through the loop: no socket_action from inside a curl callback */
        uv_timer_start(&cu->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

int curl_uv_attach(struct curl_uv *cu)
{
    bool ok = curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, on_socket) == CURLM_OK &&
              curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu) == CURLM_OK &&
              curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, on_timer) == CURLM_OK &&
              curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu) == CURLM_OK;
    return ok ? 0 : -1;
}

int curl_uv_timer_init(struct curl_uv *cu)
{
    int r = uv_timer_init(cu->loop, &cu->timer);
    if (r < 0)
        return r;
    cu->timer.data = cu;
    cu->timer_ready = true;
    return 0;
}
