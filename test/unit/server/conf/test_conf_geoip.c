/* test_conf_geoip.c: unit tests for server/conf/conf_geoip.c: nets, nets_file, pins, region order.
 */
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
#include <sys/socket.h>

#include <cmocka.h>

#include "server/conf/conf.h"
#include "test_conf_file_util.h"

#define DATA "test/data/conf/"

/* Stands in for "*out untouched": never dereferenced. */
#define SENTINEL ((struct conf *)(uintptr_t)0x5e5e)

/* A scratch folder holding conf.json and, if given, nets.txt. */
struct scratch {
    char dir[64];
    char conf[96];
    char nets[96];
};

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
    assert_int_equal(fclose(f), 0);
}

static void scratch_make(struct scratch *s, const char *conf, const char *nets)
{
    snprintf(s->dir, sizeof(s->dir), "/tmp/gslbd-test-geoip-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->conf, sizeof(s->conf), "%s/conf.json", s->dir);
    snprintf(s->nets, sizeof(s->nets), "%s/nets.txt", s->dir);
    write_file(s->conf, conf);
    if (nets != NULL)
        write_file(s->nets, nets);
}

static void scratch_remove(struct scratch *s)
{
    unlink(s->conf);
    unlink(s->nets);
    assert_int_equal(rmdir(s->dir), 0);
}

static void expect_net(const struct conf_net *n, const char *addr, unsigned prefix, size_t region)
{
    int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    uint8_t want[16] = {0};
    assert_int_equal(inet_pton(family, addr, want), 1);
    assert_int_equal(n->family, family);
    assert_memory_equal(n->addr, want, sizeof(want));
    assert_int_equal(n->prefix, prefix);
    assert_int_equal(n->region, region);
}

static void expect_pin(const struct conf_pin *p, const char *code, bool continent,
                       const size_t *regions, size_t n)
{
    assert_string_equal(p->code, code);
    assert_int_equal(p->continent, continent);
    assert_int_equal(p->nregions, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p->regions[i], regions[i]);
}

static void test_every_key(void **state)
{
    (void)state;
    struct conf *c = load_ok(DATA "good_gslb.json");
    /* regions: eu-central 0, eu-west 1, us-east 2, edge-1 3 */
    assert_string_equal(c->geo.database, "/usr/share/GeoIP/GeoLite2-City.mmdb");
    assert_int_equal(c->geo.ecs_scope, CONF_ECS_SCOPE_NEAREST); /* the default */
    assert_int_equal(c->geo.ndefault_order, 2);
    assert_int_equal(c->geo.default_order[0], 2);
    assert_int_equal(c->geo.default_order[1], 1);

    /* Inline entries in written order, then the file's, although nets_file comes first. */
    assert_int_equal(c->geo.nnets, 8);
    expect_net(&c->geo.nets[0], "10.20.0.0", 16, 1);
    expect_net(&c->geo.nets[1], "2001:db8:aa::", 48, 2);
    expect_net(&c->geo.nets[2], "192.0.2.128", 25, 0);
    expect_net(&c->geo.nets[3], "10.30.0.0", 16, 0);
    expect_net(&c->geo.nets[4], "172.16.0.0", 12, 2); /* tab, trailing comment, CRLF */
    expect_net(&c->geo.nets[5], "2001:db8:bb::", 48, 1);
    expect_net(&c->geo.nets[6], "0.0.0.0", 0, 2);
    expect_net(&c->geo.nets[7], "::", 0, 1); /* last line without a newline */

    assert_int_equal(c->geo.npins, 3);
    static const size_t eu[] = {0, 1}, us[] = {2}, na[] = {2, 1, 0};
    expect_pin(&c->geo.pins[0], "EU", true, eu, 2);
    expect_pin(&c->geo.pins[1], "US", false, us, 1);
    expect_pin(&c->geo.pins[2], "NA", true, na, 3);
    conf_free(c);
}

static void test_nets_edges(void **state)
{
    (void)state;
    struct scratch s;
    scratch_make(
        &s,
        "{\"listen\": [\"127.0.0.1\"], \"zones\": [{\"origin\": \"a\", \"file\": \"a\"}],\n"
        "\"regions\": [{\"name\": \"x\", \"lat\": 0, \"lon\": 0}, {\"name\": \"y\", "
        "\"lat\": 0, \"lon\": 0}],\n"
        "\"geoip\": {\"nets\": {\"255.255.255.255/32\": \"y\", \"ffff:ffff:ffff:ffff:"
        "ffff:ffff:ffff:ffff/128\": \"x\", \"::ffff:0:0/96\": \"y\", \"0.0.0.0/0\": \"x\","
        " \"::/0\": \"x\", \"128.0.0.0/1\": \"y\", \"10.0.0.0/08\": \"y\"},\n"
        "\"pin\": {\"continent:AF\": [\"x\"], \"continent:AN\": [\"x\"], \"continent:AS\": "
        "[\"x\"], \"continent:OC\": [\"y\"], \"continent:SA\": [\"y\", \"x\"], "
        "\"country:ZZ\": [\"y\"], \"$comment\": \"ok\"}}}",
        NULL);
    struct conf *c = load_ok(s.conf);
    assert_int_equal(c->geo.nnets, 7);
    expect_net(&c->geo.nets[0], "255.255.255.255", 32, 1);
    expect_net(&c->geo.nets[1], "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128, 0);
    expect_net(&c->geo.nets[2], "::ffff:0:0", 96, 1);
    expect_net(&c->geo.nets[3], "0.0.0.0", 0, 0);
    expect_net(&c->geo.nets[4], "::", 0, 0);
    expect_net(&c->geo.nets[5], "128.0.0.0", 1, 1);
    expect_net(&c->geo.nets[6], "10.0.0.0", 8, 1);
    assert_int_equal(c->geo.npins, 6);
    assert_string_equal(c->geo.pins[4].code, "SA");
    assert_int_equal(c->geo.pins[4].regions[0], 1);
    assert_string_equal(c->geo.pins[5].code, "ZZ");
    assert_false(c->geo.pins[5].continent);
    /* No database, no default_order: all regions in configured order. */
    assert_null(c->geo.database);
    assert_int_equal(c->geo.ndefault_order, 2);
    assert_int_equal(c->geo.default_order[0], 0);
    assert_int_equal(c->geo.default_order[1], 1);
    conf_free(c);
    scratch_remove(&s);
}

static const char *const big_conf =
    "{\"listen\": [\"127.0.0.1\"], \"zones\": [{\"origin\": \"a\", \"file\": \"a\"}],\n"
    "\"regions\": [{\"name\": \"x\", \"lat\": 0, \"lon\": 0}, {\"name\": \"y\", \"lat\": 0, "
    "\"lon\": 0}],\n"
    "\"geoip\": {\"nets_file\": \"nets.txt\"}}";

/* Many lines: the arrays grow, and of several repeats the first one written is reported. */
static void test_nets_file_big(void **state)
{
    (void)state;
    size_t cap = 64 * 5000;
    char *nets = malloc(cap);
    assert_non_null(nets);
    size_t n = 0;
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(nets + n, cap - n, "10.%d.%d.0/24 %s\n", i / 256, i % 256,
                              i % 2 ? "y" : "x");
    struct scratch s;
    scratch_make(&s, big_conf, nets);
    struct conf *c = load_ok(s.conf);
    assert_int_equal(c->geo.nnets, 5000);
    expect_net(&c->geo.nets[4999], "10.19.135.0", 24, 1);
    conf_free(c);
    scratch_remove(&s);

    /* Line 5001 repeats line 3000, line 5002 repeats line 2: line 5001 is reported. */
    snprintf(nets + n, cap - n, "10.11.183.0/24 x\n10.0.1.0/24 y\n");
    scratch_make(&s, big_conf, nets);
    struct err e = {{0}};
    c = SENTINEL;
    assert_int_equal(conf_load_file(s.conf, &c, &e), GSLBD_EINVAL);
    char want[512];
    snprintf(want, sizeof(want), "%s:5001:1: duplicate network 10.11.183.0/24 (also at %s:3000:1)",
             s.nets, s.nets);
    assert_string_equal(e.msg, want);
    assert_ptr_equal(c, SENTINEL);
    scratch_remove(&s);
    free(nets);
}

static void test_nets_file_empty(void **state)
{
    (void)state;
    struct scratch s;
    scratch_make(&s, big_conf, "# nothing yet\n\n   \n\t# indented comment\n");
    struct conf *c = load_ok(s.conf);
    assert_int_equal(c->geo.nnets, 0);
    conf_free(c);
    scratch_remove(&s);
    scratch_make(&s, big_conf, "");
    c = load_ok(s.conf);
    assert_int_equal(c->geo.nnets, 0);
    conf_free(c);
    scratch_remove(&s);
}

struct bad_case {
    const char *geoip; /* line 3 */
    const char *nets;  /* nets.txt, NULL = none */
    int code;
    const char *msg; /* after the file name; @DIR@ stands for the scratch folder */
};

/* Each position was worked out from the case text itself, not copied from conf_pos.c. */
static const struct bad_case bad_cases[] = {
    {"\"geoip\": []", NULL, GSLBD_EINVAL, ":3:10: $.geoip: must be an object"},
    {"\"geoip\": {\"netsfile\": \"nets.txt\"}", NULL, GSLBD_EINVAL,
     ":3:11: $.geoip.netsfile: unknown key (known keys: database, default_order, ecs_scope, nets, "
     "nets_file, pin, and \"$comment\" for notes)"},
    {"\"geoip\": {\"ecs_scope\": \"widest\"}", NULL, GSLBD_EINVAL,
     ":3:24: $.geoip.ecs_scope: must be one of \"nearest\", \"ranking\""},
    {"\"geoip\": {\"ecs_scope\": 1}", NULL, GSLBD_EINVAL,
     ":3:24: $.geoip.ecs_scope: must be one of \"nearest\", \"ranking\""},
    {"\"geoip\": {\"database\": \"\"}", NULL, GSLBD_EINVAL,
     ":3:23: $.geoip.database: must be a file name of 1 to 4096 bytes"},
    {"\"geoip\": {\"default_order\": []}", NULL, GSLBD_EINVAL,
     ":3:28: $.geoip.default_order: must be an array of 1 to 64 region names"},
    {"\"geoip\": {\"default_order\": [\"eu\", \"eu-west\"]}", NULL, GSLBD_EINVAL,
     ":3:35: $.geoip.default_order[1]: unknown region 'eu-west'"},
    {"\"geoip\": {\"default_order\": [\"us\", \"eu\", \"us\"]}", NULL, GSLBD_EINVAL,
     ":3:41: $.geoip.default_order[2]: duplicate of $.geoip.default_order[0] ('us')"},
    {"\"geoip\": {\"default_order\": [1]}", NULL, GSLBD_EINVAL,
     ":3:29: $.geoip.default_order[0]: must be a region name"},
    {"\"geoip\": {\"nets\": []}", NULL, GSLBD_EINVAL,
     ":3:19: $.geoip.nets: must be an object of \"CIDR\": \"REGION\" entries"},
    {"\"geoip\": {\"nets\": {\"10.20.0.0\": \"eu\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets[\"10.20.0.0\"]: invalid network '10.20.0.0': expected ADDRESS/PREFIX, "
     "e.g. 10.20.0.0/16"},
    {"\"geoip\": {\"nets\": {\"10.0.0/8\": \"eu\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets[\"10.0.0/8\"]: invalid network '10.0.0/8': expected ADDRESS/PREFIX, e.g. "
     "10.20.0.0/16"},
    {"\"geoip\": {\"nets\": {\"/8\": \"eu\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets[\"/8\"]: invalid network '/8': expected ADDRESS/PREFIX, e.g. "
     "10.20.0.0/16"},
    {"\"geoip\": {\"nets\": {\"eu\": \"eu\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets.eu: invalid network 'eu': expected ADDRESS/PREFIX, e.g. 10.20.0.0/16"},
    {"\"geoip\": {\"nets\": {\"10.20.1.0/16\": \"eu\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets[\"10.20.1.0/16\"]: invalid network '10.20.1.0/16': address bits past the "
     "prefix must be zero (10.20.0.0/16?)"},
    {"\"geoip\": {\"nets\": {\"10.20.0.1/0\": \"eu\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets[\"10.20.0.1/0\"]: invalid network '10.20.0.1/0': address bits past the "
     "prefix must be zero (0.0.0.0/0?)"},
    {"\"geoip\": {\"nets\": {\"2001:db8:aa::1/48\": \"us\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets[\"2001:db8:aa::1/48\"]: invalid network '2001:db8:aa::1/48': address "
     "bits past the prefix must be zero (2001:db8:aa::/48?)"},
    {"\"geoip\": {\"nets\": {\"192.0.2.129/25\": \"us\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets[\"192.0.2.129/25\"]: invalid network '192.0.2.129/25': address bits past "
     "the prefix must be zero (192.0.2.128/25?)"},
    {"\"geoip\": {\"nets\": {\"10.0.0.0/33\": \"eu\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets[\"10.0.0.0/33\"]: invalid network '10.0.0.0/33': the prefix must be 0 to "
     "32"},
    {"\"geoip\": {\"nets\": {\"::/129\": \"eu\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets[\"::/129\"]: invalid network '::/129': the prefix must be 0 to 128"},
    {"\"geoip\": {\"nets\": {\"10.0.0.0/\": \"eu\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets[\"10.0.0.0/\"]: invalid network '10.0.0.0/': the prefix must be 0 to 32"},
    {"\"geoip\": {\"nets\": {\"10.0.0.0/8x\": \"eu\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets[\"10.0.0.0/8x\"]: invalid network '10.0.0.0/8x': the prefix must be 0 to "
     "32"},
    {"\"geoip\": {\"nets\": {\"10.0.0.0/0008\": \"eu\"}}", NULL, GSLBD_EINVAL,
     ":3:20: $.geoip.nets[\"10.0.0.0/0008\"]: invalid network '10.0.0.0/0008': the prefix must be "
     "0 to 32"},
    {"\"geoip\": {\"nets\": {\"10.20.0.0/16\": \"eu-wst\"}}", NULL, GSLBD_EINVAL,
     ":3:36: $.geoip.nets[\"10.20.0.0/16\"]: unknown region 'eu-wst'"},
    {"\"geoip\": {\"nets\": {\"10.20.0.0/16\": [\"eu\"]}}", NULL, GSLBD_EINVAL,
     ":3:36: $.geoip.nets[\"10.20.0.0/16\"]: must be a region name"},
    {"\"geoip\": {\"nets\": {\"2001:db8:aa::/48\": \"us\", \"10.0.0.0/8\": \"eu\", "
     "\"2001:DB8:AA:0::/48\": \"eu\"}}",
     NULL, GSLBD_EINVAL,
     ":3:66: $.geoip.nets[\"2001:DB8:AA:0::/48\"]: duplicate network 2001:db8:aa::/48 (also at "
     "$.geoip.nets[\"2001:db8:aa::/48\"])"},
    {"\"geoip\": {\"nets\": {\"$comment\": 1}}", NULL, GSLBD_EINVAL,
     ":3:32: $.geoip.nets.$comment: must be a string"},
    {"\"geoip\": {\"pin\": []}", NULL, GSLBD_EINVAL,
     ":3:18: $.geoip.pin: must be an object of \"continent:XX\" or \"country:XX\" keys"},
    {"\"geoip\": {\"pin\": {\"continent:XX\": [\"eu\"]}}", NULL, GSLBD_EINVAL,
     ":3:19: $.geoip.pin[\"continent:XX\"]: must be \"continent:XX\" (XX one of AF, AN, AS, EU, "
     "NA, OC, SA) or \"country:XX\" (XX an ISO 3166-1 code in upper case, e.g. DE)"},
    {"\"geoip\": {\"pin\": {\"country:us\": [\"eu\"]}}", NULL, GSLBD_EINVAL,
     ":3:19: $.geoip.pin[\"country:us\"]: must be \"continent:XX\" (XX one of AF, AN, AS, EU, NA, "
     "OC, SA) or \"country:XX\" (XX an ISO 3166-1 code in upper case, e.g. DE)"},
    {"\"geoip\": {\"pin\": {\"country:USA\": [\"eu\"]}}", NULL, GSLBD_EINVAL,
     ":3:19: $.geoip.pin[\"country:USA\"]: must be \"continent:XX\" (XX one of AF, AN, AS, EU, NA, "
     "OC, SA) or \"country:XX\" (XX an ISO 3166-1 code in upper case, e.g. DE)"},
    {"\"geoip\": {\"pin\": {\"region:EU\": [\"eu\"]}}", NULL, GSLBD_EINVAL,
     ":3:19: $.geoip.pin[\"region:EU\"]: must be \"continent:XX\" (XX one of AF, AN, AS, EU, NA, "
     "OC, SA) or \"country:XX\" (XX an ISO 3166-1 code in upper case, e.g. DE)"},
    {"\"geoip\": {\"pin\": {\"continent:\": [\"eu\"]}}", NULL, GSLBD_EINVAL,
     ":3:19: $.geoip.pin[\"continent:\"]: must be \"continent:XX\" (XX one of AF, AN, AS, EU, NA, "
     "OC, SA) or \"country:XX\" (XX an ISO 3166-1 code in upper case, e.g. DE)"},
    {"\"geoip\": {\"pin\": {\"EU\": [\"eu\"]}}", NULL, GSLBD_EINVAL,
     ":3:19: $.geoip.pin.EU: must be \"continent:XX\" (XX one of AF, AN, AS, EU, NA, OC, SA) or "
     "\"country:XX\" (XX an ISO 3166-1 code in upper case, e.g. DE)"},
    {"\"geoip\": {\"pin\": {\"continent:eu\": [\"eu\"]}}", NULL, GSLBD_EINVAL,
     ":3:19: $.geoip.pin[\"continent:eu\"]: must be \"continent:XX\" (XX one of AF, AN, AS, EU, "
     "NA, OC, SA) or \"country:XX\" (XX an ISO 3166-1 code in upper case, e.g. DE)"},
    {"\"geoip\": {\"pin\": {\"country:D\": [\"eu\"]}}", NULL, GSLBD_EINVAL,
     ":3:19: $.geoip.pin[\"country:D\"]: must be \"continent:XX\" (XX one of AF, AN, AS, EU, NA, "
     "OC, SA) or \"country:XX\" (XX an ISO 3166-1 code in upper case, e.g. DE)"},
    {"\"geoip\": {\"pin\": {\"continent:EU\": []}}", NULL, GSLBD_EINVAL,
     ":3:35: $.geoip.pin[\"continent:EU\"]: must be an array of 1 to 64 region names"},
    {"\"geoip\": {\"pin\": {\"continent:EU\": \"eu\"}}", NULL, GSLBD_EINVAL,
     ":3:35: $.geoip.pin[\"continent:EU\"]: must be an array of 1 to 64 region names"},
    {"\"geoip\": {\"pin\": {\"continent:EU\": [\"eu\", \"eu-west\"]}}", NULL, GSLBD_EINVAL,
     ":3:42: $.geoip.pin[\"continent:EU\"][1]: unknown region 'eu-west'"},
    {"\"geoip\": {\"pin\": {\"country:DE\": [\"eu\"], \"country:US\": [\"us\", \"eu\", \"us\"]}}",
     NULL, GSLBD_EINVAL,
     ":3:68: $.geoip.pin[\"country:US\"][2]: duplicate of $.geoip.pin[\"country:US\"][0] ('us')"},
    {"\"geoip\": {\"pin\": {\"$comment\": 5}}", NULL, GSLBD_EINVAL,
     ":3:31: $.geoip.pin.$comment: must be a string"},
    {"\"geoip\": {\"nets_file\": 5}", NULL, GSLBD_EINVAL,
     ":3:24: $.geoip.nets_file: must be a file name of 1 to 4096 bytes"},
    {"\"geoip\": {\"nets_file\": \"missing.txt\"}", NULL, -ENOENT,
     ":3:24: $.geoip.nets_file: cannot read '@DIR@/missing.txt': No such file or directory"},
    {"\"geoip\": {\"nets_file\": \".\"}", NULL, -EISDIR,
     ":3:24: $.geoip.nets_file: cannot read '@DIR@/.': Is a directory"},
    {"\"geoip\": {\"nets_file\": \"nets.txt\"}", "10.30.0.0/16 eu\n10.31.0.0/16\n", GSLBD_EINVAL,
     "@DIR@/nets.txt:2:13: expected \"CIDR REGION\": the region is missing"},
    {"\"geoip\": {\"nets_file\": \"nets.txt\"}", "10.30.0.0/16 eu extra # comment", GSLBD_EINVAL,
     "@DIR@/nets.txt:1:17: unexpected text after the region (a comment starts with '#')"},
    {"\"geoip\": {\"nets_file\": \"nets.txt\"}", "# offices\n\n  10.30.1.0/16 eu", GSLBD_EINVAL,
     "@DIR@/nets.txt:3:3: invalid network '10.30.1.0/16': address bits past the prefix must be "
     "zero (10.30.0.0/16?)"},
    {"\"geoip\": {\"nets_file\": \"nets.txt\"}", "10.30.0.0/16 eu\r\nfe80::/10\teu-wst\r\n",
     GSLBD_EINVAL, "@DIR@/nets.txt:2:11: unknown region 'eu-wst'"},
    {"\"geoip\": {\"nets_file\": \"nets.txt\"}",
     "10.30.0.0/16\teu\n2001:db8::/32 us\n10.30.0.0/16 us\n", GSLBD_EINVAL,
     "@DIR@/nets.txt:3:1: duplicate network 10.30.0.0/16 (also at @DIR@/nets.txt:1:1)"},
    {"\"geoip\": {\"nets_file\": \"nets.txt\", \"nets\": {\"10.30.0.0/16\": \"eu\"}}",
     "# c\n  10.30.0.0/16 us", GSLBD_EINVAL,
     "@DIR@/nets.txt:2:3: duplicate network 10.30.0.0/16 (also at $.geoip.nets[\"10.30.0.0/16\"])"},
    {"\"geoip\": {\"nets_file\": \"nets.txt\"}", "10.30.0.0/16 e\001u", GSLBD_EINVAL,
     "@DIR@/nets.txt:1:15: unexpected control character"},
    {"\"geoip\": {\"nets_file\": \"nets.txt\"}", "10.30.0.0/16\reu", GSLBD_EINVAL,
     "@DIR@/nets.txt:1:13: unexpected control character"},
    {"\"geoip\": {\"nets_file\": \"nets.txt\"}", "10.0.0.0/8 éé x", GSLBD_EINVAL,
     "@DIR@/nets.txt:1:15: unexpected text after the region (a comment starts with '#')"},
    {"\"geoip\": {\"nets_file\": \"nets.txt\"}", "# réseaux\né 10.0.0.0/8", GSLBD_EINVAL,
     "@DIR@/nets.txt:2:1: invalid network 'é': expected ADDRESS/PREFIX, e.g. 10.20.0.0/16"},
    {"\"geoip\": {\"nets_file\": \"nets.txt\"}", "eu 10.0.0.0/8", GSLBD_EINVAL,
     "@DIR@/nets.txt:1:1: invalid network 'eu': expected ADDRESS/PREFIX, e.g. 10.20.0.0/16"},
};

/* Replace each @DIR@ in in by dir. */
static void subst_dir(const char *in, const char *dir, char *out, size_t n)
{
    size_t o = 0;
    while (*in != '\0' && o + 1 < n) {
        if (strncmp(in, "@DIR@", 5) == 0) {
            o += (size_t)snprintf(out + o, n - o, "%s", dir);
            in += 5;
        } else {
            out[o++] = *in++;
        }
    }
    out[o < n ? o : n - 1] = '\0';
}

/* geoip.ecs_scope: "ranking" and "nearest" as written (the default is in test_every_key). */
static void test_ecs_scope(void **state)
{
    (void)state;
    static const char *const vals[] = {"ranking", "nearest"};
    static const int want[] = {CONF_ECS_SCOPE_RANKING, CONF_ECS_SCOPE_NEAREST};
    for (int i = 0; i < 2; i++) {
        char text[512];
        snprintf(text, sizeof(text),
                 "{\"listen\": [\"127.0.0.1\"], \"zones\": [{\"origin\": \"insure.example\", "
                 "\"file\": \"z\"}],\n\"regions\": [{\"name\": \"eu\", \"lat\": 50, "
                 "\"lon\": 8}],\n\"geoip\": {\"ecs_scope\": \"%s\"}\n}",
                 vals[i]);
        struct scratch s;
        scratch_make(&s, text, NULL);
        struct conf *c = NULL;
        struct err e = {{0}};
        int r = conf_load_file(s.conf, &c, &e);
        if (r != 0)
            print_error("%s\n", e.msg);
        assert_int_equal(r, 0);
        assert_int_equal(c->geo.ecs_scope, want[i]);
        conf_free(c);
        scratch_remove(&s);
    }
}

static void test_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        char text[2048];
        char want[1200];
        char msg[1024];
        snprintf(text, sizeof(text),
                 "{\"listen\": [\"127.0.0.1\"], \"zones\": [{\"origin\": \"insure.example\", "
                 "\"file\": \"z\"}],\n"
                 "\"regions\": [{\"name\": \"eu\", \"lat\": 50, \"lon\": 8}, {\"name\": \"us\", "
                 "\"lat\": 39, \"lon\": -77}],\n"
                 "%s\n}",
                 bc->geoip);
        struct scratch s;
        scratch_make(&s, text, bc->nets);
        subst_dir(bc->msg, s.dir, msg, sizeof(msg));
        snprintf(want, sizeof(want), "%s%s", bc->msg[0] == ':' ? s.conf : "", msg);
        struct conf *c = SENTINEL;
        struct err e = {{0}};
        int r = conf_load_file(s.conf, &c, &e);
        if (r != bc->code || strcmp(e.msg, want) != 0)
            print_error("case %zu:\n%s\n got %d \"%s\"\nwant %d \"%s\"\n", i, text, r, e.msg,
                        bc->code, want);
        assert_int_equal(r, bc->code);
        assert_string_equal(e.msg, want);
        assert_ptr_equal(c, SENTINEL);
        scratch_remove(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key),     cmocka_unit_test(test_nets_edges),
        cmocka_unit_test(test_nets_file_big), cmocka_unit_test(test_nets_file_empty),
        cmocka_unit_test(test_ecs_scope),     cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
