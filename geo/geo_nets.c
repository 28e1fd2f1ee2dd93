/* geo_nets.c: operator prefix overrides (LOC-2): one compressed trie per family, longest wins. */
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

/* Leading bits a and b share, counting at most n. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned n)
{
    unsigned i = 0;
    for (; i + 8 <= n; i += 8) {
        uint8_t x = a[i >> 3] ^ b[i >> 3];
        if (x != 0)
            return i + (unsigned)__builtin_clz((unsigned)x) - 24;
    }
    if (i < n) {
        uint8_t x = a[i >> 3] ^ b[i >> 3];
        unsigned c = x != 0 ? (unsigned)__builtin_clz((unsigned)x) - 24 : 8;
        i += c < n - i ? c : n - i;
    }
    return i;
}

static int trie_node(struct geo__trie *t, uint8_t len, int32_t entry, uint32_t key, uint32_t *idx)
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
    x->entry = entry;
    x->key = key;
    x->len = len;
    *idx = t->n++;
    return 0;
}

/* Returns 0, -ENOMEM, or -EEXIST with *other set when the same network is listed twice
 * for different regions (the same region twice is harmless). */
static int trie_insert(struct geo__trie *t, const struct geo_net *nets, int32_t ei, int32_t *other)
{
    const struct geo_net *e = &nets[ei];
    const unsigned len = e->prefix;
    uint32_t cur = 0, nx, mid;
    int rc;
    if (t->n == 0 && (rc = trie_node(t, 0, -1, (uint32_t)ei, &cur)) != 0)
        return rc;
    for (;;) {
        /* e matches node cur's prefix, and is at least as long */
        struct geo__tnode *x = &t->node[cur];
        if (x->len == len) {
            if (x->entry >= 0 && nets[x->entry].region != e->region) {
                *other = x->entry;
                return -EEXIST;
            }
            if (x->entry < 0)
                x->entry = ei;
            return 0;
        }
        unsigned b = bit_at(e->addr, x->len);
        uint32_t c = x->child[b];
        if (c == 0) {
            if ((rc = trie_node(t, (uint8_t)len, ei, (uint32_t)ei, &nx)) != 0)
                return rc;
            t->node[cur].child[b] = nx;
            return 0;
        }
        const struct geo__tnode *y = &t->node[c];
        unsigned ylen = y->len;
        const uint8_t *ykey = nets[y->key].addr;
        unsigned m = common_bits(e->addr, ykey, len < ylen ? len : ylen);
        if (m == ylen) {
            cur = c;
            continue;
        }
        /* e parts from c's prefix at bit m (m > x->len: both went the same way at x) */
        if (m == len) { /* e is a prefix of c's: e goes between */
            if ((rc = trie_node(t, (uint8_t)len, ei, (uint32_t)ei, &mid)) != 0)
                return rc;
            t->node[mid].child[bit_at(ykey, len)] = c;
        } else { /* a fork at m with e and c below */
            if ((rc = trie_node(t, (uint8_t)m, -1, (uint32_t)ei, &mid)) != 0 ||
                (rc = trie_node(t, (uint8_t)len, ei, (uint32_t)ei, &nx)) != 0)
                return rc;
            t->node[mid].child[bit_at(e->addr, m)] = nx;
            t->node[mid].child[bit_at(ykey, m)] = c;
        }
        t->node[cur].child[b] = mid;
        return 0;
    }
}

/* Fold each subtree's region range into its root, children first (iterative post-order;
 * prefix lengths grow along a path, so the stack holds at most 129 nodes). */
static void trie_ranges(struct geo__trie *t, const struct geo_net *nets)
{
    if (t->n == 0)
        return;
    struct {
        uint32_t node;
        uint8_t next; /* next child to visit; 2 = done */
    } stack[130];
    size_t sp = 1;
    stack[0].node = 0;
    stack[0].next = 0;
    while (sp > 0) {
        struct geo__tnode *x = &t->node[stack[sp - 1].node];
        if (stack[sp - 1].next < 2) {
            uint32_t c = x->child[stack[sp - 1].next++];
            if (c != 0) {
                stack[sp].node = c;
                stack[sp].next = 0;
                sp++;
            }
            continue;
        }
        uint16_t lo = UINT16_MAX, hi = 0;
        if (x->entry >= 0)
            lo = hi = nets[x->entry].region;
        for (int c = 0; c < 2; c++) {
            if (x->child[c] == 0)
                continue;
            const struct geo__tnode *y = &t->node[x->child[c]];
            lo = y->rmin < lo ? y->rmin : lo;
            hi = y->rmax > hi ? y->rmax : hi;
        }
        x->rmin = lo;
        x->rmax = hi;
        sp--;
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
 * the match). A subtree left aside at a node of prefix length d holds entries sharing
 * exactly d bits with addr; a child whose prefix addr leaves at bit m < its length holds
 * entries sharing exactly m. A scope of that + 1 keeps them out of the answer's network. */
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
    unsigned best_len = 0;
    int any_branch = -1;  /* longest prefix shared with an entry not containing addr */
    int diff_branch = -1; /* the same, among entries under best with another region */
    const struct geo__tnode *x = &node[0];
    for (;;) {
        if (x->entry >= 0) {
            best = x->entry;
            best_region = g->nets[best].region;
            best_len = x->len;
            diff_branch = -1;
        }
        if (x->len == t->bits)
            break;
        unsigned b = bit_at(addr, x->len);
        uint32_t side = x->child[b ^ 1u];
        if (side != 0) {
            any_branch = x->len;
            if (best >= 0 && (node[side].rmin != best_region || node[side].rmax != best_region))
                diff_branch = x->len;
        }
        if (x->child[b] == 0)
            break;
        const struct geo__tnode *y = &node[x->child[b]];
        unsigned m = common_bits(addr, g->nets[y->key].addr, y->len);
        if (m < y->len) {
            any_branch = (int)m;
            if (best >= 0 && (y->rmin != best_region || y->rmax != best_region))
                diff_branch = (int)m;
            break;
        }
        x = y;
    }
    if (best >= 0) {
        unsigned s = best_len;
        if (diff_branch >= 0 && (unsigned)diff_branch + 1 > s)
            s = (unsigned)diff_branch + 1;
        *scope = (uint8_t)s;
    } else {
        *scope = (uint8_t)(any_branch + 1);
    }
    return best;
}
