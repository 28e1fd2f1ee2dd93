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
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "server/dns/dname.h"
#include "server/dnssec.h"
#include "server/log.h"

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

static int key_read(struct dnssec_key *k, const char *path, bool owner_only, struct err *e);

int dnssec_key_load(struct dnssec_key *k, const char *path, struct err *e)
{
    return key_read(k, path, true, e);
}

/* Read a PEM private key; owner_only: refuse a file that group or others may read. */
static int key_read(struct dnssec_key *k, const char *path, bool owner_only, struct err *e)
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
    if (owner_only && (st.st_mode & (S_IRWXG | S_IRWXO))) {
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

/* The first base64 field after "label" on a line of the text file path, decoded into out
 * (cap); its length or GSLBD_EPARSE. */
static int b64_field(const char *path, const char *label, uint8_t *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return GSLBD_EPARSE;
    char line[1024];
    int n = -1;
    size_t ll = strlen(label);
    while (n < 0 && fgets(line, sizeof(line), f) != NULL) {
        char *p = strstr(line, label);
        if (line[0] == ';' || p == NULL)
            continue;
        p += ll;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strcspn(p, " \t\r\n");
        uint8_t buf[768];
        if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(buf))
            break;
        int dl = EVP_DecodeBlock(buf, (const unsigned char *)p, (int)len);
        if (dl < 0)
            break;
        dl -= (p[len - 1] == '=') + (p[len - 2] == '=');
        if ((size_t)dl <= cap) {
            memcpy(out, buf, (size_t)dl);
            n = dl;
        }
    }
    fclose(f);
    return n;
}

/* A key in BIND's format (K*.private, v1.3, algorithm 13 or 15, with its K*.key beside it
 * for the public half and the flags) into k. */
static int import_bind(struct dnssec_key *k, const char *priv, struct err *e)
{
    memset(k, 0, sizeof(*k));
    char pub[4096];
    size_t n = strlen(priv);
    snprintf(pub, sizeof(pub), "%.*s.key", (int)(n - 8), priv); /* .private -> .key */
    uint8_t raw[64];
    FILE *f = fopen(priv, "r");
    unsigned a = 0;
    char line[256];
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "Algorithm: %u", &a) == 1)
            break;
    if (f != NULL)
        fclose(f);
    int plen = b64_field(priv, "PrivateKey:", raw, sizeof(raw));
    /* the .key line: OWNER [TTL] [IN] DNSKEY FLAGS 3 ALG BASE64 */
    unsigned flags = 0, proto = 0, kalg = 0;
    char b64[200] = "";
    char kline[1024];
    f = fopen(pub, "r");
    while (f != NULL && fgets(kline, sizeof(kline), f) != NULL) {
        char *p = strstr(kline, "DNSKEY");
        int at = 0;
        if (kline[0] == ';' || p == NULL ||
            sscanf(p, "DNSKEY %u %u %u %n", &flags, &proto, &kalg, &at) != 3 || at == 0)
            continue;
        size_t o = 0; /* the key may be written in several space-separated chunks */
        for (p += at; *p != '\0' && *p != ';' && o + 1 < sizeof(b64); p++)
            if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                b64[o++] = *p;
        b64[o] = '\0';
        break;
    }
    if (f != NULL)
        fclose(f);
    uint8_t pubkey[DNSSEC_P256_PUB_LEN + 2];
    int publen = -1;
    size_t bl = strlen(b64);
    if (bl > 0 && bl % 4 == 0 && bl / 4 * 3 <= sizeof(pubkey) + 2) {
        uint8_t tmp[DNSSEC_P256_PUB_LEN + 3];
        publen = EVP_DecodeBlock(tmp, (const unsigned char *)b64, (int)bl);
        if (publen >= 0) {
            publen -= (b64[bl - 1] == '=') + (b64[bl - 2] == '=');
            memcpy(pubkey, tmp, (size_t)publen);
        }
    }
    if ((a != 13 && a != 15) || kalg != a || (flags != 256 && flags != 257) || plen != 32 ||
        publen != (a == 13 ? DNSSEC_P256_PUB_LEN : DNSSEC_ED25519_PUB_LEN))
        return err_set(e, GSLBD_EINVAL, priv, 0, 0,
                       "not a BIND key of algorithm 13 or 15 with its %s beside it", pub);
    EVP_PKEY *p = NULL;
    if (a == 15) {
        p = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32);
    } else {
        uint8_t point[1 + DNSSEC_P256_PUB_LEN];
        point[0] = 4; /* uncompressed */
        memcpy(point + 1, pubkey, DNSSEC_P256_PUB_LEN);
        OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
        BIGNUM *d = BN_bin2bn(raw, 32, NULL);
        OSSL_PARAM *params = NULL;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (b != NULL && d != NULL && ctx != NULL &&
            OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
            OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d) == 1 &&
            OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) ==
                1 &&
            (params = OSSL_PARAM_BLD_to_param(b)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
            EVP_PKEY_fromdata(ctx, &p, EVP_PKEY_KEYPAIR, params);
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(b);
        BN_clear_free(d);
        EVP_PKEY_CTX_free(ctx);
    }
    OPENSSL_cleanse(raw, sizeof(raw));
    /* the private half must match the public one BIND published */
    EVP_PKEY_CTX *chk = p != NULL ? EVP_PKEY_CTX_new(p, NULL) : NULL;
    bool pair = chk != NULL && EVP_PKEY_pairwise_check(chk) == 1;
    EVP_PKEY_CTX_free(chk);
    if (p == NULL || !pair) {
        EVP_PKEY_free(p);
        return err_set(e, GSLBD_EINVAL, priv, 0, 0, "the private key does not match %s", pub);
    }
    k->pkey = p;
    int rc = key_publish(k, e, priv);
    if (rc == 0 && memcmp(k->dnskey + 4, pubkey, (size_t)publen) != 0)
        rc = err_set(e, GSLBD_EINVAL, priv, 0, 0, "the private key does not match %s", pub);
    if (rc < 0) {
        dnssec_key_free(k);
        return rc;
    }
    dnssec_key_set_flags(k, (uint16_t)flags);
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
    const char *import = NULL;
    bool zsk = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--zsk") == 0)
            flags = DNSSEC_DNSKEY_FLAGS_ZSK, zsk = true;
        else if (strcmp(argv[i], "--import") == 0 && i + 1 < argc)
            import = argv[++i];
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
    size_t il = import != NULL ? strlen(import) : 0;
    int rc = 0;
    if (import == NULL)
        rc = dnssec_key_generate_alg(&k, alg, flags, &e);
    else if (il > 8 && strcmp(import + il - 8, ".private") == 0)
        rc = import_bind(&k, import, &e); /* its flags are BIND's, unless --zsk */
    else /* a copy is made 0600: the source may be readable by its group (Knot's: 0640) */
        rc = key_read(&k, import, false, &e);
    if (rc == 0 && import != NULL && (zsk || k.flags != DNSSEC_DNSKEY_FLAGS_ZSK))
        dnssec_key_set_flags(&k, flags);
    if (rc < 0) {
        fprintf(stderr, "gslbd: --keygen: %s\n", e.msg);
        return 1;
    }
    flags = k.flags;
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
    rc = dnssec_key_print(&k, text, 3600, flags == DNSSEC_DNSKEY_FLAGS_KSK, stdout);
    dnssec_key_free(&k);
    return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

void dnssec_to_folder_owner(const char *dir, int fd, const char *what)
{
    struct stat st; /* made as root (the first start before --user): the folder's owner's */
    if (geteuid() == 0 && stat(dir, &st) == 0 && st.st_uid != 0 &&
        fchown(fd, st.st_uid, st.st_gid) < 0)
        log_warn("%s: cannot give it to the owner of %s: %s", what, dir, strerror(errno));
}
