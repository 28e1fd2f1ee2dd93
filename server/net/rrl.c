/* rrl.c: response rate limiting: per-worker token accounts, their keys, slips and logs. */
#include "server/net/rrl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "server/dns/dname.h"
#include "server/log.h"
#include "server/siphash.h"

/* One account. balance is the responses still allowed: at most one second's worth
 * (responses_per_second); a flood drives it into debt down to -rate * window, so a source
 * that kept flooding must stay quiet for up to window_s before it is answered again. */
struct rrl_entry {
    uint32_t tag; /* the upper half of the key's hash */
    int32_t balance;
    uint32_t last; /* the second the account was last credited */
    uint16_t slip; /* limited responses since the last slip */
    uint8_t used;
    uint8_t logged; /* this limiting episode was logged */
};

_Static_assert(sizeof(struct rrl_entry) * RRL_WAYS == 64, "a set is one cache line");

struct rrl_table {
    struct rrl_entry *e; /* nsets * RRL_WAYS entries, 64-byte aligned, inside mem */
    void *mem;
    uint32_t set_mask; /* nsets - 1 */
    uint8_t key[SIPHASH_KEY_LEN];
    uint32_t log_second; /* log budget: lines logged in log_second */
    uint32_t log_count;
};

int rrl_table_new(uint32_t entries, struct rrl_table **out)
{
    uint32_t n = RRL_WAYS;
    while (n < entries && n < (1u << 30))
        n <<= 1;
    struct rrl_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    int r = siphash_random_key(t->key);
    if (r < 0) {
        free(t);
        return r;
    }
    /* calloc of a large block maps zero pages: an idle table costs no memory until used */
    t->mem = calloc(1, (size_t)n * sizeof(struct rrl_entry) + 64);
    if (t->mem == NULL) {
        free(t);
        return -ENOMEM;
    }
    t->e = (struct rrl_entry *)(((uintptr_t)t->mem + 63) & ~(uintptr_t)63);
    t->set_mask = n / RRL_WAYS - 1;
    *out = t;
    return 0;
}

void rrl_table_free(struct rrl_table *t)
{
    if (t == NULL)
        return;
    free(t->mem);
    free(t);
}

uint32_t rrl_table_entries(const struct rrl_table *t)
{
    return (t->set_mask + 1) * RRL_WAYS;
}

/* The client's prefix: *fam 4 or 6 and its address bytes masked to the configured length.
 * Returns the byte count (4 or 16), 0 for an unknown family. */
static size_t client_prefix(const struct conf_rrl *c, const struct query_client *cl, uint8_t *fam,
                            uint8_t addr[16])
{
    if (cl->len == 0)
        return 0;
    unsigned bits = cl->family == AF_INET ? c->ipv4_prefix : c->ipv6_prefix;
    *fam = cl->family == AF_INET ? 4 : 6;
    for (size_t i = 0; i < cl->len; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * (unsigned)i : 0;
        addr[i] = (uint8_t)(cl->addr[i] & (uint8_t)(0xFF00u >> keep));
    }
    return cl->len;
}

static bool exempt(const struct conf_rrl *c, const struct query_client *cl)
{
    const uint8_t *a = cl->addr;
    int fam = cl->family;
    for (size_t i = 0; i < c->nexempt; i++) {
        const struct conf_cidr *n = &c->exempt[i];
        if (n->family != fam)
            continue;
        unsigned full = n->prefix / 8u, rest = n->prefix % 8u;
        if (memcmp(a, n->addr, full) != 0)
            continue;
        if (rest == 0 || ((a[full] ^ n->addr[full]) & (uint8_t)(0xFF00u >> rest)) == 0)
            return true;
    }
    return false;
}

static const char *const class_names[] = {"answer", "nodata", "nxdomain", "referral", "error"};

static const char *type_name(uint16_t t, char *buf, size_t n)
{
    static const struct {
        uint16_t t;
        const char *name;
    } known[] = {{1, "A"},    {2, "NS"},    {5, "CNAME"}, {6, "SOA"}, {12, "PTR"},  {15, "MX"},
                 {16, "TXT"}, {28, "AAAA"}, {33, "SRV"},  {43, "DS"}, {255, "ANY"}, {257, "CAA"}};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (known[i].t == t)
            return known[i].name;
    snprintf(buf, n, "TYPE%u", t);
    return buf;
}

/* One line per limiting episode, within the table's budget: the start of a flood is what an
 * operator needs to see, not every response of it. */
static void log_episode(struct rrl_table *t, const struct conf_rrl *c, const struct query_out *o,
                        uint8_t fam, const uint8_t *addr, uint32_t now)
{
    if (t->log_second != now) {
        t->log_second = now;
        t->log_count = 0;
    }
    if (t->log_count >= RRL_LOG_PER_SEC || log_get_level() < LOG_INFO)
        return;
    t->log_count++;
    char ip[INET6_ADDRSTRLEN], what[DNAME_MAX * 4 + 32], tbuf[16];
    inet_ntop(fam == 4 ? AF_INET : AF_INET6, addr, ip, sizeof(ip));
    const char *cls = o->rclass < 5 ? class_names[o->rclass] : "?";
    if (o->rclass == QUERY_RC_ERROR) {
        snprintf(what, sizeof(what), "%s rcode %u", cls, o->rcode);
    } else {
        char name[DNAME_MAX * 4 + 1];
        dname_to_text(o->name, name, sizeof(name));
        if (o->rclass == QUERY_RC_ANSWER)
            snprintf(what, sizeof(what), "%s %s %s", cls, name,
                     type_name(o->qtype, tbuf, sizeof(tbuf)));
        else
            snprintf(what, sizeof(what), "%s %s", cls, name);
    }
    log_info("rrl: %s responses to %s/%u (%s): over %u per second",
             c->log_only ? "would limit" : "limiting", ip,
             fam == 4 ? c->ipv4_prefix : c->ipv6_prefix, what, c->responses_per_second);
}

/* The account of key hash h: the entry holding it, or the set's free or least recently
 * credited entry, reset. */
static struct rrl_entry *account(struct rrl_table *t, uint64_t h, uint32_t now, int32_t rate,
                                 bool *fresh)
{
    struct rrl_entry *set = &t->e[(size_t)((uint32_t)h & t->set_mask) * RRL_WAYS];
    uint32_t tag = (uint32_t)(h >> 32);
    struct rrl_entry *victim = NULL;
    int64_t oldest = INT64_MIN;
    for (int i = 0; i < RRL_WAYS; i++) {
        struct rrl_entry *e = &set[i];
        if (e->used && e->tag == tag) {
            *fresh = false;
            return e;
        }
        int64_t age = e->used ? (int64_t)(int32_t)(now - e->last) : INT64_MAX;
        if (age > oldest) {
            victim = e;
            oldest = age;
        }
    }
    *victim = (struct rrl_entry){.tag = tag, .balance = rate, .last = now, .used = 1};
    *fresh = true;
    return victim;
}

enum rrl_action rrl_check(struct rrl_table *t, const struct conf_rrl *c, const struct query_out *o,
                          const struct sockaddr *src, uint32_t now_s)
{
    /* key: family, response class, QTYPE (answers) or RCODE (errors), name, client prefix */
    uint8_t in[8 + 16];
    struct query_client cl = query_client_of(src);
    size_t n = client_prefix(c, &cl, &in[0], in + 8);
    if (n == 0)
        return RRL_PASS;
    uint16_t sub = o->rclass == QUERY_RC_ANSWER  ? o->qtype
                   : o->rclass == QUERY_RC_ERROR ? o->rcode
                                                 : 0;
    uint32_t nh = o->rclass == QUERY_RC_ERROR ? 0 : o->name_hash;
    in[1] = o->rclass;
    in[2] = (uint8_t)(sub >> 8);
    in[3] = (uint8_t)sub;
    memcpy(in + 4, &nh, 4);
    uint64_t h = siphash24(t->key, in, 8 + n);

    int32_t rate = (int32_t)c->responses_per_second;
    bool fresh;
    struct rrl_entry *e = account(t, h, now_s, rate, &fresh);
    int32_t age = (int32_t)(now_s - e->last);
    if (!fresh && age > 0) { /* a clock step back counts as no time */
        if ((uint32_t)age > c->window_s) {
            e->balance = rate;
            e->slip = 0;
        } else {
            int64_t b = (int64_t)e->balance + (int64_t)rate * age;
            if (b >= rate) {
                b = rate;
                e->slip = 0;
            }
            e->balance = (int32_t)b;
        }
        e->last = now_s;
    }
    if (--e->balance >= 0) {
        e->logged = 0;
        return RRL_PASS;
    }
    int32_t floor = -(int32_t)c->window_s * rate;
    if (e->balance < floor)
        e->balance = floor;

    if (c->nexempt > 0 && exempt(c, &cl))
        return RRL_EXEMPT;
    if (!e->logged) {
        e->logged = 1;
        log_episode(t, c, o, in[0], in + 8, now_s);
    }
    if (c->log_only)
        return RRL_LOG_ONLY;
    if (c->slip == 0)
        return RRL_DROP;
    /* as BIND: the first limited response of every `slip` is sent truncated */
    bool slip = e->slip == 0;
    if (++e->slip >= c->slip)
        e->slip = 0;
    return slip ? RRL_SLIP : RRL_DROP;
}
