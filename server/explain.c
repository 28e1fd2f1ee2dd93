/* explain.c: the decision path of one query as JSON (docs/gslb-rules.md EXP-1): runs the
 * engine on a built query and formats the decision the engine reports (struct query_decision). */
#include "server/explain.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/query.h"
#include "server/dns/wire.h"

/* A query packet for name/type with an optional ECS option. */
static int build_query(const struct explain_req *r, int ecs_family, const uint8_t *ecs_addr,
                       int ecs_prefix, uint8_t *buf, size_t *len, struct err *e)
{
    ldns_rdf *dn = NULL;
    if (ldns_str2rdf_dname(&dn, r->name) != LDNS_STATUS_OK)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "bad name '%s'", r->name);
    ldns_rr_type t = ldns_get_rr_type_by_name(r->type);
    if (t == 0) {
        ldns_rdf_deep_free(dn);
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "unknown type '%s'", r->type);
    }
    size_t n = ldns_rdf_size(dn);
    memset(buf, 0, DNS_HDR);
    buf[5] = 1;
    memcpy(buf + DNS_HDR, ldns_rdf_data(dn), n);
    ldns_rdf_deep_free(dn);
    size_t p = DNS_HDR + n;
    wire_put16(buf + p, (uint16_t)t);
    wire_put16(buf + p + 2, DNS_C_IN);
    p += 4;
    /* always EDNS, so the ECS scope can be reported */
    buf[11] = 1;
    buf[p] = 0;
    wire_put16(buf + p + 1, DNS_T_OPT);
    wire_put16(buf + p + 3, 1232);
    memset(buf + p + 5, 0, 4);
    size_t optlen = 0;
    if (ecs_family != 0) {
        size_t nb = ((size_t)ecs_prefix + 7) / 8;
        uint8_t *o = buf + p + 11;
        wire_put16(o, EDNS_O_ECS);
        wire_put16(o + 2, (uint16_t)(4 + nb));
        wire_put16(o + 4, ecs_family == AF_INET ? 1 : 2);
        o[6] = (uint8_t)ecs_prefix;
        o[7] = 0;
        memcpy(o + 8, ecs_addr, nb);
        optlen = 8 + nb;
    }
    wire_put16(buf + p + 9, (uint16_t)optlen);
    *len = p + 11 + optlen;
    return 0;
}

static int parse_ecs(const char *text, int *family, uint8_t *addr, int *prefix)
{
    char tmp[80];
    snprintf(tmp, sizeof(tmp), "%s", text);
    char *slash = strchr(tmp, '/');
    if (slash != NULL)
        *slash = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, tmp, addr) == 1)
        *family = AF_INET;
    else if (inet_pton(AF_INET6, tmp, addr) == 1)
        *family = AF_INET6;
    else
        return -EINVAL;
    int max = *family == AF_INET ? 32 : 128;
    *prefix = slash ? atoi(slash + 1) : max;
    if (*prefix < 0 || *prefix > max)
        return -EINVAL;
    for (int b = *prefix; b < max; b++) /* zero the bits past the prefix */
        addr[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
    return 0;
}

static json_t *region_list(const struct gslb *g, const struct gslb_decision *d)
{
    json_t *a = json_array();
    struct geo_location loc;
    memset(&loc, 0, sizeof(loc));
    if (d->used_geo)
        geo_describe(g->geo, &d->geo, &loc);
    for (size_t i = 0; i < g->nregions; i++) {
        size_t ri = d->used_geo ? d->geo.rank[i] : i;
        json_t *o = json_pack("{s:s, s:i}", "name", g->region_names[ri], "rank", (int)i + 1);
        if (d->used_geo && loc.has_coords)
            json_object_set_new(o, "distance_km", json_real((double)(long)loc.distance_km[ri]));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *location_json(const struct gslb *g, const struct gslb_decision *d,
                             const char *addrtext)
{
    json_t *o = json_pack("{s:s}", "address", addrtext);
    if (!d->used_geo) {
        json_object_set_new(o, "source", json_string("not used by this policy"));
        return o;
    }
    struct geo_location loc;
    memset(&loc, 0, sizeof(loc));
    geo_describe(g->geo, &d->geo, &loc);
    json_object_set_new(o, "source", json_string(geo_source_name(d->geo.source)));
    if (d->geo.source == GEO_SRC_NETS) {
        /* an operator override: the coordinates would be the region's, not the client's */
        json_object_set_new(o, "net", json_string(loc.net));
        json_object_set_new(o, "region", json_string(loc.region));
    } else if (loc.has_coords) {
        json_object_set_new(o, "lat", json_real(loc.lat));
        json_object_set_new(o, "lon", json_real(loc.lon));
    }
    if (loc.country[0])
        json_object_set_new(o, "country", json_string(loc.country));
    if (loc.continent[0])
        json_object_set_new(o, "continent", json_string(loc.continent));
    if (loc.city[0])
        json_object_set_new(o, "city", json_string(loc.city));
    json_object_set_new(o, "network_prefix", json_integer(d->geo.scope));
    return o;
}

static json_t *clusters_json(const struct gslb *g, const struct gslb_service *s)
{
    json_t *a = json_array();
    for (uint32_t k = 0; k < s->nclusters; k++) {
        const struct gslb_cluster *c = &g->clusters[s->clusters[k]];
        enum gslb_admin adm = (enum gslb_admin)atomic_load(&g->admin[s->clusters[k]]);
        json_t *addrs = json_array();
        for (uint32_t i = c->first_addr; i < c->first_addr + c->naddrs; i++)
            json_array_append_new(addrs, json_pack("{s:s, s:b}", "address", g->addrs[i].text, "up",
                                                   atomic_load(&g->addr_up[i]) != 0));
        json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:s, s:s, s:o}", "name", c->name,
                                           "region", g->region_names[c->region], "weight",
                                           (int)c->weight, "admin", gslb_admin_name(adm), "health",
                                           gslb_cluster_up(g, s->clusters[k]) ? "up" : "down",
                                           "addresses", addrs));
    }
    return a;
}

static const char *ttl_reason(enum gslb_reason r)
{
    switch (r) {
    case GSLB_R_PRIMARY:
        return "service ttl: the first-ranked choice answered with every cluster there healthy";
    case GSLB_R_FAILOVER:
        return "failover_ttl: not the first choice, or a cluster of the answering region is down";
    case GSLB_R_FAIL_OPEN:
        return "failover_ttl: every cluster is down; answered as if all were healthy (fail_open)";
    default:
        return "every cluster is down and all_down is servfail";
    }
}

static json_t *answer_json(const uint8_t *pkt, size_t len)
{
    ldns_pkt *p = NULL;
    if (len == 0 || ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK)
        return json_pack("{s:s}", "error", "no response");
    char *rc = ldns_pkt_rcode2str(ldns_pkt_get_rcode(p));
    json_t *o =
        json_pack("{s:s, s:b, s:b}", "rcode", rc, "aa", ldns_pkt_aa(p), "tc", ldns_pkt_tc(p));
    free(rc);
    const char *names[3] = {"answer", "authority", "additional"};
    ldns_rr_list *lists[3] = {ldns_pkt_answer(p), ldns_pkt_authority(p), ldns_pkt_additional(p)};
    for (int s = 0; s < 3; s++) {
        json_t *a = json_array();
        for (size_t i = 0; i < ldns_rr_list_rr_count(lists[s]); i++) {
            char *t = ldns_rr2str(ldns_rr_list_rr(lists[s], i));
            t[strcspn(t, "\n")] = '\0';
            json_array_append_new(a, json_string(t));
            free(t);
        }
        json_object_set_new(o, names[s], a);
    }
    ldns_pkt_free(p);
    return o;
}

/* A wire name (uncompressed) in presentation form with the final dot. */
static json_t *name_json(const uint8_t *name)
{
    ldns_rdf *d = ldns_dname_new_frm_data((uint16_t)dname_len(name), name);
    char *t = d != NULL ? ldns_rdf2str(d) : NULL;
    json_t *j = json_string(t != NULL ? t : "?");
    free(t);
    ldns_rdf_deep_free(d);
    return j;
}

/* The lookups that led to the answer: each name, how it matched and, when it did not
 * match by itself, the node that answered (the wildcard, the cut, the closest encloser). */
static json_t *chain_json(const struct query_decision *t)
{
    static const char *const how[] = {"name", "wildcard", "nxdomain", "delegation"};
    json_t *a = json_array();
    for (unsigned i = 0; i < t->nsteps; i++) {
        const struct query_step *s = &t->steps[i];
        json_t *o = json_pack("{s:o, s:s}", "name", name_json(s->name), "match",
                              s->match < 4 ? how[s->match] : "?");
        if (s->match != QUERY_M_NAME)
            json_object_set_new(o, "node", name_json(s->node->name));
        if (s->match == QUERY_M_NAME || s->match == QUERY_M_WILDCARD) {
            const struct zone_rrset *cn = zone_node_rrset(s->node, DNS_T_CNAME);
            if (cn != NULL && i + 1 < t->nsteps)
                json_object_set_new(o, "cname", name_json(t->steps[i + 1].name));
            else if (s->node->service >= 0)
                json_object_set_new(o, "service", json_true());
        }
        json_array_append_new(a, o);
    }
    return a;
}

/* Mark assumed-down clusters in a private admin array. */
static int assume_down(const struct gslb *g, const char *list, _Atomic uint8_t *admin,
                       struct err *e)
{
    if (list == NULL || *list == '\0')
        return 0;
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(tmp, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        int32_t ci = gslb_find_cluster(g, t);
        if (ci < 0)
            return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "assume_down: unknown cluster '%s'", t);
        atomic_store(&admin[ci], GSLB_ADMIN_DOWN);
    }
    return 0;
}

/* The clusters assume_down named (already checked by assume_down()), as a JSON array. */
static json_t *assumed_json(const char *list)
{
    json_t *a = json_array();
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(tmp, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
        json_array_append_new(a, json_string(t));
    return a;
}

int explain_query(const struct view *v, const struct explain_req *r, json_t **out, struct err *e)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, r->client, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(53);
    } else if (inet_pton(AF_INET6, r->client, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(53);
    } else {
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "bad client address '%s'", r->client);
    }
    int ecs_family = 0, ecs_prefix = 0;
    uint8_t ecs_addr[16];
    if (r->ecs != NULL && parse_ecs(r->ecs, &ecs_family, ecs_addr, &ecs_prefix) < 0)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "bad ECS '%s' (want ADDR/PREFIX)", r->ecs);
    uint8_t q[600];
    size_t qlen = 0;
    int rc = build_query(r, ecs_family, ecs_addr, ecs_prefix, q, &qlen, e);
    if (rc < 0)
        return rc;

    /* Work on a shallow copy of the view whose state words are private copies: hypothetical
     * states never reach live answers, and explain's answer is not counted. */
    const struct gslb *live = v->gslb;
    struct gslb gcopy = *live;
    struct view vcopy = *v;
    _Atomic uint8_t *admin = calloc(live->nclusters + 1, sizeof(*admin));
    _Atomic uint8_t *up = calloc(live->naddrs + 1, sizeof(*up));
    uint8_t *resp = malloc(QUERY_TCP_BUF);
    struct query_decision *dec = malloc(sizeof(*dec));
    json_t *o = NULL;
    if (admin == NULL || up == NULL || resp == NULL || dec == NULL) {
        rc = err_oom(e, NULL);
        goto out;
    }
    for (size_t i = 0; i < live->nclusters; i++)
        atomic_init(&admin[i], atomic_load(&live->admin[i]));
    for (size_t i = 0; i < live->naddrs; i++)
        atomic_init(&up[i], atomic_load(&live->addr_up[i]));
    gcopy.admin = admin;
    gcopy.addr_up = up;
    gcopy.answers = NULL; /* never written: explain passes no stats */
    vcopy.gslb = &gcopy;
    const struct gslb *g = &gcopy;
    rc = assume_down(g, r->assume_down, admin, e);
    if (rc < 0)
        goto out;

    o = json_pack("{s:{s:s, s:s, s:s, s:s?}}", "query", "name", r->name, "type", r->type, "client",
                  r->client, "ecs", r->ecs);
    if (r->assume_down != NULL && r->assume_down[0] != '\0') /* the hypothesis, echoed */
        json_object_set_new(json_object_get(o, "query"), "assume_down",
                            assumed_json(r->assume_down));
    json_object_set_new(
        o, "health",
        json_string(!r->offline ? "live: the probes' current results and admin states"
                    : v->conf->state_file != NULL
                        ? "assumed: gslbd --explain runs no probes, so every address counts as "
                          "up; admin states come from the state file"
                        : "assumed: gslbd --explain runs no probes, so every address counts as "
                          "up; no state_file, so every admin state is auto"));
    /* The real engine answers, and tells what it looked up and decided: nothing below
     * repeats a step of its own, so the explanation is the answer's (EXP-1). */
    uint64_t rng = 0x5eed5eed5eedULL;
    struct query_req req = {q, qlen, (struct sockaddr *)&ss, QUERY_TCP, &rng, 0, 0, NULL, dec};
    size_t n = query_answer(&vcopy, &req, resp, QUERY_TCP_BUF, NULL);
    json_object_set_new(o, "chain", chain_json(dec));
    if (dec->gslb) {
        static const char *const pol[] = {"nearest", "weighted", "failover"};
        const struct gslb_service *svc = &g->services[dec->service];
        const struct gslb_decision *d = &dec->d;
        char atext[INET6_ADDRSTRLEN] = "unknown";
        if (dec->has_addr)
            inet_ntop(dec->family, dec->addr, atext, sizeof(atext));
        json_object_set_new(o, "service", json_string(svc->name));
        json_object_set_new(o, "policy", json_string(pol[svc->policy]));
        json_object_set_new(o, "location", location_json(g, d, atext));
        json_object_set_new(o, "regions", region_list(g, d));
        json_object_set_new(o, "clusters", clusters_json(g, svc));
        json_object_set_new(
            o, "decision",
            json_pack("{s:s?, s:s, s:i, s:s, s:i, s:s}", "cluster",
                      d->cluster >= 0 ? g->clusters[d->cluster].name : NULL, "reason",
                      gslb_reason_name(d->reason), "ttl", (int)d->ttl, "ttl_reason",
                      ttl_reason(d->reason), "ecs_scope", (int)d->scope, "scope_reason",
                      d->scope == 0   ? "answer does not depend on the client's address"
                      : d->by_nearest ? "prefix of the widest network whose clients have the "
                                        "same nearest region, which answered"
                                      : "prefix of the network whose data decided the answer"));
    } else {
        json_object_set_new(o, "service", json_null());
        json_object_set_new(o, "note", json_string("static data from the zone: scope 0"));
    }
    json_object_set_new(o, "response", answer_json(resp, n));
    *out = o;
out:
    free((void *)(uintptr_t)admin);
    free((void *)(uintptr_t)up);
    free(resp);
    free(dec);
    return rc;
}
