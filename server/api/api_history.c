/* api_history.c: GET /api/v1/history: the last hour's samples and events (history.c), and
 * "now answering": which clusters a client in each region gets right now, from the engine. */
#include "server/api/api_int.h"

#include <stdlib.h>
#include <time.h>

#include "server/history.h"

/* One service for clients ranking regions as rank (NULL region: location does not matter). */
static json_t *answer_line(const struct gslb *g, const struct gslb_service *s, const char *region,
                           const uint16_t *rank, struct gslb_share *sh)
{
    struct gslb_decision d;
    gslb_decide_rank(g, s, rank, 0, &d);
    size_t n = gslb_split(g, &d, sh, s->nclusters);
    json_t *list = json_array();
    uint64_t total = 0;
    for (size_t k = 0; k < n; k++) {
        total += sh[k].weight;
        json_array_append_new(list,
                              json_pack("{s:s, s:I}", "cluster", g->clusters[sh[k].cluster].name,
                                        "weight", (json_int_t)sh[k].weight));
    }
    return json_pack("{s:s, s:s?, s:s, s:i, s:I, s:o}", "service", s->name, "region", region,
                     "reason", gslb_reason_name(d.reason), "ttl", (int)d.ttl, "total_weight",
                     (json_int_t)total, "clusters", list);
}

/* Per service, one line per region when the answer depends on where the client is, else one
 * line without a region. */
static json_t *now_answering(const struct gslb *g)
{
    json_t *arr = json_array();
    size_t most = 1;
    for (size_t si = 0; si < g->nservices; si++)
        most = g->services[si].nclusters > most ? g->services[si].nclusters : most;
    struct gslb_share *sh = calloc(most, sizeof(*sh));
    if (arr == NULL || sh == NULL) {
        json_decref(arr);
        free(sh);
        return NULL;
    }
    for (size_t si = 0; si < g->nservices; si++) {
        const struct gslb_service *s = &g->services[si];
        bool located = s->policy == CONF_POLICY_NEAREST && g->geo != NULL && !s->one_region;
        if (!located) {
            /* any ranking will do: the answer does not depend on it */
            const uint16_t *rank = g->geo != NULL ? geo_region_rank(g->geo, 0) : NULL;
            json_array_append_new(arr, answer_line(g, s, NULL, rank, sh));
            continue;
        }
        for (size_t r = 0; r < g->nregions; r++)
            json_array_append_new(arr, answer_line(g, s, g->region_names[r],
                                                   geo_region_rank(g->geo, (uint16_t)r), sh));
    }
    free(sh);
    return arr;
}

enum MHD_Result api_history(struct api *a, struct MHD_Connection *c)
{
    struct control *ctl = a->ctl;
    if (ctl->history == NULL)
        return api_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no history: it did not start");
    json_t *o = history_json(ctl->history);
    if (o == NULL)
        return api_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    char nowtext[40];
    api_iso_time(now_ms, nowtext, sizeof(nowtext));
    json_object_set_new(o, "now", json_string(nowtext));
    json_object_set_new(o, "now_t", json_integer(now_ms));
    pthread_mutex_lock(&ctl->reload_lock); /* the view cannot be swapped or freed meanwhile */
    json_t *na = now_answering(atomic_load(&a->srv->view)->gslb);
    pthread_mutex_unlock(&ctl->reload_lock);
    if (na == NULL) {
        json_decref(o);
        return api_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    json_object_set_new(o, "now_answering", na);
    return api_reply_json(c, MHD_HTTP_OK, o);
}
