/* test_conf_api.c: unit tests for server/conf/conf_api.c, the "api" key (run from the repository
 * root). Config and token files are written to a fresh folder under /tmp. */
#include <errno.h>
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

static uint16_t port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void test_defaults(void **state)
{
    (void)state;
    /* no "api" key in a config file: the API is on, on the loopback default */
    struct conf *c = load_ok("\"$comment\": \"no api key\"");
    assert_true(c->api.enabled);
    assert_false(c->api.listen_set);
    assert_string_equal(c->api.listen, "127.0.0.1:8053");
    assert_int_equal(c->api.addr.ss_family, AF_INET);
    assert_int_equal(c->api.addrlen, sizeof(struct sockaddr_in));
    assert_int_equal(port_of(&c->api.addr), 8053);
    assert_int_equal(c->api.token_len, 0);
    assert_string_equal(c->api.token, "");
    conf_free(c);
    /* an empty object: the same */
    c = load_ok("\"api\": {}");
    assert_true(c->api.enabled);
    assert_false(c->api.listen_set);
    assert_int_equal(port_of(&c->api.addr), 8053);
    conf_free(c);
    /* no config file (--zone mode): no API */
    assert_int_equal(conf_new(&c), 0);
    assert_false(c->api.enabled);
    conf_free(c);
}

static void test_listen_and_enabled(void **state)
{
    (void)state;
    struct conf *c = load_ok("\"api\": {\"listen\": \"[::1]:9053\", \"enabled\": true}");
    assert_true(c->api.enabled);
    assert_true(c->api.listen_set);
    assert_string_equal(c->api.listen, "[::1]:9053");
    assert_int_equal(c->api.addr.ss_family, AF_INET6);
    assert_int_equal(port_of(&c->api.addr), 9053);
    conf_free(c);
    c = load_ok("\"api\": {\"enabled\": false, \"$comment\": \"no API here\"}");
    assert_false(c->api.enabled);
    conf_free(c);
    /* a non-loopback address is accepted (the API logs a warning when it starts) */
    c = load_ok("\"api\": {\"listen\": \"0.0.0.0:8080\"}");
    assert_string_equal(c->api.listen, "0.0.0.0:8080");
    conf_free(c);
}

static void test_listen_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {"\"127.0.0.1\"",
                                      "\"::1\"",
                                      "\"127.0.0.1:0\"",
                                      "\"localhost:80\"",
                                      "\"1.2.3.4:99999\"",
                                      "8053",
                                      "[\"127.0.0.1:1\"]",
                                      "\"\"",
                                      "null"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char line[256];
        snprintf(line, sizeof(line), "\"api\": {\"listen\": %s}", bad[i]);
        load_bad(line, "2:19: $.api.listen: must be one address with a port");
    }
}

static void test_keys_and_types(void **state)
{
    (void)state;
    load_bad("\"api\": {\"port\": 8053}", "2:9: $.api.port: unknown key");
    load_bad("\"api\": {\"enabled\": \"yes\"}", "2:20: $.api.enabled: must be true or false");
    load_bad("\"api\": [\"127.0.0.1:8053\"]", "2:8: $.api: must be an object");
    load_bad("\"api\": true", "2:8: $.api: must be an object");
    load_bad("\"api\": {\"token_file\": \"\"}", "2:23: $.api.token_file: must be a file name");
    load_bad("\"api\": {\"token_file\": 7}", "2:23: $.api.token_file: must be a file name");
}

static void test_history_interval(void **state)
{
    (void)state;
    struct conf *c = load_ok("\"api\": {}");
    assert_int_equal(c->api.history_interval_ms, 10000);
    conf_free(c);
    c = load_ok("\"api\": {\"history_interval_ms\": 250}");
    assert_int_equal(c->api.history_interval_ms, 250);
    conf_free(c);
    load_bad("\"api\": {\"history_interval_ms\": 99}", "2:32: $.api.history_interval_ms:");
    load_bad("\"api\": {\"history_interval_ms\": 600001}", "2:32: $.api.history_interval_ms:");
    load_bad("\"api\": {\"history_interval_ms\": \"1s\"}", "2:32: $.api.history_interval_ms:");
}

static void test_token(void **state)
{
    (void)state;
    char tok[256];
    write_file("api.token", "  s3cret-Token_1.2\n\n", 0600, tok, sizeof(tok));
    /* relative to the config file's folder */
    struct conf *c = load_ok("\"api\": {\"token_file\": \"api.token\"}");
    assert_string_equal(c->api.token, "s3cret-Token_1.2");
    assert_int_equal(c->api.token_len, strlen("s3cret-Token_1.2"));
    assert_true(c->api.enabled);
    conf_free(c);
    /* absolute, read-only for the owner */
    char line[512];
    assert_int_equal(chmod(tok, 0400), 0);
    snprintf(line, sizeof(line), "\"api\": {\"token_file\": \"%s\"}", tok);
    c = load_ok(line);
    assert_string_equal(c->api.token, "s3cret-Token_1.2");
    conf_free(c);
    /* the longest token */
    char big[300];
    memset(big, 'k', 256);
    big[256] = '\0';
    write_file("api.token", big, 0600, tok, sizeof(tok));
    c = load_ok("\"api\": {\"token_file\": \"api.token\"}");
    assert_int_equal(c->api.token_len, 256);
    conf_free(c);
}

static void test_token_bad(void **state)
{
    (void)state;
    char tok[256], want[1024];
    const char *line = "\"api\": {\"token_file\": \"api.token\"}";
    static const mode_t modes[] = {0644, 0640, 0604, 0660, 0666};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        write_file("api.token", "tok\n", modes[i], tok, sizeof(tok));
        snprintf(want, sizeof(want),
                 "2:23: $.api.token_file: %s has mode %04o: a token file must be closed to "
                 "group and others (chmod 600 %s)",
                 tok, (unsigned)modes[i], tok);
        load_bad(line, want);
    }
    write_file("api.token", " \n\t\n", 0600, tok, sizeof(tok));
    snprintf(want, sizeof(want), "2:23: $.api.token_file: %s is empty", tok);
    load_bad(line, want);
    write_file("api.token", "two words\n", 0600, tok, sizeof(tok));
    snprintf(want, sizeof(want), "2:23: $.api.token_file: %s holds a space", tok);
    load_bad(line, want);
    char big[300];
    memset(big, 'k', 257);
    big[257] = '\0';
    write_file("api.token", big, 0600, tok, sizeof(tok));
    snprintf(want, sizeof(want), "2:23: $.api.token_file: %s holds a token longer", tok);
    load_bad(line, want);
    unlink(tok);
    snprintf(want, sizeof(want), "2:23: $.api.token_file: cannot open %s: No such file", tok);
    load_bad(line, want);
    snprintf(tok, sizeof(tok), "%s/adir", dir);
    assert_int_equal(mkdir(tok, 0700), 0);
    snprintf(want, sizeof(want), "2:23: $.api.token_file: %s is not a regular file", tok);
    load_bad("\"api\": {\"token_file\": \"adir\"}", want);
    rmdir(tok);
    if (geteuid() == 0) { /* only root can give a file away */
        write_file("api.token", "tok\n", 0600, tok, sizeof(tok));
        assert_int_equal(chown(tok, 4242, 4242), 0);
        snprintf(want, sizeof(want),
                 "2:23: $.api.token_file: %s is owned by uid 4242, not by the user gslbd runs "
                 "as (uid 0)",
                 tok);
        load_bad(line, want);
        unlink(tok);
    }
}

static void test_set_api(void **state)
{
    (void)state;
    struct conf *c = NULL;
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    assert_int_equal(conf_set_api(c, "127.0.0.1:18053", &e), 0);
    assert_true(c->api.enabled);
    assert_true(c->api.listen_set);
    assert_int_equal(port_of(&c->api.addr), 18053);
    assert_string_equal(c->api.listen, "127.0.0.1:18053");
    assert_int_equal(conf_set_api(c, "[::1]:80", &e), 0);
    assert_int_equal(c->api.addr.ss_family, AF_INET6);
    assert_int_equal(conf_set_api(c, "127.0.0.1", &e), GSLBD_EINVAL);
    assert_string_equal(e.msg,
                        "invalid API address \"127.0.0.1\": expected IPV4:PORT or [IPV6]:PORT");
    /* a failed call leaves the previous address */
    assert_string_equal(c->api.listen, "[::1]:80");
    assert_int_equal(conf_set_api(c, NULL, &e), GSLBD_EINVAL);
    conf_free(c);
}

/* The connection limits: defaults, values written, bounds; --api (no config file) gets the
 * defaults too. */
static void test_limits(void **state)
{
    (void)state;
    struct conf *c = load_ok("\"api\": {}");
    assert_int_equal(c->api.max_connections, 64);
    assert_int_equal(c->api.max_per_source, 8);
    assert_int_equal(c->api.request_timeout_ms, 10000);
    conf_free(c);
    c = load_ok("\"api\": {\"max_connections\": 16, \"max_per_source\": 1, "
                "\"request_timeout_ms\": 500}");
    assert_int_equal(c->api.max_connections, 16);
    assert_int_equal(c->api.max_per_source, 1);
    assert_int_equal(c->api.request_timeout_ms, 500);
    conf_free(c);
    load_bad("\"api\": {\"max_connections\": 3}",
             "2:28: $.api.max_connections: must be an integer from 4 to 1024");
    load_bad("\"api\": {\"max_per_source\": 0}",
             "2:27: $.api.max_per_source: must be an integer from 1 to 1024");
    load_bad("\"api\": {\"request_timeout_ms\": 600001}",
             "2:31: $.api.request_timeout_ms: must be an integer from 500 to 600000");
    load_bad("\"api\": {\"max_connections\": \"64\"}",
             "2:28: $.api.max_connections: must be an integer from 4 to 1024");
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    assert_int_equal(conf_set_api(c, "127.0.0.1:18053", &e), 0);
    assert_int_equal(c->api.max_connections, 64);
    assert_int_equal(c->api.max_per_source, 8);
    assert_int_equal(c->api.request_timeout_ms, 10000);
    conf_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_listen_and_enabled),
        cmocka_unit_test(test_listen_bad),
        cmocka_unit_test(test_keys_and_types),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_token_bad),
        cmocka_unit_test(test_set_api),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_history_interval),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
