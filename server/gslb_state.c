/* gslb_state.c: the admin state file (POL-7): cluster admin states kept across restarts. */
#include "gslb.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int gslb_state_load(struct gslb *g, const char *path, struct err *e)
{
    if (path == NULL)
        return 0;
    if (access(path, F_OK) != 0)
        return 0; /* no state saved yet: every cluster is auto */
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return err_set(e, GSLBD_EPARSE, path, je.line, je.column, "%s", je.text);
    int rc = 0;
    json_t *clusters = json_object_get(root, "clusters");
    if (!json_is_object(root) || (clusters != NULL && !json_is_object(clusters))) {
        rc = err_set(e, GSLBD_EINVAL, path, 0, 0, "expected {\"clusters\": {NAME: STATE}}");
        goto out;
    }
    const char *name;
    json_t *val;
    json_object_foreach(clusters, name, val)
    {
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
        atomic_store(&g->admin[ci], (uint8_t)a);
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
        return err_set(e, -ENOMEM, NULL, 0, 0, "out of memory");
    }
    json_object_set_new(root, "clusters", clusters);
    if (by != NULL)
        json_object_set_new(root, "changed_by", json_string(by));
    for (size_t i = 0; i < g->nclusters; i++) {
        enum gslb_admin a = (enum gslb_admin)atomic_load(&g->admin[i]);
        if (a != GSLB_ADMIN_AUTO)
            json_object_set_new(clusters, g->clusters[i].name, json_string(gslb_admin_name(a)));
    }
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int rc = json_dump_file(root, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    if (rc != 0)
        return err_set(e, -EIO, path, 0, 0, "cannot write %s", tmp);
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return err_set(e, -err, path, 0, 0, "cannot replace: %s", strerror(err));
    }
    return 0;
}
