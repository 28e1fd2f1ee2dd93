/* api.h: the HTTP API and web dashboard: status JSON, Prometheus metrics, explain, admin
 * states and reloads behind a bearer token, served by libmicrohttpd in its own threads.
 * main() owns the api; it borrows the control loop and the server for its whole life. */
#ifndef GSLBD_API_H
#define GSLBD_API_H

#include <stdint.h>

#include "server/control.h"
#include "server/err.h"
#include "server/server.h"

struct api;

/* What the API reports about the process. */
struct api_info {
    const char *version;      /* borrowed for the api's life */
    uint64_t started_mono_ms; /* CLOCK_MONOTONIC at process start, for uptime */
};

/* Serve the current view's conf->api section (call on the control thread once the workers
 * run). *out is NULL when the API is disabled, or when the default address (nothing
 * written in the config) is taken: that is logged, not fatal. A listen address the
 * operator wrote that cannot be bound is an error (e says why). Caller owns *out. */
int api_start(struct control *ctl, struct server *srv, const struct api_info *info,
              struct api **out, struct err *e);

/* Stop serving: waits for running requests (a reload waiter is released by the control
 * loop's shutdown first), stops the sampler thread, frees a. NULL is a no-op. */
void api_stop(struct api *a);

#endif
