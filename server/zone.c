/* zone.c: turns the records zone_load.c read into the immutable node hash the query path reads. */
#include "server/zone.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "server/zone_int.h"

#define T_NS 2
#define T_CNAME 5
#define T_SOA 6
#define T_MX 15
#define T_SRV 33
#define T_DNAME 39
#define T_RRSIG 46
#define T_NSEC 47

/* ---- lookup ---- */

const struct zone_node *zone_lookup(const struct zone *z, const uint8_t *name, size_t len,
                                    uint32_t hash)
{
    const struct zone_node *n = z->buckets[hash & (z->nbuckets - 1)];
    for (; n != NULL; n = n->next) {
        if (n->hash == hash && n->namelen == len && memcmp(n->name, name, len) == 0)
            return n;
    }
    return NULL;
}

const struct zone_rrset *zone_node_rrset(const struct zone_node *n, uint16_t type)
{
    for (uint16_t i = 0; i < n->nrrsets; i++) {
        if (n->rrsets[i].type == type)
            return &n->rrsets[i];
    }
    return NULL;
}

void zone_free(struct zone *z)
{
    if (z == NULL)
        return;
    zone__arena_free(z->priv);
    free(z);
}

/* ---- building ---- */

static const char *type_name(uint16_t type, char *buf, size_t len)
{
    static const struct {
        uint16_t type;
        const char *name;
    } names[] = {{1, "A"},         {T_NS, "NS"},   {T_CNAME, "CNAME"}, {T_SOA, "SOA"},
                 {12, "PTR"},      {T_MX, "MX"},   {16, "TXT"},        {28, "AAAA"},
                 {T_SRV, "SRV"},   {39, "DNAME"},  {43, "DS"},         {T_RRSIG, "RRSIG"},
                 {T_NSEC, "NSEC"}, {48, "DNSKEY"}, {64, "SVCB"},       {65, "HTTPS"},
                 {257, "CAA"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].type == type)
            return names[i].name;
    }
    snprintf(buf, len, "TYPE%u", type);
    return buf;
}

static int cmp_name(const struct zone_src_rr *a, const struct zone_src_rr *b)
{
    if (a->owner_len != b->owner_len)
        return a->owner_len < b->owner_len ? -1 : 1;
    return memcmp(a->owner, b->owner, a->owner_len);
}

/* File order (the records sit in one array in file order). */
static int cmp_file_order(const void *pa, const void *pb)
{
    const struct zone_src_rr *a = *(const struct zone_src_rr *const *)pa;
    const struct zone_src_rr *b = *(const struct zone_src_rr *const *)pb;
    return a < b ? -1 : a > b;
}

/* Owner, type, canonical RDATA, then file order: duplicates end up adjacent. */
static int cmp_canon(const void *pa, const void *pb)
{
    const struct zone_src_rr *a = *(const struct zone_src_rr *const *)pa;
    const struct zone_src_rr *b = *(const struct zone_src_rr *const *)pb;
    int c = cmp_name(a, b);
    if (c != 0)
        return c;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    if (a->canonlen != b->canonlen)
        return a->canonlen < b->canonlen ? -1 : 1;
    c = memcmp(a->canon, b->canon, a->canonlen);
    if (c != 0)
        return c;
    return a < b ? -1 : a > b;
}

/* TTL-1: duplicate RRs are dropped, the first one in the file stays. Leaves v in
 * cmp_canon order. */
static void drop_duplicates(const struct zone_src *src, struct zone_src_rr **v, size_t n)
{
    char tbuf[16], name[DNAME_MAX * 4 + 1];
    qsort(v, n, sizeof(*v), cmp_canon);
    for (size_t i = 1; i < n; i++) {
        const struct zone_src_rr *a = v[i - 1];
        struct zone_src_rr *b = v[i];
        if (cmp_name(a, b) != 0 || a->type != b->type || a->canonlen != b->canonlen ||
            memcmp(a->canon, b->canon, a->canonlen) != 0)
            continue;
        b->dropped = true;
        const struct zone_src_rr *kept = a;
        for (size_t k = i - 1; k > 0 && kept->dropped; k--)
            kept = v[k - 1];
        log_warn("%s:%u: duplicate %s %s record dropped (same as %s:%u)", src->files[b->file],
                 b->line, dname_to_text(b->owner, name, sizeof(name)),
                 type_name(b->type, tbuf, sizeof(tbuf)), src->files[kept->file], kept->line);
    }
}

/* One owner's records: v[first, end) by type then file order, duplicates included. */
struct owner_group {
    size_t first;
    size_t end;
    uint16_t nrrsets;
    bool dname; /* the owner has a DNAME */
    bool ns;    /* the owner has NS records */
};

/* CN-3 and TTL-1 for one owner; counts its RRsets. */
static int check_owner(const struct zone_src *src, struct zone_src_rr *const *v,
                       struct owner_group *g, struct err *e)
{
    char tbuf[16], tbuf2[16], name[DNAME_MAX * 4 + 1];
    const struct zone_src_rr *cname = NULL, *cname2 = NULL, *other = NULL;
    const struct zone_src_rr *dname = NULL, *dname2 = NULL;
    const struct zone_src_rr *set_first = NULL;
    size_t set_count = 0;

    g->nrrsets = 0;
    dname_to_text(v[g->first]->owner, name, sizeof(name));
    for (size_t i = g->first; i < g->end; i++) {
        const struct zone_src_rr *r = v[i];
        if (r->dropped)
            continue;
        if (set_first == NULL || set_first->type != r->type) {
            if (g->nrrsets == UINT16_MAX)
                return err_set(e, GSLBD_ELIMIT, src->files[r->file], (int)r->line, (int)r->col,
                               "too many types at %s", name);
            g->nrrsets++;
            set_first = r;
            set_count = 0;
        } else if (r->ttl != set_first->ttl) {
            log_warn("%s:%u: TTL %u of this %s %s record differs from TTL %u at %s:%u; "
                     "using %u",
                     src->files[r->file], r->line, r->ttl, name,
                     type_name(r->type, tbuf, sizeof(tbuf)), set_first->ttl,
                     src->files[set_first->file], set_first->line, set_first->ttl);
        }
        if (++set_count > UINT16_MAX)
            return err_set(e, GSLBD_ELIMIT, src->files[r->file], (int)r->line, (int)r->col,
                           "more than %u records in one RRset", UINT16_MAX);
        if (r->type == T_NS)
            g->ns = true;
        if (r->type == T_DNAME) {
            if (dname == NULL)
                dname = r;
            else if (dname2 == NULL)
                dname2 = r;
        }
        if (r->type == T_CNAME) {
            if (cname == NULL)
                cname = r;
            else if (cname2 == NULL)
                cname2 = r;
        } else if (r->type != T_RRSIG && r->type != T_NSEC && (other == NULL || r < other)) {
            other = r;
        }
    }
    if (cname != NULL && other != NULL) {
        const struct zone_src_rr *later = cname > other ? cname : other;
        const struct zone_src_rr *earlier = cname > other ? other : cname;
        return err_set(e, GSLBD_EINVAL, src->files[later->file], (int)later->line, (int)later->col,
                       "CNAME and other data at %s: %s here, %s at %s:%u", name,
                       type_name(later->type, tbuf, sizeof(tbuf)),
                       type_name(earlier->type, tbuf2, sizeof(tbuf2)), src->files[earlier->file],
                       earlier->line);
    }
    if (cname2 != NULL)
        return err_set(e, GSLBD_EINVAL, src->files[cname2->file], (int)cname2->line,
                       (int)cname2->col, "second CNAME at %s (the first is at %s:%u)", name,
                       src->files[cname->file], cname->line);
    /* RFC 6672 2.4: one DNAME per owner (CN-3 covers a CNAME beside it, DN-3) */
    if (dname2 != NULL)
        return err_set(e, GSLBD_EINVAL, src->files[dname2->file], (int)dname2->line,
                       (int)dname2->col, "second DNAME at %s (the first is at %s:%u)", name,
                       src->files[dname->file], dname->line);
    g->dname = dname != NULL;
    return 0;
}

/* A name of the zone during the build: an owner (group >= 0) or an empty non-terminal.
 * 16 bytes: a million-name zone's table is touched once per name, so its size is time. */
struct name_slot {
    const uint8_t *name; /* NULL: a free slot; the length is the name's own */
    uint32_t hash;
    int32_t group; /* index into the owner groups, -1 for an empty non-terminal */
};

struct name_set {
    struct name_slot *slots;
    size_t mask;
    size_t count;
};

static void set_put(struct name_set *s, struct name_slot x)
{
    size_t i = x.hash & s->mask;
    while (s->slots[i].name != NULL)
        i = (i + 1) & s->mask;
    s->slots[i] = x;
    s->count++;
}

/* Twice the slots once two thirds are taken. */
static int set_grow(struct name_set *s)
{
    struct name_set n = {zone__big_alloc(2 * (s->mask + 1) * sizeof(*n.slots)), 2 * s->mask + 1, 0};
    if (n.slots == NULL)
        return -ENOMEM;
    for (size_t i = 0; i <= s->mask; i++) {
        if (s->slots[i].name != NULL)
            set_put(&n, s->slots[i]);
    }
    zone__big_free(s->slots, (s->mask + 1) * sizeof(*s->slots));
    *s = n;
    return 0;
}

/* Insert unless present: 1 when it was new, 0 when present, -ENOMEM. */
static int set_add(struct name_set *s, const uint8_t *name, uint8_t len, uint32_t hash,
                   int32_t group)
{
    size_t i = hash & s->mask;
    while (s->slots[i].name != NULL) {
        const struct name_slot *x = &s->slots[i];
        if (x->hash == hash && dname_len(x->name) == len && memcmp(x->name, name, len) == 0)
            return 0;
        i = (i + 1) & s->mask;
    }
    if (3 * (s->count + 1) > 2 * (s->mask + 1)) {
        if (set_grow(s) < 0)
            return -ENOMEM;
        set_put(s, (struct name_slot){name, hash, group});
        return 1;
    }
    s->slots[i] = (struct name_slot){name, hash, group};
    s->count++;
    return 1;
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

/* Every owner, and every name between an owner and the origin (empty non-terminals). */
static int collect_names(const struct zone_src *src, struct zone_src_rr *const *v,
                         const struct owner_group *groups, size_t ngroups,
                         const struct zone_extra *extra, size_t nextra, struct name_set *s)
{
    struct dname_labels ol;
    dname_split(src->origin, DNAME_MAX, &ol);
    if (ngroups > INT32_MAX)
        return -ENOMEM;
    /* room for the owners at a third free; ancestors, mostly shared, grow it if need be */
    s->mask = pow2_at_least(ngroups + ngroups / 2 + 16) - 1;
    s->slots = zone__big_alloc((s->mask + 1) * sizeof(*s->slots));
    if (s->slots == NULL)
        return -ENOMEM;
    uint32_t h[DNAME_MAX_LABELS + 1];
    int rc = 0;
    for (size_t gi = 0; rc >= 0 && gi < ngroups; gi++) {
        const struct zone_src_rr *r = v[groups[gi].first];
        rc = set_add(s, r->owner, r->owner_len, dname_hash(r->owner), (int32_t)gi);
    }
    for (size_t gi = 0; rc >= 0 && gi < ngroups; gi++) {
        const struct zone_src_rr *r = v[groups[gi].first];
        struct dname_labels l;
        dname_split(r->owner, DNAME_MAX, &l);
        if (l.count - ol.count < 2)
            continue;
        dname_suffix_hashes(r->owner, &l, h);
        /* ancestors are suffixes of the owner: no copies needed */
        for (int i = 1; i < l.count - ol.count; i++) {
            const uint8_t *a = r->owner + l.off[i];
            if ((rc = set_add(s, a, (uint8_t)(r->owner_len - l.off[i]), h[i], -1)) <= 0)
                break;
        }
    }
    /* extra names and their ancestors, as empty nodes unless the file has data there */
    for (size_t k = 0; rc >= 0 && k < nextra; k++) {
        struct dname_labels l;
        if (dname_split(extra[k].name, DNAME_MAX, &l) < 0 || l.count < ol.count)
            continue;
        dname_suffix_hashes(extra[k].name, &l, h);
        size_t len = dname_len(extra[k].name);
        for (int i = 0; rc >= 0 && i < l.count - ol.count; i++)
            rc = set_add(s, extra[k].name + l.off[i], (uint8_t)(len - l.off[i]), h[i], -1);
    }
    return rc < 0 ? rc : 0;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Offset of the target name in NS, MX and SRV RDATA; -1 for other types. */
static int target_offset(uint16_t type)
{
    return type == T_NS ? 0 : type == T_MX ? 2 : type == T_SRV ? 6 : -1;
}

static const struct zone_node *find_target(const struct zone *z, const struct zone_src_rr *r,
                                           int off)
{
    uint8_t name[DNAME_MAX];
    struct dname_labels l;
    if ((size_t)off >= r->canonlen)
        return NULL;
    int len = dname_split(r->canon + off, r->canonlen - (size_t)off, &l);
    if (len < 0)
        return NULL;
    dname_copy_lower(name, r->canon + off);
    if (!dname_is_subdomain(name, z->origin))
        return NULL;
    const struct zone_node *n = zone_lookup(z, name, (size_t)len, dname_hash(name));
    return n != NULL && !(n->flags & ZONE_NODE_OCCLUDED) ? n : NULL; /* DN-3 */
}

/* The RRsets of one owner into the arena; target nodes must all exist already. */
static int build_rrsets(struct zone *z, struct zone_arena *a, struct zone_node *node,
                        struct zone_src_rr *const *v, const struct owner_group *g)
{
    struct zone_rrset *sets = zone__arena_alloc(a, g->nrrsets * sizeof(*sets));
    if (sets == NULL)
        return -ENOMEM;
    node->rrsets = sets;
    node->nrrsets = g->nrrsets;
    size_t i = g->first, si = 0;
    while (i < g->end) {
        if (v[i]->dropped) {
            i++;
            continue;
        }
        size_t j = i, count = 0;
        for (; j < g->end && v[j]->type == v[i]->type; j++)
            count += !v[j]->dropped;
        struct zone_rrset *set = &sets[si++];
        struct wire_rr *rrs = zone__arena_alloc(a, count * sizeof(*rrs));
        int toff = target_offset(v[i]->type);
        const struct zone_node **targets =
            toff >= 0 ? zone__arena_alloc(a, count * sizeof(*targets)) : NULL;
        if (rrs == NULL || (toff >= 0 && targets == NULL))
            return -ENOMEM;
        set->type = v[i]->type;
        set->ttl = v[i]->ttl;
        set->count = (uint16_t)count;
        set->rrs = rrs;
        set->targets = targets;
        for (size_t k = i, n = 0; k < j; k++) {
            const struct zone_src_rr *r = v[k];
            if (r->dropped)
                continue;
            uint8_t *rd = zone__arena_bytes(a, r->rdlen);
            if (rd == NULL)
                return -ENOMEM;
            memcpy(rd, r->rdata, r->rdlen);
            rrs[n] = (struct wire_rr){.rdata = rd, .rdlen = r->rdlen, .ncomp = r->ncomp};
            memcpy(rrs[n].comp_off, r->comp_off, sizeof(r->comp_off));
            if (targets != NULL)
                targets[n] = find_target(z, r, toff);
            n++;
            z->nrecords++;
        }
        if (set->type == T_NS && !(node->flags & ZONE_NODE_APEX))
            node->flags |= ZONE_NODE_CUT;
        i = j;
    }
    return 0;
}

/* DN-3: the DNAME owner that occludes the node named name (len octets), or NULL. That is
 * an ancestor with a DNAME and no zone cut at or above it: a DNAME at or below a cut is
 * never followed, so it hides nothing. Ancestors are suffixes, walked up to the apex. */
static const struct zone_node *occluding_dname(const struct zone *z, const uint8_t *name,
                                               size_t len)
{
    const struct zone_node *by = NULL;
    while (len > z->origin_len) {
        len -= 1u + name[0];
        name += 1u + name[0];
        const struct zone_node *up = zone_lookup(z, name, len, dname_hash(name));
        if (up == NULL)
            continue;
        if (up->flags & ZONE_NODE_CUT)
            by = NULL;
        else if (up->flags & ZONE_NODE_DNAME)
            by = up;
    }
    return by;
}

static void mark_occluded(struct zone *z, struct zone_node *nodes, size_t count)
{
    bool any = false;
    for (size_t i = 0; i < count && !any; i++)
        any = (nodes[i].flags & ZONE_NODE_DNAME) != 0;
    for (size_t i = 0; any && i < count; i++)
        if (occluding_dname(z, nodes[i].name, nodes[i].namelen) != NULL)
            nodes[i].flags |= ZONE_NODE_OCCLUDED;
}

#define OCCLUDED_WARN_MAX 20 /* warnings naming a record; the rest are counted */

/* DN-3: records below a DNAME are loaded but never served; say so, naming their lines. */
static void warn_occluded(const struct zone_src *src, const struct zone *z,
                          struct zone_src_rr *const *v, const struct owner_group *groups,
                          size_t ngroups, const struct zone_node *const *owner_node)
{
    char tbuf[16], name[DNAME_MAX * 4 + 1], dname[DNAME_MAX * 4 + 1];
    size_t warned = 0, more = 0;
    for (size_t gi = 0; gi < ngroups; gi++) {
        const struct zone_node *n = owner_node[gi];
        if (!(n->flags & ZONE_NODE_OCCLUDED))
            continue;
        const struct zone_node *up = occluding_dname(z, n->name, n->namelen);
        for (size_t i = groups[gi].first; i < groups[gi].end; i++) {
            const struct zone_src_rr *r = v[i];
            if (r->dropped)
                continue;
            if (warned++ >= OCCLUDED_WARN_MAX) {
                more++;
                continue;
            }
            log_warn("%s:%u: %s %s is below the DNAME at %s and is never served",
                     src->files[r->file], r->line, dname_to_text(r->owner, name, sizeof(name)),
                     type_name(r->type, tbuf, sizeof(tbuf)),
                     dname_to_text(up->name, dname, sizeof(dname)));
        }
    }
    if (more > 0)
        log_warn("%s: %zu more records below a DNAME are never served", src->files[0], more);
}

/* Nodes and hash chains first, so NS/MX/SRV targets can be resolved while RRsets are built. */
static int build_nodes(const struct zone_src *src, struct zone *z, struct zone_arena *a,
                       const struct name_set *s, struct zone_src_rr *const *v,
                       const struct owner_group *groups, size_t ngroups)
{
    z->nnodes = s->count;
    z->nbuckets = (uint32_t)pow2_at_least(s->count);
    const struct zone_node **buckets = zone__arena_alloc(a, z->nbuckets * sizeof(*buckets));
    struct zone_node *nodes = zone__arena_alloc(a, s->count * sizeof(*nodes));
    size_t on_size = s->count * sizeof(struct zone_node *);
    struct zone_node **owner_node = zone__big_alloc(on_size);
    if (buckets == NULL || nodes == NULL || owner_node == NULL) {
        zone__big_free(owner_node, on_size);
        return -ENOMEM;
    }
    z->buckets = buckets;
    size_t k = 0;
    for (size_t i = 0; i <= s->mask; i++) {
        const struct name_slot *x = &s->slots[i];
        if (x->name == NULL)
            continue;
        struct zone_node *n = &nodes[k++];
        uint8_t len = (uint8_t)dname_len(x->name);
        uint8_t *name = zone__arena_bytes(a, len);
        if (name == NULL) {
            zone__big_free(owner_node, on_size);
            return -ENOMEM;
        }
        memcpy(name, x->name, len);
        n->name = name;
        n->namelen = len;
        n->hash = x->hash;
        n->service = -1;
        if (len == z->origin_len && memcmp(name, z->origin, len) == 0) {
            n->flags |= ZONE_NODE_APEX;
            z->apex = n;
        }
        n->next = buckets[x->hash & (z->nbuckets - 1)];
        buckets[x->hash & (z->nbuckets - 1)] = n;
        if (x->group >= 0)
            owner_node[x->group] = n;
    }
    for (size_t gi = 0; gi < ngroups; gi++) {
        if (groups[gi].dname)
            owner_node[gi]->flags |= ZONE_NODE_DNAME;
        if (groups[gi].ns && !(owner_node[gi]->flags & ZONE_NODE_APEX))
            owner_node[gi]->flags |= ZONE_NODE_CUT; /* build_rrsets sets it too; needed here */
    }
    mark_occluded(z, nodes, s->count);
    warn_occluded(src, z, v, groups, ngroups, (const struct zone_node *const *)owner_node);
    int rc = 0;
    for (size_t gi = 0; rc == 0 && gi < ngroups; gi++)
        rc = build_rrsets(z, a, owner_node[gi], v, &groups[gi]);
    zone__big_free(owner_node, on_size);
    return rc;
}

static int finish_soa(struct zone *z, const char *file, struct err *e)
{
    z->soa = z->apex != NULL ? zone_node_rrset(z->apex, T_SOA) : NULL;
    if (z->soa == NULL || z->soa->count != 1)
        return err_set(e, GSLBD_EINVAL, file, 0, 0, "no single SOA record at the origin");
    const uint8_t *rd = z->soa->rrs[0].rdata;
    size_t len = z->soa->rrs[0].rdlen, off = 0;
    for (int i = 0; i < 2; i++) {
        struct dname_labels l;
        int n = off < len ? dname_split(rd + off, len - off, &l) : -1;
        if (n < 0)
            return err_set(e, GSLBD_EINVAL, file, 0, 0, "malformed SOA RDATA");
        off += (size_t)n;
    }
    if (len < off + 20)
        return err_set(e, GSLBD_EINVAL, file, 0, 0, "malformed SOA RDATA");
    z->serial = get32(rd + off);
    uint32_t minimum = get32(rd + off + 16);
    if (minimum & 0x80000000u) /* used as a TTL: TTL-1 */
        minimum = 0;
    z->neg_ttl = z->soa->ttl < minimum ? z->soa->ttl : minimum;
    return 0;
}

static int build(const struct zone_src *src, struct zone *z, const struct zone_extra *extra,
                 size_t nextra, struct err *e)
{
    struct zone_arena *a = z->priv;
    size_t v_size = (src->nrrs ? src->nrrs : 1) * sizeof(struct zone_src_rr *);
    size_t g_size = (src->nrrs ? src->nrrs : 1) * sizeof(struct owner_group);
    struct zone_src_rr **v = zone__big_alloc(v_size);
    struct owner_group *groups = zone__big_alloc(g_size);
    struct name_set set = {0};
    size_t ngroups = 0;
    int rc = v == NULL || groups == NULL ? -ENOMEM : 0;

    for (size_t i = 0; rc == 0 && i < src->nrrs; i++)
        v[i] = &src->rrs[i];
    if (rc == 0)
        drop_duplicates(src, v, src->nrrs);
    /* owner, type, then file order: only the runs of one RRset need sorting again, and
     * most hold one record */
    for (size_t i = 0, j; rc == 0 && i < src->nrrs; i = j) {
        for (j = i + 1; j < src->nrrs && v[j]->type == v[i]->type && cmp_name(v[i], v[j]) == 0;)
            j++;
        if (j - i > 1)
            qsort(v + i, j - i, sizeof(*v), cmp_file_order);
    }
    for (size_t i = 0; rc == 0 && i < src->nrrs; ngroups++) {
        size_t j = i + 1;
        while (j < src->nrrs && cmp_name(v[i], v[j]) == 0)
            j++;
        groups[ngroups] = (struct owner_group){i, j, 0, false, false};
        rc = check_owner(src, v, &groups[ngroups], e);
        i = j;
    }
    if (rc == 0)
        rc = collect_names(src, v, groups, ngroups, extra, nextra, &set);
    if (rc == 0)
        rc = build_nodes(src, z, a, &set, v, groups, ngroups);
    if (rc == 0)
        rc = finish_soa(z, src->files[0], e);
    for (size_t k = 0; rc == 0 && k < nextra; k++) {
        size_t len = dname_len(extra[k].name);
        struct zone_node *n = (struct zone_node *)(uintptr_t)zone_lookup(z, extra[k].name, len,
                                                                         dname_hash(extra[k].name));
        if (n != NULL) /* names outside the origin are the caller's error to report */
            n->service = extra[k].service;
    }
    if (rc == 0 && zone_node_rrset(z->apex, T_NS) == NULL)
        log_warn("%s: no NS records at the zone origin", src->files[0]);
    zone__big_free(set.slots, set.slots != NULL ? (set.mask + 1) * sizeof(*set.slots) : 0);
    zone__big_free(groups, g_size);
    zone__big_free(v, v_size);
    return rc;
}

/* ldns parses each record through three transient buffers of 64 KiB (the line, the RDATA
 * text, one field) that it allocates and frees per record. glibc gives the top of the heap
 * back to the kernel on free once more than M_TRIM_THRESHOLD (128 KiB unless a freed mmap'd
 * block happened to raise it) is free there, so whenever those buffers sit at the top of the
 * heap every record costs a shrink and a grow (brk) of 192 KiB: 7 times slower loads, and it
 * depended on the heap's layout before the load (a config file's zones paid it, --zone's
 * mostly did not). A fixed threshold above that keeps the heap steady during a load; the
 * load gives the memory it freed back once, at its end (zone_load_with). */
#define ZONE_TRIM_THRESHOLD (16 * 1024 * 1024)

static void heap_steady(void)
{
    mallopt(M_TRIM_THRESHOLD, ZONE_TRIM_THRESHOLD);
}

int zone_load(const char *origin, const char *file, struct zone **out, struct err *e)
{
    return zone_load_with(origin, file, NULL, 0, out, e);
}

int zone_load_with(const char *origin, const char *file, const struct zone_extra *extra,
                   size_t nextra, struct zone **out, struct err *e)
{
    return zone_load_limited(origin, file, extra, nextra, NULL, out, e);
}

int zone_load_limited(const char *origin, const char *file, const struct zone_extra *extra,
                      size_t nextra, const struct zone_limits *limits, struct zone **out,
                      struct err *e)
{
    if (origin == NULL || file == NULL || out == NULL)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "zone_load: missing argument");
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, heap_steady);
    struct zone_src src = {0};
    struct zone *z = NULL;
    int rc = zone__src_read(&src, origin, file, limits, e);
    if (rc == 0) {
        struct zone_arena *a = NULL;
        z = calloc(1, sizeof(*z));
        rc = z == NULL ? -ENOMEM : zone__arena_new(&a);
        if (rc == 0)
            z->priv = a;
    }
    if (rc == 0) {
        memcpy(z->origin, src.origin, src.origin_len);
        z->origin_len = src.origin_len;
        struct dname_labels l;
        dname_split(z->origin, DNAME_MAX, &l);
        z->origin_labels = l.count;
        size_t flen = strlen(file) + 1;
        z->file = zone__arena_alloc(z->priv, flen);
        rc = z->file == NULL ? -ENOMEM : build(&src, z, extra, nextra, e);
        if (rc == 0)
            memcpy(z->file, file, flen);
    }
    zone__src_clear(&src);
    malloc_trim(0); /* once per load: what the parse freed goes back to the kernel */
    if (rc != 0) {
        if (rc == -ENOMEM)
            err_oom(e, file);
        zone_free(z);
        return rc;
    }
    *out = z;
    return 0;
}
