/* conf_schema.c: the table engine every conf_ file checks its keys with: defaults, JSON
 * paths and error reports at a file position, one key checked and stored per table row,
 * names referred to by index (conf_nameix), and private files (keys, tokens) read safely. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/conf/conf.h"
#include "server/conf/conf_int.h"
#include "server/conf/conf_pos.h"
#include "server/log.h"

/* ---- defaults ---- */

static void store_uint(void *field, size_t size, unsigned long long v)
{
    if (size == 1) {
        uint8_t x = (uint8_t)v;
        memcpy(field, &x, 1);
    } else if (size == 2) {
        uint16_t x = (uint16_t)v;
        memcpy(field, &x, 2);
    } else if (size == 4) {
        uint32_t x = (uint32_t)v;
        memcpy(field, &x, 4);
    } else {
        uint64_t x = (uint64_t)v;
        memcpy(field, &x, 8);
    }
}

/* Store defaults, checking each row can hold its bounds: a table mistake fails conf_new
 * (and so every test) rather than corrupting memory. */
int conf__section_defaults(const struct conf_section *sec, void *base)
{
    for (size_t i = 0; i < sec->n; i++) {
        const struct conf_item *it = &sec->items[i];
        char *field = (char *)base + it->offset;
        if (it->type == IT_UINT) {
            bool size_ok = it->size == 1 || it->size == 2 || it->size == 4 || it->size == 8;
            if (!size_ok || it->min < 0 || it->min > it->max || it->def < it->min ||
                it->def > it->max ||
                (it->size < 8 && (unsigned long long)it->max >> (8 * it->size)))
                return -EINVAL;
            store_uint(field, it->size, (unsigned long long)it->def);
        } else if (it->type == IT_REAL) {
            double x = (double)it->def;
            memcpy(field, &x, sizeof(x));
        } else if (it->type == IT_BOOL) {
            bool x = it->def != 0;
            memcpy(field, &x, sizeof(x));
        } else if (it->type == IT_ENUM) {
            int x = (int)it->def;
            memcpy(field, &x, sizeof(x));
        } else if (it->type == IT_SECTION) {
            int r = conf__section_defaults(it->sub, field);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* ---- JSON paths and error reports ---- */

static int jpath_add(struct text_buf *p, const char *s, size_t n)
{
    return text_buf_append(p, s, n, SIZE_MAX);
}

/* Append ".key", or ["key"] as a JSON string when .key could not spell it. */
static int jpath_key(struct text_buf *p, const char *key)
{
    if (conf_pos_key_is_plain(key, strlen(key))) {
        int r = jpath_add(p, ".", 1);
        return r < 0 ? r : jpath_add(p, key, strlen(key));
    }
    int r = jpath_add(p, "[\"", 2);
    for (const char *k = key; r == 0 && *k != '\0'; k++) {
        unsigned char ch = (unsigned char)*k;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            r = jpath_add(p, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", ch);
            r = jpath_add(p, esc, 6);
        } else {
            r = jpath_add(p, k, 1);
        }
    }
    return r < 0 ? r : jpath_add(p, "\"]", 2);
}

static int jpath_index(struct text_buf *p, size_t i)
{
    char b[32];
    int n = snprintf(b, sizeof(b), "[%zu]", i);
    return jpath_add(p, b, (size_t)n);
}

static void jpath_cut(struct text_buf *p, size_t len)
{
    p->len = len;
    if (p->p != NULL)
        p->p[len] = '\0';
}

int conf__path_root(struct conf_loader *ld)
{
    return jpath_add(&ld->path, "$", 1) < 0 ? conf__nomem(ld) : 0;
}

int conf__path_key(struct conf_loader *ld, const char *key)
{
    return jpath_key(&ld->path, key) < 0 ? conf__nomem(ld) : 0;
}

int conf__path_index(struct conf_loader *ld, size_t i)
{
    return jpath_index(&ld->path, i) < 0 ? conf__nomem(ld) : 0;
}

void conf__path_cut(struct conf_loader *ld, size_t len)
{
    jpath_cut(&ld->path, len);
}

int conf__nomem(struct conf_loader *ld)
{
    return err_oom(ld->e, ld->file);
}

/* Report "file:line:col: SHOWN: msg", positioned at what of the current path. */
static int ld_report(struct conf_loader *ld, const char *shown, enum conf_pos_what what,
                     const char *msg)
{
    struct conf_pos pos = {0, 0};
    if (conf_pos_find(ld->text, ld->len, ld->path.p, what, &pos) < 0)
        pos.line = 0;
    return err_set(ld->e, GSLBD_EINVAL, ld->file, pos.line, pos.col, "%s: %s", shown, msg);
}

static int ld_verror(struct conf_loader *ld, enum conf_pos_what what, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static int ld_verror(struct conf_loader *ld, enum conf_pos_what what, const char *fmt, va_list ap)
{
    char msg[768];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    return ld_report(ld, ld->path.p, what, msg);
}

/* The value at the current path is wrong. */
int conf__error(struct conf_loader *ld, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = ld_verror(ld, CONF_POS_VALUE, fmt, ap);
    va_end(ap);
    return r;
}

int conf__error_at(struct conf_loader *ld, const char *key, enum conf_pos_what what,
                   const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t mark = ld->path.len;
    int r = conf__path_key(ld, key);
    if (r == 0)
        r = ld_report(ld, ld->path.p, what, msg);
    jpath_cut(&ld->path, mark);
    return r;
}

/* A required key is missing: name its path, positioned at the object that lacks it. */
int conf__missing(struct conf_loader *ld, const char *key, const char *hint)
{
    char shown[512];
    char msg[256];
    snprintf(shown, sizeof(shown), "%s.%s", ld->path.p, key);
    snprintf(msg, sizeof(msg), "required key is missing%s%s%s", hint ? " (" : "", hint ? hint : "",
             hint ? ")" : "");
    return ld_report(ld, shown, CONF_POS_VALUE, msg);
}

/* Store an owned copy of s in the char * at field, replacing (and freeing) what was there. */
static int store_copy(struct conf_loader *ld, void *field, const char *s)
{
    char *copy = strdup(s);
    if (copy == NULL)
        return conf__nomem(ld);
    char *old;
    memcpy(&old, field, sizeof(old));
    free(old);
    memcpy(field, &copy, sizeof(copy));
    return 0;
}

int conf__resolve(struct conf_loader *ld, const char *name, char **out)
{
    /* A relative file name is relative to the config file's folder, not the cwd. */
    size_t dirlen = name[0] == '/' ? 0 : ld->dirlen;
    size_t n = strlen(name);
    char *p = malloc(dirlen + n + 1);
    if (p == NULL)
        return conf__nomem(ld);
    memcpy(p, ld->file, dirlen);
    memcpy(p + dirlen, name, n + 1);
    *out = p;
    return 0;
}

int conf__path_value(struct conf_loader *ld, json_t *v, const char *what, char **out)
{
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    const char *s = json_string_value(v);
    if (n == 0 || n > CONF_PATH_MAX || strlen(s) != n)
        return conf__error(ld, "must be a %s name of 1 to %d bytes", what, CONF_PATH_MAX);
    return conf__resolve(ld, s, out);
}

static int comment(struct conf_loader *ld, const char *key, json_t *v)
{
    if (strcmp(key, CONF_COMMENT_KEY) != 0)
        return 0;
    if (!json_is_string(v))
        return conf__error_at(ld, key, CONF_POS_VALUE, "must be a string");
    return 1;
}

int conf__object_each(struct conf_loader *ld, json_t *v, const char *expected,
                      int (*fn)(struct conf_loader *ld, const char *key, json_t *el, void *arg),
                      void *arg)
{
    if (!json_is_object(v))
        return conf__error(ld, "must be %s", expected);
    const char *key;
    json_t *el;
    json_object_foreach (v, key, el) {
        int r = comment(ld, key, el);
        if (r == 0)
            r = fn(ld, key, el, arg);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- table-driven checks ---- */

static const struct conf_item *find_item(const struct conf_section *sec, const char *key)
{
    for (size_t i = 0; i < sec->n; i++)
        if (strcmp(sec->items[i].key, key) == 0)
            return &sec->items[i];
    return NULL;
}

static int unknown_key(struct conf_loader *ld, const struct conf_section *sec)
{
    char known[512];
    size_t n = 0;
    known[0] = '\0';
    for (size_t i = 0; i < sec->n && n < sizeof(known); i++) {
        int w = snprintf(known + n, sizeof(known) - n, "%s%s", i ? ", " : "", sec->items[i].key);
        if (w > 0)
            n += (size_t)w;
    }
    if (n >= sizeof(known))
        snprintf(known + sizeof(known) - 5, 5, "...");
    char msg[768];
    snprintf(msg, sizeof(msg), "unknown key (known keys: %s, and \"%s\" for notes)", known,
             CONF_COMMENT_KEY);
    return ld_report(ld, ld->path.p, CONF_POS_KEY, msg);
}

static int enum_error(struct conf_loader *ld, const char *const *names)
{
    char list[256];
    size_t n = 0;
    list[0] = '\0';
    for (size_t i = 0; names[i] != NULL && n < sizeof(list); i++) {
        int w = snprintf(list + n, sizeof(list) - n, "%s\"%s\"", i ? ", " : "", names[i]);
        if (w > 0)
            n += (size_t)w;
    }
    return conf__error(ld, "must be one of %s", list);
}

static int parse_list(struct conf_loader *ld, const struct conf_item *it, json_t *v, void *base)
{
    if (!json_is_array(v) || (long long)json_array_size(v) < it->min ||
        (long long)json_array_size(v) > it->max)
        return conf__error(ld, "must be an array of %lld to %lld %s", it->min, it->max, it->what);
    size_t mark = ld->path.len;
    size_t i;
    json_t *el;
    json_array_foreach (v, i, el) {
        if (jpath_index(&ld->path, i) < 0)
            return conf__nomem(ld);
        int r = it->fn(ld, el, base);
        jpath_cut(&ld->path, mark);
        if (r < 0)
            return r;
    }
    return 0;
}

static int parse_item(struct conf_loader *ld, const struct conf_item *it, json_t *v, void *base)
{
    char *field = (char *)base + it->offset;
    switch (it->type) {
    case IT_UINT: {
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;
        if (!json_is_integer(v) || x < it->min || x > it->max)
            return conf__error(ld, "must be an integer from %lld to %lld", it->min, it->max);
        store_uint(field, it->size, (unsigned long long)x);
        return 0;
    }
    case IT_REAL: {
        double x = json_is_number(v) ? json_number_value(v) : NAN;
        if (!(x >= (double)it->min && x <= (double)it->max))
            return conf__error(ld, "must be a number from %lld to %lld", it->min, it->max);
        memcpy(field, &x, sizeof(x));
        return 0;
    }
    case IT_BOOL: {
        if (!json_is_boolean(v))
            return conf__error(ld, "must be true or false");
        bool x = json_is_true(v);
        memcpy(field, &x, sizeof(x));
        return 0;
    }
    case IT_ENUM:
        for (int i = 0; json_is_string(v) && it->names[i] != NULL; i++) {
            if (strcmp(json_string_value(v), it->names[i]) == 0) {
                memcpy(field, &i, sizeof(i));
                return 0;
            }
        }
        return enum_error(ld, it->names);
    case IT_STRING: {
        long long n = json_is_string(v) ? (long long)json_string_length(v) : -1;
        if (n < it->min || n > it->max)
            return conf__error(ld, "must be a string of %lld to %lld bytes", it->min, it->max);
        const char *s = json_string_value(v);
        memcpy(field, &s, sizeof(s));
        return 0;
    }
    case IT_TEXT:
    case IT_NAME: {
        long long n = json_is_string(v) ? (long long)json_string_length(v) : -1;
        const char *s = json_string_value(v);
        if (n < it->min || n > it->max || (long long)strlen(s) != n)
            return conf__error(ld, "must be a string of %lld to %lld bytes%s", it->min, it->max,
                               it->type == IT_NAME ? " of a-z, 0-9 and '-'" : "");
        for (const char *p = s; it->type == IT_NAME && *p != '\0'; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                return conf__error(ld,
                                   "must be a string of %lld to %lld bytes of a-z, 0-9 and "
                                   "'-'",
                                   it->min, it->max);
        return store_copy(ld, field, s);
    }
    case IT_PATH: {
        char *p = NULL;
        int r = conf__path_value(ld, v, "file", &p);
        if (r == 0)
            r = store_copy(ld, field, p);
        free(p);
        return r;
    }
    case IT_SECTION:
        return conf__parse_section(ld, it->sub, v, field);
    case IT_LIST:
        return parse_list(ld, it, v, base);
    case IT_CUSTOM:
        return it->fn(ld, v, base);
    }
    return -EINVAL;
}

int conf__parse_section(struct conf_loader *ld, const struct conf_section *sec, json_t *obj,
                        void *base)
{
    if (!json_is_object(obj))
        return conf__error(ld, "must be an object");
    size_t mark = ld->path.len;
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        if (jpath_key(&ld->path, key) < 0)
            return conf__nomem(ld);
        const struct conf_item *it = find_item(sec, key);
        int r = 0;
        if (it != NULL)
            r = parse_item(ld, it, v, base);
        else if (strcmp(key, CONF_COMMENT_KEY) != 0)
            r = unknown_key(ld, sec);
        else if (!json_is_string(v))
            r = conf__error(ld, "must be a string");
        jpath_cut(&ld->path, mark);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < sec->n; i++)
        if (sec->items[i].required && json_object_get(obj, sec->items[i].key) == NULL)
            return conf__missing(ld, sec->items[i].key, NULL);
    return 0;
}

/* ---- private files ---- */

static long g_run_as = -1; /* conf_set_run_as */

void conf_set_run_as(long uid)
{
    g_run_as = uid;
}

/* Open the private file v names and check it (conf__read_private); 0 with *fdp and *pathp
 * set, or the error. */
static int open_private(struct conf_loader *ld, json_t *v, const char *kind, bool root_reads_any,
                        int *fdp, char **pathp)
{
    char *path = NULL;
    int r = conf__path_value(ld, v, "file", &path);
    if (r < 0)
        return r;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    uid_t run_as = g_run_as >= 0 ? (uid_t)g_run_as : geteuid();
    if (fd < 0) {
        r = conf__error(ld, "cannot open %s: %s", path, strerror(errno));
    } else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r = conf__error(ld, "%s is not a regular file", path);
    } else if (st.st_uid != run_as && !(root_reads_any && geteuid() == 0)) {
        r = conf__error(ld, "%s is owned by uid %u, not by the user gslbd runs as (uid %u)", path,
                        (unsigned)st.st_uid, (unsigned)run_as);
    } else if ((st.st_mode & 077) != 0) {
        r = conf__error(ld,
                        "%s has mode %04o: a %s file must be closed to group and others "
                        "(chmod 600 %s)",
                        path, (unsigned)(st.st_mode & 07777), kind, path);
    }
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        free(path);
        return r;
    }
    *fdp = fd;
    *pathp = path;
    return 0;
}

/* The whole of fd into buf (cap bytes); NULL with *len set, or what went wrong. */
static const char *read_fd(int fd, char *buf, size_t cap, size_t *len)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return "cannot be read";
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == cap)
            return "is larger than 4096 bytes";
    }
    *len = got;
    return NULL;
}

int conf__read_private(struct conf_loader *ld, json_t *v, const char *kind, bool root_reads_any,
                       conf_private_parse parse, void *base)
{
    _Static_assert(CONF_PRIVATE_MAX == 4096, "the message of read_fd");
    int fd = -1;
    char *path = NULL;
    int r = open_private(ld, v, kind, root_reads_any, &fd, &path);
    if (r < 0)
        return r;
    char buf[CONF_PRIVATE_MAX + 1]; /* one more: a full buffer means the file is too long */
    size_t len = 0;
    const char *why = read_fd(fd, buf, sizeof(buf), &len);
    if (why == NULL)
        why = parse(buf, len, base);
    if (why != NULL)
        r = conf__error(ld, "%s %s", path, why);
    close(fd);
    free(path);
    return r;
}

/* ---- sorted name lookups: O(log n) references and duplicate checks for large lists ---- */

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int d = memcmp(a, b, alen < blen ? alen : blen);
    if (d != 0)
        return d;
    return (alen > blen) - (alen < blen);
}

/* Equal keys sort by index, so the first of a run is the one written first. */
static int nix_cmp(const void *pa, const void *pb)
{
    const struct conf_nix_ent *a = pa, *b = pb;
    int d = key_cmp(a->key, a->len, b->key, b->len);
    return d != 0 ? d : (a->idx > b->idx) - (a->idx < b->idx);
}

int conf__nix_build(struct conf_nameix *x, size_t n, const void *base,
                    const uint8_t *(*key)(const void *base, size_t i, size_t *len))
{
    x->e = calloc(n ? n : 1, sizeof(*x->e));
    if (x->e == NULL)
        return -ENOMEM;
    x->n = n;
    for (size_t i = 0; i < n; i++) {
        x->e[i].key = key(base, i, &x->e[i].len);
        x->e[i].idx = i;
    }
    qsort(x->e, n, sizeof(*x->e), nix_cmp);
    return 0;
}

long conf__nix_find(const struct conf_nameix *x, const uint8_t *key, size_t len)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(x->e[mid].key, x->e[mid].len, key, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < x->n && key_cmp(x->e[lo].key, x->e[lo].len, key, len) == 0)
        return (long)x->e[lo].idx;
    return -1;
}

/* The first-written entry that repeats an earlier one, and that earlier one. */
static bool nix_dup(const struct conf_nameix *x, size_t *later, size_t *earlier)
{
    bool found = false;
    size_t first = 0;
    for (size_t i = 1; i < x->n; i++) {
        const struct conf_nix_ent *a = &x->e[first], *b = &x->e[i];
        if (key_cmp(a->key, a->len, b->key, b->len) != 0) {
            first = i;
        } else if (i == first + 1 && (!found || b->idx < *later)) {
            *later = b->idx;
            *earlier = a->idx;
            found = true;
        }
    }
    return found;
}

void conf__sibling_path(const struct conf_loader *ld, size_t j, char *buf, size_t n)
{
    const char *open = strrchr(ld->path.p, '[');
    int stem = open ? (int)(open - ld->path.p) : (int)ld->path.len;
    snprintf(buf, n, "%.*s[%zu]", stem, ld->path.p, j);
}

int conf__ref_elem(struct conf_loader *ld, json_t *v, const struct conf_nameix *x, const char *what,
                   size_t **arr, size_t *n)
{
    if (!json_is_string(v))
        return conf__error(ld, "must be a %s name", what);
    const char *s = json_string_value(v);
    long idx = conf__nix_find(x, (const uint8_t *)s, json_string_length(v));
    if (idx < 0 && x->n == 0)
        return conf__error(ld, "unknown %s '%.100s' (no %ss are configured)", what, s, what);
    if (idx < 0)
        return conf__error(ld, "unknown %s '%.100s'", what, s);
    for (size_t j = 0; j < *n; j++) {
        if ((*arr)[j] == (size_t)idx) {
            char other[512];
            conf__sibling_path(ld, j, other, sizeof(other));
            return conf__error(ld, "duplicate of %s ('%.100s')", other, s);
        }
    }
    size_t *slot = conf__push_zeroed(arr, n, sizeof(**arr));
    if (slot == NULL)
        return conf__nomem(ld);
    *slot = (size_t)idx;
    return 0;
}

int conf__index_names(struct conf_loader *ld, struct conf_nameix *x, size_t n, const void *base,
                      const uint8_t *(*key)(const void *, size_t, size_t *), const char *list,
                      const char *what, const char *(*name)(const struct conf *c, size_t i))
{
    if (conf__nix_build(x, n, base, key) < 0)
        return conf__nomem(ld);
    size_t later = 0, earlier = 0;
    if (!nix_dup(x, &later, &earlier))
        return 0;
    size_t mark = ld->path.len;
    int r = conf__path_key(ld, list);
    if (r == 0)
        r = conf__path_index(ld, later);
    if (r == 0)
        r = conf__error_at(ld, "name", CONF_POS_VALUE,
                           "duplicate %s name '%.300s' (also at $.%s[%zu].name)", what,
                           name(ld->c, later), list, earlier);
    conf__path_cut(ld, mark);
    return r;
}
