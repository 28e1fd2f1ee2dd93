/* test_conf_harden.c: unit tests for server/conf/conf_harden.c, the "cookies" and "rrl" keys (run
 * from the repository root). Config and secret files go to a fresh folder under /tmp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "server/conf/conf.h"

#include "test_conf_dir_util.h"

static void check_defaults(const struct conf *c)
{
    assert_true(c->cookies.enabled);
    assert_false(c->cookies.secret_set);
    assert_false(c->rrl.enabled);
    assert_false(c->rrl.log_only);
    assert_int_equal(c->rrl.responses_per_second, 20);
    assert_int_equal(c->rrl.window_s, 15);
    assert_int_equal(c->rrl.slip, 2);
    assert_int_equal(c->rrl.ipv4_prefix, 24);
    assert_int_equal(c->rrl.ipv6_prefix, 56);
    assert_int_equal(c->rrl.table_size, 65536);
    assert_int_equal(c->rrl.nexempt, 0);
}

static void test_defaults(void **state)
{
    (void)state;
    struct conf *c = load_ok("\"$comment\": \"nothing set\"");
    check_defaults(c);
    conf_free(c);
    c = load_ok("\"cookies\": {}, \"rrl\": {}");
    check_defaults(c);
    conf_free(c);
    assert_int_equal(conf_new(&c), 0); /* --zone mode: the same */
    check_defaults(c);
    conf_free(c);
}

static void test_rrl_keys(void **state)
{
    (void)state;
    struct conf *c = load_ok(
        "\"rrl\": {\"enabled\": true, \"log_only\": true, \"responses_per_second\": 100,\n"
        "\"window_s\": 5, \"slip\": 0, \"ipv4_prefix\": 32, \"ipv6_prefix\": 64,\n"
        "\"table_size\": 1024, \"exempt\": [\"10.0.0.0/8\", \"192.0.2.1\", \"2001:db8::/32\",\n"
        "\"::1\"], \"$comment\": \"busy resolvers exempt\"}");
    assert_true(c->rrl.enabled);
    assert_true(c->rrl.log_only);
    assert_int_equal(c->rrl.responses_per_second, 100);
    assert_int_equal(c->rrl.window_s, 5);
    assert_int_equal(c->rrl.slip, 0);
    assert_int_equal(c->rrl.ipv4_prefix, 32);
    assert_int_equal(c->rrl.ipv6_prefix, 64);
    assert_int_equal(c->rrl.table_size, 1024);
    assert_int_equal(c->rrl.nexempt, 4);
    assert_int_equal(c->rrl.exempt[0].family, AF_INET);
    assert_int_equal(c->rrl.exempt[0].prefix, 8);
    assert_int_equal(c->rrl.exempt[0].addr[0], 10);
    assert_int_equal(c->rrl.exempt[1].prefix, 32);
    assert_int_equal(c->rrl.exempt[2].family, AF_INET6);
    assert_int_equal(c->rrl.exempt[2].prefix, 32);
    assert_int_equal(c->rrl.exempt[3].prefix, 128);
    assert_int_equal(c->rrl.exempt[3].addr[15], 1);
    conf_free(c);
    c = load_ok("\"rrl\": {\"responses_per_second\": 1, \"window_s\": 3600, \"slip\": 10,\n"
                "\"ipv4_prefix\": 8, \"ipv6_prefix\": 128, \"table_size\": 4194304}");
    assert_int_equal(c->rrl.window_s, 3600);
    conf_free(c);
}

static void test_rrl_bad(void **state)
{
    (void)state;
    load_bad("\"rrl\": {\"rate\": 5}", "2:9: $.rrl.rate: unknown key");
    load_bad("\"rrl\": {\"enabled\": 1}", "2:20: $.rrl.enabled: must be true or false");
    load_bad("\"rrl\": {\"responses_per_second\": 0}",
             "2:33: $.rrl.responses_per_second: must be an integer from 1 to 100000");
    load_bad("\"rrl\": {\"window_s\": 3601}", "2:21: $.rrl.window_s: must be an integer from 1 "
                                              "to 3600");
    load_bad("\"rrl\": {\"slip\": 11}", "2:17: $.rrl.slip: must be an integer from 0 to 10");
    load_bad("\"rrl\": {\"ipv4_prefix\": 33}", "2:24: $.rrl.ipv4_prefix: must be an integer");
    load_bad("\"rrl\": {\"ipv6_prefix\": 8}", "2:24: $.rrl.ipv6_prefix: must be an integer");
    load_bad("\"rrl\": {\"table_size\": 100}", "2:23: $.rrl.table_size: must be an integer");
    load_bad("\"rrl\": true", "2:8: $.rrl: must be an object");
    load_bad("\"rrl\": {\"exempt\": \"10.0.0.0/8\"}", "2:19: $.rrl.exempt: must be an array");
    load_bad("\"rrl\": {\"exempt\": [\"10.0.0.0/8\", 7]}",
             "2:34: $.rrl.exempt[1]: must be a network string");
    load_bad("\"rrl\": {\"exempt\": [\"10.1.0.0/8\"]}",
             "2:20: $.rrl.exempt[0]: \"10.1.0.0/8\" has address bits set past the prefix");
    load_bad("\"rrl\": {\"exempt\": [\"10.0.0.0/33\"]}",
             "2:20: $.rrl.exempt[0]: \"10.0.0.0/33\" has a prefix length past the address");
    load_bad("\"rrl\": {\"exempt\": [\"10.0.0.0/\"]}",
             "2:20: $.rrl.exempt[0]: \"10.0.0.0/\" has a bad prefix length");
    load_bad("\"rrl\": {\"exempt\": [\"resolver.example\"]}",
             "2:20: $.rrl.exempt[0]: \"resolver.example\" is not an address");
    char line[2048], *p = line;
    p += sprintf(p, "\"rrl\": {\"exempt\": [");
    for (int i = 0; i < 65; i++)
        p += sprintf(p, "%s\"10.0.%d.0/24\"", i ? ", " : "", i);
    sprintf(p, "]}");
    load_bad(line, "2:19: $.rrl.exempt: must be an array of 0 to 64 network strings");
}

static void test_cookie_secret(void **state)
{
    (void)state;
    char sec[256];
    write_file("cookie.secret", "e5e973e5a6b2a43f48e7dc849e37bfcf\n", 0600, sec, sizeof(sec));
    struct conf *c = load_ok("\"cookies\": {\"secret_file\": \"cookie.secret\"}");
    assert_true(c->cookies.enabled);
    assert_true(c->cookies.secret_set);
    static const uint8_t want[16] = {0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f,
                                     0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf};
    assert_memory_equal(c->cookies.secret, want, 16);
    conf_free(c);
    c = load_ok("\"cookies\": {\"enabled\": false}");
    assert_false(c->cookies.enabled);
    conf_free(c);

    load_bad("\"cookies\": {\"secret\": \"x\"}", "2:13: $.cookies.secret: unknown key");
    load_bad("\"cookies\": {\"secret_file\": \"\"}",
             "2:28: $.cookies.secret_file: must be a file name");
    load_bad("\"cookies\": {\"secret_file\": \"missing.secret\"}",
             "2:28: $.cookies.secret_file: cannot open");
    assert_int_equal(chmod(sec, 0640), 0);
    load_bad("\"cookies\": {\"secret_file\": \"cookie.secret\"}", "2:28: $.cookies.secret_file: ");
    struct conf *cc = SENTINEL;
    struct err e = {{0}};
    char path[256];
    assert_int_equal(
        load("\"cookies\": {\"secret_file\": \"cookie.secret\"}", &cc, &e, path, sizeof(path)),
        GSLBD_EINVAL);
    assert_non_null(strstr(e.msg, "has mode 0640"));
    static const char *const bad[] = {"e5e973e5a6b2a43f48e7dc849e37bfc\n", "not hex at all", "",
                                      "e5e973e5a6b2a43f48e7dc849e37bfcf00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file("cookie.secret", bad[i], 0600, sec, sizeof(sec));
        load_bad("\"cookies\": {\"secret_file\": \"cookie.secret\"}",
                 "2:28: $.cookies.secret_file: ");
        cc = SENTINEL;
        load("\"cookies\": {\"secret_file\": \"cookie.secret\"}", &cc, &e, path, sizeof(path));
        assert_non_null(strstr(e.msg, "must hold the secret as 32 hex digits"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_rrl_keys),
        cmocka_unit_test(test_rrl_bad),
        cmocka_unit_test(test_cookie_secret),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
