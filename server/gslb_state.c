/* gslb_state.c: the admin state file (POL-7): cluster admin states kept across restarts. */
#include "server/gslb.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/log.h"

#define STATE_FILE_MAX (16u << 20) /* far above any real state file */

/* Read the whole file if it is a regular one (never waiting on a FIFO); 1 if absent. */
static int read_state(const char *path, char **buf, size_t *len, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT)
            return 1; /* no state saved yet: every cluster is auto */
        return err_set(e, -err, path, 0, 0, "cannot open: %s", strerror(err));
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = err_set(e, GSLBD_EINVAL, path, 0, 0, "not a regular file");
    else if ((size_t)st.st_size > STATE_FILE_MAX)
        rc = err_set(e, GSLBD_ELIMIT, path, 0, 0, "larger than %u bytes", STATE_FILE_MAX);
    char *b = rc == 0 ? malloc((size_t)st.st_size + 1) : NULL;
    if (rc == 0 && b == NULL)
        rc = err_oom(e, path);
    size_t got = 0;
    while (rc == 0 && got < (size_t)st.st_size) {
        ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = err_set(e, -errno, path, 0, 0, "cannot read: %s", strerror(errno));
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (rc < 0) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = got;
    return 0;
}

/* Parse and check the file's bytes into states[] (one per cluster, auto when not listed). */
static int parse_state(struct gslb *g, const char *path, const char *buf, size_t len,
                       uint8_t *states, struct err *e)
{
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) /* jansson's text may quote the file: say only where */
        return err_set(e, GSLBD_EPARSE, path, je.line, je.column,
                       len == 0 ? "empty file" : "not valid JSON (a torn write?)");
    int rc = 0;
    json_t *clusters = json_object_get(root, "clusters");
    if (!json_is_object(root) || (clusters != NULL && !json_is_object(clusters))) {
        rc = err_set(e, GSLBD_EINVAL, path, 0, 0, "expected {\"clusters\": {NAME: STATE}}");
        goto out;
    }
    const char *name;
    json_t *val;
    json_object_foreach (clusters, name, val) {
        enum gslb_admin a;
        if (!json_is_string(val) || gslb_admin_parse(json_string_value(val), &a) < 0) {
            rc = err_set(e, GSLBD_EINVAL, path, 0, 0,
                         "$.clusters.%s: state must be auto, up, down or drain", name);
            goto out;
        }
        int32_t ci = gslb_find_cluster(g, name);
        if (ci < 0) {
            log_warn("%s: cluster '%s' is not configured; its state is ignored", path, name);
            continue;
        }
        states[ci] = (uint8_t)a;
    }
out:
    json_decref(root);
    return rc;
}

bool gslb_state_author(const char *path, char *buf, size_t n)
{
    json_error_t je;
    json_t *root = path != NULL ? json_load_file(path, 0, &je) : NULL;
    const char *by = json_string_value(json_object_get(root, "changed_by"));
    if (by != NULL)
        snprintf(buf, n, "%s", by);
    json_decref(root);
    return by != NULL;
}

int gslb_state_load(struct gslb *g, const char *path, struct err *e)
{
    if (path == NULL)
        return 0;
    char *buf = NULL;
    size_t len = 0;
    struct err le = {{0}};
    int rc = read_state(path, &buf, &len, &le);
    if (rc > 0)
        return 0;
    uint8_t *states = rc == 0 ? calloc(g->nclusters ? g->nclusters : 1, 1) : NULL;
    if (rc == 0 && states == NULL)
        rc = err_oom(&le, path);
    if (rc == 0)
        rc = parse_state(g, path, buf, len, states, &le);
    free(buf);
    if (rc == -ENOMEM) {
        free(states);
        if (e != NULL)
            *e = le;
        return rc;
    }
    if (rc < 0) {
        /* never all-or-nothing at start and reload: keep what runs, say why */
        g->state_unread = true;
        log_warn("state file unusable, admin states kept as they were (all auto at a first "
                 "start): %s",
                 le.msg);
        if (e != NULL)
            *e = le;
        free(states);
        return 0;
    }
    for (size_t i = 0; i < g->nclusters; i++)
        if (states[i] != GSLB_ADMIN_AUTO)
            atomic_store(&g->admin[i], states[i]);
    free(states);
    return 0;
}

/* fsync the folder holding path, so that the rename itself survives a crash. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int gslb_state_save(const struct gslb *g, const char *path, struct err *e)
{
    return gslb_state_save_by(g, path, NULL, e);
}

int gslb_state_save_by(const struct gslb *g, const char *path, const char *by, struct err *e)
{
    json_t *root = json_object(), *clusters = json_object();
    if (root == NULL || clusters == NULL) {
        json_decref(root);
        json_decref(clusters);
        return err_oom(e, NULL);
    }
    json_object_set_new(root, "clusters", clusters);
    if (by != NULL)
        json_object_set_new(root, "changed_by", json_string(by));
    for (size_t i = 0; i < g->nclusters; i++) {
        enum gslb_admin a = (enum gslb_admin)atomic_load(&g->admin[i]);
        if (a != GSLB_ADMIN_AUTO)
            json_object_set_new(clusters, g->clusters[i].name, json_string(gslb_admin_name(a)));
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    if (text == NULL)
        return err_oom(e, NULL);

    /* a fresh name made with O_CREAT|O_EXCL: a link planted at a guessable name is never
     * followed, whoever runs this (gslbd --admin is often root) */
    char tmp[4096];
    int rc = 0;
    if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
        free(text);
        return err_set(e, GSLBD_ELIMIT, path, 0, 0, "cannot write: the name is too long");
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        free(text);
        return err_set(e, -err, path, 0, 0, "cannot write a temp file beside it: %s",
                       strerror(err));
    }
    /* readable as before (the daemon may run as another user than gslbd --admin) */
    if (fchmod(fd, 0644) != 0 || (rc = write_all(fd, text, strlen(text))) < 0 ||
        (rc = write_all(fd, "\n", 1)) < 0 || fsync(fd) != 0) {
        int err = rc < 0 ? -rc : errno;
        rc = err_set(e, -err, path, 0, 0, "cannot write %s: %s", tmp, strerror(err));
    }
    free(text);
    if (close(fd) != 0 && rc == 0)
        rc = err_set(e, -errno, path, 0, 0, "cannot write %s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0) {
        int err = errno;
        rc = err_set(e, -err, path, 0, 0, "cannot replace: %s", strerror(err));
    }
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    sync_dir(path);
    return 0;
}
