/* notify.h: telling the service manager and `gslbd --reload-wait` what the daemon is doing.
 * systemd's notification protocol (sd_notify(3): one datagram of "KEY=VALUE" lines to the
 * AF_UNIX socket named by $NOTIFY_SOCKET) without libsystemd, and the reload outcome file
 * ($RUNTIME_DIRECTORY/reload-status) that the reload waiter reads. Every call is a no-op
 * when the variable is unset. Control thread and main() only; never the query path. */
#ifndef GSLBD_NOTIFY_H
#define GSLBD_NOTIFY_H

#include <stdint.h>

struct gslb;
struct view;

/* Send one message ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET. Returns 0 (also when there is
 * no socket) or a negative errno. */
int notify_send(const char *msg);

/* DNS is answered now: READY=1 with a STATUS= summary of v; records the start as the first
 * successful load and publishes the reload-status file (sequence 0). */
void notify_ready(const struct view *v);

/* A reload starts: RELOADING=1 and MONOTONIC_USEC=now. */
void notify_reloading(void);

/* A reload ended (rc 0, or negative with msg): READY=1 and STATUS= (the summary of the view
 * serving now, or why the reload was rejected); the reload-status file gets the outcome. */
void notify_reload_done(int rc, const char *msg, const struct view *v);

/* A health change (control thread): STATUS= the summary with the clusters up now. */
void notify_health(const struct gslb *g);

/* Shutdown begins: STOPPING=1. */
void notify_stopping(void);

/* Wall-clock time (ms since the epoch) of the last successful load (start or reload);
 * 0 before the first. Any thread. */
int64_t notify_last_success_ms(void);

/* `gslbd --reload-wait PID`: send SIGHUP to PID, wait for its reload outcome in the
 * reload-status file and print it. Returns the exit status (0 reloaded, 1 rejected or no
 * answer). */
int notify_reload_wait(const char *pid_text);

#endif
