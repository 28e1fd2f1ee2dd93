/* test_dnssec_keys.c: the key folder's rollover rules (server/dnssec_keys.c) on a clock the
 * test moves: the first KSK and ZSK; a ZSK roll by pre-publication (published, then
 * signing, the old one retired, then removed with its file) at the dates the TTLs and the
 * propagation delay give; a KSK roll by double signature (CDS moves to the new KSK once it
 * is ready; the old one goes the parent's DS TTL after gslbd --ds-seen); a read-only look
 * changes nothing; the fingerprint changes exactly when the signatures must. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/dnssec_keys.h"
#include "server/log.h"

static char dir[64];
static const struct dnssec_zone_ttls ttls = {60, 100}; /* DNSKEY TTL, longest TTL */

static int setup(void **state)
{
    (void)state;
    log_set_level(LOG_WARN);
    snprintf(dir, sizeof(dir), "/tmp/test_dnssec_keys.XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct conf_dnssec policy(const char *sub, uint32_t zsk, uint32_t ksk)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    mkdir(path, 0700);
    struct conf_dnssec d = {0};
    d.enabled = true;
    d.key_dir = path;
    d.alg = 13;
    d.validity_s = 14 * 86400;
    d.zsk_lifetime_s = zsk;
    d.ksk_lifetime_s = ksk;
    d.propagation_delay_s = 10;
    d.parent_ds_ttl_s = 20;
    return d;
}

static size_t count_role(const struct dnssec_keyset *ks, enum dnssec_role r)
{
    size_t n = 0;
    for (size_t i = 0; i < ks->n; i++)
        n += ks->k[i].role == r;
    return n;
}

static const struct dnssec_keyent *newest(const struct dnssec_keyset *ks, enum dnssec_role r)
{
    const struct dnssec_keyent *b = NULL;
    for (size_t i = 0; i < ks->n; i++)
        if (ks->k[i].role == r && (b == NULL || ks->k[i].created > b->created))
            b = &ks->k[i];
    return b;
}

static const struct dnssec_keyent *oldest(const struct dnssec_keyset *ks, enum dnssec_role r)
{
    const struct dnssec_keyent *b = NULL;
    for (size_t i = 0; i < ks->n; i++)
        if (ks->k[i].role == r && (b == NULL || ks->k[i].created < b->created))
            b = &ks->k[i];
    return b;
}

static void get(const struct conf_dnssec *d, int64_t now, bool ro, struct dnssec_keyset *ks)
{
    struct err e = {{0}};
    int rc = dnssec_keys_get(d, "roll.test.", &ttls, now, ro, NULL, ks, &e);
    if (rc != 0)
        fail_msg("dnssec_keys_get at %lld: %s", (long long)now, e.msg);
}

static bool file_exists(const struct conf_dnssec *d, const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", d->key_dir, name);
    return access(p, F_OK) == 0;
}

static void test_zsk_roll(void **state)
{
    (void)state;
    struct conf_dnssec d = policy("zsk", 1000, 0);
    int64_t t0 = 1000000;
    struct dnssec_keyset ks;
    get(&d, t0, false, &ks);
    assert_int_equal(ks.n, 2);
    assert_int_equal(count_role(&ks, DNSSEC_ROLE_KSK), 1);
    assert_int_equal(count_role(&ks, DNSSEC_ROLE_ZSK), 1);
    assert_int_equal(newest(&ks, DNSSEC_ROLE_KSK)->key.flags, 257);
    assert_int_equal(newest(&ks, DNSSEC_ROLE_ZSK)->key.flags, 256);
    assert_int_equal(ks.next_event, t0 + 1000); /* the ZSK's roll */
    char state_file[512];
    snprintf(state_file, sizeof(state_file), "%s/roll.test.keys.json", d.key_dir);
    struct stat st;
    assert_int_equal(stat(state_file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    uint16_t old_zsk = newest(&ks, DNSSEC_ROLE_ZSK)->key.tag;
    char old_file[320];
    snprintf(old_file, sizeof(old_file), "%s", newest(&ks, DNSSEC_ROLE_ZSK)->file);
    uint64_t fp0 = dnssec_keys_fingerprint(&ks, t0);
    dnssec_keys_free(&ks);

    get(&d, t0 + 999, false, &ks); /* nothing due */
    assert_int_equal(ks.n, 2);
    assert_true(dnssec_keys_fingerprint(&ks, t0 + 999) == fp0);
    dnssec_keys_free(&ks);

    int64_t t1 = t0 + 1000;
    get(&d, t1, false, &ks); /* pre-publication */
    assert_int_equal(ks.n, 3);
    const struct dnssec_keyent *nz = newest(&ks, DNSSEC_ROLE_ZSK);
    const struct dnssec_keyent *oz = oldest(&ks, DNSSEC_ROLE_ZSK);
    assert_int_equal(oz->key.tag, old_zsk);
    assert_int_equal(nz->publish, t1);
    assert_int_equal(nz->active, t1 + 60 + 10); /* DNSKEY TTL + propagation */
    assert_int_equal(oz->retire, nz->active);
    assert_int_equal(oz->remove, nz->active + 100 + 10); /* longest TTL + propagation */
    assert_true(dnssec_keyent_published(nz, t1));
    assert_false(dnssec_keyent_signs_zone(nz, t1));
    assert_true(dnssec_keyent_signs_zone(oz, t1));
    assert_string_equal(dnssec_keyent_state(nz, t1), "published");
    assert_int_equal(ks.next_event, nz->active);
    assert_true(dnssec_keys_fingerprint(&ks, t1) != fp0); /* a new DNSKEY to sign */
    uint16_t new_zsk = nz->key.tag;
    dnssec_keys_free(&ks);

    get(&d, t1 + 70, false, &ks); /* the new ZSK signs, the old one is retired */
    nz = newest(&ks, DNSSEC_ROLE_ZSK);
    oz = oldest(&ks, DNSSEC_ROLE_ZSK);
    assert_true(dnssec_keyent_signs_zone(nz, t1 + 70));
    assert_false(dnssec_keyent_signs_zone(oz, t1 + 70));
    assert_string_equal(dnssec_keyent_state(oz, t1 + 70), "retired");
    dnssec_keys_free(&ks);

    get(&d, t1 + 180, false, &ks); /* removed, with its file */
    assert_int_equal(ks.n, 2);
    assert_int_equal(newest(&ks, DNSSEC_ROLE_ZSK)->key.tag, new_zsk);
    assert_false(file_exists(&d, old_file));
    /* the next roll: the new ZSK's lifetime after it became active */
    assert_int_equal(ks.next_event, t1 + 70 + 1000);
    dnssec_keys_free(&ks);
}

static void test_ksk_roll_with_ds_seen(void **state)
{
    (void)state;
    struct conf_dnssec d = policy("ksk", 0, 5000);
    int64_t t0 = (int64_t)time(NULL) - 5200; /* the DS is seen now, before the next roll */
    struct dnssec_keyset ks;
    get(&d, t0, false, &ks);
    uint16_t old_ksk = newest(&ks, DNSSEC_ROLE_KSK)->key.tag;
    assert_int_equal(dnssec_keys_cds(&ks, t0)->key.tag, old_ksk);
    dnssec_keys_free(&ks);

    int64_t t1 = t0 + 5000;
    get(&d, t1, false, &ks); /* double signature: both KSKs sign the key RRsets */
    assert_int_equal(count_role(&ks, DNSSEC_ROLE_KSK), 2);
    const struct dnssec_keyent *nk = newest(&ks, DNSSEC_ROLE_KSK);
    assert_true(dnssec_keyent_signs_keys(nk, t1));
    assert_true(dnssec_keyent_signs_keys(oldest(&ks, DNSSEC_ROLE_KSK), t1));
    assert_int_equal(nk->ready, t1 + 70);
    assert_int_equal(dnssec_keys_cds(&ks, t1)->key.tag, old_ksk); /* not ready yet */
    assert_int_equal(dnssec_keys_cds(&ks, t1 + 70)->key.tag, nk->key.tag);
    uint16_t new_ksk = nk->key.tag;
    dnssec_keys_free(&ks);

    get(&d, t1 + 100, false, &ks); /* no parent to ask: it waits */
    assert_int_equal(count_role(&ks, DNSSEC_ROLE_KSK), 2);
    dnssec_keys_free(&ks);

    char tag[8];
    snprintf(tag, sizeof(tag), "%u", new_ksk);
    char *argv[] = {d.key_dir, "roll.test.", tag, NULL};
    assert_int_equal(dnssec_ds_seen_main(3, argv), 0);
    snprintf(tag, sizeof(tag), "%u", old_ksk == 1 ? 2 : 1); /* not a KSK of the zone */
    assert_int_equal(dnssec_ds_seen_main(3, argv), 1);

    int64_t seen = (int64_t)time(NULL);
    get(&d, t1 + 101, false, &ks); /* the old KSK is given its date */
    const struct dnssec_keyent *ok = oldest(&ks, DNSSEC_ROLE_KSK);
    assert_int_equal(ok->key.tag, old_ksk);
    assert_true(ok->retire >= seen - 1 && ok->retire <= seen + 1 + 20 + 10);
    assert_int_equal(ok->remove, ok->retire);
    int64_t gone = ok->remove;
    dnssec_keys_free(&ks);

    get(&d, gone, false, &ks);
    assert_int_equal(count_role(&ks, DNSSEC_ROLE_KSK), 1);
    assert_int_equal(newest(&ks, DNSSEC_ROLE_KSK)->key.tag, new_ksk);
    dnssec_keys_free(&ks);
}

static void test_readonly_changes_nothing(void **state)
{
    (void)state;
    struct conf_dnssec d = policy("ro", 1000, 0);
    struct dnssec_keyset ks;
    get(&d, 2000000, true, &ks); /* --check on an empty folder: a throw-away key */
    assert_int_equal(ks.n, 1);
    dnssec_keys_free(&ks);
    char state_file[512];
    snprintf(state_file, sizeof(state_file), "%s/roll.test.keys.json", d.key_dir);
    assert_int_not_equal(access(state_file, F_OK), 0);
    get(&d, 2000000, false, &ks);
    dnssec_keys_free(&ks);
    struct stat a, b;
    assert_int_equal(stat(state_file, &a), 0);
    get(&d, 2000000 + 5000, true, &ks); /* a roll is due, but read-only */
    assert_int_equal(ks.n, 2);
    dnssec_keys_free(&ks);
    assert_int_equal(stat(state_file, &b), 0);
    assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
    assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
}

static void test_broken_state_named(void **state)
{
    (void)state;
    struct conf_dnssec d = policy("bad", 1000, 0);
    char p[512];
    snprintf(p, sizeof(p), "%s/roll.test.keys.json", d.key_dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("{\"keys\": [\n  {\"file\": \"../escape.pem\", \"role\": \"ksk\"}]}\n", f);
    fclose(f);
    struct dnssec_keyset ks;
    struct err e = {{0}};
    assert_true(dnssec_keys_get(&d, "roll.test.", &ttls, 3000000, false, NULL, &ks, &e) < 0);
    assert_non_null(strstr(e.msg, "keys[0]"));
    assert_non_null(strstr(e.msg, "roll.test.keys.json"));
    f = fopen(p, "w");
    fputs("{\"keys\": [", f);
    fclose(f);
    memset(&e, 0, sizeof(e));
    assert_true(dnssec_keys_get(&d, "roll.test.", &ttls, 3000000, false, NULL, &ks, &e) < 0);
    assert_non_null(strstr(e.msg, "roll.test.keys.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zsk_roll),
        cmocka_unit_test(test_ksk_roll_with_ds_seen),
        cmocka_unit_test(test_readonly_changes_nothing),
        cmocka_unit_test(test_broken_state_named),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
