/* explain.h: what gslbd would answer for a (name, type, client, ECS) and why (EXP-1), as
 * JSON. Runs the real engine on a built query and formats the decision the engine reports
 * for that very answer (struct query_decision); not for the hot path. */
#ifndef GSLBD_EXPLAIN_H
#define GSLBD_EXPLAIN_H

#include <jansson.h>
#include <stdbool.h>

#include "server/err.h"
#include "server/view.h"

struct explain_req {
    const char *name;        /* query name */
    const char *type;        /* "A", "AAAA", "MX", ... */
    const char *client;      /* the resolver's address */
    const char *ecs;         /* "ADDR/PREFIX" or NULL */
    const char *assume_down; /* comma-separated cluster names treated as down, or NULL */
    bool offline;            /* gslbd --explain: no probes ran, health is assumed */
};

/* Build the explanation; caller owns *out (json_decref). */
int explain_query(const struct view *v, const struct explain_req *r, json_t **out, struct err *e);

#endif
