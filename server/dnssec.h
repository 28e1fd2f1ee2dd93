/* dnssec.h: DNSSEC keys and signatures: ECDSA P-256 (algorithm 13) and Ed25519
 * (algorithm 15) keys in PEM files readable only by their owner, the DNSKEY and DS they publish,
 * the key tag of RFC 4034 Appendix B, and RRSIGs over an RRset in canonical form (RFC 4034 6.2,
 * 6.3). Everything here allocates and signs: it runs at load or keygen time, never per
 * query. Names are absolute, uncompressed wire names. */
#ifndef GSLBD_DNSSEC_H
#define GSLBD_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"

#define DNSSEC_ALG_ECDSAP256SHA256 13
#define DNSSEC_ALG_ED25519 15
#define DNSSEC_DNSKEY_FLAGS_KSK 257 /* zone key + secure entry point: a KSK or a combined key */
#define DNSSEC_DNSKEY_FLAGS_ZSK 256 /* zone key */
#define DNSSEC_P256_PUB_LEN 64      /* x || y */
#define DNSSEC_ED25519_PUB_LEN 32
#define DNSSEC_P256_SIG_LEN 64 /* r || s; an Ed25519 signature is 64 octets too */
#define DNSSEC_SIG_LEN 64
#define DNSSEC_DNSKEY_RDATA_LEN (4 + DNSSEC_P256_PUB_LEN) /* the longest DNSKEY RDATA */
#define DNSSEC_DS_SHA256_LEN 32
/* An RRSIG RDATA: 18 fixed octets, the signer's name, the signature. */
#define DNSSEC_RRSIG_MAX (18 + 255 + DNSSEC_P256_SIG_LEN)

struct dnssec_key {
    void *pkey; /* EVP_PKEY *, private (openssl headers stay in dnssec_*.c) */
    uint16_t flags;
    uint8_t alg;
    uint16_t tag;
    uint8_t dnskey[DNSSEC_DNSKEY_RDATA_LEN]; /* the DNSKEY RDATA this key publishes */
    uint16_t dnskey_len;                     /* 68 for P-256, 36 for Ed25519 */
};

/* A new P-256 key pair (flags 257). */
int dnssec_key_generate(struct dnssec_key *k, struct err *e);
/* A new key pair of algorithm alg (13 or 15) publishing flags (256 or 257). */
int dnssec_key_generate_alg(struct dnssec_key *k, uint8_t alg, uint16_t flags, struct err *e);
/* Read a PEM private key (flags 257). Refused, with path in the message: a file that is not
 * a regular file, one that its group or others may read or write, one that holds neither a
 * P-256 nor an Ed25519 key. */
int dnssec_key_load(struct dnssec_key *k, const char *path, struct err *e);
/* Publish k with other DNSKEY flags (256: a ZSK): its RDATA and key tag change. */
void dnssec_key_set_flags(struct dnssec_key *k, uint16_t flags);
/* Write k's private key as PEM to a new file path, mode 0600 (an existing file is kept
 * and refused). */
int dnssec_key_save(const struct dnssec_key *k, const char *path, struct err *e);
void dnssec_key_free(struct dnssec_key *k);

/* RFC 4034 Appendix B over a DNSKEY RDATA (algorithm 1 excepted: not supported). */
uint16_t dnssec_keytag(const uint8_t *rdata, size_t len);
/* The DS digest (type 2, SHA-256) of the DNSKEY rdata owned by owner. */
int dnssec_ds_sha256(const uint8_t *owner, const uint8_t *rdata, size_t len,
                     uint8_t out[DNSSEC_DS_SHA256_LEN]);

/* One RR of an RRset: its RDATA uncompressed (names in full). */
struct dnssec_rdata {
    const uint8_t *data;
    uint16_t len;
};

struct dnssec_rrset {
    const uint8_t *owner; /* may be mixed case, may start with the wildcard label */
    uint16_t type, rclass;
    uint32_t ttl; /* the original TTL signed */
    const struct dnssec_rdata *rr;
    size_t n;
};

/* Sign set with k: writes the RRSIG RDATA (signer = signer, e.g. the zone apex) to out
 * (cap >= DNSSEC_RRSIG_MAX is always enough), its length to *outlen. Canonical form:
 * owner and signer lowercased, names inside RDATA of the RFC 4034 6.2 types lowercased,
 * RDATA sorted, duplicates dropped. */
int dnssec_sign_rrset(const struct dnssec_key *k, const struct dnssec_rrset *set,
                      const uint8_t *signer, uint32_t inception, uint32_t expiration, uint8_t *out,
                      size_t cap, size_t *outlen, struct err *e);

/* Sign data as it is (an RRSIG header and a canonical RRset, already laid out): the raw
 * r || s signature into sig. 0 or a negative code. Allocates inside OpenSSL. */
int dnssec_sign_data(const struct dnssec_key *k, const uint8_t *data, size_t len,
                     uint8_t sig[DNSSEC_P256_SIG_LEN]);

/* The canonical form of one RDATA of type (lowercased names) into out (cap >= len);
 * returns its length or a negative code when the RDATA is malformed. */
int dnssec_canon_rdata(uint16_t type, const uint8_t *rdata, size_t len, uint8_t *out);

/* gslbd --keygen ZONE DIR [--algorithm ed25519|ecdsap256sha256] [--zsk]: write
 * DIR/K<zone>+<alg>+<tag>.pem (0600), print the DNSKEY and DS records to stdout. argv
 * starts at ZONE. Returns the process exit code. */
int dnssec_keygen_main(int argc, char **argv);
/* The DNSKEY RR of k at owner (text) as a zone file line, the DS (SHA-256) after it when
 * with_ds; to f. */
int dnssec_key_print(const struct dnssec_key *k, const char *owner_text, uint32_t ttl, bool with_ds,
                     void *f);
/* "ecdsap256sha256" -> 13, "ed25519" -> 15, else 0. */
uint8_t dnssec_alg_from_name(const char *name);

/* A file (fd) gslbd made in the key folder dir while root (a first start before --user
 * drops to the folder's owner): given to the folder's owner, so that later loads can read
 * and rewrite it. No-op when not root or the folder is root's. what names it in a warning. */
void dnssec_to_folder_owner(const char *dir, int fd, const char *what);

#endif
