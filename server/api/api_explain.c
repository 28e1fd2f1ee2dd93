/* api_explain.c: GET /api/v1/explain: what gslbd would answer for a name, type, client and
 * ECS, and why (EXP-1), on the view being served. */
#include "server/api/api_int.h"

#include <string.h>

#include "server/explain.h"

/* A query argument, or NULL when absent or empty. */
static const char *arg(struct MHD_Connection *c, const char *key)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

enum MHD_Result api_explain(struct api *a, struct MHD_Connection *c)
{
    struct control *ctl = a->ctl;
    struct explain_req er = {.name = arg(c, "name"),
                             .type = arg(c, "type"),
                             .client = arg(c, "client"),
                             .ecs = arg(c, "ecs"),
                             .assume_down = arg(c, "assume_down")};
    if (er.type == NULL)
        er.type = "A";
    if (er.name == NULL || er.client == NULL)
        return api_reply_error(c, MHD_HTTP_BAD_REQUEST,
                               "explain needs ?name=NAME&client=ADDRESS, optionally &type=TYPE "
                               "(default A), &ecs=ADDR/PREFIX and &assume_down=C1,C2");
    if (strlen(er.name) > 1024 || strlen(er.type) > 32 || strlen(er.client) > 64 ||
        (er.ecs != NULL && strlen(er.ecs) > 64) ||
        (er.assume_down != NULL && strlen(er.assume_down) > 1000))
        return api_reply_error(c, MHD_HTTP_BAD_REQUEST, "an argument is too long");

    json_t *j = NULL;
    struct err e = {{0}};
    /* The view cannot be swapped or freed while we hold the lock; explain works on private
     * copies of the state words, so assume_down never reaches live answers. */
    pthread_mutex_lock(&ctl->reload_lock);
    int rc = explain_query(atomic_load(&a->srv->view), &er, &j, &e);
    pthread_mutex_unlock(&ctl->reload_lock);
    if (rc < 0)
        return api_reply_error(
            c, rc == GSLBD_EINVAL ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR, "%s",
            e.msg);
    return api_reply_json(c, MHD_HTTP_OK, j);
}
