/* dnssec_sign.c: RRSIGs over an RRset (RFC 4034 3.1.8.1, 6.2, 6.3): the RRset put in
 * canonical form (lowercase owner, lowercase names inside the RDATA of the types that
 * RFC 4034 6.2 lists less NSEC (RFC 6840 5.1), RDATA sorted as octet strings, duplicates
 * dropped, the original TTL), signed with ECDSA P-256 / SHA-256, and the DER signature
 * OpenSSL gives turned into the 64-octet r || s that RFC 6605 puts on the wire. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "server/dns/dname.h"
#include "server/dnssec.h"

/* Where the names are in an RDATA: after `skip` fixed octets, `names` names follow. */
struct name_layout {
    uint16_t type;
    uint8_t skip, names;
};

static const struct name_layout layouts[] = {
    {2, 0, 1},   /* NS */
    {3, 0, 1},   /* MD */
    {4, 0, 1},   /* MF */
    {5, 0, 1},   /* CNAME */
    {6, 0, 2},   /* SOA */
    {7, 0, 1},   /* MB */
    {8, 0, 1},   /* MG */
    {9, 0, 1},   /* MR */
    {12, 0, 1},  /* PTR */
    {14, 0, 2},  /* MINFO */
    {15, 2, 1},  /* MX */
    {17, 0, 2},  /* RP */
    {18, 2, 1},  /* AFSDB */
    {21, 2, 1},  /* RT */
    {24, 18, 1}, /* SIG */
    {26, 2, 2},  /* PX */
    {30, 0, 1},  /* NXT */
    {33, 6, 1},  /* SRV */
    {36, 2, 1},  /* KX */
    {39, 0, 1},  /* DNAME */
    {46, 18, 1}, /* RRSIG */
};

/* Lowercase the uncompressed name at buf[off..len); returns the offset after it, or
 * GSLBD_EPARSE. */
static int lower_name_at(uint8_t *buf, size_t off, size_t len)
{
    size_t start = off;
    for (;;) {
        if (off >= len)
            return GSLBD_EPARSE;
        uint8_t l = buf[off];
        if (l == 0)
            break;
        if (l > 63 || off + 1 + l > len)
            return GSLBD_EPARSE; /* compressed or cut short */
        dname_lower_bytes(buf + off + 1, buf + off + 1, l);
        off += 1u + l;
        if (off - start > DNAME_MAX)
            return GSLBD_EPARSE;
    }
    off++;
    return off - start > DNAME_MAX ? -1 : (int)off;
}

int dnssec_canon_rdata(uint16_t type, const uint8_t *rdata, size_t len, uint8_t *out)
{
    memcpy(out, rdata, len);
    size_t off = 0;
    int names = 0;
    if (type == 35) { /* NAPTR: order, preference, three strings, then the replacement */
        off = 4;
        for (int i = 0; i < 3; i++) {
            if (off >= len)
                return GSLBD_EINVAL;
            off += 1u + out[off];
        }
        names = 1;
    } else {
        for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
            if (layouts[i].type == type) {
                off = layouts[i].skip;
                names = layouts[i].names;
                break;
            }
    }
    for (int i = 0; i < names; i++) {
        int next = lower_name_at(out, off, len);
        if (next < 0)
            return GSLBD_EINVAL;
        off = (size_t)next;
    }
    if (names > 0 && off > len)
        return GSLBD_EINVAL;
    return (int)len;
}

struct canon_rr {
    uint8_t *data;
    uint16_t len;
};

static int canon_cmp(const void *a, const void *b)
{
    const struct canon_rr *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->data, y->data, n);
    if (c != 0)
        return c;
    return (int)x->len - (int)y->len;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* DER ECDSA-Sig-Value to r || s, 32 octets each. */
static int der_to_raw(const uint8_t *der, size_t len, uint8_t out[DNSSEC_P256_SIG_LEN])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (sig == NULL)
        return GSLBD_EINVAL;
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(sig, &r, &s);
    int ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    return ok ? 0 : GSLBD_EINVAL;
}

int dnssec_sign_data(const struct dnssec_key *k, const uint8_t *data, size_t len,
                     uint8_t sig[DNSSEC_P256_SIG_LEN])
{
    if (k->pkey == NULL)
        return GSLBD_EINVAL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (k->alg == DNSSEC_ALG_ED25519) { /* RFC 8080: the 64 octets EdDSA gives, one shot */
        size_t slen = DNSSEC_SIG_LEN;
        int rc = md == NULL ? -ENOMEM : 0;
        if (rc == 0 && (EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) != 1 ||
                        EVP_DigestSign(md, sig, &slen, data, len) != 1 || slen != DNSSEC_SIG_LEN))
            rc = GSLBD_EINVAL;
        EVP_MD_CTX_free(md);
        return rc;
    }
    uint8_t der[80]; /* a P-256 ECDSA signature in DER: at most 72 octets */
    size_t dlen = sizeof(der);
    int rc = md == NULL ? -ENOMEM : 0;
    if (rc == 0 &&
        (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
         EVP_DigestSign(md, der, &dlen, data, len) != 1 || der_to_raw(der, dlen, sig) < 0))
        rc = GSLBD_EINVAL;
    EVP_MD_CTX_free(md);
    return rc;
}

int dnssec_sign_rrset(const struct dnssec_key *k, const struct dnssec_rrset *set,
                      const uint8_t *signer, uint32_t inception, uint32_t expiration, uint8_t *out,
                      size_t cap, size_t *outlen, struct err *e)
{
    if (k->pkey == NULL || set->n == 0)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "DNSSEC: nothing to sign with or sign");
    uint8_t owner[DNAME_MAX], sname[DNAME_MAX];
    struct dname_labels lab;
    int olen = dname_split(set->owner, DNAME_MAX, &lab);
    if (olen < 0 || dname_split(signer, DNAME_MAX, &(struct dname_labels){0}) < 0)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "DNSSEC: invalid owner or signer name");
    dname_copy_lower(owner, set->owner);
    size_t slen = dname_copy_lower(sname, signer);
    uint8_t labels = lab.count;
    if (labels > 0 && set->owner[0] == 1 && set->owner[1] == '*')
        labels--; /* the wildcard label is not counted (RFC 4034 3.1.3) */
    if (cap < 18 + slen + DNSSEC_P256_SIG_LEN)
        return err_set(e, GSLBD_ELIMIT, NULL, 0, 0, "DNSSEC: RRSIG buffer too small");

    /* The RRSIG RDATA up to the signature: also the first thing signed. */
    put16(out, set->type);
    out[2] = k->alg;
    out[3] = labels;
    put32(out + 4, set->ttl);
    put32(out + 8, expiration);
    put32(out + 12, inception);
    put16(out + 16, k->tag);
    memcpy(out + 18, sname, slen);
    size_t head = 18 + slen;

    struct canon_rr *rrs = calloc(set->n, sizeof(*rrs));
    size_t total = 0;
    for (size_t i = 0; i < set->n; i++)
        total += set->rr[i].len;
    uint8_t *pool = malloc(total ? total : 1);
    /* what is signed: the RRSIG RDATA up to the signature, then each RR in canonical form */
    uint8_t *data = malloc(head + set->n * ((size_t)olen + 10) + total);
    int rc = 0;
    if (rrs == NULL || pool == NULL || data == NULL) {
        rc = err_set(e, -ENOMEM, NULL, 0, 0, "DNSSEC: out of memory");
        goto out;
    }
    size_t at = 0;
    for (size_t i = 0; i < set->n; i++) {
        rrs[i].data = pool + at;
        rrs[i].len = set->rr[i].len;
        if (dnssec_canon_rdata(set->type, set->rr[i].data, set->rr[i].len, rrs[i].data) < 0) {
            rc = err_set(e, GSLBD_EINVAL, NULL, 0, 0, "DNSSEC: malformed RDATA of type %u",
                         set->type);
            goto out;
        }
        at += set->rr[i].len;
    }
    qsort(rrs, set->n, sizeof(*rrs), canon_cmp);

    memcpy(data, out, head);
    size_t dlen = head;
    for (size_t i = 0; i < set->n; i++) {
        if (i > 0 && canon_cmp(&rrs[i - 1], &rrs[i]) == 0)
            continue; /* a duplicate RR is signed once (RFC 4034 6.3) */
        memcpy(data + dlen, owner, (size_t)olen);
        dlen += (size_t)olen;
        put16(data + dlen, set->type);
        put16(data + dlen + 2, set->rclass);
        put32(data + dlen + 4, set->ttl);
        put16(data + dlen + 8, rrs[i].len);
        memcpy(data + dlen + 10, rrs[i].data, rrs[i].len);
        dlen += 10u + rrs[i].len;
    }
    if (dnssec_sign_data(k, data, dlen, out + head) < 0) {
        rc = err_set(e, GSLBD_EINVAL, NULL, 0, 0, "DNSSEC: signing failed");
        goto out;
    }
    *outlen = head + DNSSEC_SIG_LEN;
out:
    free(data);
    free(pool);
    free(rrs);
    return rc;
}
