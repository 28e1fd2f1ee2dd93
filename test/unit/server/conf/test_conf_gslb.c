/* test_conf_gslb.c: unit tests for server/conf/conf_gslb.c: the model that valid GSLB keys load. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "test_conf_file_util.h"

#define DATA "test/data/conf/"

static void expect_addr(const struct conf_addr *a, int family, const char *text)
{
    uint8_t want[16] = {0};
    assert_int_equal(a->family, family);
    assert_int_equal(inet_pton(family, text, want), 1);
    assert_memory_equal(a->addr, want, family == AF_INET ? 4 : 16);
    assert_string_equal(a->text, text);
}

static void expect_indexes(const size_t *got, size_t n, const size_t *want, size_t nwant)
{
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
}

#define INDEXES(got, n, ...)                                                                       \
    do {                                                                                           \
        static const size_t want_[] = {__VA_ARGS__};                                               \
        expect_indexes(got, n, want_, sizeof(want_) / sizeof(want_[0]));                           \
    } while (0)

/* The shipped example: the insurer's three regions and four services. */
static void test_example(void **state)
{
    (void)state;
    struct conf *c = load_ok("conf/gslbd.json");
    assert_int_equal(c->nregions, 3);
    assert_string_equal(c->regions[0].name, "eu-central");
    assert_true(c->regions[0].lat == 50.11 && c->regions[0].lon == 8.68);
    assert_string_equal(c->regions[1].name, "eu-west");
    assert_true(c->regions[1].lat == 53.35 && c->regions[1].lon == -6.26);
    assert_string_equal(c->regions[2].name, "us-east");
    assert_true(c->regions[2].lat == 39.04 && c->regions[2].lon == -77.49);

    assert_int_equal(c->nchecks, 3); /* ingress, tcp443, patroni-primary */
    const struct conf_check *k = &c->checks[0];
    assert_string_equal(k->name, "ingress");
    assert_int_equal(k->type, CONF_CHECK_HTTPS);
    assert_int_equal(k->port, 443);
    assert_string_equal(k->path, "/healthz");
    assert_string_equal(k->host, "api.insure.example");
    assert_true(k->tls_verify);
    k = &c->checks[1];
    assert_string_equal(k->name, "tcp443");
    assert_int_equal(k->type, CONF_CHECK_TCP);
    assert_int_equal(k->port, 443);
    assert_null(k->path);

    /* Two clusters in one region, equal weights: the 50/50 pair; then the Patroni nodes. */
    assert_int_equal(c->nclusters, 5);
    assert_string_equal(c->clusters[4].name, "pg-eu");
    assert_int_equal(c->clusters[4].naddrs, 3);
    assert_int_equal(c->clusters[4].nchecks, 1);
    static const char *const names[] = {"eu-central-a", "eu-central-b", "eu-west-a", "us-east-a"};
    static const size_t regions[] = {0, 0, 1, 2};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(c->clusters[i].name, names[i]);
        assert_int_equal(c->clusters[i].region, regions[i]);
        assert_int_equal(c->clusters[i].weight, 1);
        assert_int_equal(c->clusters[i].naddrs, 2);
        assert_int_equal(c->clusters[i].addrs[0].family, AF_INET);
        assert_int_equal(c->clusters[i].addrs[1].family, AF_INET6);
        assert_int_equal(c->clusters[i].nchecks, 0);
    }
    expect_addr(&c->clusters[0].addrs[0], AF_INET, "192.0.2.10");
    expect_addr(&c->clusters[3].addrs[1], AF_INET6, "2001:db8:30::10");

    assert_int_equal(c->nservices, 5);
    const struct conf_service *s = &c->services[0];
    assert_string_equal(s->name, "api.insure.example.");
    assert_int_equal(s->policy, CONF_POLICY_NEAREST);
    INDEXES(s->clusters, s->nclusters, 0, 1, 2, 3);
    assert_int_equal(s->ttl, 30);
    assert_int_equal(s->failover_ttl, 10);
    assert_int_equal(s->all_down, CONF_ALL_DOWN_FAIL_OPEN);
    assert_string_equal(c->services[1].name, "www.insure.example.");
    assert_int_equal(c->services[1].policy, CONF_POLICY_NEAREST);
    s = &c->services[2];
    assert_string_equal(s->name, "portal.insure.example.");
    assert_int_equal(s->policy, CONF_POLICY_WEIGHTED);
    INDEXES(s->clusters, s->nclusters, 0, 1);
    s = &c->services[3];
    assert_string_equal(s->name, "claims.insure.example.");
    assert_int_equal(s->policy, CONF_POLICY_FAILOVER);
    INDEXES(s->clusters, s->nclusters, 2, 0); /* failover order as written */

    assert_string_equal(c->geo.database, "conf/../build/geo/demo.mmdb");
    INDEXES(c->geo.default_order, c->geo.ndefault_order, 0, 1, 2);
    assert_int_equal(c->geo.nnets, 1);
    assert_int_equal(c->geo.nets[0].prefix, 16);
    assert_int_equal(c->geo.nets[0].region, 1);
    assert_int_equal(c->geo.npins, 2);
    assert_string_equal(c->geo.pins[0].code, "NL");
    assert_false(c->geo.pins[0].continent);
    INDEXES(c->geo.pins[0].regions, c->geo.pins[0].nregions, 1, 0);
    assert_string_equal(c->geo.pins[1].code, "CH");
    INDEXES(c->geo.pins[1].regions, c->geo.pins[1].nregions, 0, 1);
    assert_string_equal(c->state_file, "conf/../build/gslbd-state.json");
    assert_int_equal(c->startup_wait_ms, 2000);
    conf_free(c);
}

/* Every key, in an order where names are used before they are defined. */
static void test_every_key(void **state)
{
    (void)state;
    struct conf *c = load_ok(DATA "good_gslb.json");
    assert_int_equal(c->nregions, 4);
    assert_string_equal(c->regions[2].name, "us-east");
    assert_true(c->regions[2].lat == 39.0 && c->regions[2].lon == -77.49);
    assert_true(c->regions[3].lat == -90.0 && c->regions[3].lon == 180.0);

    assert_int_equal(c->nchecks, 4);
    const struct conf_check *k = &c->checks[0];
    assert_string_equal(k->name, "ingress");
    assert_int_equal(k->type, CONF_CHECK_HTTPS);
    assert_int_equal(k->port, 8443);
    assert_string_equal(k->path, "/healthz?full=1");
    assert_string_equal(k->host, "api.insure.example");
    assert_int_equal(k->nexpect_status, 2);
    assert_int_equal(k->expect_status[0], 200);
    assert_int_equal(k->expect_status[1], 204);
    assert_string_equal(k->expect_body, "ok");
    assert_int_equal(k->interval_ms, 500);
    assert_int_equal(k->timeout_ms, 499);
    assert_int_equal(k->fall, 1);
    assert_int_equal(k->rise, 100);
    assert_false(k->tls_verify);
    assert_string_equal(k->ca_file, DATA "ca/insurer-ca.pem");
    assert_string_equal(c->checks[2].ca_file, "/etc/ssl/certs/ca.pem"); /* absolute: as written */
    k = &c->checks[3];
    assert_int_equal(k->type, CONF_CHECK_TCP);
    assert_int_equal(k->interval_ms, 3600000);
    assert_int_equal(k->timeout_ms, 600000);
    assert_int_equal(k->nexpect_status, 0);

    assert_int_equal(c->nclusters, 3);
    const struct conf_cluster *cl = &c->clusters[0];
    assert_int_equal(cl->region, 0);
    assert_int_equal(cl->weight, 50);
    assert_int_equal(cl->naddrs, 2);
    expect_addr(&cl->addrs[0], AF_INET, "192.0.2.10");
    expect_addr(&cl->addrs[1], AF_INET6, "2001:db8::10"); /* written "2001:DB8:0:0::10" */
    INDEXES(cl->checks, cl->nchecks, 0, 3);
    assert_int_equal(c->clusters[1].weight, 1000000);
    INDEXES(c->clusters[1].checks, c->clusters[1].nchecks, 3);
    assert_int_equal(c->clusters[2].region, 2);
    assert_int_equal(c->clusters[2].weight, 0);
    assert_int_equal(c->clusters[2].nchecks, 0);

    assert_int_equal(c->nservices, 4);
    const struct conf_service *s = &c->services[0];
    assert_string_equal(s->name, "API.Insure.Example."); /* case kept, made absolute */
    INDEXES(s->clusters, s->nclusters, 0, 1, 2);
    assert_int_equal(s->ttl, 60);
    assert_int_equal(s->failover_ttl, 5);
    assert_int_equal(s->all_down, CONF_ALL_DOWN_SERVFAIL);
    s = &c->services[1];
    assert_string_equal(s->name, "portal.insure.example."); /* already absolute */
    assert_int_equal(s->policy, CONF_POLICY_WEIGHTED);
    INDEXES(s->clusters, s->nclusters, 1, 0);
    assert_int_equal(s->ttl, 0);
    assert_int_equal(s->failover_ttl, 86400);
    s = &c->services[2];
    assert_string_equal(s->name, "claims.example.org."); /* zone "Example.ORG": no case */
    assert_int_equal(s->policy, CONF_POLICY_FAILOVER);
    INDEXES(s->clusters, s->nclusters, 2, 0);
    assert_string_equal(c->services[3].name, "insure.example."); /* the apex is inside */

    assert_string_equal(c->state_file, DATA "state/gslbd.json");
    assert_int_equal(c->startup_wait_ms, 0);
    conf_free(c);
}

/* What a key left out means. */
static void test_defaults(void **state)
{
    (void)state;
    char path[64];
    write_tmp(
        "{\"listen\": [\"127.0.0.1\"], \"zones\": [{\"origin\": \"insure.example\", \"file\": "
        "\"z\"}],\n"
        "\"regions\": [{\"name\": \"b\", \"lat\": 0, \"lon\": 0}, {\"name\": \"a\", \"lat\": "
        "1, \"lon\": 1}],\n"
        "\"checks\": [{\"name\": \"h\", \"type\": \"http\"}, {\"name\": \"s\", \"type\": "
        "\"https\"}, {\"name\": \"t\", \"type\": \"tcp\", \"port\": 7}],\n"
        "\"clusters\": [{\"name\": \"x\", \"region\": \"a\", \"addresses\": [\"::1\"]}],\n"
        "\"services\": [{\"name\": \"api.insure.example\", \"clusters\": [\"x\"]}]}",
        path, sizeof(path));
    struct conf *c = load_ok(path);
    const struct conf_check *k = &c->checks[0];
    assert_int_equal(k->type, CONF_CHECK_HTTP);
    assert_int_equal(k->port, 80);
    assert_string_equal(k->path, "/");
    assert_null(k->host);
    assert_int_equal(k->nexpect_status, 1);
    assert_int_equal(k->expect_status[0], 200);
    assert_null(k->expect_body);
    assert_int_equal(k->interval_ms, 1000);
    assert_int_equal(k->timeout_ms, 800);
    assert_int_equal(k->fall, 3);
    assert_int_equal(k->rise, 3);
    assert_true(k->tls_verify);
    assert_null(k->ca_file);
    k = &c->checks[1];
    assert_int_equal(k->port, 443);
    assert_string_equal(k->path, "/");
    assert_true(k->tls_verify);
    k = &c->checks[2];
    assert_int_equal(k->port, 7);
    assert_null(k->path);
    assert_int_equal(k->nexpect_status, 0);
    assert_int_equal(k->interval_ms, 1000);

    assert_int_equal(c->clusters[0].region, 1);
    assert_int_equal(c->clusters[0].weight, 1);
    assert_int_equal(c->clusters[0].nchecks, 0);
    assert_null(c->clusters[0].checks);
    expect_addr(&c->clusters[0].addrs[0], AF_INET6, "::1");

    const struct conf_service *s = &c->services[0];
    assert_string_equal(s->name, "api.insure.example.");
    assert_int_equal(s->policy, CONF_POLICY_NEAREST);
    assert_int_equal(s->ttl, 30);
    assert_int_equal(s->failover_ttl, 10);
    assert_int_equal(s->all_down, CONF_ALL_DOWN_FAIL_OPEN);

    /* No geoip key: no database, no nets or pins, all regions in configured order. */
    assert_null(c->geo.database);
    INDEXES(c->geo.default_order, c->geo.ndefault_order, 0, 1);
    assert_int_equal(c->geo.nnets, 0);
    assert_int_equal(c->geo.npins, 0);
    assert_null(c->state_file);
    assert_int_equal(c->startup_wait_ms, 2000);
    conf_free(c);
    unlink(path);

    /* No GSLB keys at all: an empty model, as before GSLB existed. */
    c = load_ok(DATA "good_minimal.json");
    assert_int_equal(c->nregions + c->nchecks + c->nclusters + c->nservices, 0);
    assert_int_equal(c->geo.ndefault_order, 0);
    conf_free(c);
}

/* File names are relative to the config file's folder. */
static void test_paths(void **state)
{
    (void)state;
    static const char *const text =
        "{\"listen\": [\"127.0.0.1\"], \"zones\": [{\"origin\": \"a\", \"file\": \"a\"}],\n"
        "\"checks\": [{\"name\": \"s\", \"type\": \"https\", \"ca_file\": \"ca.pem\"}],\n"
        "\"geoip\": {\"database\": \"../geo/x.mmdb\"}, \"state_file\": \"/var/lib/gslbd/s.json\"}";
    char path[64];
    write_tmp(text, path, sizeof(path));
    struct conf *c = load_ok(path);
    assert_string_equal(c->checks[0].ca_file, "/tmp/ca.pem");
    assert_string_equal(c->geo.database, "/tmp/../geo/x.mmdb");
    assert_string_equal(c->state_file, "/var/lib/gslbd/s.json");
    conf_free(c);

    /* A config in the current folder: names stay relative to it. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir("/tmp"), 0);
    struct err e = {{0}};
    c = NULL;
    int r = conf_load_file(path + strlen("/tmp/"), &c, &e);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(r, 0);
    assert_string_equal(c->checks[0].ca_file, "ca.pem");
    assert_string_equal(c->geo.database, "../geo/x.mmdb");
    conf_free(c);
    unlink(path);
}

/* Bounds that are just allowed. */
static void test_edges(void **state)
{
    (void)state;
    char text[8192];
    char addrs[4096];
    size_t n = 0;
    for (int i = 0; i < 64; i++)
        n += (size_t)snprintf(addrs + n, sizeof(addrs) - n, "%s\"192.0.2.%d\"", i ? ", " : "", i);
    snprintf(
        text, sizeof(text),
        "{\"listen\": [\"127.0.0.1\"], \"zones\": [{\"origin\": \".\", \"file\": \"r\"}],\n"
        "\"regions\": [{\"name\": \"%s\", \"lat\": 90, \"lon\": -180}],\n"
        "\"checks\": [{\"name\": \"h\", \"type\": \"http\", \"interval_ms\": 50, "
        "\"timeout_ms\": 10, \"fall\": 100, \"rise\": 1, \"expect_status\": [100, 101, 102, "
        "103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 599]}],\n"
        "\"clusters\": [{\"name\": \"x\", \"region\": \"%s\", \"addresses\": [%s], \"checks\": "
        "[\"h\"]}],\n"
        "\"services\": [{\"name\": \".\", \"clusters\": [\"x\"]}, {\"name\": \"a\\\\.b.c\", "
        "\"clusters\": [\"x\"]}, {\"name\": \"a.b.c\", \"clusters\": [\"x\"]}],\n"
        "\"startup_wait_ms\": 60000}",
        "abcdefghijklmnopqrstuvwxyz-0123456789-abcdefghijklmnopqrstuvwxy",
        "abcdefghijklmnopqrstuvwxyz-0123456789-abcdefghijklmnopqrstuvwxy", addrs);
    char path[64];
    write_tmp(text, path, sizeof(path));
    struct conf *c = load_ok(path);
    assert_int_equal(strlen(c->regions[0].name), 63);
    assert_int_equal(c->checks[0].nexpect_status, 16);
    assert_int_equal(c->checks[0].expect_status[15], 599);
    assert_int_equal(c->clusters[0].naddrs, 64);
    /* Under the root zone, anything is inside; an escaped dot is not a label break. */
    assert_string_equal(c->services[0].name, ".");
    assert_string_equal(c->services[1].name, "a\\.b.c.");
    assert_string_equal(c->services[2].name, "a.b.c.");
    assert_int_equal(c->startup_wait_ms, 60000);
    conf_free(c);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),  cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_defaults), cmocka_unit_test(test_paths),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
