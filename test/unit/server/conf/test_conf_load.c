/* test_conf_load.c: unit tests for server/conf/conf_load.c (run from the repository root). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "server/conf/conf.h"
#include "test_conf_file_util.h"

#define DATA "test/data/conf/"

/* Stands in for "*out untouched": never dereferenced. */
#define SENTINEL ((struct conf *)(uintptr_t)0x5e5e)

static uint16_t port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t n)
{
    if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, (socklen_t)n);
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)n);
}

static void test_minimal_file(void **state)
{
    (void)state;
    struct conf *c = load_ok(DATA "good_minimal.json");
    assert_string_equal(c->path, DATA "good_minimal.json");
    assert_int_equal(c->nlisten, 1);
    assert_string_equal(c->listen[0].text, "127.0.0.1:5300");
    assert_int_equal(c->listen[0].addr.ss_family, AF_INET);
    assert_int_equal(c->listen[0].addrlen, sizeof(struct sockaddr_in));
    assert_int_equal(port_of(&c->listen[0].addr), 5300);
    assert_int_equal(c->nzones, 1);
    assert_string_equal(c->zones[0].origin, "example.com");
    assert_string_equal(c->zones[0].file, DATA "zones/example.com.zone");
    /* Everything not written keeps its default. */
    assert_int_equal(c->workers, 0);
    assert_int_equal(c->edns_max_udp, 1232);
    assert_int_equal(c->tcp.max_pending_out, 262144);
    assert_int_equal(c->log_level, 2);
    conf_free(c);
}

static void test_every_key(void **state)
{
    (void)state;
    struct conf *c = load_ok(DATA "good_full.json");
    char a[64];
    assert_int_equal(c->nlisten, 4);
    assert_string_equal(c->listen[1].text, "[::1]:5301");
    assert_int_equal(c->listen[1].addr.ss_family, AF_INET6);
    assert_int_equal(c->listen[1].addrlen, sizeof(struct sockaddr_in6));
    assert_int_equal(port_of(&c->listen[1].addr), 5301);
    addr_text(&c->listen[1].addr, a, sizeof(a));
    assert_string_equal(a, "::1");
    assert_string_equal(c->listen[2].text, "0.0.0.0");
    assert_int_equal(port_of(&c->listen[2].addr), 53);
    assert_int_equal(c->listen[3].addr.ss_family, AF_INET6);
    assert_int_equal(port_of(&c->listen[3].addr), 53);
    assert_int_equal(c->workers, 4);
    assert_int_equal(c->nzones, 2);
    assert_string_equal(c->zones[0].origin, "insure.example.");
    assert_string_equal(c->zones[0].file, DATA "../../../zones/insure.example.zone");
    assert_string_equal(c->zones[1].origin, "Example.ORG");
    assert_string_equal(c->zones[1].file, "/var/lib/gslbd/example.org.zone");
    assert_int_equal(c->edns_max_udp, 4096);
    assert_int_equal(c->nsid_len, 7);
    assert_memory_equal(c->nsid, "ns1.fra", 7);
    assert_int_equal(c->udp_rcvbuf, 65536);
    assert_int_equal(c->udp_sndbuf, 67108864);
    assert_int_equal(c->tcp.idle_timeout_ms, 3600000);
    assert_int_equal(c->tcp.io_timeout_ms, 100);
    assert_int_equal(c->tcp.max_connections, 1000000);
    assert_int_equal(c->tcp.max_per_source, 1);
    assert_int_equal(c->tcp.max_pending_out, 4096);
    assert_int_equal(c->log_level, 3);
    conf_free(c);
}

static void test_example_config(void **state)
{
    (void)state;
    struct conf *c = load_ok("conf/gslbd.json");
    assert_int_equal(c->nlisten, 2);
    assert_string_equal(c->listen[0].text, "127.0.0.1:5300");
    assert_string_equal(c->listen[1].text, "[::1]:5300");
    assert_int_equal(c->workers, 0);
    assert_int_equal(c->nzones, 1);
    assert_string_equal(c->zones[0].file, "conf/../zones/insure.example.zone");
    /* The GSLB part is checked in test_conf_gslb.c. */
    assert_int_equal(c->nregions, 3);
    assert_int_equal(c->nservices, 5);
    conf_free(c);
}

static void test_relative_paths(void **state)
{
    (void)state;
    /* A config in the current folder: zone files stay relative to it. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(DATA), 0);
    struct conf *c = NULL;
    struct err e = {{0}};
    int r = conf_load_file("good_minimal.json", &c, &e);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(r, 0);
    assert_string_equal(c->zones[0].file, "zones/example.com.zone");
    conf_free(c);

    /* An absolute config path; absolute zone files are kept as written. */
    char path[64];
    write_tmp("{\"listen\": [\"::1\"], \"zones\": [{\"origin\": \"a.\", \"file\": \"a.zone\"},"
              " {\"origin\": \"b.\", \"file\": \"/srv/b.zone\"}]}",
              path, sizeof(path));
    c = load_ok(path);
    char want[128];
    snprintf(want, sizeof(want), "/tmp/a.zone");
    assert_string_equal(c->zones[0].file, want);
    assert_string_equal(c->zones[1].file, "/srv/b.zone");
    conf_free(c);
    unlink(path);
}

struct bad_case {
    const char *file;
    int code;
    const char *msg;
};

static const struct bad_case bad_cases[] = {
    /* syntax */
    {"bad_syntax.json", GSLBD_EPARSE, "bad_syntax.json:3:9: '}' expected near '\"zones\"'"},
    {"bad_dup_key.json", GSLBD_EPARSE,
     "bad_dup_key.json:5:11: $.workers: duplicate key (each key may appear once per object)"},
    /* unknown keys: positioned at the key */
    {"bad_unknown_top.json", GSLBD_EINVAL,
     "bad_unknown_top.json:4:5: $.region: unknown key (known keys: listen, workers, zones, "
     "edns_max_udp, nsid, udp_rcvbuf, udp_sndbuf, tcp, log_level, regions, checks, clusters, "
     "services, geoip, state_file, startup_wait_ms, api, cookies, rrl, zone_include_dirs, "
     "zone_max_bytes, cluster, and \"$comment\" for notes)"},
    {"bad_unknown_tcp.json", GSLBD_EINVAL,
     "bad_unknown_tcp.json:5:30: $.tcp.idle_timeout: unknown key (known keys: idle_timeout_ms, "
     "io_timeout_ms, max_connections, max_per_source, max_pending_out, and \"$comment\" for "
     "notes)"},
    {"bad_unknown_zone.json", GSLBD_EINVAL,
     "bad_unknown_zone.json:5:59: $.zones[1].ttl: unknown key (known keys: origin, file, "
     "dnssec, and \"$comment\" for notes)"},
    {"bad_unknown_weird.json", GSLBD_EINVAL,
     "bad_unknown_weird.json:2:10: $.tcp[\"max.conn \\\"x\\\"\"]: unknown key"},
    {"bad_unknown_escaped.json", GSLBD_EINVAL,
     "bad_unknown_escaped.json:4:3: $[\"w\xc3\xb6rkers\"]: unknown key"},
    /* wrong types */
    {"bad_type.json", GSLBD_EINVAL,
     "bad_type.json:3:14: $.workers: must be an integer from 0 to 256"},
    {"bad_real.json", GSLBD_EINVAL,
     "bad_real.json:4:19: $.edns_max_udp: must be an integer from 512 to 4096"},
    {"bad_root.json", GSLBD_EINVAL, "bad_root.json:1:1: $: must be an object"},
    {"bad_tcp_type.json", GSLBD_EINVAL, "bad_tcp_type.json:4:10: $.tcp: must be an object"},
    {"bad_zone_type.json", GSLBD_EINVAL, "bad_zone_type.json:3:68: $.zones[1]: must be an object"},
    {"bad_comment.json", GSLBD_EINVAL, "bad_comment.json:4:23: $.tcp.$comment: must be a string"},
    /* out of range */
    {"bad_range.json", GSLBD_EINVAL,
     "bad_range.json:7:24: $.tcp.idle_timeout_ms: must be an integer from 100 to 3600000"},
    {"bad_enum.json", GSLBD_EINVAL,
     "bad_enum.json:4:16: $.log_level: must be one of \"error\", \"warning\", \"info\", "
     "\"debug\""},
    {"bad_nsid.json", GSLBD_EINVAL,
     "bad_nsid.json:4:11: $.nsid: must be a string of 1 to 128 bytes"},
    {"bad_empty_listen.json", GSLBD_EINVAL,
     "bad_empty_listen.json:2:13: $.listen: must be an array of 1 to 64 address strings"},
    {"bad_utf8_column.json", GSLBD_EINVAL,
     "bad_utf8_column.json:2:49: $.workers: must be an integer from 0 to 256"},
    {"bad_crlf_tab.json", GSLBD_EINVAL,
     "bad_crlf_tab.json:4:16: $.udp_sndbuf: must be an integer from 65536 to 67108864"},
    /* missing keys: positioned at the object that lacks them */
    {"bad_missing_listen.json", GSLBD_EINVAL,
     "bad_missing_listen.json:1:1: $.listen: required key is missing"},
    {"bad_missing_file.json", GSLBD_EINVAL,
     "bad_missing_file.json:5:5: $.zones[1].file: required key is missing"},
    /* bad values */
    {"bad_addr.json", GSLBD_EINVAL,
     "bad_addr.json:4:5: $.listen[1]: invalid address \"127.0.0.1:0\": expected IPV4, "
     "IPV4:PORT, IPV6 or [IPV6]:PORT with PORT from 1 to 65535 (default 53)"},
    {"bad_dup_listen.json", GSLBD_EINVAL,
     "bad_dup_listen.json:2:44: $.listen[2]: duplicate of $.listen[0] (\"127.0.0.1:53\")"},
    {"bad_dup_origin.json", GSLBD_EINVAL,
     "bad_dup_origin.json:6:34: $.zones[2].origin: duplicate zone origin, also at "
     "$.zones[0].origin"},
    {"bad_origin.json", GSLBD_EINVAL,
     "bad_origin.json:3:24: $.zones[0].origin: must be a domain name in ASCII without spaces"},
};

static void test_bad_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        char path[256];
        char want[1024];
        snprintf(path, sizeof(path), DATA "%s", bc->file);
        snprintf(want, sizeof(want), DATA "%s", bc->msg);
        struct conf *c = SENTINEL;
        struct err e = {{0}};
        int r = conf_load_file(path, &c, &e);
        if (r != bc->code || strncmp(e.msg, want, strlen(want)) != 0)
            print_error("%s: got %d \"%s\"\n   want %d \"%s...\"\n", bc->file, r, e.msg, bc->code,
                        want);
        assert_int_equal(r, bc->code);
        assert_true(strncmp(e.msg, want, strlen(want)) == 0);
        assert_ptr_equal(c, SENTINEL);
    }
}

/* Keys later issues will add are not accepted before their code exists. */
static void test_future_keys_rejected(void **state)
{
    (void)state;
    static const char *const keys[] = {"http", "dnssec"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char text[256];
        char path[64];
        char want[256];
        snprintf(text, sizeof(text),
                 "{\"listen\": [\"127.0.0.1\"], \"zones\": [{\"origin\": \"a\", \"file\": "
                 "\"a\"}],\n\"%s\": {}}",
                 keys[i]);
        write_tmp(text, path, sizeof(path));
        struct conf *c = SENTINEL;
        struct err e = {{0}};
        assert_int_equal(conf_load_file(path, &c, &e), GSLBD_EINVAL);
        snprintf(want, sizeof(want), "%s:2:1: $.%s: unknown key", path, keys[i]);
        assert_true(strncmp(e.msg, want, strlen(want)) == 0);
        assert_ptr_equal(c, SENTINEL);
        unlink(path);
    }
}

static void test_bounds_edges(void **state)
{
    (void)state;
    static const struct {
        const char *kv;
        bool ok;
    } cases[] = {
        {"\"workers\": 256", true},
        {"\"workers\": 257", false},
        {"\"workers\": -1", false},
        {"\"workers\": true", false},
        {"\"workers\": null", false},
        {"\"edns_max_udp\": 511", false},
        {"\"edns_max_udp\": 512", true},
        {"\"edns_max_udp\": 4097", false},
        {"\"udp_rcvbuf\": 65535", false},
        {"\"udp_rcvbuf\": 67108865", false},
        {"\"tcp\": {\"io_timeout_ms\": 600001}", false},
        {"\"tcp\": {\"io_timeout_ms\": 600000}", true},
        {"\"tcp\": {\"max_connections\": 0}", false},
        {"\"tcp\": {\"max_per_source\": 100001}", false},
        {"\"tcp\": {\"max_pending_out\": 4095}", false},
        {"\"tcp\": {\"max_pending_out\": 67108864}", true},
        {"\"tcp\": {}", true},
        {"\"nsid\": \"x\"", true},
        {"\"nsid\": 5", false},
        {"\"log_level\": \"error\"", true},
        {"\"log_level\": \"INFO\"", false},
        {"\"log_level\": 2", false},
        {"\"zones\": []", false},
        {"\"listen\": \"127.0.0.1\"", false},
        {"\"listen\": [5]", false},
        {"\"$comment\": [\"not\", \"a string\"]", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        char path[64];
        bool has_zones = strstr(cases[i].kv, "\"zones\"") != NULL;
        bool has_listen = strstr(cases[i].kv, "\"listen\"") != NULL;
        snprintf(text, sizeof(text), "{%s%s%s, %s}",
                 has_listen ? "" : "\"listen\": [\"127.0.0.1\"]",
                 has_listen || has_zones ? "" : ", ",
                 has_zones ? "" : "\"zones\": [{\"origin\": \"a\", \"file\": \"a\"}]", cases[i].kv);
        write_tmp(text, path, sizeof(path));
        struct conf *c = NULL;
        struct err e = {{0}};
        int r = conf_load_file(path, &c, &e);
        if ((r == 0) != cases[i].ok)
            print_error("%s -> %d %s\n", text, r, e.msg);
        assert_int_equal(r == 0, cases[i].ok);
        if (r == 0 && strcmp(cases[i].kv, "\"workers\": 256") == 0)
            assert_int_equal(c->workers, 256);
        if (r == 0 && strcmp(cases[i].kv, "\"log_level\": \"error\"") == 0)
            assert_int_equal(c->log_level, 0);
        conf_free(c);
        unlink(path);
    }
}

static void test_nsid_max(void **state)
{
    (void)state;
    char text[512];
    char path[64];
    char nsid[130];
    memset(nsid, 'n', 128);
    nsid[128] = '\0';
    snprintf(text, sizeof(text),
             "{\"listen\": [\"127.0.0.1\"], \"zones\": [{\"origin\": \"a\", \"file\": \"a\"}], "
             "\"nsid\": \"%s\"}",
             nsid);
    write_tmp(text, path, sizeof(path));
    struct conf *c = load_ok(path);
    assert_int_equal(c->nsid_len, 128);
    assert_memory_equal(c->nsid, nsid, 128);
    conf_free(c);
    unlink(path);

    nsid[128] = 'n';
    nsid[129] = '\0';
    snprintf(text, sizeof(text),
             "{\"listen\": [\"127.0.0.1\"], \"zones\": [{\"origin\": \"a\", \"file\": \"a\"}], "
             "\"nsid\": \"%s\"}",
             nsid);
    write_tmp(text, path, sizeof(path));
    struct err e = {{0}};
    c = SENTINEL;
    assert_int_equal(conf_load_file(path, &c, &e), GSLBD_EINVAL);
    assert_non_null(strstr(e.msg, ":1:76: $.nsid: must be a string of 1 to 128 bytes"));
    assert_ptr_equal(c, SENTINEL);
    unlink(path);
}

static void test_unreadable(void **state)
{
    (void)state;
    struct conf *c = SENTINEL;
    struct err e = {{0}};
    assert_int_equal(conf_load_file(DATA "does-not-exist.json", &c, &e), -ENOENT);
    assert_string_equal(e.msg, DATA "does-not-exist.json: cannot open: No such file or directory");
    assert_ptr_equal(c, SENTINEL);
    assert_int_equal(conf_load_file(DATA, &c, &e), -EISDIR);
    assert_ptr_equal(c, SENTINEL);

    char path[64];
    write_tmp("", path, sizeof(path));
    assert_int_equal(conf_load_file(path, &c, &e), GSLBD_EPARSE);
    assert_ptr_equal(c, SENTINEL);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_file),   cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_example_config), cmocka_unit_test(test_relative_paths),
        cmocka_unit_test(test_bad_files),      cmocka_unit_test(test_future_keys_rejected),
        cmocka_unit_test(test_bounds_edges),   cmocka_unit_test(test_nsid_max),
        cmocka_unit_test(test_unreadable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
