/* ctl.c: `gslbd ctl ...`, the operator's client of a running gslbd: status as a table,
 * cluster admin states, reload with an exit status that tells the outcome, and explain,
 * all through the HTTP API (libcurl), with the address and token read from the config file
 * (docs/api.md, gslbd-ctl(8)). */
#include "server/ctl.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/conf/conf.h"
#include "server/text.h"

#define CTL_TIMEOUT_S 60 /* a reload may load a large GeoIP database */
#define CTL_BODY_MAX (16u << 20)

/* Where the API is and how to authenticate, from the config file. */
struct ctl_target {
    const char *config;
    char base[128]; /* "http://127.0.0.1:8053" */
    char token[CONF_API_TOKEN_MAX + 1];
    char token_err[600]; /* why there is no token ("" when there is one) */
    bool json;           /* --json: print the API's JSON as it came */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gslbd ctl [-c FILE] [--json] COMMAND\n"
            "commands:\n"
            "  status                    regions, clusters, states, shares, failing checks\n"
            "  drain|undrain|up|down|auto CLUSTER  set a cluster's admin state\n"
            "  reload                    reload config and zones; exit 1 if rejected\n"
            "  keys                      DNSSEC keys of the signed zones and their state\n"
            "  explain NAME TYPE CLIENT [ECS] [--assume-down C1,C2]\n"
            "                            what gslbd answers now, and why\n"
            "options:\n"
            "  -c, --config FILE  gslbd's config: the API address and token file (default "
            "%s)\n"
            "  -j, --json         print the API's JSON instead of text\n"
            "exit status: 0 done, 1 gslbd refused (rejected reload, unknown cluster), 2 usage,\n"
            "             3 config or token file unreadable, 4 gslbd's API unreachable\n",
            CTL_DEFAULT_CONFIG);
}

/* ---- the config file: API address and token ------------------------------------------ */

/* The token file's content, trimmed, into t->token; otherwise t->token_err says why not. */
static void read_token(struct ctl_target *t, const char *file)
{
    char path[4096];
    const char *slash = strrchr(t->config, '/');
    if (file[0] == '/' || slash == NULL)
        snprintf(path, sizeof(path), "%s", file);
    else
        snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - t->config), t->config, file);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(t->token_err, sizeof(t->token_err),
                 "cannot read the token file %.480s: %s (run as root or as gslbd's user)", path,
                 strerror(errno));
        return;
    }
    char buf[4097];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    size_t b = strspn(buf, " \t\r\n");
    while (n > b && strchr(" \t\r\n", buf[n - 1]) != NULL)
        n--;
    if (n == b || n - b > CONF_API_TOKEN_MAX) {
        snprintf(t->token_err, sizeof(t->token_err), "the token file %.480s holds no usable token",
                 path);
        return;
    }
    memcpy(t->token, buf + b, n - b);
    t->token[n - b] = '\0';
}

/* Read "api" from the config: listen (default 127.0.0.1:8053), enabled, token_file. */
static int read_config(struct ctl_target *t)
{
    json_error_t je;
    json_t *root = json_load_file(t->config, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        if (je.line > 0)
            fprintf(stderr, "gslbd ctl: %s:%d:%d: %s\n", t->config, je.line, je.column, je.text);
        else
            fprintf(stderr, "gslbd ctl: %s: %s\n", t->config, je.text);
        return GSLBD_EINVAL;
    }
    int rc = GSLBD_EINVAL;
    json_t *api = json_object_get(root, "api");
    json_t *enabled = json_object_get(api, "enabled");
    json_t *listen = json_object_get(api, "listen");
    json_t *token_file = json_object_get(api, "token_file");
    const char *text = json_is_string(listen) ? json_string_value(listen) : CONF_API_DEFAULT_LISTEN;
    struct sockaddr_storage ss;
    socklen_t len;
    char host[INET6_ADDRSTRLEN] = "";
    if (api != NULL && !json_is_object(api)) {
        fprintf(stderr, "gslbd ctl: %s: \"api\" is not an object\n", t->config);
    } else if (json_is_false(enabled)) {
        fprintf(stderr, "gslbd ctl: %s: the HTTP API is disabled (\"api\": {\"enabled\": false})\n",
                t->config);
    } else if (conf_parse_addr(text, 0, &ss, &len) < 0) {
        fprintf(stderr, "gslbd ctl: %s: $.api.listen: not ADDR:PORT: \"%s\"\n", t->config, text);
    } else {
        uint16_t port;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            if (a->sin_addr.s_addr == htonl(INADDR_ANY)) /* listening everywhere: use loopback */
                a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
            port = ntohs(a->sin_port);
            snprintf(t->base, sizeof(t->base), "http://%s:%u", host, port);
        } else {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
                a->sin6_addr = in6addr_loopback;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
            port = ntohs(a->sin6_port);
            snprintf(t->base, sizeof(t->base), "http://[%s]:%u", host, port);
        }
        if (json_is_string(token_file))
            read_token(t, json_string_value(token_file));
        else
            snprintf(t->token_err, sizeof(t->token_err),
                     "%s has no api.token_file: changes through the API are disabled", t->config);
        rc = 0;
    }
    json_decref(root);
    return rc;
}

/* ---- HTTP ---------------------------------------------------------------------------- */

struct body {
    struct text_buf t;
    bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t n = size * nmemb;
    int r = text_buf_append(&b->t, ptr, n, CTL_BODY_MAX);
    b->too_big = b->too_big || r == -E2BIG;
    return r == 0 ? n : 0;
}

/* One request; 0 with *status and *out (the JSON body, NULL if none), or the exit status
 * after printing why. body != NULL makes it a POST with the token. */
static int http(const struct ctl_target *t, const char *path, const char *body, long *status,
                json_t **out)
{
    *out = NULL;
    if (body != NULL && t->token[0] == '\0') {
        fprintf(stderr, "gslbd ctl: %s\n", t->token_err);
        return CTL_EXIT_CONFIG;
    }
    char url[4096];
    snprintf(url, sizeof(url), "%s%s", t->base, path);
    CURL *h = curl_easy_init();
    if (h == NULL) {
        fprintf(stderr, "gslbd ctl: cannot initialise libcurl\n");
        return CTL_EXIT_UNREACHABLE;
    }
    struct body b = {0};
    struct curl_slist *hdr = NULL;
    char auth[CONF_API_TOKEN_MAX + 40];
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)CTL_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*"); /* the API is local: never through a proxy */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "gslbd-ctl");
    if (body != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t->token);
        hdr = curl_slist_append(hdr, auth);
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    CURLcode cc = curl_easy_perform(h);
    int rc = 0;
    if (cc != CURLE_OK) {
        fprintf(stderr, "gslbd ctl: no answer from gslbd's API at %s: %s%s\n", t->base,
                b.too_big ? "the answer is too large" : curl_easy_strerror(cc),
                cc == CURLE_COULDNT_CONNECT ? " (is gslbd running with this config?)" : "");
        rc = CTL_EXIT_UNREACHABLE;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        json_error_t je;
        *out = b.t.p != NULL ? json_loads(b.t.p, 0, &je) : NULL;
        if (*out == NULL) {
            fprintf(stderr, "gslbd ctl: %s: HTTP %ld without a JSON answer\n", url, *status);
            rc = CTL_EXIT_UNREACHABLE;
        }
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    free(b.t.p);
    return rc;
}

static void print_json(const json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    printf("\n");
}

/* The API's {"error": ...} for an HTTP status that is not 200; returns CTL_EXIT_REFUSED. */
static int refused(const char *what, long status, const json_t *j)
{
    const char *msg = json_string_value(json_object_get(j, "error"));
    fprintf(stderr, "gslbd ctl: %s: %s (HTTP %ld)\n", what, msg != NULL ? msg : "refused", status);
    return CTL_EXIT_REFUSED;
}

/* ---- status as a table --------------------------------------------------------------- */

#define TABLE_COLS 8

/* Rows of cells (strings), printed with each column as wide as its widest cell. */
struct table {
    size_t ncols;
    json_t *rows; /* array of arrays of strings */
};

static void table_row(struct table *t, ...)
{
    va_list ap;
    va_start(ap, t);
    json_t *row = json_array();
    for (size_t i = 0; i < t->ncols; i++) {
        const char *s = va_arg(ap, const char *);
        json_array_append_new(row, json_string(s != NULL ? s : ""));
    }
    va_end(ap);
    json_array_append_new(t->rows, row);
}

static void table_print(struct table *t)
{
    int w[TABLE_COLS] = {0};
    size_t i;
    json_t *row;
    json_array_foreach (t->rows, i, row) {
        for (size_t c = 0; c < t->ncols; c++) {
            int n = (int)strlen(json_string_value(json_array_get(row, c)));
            if (n > w[c])
                w[c] = n;
        }
    }
    json_array_foreach (t->rows, i, row) {
        char line[4096];
        size_t off = 0;
        for (size_t c = 0; c < t->ncols && off < sizeof(line); c++)
            off += (size_t)snprintf(line + off, sizeof(line) - off, "%-*s%s", w[c],
                                    json_string_value(json_array_get(row, c)),
                                    c + 1 < t->ncols ? "  " : "");
        if (off >= sizeof(line))
            off = sizeof(line) - 1;
        while (off > 0 && line[off - 1] == ' ')
            line[--off] = '\0';
        printf("%s\n", line);
    }
    json_decref(t->rows);
    t->rows = NULL;
}

static void duration(long s, char *buf, size_t n)
{
    if (s >= 86400)
        snprintf(buf, n, "%ldd %ldh", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(buf, n, "%ldh %ldm", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        snprintf(buf, n, "%ldm %lds", s / 60, s % 60);
    else
        snprintf(buf, n, "%lds", s);
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

/* The failing checks of a cluster: "ADDR CHECK: reason" joined by "; ", or "-". */
static void failing_checks(const json_t *cl, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    size_t i, k;
    json_t *addr, *tg;
    json_array_foreach (json_object_get(cl, "addresses"), i, addr) {
        json_array_foreach (json_object_get(addr, "targets"), k, tg) {
            bool pending = json_is_true(json_object_get(tg, "pending"));
            bool up = json_is_true(json_object_get(tg, "up"));
            bool last_ok = json_is_true(json_object_get(tg, "last_ok"));
            if (pending || (up && last_ok))
                continue;
            if (off < n)
                off += (size_t)snprintf(buf + off, n - off, "%s%s %s: %s%s", off ? "; " : "",
                                        str(addr, "address"), str(tg, "check"),
                                        up ? "last probe failed: " : "", str(tg, "last_reason"));
        }
    }
    if (buf[0] == '\0')
        snprintf(buf, n, "-");
}

/* Clusters answered although the probes have them down: every cluster of a fail_open
 * service is down, so the service answers with them all (POL-6). */
static bool fails_open(const json_t *st, const char *cluster)
{
    size_t i, k;
    json_t *svc, *name;
    json_array_foreach (json_object_get(st, "services"), i, svc) {
        if (!json_is_true(json_object_get(svc, "every_cluster_down")) ||
            strcmp(str(svc, "all_down"), "fail_open") != 0)
            continue;
        json_array_foreach (json_object_get(svc, "clusters"), k, name) {
            if (strcmp(json_string_value(name), cluster) == 0)
                return true;
        }
    }
    return false;
}

static void print_status(const struct ctl_target *t, const json_t *st)
{
    char up[40];
    duration((long)json_integer_value(json_object_get(st, "uptime_s")), up, sizeof(up));
    const char *err = json_string_value(json_object_get(st, "last_reload_error"));
    json_t *a1m = json_object_get(st, "answers_1m");
    printf("gslbd %s at %s: up %s, %lld reload(s), %lld rejected, last reload %s%s\n",
           str(st, "version"), t->base, up,
           (long long)json_integer_value(json_object_get(st, "reloads")),
           (long long)json_integer_value(json_object_get(st, "reload_failures")),
           err != NULL ? "REJECTED: " : "ok", err != NULL ? err : "");
    printf("%lld GSLB answer(s) in the last %lld s\n\n",
           (long long)json_integer_value(json_object_get(a1m, "total")),
           (long long)json_integer_value(json_object_get(a1m, "window_s")));

    struct table tb = {8, json_array()};
    table_row(&tb, "REGION", "CLUSTER", "STATE", "ADMIN", "WEIGHT", "SHARE", "ANSWERS/MIN",
              "FAILING CHECKS");
    size_t i;
    json_t *cl;
    json_array_foreach (json_object_get(st, "clusters"), i, cl) {
        char share[16], ans[24], w[16], fail[1024], state[64];
        snprintf(share, sizeof(share), "%.1f%%",
                 100.0 * json_number_value(json_object_get(cl, "share_1m")));
        snprintf(ans, sizeof(ans), "%lld",
                 (long long)json_integer_value(json_object_get(cl, "answers_1m")));
        snprintf(w, sizeof(w), "%lld",
                 (long long)json_integer_value(json_object_get(cl, "weight")));
        failing_checks(cl, fail, sizeof(fail));
        snprintf(state, sizeof(state), "%s%s", str(cl, "state"),
                 !json_is_true(json_object_get(cl, "in_service")) && fails_open(st, str(cl, "name"))
                     ? " (failing open: answered)"
                     : "");
        table_row(&tb, str(cl, "region"), str(cl, "name"), state, str(cl, "admin"), w, share, ans,
                  fail);
    }
    table_print(&tb);

    printf("\n");
    tb = (struct table){5, json_array()};
    table_row(&tb, "SERVICE", "POLICY", "TTL", "CLUSTERS", "ALL DOWN");
    json_t *svc;
    json_array_foreach (json_object_get(st, "services"), i, svc) {
        char names[1024] = "", ttl[32], down[64];
        size_t off = 0, k;
        json_t *n;
        json_array_foreach (json_object_get(svc, "clusters"), k, n) {
            if (off < sizeof(names))
                off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", k ? "," : "",
                                        json_string_value(n));
        }
        snprintf(ttl, sizeof(ttl), "%lld/%lld",
                 (long long)json_integer_value(json_object_get(svc, "ttl")),
                 (long long)json_integer_value(json_object_get(svc, "failover_ttl")));
        snprintf(down, sizeof(down), "%s%s", str(svc, "all_down"),
                 json_is_true(json_object_get(svc, "every_cluster_down")) ? ": EVERY CLUSTER DOWN"
                                                                          : "");
        table_row(&tb, str(svc, "name"), str(svc, "policy"), ttl, names, down);
    }
    table_print(&tb);

    json_t *changes = json_object_get(st, "admin_changes");
    if (json_array_size(changes) > 0) {
        printf("\nadmin changes, newest first:\n");
        tb = (struct table){5, json_array()};
        json_t *ch;
        json_array_foreach (changes, i, ch) {
            char fromto[40];
            snprintf(fromto, sizeof(fromto), "%s -> %s", str(ch, "from"), str(ch, "to"));
            table_row(&tb, str(ch, "time"), str(ch, "cluster"), fromto, str(ch, "via"),
                      str(ch, "by"));
        }
        table_print(&tb);
    }
}

/* ---- commands ------------------------------------------------------------------------ */

static int cmd_status(const struct ctl_target *t)
{
    long status = 0;
    json_t *j = NULL;
    int rc = http(t, "/api/v1/status", NULL, &status, &j);
    if (rc == 0 && status != 200)
        rc = refused("status", status, j);
    else if (rc == 0 && t->json)
        print_json(j);
    else if (rc == 0)
        print_status(t, j);
    json_decref(j);
    return rc;
}

/* The DNSSEC keys of /v1/status as a table: what a roll is doing now. */
static void print_keys(json_t *st)
{
    json_t *zones = json_object_get(st, "dnssec"), *z;
    size_t i;
    if (json_array_size(zones) == 0) {
        printf("no signed zone\n");
        return;
    }
    struct table tb = {7, json_array()};
    table_row(&tb, "ZONE", "TAG", "ROLE", "ALG", "STATE", "CDS", "SIGNATURES UNTIL");
    json_array_foreach (zones, i, z) {
        char until[40] = "";
        time_t t = (time_t)json_integer_value(json_object_get(z, "expiration"));
        struct tm tm;
        if (gmtime_r(&t, &tm) != NULL)
            strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_t *k;
        size_t j;
        json_array_foreach (json_object_get(z, "keys"), j, k) {
            char tag[8], alg[8];
            snprintf(tag, sizeof(tag), "%d", (int)json_integer_value(json_object_get(k, "tag")));
            snprintf(alg, sizeof(alg), "%d",
                     (int)json_integer_value(json_object_get(k, "algorithm")));
            table_row(&tb, str(z, "zone"), tag, str(k, "role"), alg, str(k, "state"),
                      json_is_true(json_object_get(k, "cds")) ? "yes" : "", j == 0 ? until : "");
        }
        const char *ds = str(z, "ds_check");
        if (ds[0] != '\0')
            table_row(&tb, str(z, "zone"), "", "", "", ds, "", "");
    }
    table_print(&tb);
}

static int cmd_keys(const struct ctl_target *t)
{
    long status = 0;
    json_t *j = NULL;
    int rc = http(t, "/api/v1/status", NULL, &status, &j);
    if (rc == 0 && status != 200)
        rc = refused("keys", status, j);
    else if (rc == 0 && t->json)
        print_json(json_object_get(j, "dnssec"));
    else if (rc == 0)
        print_keys(j);
    json_decref(j);
    return rc;
}

static int cmd_state(const struct ctl_target *t, const char *verb, const char *cluster)
{
    const char *state = strcmp(verb, "undrain") == 0 ? "auto" : verb;
    char *esc = curl_easy_escape(NULL, cluster, 0);
    char path[1024], body[64], what[300];
    snprintf(path, sizeof(path), "/api/v1/clusters/%s/state", esc != NULL ? esc : "");
    curl_free(esc);
    snprintf(body, sizeof(body), "{\"state\": \"%s\"}", state);
    snprintf(what, sizeof(what), "%s %s", verb, cluster);
    long status = 0;
    json_t *j = NULL;
    int rc = http(t, path, body, &status, &j);
    if (rc == 0 && status != 200)
        rc = refused(what, status, j);
    else if (rc == 0 && t->json)
        print_json(j);
    else if (rc == 0)
        printf("%s: %s -> %s%s%s\n", str(j, "cluster"), str(j, "previous"), str(j, "state"),
               json_is_string(json_object_get(j, "state_file")) ? ", kept in "
                                                                : " (no state_file: "
                                                                  "until restart)",
               str(j, "state_file"));
    json_decref(j);
    return rc;
}

static int cmd_reload(const struct ctl_target *t)
{
    long status = 0;
    json_t *j = NULL;
    int rc = http(t, "/api/v1/reload", "", &status, &j);
    if (rc == 0 && t->json) {
        print_json(j);
        rc = status == 200 ? 0 : CTL_EXIT_REFUSED;
    } else if (rc == 0 && status == 200) {
        printf("reload ok (%lld reloads since start)\n",
               (long long)json_integer_value(json_object_get(j, "reloads")));
    } else if (rc == 0 && status == 422) {
        fprintf(stderr, "gslbd ctl: reload rejected, the previous data keeps serving: %s\n",
                str(j, "error"));
        rc = CTL_EXIT_REFUSED;
    } else if (rc == 0) {
        rc = refused("reload", status, j);
    }
    json_decref(j);
    return rc;
}

static int cmd_explain(const struct ctl_target *t, char **args, int n, const char *assume_down)
{
    static const char *const keys[] = {"name", "type", "client", "ecs"};
    char path[4096];
    size_t off = (size_t)snprintf(path, sizeof(path), "/api/v1/explain?");
    for (int i = 0; i < n && i < 4; i++) {
        char *esc = curl_easy_escape(NULL, args[i], 0);
        off += (size_t)snprintf(path + off, sizeof(path) - off, "%s%s=%s", i ? "&" : "", keys[i],
                                esc != NULL ? esc : "");
        curl_free(esc);
    }
    if (assume_down != NULL && off < sizeof(path)) {
        char *esc = curl_easy_escape(NULL, assume_down, 0);
        snprintf(path + off, sizeof(path) - off, "&assume_down=%s", esc != NULL ? esc : "");
        curl_free(esc);
    }
    long status = 0;
    json_t *j = NULL;
    int rc = http(t, path, NULL, &status, &j);
    if (rc == 0 && status != 200)
        rc = refused("explain", status, j);
    else if (rc == 0)
        print_json(j);
    json_decref(j);
    return rc;
}

void ctl_whoami(char *buf, size_t n)
{
    uid_t uid = getuid();
    struct passwd *pw = getpwuid(uid);
    const char *sudo = getenv("SUDO_USER");
    char name[64];
    if (pw != NULL)
        snprintf(name, sizeof(name), "%s", pw->pw_name);
    else
        snprintf(name, sizeof(name), "uid %u", (unsigned)uid);
    if (sudo != NULL && sudo[0] != '\0')
        snprintf(buf, n, "gslbd --admin by %s (uid %u, sudo from %.32s)", name, (unsigned)uid,
                 sudo);
    else
        snprintf(buf, n, "gslbd --admin by %s (uid %u)", name, (unsigned)uid);
}

int ctl_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"assume-down", required_argument, NULL, 'a'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct ctl_target t;
    memset(&t, 0, sizeof(t));
    t.config = CTL_DEFAULT_CONFIG;
    const char *assume_down = NULL;
    static char prog[] = "gslbd ctl"; /* getopt's messages say who complains */
    argv[0] = prog;
    int ch;
    optind = 0; /* glibc: start afresh (ctl_main may run more than once, in tests) */
    while ((ch = getopt_long(argc, argv, "+c:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            t.config = optarg;
            break;
        case 'j':
            t.json = true;
            break;
        case 'h':
            usage(stdout);
            return CTL_EXIT_OK;
        default:
            usage(stderr);
            return CTL_EXIT_USAGE;
        }
    }
    /* options may also follow the command: gslbd ctl explain ... --assume-down C */
    char *args[8];
    int nargs = 0;
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "--assume-down") == 0 && i + 1 < argc) {
            assume_down = argv[++i];
        } else if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
                   i + 1 < argc) {
            t.config = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0) {
            t.json = true;
        } else if (nargs < 8) {
            args[nargs++] = argv[i];
        } else {
            usage(stderr);
            return CTL_EXIT_USAGE;
        }
    }
    if (nargs == 0) {
        usage(stderr);
        return CTL_EXIT_USAGE;
    }
    const char *cmd = args[0];
    bool state_cmd = strcmp(cmd, "drain") == 0 || strcmp(cmd, "undrain") == 0 ||
                     strcmp(cmd, "up") == 0 || strcmp(cmd, "down") == 0 || strcmp(cmd, "auto") == 0;
    bool ok = (strcmp(cmd, "status") == 0 && nargs == 1) ||
              (strcmp(cmd, "keys") == 0 && nargs == 1) ||
              (strcmp(cmd, "reload") == 0 && nargs == 1) || (state_cmd && nargs == 2) ||
              (strcmp(cmd, "explain") == 0 && nargs >= 4 && nargs <= 5);
    if (!ok || (assume_down != NULL && strcmp(cmd, "explain") != 0)) {
        fprintf(stderr, "gslbd ctl: bad command line for '%s'\n", cmd);
        usage(stderr);
        return CTL_EXIT_USAGE;
    }
    if (read_config(&t) < 0)
        return CTL_EXIT_CONFIG;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "gslbd ctl: cannot initialise libcurl\n");
        return CTL_EXIT_UNREACHABLE;
    }
    int rc;
    if (strcmp(cmd, "status") == 0)
        rc = cmd_status(&t);
    else if (strcmp(cmd, "reload") == 0)
        rc = cmd_reload(&t);
    else if (strcmp(cmd, "keys") == 0)
        rc = cmd_keys(&t);
    else if (state_cmd)
        rc = cmd_state(&t, cmd, args[1]);
    else
        rc = cmd_explain(&t, args + 1, nargs - 1, assume_down);
    curl_global_cleanup();
    memset(t.token, 0, sizeof(t.token));
    return rc;
}
