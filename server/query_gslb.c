/* query_gslb.c: the query engine's GSLB answers: who the client is (its address, decoded
 * once from the transport's sockaddr, or the ECS subnet), the policy's pick for a service,
 * the addresses that are up, and the decision recorded for explain. */
#include <netinet/in.h>
#include <string.h>

#include "server/dnssec_zone.h"
#include "server/query_int.h"

static uint64_t next_rand(struct qctx *c)
{
    uint64_t *s = c->req->rng;
    if (s == NULL)
        return (uint64_t)c->q.id * 0x9E3779B97F4A7C15ull >> 16;
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (x * 0x2545F4914F6CDD1Dull) >> 11;
}

/* Record the GSLB decision the answer was built from. */
static void trace_gslb(const struct qctx *c, int32_t service, int family, const uint8_t *addr,
                       const struct gslb_decision *d)
{
    struct query_decision *t = c->req->decision;
    if (t == NULL)
        return;
    t->gslb = true;
    t->service = (uint32_t)service;
    t->family = family;
    t->has_addr = addr != NULL;
    t->from_ecs = c->q.ecs && c->q.ecs_source > 0;
    memset(t->addr, 0, sizeof(t->addr));
    if (addr != NULL)
        memcpy(t->addr, addr, family == AF_INET ? 4 : 16);
    t->d = *d;
}

struct query_client query_client_of(const struct sockaddr *sa)
{
    struct query_client c = {.family = AF_UNSPEC};
    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;
        c.family = AF_INET;
        c.len = 4;
        c.port = ntohs(in->sin_port);
        memcpy(c.addr, &in->sin_addr, 4);
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        c.family = AF_INET6;
        c.len = 16;
        c.port = ntohs(in6->sin6_port);
        memcpy(c.addr, &in6->sin6_addr, 16);
    }
    return c;
}

/* The client's location (LOC-1): the ECS address when SOURCE > 0, else the source. */
static const uint8_t *client_address(const struct qctx *c, int *family)
{
    if (c->q.ecs && c->q.ecs_source > 0) {
        *family = c->q.ecs_family == 1 ? AF_INET : AF_INET6;
        return c->q.ecs_addr;
    }
    *family = c->client.family != AF_UNSPEC ? c->client.family : AF_INET;
    return c->client.len > 0 ? c->client.addr : NULL;
}

int query__answer_service(struct qctx *c, const struct zone *z, const struct zone_node *n,
                          uint16_t owner_off, bool want_a, bool want_aaaa)
{
    const struct gslb *g = c->v->gslb;
    const struct gslb_service *s = &g->services[n->service];
    struct gslb_decision d;
    int family;
    const uint8_t *addr = client_address(c, &family);
    gslb_decide(g, s, family, addr, next_rand(c), &d);
    trace_gslb(c, n->service, family, addr, &d);
    if (d.scope > c->ecs_scope)
        c->ecs_scope = d.scope;
    if (c->st != NULL) {
        STAT_ADD(c->st->gslb_answers, 1);
        gslb_count_service(g, c->req->worker, n->service, d.cluster < 0);
    }
    if (d.cluster < 0) { /* POL-6 servfail */
        if (c->st != NULL)
            STAT_ADD(c->st->gslb_servfail, 1);
        c->rcode = DNS_R_SERVFAIL;
        c->flags &= (uint16_t)~DNS_F_AA;
        c->ecs_scope = 0;
        return 0;
    }
    const struct gslb_cluster *cl = &g->clusters[d.cluster];
    if (c->st != NULL) /* explain passes no stats: its answers are not traffic */
        gslb_count_answer(g, c->req->worker, (uint32_t)d.cluster);
    struct wire_mark m = wire_mark(&c->w);
    uint16_t count = 0;
    /* signed zones: each family's RRset signed as answered, with the service's longest TTL
     * as the original TTL (a failover TTL is served under the same signature) */
    bool sign = zone_dnssec(z) != NULL && c->q.edns_do;
    uint32_t orig_ttl = s->ttl > s->failover_ttl ? s->ttl : s->failover_ttl;
    for (int f = 0; f < 2; f++) {
        if (!(f == 0 ? want_a : want_aaaa))
            continue;
        int fam = f == 0 ? AF_INET : AF_INET6;
        uint16_t type = f == 0 ? DNS_T_A : DNS_T_AAAA;
        const struct wire_rr *set[DNSSEC_ONLINE_RRS];
        size_t nset = 0, nfam = 0;
        bool over = false;
        for (uint32_t i = cl->first_addr; i < cl->first_addr + cl->naddrs; i++) {
            const struct gslb_addr *a = &g->addrs[i];
            if (a->family != fam)
                continue;
            nfam++;
            if (!gslb_addr_answered(g, &d, i))
                continue;
            if (wire_put_rr_ptr(&c->w, owner_off, type, DNS_C_IN, d.ttl, &a->rr) < 0) {
                wire_rewind(&c->w, m);
                return QUERY_EFULL;
            }
            count++;
            if (nset < DNSSEC_ONLINE_RRS)
                set[nset++] = &a->rr;
            else
                over = true;
        }
        if (!sign || nset == 0)
            continue;
        /* the whole cluster answered (the usual case, and a failover's): signed ahead */
        const struct wire_rr *pre =
            nset == nfam ? dnssec_zone_presigned(zone_dnssec(z), (uint32_t)n->service,
                                                 (uint32_t)d.cluster, f)
                         : NULL;
        struct dnssec_sig sig;
        if (pre == NULL && (over || dnssec_zone_sign_online(zone_dnssec(z), z, n->name, type,
                                                            orig_ttl, set, nset, &sig) < 0))
            return query__servfail_unsigned(c);
        if (wire_put_rr_ptr(&c->w, owner_off, DNS_T_RRSIG, DNS_C_IN, d.ttl,
                            pre != NULL ? pre : &sig.rr) < 0) {
            wire_rewind(&c->w, m);
            return QUERY_EFULL;
        }
        count++;
    }
    c->an = (uint16_t)(c->an + count);
    if (count == 0 && !(want_a && want_aaaa))
        return query__add_soa(c, z); /* NODATA: the name exists */
    return 0;
}
