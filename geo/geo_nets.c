/* geo_nets.c: operator prefix overrides (LOC-2): per-family binary tries, longest prefix wins. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "geo/geo_int.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static unsigned bit_at(const uint8_t *addr, unsigned i)
{
    return (addr[i >> 3] >> (7 - (i & 7))) & 1u;
}

void geo__net_format(const struct geo_net *n, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN];
    if (inet_ntop(n->family, n->addr, a, sizeof(a)) == NULL)
        snprintf(a, sizeof(a), "?");
    snprintf(buf, len, "%s/%u", a, (unsigned)n->prefix);
}

/* Copy e into *out as a canonical entry: IPv4-mapped IPv6 becomes IPv4, host bits cleared. */
static int normalize(const struct geo_net *e, size_t nregions, struct geo_net *out)
{
    memset(out, 0, sizeof(*out));
    out->region = e->region;
    if (e->region >= nregions)
        return -EINVAL;
    if (e->family == AF_INET) {
        if (e->prefix > 32)
            return -EINVAL;
        out->family = AF_INET;
        memcpy(out->addr, e->addr, 4);
        out->prefix = e->prefix;
    } else if (e->family == AF_INET6) {
        if (e->prefix > 128)
            return -EINVAL;
        if (e->prefix >= 96 && memcmp(e->addr, v4mapped, 12) == 0) {
            out->family = AF_INET;
            memcpy(out->addr, e->addr + 12, 4);
            out->prefix = (uint8_t)(e->prefix - 96);
        } else {
            out->family = AF_INET6;
            memcpy(out->addr, e->addr, 16);
            out->prefix = e->prefix;
        }
    } else {
        return -EAFNOSUPPORT;
    }
    unsigned bytes = out->family == AF_INET ? 4 : 16;
    for (unsigned i = out->prefix; i < bytes * 8; i++)
        out->addr[i >> 3] &= (uint8_t) ~(0x80u >> (i & 7));
    return 0;
}

static int trie_node(struct geo__trie *t, uint32_t *idx)
{
    if (t->n == t->cap) {
        uint32_t ncap = t->cap ? t->cap * 2 : 64;
        struct geo__tnode *nn = realloc(t->node, ncap * sizeof(*nn));
        if (nn == NULL)
            return -ENOMEM;
        t->node = nn;
        t->cap = ncap;
    }
    struct geo__tnode *x = &t->node[t->n];
    memset(x, 0, sizeof(*x));
    x->entry = -1;
    *idx = t->n++;
    return 0;
}

/* Returns 0, -ENOMEM, or -EEXIST with *other set when the same network is listed twice
 * for different regions (the same region twice is harmless). */
static int trie_insert(struct geo__trie *t, const struct geo_net *nets, int32_t ei, int32_t *other)
{
    const struct geo_net *e = &nets[ei];
    uint32_t cur = 0;
    if (t->n == 0) {
        int rc = trie_node(t, &cur);
        if (rc != 0)
            return rc;
    }
    for (unsigned d = 0; d < e->prefix; d++) {
        unsigned b = bit_at(e->addr, d);
        if (t->node[cur].child[b] == 0) {
            uint32_t nx;
            int rc = trie_node(t, &nx);
            if (rc != 0)
                return rc;
            t->node[cur].child[b] = nx;
        }
        cur = t->node[cur].child[b];
    }
    struct geo__tnode *x = &t->node[cur];
    if (x->entry >= 0 && nets[x->entry].region != e->region) {
        *other = x->entry;
        return -EEXIST;
    }
    if (x->entry < 0)
        x->entry = ei;
    return 0;
}

/* Children always have higher indexes than their parent, so one backward pass folds each
 * subtree's region range into its root. */
static void trie_ranges(struct geo__trie *t, const struct geo_net *nets)
{
    for (uint32_t i = t->n; i-- > 0;) {
        struct geo__tnode *x = &t->node[i];
        uint16_t lo = UINT16_MAX, hi = 0;
        if (x->entry >= 0)
            lo = hi = nets[x->entry].region;
        for (int c = 0; c < 2; c++) {
            if (x->child[c] == 0)
                continue;
            const struct geo__tnode *y = &t->node[x->child[c]];
            if (y->rmin < lo)
                lo = y->rmin;
            if (y->rmax > hi)
                hi = y->rmax;
        }
        x->rmin = lo;
        x->rmax = hi;
    }
}

int geo__nets_build(struct geo *g, const struct geo_net *nets, size_t nnets, char *errbuf,
                    size_t errlen)
{
    g->trie4.bits = 32;
    g->trie6.bits = 128;
    if (nnets == 0)
        return 0;
    if (nnets > INT32_MAX)
        return geo__err(errbuf, errlen, -EINVAL, "nets: too many entries");
    g->nets = calloc(nnets, sizeof(*g->nets));
    if (g->nets == NULL)
        return geo__err(errbuf, errlen, -ENOMEM, "nets: out of memory");
    g->nnets = nnets;
    for (size_t i = 0; i < nnets; i++) {
        int rc = normalize(&nets[i], g->nregions, &g->nets[i]);
        if (rc == -EINVAL && nets[i].region >= g->nregions)
            return geo__err(errbuf, errlen, rc, "nets[%zu]: region %u out of range", i,
                            (unsigned)nets[i].region);
        if (rc == -EINVAL)
            return geo__err(errbuf, errlen, rc, "nets[%zu]: prefix length %u out of range", i,
                            (unsigned)nets[i].prefix);
        if (rc != 0)
            return geo__err(errbuf, errlen, rc, "nets[%zu]: address family %d unsupported", i,
                            nets[i].family);
    }
    for (size_t i = 0; i < nnets; i++) {
        struct geo__trie *t = g->nets[i].family == AF_INET ? &g->trie4 : &g->trie6;
        int32_t other = -1;
        int rc = trie_insert(t, g->nets, (int32_t)i, &other);
        if (rc == -EEXIST) {
            char a[64];
            geo__net_format(&g->nets[i], a, sizeof(a));
            return geo__err(errbuf, errlen, -EINVAL,
                            "nets[%zu]: %s listed again for another region (%s, was %s)", i, a,
                            g->name[g->nets[i].region], g->name[g->nets[other].region]);
        }
        if (rc != 0)
            return geo__err(errbuf, errlen, rc, "nets: out of memory");
    }
    trie_ranges(&g->trie4, g->nets);
    trie_ranges(&g->trie6, g->nets);
    return 0;
}

void geo__nets_free(struct geo *g)
{
    free(g->trie4.node);
    free(g->trie6.node);
    free(g->nets);
    g->trie4.node = g->trie6.node = NULL;
    g->nets = NULL;
    g->nnets = 0;
}

/* One walk down the address's path. Every entry on the path contains addr (the deepest is
 * the match); every subtree hanging off the path at depth d holds entries whose common
 * prefix with addr is exactly d, so a scope of d + 1 keeps them out of the answer's
 * network. */
int32_t geo__nets_match(const struct geo *g, const struct geo__trie *t, const uint8_t *addr,
                        uint8_t *scope)
{
    if (t->n == 0) {
        *scope = 0;
        return -1;
    }
    const struct geo__tnode *node = t->node;
    int32_t best = -1;
    uint16_t best_region = 0;
    unsigned best_depth = 0;
    int any_branch = -1;  /* deepest side subtree of any region */
    int diff_branch = -1; /* deepest side subtree under best with another region */
    uint32_t cur = 0;
    for (unsigned d = 0;; d++) {
        const struct geo__tnode *x = &node[cur];
        if (x->entry >= 0) {
            best = x->entry;
            best_region = g->nets[best].region;
            best_depth = d;
            diff_branch = -1;
        }
        if (d == t->bits)
            break;
        unsigned b = bit_at(addr, d);
        uint32_t side = x->child[b ^ 1u];
        if (side != 0) {
            any_branch = (int)d;
            const struct geo__tnode *y = &node[side];
            if (best >= 0 && (y->rmin != best_region || y->rmax != best_region))
                diff_branch = (int)d;
        }
        cur = x->child[b];
        if (cur == 0)
            break;
    }
    if (best >= 0) {
        unsigned s = best_depth;
        if (diff_branch >= 0 && (unsigned)diff_branch + 1 > s)
            s = (unsigned)diff_branch + 1;
        *scope = (uint8_t)s;
    } else {
        *scope = (uint8_t)(any_branch + 1);
    }
    return best;
}
