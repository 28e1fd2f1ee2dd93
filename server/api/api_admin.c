/* api_admin.c: the API's changes, behind the bearer token: a cluster's admin state (POL-7)
 * and reloads. */
#include "server/api/api_int.h"

#include <errno.h>
#include <string.h>

#include "server/cluster.h"
#include "server/log.h"

int api_admin_parse_state(const char *query, const char *body, size_t len, enum gslb_admin *want,
                          const char **why)
{
    const char *b = NULL;
    json_t *root = NULL;
    int rc = -EINVAL;
    if (len > 0) {
        json_error_t je;
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        json_t *st = json_object_get(root, "state");
        json_t *w = json_object_get(root, "why"); /* a note kept with a shared state */
        if (!json_is_object(root) || !json_is_string(st) || (w != NULL && !json_is_string(w)) ||
            json_object_size(root) != (w != NULL ? 2u : 1u)) {
            *why = "the body must be {\"state\": \"auto|up|down|drain\"}";
            goto out;
        }
        b = json_string_value(st);
    }
    if (query != NULL && b != NULL && strcmp(query, b) != 0) {
        *why = "?state= and the body disagree";
        goto out;
    }
    if (query == NULL && b == NULL) {
        *why = "give the state as {\"state\": \"auto|up|down|drain\"} or ?state=";
        goto out;
    }
    if (gslb_admin_parse(b != NULL ? b : query, want) < 0) {
        *why = "state must be auto, up, down or drain";
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

enum MHD_Result api_cluster_state(struct api *a, struct MHD_Connection *c, const char *name,
                                  const struct api_req *r)
{
    enum MHD_Result rc;
    char what[200];
    snprintf(what, sizeof(what), "state of cluster %s", name);
    if (!api_authorized(a, c, what, &rc))
        return rc;
    const char *why = "bad request";
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
    enum gslb_admin want;
    if (api_admin_parse_state(q, r->body, r->len, &want, &why) < 0)
        return api_reply_error(c, MHD_HTTP_BAD_REQUEST, "%s", why);

    char who[80];
    api_client_text(c, who, sizeof(who));
    struct err e = {{0}};
    struct control *ctl = a->ctl;
    /* cluster mode: the state goes to etcd first (outside the lock: this may take seconds);
     * every instance applies it from its watch, this one also at once below */
    char shared_err[300] = "";
    int shared = 0;
    if (ctl->cluster != NULL) {
        pthread_mutex_lock(&ctl->reload_lock);
        bool known = gslb_find_cluster(atomic_load(&a->srv->view)->gslb, name) >= 0;
        pthread_mutex_unlock(&ctl->reload_lock);
        if (!known)
            return api_reply_error(c, MHD_HTTP_NOT_FOUND, "no cluster named '%s'", name);
        char note[200] = "";
        json_error_t je;
        json_t *body = r->len > 0 ? json_loadb(r->body, r->len, 0, &je) : NULL;
        if (json_is_string(json_object_get(body, "why")))
            snprintf(note, sizeof(note), "%s", json_string_value(json_object_get(body, "why")));
        json_decref(body);
        char by[120];
        snprintf(by, sizeof(by), "api %s", who);
        shared = cluster_admin_put(ctl->cluster, name, want, by, note, shared_err,
                                   sizeof(shared_err)) == 0
                     ? 1
                     : -1;
        if (shared < 0)
            log_warn("api: %s: cluster %s: etcd could not take the state (%s); applied here, "
                     "sent once etcd is back",
                     who, name, shared_err);
    }
    /* Reloads swap views under this lock, and copy admin states from the old view (or read
     * the state file): holding it, our change lands in the view that keeps serving. */
    pthread_mutex_lock(&ctl->reload_lock);
    struct view *v = atomic_load(&a->srv->view);
    int32_t ci = gslb_find_cluster(v->gslb, name);
    if (ci < 0) {
        pthread_mutex_unlock(&ctl->reload_lock);
        return api_reply_error(c, MHD_HTTP_NOT_FOUND, "no cluster named '%s'", name);
    }
    enum gslb_admin old = (enum gslb_admin)atomic_exchange(&v->gslb->admin[ci], (uint8_t)want);
    const char *state_file = v->conf->state_file;
    char by[128];
    snprintf(by, sizeof(by), "api %s", who);
    int src = state_file != NULL ? gslb_state_save_by(v->gslb, state_file, by, &e) : 0;
    if (src < 0)
        atomic_store(&v->gslb->admin[ci], (uint8_t)old); /* all or nothing */
    else if (old != want)
        admin_log_add(&ctl->admin_log, name, by, "api", old, want);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s?}", "cluster", name, "previous", gslb_admin_name(old),
                  "state", gslb_admin_name(src < 0 ? old : want), "state_file", state_file);
    if (shared != 0)
        json_object_set_new(j, "shared", json_boolean(shared > 0));
    if (shared < 0)
        json_object_set_new(j, "etcd_error", json_string(shared_err));
    pthread_mutex_unlock(&ctl->reload_lock);

    if (src < 0) {
        log_err("api: %s: cluster %s stays %s: the state file could not be written: %s", who, name,
                gslb_admin_name(old), e.msg);
        json_decref(j);
        return api_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "not changed: the state file could not be written: %s", e.msg);
    }
    log_info("api: %s: cluster %s admin state %s -> %s%s", who, name, gslb_admin_name(old),
             gslb_admin_name(want), state_file != NULL ? "" : " (no state_file: until restart)");
    return api_reply_json(c, MHD_HTTP_OK, j);
}

enum MHD_Result api_reload(struct api *a, struct MHD_Connection *c)
{
    enum MHD_Result rc;
    if (!api_authorized(a, c, "reload", &rc))
        return rc;
    char who[80];
    api_client_text(c, who, sizeof(who));
    log_info("api: %s: reload requested", who);
    struct err e = {{0}};
    int r = control_reload_wait(a->ctl, &e);
    if (r == -ECANCELED)
        return api_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "gslbd is shutting down");
    if (r < 0)
        return api_reply_json(c, MHD_HTTP_UNPROCESSABLE_CONTENT,
                              json_pack("{s:s, s:s}", "error", e.msg, "result",
                                        "rejected: the previous data keeps serving"));
    return api_reply_json(c, MHD_HTTP_OK,
                          json_pack("{s:s, s:I}", "result", "ok", "reloads",
                                    (json_int_t)atomic_load(&a->ctl->reloads)));
}
