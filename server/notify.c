/* notify.c: readiness, reload and stop notifications for systemd (the sd_notify datagram
 * protocol, no libsystemd), and the reload outcome file that `gslbd --reload-wait` reads so
 * that `systemctl reload` fails when gslbd rejects the new configuration. */
#include "server/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server/log.h"
#include "server/view.h"

static _Atomic int64_t g_last_success_ms;
static _Atomic size_t g_nzones, g_nservices; /* of the view serving now */
static unsigned long g_seq;                  /* reloads finished; control thread only */

static int64_t now_ms(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int notify_send(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0')
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
        return -EINVAL;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    ssize_t w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    int rc = w < 0 ? -errno : 0;
    close(fd);
    if (rc < 0)
        log_warn("notify %s: %s", path, gslbd_strerror(rc));
    return rc;
}

/* One line for `systemctl status`: what is served and how many clusters may answer. */
static void summary_of(size_t nzones, const struct gslb *g, char *buf, size_t len)
{
    size_t up = 0;
    for (size_t ci = 0; ci < g->nclusters; ci++)
        up += gslb_cluster_up(g, (uint32_t)ci) ? 1 : 0;
    snprintf(buf, len, "serving %zu zone(s), %zu service(s); %zu of %zu cluster(s) up", nzones,
             g->nservices, up, g->nclusters);
}

static void summary(const struct view *v, char *buf, size_t len)
{
    g_nzones = v->nzones;
    g_nservices = v->gslb->nservices;
    summary_of(v->nzones, v->gslb, buf, len);
}

void notify_health(const struct gslb *g)
{
    char s[256], msg[300];
    if (getenv("NOTIFY_SOCKET") == NULL || g->nservices != g_nservices)
        return; /* not under systemd, or a reload's new view before it serves */
    summary_of(g_nzones, g, s, sizeof(s));
    snprintf(msg, sizeof(msg), "STATUS=%s", s);
    notify_send(msg);
}

/* The first directory of $RUNTIME_DIRECTORY (systemd's RuntimeDirectory=), or NULL. */
static int status_path(char *buf, size_t len)
{
    const char *dir = getenv("RUNTIME_DIRECTORY");
    if (dir == NULL || dir[0] == '\0')
        return -ENOENT;
    size_t n = strcspn(dir, ":");
    int w = snprintf(buf, len, "%.*s/reload-status", (int)n, dir);
    return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

/* "SEQ RC MESSAGE\n", replaced atomically (temp file + rename). */
static void write_status(unsigned long seq, int rc, const char *msg)
{
    char path[4096], tmp[4200];
    if (status_path(path, sizeof(path)) < 0)
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        log_warn("%s: %s", tmp, strerror(errno));
        return;
    }
    fprintf(f, "%lu %d %s\n", seq, rc, msg);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        log_warn("%s: %s", path, strerror(errno));
        unlink(tmp);
    }
}

void notify_ready(const struct view *v)
{
    char s[256], msg[320];
    atomic_store(&g_last_success_ms, now_ms(CLOCK_REALTIME));
    summary(v, s, sizeof(s));
    write_status(g_seq, 0, "started");
    snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", s);
    notify_send(msg);
}

void notify_reloading(void)
{
    char msg[96];
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=reloading",
             (long long)now_ms(CLOCK_MONOTONIC) * 1000);
    notify_send(msg);
}

void notify_reload_done(int rc, const char *msg, const struct view *v)
{
    char s[1200], out[1300];
    if (rc == 0) {
        atomic_store(&g_last_success_ms, now_ms(CLOCK_REALTIME));
        summary(v, s, sizeof(s));
    } else {
        /* one line: the error text may hold none, but be sure */
        snprintf(s, sizeof(s), "reload rejected, serving the previous data: %s", msg);
        s[strcspn(s, "\n")] = '\0';
    }
    write_status(++g_seq, rc, rc == 0 ? "reload complete" : s);
    snprintf(out, sizeof(out), "READY=1\nSTATUS=%s", s);
    notify_send(out);
}

void notify_stopping(void)
{
    notify_send("STOPPING=1\nSTATUS=stopping");
}

int64_t notify_last_success_ms(void)
{
    return atomic_load(&g_last_success_ms);
}

/* The sequence number and the rest of the status file; -errno when unreadable. */
static int read_status(const char *path, unsigned long *seq, int *rc, char *msg, size_t len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -errno;
    char line[1400];
    int ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    int off = 0;
    if (!ok || sscanf(line, "%lu %d %n", seq, rc, &off) != 2 || off == 0)
        return -EBADMSG;
    line[strcspn(line, "\n")] = '\0';
    snprintf(msg, len, "%s", line + off);
    return 0;
}

int notify_reload_wait(const char *pid_text)
{
    char path[4096], msg[1400];
    char *end;
    long pid = strtol(pid_text, &end, 10);
    if (*end != '\0' || pid <= 1) {
        fprintf(stderr, "gslbd: --reload-wait wants the daemon's PID, got '%s'\n", pid_text);
        return 1;
    }
    if (status_path(path, sizeof(path)) < 0) {
        fprintf(stderr, "gslbd: --reload-wait needs RUNTIME_DIRECTORY (RuntimeDirectory= in "
                        "the unit)\n");
        return 1;
    }
    unsigned long seq0, seq;
    int rc;
    int r = read_status(path, &seq0, &rc, msg, sizeof(msg));
    if (r < 0) {
        fprintf(stderr, "gslbd: %s: %s (is gslbd %ld running with this RUNTIME_DIRECTORY?)\n", path,
                gslbd_strerror(r), pid);
        return 1;
    }
    if (kill((pid_t)pid, SIGHUP) != 0) {
        fprintf(stderr, "gslbd: cannot signal %ld: %s\n", pid, strerror(errno));
        return 1;
    }
    /* a reload builds everything anew (zones, GeoIP): allow a few minutes */
    const char *t = getenv("GSLBD_RELOAD_WAIT_S");
    long limit_ms = (t != NULL && atol(t) > 0 ? atol(t) : 300) * 1000L;
    for (long waited = 0; waited < limit_ms; waited += 20) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
        if (read_status(path, &seq, &rc, msg, sizeof(msg)) == 0 && seq != seq0) {
            if (rc == 0) {
                printf("gslbd: %s\n", msg);
                return 0;
            }
            fprintf(stderr, "gslbd: %s\n", msg);
            return 1;
        }
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            fprintf(stderr, "gslbd: process %ld exited during the reload\n", pid);
            return 1;
        }
    }
    fprintf(stderr, "gslbd: no reload outcome from %ld after %ld s\n", pid, limit_ms / 1000);
    return 1;
}
