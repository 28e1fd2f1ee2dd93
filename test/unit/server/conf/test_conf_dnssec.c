/* test_conf_dnssec.c: a zone's "dnssec" object (server/conf/conf_dnssec.c) and the signing it
 * starts when the view is built (view.c, dnssec_zone.c): defaults, bounds, a missing or
 * unknown key with file:line:col, a key file others can read refused where the config
 * names it, and which RRsets get an RRSIG (none for a delegation's NS and its glue). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/conf/conf.h"
#include "server/dnssec.h"
#include "server/dnssec_zone.h"
#include "server/view.h"

static char dir[64], key[128], zonef[128], conff[128];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_conf_dnssec.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(key, sizeof(key), "%s/k.pem", dir);
    snprintf(zonef, sizeof(zonef), "%s/s.zone", dir);
    snprintf(conff, sizeof(conff), "%s/c.json", dir);
    struct dnssec_key k;
    struct err e = {{0}};
    if (dnssec_key_generate(&k, &e) < 0 || dnssec_key_save(&k, key, &e) < 0)
        return -1;
    dnssec_key_free(&k);
    write_file(zonef, "$ORIGIN s.test.\n$TTL 300\n"
                      "@ IN SOA ns1 host 1 7200 900 1209600 300\n"
                      "@ IN NS ns1\n"
                      "ns1 IN A 127.0.0.1\n"
                      "www IN A 192.0.2.1\n"
                      "www IN AAAA 2001:db8::1\n"
                      "sub IN NS ns.sub\n"
                      "ns.sub IN A 192.0.2.53\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(key);
    unlink(zonef);
    unlink(conff);
    rmdir(dir);
    return 0;
}

static int load(const char *dnssec, struct conf **c, struct err *e)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"listen\": [\"127.0.0.1\"], \"api\": {\"enabled\": false},\n"
             "\"zones\": [{\"origin\": \"s.test.\", \"file\": \"s.zone\",\n"
             "  \"dnssec\": %s}]}\n",
             dnssec);
    write_file(conff, text);
    return conf_load_file(conff, c, e);
}

static void test_defaults_and_resolved_path(void **state)
{
    (void)state;
    struct conf *c = NULL;
    struct err e = {{0}};
    assert_int_equal(load("{\"key_file\": \"k.pem\"}", &c, &e), 0);
    assert_true(c->zones[0].dnssec.enabled);
    assert_string_equal(c->zones[0].dnssec.key_file, key);
    assert_int_equal(c->zones[0].dnssec.validity_days, 14);
    assert_int_equal(c->zones[0].dnssec.line, 3);
    assert_int_equal(c->zones[0].dnssec.col, 26);
    conf_free(c);
    c = NULL;
    assert_int_equal(load("{\"key_file\": \"k.pem\", \"validity_days\": 30}", &c, &e), 0);
    assert_int_equal(c->zones[0].dnssec.validity_days, 30);
    conf_free(c);
}

static void test_errors_with_position(void **state)
{
    (void)state;
    static const struct {
        const char *dnssec, *want;
    } cases[] = {
        {"{}", ":3:13: $.zones[0].dnssec.key_file: required key is missing"},
        {"{\"key_file\": \"k.pem\", \"validity_days\": 0.0001}",
         ":3:52: $.zones[0].dnssec.validity_days: must be at least 20 seconds"},
        {"{\"key_file\": \"k.pem\", \"validity_days\": 366}",
         ":3:52: $.zones[0].dnssec.validity_days: must be a number from 0 to 365"},
        {"{\"key_file\": \"k.pem\", \"algorithm\": \"ed25519\"}",
         ":3:35: $.zones[0].dnssec.algorithm: only with key_dir"},
        {"{\"key_file\": \"k.pem\", \"algorithm\": \"rsasha1\"}",
         ":3:48: $.zones[0].dnssec.algorithm: must be one of"},
        {"{\"key_file\": \"k.pem\", \"key_dir\": \"keys\"}",
         ":3:35: $.zones[0].dnssec.key_dir: give one of key_file, ksk_file and zsk_file, key_dir"},
        {"{\"ksk_file\": \"k.pem\"}", ":3:13: $.zones[0].dnssec.zsk_file: required key is missing"},
        {"{\"key_file\": \"k.pem\", \"zsk_lifetime_days\": 30}",
         ":3:35: $.zones[0].dnssec.zsk_lifetime_days: only with key_dir"},
        {"{\"key_dir\": \"keys\", \"parents\": [\"nowhere\"]}",
         ":3:45: $.zones[0].dnssec.parents[0]: must be an address string"},
        {"true", ":3:13: $.zones[0].dnssec: must be an object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct conf *c = NULL;
        struct err e = {{0}};
        assert_int_equal(load(cases[i].dnssec, &c, &e), GSLBD_EINVAL);
        assert_null(c);
        if (strstr(e.msg, cases[i].want) == NULL)
            fail_msg("got \"%s\", want \"%s\"", e.msg, cases[i].want);
    }
}

static void test_signed_view(void **state)
{
    (void)state;
    struct conf *c = NULL;
    struct err e = {{0}};
    assert_int_equal(load("{\"key_file\": \"k.pem\"}", &c, &e), 0);
    struct view *v = NULL;
    assert_int_equal(view_build(c, &v, &e), 0);
    const struct zone *z = v->zones[0];
    assert_non_null(z->dnssec);
    /* SOA, NS, ns1 A, www A, www AAAA, DNSKEY, CDS, CDNSKEY; not sub NS, not the glue */
    assert_int_equal(dnssec_zone_nsigs(z->dnssec), 8);
    const struct zone_node *sub = zone_lookup(z, (const uint8_t *)"\3sub\1s\4test", 12,
                                              dname_hash((const uint8_t *)"\3sub\1s\4test"));
    assert_non_null(sub);
    assert_null(dnssec_zone_sig(z->dnssec, zone_node_rrset(sub, 2)));
    assert_non_null(dnssec_zone_sig(z->dnssec, z->soa));
    const struct zone_rrset *dk = dnssec_zone_dnskey(z->dnssec);
    assert_int_equal(dk->type, 48);
    assert_int_equal(dk->count, 1);
    const struct wire_rr *sig = dnssec_zone_sig(z->dnssec, dk);
    assert_non_null(sig);
    /* the RRSIG covers DNSKEY, algorithm 13, 1 label, its tag is the key's */
    assert_int_equal(sig->rdata[0] << 8 | sig->rdata[1], 48);
    assert_int_equal(sig->rdata[2], 13);
    assert_int_equal(sig->rdata[3], 2);
    assert_int_equal(sig->rdata[16] << 8 | sig->rdata[17], dnssec_zone_key_tag(z->dnssec));
    /* validity: 14 days from the hour, an hour backdated */
    uint32_t exp = (uint32_t)sig->rdata[8] << 24 | (uint32_t)sig->rdata[9] << 16 |
                   (uint32_t)sig->rdata[10] << 8 | sig->rdata[11];
    uint32_t inc = (uint32_t)sig->rdata[12] << 24 | (uint32_t)sig->rdata[13] << 16 |
                   (uint32_t)sig->rdata[14] << 8 | sig->rdata[15];
    assert_int_equal(inc % 3600, 0);
    assert_int_equal(exp - inc, 14 * 86400 + 3600);
    view_free(v);
}

static void test_readable_key_refused_where_named(void **state)
{
    (void)state;
    assert_int_equal(chmod(key, 0644), 0);
    struct conf *c = NULL;
    struct err e = {{0}};
    assert_int_equal(load("{\"key_file\": \"k.pem\"}", &c, &e), 0);
    struct view *v = NULL;
    assert_int_equal(view_build(c, &v, &e), GSLBD_EINVAL);
    char want[512];
    snprintf(want, sizeof(want), "%s:3:26: $.zones[0].dnssec.key_file: %s: DNSSEC key: mode 0644",
             conff, key);
    if (strncmp(e.msg, want, strlen(want)) != 0)
        fail_msg("got \"%s\", want \"%s\"", e.msg, want);
    assert_int_equal(chmod(key, 0600), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_resolved_path),
        cmocka_unit_test(test_errors_with_position),
        cmocka_unit_test(test_signed_view),
        cmocka_unit_test(test_readable_key_refused_where_named),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
