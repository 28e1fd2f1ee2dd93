/* conf_int.h: internals shared by the conf_ files: struct conf building (conf.c), the JSON
 * loader and its key tables (conf_load.c), the GSLB keys (conf_gslb.c, conf_geoip.c).
 * Not for use outside the conf_ files. */
#ifndef GSLBD_CONF_INT_H
#define GSLBD_CONF_INT_H

#include <jansson.h>

#include "server/conf/conf.h"
#include "server/conf/conf_pos.h"
#include "server/text.h"

#define CONF_LISTEN_MAX 64
#define CONF_ZONES_MAX 65536
#define CONF_ORIGIN_MAX 1024 /* presentation text, escapes included */
#define CONF_PATH_MAX 4096   /* a file name as written */
#define CONF_COMMENT_KEY "$comment"

/* GSLB limits: generous for any real deployment, small enough to catch a runaway file. */
#define CONF_NAME_MAX 63    /* region, check and cluster names */
#define CONF_REGIONS_MAX 64 /* geo/geo.h GEO_MAX_REGIONS: rankings are kept per region */
#define CONF_CHECKS_MAX 1024
#define CONF_CLUSTERS_MAX 65536
#define CONF_SERVICES_MAX 65536
#define CONF_CLUSTER_ADDRS_MAX 64
#define CONF_CLUSTER_CHECKS_MAX 16
#define CONF_SERVICE_CLUSTERS_MAX 1024
#define CONF_NETS_MAX 1048576
#define CONF_NETS_FILE_MAX (64u << 20)
#define CONF_PINS_MAX 512

/* ---- struct conf building (conf.c) ---- */

/* Make room for element n of an array that holds n; capacity doubles at powers of two.
 * 0 or -ENOMEM (then *arr is unchanged). */
int conf__grow(void **arr, size_t n, size_t elsize);

/* Append a zeroed element of size bytes to the array *arr_p (a T **) holding *n, and
 * count it. The element, or NULL when out of memory (then nothing changed). */
void *conf__push_zeroed(void *arr_p, size_t *n, size_t size);

/* Set every default from the key tables. -EINVAL if a table is inconsistent. */
int conf__set_defaults(struct conf *c);

/* Index of a listen entry with the same address and port, or -1. */
long conf__listen_find(const struct conf *c, const struct sockaddr_storage *ss);

/* Append a parsed listen address; text is copied. 0 or -ENOMEM. */
int conf__listen_push(struct conf *c, const char *text, const struct sockaddr_storage *ss,
                      socklen_t len);

/* NULL if origin is acceptable, else why not (a message without the origin itself). */
const char *conf__origin_problem(const char *origin);

/* Index of a zone with the same origin (case-insensitive, final dot optional), or -1. */
long conf__zone_find(const struct conf *c, const char *origin);

/* Append a zone; origin and file are copied. 0 or -ENOMEM. */
int conf__zone_push(struct conf *c, const char *origin, const char *file);

/* ---- the table engine (conf_schema.c); the file itself is read by conf_load.c ---- */

struct conf_loader {
    const char *file; /* config path as given, for messages */
    const char *text; /* the file's bytes, for error positions */
    size_t len;
    size_t dirlen; /* bytes of file up to and including its last '/'; 0 = none */
    struct conf *c;
    struct err *e;
    struct text_buf path; /* the JSON path being walked, e.g. "$.zones[1].file" */
    void *ctx;            /* the running GSLB loader's own state (conf_gslb.c, conf_geoip.c) */
};

/* How one key is checked and stored; a section is a table of these (Knot style). */
enum conf_item_type {
    IT_UINT,    /* integer in [min, max], stored in an unsigned field of `size` bytes */
    IT_REAL,    /* number (integer or not) in [min, max], stored in a double */
    IT_BOOL,    /* true or false, stored in a bool; def is 0 or 1 */
    IT_ENUM,    /* one of names[], stored as its index in an int (or an int-sized enum) */
    IT_STRING,  /* string of min..max bytes, stored as a const char * borrowed from the tree */
    IT_TEXT,    /* string of min..max bytes, stored as an owned copy in a char * */
    IT_NAME,    /* like IT_TEXT, but only [a-z0-9-] (region, check and cluster names) */
    IT_PATH,    /* file name of 1..CONF_PATH_MAX bytes, stored owned, resolved as conf__resolve */
    IT_SECTION, /* object checked against sub, stored in the struct at offset */
    IT_LIST,    /* array of min..max elements, each handed to fn with the path at [i] */
    IT_CUSTOM,  /* the value handed to fn */
};

struct conf_section;

struct conf_item {
    const char *key;
    enum conf_item_type type;
    bool required;
    size_t offset; /* of the field in the section's struct */
    size_t size;   /* of the field, for IT_UINT */
    long long min;
    long long max;
    long long def; /* IT_UINT, IT_BOOL, IT_ENUM */
    const char *const *names;
    const struct conf_section *sub;
    int (*fn)(struct conf_loader *ld, json_t *v, void *base);
    const char *what; /* IT_LIST: what the elements are, for messages */
};

struct conf_section {
    const struct conf_item *items;
    size_t n;
};

#define CONF_FIELD(type, member)                                                                   \
    .offset = offsetof(type, member), .size = sizeof(((type *)0)->member)
#define CONF_SECTION(items)                                                                        \
    {                                                                                              \
        items, sizeof(items) / sizeof(items[0])                                                    \
    }

/* Store the defaults of sec's rows into base, checking each row can hold its bounds. */
int conf__section_defaults(const struct conf_section *sec, void *base);

/* Check obj against sec (unknown keys, types, bounds, required keys) and store into base.
 * The current path must be obj's. 0 or the error reported. */
int conf__parse_section(struct conf_loader *ld, const struct conf_section *sec, json_t *obj,
                        void *base);

/* Start the path at "$"; 0 or the out-of-memory error. */
int conf__path_root(struct conf_loader *ld);
/* Append ".key" (or ["key"]) / "[i]" to the current path; 0 or the out-of-memory error. */
int conf__path_key(struct conf_loader *ld, const char *key);
int conf__path_index(struct conf_loader *ld, size_t i);
/* Cut the current path back to len bytes (a length saved before appending). */
void conf__path_cut(struct conf_loader *ld, size_t len);

/* Report "file:line:col: PATH: msg" at the value (or key) of the current path; returns
 * GSLBD_EINVAL. */
int conf__error(struct conf_loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same at the value or the key `key` of the object at the current path. */
int conf__error_at(struct conf_loader *ld, const char *key, enum conf_pos_what what,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A required key is missing from the object at the current path; hint may be NULL. */
int conf__missing(struct conf_loader *ld, const char *key, const char *hint);
int conf__nomem(struct conf_loader *ld);

/* name resolved against the config file's folder (kept as is when absolute); *out is owned
 * by the caller. 0 or the out-of-memory error. */
int conf__resolve(struct conf_loader *ld, const char *name, char **out);
/* v must be a file (what: "file", "folder") name of 1 to CONF_PATH_MAX bytes; *out is it
 * resolved as conf__resolve does (owned). 0 or the error reported. */
int conf__path_value(struct conf_loader *ld, json_t *v, const char *what, char **out);
/* v must be an object (else "must be EXPECTED"): fn(key, value, arg) for each entry but
 * the note "$comment" (which must be a string). 0 or the first error. */
int conf__object_each(struct conf_loader *ld, json_t *v, const char *expected,
                      int (*fn)(struct conf_loader *ld, const char *key, json_t *el, void *arg),
                      void *arg);

#define CONF_PRIVATE_MAX 4096 /* bytes a private file may hold */

/* Turns the bytes of a private file into base; NULL, or what is wrong with them ("is
 * empty"), which the caller reports after the file's path. */
typedef const char *(*conf_private_parse)(const char *buf, size_t len, void *base);

/* Read the private file (a token or secret) named by the string v, resolved like every
 * path, and hand its bytes to parse. The file must be regular, owned by the user we run as
 * (or by anyone when root_reads_any and we are root: --user rereads it at reloads), closed
 * to group and others, and at most CONF_PRIVATE_MAX bytes. kind names it in errors
 * ("token", "secret"). */
int conf__read_private(struct conf_loader *ld, json_t *v, const char *kind, bool root_reads_any,
                       conf_private_parse parse, void *base);

/* ---- a zone's "dnssec" object (conf_dnssec.c) ---- */

extern const struct conf_section conf__dnssec_section;

/* After the zone object zone (at the current path) was parsed into d (defaults set
 * before): marks d enabled when "dnssec" was given, checks the keys are named one way,
 * fills the defaults and seconds, and records where the keys are named. 0 or the error. */
int conf__dnssec_finish(struct conf_loader *ld, json_t *zone, struct conf_dnssec *d);
void conf__dnssec_free(struct conf_dnssec *d);

/* ---- names referred to by index (conf_schema.c) ---- */

/* A sorted name lookup: region, check and cluster names, or wire-form DNS names. */
struct conf_nix_ent {
    const uint8_t *key;
    size_t len;
    size_t idx; /* position in the configured list */
};

struct conf_nameix {
    struct conf_nix_ent *e;
    size_t n;
};

/* Index the n keys that key(base, i, &len) returns; 0 or -ENOMEM. */
int conf__nix_build(struct conf_nameix *x, size_t n, const void *base,
                    const uint8_t *(*key)(const void *base, size_t i, size_t *len));

/* Index x over the n names of $.LIST[i].name and refuse a repeat; name(i) is the name as
 * configured, for the message. 0 or the error reported. */
int conf__index_names(struct conf_loader *ld, struct conf_nameix *x, size_t n, const void *base,
                      const uint8_t *(*key)(const void *, size_t, size_t *), const char *list,
                      const char *what, const char *(*name)(const struct conf *c, size_t i));

/* The current path with its last index replaced by j: "$.clusters[2].checks[j]". */
void conf__sibling_path(const struct conf_loader *ld, size_t j, char *buf, size_t n);

/* The configured index of key (len bytes) in x, or -1. */
long conf__nix_find(const struct conf_nameix *x, const uint8_t *key, size_t len);

/* v is an element of a list of names (cluster checks, service clusters, region orders):
 * look it up in x, refuse a repeat within the list, append its index to *arr (holding *n).
 * what ("region") names the kind in messages. 0 or the error reported. */
int conf__ref_elem(struct conf_loader *ld, json_t *v, const struct conf_nameix *x, const char *what,
                   size_t **arr, size_t *n);

/* ---- GSLB keys (conf_gslb.c) ---- */

/* Load regions, checks, clusters, services and geoip from root, in that order so that
 * every name refers to something already loaded; zones must be loaded already. Fills the
 * default region order. The path must be "$". 0 or the error reported. */
int conf__gslb_load(struct conf_loader *ld, json_t *root);

/* Top-level rows whose value conf__gslb_load reads after the rest: a no-op handler. */
int conf__gslb_later(struct conf_loader *ld, json_t *v, void *base);

/* ---- the api key (conf_api.c) ---- */

/* What a config file gets without an "api" key: the API on, on CONF_API_DEFAULT_LISTEN.
 * 0, or -EINVAL if the key table is inconsistent. */
int conf__api_file_defaults(struct conf *c);

/* Top-level row handler for "api" (base is the struct conf). 0 or the error reported. */
int conf__api_value(struct conf_loader *ld, json_t *v, void *base);

/* ---- the cookies and rrl keys (conf_harden.c) ---- */

/* Sections of the top-level rows "cookies" and "rrl" (base: their struct in struct conf). */
extern const struct conf_section conf__cookies_section;
extern const struct conf_section conf__rrl_section;

/* ---- the zone file keys (conf_files.c) ---- */

#define CONF_INCLUDE_DIRS_MAX 64

/* An element of $.zone_include_dirs (base: struct conf): a folder, resolved and appended. */
int conf__include_dir_elem(struct conf_loader *ld, json_t *v, void *base);
/* ---- the cluster key (conf_cluster.c) ---- */

/* Top-level row handler for "cluster" (base is the struct conf). 0 or the error reported. */
int conf__cluster_value(struct conf_loader *ld, json_t *v, void *base);

/* Free what conf__cluster_value stored. */
void conf__cluster_free(struct conf *c);

/* ---- the geoip key (conf_geoip.c) ---- */

/* Load $.geoip, if present (nets, nets_file, pins, default order), referring to regions;
 * then default the region order to all regions in configured order. The path must be "$".
 * 0 or the error reported. */
int conf__geoip_load(struct conf_loader *ld, json_t *root, const struct conf_nameix *regions);

#endif
