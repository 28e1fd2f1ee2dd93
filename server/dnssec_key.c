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

/* Fill k's DNSKEY RDATA and tag from its public point (x, y, 32 octets each). */
static int key_publish(struct dnssec_key *k, struct err *e, const char *what)
{
    BIGNUM *x = NULL, *y = NULL;
    int rc = 0;
    if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
        EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
        rc = err_set(e, GSLBD_EINVAL, what, 0, 0, "no EC public key in the key");
        goto out;
    }
    k->flags = DNSSEC_DNSKEY_FLAGS_KSK;
    k->alg = DNSSEC_ALG_ECDSAP256SHA256;
    k->dnskey[0] = (uint8_t)(k->flags >> 8);
    k->dnskey[1] = (uint8_t)k->flags;
    k->dnskey[2] = 3; /* protocol */
    k->dnskey[3] = k->alg;
    if (BN_bn2binpad(x, k->dnskey + 4, 32) != 32 || BN_bn2binpad(y, k->dnskey + 36, 32) != 32) {
        rc = err_set(e, GSLBD_EINVAL, what, 0, 0, "EC public key is not a P-256 point");
        goto out;
    }
    k->tag = dnssec_keytag(k->dnskey, sizeof(k->dnskey));
out:
    BN_free(x);
    BN_free(y);
    return rc;
}

int dnssec_key_generate(struct dnssec_key *k, struct err *e)
{
    memset(k, 0, sizeof(*k));
    k->pkey = EVP_EC_gen("P-256");
    if (k->pkey == NULL)
        return err_set(e, -ENOMEM, NULL, 0, 0, "cannot generate a P-256 key");
    int rc = key_publish(k, e, NULL);
    if (rc < 0)
        dnssec_key_free(k);
    return rc;
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
    if (EVP_PKEY_get_base_id(p) != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(p, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) !=
            1 ||
        strcmp(group, "prime256v1") != 0) {
        EVP_PKEY_free(p);
        return err_set(e, GSLBD_EINVAL, path, 0, 0,
                       "DNSSEC key: not an ECDSA P-256 key (algorithm 13 only)");
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

int dnssec_keygen_main(const char *zone, const char *dir)
{
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
    if (dnssec_key_generate(&k, &e) < 0) {
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
    uint8_t ds[DNSSEC_DS_SHA256_LEN];
    unsigned char b64[4 * ((DNSSEC_P256_PUB_LEN + 2) / 3) + 1];
    EVP_EncodeBlock(b64, k.dnskey + 4, DNSSEC_P256_PUB_LEN);
    if (dnssec_ds_sha256(owner, k.dnskey, sizeof(k.dnskey), ds) < 0) {
        fprintf(stderr, "gslbd: --keygen: cannot compute the DS\n");
        dnssec_key_free(&k);
        return 1;
    }
    fprintf(stderr, "gslbd: --keygen: wrote %s (key tag %u)\n", path, k.tag);
    printf("%s 3600 IN DNSKEY %u 3 %u %s\n", text, k.flags, k.alg, b64);
    printf("%s 3600 IN DS %u %u 2 ", text, k.tag, k.alg);
    for (size_t i = 0; i < sizeof(ds); i++)
        printf("%02X", ds[i]);
    printf("\n");
    dnssec_key_free(&k);
    return fflush(stdout) == 0 ? 0 : 1;
}
