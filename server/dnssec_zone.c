/* dnssec_zone.c: a static zone signed at load (issue 18, first phase): the zone's key is
 * read, every authoritative RRset gets an RRSIG, the apex gets the DNSKEY RRset (signed
 * too). The query path finds an RRset's RRSIG by the RRset's address in a read-only open
 * addressing table: no allocation, no lock, no signing per query. */
#include "server/dnssec_zone.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/dnssec.h"
#include "server/dnssec_online.h"
#include "server/dns/wire.h"

#define DNS_T_CDS 59
#define DNS_T_CDNSKEY 60
enum { KS_DNSKEY, KS_CDS, KS_CDNSKEY, KS_N };
static const uint16_t keyset_types[KS_N] = {DNS_T_DNSKEY, DNS_T_CDS, DNS_T_CDNSKEY};

struct sig_ent {
    const struct zone_rrset *rs; /* NULL: an empty slot */
    struct wire_rr sig;          /* the RRSIG RDATA */
};

struct presig {
    uint64_t key; /* service << 33 | cluster << 1 | family, + 1; 0: an empty slot */
    struct wire_rr sig;
};

struct dnssec_zone {
    struct sig_ent *tab;
    uint32_t mask;
    size_t nsigs;
    uint32_t inception, expiration, refresh_at;
    int64_t signed_at;
    uint64_t keys_fp;              /* dnssec_keys_fingerprint of the keys at signed_at */
    int64_t key_check_at;          /* atomic: when the keys must be looked at again; 0 never */
    struct dnssec_keyset ks;       /* owned */
    const struct dnssec_key *zkey; /* in ks: signs the zone's data, also while answering */
    /* the apex's DNSKEY, CDS and CDNSKEY RRsets (CDS ones empty when no KSK is named), each
     * signed by every key that signs keys (two during a KSK roll) */
    struct zone_rrset keysets[KS_N];
    struct wire_rr keyrrs[KS_N][DNSSEC_MAX_KEYS];
    uint8_t keyrdata[KS_N][DNSSEC_MAX_KEYS][DNSSEC_DNSKEY_RDATA_LEN];
    struct wire_rr keysigs[KS_N][DNSSEC_MAX_KEYS];
    size_t nkeysigs[KS_N];
    struct presig *pre; /* GSLB answers signed ahead, open addressing */
    uint32_t pre_mask;  /* 0: no table */
    size_t npre;
};

static uint32_t slot_of(const struct dnssec_zone *s, const struct zone_rrset *rs)
{
    uint64_t h = (uint64_t)(uintptr_t)rs * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32) & s->mask;
}

const struct wire_rr *dnssec_zone_sigs(const struct dnssec_zone *s, const struct zone_rrset *rs,
                                       size_t *n)
{
    if (rs >= s->keysets && rs < s->keysets + KS_N) {
        *n = s->nkeysigs[rs - s->keysets];
        return *n > 0 ? s->keysigs[rs - s->keysets] : NULL;
    }
    *n = 1;
    for (uint32_t i = slot_of(s, rs);; i = (i + 1) & s->mask) {
        if (s->tab[i].rs == rs)
            return &s->tab[i].sig;
        if (s->tab[i].rs == NULL) {
            *n = 0;
            return NULL;
        }
    }
}

const struct wire_rr *dnssec_zone_sig(const struct dnssec_zone *s, const struct zone_rrset *rs)
{
    size_t n;
    return dnssec_zone_sigs(s, rs, &n);
}

const struct zone_rrset *dnssec_zone_dnskey(const struct dnssec_zone *s)
{
    return &s->keysets[KS_DNSKEY];
}

const struct zone_rrset *dnssec_zone_apex_rrset(const struct dnssec_zone *s, uint16_t type)
{
    for (int i = 0; i < KS_N; i++)
        if (keyset_types[i] == type)
            return s->keysets[i].count > 0 ? &s->keysets[i] : NULL;
    return NULL;
}

size_t dnssec_zone_apex_types(const struct dnssec_zone *s, uint16_t *types)
{
    size_t n = 0;
    for (int i = 0; i < KS_N; i++)
        if (s->keysets[i].count > 0)
            types[n++] = keyset_types[i];
    return n;
}

const struct dnssec_keyset *dnssec_zone_keys(const struct dnssec_zone *s)
{
    return &s->ks;
}

uint32_t dnssec_zone_expiration(const struct dnssec_zone *s)
{
    return s->expiration;
}

int64_t dnssec_zone_next_event(const struct dnssec_zone *s)
{
    int64_t next = s->refresh_at;
    int64_t keys = __atomic_load_n(&s->key_check_at, __ATOMIC_RELAXED);
    if (keys != 0 && keys < next)
        next = keys;
    return next;
}

bool dnssec_zone_current(const struct dnssec_zone *s, const struct dnssec_keyset *ks, int64_t now)
{
    return now < s->refresh_at && dnssec_keys_fingerprint(ks, now) == s->keys_fp;
}

void dnssec_zone_set_key_check(const struct dnssec_zone *s, int64_t when)
{
    __atomic_store_n(&((struct dnssec_zone *)(uintptr_t)s)->key_check_at, when, __ATOMIC_RELAXED);
}

size_t dnssec_zone_nsigs(const struct dnssec_zone *s)
{
    size_t n = s->nsigs;
    for (int i = 0; i < KS_N; i++)
        n += s->nkeysigs[i];
    return n;
}

uint16_t dnssec_zone_key_tag(const struct dnssec_zone *s)
{
    return s->zkey->tag;
}

void dnssec_zone_free(struct dnssec_zone *s)
{
    if (s == NULL)
        return;
    for (uint32_t i = 0; s->tab != NULL && i <= s->mask; i++)
        free((void *)(uintptr_t)s->tab[i].sig.rdata);
    free(s->tab);
    for (uint32_t i = 0; s->pre != NULL && i <= s->pre_mask; i++)
        free((void *)(uintptr_t)s->pre[i].sig.rdata);
    free(s->pre);
    for (int i = 0; i < KS_N; i++)
        for (size_t j = 0; j < s->nkeysigs[i]; j++)
            free((void *)(uintptr_t)s->keysigs[i][j].rdata);
    dnssec_keys_free(&s->ks);
    free(s);
}

/* Is n at or below a zone cut (other than the apex)? *at_cut: n is the cut itself. */
bool dnssec_zone_below_cut(const struct zone *z, const struct zone_node *n, bool *at_cut)
{
    *at_cut = (n->flags & ZONE_NODE_CUT) != 0;
    const uint8_t *p = n->name;
    while (*p != 0 && dname_len(p) > z->origin_len) {
        p += 1u + *p;
        if (dname_len(p) <= z->origin_len)
            break;
        const struct zone_node *a = zone_lookup(z, p, dname_len(p), dname_hash(p));
        if (a != NULL && (a->flags & ZONE_NODE_CUT))
            return true;
    }
    return false;
}

/* Does RRset rs of node n get an RRSIG? Authoritative data only (RFC 4035 2.2): not the NS
 * of a delegation nor anything below it, nothing hidden below a DNAME. */
static bool signed_here(const struct zone *z, const struct zone_node *n,
                        const struct zone_rrset *rs)
{
    if (n->flags & ZONE_NODE_OCCLUDED)
        return false;
    bool at_cut;
    if (dnssec_zone_below_cut(z, n, &at_cut))
        return false;
    return !at_cut || rs->type == DNS_T_DS;
}

/* An RRSIG made at load (off the query path) over set, kept on the heap in *out. */
static int sign_kept(const struct dnssec_zone *s, const struct dnssec_key *k,
                     const struct dnssec_rrset *set, const uint8_t *signer, struct wire_rr *out,
                     struct err *e)
{
    uint8_t buf[DNSSEC_RRSIG_MAX];
    size_t len = 0;
    int rc =
        dnssec_sign_rrset(k, set, signer, s->inception, s->expiration, buf, sizeof(buf), &len, e);
    if (rc < 0)
        return rc;
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return err_set(e, -ENOMEM, NULL, 0, 0, "DNSSEC: out of memory");
    memcpy(copy, buf, len);
    *out = (struct wire_rr){copy, (uint16_t)len, 0, {0, 0}};
    return 0;
}

static int put_sig(struct dnssec_zone *s, const struct zone_rrset *rs, const uint8_t *owner,
                   const struct dnssec_key *k, const uint8_t *signer, struct err *e)
{
    struct dnssec_rdata rd[256];
    struct dnssec_rdata *rdp = rs->count <= 256 ? rd : calloc(rs->count, sizeof(*rdp));
    if (rdp == NULL)
        return err_set(e, -ENOMEM, NULL, 0, 0, "DNSSEC: out of memory");
    for (uint16_t i = 0; i < rs->count; i++)
        rdp[i] = (struct dnssec_rdata){rs->rrs[i].rdata, rs->rrs[i].rdlen};
    struct dnssec_rrset set = {owner, rs->type, 1, rs->ttl, rdp, rs->count};
    struct wire_rr sig;
    int rc = sign_kept(s, k, &set, signer, &sig, e);
    if (rdp != rd)
        free(rdp);
    if (rc < 0)
        return rc;
    uint32_t i = slot_of(s, rs);
    while (s->tab[i].rs != NULL)
        i = (i + 1) & s->mask;
    s->tab[i].rs = rs;
    s->tab[i].sig = sig;
    s->nsigs++;
    return 0;
}

/* Signature times: windows start on a step (the hour, or an eighth of the validity when
 * that is shorter), so that instances signing within the same step sign the same header;
 * inception an hour before that (clock skew). Re-signed when a quarter of the validity is
 * left. */
static void window(struct dnssec_zone *s, uint32_t now, uint32_t validity)
{
    uint32_t step = validity / 8 < 3600u ? validity / 8 : 3600u;
    uint32_t base = now - now % (step ? step : 1);
    s->inception = base - 3600u;
    s->expiration = base + validity;
    s->refresh_at = s->expiration - validity / 4;
}

/* The apex's key RRsets: DNSKEY (every published key), CDS and CDNSKEY (the KSK the
 * parent should point at), each signed by every key that signs keys. */
static int sign_keysets(struct dnssec_zone *s, const struct zone *z, int64_t now, struct err *e)
{
    const struct dnssec_keyent *cds = dnssec_keys_cds(&s->ks, now);
    for (size_t i = 0; i < s->ks.n; i++) {
        const struct dnssec_keyent *k = &s->ks.k[i];
        const struct dnssec_key *key = &k->key;
        if (dnssec_keyent_published(k, now)) {
            size_t j = s->keysets[KS_DNSKEY].count++;
            memcpy(s->keyrdata[KS_DNSKEY][j], key->dnskey, key->dnskey_len);
            s->keyrrs[KS_DNSKEY][j] =
                (struct wire_rr){s->keyrdata[KS_DNSKEY][j], key->dnskey_len, 0, {0, 0}};
        }
        if (k == cds) {
            uint8_t *ds = s->keyrdata[KS_CDS][0];
            wire_put16(ds, key->tag);
            ds[2] = key->alg;
            ds[3] = 2; /* SHA-256 */
            if (dnssec_ds_sha256(z->origin, key->dnskey, key->dnskey_len, ds + 4) < 0)
                return err_set(e, -ENOMEM, NULL, 0, 0, "DNSSEC: out of memory");
            s->keyrrs[KS_CDS][0] = (struct wire_rr){ds, 4 + DNSSEC_DS_SHA256_LEN, 0, {0, 0}};
            s->keysets[KS_CDS].count = 1;
            memcpy(s->keyrdata[KS_CDNSKEY][0], key->dnskey, key->dnskey_len);
            s->keyrrs[KS_CDNSKEY][0] =
                (struct wire_rr){s->keyrdata[KS_CDNSKEY][0], key->dnskey_len, 0, {0, 0}};
            s->keysets[KS_CDNSKEY].count = 1;
        }
    }
    for (int t = 0; t < KS_N; t++) {
        s->keysets[t] = (struct zone_rrset){keyset_types[t], s->keysets[t].count, z->soa->ttl,
                                            s->keyrrs[t], NULL};
        if (s->keysets[t].count == 0)
            continue;
        struct dnssec_rdata rd[DNSSEC_MAX_KEYS];
        for (uint16_t i = 0; i < s->keysets[t].count; i++)
            rd[i] = (struct dnssec_rdata){s->keyrrs[t][i].rdata, s->keyrrs[t][i].rdlen};
        struct dnssec_rrset set = {z->origin, keyset_types[t],    1, z->soa->ttl,
                                   rd,        s->keysets[t].count};
        for (size_t i = 0; i < s->ks.n; i++) {
            if (!dnssec_keyent_signs_keys(&s->ks.k[i], now))
                continue;
            int rc =
                sign_kept(s, &s->ks.k[i].key, &set, z->origin, &s->keysigs[t][s->nkeysigs[t]], e);
            if (rc < 0)
                return rc;
            s->nkeysigs[t]++;
        }
    }
    return 0;
}

int dnssec_zone_sign(const struct zone *z, struct dnssec_keyset *ks, uint32_t validity_s,
                     int64_t now, struct dnssec_zone **out, struct err *e)
{
    struct dnssec_zone *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        dnssec_keys_free(ks);
        return err_set(e, -ENOMEM, NULL, 0, 0, "DNSSEC: out of memory");
    }
    s->ks = *ks; /* s owns the keys now */
    ks->n = 0;
    s->signed_at = now;
    s->keys_fp = dnssec_keys_fingerprint(&s->ks, now);
    s->key_check_at = s->ks.next_event;
    int64_t newest = 0;
    for (size_t i = 0; i < s->ks.n; i++) /* the newest key that signs zone data */
        if (dnssec_keyent_signs_zone(&s->ks.k[i], now) &&
            (s->zkey == NULL || s->ks.k[i].active >= newest)) {
            s->zkey = &s->ks.k[i].key;
            newest = s->ks.k[i].active;
        }
    size_t nrrsets = 1;
    for (uint32_t b = 0; b < z->nbuckets; b++)
        for (const struct zone_node *n = z->buckets[b]; n != NULL; n = n->next)
            nrrsets += n->nrrsets;
    uint32_t size = 16;
    while (size < 2 * nrrsets && size < (1u << 31))
        size <<= 1;
    s->tab = calloc(size, sizeof(*s->tab));
    if (s->zkey == NULL || s->tab == NULL) {
        int rc = s->zkey == NULL
                     ? err_set(e, GSLBD_EINVAL, NULL, 0, 0, "DNSSEC: no key signs the zone")
                     : err_set(e, -ENOMEM, NULL, 0, 0, "DNSSEC: out of memory");
        dnssec_zone_free(s);
        return rc;
    }
    s->mask = size - 1;
    window(s, (uint32_t)now, validity_s);
    int rc = sign_keysets(s, z, now, e);
    for (uint32_t b = 0; rc == 0 && b < z->nbuckets; b++)
        for (const struct zone_node *n = z->buckets[b]; rc == 0 && n != NULL; n = n->next)
            for (uint16_t i = 0; rc == 0 && i < n->nrrsets; i++)
                if (signed_here(z, n, &n->rrsets[i]))
                    rc = put_sig(s, &n->rrsets[i], n->name, s->zkey, z->origin, e);
    if (rc < 0) {
        dnssec_zone_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

size_t dnssec_type_bitmap(const uint16_t *types, size_t n, uint8_t *out, size_t cap)
{
    size_t o = 0;
    for (unsigned win = 0; win < 256; win++) {
        uint8_t bits[32] = {0};
        unsigned len = 0;
        for (size_t i = 0; i < n; i++) {
            if ((types[i] >> 8) != win)
                continue;
            unsigned lo = types[i] & 0xffu;
            bits[lo / 8] |= (uint8_t)(0x80u >> (lo % 8));
            if (lo / 8 + 1 > len)
                len = lo / 8 + 1;
        }
        if (len == 0)
            continue;
        if (o + 2 + len > cap)
            return 0;
        out[o] = (uint8_t)win;
        out[o + 1] = (uint8_t)len;
        memcpy(out + o + 2, bits, len);
        o += 2 + len;
    }
    return o;
}

static int cmp_rr(const void *pa, const void *pb)
{
    const struct wire_rr *a = *(const struct wire_rr *const *)pa;
    const struct wire_rr *b = *(const struct wire_rr *const *)pb;
    size_t n = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
    int c = memcmp(a->rdata, b->rdata, n);
    return c != 0 ? c : (a->rdlen > b->rdlen) - (a->rdlen < b->rdlen);
}

int dnssec_zone_sign_online(const struct dnssec_zone *s, const struct zone *z, const uint8_t *owner,
                            uint16_t type, uint32_t ttl, const struct wire_rr *const *rrs, size_t n,
                            struct dnssec_sig *out)
{
    struct dname_labels lab;
    int olen = dname_split(owner, DNAME_MAX, &lab);
    if (olen < 0 || n == 0 || n > DNSSEC_ONLINE_RRS)
        return GSLBD_ELIMIT;
    /* canonical RDATA (names of the RFC 4034 6.2 types lowercased), then canonical order */
    static _Thread_local uint8_t canon[DNSSEC_ONLINE_DATA]; /* off the worker's stack */
    struct wire_rr cr[DNSSEC_ONLINE_RRS];
    const struct wire_rr *v[DNSSEC_ONLINE_RRS];
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (used + rrs[i]->rdlen > sizeof(canon) ||
            dnssec_canon_rdata(type, rrs[i]->rdata, rrs[i]->rdlen, canon + used) < 0)
            return GSLBD_ELIMIT;
        cr[i] = (struct wire_rr){canon + used, rrs[i]->rdlen, 0, {0, 0}};
        v[i] = &cr[i];
        used += rrs[i]->rdlen;
    }
    qsort(v, n, sizeof(*v), cmp_rr); /* canonical order (RFC 4034 6.3) */
    size_t need = 18 + DNAME_MAX;
    for (size_t i = 0; i < n; i++)
        need += (size_t)olen + 10 + v[i]->rdlen;
    static _Thread_local uint8_t data[DNSSEC_ONLINE_DATA];
    if (need > sizeof(data))
        return GSLBD_ELIMIT;
    /* what is signed: the RRSIG RDATA up to the signature, then the RRs */
    uint8_t labels = lab.count;
    if (labels > 0 && owner[0] == 1 && owner[1] == '*')
        labels--;
    wire_put16(data, type);
    data[2] = s->zkey->alg;
    data[3] = labels;
    wire_put32(data + 4, ttl);
    wire_put32(data + 8, s->expiration);
    wire_put32(data + 12, s->inception);
    wire_put16(data + 16, s->zkey->tag);
    size_t head = 18 + dname_copy_lower(data + 18, z->origin), at = head;
    uint8_t lowner[DNAME_MAX];
    dname_copy_lower(lowner, owner);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && cmp_rr(&v[i - 1], &v[i]) == 0)
            continue; /* a duplicate RR is signed once */
        memcpy(data + at, lowner, (size_t)olen);
        at += (size_t)olen;
        wire_put16(data + at, type);
        wire_put16(data + at + 2, 1);
        wire_put32(data + at + 4, ttl);
        wire_put16(data + at + 8, v[i]->rdlen);
        at += 10;
        memcpy(data + at, v[i]->rdata, v[i]->rdlen);
        at += v[i]->rdlen;
    }
    int rc = dnssec_online_sign(s->zkey, data, at, DNSSEC_ONLINE_BUDGET, out->rdata + head);
    if (rc < 0)
        return rc;
    memcpy(out->rdata, data, head);
    out->rr = (struct wire_rr){out->rdata, (uint16_t)(head + DNSSEC_P256_SIG_LEN), 0, {0, 0}};
    return 0;
}

int dnssec_zone_denial(const struct dnssec_zone *s, const struct zone *z, const uint8_t *name,
                       uint32_t ttl, const uint16_t *types, size_t ntypes,
                       struct dnssec_denial *out)
{
    int nlen = dname_split(name, DNAME_MAX, &(struct dname_labels){0});
    if (nlen < 0 || (size_t)nlen + 2 > DNAME_MAX || ntypes > 64)
        return GSLBD_ELIMIT;
    /* the NSEC: next name \000.name (RFC 9824 3.1), then the bitmap */
    uint8_t *rd = out->nsec_rdata;
    rd[0] = 1;
    rd[1] = 0;
    memcpy(rd + 2, name, (size_t)nlen);
    uint16_t all[66];
    memcpy(all, types, ntypes * sizeof(*types));
    all[ntypes] = DNS_T_RRSIG;
    all[ntypes + 1] = DNSSEC_TYPE_NSEC;
    size_t blen =
        dnssec_type_bitmap(all, ntypes + 2, rd + 2 + nlen, DNSSEC_NSEC_MAX - 2 - (size_t)nlen);
    if (blen == 0)
        return GSLBD_ELIMIT;
    out->nsec = (struct wire_rr){rd, (uint16_t)(2 + (size_t)nlen + blen), 0, {0, 0}};
    const struct wire_rr *one = &out->nsec;
    return dnssec_zone_sign_online(s, z, name, DNSSEC_TYPE_NSEC, ttl, &one, 1, &out->rrsig);
}

int dnssec_zone_sign_set(const struct dnssec_zone *s, const struct zone *z,
                         const struct dnssec_rrset *set, uint8_t *out, size_t cap, size_t *outlen,
                         struct err *e)
{
    return dnssec_sign_rrset(s->zkey, set, z->origin, s->inception, s->expiration, out, cap, outlen,
                             e);
}

static uint64_t presig_key(uint32_t service, uint32_t cluster, int family)
{
    return (((uint64_t)service << 33) | ((uint64_t)cluster << 1) | (family != 0)) + 1;
}

static uint32_t presig_slot(uint64_t key, uint32_t mask)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static int presig_grow(struct dnssec_zone *s)
{
    uint32_t size = s->pre_mask ? 2 * (s->pre_mask + 1) : 64;
    struct presig *t = calloc(size, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; s->pre != NULL && i <= s->pre_mask; i++) {
        if (s->pre[i].key == 0)
            continue;
        uint32_t j = presig_slot(s->pre[i].key, size - 1);
        while (t[j].key != 0)
            j = (j + 1) & (size - 1);
        t[j] = s->pre[i];
    }
    free(s->pre);
    s->pre = t;
    s->pre_mask = size - 1;
    return 0;
}

int dnssec_zone_presign(struct dnssec_zone *s, const struct zone *z, uint32_t service,
                        uint32_t cluster, int family, const uint8_t *owner, uint16_t type,
                        uint32_t ttl, const struct wire_rr *const *rrs, size_t n, struct err *e)
{
    if (n == 0 || n > DNSSEC_ONLINE_RRS)
        return 0; /* nothing to sign, or left to the query path's SERVFAIL */
    if ((s->npre + 1) * 2 > (size_t)s->pre_mask + (s->pre ? 1 : 0) && presig_grow(s) < 0)
        return err_set(e, -ENOMEM, NULL, 0, 0, "DNSSEC: out of memory");
    struct dnssec_rdata rd[DNSSEC_ONLINE_RRS];
    for (size_t i = 0; i < n; i++)
        rd[i] = (struct dnssec_rdata){rrs[i]->rdata, rrs[i]->rdlen};
    struct dnssec_rrset set = {owner, type, 1, ttl, rd, n};
    struct wire_rr sig;
    int rc = sign_kept(s, s->zkey, &set, z->origin, &sig, e);
    if (rc < 0)
        return rc;
    uint64_t key = presig_key(service, cluster, family);
    uint32_t i = presig_slot(key, s->pre_mask);
    while (s->pre[i].key != 0 && s->pre[i].key != key)
        i = (i + 1) & s->pre_mask;
    if (s->pre[i].key == key)
        free((void *)(uintptr_t)s->pre[i].sig.rdata);
    else
        s->npre++;
    s->pre[i].key = key;
    s->pre[i].sig = sig;
    return 0;
}

const struct wire_rr *dnssec_zone_presigned(const struct dnssec_zone *s, uint32_t service,
                                            uint32_t cluster, int family)
{
    if (s->pre == NULL)
        return NULL;
    uint64_t key = presig_key(service, cluster, family);
    for (uint32_t i = presig_slot(key, s->pre_mask);; i = (i + 1) & s->pre_mask) {
        if (s->pre[i].key == key)
            return &s->pre[i].sig;
        if (s->pre[i].key == 0)
            return NULL;
    }
}

size_t dnssec_zone_npresigned(const struct dnssec_zone *s)
{
    return s->npre;
}
