/* dnssec_share.c: a managed key folder shared through etcd in cluster mode (docs/dnssec.md).
 * etcd holds one document per zone under <prefix>dnssec/<zone>: the folder's state file
 * with each key's PEM beside its timeline. Before an instance looks at its keys it pulls
 * that document into its own folder (the keys it lacks written 0600, the ones no longer
 * listed deleted, the state file replaced); after it advanced the state it pushes the
 * folder back in a transaction that holds only if nobody pushed since its pull (the
 * document's mod_revision), else it pulls again and starts over. So the first instance to
 * reach a roll step makes the key and the others adopt it. Blocking calls: the thread that
 * signs zones, never the query path. */
#include "server/dnssec_share.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/dnssec_keys.h"
#include "server/etcd.h"
#include "server/log.h"

static char *doc_key(const struct conf_shared *sh, const char *stem)
{
    size_t n = strlen(sh->prefix) + strlen(stem) + 16;
    char *k = malloc(n);
    if (k != NULL)
        snprintf(k, n, "%sdnssec/%s", sh->prefix, stem);
    return k;
}

static char *slurp(const char *path, size_t max)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf != NULL ? fread(buf, 1, max, f) : 0;
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    return buf;
}

/* Write text to path, mode 0600: a new file only (exclusive: 1 when written, 0 when it was
 * there), or replacing it atomically. < 0 on error. */
static int write_file(const char *dir, const char *path, const char *text, bool exclusive)
{
    char tmp[4400];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(exclusive ? path : tmp,
                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (exclusive ? O_EXCL : 0), 0600);
    if (fd < 0)
        return exclusive && errno == EEXIST ? 0 : -errno;
    size_t len = strlen(text);
    dnssec_to_folder_owner(dir, fd, path);
    int rc = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -EIO;
    close(fd);
    if (rc == 0 && !exclusive && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(exclusive ? path : tmp);
    return rc < 0 ? rc : exclusive;
}

int dnssec_share_pull(const struct conf_shared *sh, const char *stem, const char *dir,
                      const char *state_path, int64_t *rev, struct err *e)
{
    char *key = doc_key(sh, stem);
    if (key == NULL)
        return err_oom(e, NULL);
    json_t *reply = NULL;
    char why[256] = "";
    int rc = etcd_sync_call(sh, 0, "/v3/kv/range", etcd_range_body(key), &reply, why, sizeof(why));
    free(key);
    const char *gerr = rc == 0 ? etcd_reply_error(reply) : NULL;
    if (rc < 0 || gerr != NULL) {
        rc = err_set(e, rc < 0 ? rc : -EIO, NULL, 0, 0, "etcd: %s", gerr != NULL ? gerr : why);
        json_decref(reply);
        return rc;
    }
    *rev = 0;
    json_t *kvs = json_object_get(reply, "kvs");
    struct etcd_kv kv = {0};
    /* the range body reads every key under the prefix: take the document itself */
    json_t *doc = NULL;
    for (size_t i = 0; i < json_array_size(kvs) && doc == NULL; i++) {
        if (etcd_kv_decode(json_array_get(kvs, i), &kv) == 0 && strstr(kv.key, "dnssec/") &&
            strcmp(strrchr(kv.key, '/') + 1, stem) == 0) {
            *rev = kv.mod_revision;
            doc = json_loads(kv.value, 0, NULL);
        }
        etcd_kv_clear(&kv);
    }
    json_decref(reply);
    if (*rev == 0)
        return 0; /* nothing shared yet: this folder will be */
    json_t *keys = json_object_get(doc, "keys"), *k;
    if (!json_is_array(keys)) {
        json_decref(doc);
        return err_set(e, GSLBD_EPARSE, NULL, 0, 0, "etcd: the shared key state of %s is broken",
                       stem);
    }
    size_t i;
    rc = 0;
    json_array_foreach (keys, i, k) {
        const char *file = json_string_value(json_object_get(k, "file"));
        const char *pem = json_string_value(json_object_get(k, "pem"));
        if (file == NULL || pem == NULL || strchr(file, '/') != NULL) {
            rc = err_set(e, GSLBD_EPARSE, NULL, 0, 0, "etcd: the shared keys[%zu] of %s is broken",
                         i, stem);
            break;
        }
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        if ((rc = write_file(dir, path, pem, true)) < 0) {
            rc = err_set(e, rc, path, 0, 0, "cannot write a shared key: %s", gslbd_strerror(rc));
            break;
        }
        if (rc == 1)
            log_info("%s: key %s taken from the shared state in etcd", stem, file);
        rc = 0;
        json_object_del(k, "pem");
    }
    /* the keys of this zone no longer shared leave this folder too */
    char prefix[320];
    snprintf(prefix, sizeof(prefix), "K%s.+", stem);
    DIR *d = rc == 0 ? opendir(dir) : NULL;
    for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;) {
        size_t n = strlen(de->d_name);
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || n < 4 ||
            strcmp(de->d_name + n - 4, ".pem") != 0)
            continue;
        bool listed = false;
        json_array_foreach (keys, i, k) {
            const char *file = json_string_value(json_object_get(k, "file"));
            listed = listed || strcmp(file, de->d_name) == 0;
        }
        if (!listed)
            unlinkat(dirfd(d), de->d_name, 0);
    }
    if (d != NULL)
        closedir(d);
    char *text = rc == 0 ? json_dumps(doc, JSON_INDENT(1)) : NULL;
    if (rc == 0 && (text == NULL || write_file(dir, state_path, text, false) != 0))
        rc = err_set(e, -EIO, state_path, 0, 0, "cannot write the shared key state");
    free(text);
    json_decref(doc);
    return rc;
}

int dnssec_share_push(const struct conf_shared *sh, const char *stem, const char *dir,
                      const char *state_path, int64_t rev, bool *won, struct err *e)
{
    *won = false;
    json_error_t je;
    json_t *doc = json_load_file(state_path, 0, &je);
    json_t *keys = json_object_get(doc, "keys"), *k;
    size_t i;
    int rc = json_is_array(keys) ? 0 : err_set(e, GSLBD_EPARSE, state_path, 0, 0, "no keys");
    json_array_foreach (keys, i, k) {
        if (rc < 0)
            break;
        const char *file = json_string_value(json_object_get(k, "file"));
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", dir, file != NULL ? file : "");
        char *pem = slurp(path, 8192);
        if (pem == NULL)
            rc = err_set(e, -EIO, path, 0, 0, "cannot read a key to share");
        else
            json_object_set_new(k, "pem", json_string(pem));
        free(pem);
    }
    char *text = rc == 0 ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    char *key = doc_key(sh, stem);
    char *bkey = key != NULL ? etcd_b64(key, strlen(key)) : NULL;
    char *bval = text != NULL ? etcd_b64(text, strlen(text)) : NULL;
    free(key);
    free(text);
    if (rc == 0 && (bkey == NULL || bval == NULL))
        rc = err_oom(e, NULL);
    json_t *reply = NULL;
    char why[256] = "";
    if (rc == 0) {
        /* only if nobody pushed since our pull (a missing key has mod_revision 0) */
        json_t *txn =
            json_pack("{s:[{s:s, s:s, s:s, s:I}], s:[{s:{s:s, s:s}}]}", "compare", "key", bkey,
                      "result", "EQUAL", "target", "MOD", "mod_revision", (json_int_t)rev,
                      "success", "request_put", "key", bkey, "value", bval);
        rc = etcd_sync_call(sh, 0, "/v3/kv/txn", txn, &reply, why, sizeof(why));
        const char *gerr = rc == 0 ? etcd_reply_error(reply) : NULL;
        if (rc < 0 || gerr != NULL)
            rc = err_set(e, rc < 0 ? rc : -EIO, NULL, 0, 0, "etcd: %s", gerr != NULL ? gerr : why);
        else
            *won = json_is_true(json_object_get(reply, "succeeded"));
    }
    json_decref(reply);
    free(bkey);
    free(bval);
    return rc;
}
