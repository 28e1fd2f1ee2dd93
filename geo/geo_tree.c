/* geo_tree.c: a MaxMind DB opened, its search tree checked and turned into our lookup tree. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "geo/geo_int.h"

#define UNSEEN 0xffu
#define ON_STACK 0xfeu
#define NO_ID 0xffffffffu
#define HUGE_PAGE ((size_t)2 << 20)

/* The MMDB data section starts 16 bytes after the tree; record values in between are invalid. */
#define DATA_SEPARATOR 16u

struct walk {
    struct geo *g;
    const char *path;
    char *errbuf;
    size_t errlen;
    uint32_t nodes; /* MMDB node count */
    uint8_t bits;
    /* data offset -> record index, open addressing; keys hold offset + 1, 0 = empty */
    uint32_t *hkey, *hval;
    size_t hcap, hcount;
    size_t reccap;
    size_t with_data; /* records with coordinates, a country or a continent */
    /* answer (rank, source) -> class index, open addressing; keys hold key + 1 */
    uint64_t *ckey;
    uint32_t *cval;
    size_t ccap;
    /* MMDB node -> what it collapses to: a leaf value (0 = no data, i + 1 = recs[i])
     * when every address below it gets the same answer, else KEEP (it stays a node) */
    uint32_t *memo;
    /* MMDB node -> the nearest region (rank[0]) every address below it gets, or MIXED */
    uint8_t *near;
};

#define KEEP 0xffffffffu
#define UNSET 0xfffffffeu
#define MIXED 0xffu /* GEO_MAX_REGIONS is below it */

/* Both records of MMDB node n, for the three record sizes the format defines. */
static void read_node(const MMDB_s *m, uint32_t n, uint32_t rec[2])
{
    const uint8_t *p = m->file_content + (size_t)n * m->full_record_byte_size;
    switch (m->metadata.record_size) {
    case 24:
        rec[0] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        rec[1] = (uint32_t)p[3] << 16 | (uint32_t)p[4] << 8 | p[5];
        break;
    case 28:
        rec[0] = (uint32_t)(p[3] & 0xf0) << 20 | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        rec[1] = (uint32_t)(p[3] & 0x0f) << 24 | (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6];
        break;
    default: /* 32, checked at open */
        rec[0] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        rec[1] = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
        break;
    }
}

static int bad_record(const struct walk *w, uint32_t node, uint32_t v)
{
    return geo__err(w->errbuf, w->errlen, -EBADMSG,
                    "%s: corrupt search tree: node %u holds %u (%u nodes, data section of %u "
                    "bytes)",
                    w->path, node, v, w->nodes, w->g->mmdb.data_section_size);
}

/* Check every node reachable from the root once, depth first: record values in range, no
 * cycles, no path longer than the address. h[n] ends as the height of n's subtree, which
 * bounds a node shared by several paths (the IPv4 aliases) wherever it is met again.
 * *reach gets the number of reachable nodes. */
static int check_tree(struct walk *w, uint32_t *reach)
{
    const MMDB_s *m = &w->g->mmdb;
    struct frame {
        uint32_t node;
        uint8_t side;   /* next record to look at: 0, 1, or 2 = done */
        uint8_t height; /* max over records seen so far */
    } stack[129];
    uint8_t *h = malloc(w->nodes);
    if (h == NULL)
        return geo__err(w->errbuf, w->errlen, -ENOMEM, "%s: out of memory", w->path);
    memset(h, UNSEEN, w->nodes);
    int rc = 0;
    uint32_t count = 1;
    size_t sp = 1;
    stack[0] = (struct frame){0, 0, 1};
    h[0] = ON_STACK;
    while (sp > 0 && rc == 0) {
        struct frame *f = &stack[sp - 1];
        if (f->side == 2) {
            h[f->node] = f->height;
            if (--sp > 0 && stack[sp - 1].height < f->height + 1)
                stack[sp - 1].height = (uint8_t)(f->height + 1);
            continue;
        }
        uint32_t rec[2];
        read_node(m, f->node, rec);
        uint32_t v = rec[f->side++];
        if (v == w->nodes)
            continue;
        if (v > w->nodes) {
            if (v - w->nodes < DATA_SEPARATOR ||
                v - w->nodes - DATA_SEPARATOR >= m->data_section_size)
                rc = bad_record(w, f->node, v);
            continue;
        }
        /* The child sits at depth sp and consumes bit sp of the address. */
        if (h[v] == ON_STACK) {
            rc = geo__err(w->errbuf, w->errlen, -EBADMSG,
                          "%s: corrupt search tree: cycle through node %u", w->path, v);
        } else if (h[v] != UNSEEN) {
            if (sp + h[v] > w->bits)
                rc = geo__err(w->errbuf, w->errlen, -EBADMSG,
                              "%s: corrupt search tree: deeper than %u bits", w->path, w->bits);
            else if (f->height < h[v] + 1)
                f->height = (uint8_t)(h[v] + 1);
        } else if (sp >= w->bits) {
            rc = geo__err(w->errbuf, w->errlen, -EBADMSG,
                          "%s: corrupt search tree: deeper than %u bits", w->path, w->bits);
        } else {
            h[v] = ON_STACK;
            stack[sp++] = (struct frame){v, 0, 1};
            count++;
        }
    }
    free(h);
    *reach = count;
    return rc;
}

static size_t mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x45d9f3bu;
    x ^= x >> 16;
    return x;
}

static int hash_grow(struct walk *w)
{
    size_t ncap = w->hcap ? w->hcap * 2 : 1024;
    uint32_t *nk = calloc(ncap, sizeof(*nk));
    uint32_t *nv = malloc(ncap * sizeof(*nv));
    if (nk == NULL || nv == NULL) {
        free(nk);
        free(nv);
        return -ENOMEM;
    }
    for (size_t i = 0; i < w->hcap; i++) {
        if (w->hkey[i] == 0)
            continue;
        size_t s = mix(w->hkey[i]) & (ncap - 1);
        while (nk[s] != 0)
            s = (s + 1) & (ncap - 1);
        nk[s] = w->hkey[i];
        nv[s] = w->hval[i];
    }
    free(w->hkey);
    free(w->hval);
    w->hkey = nk;
    w->hval = nv;
    w->hcap = ncap;
    return 0;
}

/* The answer class of (rank, source): recs[] holds one entry per distinct answer, so
 * adjacent networks that answer alike end in the same leaf value and can be merged. */
static int class_for(struct walk *w, uint32_t rank, uint8_t source, uint32_t *idx)
{
    struct geo *g = w->g;
    uint64_t key = ((uint64_t)rank << 8 | source) + 1;
    if ((g->nrecs + 1) * 2 > w->ccap) {
        size_t ncap = w->ccap ? w->ccap * 2 : 64;
        uint64_t *nk = calloc(ncap, sizeof(*nk));
        uint32_t *nv = malloc(ncap * sizeof(*nv));
        if (nk == NULL || nv == NULL) {
            free(nk);
            free(nv);
            return geo__err(w->errbuf, w->errlen, -ENOMEM, "%s: out of memory", w->path);
        }
        for (size_t i = 0; i < w->ccap; i++) {
            if (w->ckey[i] == 0)
                continue;
            size_t t = mix((uint32_t)(w->ckey[i] ^ w->ckey[i] >> 32)) & (ncap - 1);
            while (nk[t] != 0)
                t = (t + 1) & (ncap - 1);
            nk[t] = w->ckey[i];
            nv[t] = w->cval[i];
        }
        free(w->ckey);
        free(w->cval);
        w->ckey = nk;
        w->cval = nv;
        w->ccap = ncap;
    }
    size_t s = mix((uint32_t)(key ^ key >> 32)) & (w->ccap - 1);
    for (; w->ckey[s] != 0; s = (s + 1) & (w->ccap - 1)) {
        if (w->ckey[s] == key) {
            *idx = w->cval[s];
            return 0;
        }
    }
    if (g->nrecs >= GEO__MAX_RECS)
        return geo__err(w->errbuf, w->errlen, -EBADMSG, "%s: too many records", w->path);
    if (g->nrecs == w->reccap) {
        size_t ncap = w->reccap ? w->reccap * 2 : 64;
        struct geo__rec *nr = realloc(g->recs, ncap * sizeof(*nr));
        if (nr == NULL)
            return geo__err(w->errbuf, w->errlen, -ENOMEM, "%s: out of memory", w->path);
        g->recs = nr;
        w->reccap = ncap;
    }
    g->recs[g->nrecs] = (struct geo__rec){.rank = rank, .source = source};
    *idx = g->nrecs++;
    w->ckey[s] = key;
    w->cval[s] = *idx;
    return 0;
}

/* The answer of the record at data offset off: its pool ranking and enum geo_source;
 * *with_data says whether it has coordinates, a country or a continent. -EBADMSG (with
 * *mmdb_status) for a corrupt record, -ENOMEM. */
static int record_answer(struct geo *g, uint32_t off, uint32_t *rank, uint8_t *source,
                         bool *with_data, int *mmdb_status)
{
    struct geo__fields f;
    if (geo__record_decode(g, off, false, &f, mmdb_status) != 0)
        return -EBADMSG;
    const struct geo__pin *pin = geo__pin_find(g, f.country, f.continent);
    if (pin != NULL) {
        *rank = pin->rank;
        *source = pin->continent ? GEO_SRC_CONTINENT : GEO_SRC_COUNTRY;
    } else if (f.has_coords) {
        uint16_t r[GEO_MAX_REGIONS];
        geo__rank_by_distance(g, f.lat, f.lon, r);
        if (geo__pool_add(&g->pool, r, rank) != 0)
            return -ENOMEM;
        *source = GEO_SRC_COORDS;
    } else {
        *rank = g->default_rank;
        *source = GEO_SRC_DEFAULT;
    }
    *with_data = f.has_coords || f.country[0] != '\0' || f.continent[0] != '\0';
    return 0;
}

/* Decode and rank the record at data offset off, once per distinct offset; *idx gets the
 * index of its answer class in recs[]. */
static int record_for(struct walk *w, uint32_t off, uint32_t *idx)
{
    struct geo *g = w->g;
    if (w->hcap == 0 && hash_grow(w) != 0)
        return geo__err(w->errbuf, w->errlen, -ENOMEM, "%s: out of memory", w->path);
    size_t s = mix(off + 1) & (w->hcap - 1);
    for (; w->hkey[s] != 0; s = (s + 1) & (w->hcap - 1)) {
        if (w->hkey[s] == off + 1) {
            *idx = w->hval[s];
            return 0;
        }
    }
    uint32_t rank = 0;
    uint8_t source = 0;
    bool with_data = false;
    int st = 0;
    int rc = record_answer(g, off, &rank, &source, &with_data, &st);
    if (rc == -ENOMEM)
        return geo__err(w->errbuf, w->errlen, -ENOMEM, "%s: out of memory", w->path);
    if (rc != 0)
        return geo__err(w->errbuf, w->errlen, -EBADMSG, "%s: invalid data record at offset %u: %s",
                        w->path, off, MMDB_strerror(st));
    if (with_data)
        w->with_data++;
    rc = class_for(w, rank, source, idx);
    if (rc != 0)
        return rc;
    w->hkey[s] = off + 1;
    w->hval[s] = *idx;
    if (++w->hcount * 2 > w->hcap && hash_grow(w) != 0)
        return geo__err(w->errbuf, w->errlen, -ENOMEM, "%s: out of memory", w->path);
    return 0;
}

/* The leaf value (0 = no data, i + 1 = recs[i]) of MMDB record value v, or KEEP when v
 * is a node that does not collapse. Nodes must have their memo set already. */
static int leaf_of(struct walk *w, uint32_t v, uint32_t *out)
{
    if (v == w->nodes) {
        *out = 0;
        return 0;
    }
    if (v < w->nodes) {
        *out = w->memo[v];
        return 0;
    }
    uint32_t idx = 0;
    int rc = record_for(w, v - w->nodes - DATA_SEPARATOR, &idx);
    *out = idx + 1;
    return rc;
}

/* The nearest region of leaf value lv (0 = no data: the default order's first). */
static uint8_t leaf_near(const struct walk *w, uint32_t lv)
{
    const struct geo *g = w->g;
    return (uint8_t)(lv == 0 ? g->order[0] : g->pool.v[g->recs[lv - 1].rank]);
}

/* The nearest region of every address below MMDB record value v (leaf value lv, from
 * leaf_of), or MIXED. */
static uint8_t near_of(const struct walk *w, uint32_t v, uint32_t lv)
{
    return lv != KEEP ? leaf_near(w, lv) : w->near[v];
}

/* Merge by answer: bottom up over the checked tree, a node whose two halves get the same
 * answer (both collapse to the same leaf value) becomes that leaf, so a lookup stops at the
 * widest network that answers alike and its depth, the ECS scope, is that network's. Nodes
 * shared by several paths (the IPv4 aliases) are visited once. On the way each node learns
 * whether its addresses share one nearest region (near[]): the nearest-region scope. */
static int collapse(struct walk *w)
{
    const MMDB_s *m = &w->g->mmdb;
    struct frame {
        uint32_t node;
        uint8_t side;
    } stack[130];
    w->memo = malloc((size_t)w->nodes * sizeof(*w->memo));
    w->near = malloc(w->nodes);
    if (w->memo == NULL || w->near == NULL)
        return geo__err(w->errbuf, w->errlen, -ENOMEM, "%s: out of memory", w->path);
    for (uint32_t i = 0; i < w->nodes; i++)
        w->memo[i] = UNSET;
    size_t sp = 1;
    stack[0] = (struct frame){0, 0};
    int rc = 0;
    while (sp > 0 && rc == 0) {
        struct frame *f = &stack[sp - 1];
        uint32_t rec[2];
        read_node(m, f->node, rec);
        if (f->side < 2) {
            uint32_t v = rec[f->side++];
            if (v < w->nodes && w->memo[v] == UNSET) /* checked: no cycle, depth bounded */
                stack[sp++] = (struct frame){v, 0};
            continue;
        }
        uint32_t a = 0, b = 0;
        rc = leaf_of(w, rec[0], &a);
        if (rc == 0)
            rc = leaf_of(w, rec[1], &b);
        if (rc != 0)
            break;
        w->memo[f->node] = a != KEEP && a == b ? a : KEEP;
        uint8_t na = near_of(w, rec[0], a), nb = near_of(w, rec[1], b);
        w->near[f->node] = na == nb && !w->g->ranking_scope ? na : MIXED;
        sp--;
    }
    return rc;
}

/* The 16 slots of the lookup node rooted at MMDB node b: walk 4 levels of b's subtree,
 * one level at a time; a leaf met early fills every slot below it. Node slots hold MMDB
 * node numbers here; build_tree() renumbers them and adds near[j]: m (1..4) when the
 * network m bits below b on the way to slot j has one nearest region, else 0. A leaf
 * carries its m itself. */
static int expand(struct walk *w, uint32_t b, uint32_t slot[16], uint8_t near[16])
{
    uint32_t cur[16], nxt[16];
    uint8_t cm[16], nm[16];
    size_t ncur = 1;
    cur[0] = b;
    cm[0] = 0;
    for (unsigned k = 0; k < GEO__STRIDE; k++) {
        for (size_t j = 0; j < ncur; j++) {
            if ((cur[j] & GEO__LEAF) != 0) {
                nxt[2 * j] = nxt[2 * j + 1] = cur[j];
                nm[2 * j] = nm[2 * j + 1] = cm[j];
                continue;
            }
            uint32_t rec[2];
            read_node(&w->g->mmdb, cur[j], rec);
            for (int s = 0; s < 2; s++) {
                uint32_t v = rec[s], leaf = 0;
                int rc = leaf_of(w, v, &leaf);
                if (rc != 0)
                    return rc;
                /* the highest such network wins: it holds the lower ones */
                uint8_t m = cm[j];
                if (m == 0 && (leaf != KEEP || w->near[v] != MIXED))
                    m = (uint8_t)(k + 1);
                nm[2 * j + (size_t)s] = m;
                nxt[2 * j + (size_t)s] =
                    leaf == KEEP ? v : GEO__LEAF | k << 29 | (uint32_t)(m - 1) << 27 | leaf;
            }
        }
        ncur *= 2;
        memcpy(cur, nxt, ncur * sizeof(*cur));
        memcpy(cm, nm, ncur);
    }
    memcpy(slot, cur, sizeof(cur));
    memcpy(near, cm, sizeof(cm));
    return 0;
}

/* Move a big tree to memory backed by transparent huge pages: random lookups over tens of
 * megabytes otherwise pay a TLB miss on top of the cache miss at nearly every level. */
static void settle(struct geo__tree *t, size_t cap)
{
    size_t bytes = (size_t)t->nnodes * 16 * sizeof(*t->node);
    if (bytes >= HUGE_PAGE) {
        size_t len = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED) {
            (void)madvise(m, len, MADV_HUGEPAGE); /* a hint: fine if unsupported */
            memcpy(m, t->node, bytes);
            free(t->node);
            t->node = m;
            t->mapped = len;
            return;
        }
    }
    if (t->nnodes < cap) {
        uint32_t *nn = realloc(t->node, bytes);
        if (nn != NULL)
            t->node = nn;
    }
}

/* Build the lookup tree breadth first from the checked MMDB tree. A lookup node is rooted
 * at an MMDB node met at a depth divisible by 4; one met that way on several paths (the
 * IPv4 aliases) gets one lookup node. */
static int build_tree(struct walk *w, uint32_t reach)
{
    struct geo *g = w->g;
    struct geo__tree *t = &g->tree;
    uint32_t *id = malloc((size_t)w->nodes * sizeof(*id));
    uint32_t *queue = malloc((size_t)reach * sizeof(*queue));
    size_t cap = 64;
    t->node = malloc(cap * 16 * sizeof(*t->node));
    int rc = 0;
    if (id == NULL || queue == NULL || t->node == NULL) {
        rc = geo__err(w->errbuf, w->errlen, -ENOMEM, "%s: out of memory", w->path);
        goto out;
    }
    memset(id, 0xff, (size_t)w->nodes * sizeof(*id));
    id[0] = 0;
    queue[0] = 0;
    uint32_t tail = 1;
    for (uint32_t head = 0; head < tail && rc == 0; head++) {
        if (head == cap) {
            uint32_t *nn = realloc(t->node, cap * 2 * 16 * sizeof(*nn));
            if (nn == NULL) {
                rc = geo__err(w->errbuf, w->errlen, -ENOMEM, "%s: out of memory", w->path);
                break;
            }
            t->node = nn;
            cap *= 2;
        }
        uint32_t *slot = t->node + 16 * (size_t)head;
        uint8_t near[16];
        rc = expand(w, queue[head], slot, near);
        for (int j = 0; j < 16 && rc == 0; j++) {
            uint32_t v = slot[j];
            if ((v & GEO__LEAF) != 0)
                continue;
            if (id[v] == NO_ID) {
                if (tail > GEO__MAX_TREE_NODES) {
                    rc = geo__err(w->errbuf, w->errlen, -EBADMSG, "%s: search tree too large",
                                  w->path);
                    break;
                }
                id[v] = tail; /* at most one lookup node per reachable MMDB node */
                queue[tail++] = v;
            }
            /* only where the network of one nearest region starts: below it node values
             * stay bare indexes, so the rest of a lookup needs no masking */
            if (near[j] != 0 && w->near[queue[head]] == MIXED)
                slot[j] = id[v] | GEO__NEAR | (uint32_t)(near[j] - 1) << 27;
            else
                slot[j] = id[v];
        }
        t->nnodes = head + 1;
    }
    if (rc == 0)
        settle(t, cap);
out:
    free(id);
    free(queue);
    return rc;
}

/* Where IPv4 starts in an IPv6 tree: after 96 zero bits, or at a leaf above them; and
 * whether a network on the way, so all of IPv4, has one nearest region. */
static void find_v4_start(struct geo__tree *t)
{
    uint32_t v = 0;
    unsigned d = 0;
    t->v4_near = t->root_near;
    if (t->bits == 128) {
        while (d < 96 && (v & GEO__LEAF) == 0) {
            v = t->node[16 * (size_t)GEO__NODE(v)];
            d += GEO__STRIDE;
            if ((v & (GEO__LEAF | GEO__NEAR)) != 0)
                t->v4_near = true;
        }
        if ((v & GEO__LEAF) != 0)
            d = d - GEO__STRIDE + GEO__LEAF_K(v) + 1;
    }
    t->v4_start = v;
    t->v4_depth = (uint8_t)d;
}

int geo__db_open(struct geo *g, const char *path, char *errbuf, size_t errlen)
{
    /* A FIFO would block open() forever; for a directory or an empty file libmaxminddb
     * reports mmap's errno ("No such device", "Invalid argument"): name the real problem. */
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return geo__err(errbuf, errlen, -EISDIR, "%s: cannot open: %s", path, strerror(EISDIR));
        if (!S_ISREG(sb.st_mode))
            return geo__err(errbuf, errlen, -EINVAL, "%s: cannot open: not a regular file", path);
        if (sb.st_size == 0)
            return geo__err(errbuf, errlen, -EBADMSG, "%s: not a MaxMind DB: empty file", path);
    }
    errno = 0;
    int st = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
    if (st != MMDB_SUCCESS) {
        int e = errno;
        if (st == MMDB_FILE_OPEN_ERROR || st == MMDB_IO_ERROR) {
            if (e == 0)
                e = EIO;
            return geo__err(errbuf, errlen, -e, "%s: cannot %s: %s", path,
                            st == MMDB_FILE_OPEN_ERROR ? "open" : "read", strerror(e));
        }
        if (st == MMDB_OUT_OF_MEMORY_ERROR)
            return geo__err(errbuf, errlen, -ENOMEM, "%s: out of memory", path);
        return geo__err(errbuf, errlen, -EBADMSG, "%s: not a MaxMind DB: %s", path,
                        MMDB_strerror(st));
    }
    g->has_db = true;
    const MMDB_s *m = &g->mmdb;
    const MMDB_metadata_s *md = &m->metadata;
    if (md->ip_version != 4 && md->ip_version != 6)
        return geo__err(errbuf, errlen, -EBADMSG, "%s: not a MaxMind DB: ip_version %u", path,
                        (unsigned)md->ip_version);
    if ((md->record_size != 24 && md->record_size != 28 && md->record_size != 32) ||
        m->full_record_byte_size != md->record_size / 4)
        return geo__err(errbuf, errlen, -EBADMSG, "%s: not a MaxMind DB: record size %u", path,
                        (unsigned)md->record_size);
    if (md->node_count == 0 || md->node_count > GEO__MAX_NODES ||
        m->data_section < m->file_content ||
        (uint64_t)(m->data_section - m->file_content) <
            (uint64_t)md->node_count * m->full_record_byte_size)
        return geo__err(errbuf, errlen, -EBADMSG, "%s: not a MaxMind DB: node count %u", path,
                        (unsigned)md->node_count);

    struct walk w = {
        .g = g,
        .path = path,
        .errbuf = errbuf,
        .errlen = errlen,
        .nodes = md->node_count,
        .bits = md->ip_version == 4 ? 32 : 128,
    };
    g->tree.bits = w.bits;
    uint32_t reach = 0;
    int rc = check_tree(&w, &reach);
    if (rc == 0)
        rc = collapse(&w);
    if (rc == 0) {
        g->tree.root_near = w.memo[0] != KEEP || w.near[0] != MIXED;
        rc = build_tree(&w, reach);
    }
    free(w.hkey);
    free(w.hval);
    free(w.ckey);
    free(w.cval);
    free(w.memo);
    free(w.near);
    if (rc != 0)
        return rc;
    if (w.with_data == 0)
        return geo__err(errbuf, errlen, -EBADMSG,
                        "%s: no record has coordinates, a country or a continent (database "
                        "type %s): not a City or Country database",
                        path, md->database_type ? md->database_type : "?");
    if (g->nrecs > 0 && g->nrecs < w.reccap) {
        struct geo__rec *nr = realloc(g->recs, g->nrecs * sizeof(*nr));
        if (nr != NULL)
            g->recs = nr;
    }
    find_v4_start(&g->tree);
    /* The walk read every page of the file; after it only geo_describe() (explain) reads a
     * few records. Drop the pages from our resident set: they stay in the page cache and
     * come back on demand. */
    (void)madvise((void *)(uintptr_t)m->file_content, m->file_size, MADV_DONTNEED);
    return 0;
}

void geo__db_free(struct geo *g)
{
    if (g->has_db)
        MMDB_close(&g->mmdb);
    g->has_db = false;
    if (g->tree.mapped != 0)
        munmap(g->tree.node, g->tree.mapped);
    else
        free(g->tree.node);
    g->tree.mapped = 0;
    free(g->recs);
    g->tree.node = NULL;
    g->recs = NULL;
    g->nrecs = 0;
}
