/* dnssec_key.c: DNSSEC signing keys (ECDSA P-256, algorithm 13) through OpenSSL 3:
 * generating, saving and loading PEM private keys (owner-only files), the DNSKEY RDATA a
 * key publishes, its key tag and DS digest, and `gslbd --keygen ZONE DIR`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dname.h"
#include "dnssec.h"

uint16_t dnssec_keytag(const uint8_t *rdata, size_t len)
{
    uint32_t ac = 0;
    for (size_t i = 0; i < len; i++)
        ac += (i & 1) ? rdata[i] : (uint32_t)rdata[i] << 8;
    ac += (ac >> 16) & 0xffff;
    return (uint16_t)(ac & 0xffff);
}

int dnssec_ds_sha256(const uint8_t *owner, const uint8_t *rdata, size_t len,
                     uint8_t out[DNSSEC_DS_SHA256_LEN])
{
    uint8_t name[DNAME_MAX];
    size_t nlen = dname_copy_lower(name, owner);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int olen = 0;
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, name, nlen) == 1 && EVP_DigestUpdate(md, rdata, len) == 1 &&
             EVP_DigestFinal_ex(md, out, &olen) == 1 && olen == DNSSEC_DS_SHA256_LEN;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -ENOMEM;
}

/* k's DNSKEY RDATA and key tag for its flags; the public key is already at dnskey + 4. */
static void key_rdata(struct dnssec_key *k)
{
    k->dnskey[0] = (uint8_t)(k->flags >> 8);
    k->dnskey[1] = (uint8_t)k->flags;
    k->dnskey[2] = 3; /* protocol */
    k->dnskey[3] = k->alg;
    k->tag = dnssec_keytag(k->dnskey, k->dnskey_len);
}

void dnssec_key_set_flags(struct dnssec_key *k, uint16_t flags)
{
    k->flags = flags;
    key_rdata(k);
}

/* Fill k's algorithm, DNSKEY RDATA and tag from its public key: P-256 x || y (RFC 6605) or
 * the 32 octets of Ed25519 (RFC 8080). */
static int key_publish(struct dnssec_key *k, struct err *e, const char *what)
{
    k->flags = DNSSEC_DNSKEY_FLAGS_KSK;
    if (EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_ED25519) {
        size_t len = DNSSEC_ED25519_PUB_LEN;
        if (EVP_PKEY_get_raw_public_key(k->pkey, k->dnskey + 4, &len) != 1 ||
            len != DNSSEC_ED25519_PUB_LEN)
            return err_set(e, GSLBD_EINVAL, what, 0, 0, "no Ed25519 public key in the key");
        k->alg = DNSSEC_ALG_ED25519;
        k->dnskey_len = 4 + DNSSEC_ED25519_PUB_LEN;
        key_rdata(k);
        return 0;
    }
    BIGNUM *x = NULL, *y = NULL;
    int rc = 0;
    if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
        EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
        rc = err_set(e, GSLBD_EINVAL, what, 0, 0, "no EC public key in the key");
        goto out;
    }
    if (BN_bn2binpad(x, k->dnskey + 4, 32) != 32 || BN_bn2binpad(y, k->dnskey + 36, 32) != 32) {
        rc = err_set(e, GSLBD_EINVAL, what, 0, 0, "EC public key is not a P-256 point");
        goto out;
    }
    k->alg = DNSSEC_ALG_ECDSAP256SHA256;
    k->dnskey_len = 4 + DNSSEC_P256_PUB_LEN;
    key_rdata(k);
out:
    BN_free(x);
    BN_free(y);
    return rc;
}

int dnssec_key_generate_alg(struct dnssec_key *k, uint8_t alg, uint16_t flags, struct err *e)
{
    memset(k, 0, sizeof(*k));
    if (alg == DNSSEC_ALG_ED25519)
        k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else if (alg == DNSSEC_ALG_ECDSAP256SHA256)
        k->pkey = EVP_EC_gen("P-256");
    else
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "DNSSEC: algorithm %u is not supported", alg);
    if (k->pkey == NULL)
        return err_set(e, -ENOMEM, NULL, 0, 0, "cannot generate a key of algorithm %u", alg);
    int rc = key_publish(k, e, NULL);
    if (rc < 0) {
        dnssec_key_free(k);
        return rc;
    }
    dnssec_key_set_flags(k, flags);
    return 0;
}

int dnssec_key_generate(struct dnssec_key *k, struct err *e)
{
    return dnssec_key_generate_alg(k, DNSSEC_ALG_ECDSAP256SHA256, DNSSEC_DNSKEY_FLAGS_KSK, e);
}

uint8_t dnssec_alg_from_name(const char *name)
{
    if (strcmp(name, "ecdsap256sha256") == 0)
        return DNSSEC_ALG_ECDSAP256SHA256;
    if (strcmp(name, "ed25519") == 0)
        return DNSSEC_ALG_ED25519;
    return 0;
}

void dnssec_key_free(struct dnssec_key *k)
{
    EVP_PKEY_free(k->pkey);
    k->pkey = NULL;
}

int dnssec_key_load(struct dnssec_key *k, const char *path, struct err *e)
{
    memset(k, 0, sizeof(*k));
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(e, -errno, path, 0, 0, "DNSSEC key: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = err_set(e, -errno, path, 0, 0, "DNSSEC key: %s", strerror(errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, GSLBD_EINVAL, path, 0, 0, "DNSSEC key: not a regular file");
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return err_set(e, GSLBD_EINVAL, path, 0, 0,
                       "DNSSEC key: mode %04o lets group or others at the private key; "
                       "chmod 600 it",
                       (unsigned)(st.st_mode & 07777));
    }
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
        int rc = err_set(e, -errno, path, 0, 0, "DNSSEC key: %s", strerror(errno));
        close(fd);
        return rc;
    }
    EVP_PKEY *p = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (p == NULL)
        return err_set(e, GSLBD_EPARSE, path, 0, 0, "DNSSEC key: no PEM private key");
    char group[32] = "";
    if (EVP_PKEY_get_base_id(p) != EVP_PKEY_ED25519 &&
        (EVP_PKEY_get_base_id(p) != EVP_PKEY_EC ||
         EVP_PKEY_get_utf8_string_param(p, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL) != 1 ||
         strcmp(group, "prime256v1") != 0)) {
        EVP_PKEY_free(p);
        return err_set(e, GSLBD_EINVAL, path, 0, 0,
                       "DNSSEC key: neither an ECDSA P-256 key (algorithm 13) nor an Ed25519 key "
                       "(algorithm 15)");
    }
    k->pkey = p;
    int rc = key_publish(k, e, path);
    if (rc < 0)
        dnssec_key_free(k);
    return rc;
}

int dnssec_key_save(const struct dnssec_key *k, const char *path, struct err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return err_set(e, -errno, path, 0, 0, "DNSSEC key: %s", strerror(errno));
    if (fchmod(fd, 0600) < 0) { /* whatever the umask */
        int rc = err_set(e, -errno, path, 0, 0, "DNSSEC key: %s", strerror(errno));
        close(fd);
        unlink(path);
        return rc;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        int rc = err_set(e, -errno, path, 0, 0, "DNSSEC key: %s", strerror(errno));
        close(fd);
        unlink(path);
        return rc;
    }
    int ok = PEM_write_PrivateKey(f, k->pkey, NULL, NULL, 0, NULL, NULL) == 1;
    ok = (fflush(f) == 0 && fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        unlink(path);
        return err_set(e, -EIO, path, 0, 0, "DNSSEC key: cannot write the key");
    }
    return 0;
}

int dnssec_key_print(const struct dnssec_key *k, const char *owner_text, uint32_t ttl, bool with_ds,
                     void *fp)
{
    FILE *f = fp;
    unsigned char b64[4 * ((DNSSEC_DNSKEY_RDATA_LEN + 2) / 3) + 1];
    EVP_EncodeBlock(b64, k->dnskey + 4, k->dnskey_len - 4);
    fprintf(f, "%s %u IN DNSKEY %u 3 %u %s\n", owner_text, ttl, k->flags, k->alg, b64);
    if (!with_ds)
        return 0;
    ldns_rdf *origin = NULL;
    uint8_t owner[DNAME_MAX], ds[DNSSEC_DS_SHA256_LEN];
    if (ldns_str2rdf_dname(&origin, owner_text) != LDNS_STATUS_OK || origin == NULL)
        return GSLBD_EINVAL;
    dname_copy_lower(owner, ldns_rdf_data(origin));
    ldns_rdf_deep_free(origin);
    if (dnssec_ds_sha256(owner, k->dnskey, k->dnskey_len, ds) < 0)
        return -ENOMEM;
    fprintf(f, "%s %u IN DS %u %u 2 ", owner_text, ttl, k->tag, k->alg);
    for (size_t i = 0; i < sizeof(ds); i++)
        fprintf(f, "%02X", ds[i]);
    fprintf(f, "\n");
    return 0;
}

static int keygen_usage(void)
{
    fprintf(stderr,
            "usage: gslbd --keygen ZONE DIR [--algorithm ed25519|ecdsap256sha256] [--zsk]\n");
    return 2;
}

int dnssec_keygen_main(int argc, char **argv)
{
    if (argc < 2)
        return keygen_usage();
    const char *zone = argv[0], *dir = argv[1];
    uint8_t alg = DNSSEC_ALG_ECDSAP256SHA256;
    uint16_t flags = DNSSEC_DNSKEY_FLAGS_KSK;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--zsk") == 0)
            flags = DNSSEC_DNSKEY_FLAGS_ZSK;
        else if (strcmp(argv[i], "--algorithm") == 0 && i + 1 < argc &&
                 (alg = dnssec_alg_from_name(argv[i + 1])) != 0)
            i++;
        else
            return keygen_usage();
    }
    ldns_rdf *origin = NULL;
    if (ldns_str2rdf_dname(&origin, zone) != LDNS_STATUS_OK || origin == NULL) {
        fprintf(stderr, "gslbd: --keygen: '%s' is not a domain name\n", zone);
        return 2;
    }
    uint8_t owner[DNAME_MAX];
    dname_copy_lower(owner, ldns_rdf_data(origin));
    ldns_rdf_deep_free(origin);
    char text[1024];
    dname_to_text(owner, text, sizeof(text));

    struct err e = {{0}};
    struct dnssec_key k;
    if (dnssec_key_generate_alg(&k, alg, flags, &e) < 0) {
        fprintf(stderr, "gslbd: --keygen: %s\n", e.msg);
        return 1;
    }
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/K%s+%03u+%05u.pem", dir, text, k.alg, k.tag);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        fprintf(stderr, "gslbd: --keygen: directory name too long\n");
        dnssec_key_free(&k);
        return 1;
    }
    if (dnssec_key_save(&k, path, &e) < 0) {
        fprintf(stderr, "gslbd: --keygen: %s\n", e.msg);
        dnssec_key_free(&k);
        return 1;
    }
    fprintf(stderr, "gslbd: --keygen: wrote %s (key tag %u)\n", path, k.tag);
    int rc = dnssec_key_print(&k, text, 3600, flags == DNSSEC_DNSKEY_FLAGS_KSK, stdout);
    dnssec_key_free(&k);
    return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}
