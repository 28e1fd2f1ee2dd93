/* test_cluster.c: unit tests for cluster mode's pure parts: the health quorum rule
 * (server/cluster.c), the etcd gateway's message encoding and decoding (server/etcd.c),
 * and the "cluster" config key (server/conf/conf_cluster.c). No etcd is needed here;
 * test/integration/t_cluster.py runs the real thing. */
#include "server/cluster.h"
#include "server/etcd.h"

#include "test/unit/server/conf/test_conf_dir_util.h"

static void test_rule_local(void **state)
{
    (void)state;
    /* local: our own view, whatever the others say */
    assert_true(cluster_rule_up(CONF_RULE_LOCAL, 3, 2, true));
    assert_false(cluster_rule_up(CONF_RULE_LOCAL, 3, 0, false));
    /* no observers at all: our own view under every rule */
    assert_false(cluster_rule_up(CONF_RULE_MAJORITY, 0, 0, false));
    assert_true(cluster_rule_up(CONF_RULE_ALL, 0, 0, true));
}

static void test_rule_majority(void **state)
{
    (void)state;
    /* down only when more than half say down */
    assert_true(cluster_rule_up(CONF_RULE_MAJORITY, 3, 1, false)); /* one of three */
    assert_false(cluster_rule_up(CONF_RULE_MAJORITY, 3, 2, true)); /* two of three */
    assert_true(cluster_rule_up(CONF_RULE_MAJORITY, 2, 1, false)); /* half is not more */
    assert_false(cluster_rule_up(CONF_RULE_MAJORITY, 2, 2, true));
    assert_false(cluster_rule_up(CONF_RULE_MAJORITY, 1, 1, false)); /* alone: ourselves */
    assert_true(cluster_rule_up(CONF_RULE_MAJORITY, 5, 2, false));
    assert_false(cluster_rule_up(CONF_RULE_MAJORITY, 5, 3, true));
}

static void test_rule_any_all(void **state)
{
    (void)state;
    assert_false(cluster_rule_up(CONF_RULE_ANY, 3, 1, true));
    assert_true(cluster_rule_up(CONF_RULE_ANY, 3, 0, true));
    assert_true(cluster_rule_up(CONF_RULE_ALL, 3, 2, false));
    assert_false(cluster_rule_up(CONF_RULE_ALL, 3, 3, false));
}

static void test_b64(void **state)
{
    (void)state;
    static const struct {
        const char *plain, *b64;
    } cases[] = {
        {"", ""},        {"f", "Zg=="},        {"fo", "Zm8="},
        {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"/gslbd/admin/c1", "L2dzbGJkL2FkbWluL2Mx"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *e = etcd_b64(cases[i].plain, strlen(cases[i].plain));
        assert_string_equal(e, cases[i].b64);
        free(e);
        char *d = NULL;
        size_t n = 0;
        assert_int_equal(etcd_unb64(cases[i].b64, &d, &n), 0);
        assert_int_equal(n, strlen(cases[i].plain));
        assert_memory_equal(d, cases[i].plain, n);
        free(d);
    }
    char *d = NULL;
    size_t n;
    assert_int_equal(etcd_unb64("Zm9", &d, &n), -EINVAL);      /* not a multiple of 4 */
    assert_int_equal(etcd_unb64("Zm!v", &d, &n), -EINVAL);     /* not base64 */
    assert_int_equal(etcd_unb64("Zg==Zg==", &d, &n), -EINVAL); /* padding inside */
    assert_int_equal(etcd_unb64("Z===", &d, &n), -EINVAL);
    assert_null(d);
}

static void test_put_range_watch_bodies(void **state)
{
    (void)state;
    json_t *j = etcd_put_body("/p/k", "v", 7587867532012345678LL);
    assert_string_equal(json_string_value(json_object_get(j, "key")), "L3Avaw==");
    assert_string_equal(json_string_value(json_object_get(j, "value")), "dg==");
    /* int64 as a string, the way the gateway's JSON mapping writes them */
    assert_string_equal(json_string_value(json_object_get(j, "lease")), "7587867532012345678");
    json_decref(j);
    j = etcd_put_body("/p/k", "v", 0);
    assert_null(json_object_get(j, "lease"));
    json_decref(j);
    /* range over a prefix: range_end is the prefix with its last byte + 1 ("/p/" -> "/p0") */
    j = etcd_range_body("/p/");
    assert_string_equal(json_string_value(json_object_get(j, "key")), "L3Av");
    assert_string_equal(json_string_value(json_object_get(j, "range_end")), "L3Aw");
    json_decref(j);
    j = etcd_watch_body("/p/", 42);
    assert_string_equal(json_string_value(json_object_get(j, "start_revision")), "42");
    assert_string_equal(json_string_value(json_object_get(j, "range_end")), "L3Aw");
    json_decref(j);
    j = etcd_watch_body("/p/", 0);
    assert_null(json_object_get(j, "start_revision"));
    json_decref(j);
}

static void test_decode_replies(void **state)
{
    (void)state;
    /* a watch message as etcd 3.4's gateway sends it: int64 as strings, PUT type left out */
    const char *msg = "{\"result\":{\"header\":{\"cluster_id\":\"14841639068965178418\","
                      "\"revision\":\"9\"},\"events\":[{\"kv\":{\"key\":\"L3AvYWRtaW4vYzE=\","
                      "\"create_revision\":\"8\",\"mod_revision\":\"9\",\"version\":\"2\","
                      "\"value\":\"eyJzdGF0ZSI6ImRyYWluIn0=\"}},{\"type\":\"DELETE\",\"kv\":{"
                      "\"key\":\"L3AvaW5zdGFuY2VzL2Iy\",\"mod_revision\":\"9\"}}]}}";
    json_error_t je;
    json_t *j = json_loads(msg, 0, &je);
    assert_non_null(j);
    json_t *res = json_object_get(j, "result");
    assert_int_equal(etcd_json_int(json_object_get(json_object_get(res, "header"), "revision"), 0),
                     9);
    json_t *ev = json_object_get(res, "events");
    struct etcd_kv kv;
    assert_int_equal(etcd_kv_decode(json_object_get(json_array_get(ev, 0), "kv"), &kv), 0);
    assert_string_equal(kv.key, "/p/admin/c1");
    assert_string_equal(kv.value, "{\"state\":\"drain\"}");
    assert_int_equal(kv.mod_revision, 9);
    etcd_kv_clear(&kv);
    /* a delete event has no value */
    assert_int_equal(etcd_kv_decode(json_object_get(json_array_get(ev, 1), "kv"), &kv), 0);
    assert_string_equal(kv.key, "/p/instances/b2");
    assert_int_equal(kv.value_len, 0);
    etcd_kv_clear(&kv);
    json_decref(j);
    /* numbers as numbers too; garbage gives the default */
    j = json_pack("{s:I, s:s, s:s}", "a", (json_int_t)5, "b", "x1", "c", "-3");
    assert_int_equal(etcd_json_int(json_object_get(j, "a"), 0), 5);
    assert_int_equal(etcd_json_int(json_object_get(j, "b"), -1), -1);
    assert_int_equal(etcd_json_int(json_object_get(j, "c"), 0), -3);
    assert_int_equal(etcd_json_int(json_object_get(j, "missing"), 77), 77);
    json_decref(j);
    /* gateway errors: both shapes */
    j = json_loads("{\"error\":\"etcdserver: requested lease not found\",\"code\":5}", 0, &je);
    assert_string_equal(etcd_reply_error(j), "etcdserver: requested lease not found");
    json_decref(j);
    j = json_loads("{\"error\":{\"grpc_code\":9,\"message\":\"mvcc: required revision has been "
                   "compacted\"}}",
                   0, &je);
    assert_string_equal(etcd_reply_error(j), "mvcc: required revision has been compacted");
    json_decref(j);
    j = json_loads("{\"code\":16,\"message\":\"invalid auth token\"}", 0, &je);
    assert_string_equal(etcd_reply_error(j), "invalid auth token");
    json_decref(j);
    j = json_loads("{\"header\":{\"revision\":\"3\"}}", 0, &je);
    assert_null(etcd_reply_error(j));
    json_decref(j);
}

static void test_admin_value(void **state)
{
    (void)state;
    char *v = cluster_admin_encode(GSLB_ADMIN_DRAIN, "api 127.0.0.1", "patching", 1700000000123);
    assert_string_equal(v, "{\"state\":\"drain\",\"when_ms\":1700000000123,\"who\":\"api "
                           "127.0.0.1\",\"why\":\"patching\"}");
    enum gslb_admin st;
    char who[80], why[200];
    int64_t when;
    assert_int_equal(
        cluster_admin_decode(v, strlen(v), &st, who, sizeof(who), why, sizeof(why), &when), 0);
    assert_int_equal(st, GSLB_ADMIN_DRAIN);
    assert_string_equal(who, "api 127.0.0.1");
    assert_string_equal(why, "patching");
    assert_int_equal(when, 1700000000123);
    free(v);
    /* who/why/when are optional; the state is not */
    const char *bare = "{\"state\":\"down\"}";
    assert_int_equal(
        cluster_admin_decode(bare, strlen(bare), &st, who, sizeof(who), why, sizeof(why), &when),
        0);
    assert_int_equal(st, GSLB_ADMIN_DOWN);
    assert_string_equal(who, "");
    assert_int_equal(when, 0);
    const char *bad[] = {"{\"state\":\"sleep\"}", "{}", "[1]", "not json", "{\"state\":1}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cluster_admin_decode(bad[i], strlen(bad[i]), &st, who, sizeof(who), why,
                                              sizeof(why), &when),
                         -EINVAL);
}

static void test_obs_value(void **state)
{
    (void)state;
    char *v = cluster_obs_encode(false, "HTTP 503", 12, 1700000000456);
    assert_string_equal(v, "{\"latency_ms\":12,\"reason\":\"HTTP 503\",\"time_ms\":1700000000456,"
                           "\"up\":false}");
    bool up = true;
    char reason[64];
    uint32_t lat = 0;
    int64_t t = 0;
    assert_int_equal(cluster_obs_decode(v, strlen(v), &up, reason, sizeof(reason), &lat, &t), 0);
    assert_false(up);
    assert_string_equal(reason, "HTTP 503");
    assert_int_equal(lat, 12);
    assert_int_equal(t, 1700000000456);
    free(v);
    const char *bad = "{\"up\":\"yes\"}";
    assert_int_equal(cluster_obs_decode(bad, strlen(bad), &up, reason, sizeof(reason), &lat, &t),
                     -EINVAL);
}

static void test_conf_cluster(void **state)
{
    (void)state;
    struct conf *c = load_ok("\"$comment\": \"standalone\"");
    assert_false(c->shared.enabled);
    conf_free(c);
    c = load_ok("\"cluster\": {\"endpoints\": [\"http://127.0.0.1:2379/\", "
                "\"https://e2.example:2379\"], \"name\": \"ns1\", \"prefix\": \"/dns\", "
                "\"lease_ttl_s\": 3, \"health_rule\": \"majority\"}");
    assert_true(c->shared.enabled);
    assert_int_equal(c->shared.nendpoints, 2);
    assert_string_equal(c->shared.endpoints[0], "http://127.0.0.1:2379"); /* final / cut */
    assert_string_equal(c->shared.prefix, "/dns/");                       /* / added */
    assert_string_equal(c->shared.name, "ns1");
    assert_int_equal(c->shared.lease_ttl_s, 3);
    assert_int_equal(c->shared.health_rule, CONF_RULE_MAJORITY);
    conf_free(c);
    /* defaults: prefix /gslbd/, the host name, TTL 5, rule local */
    c = load_ok("\"cluster\": {\"endpoints\": [\"http://127.0.0.1:2379\"]}");
    assert_string_equal(c->shared.prefix, "/gslbd/");
    assert_true(strlen(c->shared.name) > 0);
    assert_int_equal(c->shared.lease_ttl_s, 5);
    assert_int_equal(c->shared.health_rule, CONF_RULE_LOCAL);
    conf_free(c);
    load_bad("\"cluster\": {}", "2:12: $.cluster.endpoints: required key is missing");
    load_bad("\"cluster\": {\"endpoints\": [\"127.0.0.1:2379\"]}",
             "2:27: $.cluster.endpoints[0]: must be an etcd URL");
    load_bad("\"cluster\": {\"endpoints\": [\"http://a:1\"], \"health_rule\": \"most\"}",
             "2:57: $.cluster.health_rule: must be one of");
    load_bad("\"cluster\": {\"endpoints\": [\"http://a:1\"], \"lease_ttl_s\": 1}",
             "2:57: $.cluster.lease_ttl_s: must be an integer from 2 to 300");
    load_bad("\"cluster\": {\"endpoints\": [\"http://a:1\"], \"name\": \"a/b\"}",
             "2:50: $.cluster.name: must not contain '/'");
    load_bad("\"cluster\": {\"endpoints\": [\"http://a:1\"], \"user\": \"gslbd\"}",
             "2:12: $.cluster: user and password_file go together");
}

/* A check's "source" (each instance probes from its own address) */
static void test_conf_check_source(void **state)
{
    (void)state;
    struct conf *c = load_ok("\"checks\": [{\"name\": \"w\", \"type\": \"tcp\", \"port\": 80, "
                             "\"source\": \"127.0.0.41\"}]");
    assert_string_equal(c->checks[0].source, "127.0.0.41");
    conf_free(c);
    load_bad("\"checks\": [{\"name\": \"w\", \"type\": \"http\", \"source\": \"eth0\"}]",
             "2:52: $.checks[0].source: must be a numeric IPv4 or IPv6 address");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_local),
        cmocka_unit_test(test_rule_majority),
        cmocka_unit_test(test_rule_any_all),
        cmocka_unit_test(test_b64),
        cmocka_unit_test(test_put_range_watch_bodies),
        cmocka_unit_test(test_decode_replies),
        cmocka_unit_test(test_admin_value),
        cmocka_unit_test(test_obs_value),
        cmocka_unit_test(test_conf_cluster),
        cmocka_unit_test(test_conf_check_source),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
