/* curl_uv.h: libcurl's multi interface driven by a libuv loop: one uv_poll for each socket
 * curl opens, one uv_timer for curl's timeouts. The HTTP probes (hc_http.c) and the etcd
 * client (server/etcd.c) each run their transfers through one or more of these. */
#ifndef GSLBD_CURL_UV_H
#define GSLBD_CURL_UV_H

#include <stdbool.h>

#include <curl/curl.h>
#include <uv.h>

struct curl_uv_poll; /* one per socket curl watches (curl_uv.c) */

struct curl_uv {
    uv_loop_t *loop;
    CURLM *multi;                /* the owner makes and cleans it up */
    uv_timer_t timer;            /* data: this; the owner closes it */
    bool timer_ready;            /* timer initialised (curl may ask for a timer before that) */
    const bool *stopping;        /* the owner's flag: once set, no poll or timer starts */
    struct curl_uv_poll **polls; /* the owner's list of open polls (several multis may share one) */
    void (*progress)(void *arg); /* after curl acted: read the finished transfers */
    void *arg;
};

/* Hand multi's socket and timer callbacks to cu (loop, multi, stopping, polls, progress and
 * arg set). 0, or -1 when curl refused an option. */
int curl_uv_attach(struct curl_uv *cu);

/* Initialise cu's timer on its loop; from then on curl's timeouts run. 0 or a libuv error. */
int curl_uv_timer_init(struct curl_uv *cu);

/* Stop and close every poll on the list *polls, telling each one's multi to forget it; the
 * memory goes once libuv has closed the handle. */
void curl_uv_close_polls(struct curl_uv_poll **polls);

#endif
