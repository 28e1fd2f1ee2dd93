/* dnssec_keys.c: the keys a signed zone uses now. A key file or a KSK and ZSK pair named in
 * the config are read as they are. A key folder (key_dir) is managed: gslbd makes a KSK and
 * a ZSK the first time, keeps each key's timeline in <zone>.keys.json beside the key files,
 * and rolls them (docs/dnssec.md, RFC 6781 4.1, RFC 7583):
 * - ZSK, pre-publication: zsk_lifetime after the ZSK became active, a new ZSK is published;
 *   it starts signing once the DNSKEY RRset that holds it has reached every cache (DNSKEY
 *   TTL + propagation delay); the old one stays published until its signatures have
 *   expired from caches too (the zone's longest TTL + propagation delay), then it is
 *   removed and its file deleted.
 * - KSK, double signature: ksk_lifetime after the KSK became active, a new KSK is published
 *   and signs the DNSKEY RRset beside the old one. Once it has reached caches, CDS and
 *   CDNSKEY name it (RFC 7344) for the parent to take; when every configured parent server
 *   answers our DS with its digest (or an operator says so with gslbd --ds-seen), the old
 *   KSK goes after the parent's DS TTL + propagation delay.
 * Everything here runs off the query path, on the thread that loads zones; the state file
 * is written atomically under a lock that --ds-seen takes too. */
#include "server/dnssec_keys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <ldns/ldns.h>

#include "server/dns/dname.h"
#include "server/dnssec_share.h"
#include "server/log.h"

static const char *const role_names[] = {"csk", "ksk", "zsk"};

const char *dnssec_role_name(enum dnssec_role r)
{
    return role_names[r];
}

bool dnssec_keyent_published(const struct dnssec_keyent *k, int64_t now)
{
    return k->publish <= now && (k->remove == 0 || now < k->remove);
}

static bool signing(const struct dnssec_keyent *k, int64_t now)
{
    return k->active <= now && (k->retire == 0 || now < k->retire) &&
           dnssec_keyent_published(k, now);
}

bool dnssec_keyent_signs_zone(const struct dnssec_keyent *k, int64_t now)
{
    return k->role != DNSSEC_ROLE_KSK && signing(k, now);
}

bool dnssec_keyent_signs_keys(const struct dnssec_keyent *k, int64_t now)
{
    return k->role != DNSSEC_ROLE_ZSK && signing(k, now);
}

const struct dnssec_keyent *dnssec_keys_cds(const struct dnssec_keyset *ks, int64_t now)
{
    const struct dnssec_keyent *best = NULL;
    for (size_t i = 0; i < ks->n; i++) {
        const struct dnssec_keyent *k = &ks->k[i];
        if (k->role == DNSSEC_ROLE_ZSK || !signing(k, now) || k->ready > now || k->retire != 0)
            continue;
        if (best == NULL || k->publish > best->publish)
            best = k;
    }
    return best;
}

const char *dnssec_keyent_state(const struct dnssec_keyent *k, int64_t now)
{
    if (!dnssec_keyent_published(k, now))
        return k->publish > now ? "created" : "removed";
    if (signing(k, now))
        return "active";
    return k->active > now ? "published" : "retired";
}

void dnssec_keys_free(struct dnssec_keyset *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        dnssec_key_free(&ks->k[i].key);
    ks->n = 0;
}

/* ---- configured key files ---------------------------------------------------------------- */

static int load_file(struct dnssec_keyset *ks, const char *path, enum dnssec_role role,
                     struct err *e)
{
    struct dnssec_keyent *k = &ks->k[ks->n];
    memset(k, 0, sizeof(*k));
    int rc = dnssec_key_load(&k->key, path, e);
    if (rc < 0)
        return rc;
    if (role == DNSSEC_ROLE_ZSK)
        dnssec_key_set_flags(&k->key, DNSSEC_DNSKEY_FLAGS_ZSK);
    k->role = role;
    ks->n++;
    return 0;
}

/* ---- the managed folder ------------------------------------------------------------------ */

/* origin as the folder's names use it: lowercase, no final dot ("root" for the root). */
static void zone_stem(const char *origin, char *out, size_t cap)
{
    size_t n = strlen(origin);
    if (n > 0 && origin[n - 1] == '.')
        n--;
    if (n == 0)
        snprintf(out, cap, "root");
    else
        snprintf(out, cap, "%.*s", (int)n, origin);
    for (char *p = out; *p; p++)
        *p = (char)dname_lower((uint8_t)*p);
}

struct folder {
    const char *dir;
    char stem[300];
    char state[4096];
    int lock_fd;
};

static int folder_open(struct folder *f, const char *dir, const char *origin, bool readonly,
                       struct err *e)
{
    f->dir = dir;
    f->lock_fd = -1;
    zone_stem(origin, f->stem, sizeof(f->stem));
    snprintf(f->state, sizeof(f->state), "%s/%s.keys.json", dir, f->stem);
    if (readonly)
        return 0;
    char lock[4200];
    snprintf(lock, sizeof(lock), "%s/.%s.keys.lock", dir, f->stem);
    f->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f->lock_fd < 0)
        return err_set(e, -errno, dir, 0, 0, "DNSSEC key folder: %s: %s", lock, strerror(errno));
    dnssec_to_folder_owner(dir, f->lock_fd, lock);
    if (flock(f->lock_fd, LOCK_EX) < 0) {
        int rc = err_set(e, -errno, dir, 0, 0, "DNSSEC key folder: lock: %s", strerror(errno));
        close(f->lock_fd);
        f->lock_fd = -1;
        return rc;
    }
    return 0;
}

static void folder_close(struct folder *f)
{
    if (f->lock_fd >= 0)
        close(f->lock_fd); /* releases the lock */
    f->lock_fd = -1;
}

static int64_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* Read the state file (missing: no keys yet) and each key's file. */
static int state_read(const struct folder *f, struct dnssec_keyset *ks, struct err *e)
{
    json_error_t je;
    json_t *root = json_load_file(f->state, 0, &je);
    if (root == NULL) {
        if (access(f->state, F_OK) != 0 && errno == ENOENT)
            return 0;
        return err_set(e, GSLBD_EPARSE, f->state, je.line, je.column, "%s", je.text);
    }
    json_t *keys = json_object_get(root, "keys"), *o;
    size_t i;
    int rc = 0;
    if (!json_is_array(keys))
        rc = err_set(e, GSLBD_EPARSE, f->state, 0, 0, "no \"keys\" list");
    json_array_foreach (keys, i, o) {
        if (rc < 0)
            break;
        const char *file = json_string_value(json_object_get(o, "file"));
        const char *role = json_string_value(json_object_get(o, "role"));
        if (ks->n >= DNSSEC_MAX_KEYS || file == NULL || role == NULL || strchr(file, '/') != NULL ||
            strlen(file) >= sizeof(ks->k[0].file) ||
            (strcmp(role, "ksk") != 0 && strcmp(role, "zsk") != 0)) {
            rc = err_set(e, GSLBD_EPARSE, f->state, 0, 0, "keys[%zu]: bad or too many keys", i);
            break;
        }
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", f->dir, file);
        rc = load_file(ks, path, role[0] == 'k' ? DNSSEC_ROLE_KSK : DNSSEC_ROLE_ZSK, e);
        if (rc < 0)
            break;
        struct dnssec_keyent *k = &ks->k[ks->n - 1];
        snprintf(k->file, sizeof(k->file), "%s", file);
        k->created = jint(o, "created");
        k->publish = jint(o, "publish");
        k->active = jint(o, "active");
        k->retire = jint(o, "retire");
        k->remove = jint(o, "remove");
        k->ready = jint(o, "ready");
        k->ds_seen = jint(o, "ds_seen");
    }
    if (rc == 0) {
        ks->ds_checked = jint(root, "ds_checked");
        const char *st = json_string_value(json_object_get(root, "ds_status"));
        snprintf(ks->ds_status, sizeof(ks->ds_status), "%s", st != NULL ? st : "");
    }
    json_decref(root);
    return rc;
}

static int state_write(const struct folder *f, const struct dnssec_keyset *ks, struct err *e)
{
    json_t *root = json_object(), *keys = json_array();
    json_object_set_new(root, "keys", keys);
    for (size_t i = 0; i < ks->n; i++) {
        const struct dnssec_keyent *k = &ks->k[i];
        json_array_append_new(
            keys, json_pack("{s:s, s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "file",
                            k->file, "role", role_names[k->role], "tag", k->key.tag, "algorithm",
                            k->key.alg, "created", (json_int_t)k->created, "publish",
                            (json_int_t)k->publish, "active", (json_int_t)k->active, "retire",
                            (json_int_t)k->retire, "remove", (json_int_t)k->remove, "ready",
                            (json_int_t)k->ready, "ds_seen", (json_int_t)k->ds_seen));
    }
    json_object_set_new(root, "ds_checked", json_integer(ks->ds_checked));
    json_object_set_new(root, "ds_status", json_string(ks->ds_status));
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", f->state);
    char *text = json_dumps(root, JSON_INDENT(1));
    json_decref(root);
    int rc = 0;
    int fd = text == NULL ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = text != NULL ? strlen(text) : 0;
    if (fd >= 0)
        dnssec_to_folder_owner(f->dir, fd, f->state);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
        fsync(fd) < 0 || rename(tmp, f->state) < 0)
        rc = err_set(e, -EIO, f->state, 0, 0, "cannot write the key state: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        unlink(tmp);
    free(text);
    return rc;
}

/* Make a key of role in the folder; it joins ks with its timeline set by the caller. */
static int make_key(const struct folder *f, const char *origin, uint8_t alg, enum dnssec_role role,
                    int64_t now, struct dnssec_keyset *ks, struct err *e)
{
    if (ks->n >= DNSSEC_MAX_KEYS)
        return err_set(e, GSLBD_ELIMIT, f->state, 0, 0, "too many keys");
    struct dnssec_keyent *k = &ks->k[ks->n];
    memset(k, 0, sizeof(*k));
    uint16_t flags = role == DNSSEC_ROLE_ZSK ? DNSSEC_DNSKEY_FLAGS_ZSK : DNSSEC_DNSKEY_FLAGS_KSK;
    for (int tries = 0;; tries++) { /* a key tag the zone does not use yet */
        int rc = dnssec_key_generate_alg(&k->key, alg, flags, e);
        if (rc < 0)
            return rc;
        bool clash = false;
        for (size_t i = 0; i < ks->n; i++)
            clash = clash || ks->k[i].key.tag == k->key.tag;
        if (!clash)
            break;
        dnssec_key_free(&k->key);
        if (tries > 16)
            return err_set(e, GSLBD_ELIMIT, f->state, 0, 0, "no free key tag");
    }
    char zone[304];
    snprintf(zone, sizeof(zone), "%s.", strcmp(f->stem, "root") == 0 ? "" : f->stem);
    snprintf(k->file, sizeof(k->file), "K%s+%03u+%05u.pem", strcmp(zone, ".") == 0 ? "." : zone,
             k->key.alg, k->key.tag);
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", f->dir, k->file);
    int rc = dnssec_key_save(&k->key, path, e);
    if (rc < 0) {
        dnssec_key_free(&k->key);
        return rc;
    }
    int kfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (kfd >= 0) {
        dnssec_to_folder_owner(f->dir, kfd, path);
        close(kfd);
    }
    k->role = role;
    k->created = now;
    ks->n++;
    log_info("zone %s: made %s %u (algorithm %u) in %s", origin, role_names[role], k->key.tag,
             k->key.alg, f->dir);
    return 0;
}

/* Ask every parent server for our DS; 1 when each answers with key's DS (SHA-256). */
static int parents_publish(const struct conf_dnssec *d, const char *origin,
                           const struct dnssec_keyent *key, char *status, size_t cap)
{
    uint8_t owner[DNAME_MAX], digest[DNSSEC_DS_SHA256_LEN];
    ldns_rdf *name = ldns_dname_new_frm_str(origin);
    if (name == NULL)
        return 0;
    dname_copy_lower(owner, ldns_rdf_data(name));
    if (dnssec_ds_sha256(owner, key->key.dnskey, key->key.dnskey_len, digest) < 0) {
        ldns_rdf_deep_free(name);
        return 0;
    }
    size_t seen = 0;
    for (size_t p = 0; p < d->nparents; p++) {
        const struct sockaddr_storage *ss = &d->parents[p];
        char host[INET6_ADDRSTRLEN] = "";
        uint16_t port;
        ldns_rdf *ns;
        if (ss->ss_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
            port = ntohs(a->sin_port);
            ns = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, host);
        } else {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
            port = ntohs(a->sin6_port);
            ns = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, host);
        }
        ldns_resolver *r = ldns_resolver_new();
        ldns_pkt *pkt = NULL;
        if (r != NULL && ns != NULL && ldns_resolver_push_nameserver(r, ns) == LDNS_STATUS_OK) {
            ldns_resolver_set_port(r, port);
            ldns_resolver_set_recursive(r, false);
            ldns_resolver_set_retry(r, 1);
            ldns_resolver_set_timeout(r, (struct timeval){2, 0});
            pkt = ldns_resolver_query(r, name, LDNS_RR_TYPE_DS, LDNS_RR_CLASS_IN, 0);
        }
        bool found = false;
        ldns_rr_list *ds = pkt != NULL
                               ? ldns_pkt_rr_list_by_type(pkt, LDNS_RR_TYPE_DS, LDNS_SECTION_ANSWER)
                               : NULL;
        for (size_t i = 0; ds != NULL && i < ldns_rr_list_rr_count(ds); i++) {
            ldns_rr *rr = ldns_rr_list_rr(ds, i);
            if (ldns_rr_rd_count(rr) != 4)
                continue;
            ldns_rdf *dg = ldns_rr_rdf(rr, 3);
            found = found || (ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)) == key->key.tag &&
                              ldns_rdf2native_int8(ldns_rr_rdf(rr, 1)) == key->key.alg &&
                              ldns_rdf2native_int8(ldns_rr_rdf(rr, 2)) == 2 &&
                              ldns_rdf_size(dg) == sizeof(digest) &&
                              memcmp(ldns_rdf_data(dg), digest, sizeof(digest)) == 0);
        }
        ldns_rr_list_deep_free(ds);
        ldns_pkt_free(pkt);
        if (r != NULL)
            ldns_resolver_deep_free(r);
        ldns_rdf_deep_free(ns); /* the resolver keeps a copy */
        if (found)
            seen++;
        else
            snprintf(status, cap, "%s port %u: no DS for key %u", host, port, key->key.tag);
    }
    ldns_rdf_deep_free(name);
    if (seen == d->nparents)
        snprintf(status, cap, "DS for key %u at all %zu parent servers", key->key.tag, seen);
    return seen == d->nparents && seen > 0;
}

static void note_event(int64_t *next, int64_t t, int64_t now)
{
    if (t > now && (*next == 0 || t < *next))
        *next = t;
}

/* One pass of the rollover rules at now; true when something changed. */
static int advance(const struct folder *f, const struct conf_dnssec *d, const char *origin,
                   const struct dnssec_zone_ttls *t, int64_t now, struct dnssec_keyset *ks,
                   bool *changed, struct err *e)
{
    int64_t pub_wait = (int64_t)t->dnskey_ttl + d->propagation_delay_s;
    int64_t sig_wait = (int64_t)t->max_ttl + d->propagation_delay_s;
    /* removed keys leave the set and the folder */
    for (size_t i = 0; i < ks->n;) {
        struct dnssec_keyent *k = &ks->k[i];
        if (k->remove == 0 || k->remove > now) {
            i++;
            continue;
        }
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", f->dir, k->file);
        if (unlink(path) < 0 && errno != ENOENT)
            log_warn("%s: cannot delete a removed key: %s", path, strerror(errno));
        log_info("zone %s: %s %u removed", origin, role_names[k->role], k->key.tag);
        dnssec_key_free(&k->key);
        memmove(k, k + 1, (ks->n - i - 1) * sizeof(*k));
        ks->n--;
        *changed = true;
    }
    for (int r = DNSSEC_ROLE_KSK; r <= DNSSEC_ROLE_ZSK; r++) {
        /* the newest key of the role, and the one before it if it is still there */
        struct dnssec_keyent *cur = NULL;
        size_t nrole = 0;
        for (size_t i = 0; i < ks->n; i++)
            if (ks->k[i].role == (enum dnssec_role)r) {
                nrole++;
                if (cur == NULL || ks->k[i].created > cur->created)
                    cur = &ks->k[i];
            }
        if (cur == NULL) { /* the first key of the role: at once (no parent has a DS yet) */
            int rc = make_key(f, origin, d->alg, (enum dnssec_role)r, now, ks, e);
            if (rc < 0)
                return rc;
            struct dnssec_keyent *k = &ks->k[ks->n - 1];
            k->publish = k->active = k->ready = now;
            *changed = true;
            continue;
        }
        uint32_t life = r == DNSSEC_ROLE_ZSK ? d->zsk_lifetime_s : d->ksk_lifetime_s;
        if (nrole == 1 && life > 0 && cur->active + life <= now) { /* start a roll */
            int rc = make_key(f, origin, d->alg, (enum dnssec_role)r, now, ks, e);
            if (rc < 0)
                return rc;
            struct dnssec_keyent *old = NULL, *k = &ks->k[ks->n - 1];
            for (size_t i = 0; i + 1 < ks->n; i++)
                if (ks->k[i].role == (enum dnssec_role)r)
                    old = &ks->k[i];
            k->publish = now;
            if (r == DNSSEC_ROLE_ZSK) { /* pre-publication */
                k->active = now + pub_wait;
                old->retire = k->active;
                old->remove = k->active + sig_wait;
            } else { /* double signature: signs the DNSKEY RRset at once */
                k->active = now;
                k->ready = now + pub_wait;
            }
            log_info("zone %s: %s roll started: %u replaces %u", origin, role_names[r], k->key.tag,
                     old->key.tag);
            *changed = true;
            continue;
        }
        if (r == DNSSEC_ROLE_KSK && nrole > 1 && cur->ds_seen == 0 && cur->ready <= now &&
            d->nparents > 0) {
            int seen = parents_publish(d, origin, cur, ks->ds_status, sizeof(ks->ds_status));
            ks->ds_checked = now;
            if (seen)
                cur->ds_seen = now;
            *changed = true;
        }
        if (r == DNSSEC_ROLE_KSK && cur->ds_seen != 0)
            for (size_t i = 0; i < ks->n; i++) {
                struct dnssec_keyent *k = &ks->k[i];
                if (k != cur && k->role == DNSSEC_ROLE_KSK && k->retire == 0) {
                    /* caches may hold the parent's old DS RRset this long */
                    k->retire = k->remove =
                        cur->ds_seen + d->parent_ds_ttl_s + d->propagation_delay_s;
                    log_info("zone %s: the parent publishes the DS of KSK %u; KSK %u goes at %lld",
                             origin, cur->key.tag, k->key.tag, (long long)k->remove);
                    *changed = true;
                }
            }
    }
    return 0;
}

/* When the state changes next: a key's next date, a due roll, the next DS check. */
static int64_t next_event(const struct conf_dnssec *d, const struct dnssec_keyset *ks, int64_t now)
{
    int64_t next = 0;
    size_t nksk = 0;
    for (size_t i = 0; i < ks->n; i++)
        nksk += ks->k[i].role == DNSSEC_ROLE_KSK;
    for (size_t i = 0; i < ks->n; i++) {
        const struct dnssec_keyent *k = &ks->k[i];
        note_event(&next, k->publish, now);
        note_event(&next, k->active, now);
        note_event(&next, k->retire, now);
        note_event(&next, k->remove, now);
        note_event(&next, k->ready, now);
        uint32_t life = k->role == DNSSEC_ROLE_ZSK ? d->zsk_lifetime_s : d->ksk_lifetime_s;
        size_t nrole = 0;
        for (size_t j = 0; j < ks->n; j++)
            nrole += ks->k[j].role == k->role;
        if (life > 0 && nrole == 1) /* its roll starts then */
            note_event(&next, k->active + life > now ? k->active + life : now + 1, now);
        if (k->role == DNSSEC_ROLE_KSK && nksk > 1 && k->ds_seen == 0 && k->ready <= now) {
            /* asking the parents again, or reading what gslbd --ds-seen wrote */
            uint32_t every = d->propagation_delay_s / 4;
            every = every < 1 ? 1 : every > 600 ? 600 : every;
            note_event(&next, now + every, now);
        }
    }
    return next;
}

#define SHARE_RETRY_S 30 /* etcd did not answer: look at the shared keys again then */

static int managed(const struct conf_dnssec *d, const char *origin,
                   const struct dnssec_zone_ttls *t, int64_t now, bool readonly,
                   const struct conf_shared *shared, struct dnssec_keyset *ks, struct err *e)
{
    struct folder f;
    int rc = folder_open(&f, d->key_dir, origin, readonly, e);
    if (rc < 0)
        return rc;
    bool sharing = shared != NULL && !readonly, stale = false;
    for (int attempt = 0;; attempt++) {
        int64_t rev = 0;
        if (sharing && (rc = dnssec_share_pull(shared, f.stem, f.dir, f.state, &rev, e)) < 0) {
            if (access(f.state, F_OK) != 0) /* nothing to go on: another instance may roll */
                break;
            log_warn("zone %s: the shared DNSSEC keys: %s; this instance's copy signs, no key "
                     "step until etcd answers",
                     origin, e->msg);
            memset(e, 0, sizeof(*e));
            rc = 0;
            sharing = false;
            stale = true;
        }
        rc = state_read(&f, ks, e);
        bool changed = false;
        if (rc == 0 && !readonly && !stale)
            rc = advance(&f, d, origin, t, now, ks, &changed, e);
        if (rc == 0 && readonly && ks->n == 0) { /* --check before the first start */
            rc = dnssec_key_generate_alg(&ks->k[0].key, d->alg, DNSSEC_DNSKEY_FLAGS_KSK, e);
            if (rc == 0) {
                ks->k[0].role = DNSSEC_ROLE_CSK;
                ks->n = 1;
            }
        }
        if (rc == 0 && changed)
            rc = state_write(&f, ks, e);
        if (rc == 0 && sharing && (changed || rev == 0)) {
            bool won = false;
            rc = dnssec_share_push(shared, f.stem, f.dir, f.state, rev, &won, e);
            if (rc == 0 && !won && attempt < 4) { /* another instance was first: take its */
                dnssec_keys_free(ks);
                memset(ks, 0, sizeof(*ks));
                continue;
            }
            if (rc == 0 && !won)
                rc = err_set(e, -EAGAIN, f.state, 0, 0, "the shared key state keeps changing");
        }
        break;
    }
    folder_close(&f);
    ks->managed = true;
    ks->next_event = next_event(d, ks, now);
    if (stale && (ks->next_event == 0 || ks->next_event > now + SHARE_RETRY_S))
        ks->next_event = now + SHARE_RETRY_S;
    if (rc < 0 && shared != NULL && e->msg[0] != '\0' && strstr(e->msg, "etcd") != NULL) {
        char was[sizeof(e->msg)];
        snprintf(was, sizeof(was), "%s", e->msg);
        err_set(e, rc, d->key_dir, 0, 0, "zone %s: the shared DNSSEC keys: %s", origin, was);
    }
    return rc;
}

uint64_t dnssec_keys_fingerprint(const struct dnssec_keyset *ks, int64_t now)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over what the signatures reflect */
    const struct dnssec_keyent *cds = dnssec_keys_cds(ks, now);
    for (size_t i = 0; i < ks->n; i++) {
        const struct dnssec_keyent *k = &ks->k[i];
        uint32_t x = (uint32_t)k->key.tag << 8 | (uint32_t)dnssec_keyent_published(k, now) << 3 |
                     (uint32_t)dnssec_keyent_signs_zone(k, now) << 2 |
                     (uint32_t)dnssec_keyent_signs_keys(k, now) << 1 | (uint32_t)(k == cds);
        for (int b = 0; b < 4; b++)
            h = (h ^ ((x >> (8 * b)) & 0xff)) * 1099511628211ull;
    }
    return h;
}

int dnssec_keys_get(const struct conf_dnssec *d, const char *origin,
                    const struct dnssec_zone_ttls *t, int64_t now, bool readonly,
                    const struct conf_shared *shared, struct dnssec_keyset *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    int rc;
    if (d->key_dir != NULL)
        rc = managed(d, origin, t, now, readonly, shared, out, e);
    else if (d->ksk_file != NULL) {
        rc = load_file(out, d->ksk_file, DNSSEC_ROLE_KSK, e);
        if (rc == 0)
            rc = load_file(out, d->zsk_file, DNSSEC_ROLE_ZSK, e);
        if (rc == 0 && out->k[0].key.tag == out->k[1].key.tag)
            rc = err_set(e, GSLBD_EINVAL, d->zsk_file, 0, 0,
                         "the ZSK's key tag is the KSK's: make another ZSK");
    } else
        rc = load_file(out, d->key_file, DNSSEC_ROLE_CSK, e);
    if (rc == 0) {
        bool zone_signer = false, key_signer = false;
        for (size_t i = 0; i < out->n; i++) {
            zone_signer = zone_signer || dnssec_keyent_signs_zone(&out->k[i], now);
            key_signer = key_signer || dnssec_keyent_signs_keys(&out->k[i], now);
        }
        if (!zone_signer || !key_signer)
            rc = err_set(e, GSLBD_EINVAL, d->key_dir, 0, 0, "DNSSEC: no active %s in the key state",
                         zone_signer ? "KSK" : "ZSK");
    }
    if (rc < 0)
        dnssec_keys_free(out);
    return rc;
}

/* ---- gslbd --ds-seen ------------------------------------------------------------------------ */

int dnssec_ds_seen_main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gslbd --ds-seen KEY_DIR ZONE TAG\n");
        return 2;
    }
    char *end;
    long tag = strtol(argv[2], &end, 10);
    if (*end != '\0' || tag < 0 || tag > 65535) {
        fprintf(stderr, "gslbd: --ds-seen: '%s' is not a key tag\n", argv[2]);
        return 2;
    }
    struct folder f;
    struct err e = {{0}};
    struct dnssec_keyset ks;
    memset(&ks, 0, sizeof(ks));
    int rc = folder_open(&f, argv[0], argv[1], false, &e);
    if (rc == 0)
        rc = state_read(&f, &ks, &e);
    struct dnssec_keyent *k = NULL;
    for (size_t i = 0; rc == 0 && i < ks.n; i++)
        if (ks.k[i].role == DNSSEC_ROLE_KSK && ks.k[i].key.tag == tag)
            k = &ks.k[i];
    if (rc == 0 && k == NULL)
        rc = err_set(&e, GSLBD_EINVAL, f.state, 0, 0, "no KSK with key tag %ld", tag);
    if (rc == 0 && k->ds_seen == 0) {
        k->ds_seen = (int64_t)time(NULL);
        snprintf(ks.ds_status, sizeof(ks.ds_status), "DS for key %ld: said by gslbd --ds-seen",
                 tag);
        rc = state_write(&f, &ks, &e);
    }
    folder_close(&f);
    dnssec_keys_free(&ks);
    if (rc < 0) {
        fprintf(stderr, "gslbd: --ds-seen: %s\n", e.msg);
        return 1;
    }
    printf("gslbd: --ds-seen: KSK %ld of %s: the parent's DS is recorded; a running gslbd acts "
           "on it at its next key check\n",
           tag, argv[1]);
    return 0;
}
