/* test_conf_files.c: the zone file keys (server/conf/conf_files.c: "zone_include_dirs",
 * "zone_max_bytes") and what the zone loader does with them (server/zone_load.c): includes
 * confined to the zone's folder and the configured ones, regular files only, a byte budget,
 * errors that never quote a file's text. Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/conf/conf.h"
#include "server/zone.h"

#include "test_conf_dir_util.h"

#define SOA "@ 3600 IN SOA ns1 host 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"
#define TOKEN "Zq3vX9pLm2Rt7Yw4Kd8Hs6Nf1Bc5Jg0TqZq3vX9pLm2Rt7Yw4Kd8Hs6Nf1Bc5Jg0T"

static void test_keys(void **state)
{
    (void)state;
    struct conf *c = load_ok("\"$comment\": \"defaults\"");
    assert_int_equal(c->nzone_include_dirs, 0);
    assert_true(c->zone_max_bytes == (1ull << 30));
    conf_free(c);
    assert_int_equal(conf_new(&c), 0); /* --zone mode: the same */
    assert_true(c->zone_max_bytes == (1ull << 30));
    conf_free(c);

    char sub[128];
    snprintf(sub, sizeof(sub), "%s/shared", dir);
    mkdir(sub, 0755);
    c = load_ok("\"zone_include_dirs\": [\"shared\", \"/tmp\"], \"zone_max_bytes\": 65536");
    assert_int_equal(c->nzone_include_dirs, 2);
    assert_string_equal(c->zone_include_dirs[0], sub);
    assert_string_equal(c->zone_include_dirs[1], "/tmp");
    assert_true(c->zone_max_bytes == 65536);
    conf_free(c);

    load_bad("\"zone_include_dirs\": [\"nowhere\"]", "2:23: $.zone_include_dirs[0]: ");
    load_bad("\"zone_include_dirs\": \"shared\"", "2:22: $.zone_include_dirs: ");
    load_bad("\"zone_max_bytes\": 100", "2:19: $.zone_max_bytes: ");
}

static void put(const char *name, const char *content)
{
    char path[256];
    write_file(name, content, 0644, path, sizeof(path));
}

/* Load the zone test.example. from dir/name; 0 or the code, message in e. */
static int zload(const char *name, const struct zone_limits *lim, struct err *e)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct zone *z = NULL;
    int rc = zone_load_limited("test.example.", path, NULL, 0, lim, &z, e);
    zone_free(z);
    return rc;
}

static void test_include_confined(void **state)
{
    (void)state;
    char sub[128], out[128], link[160];
    snprintf(sub, sizeof(sub), "%s/zones", dir);
    snprintf(out, sizeof(out), "%s/outside", dir);
    mkdir(sub, 0755);
    mkdir(out, 0755);
    put("outside/extra.inc", "www IN A 192.0.2.2\n");
    put("api.token", TOKEN "\n");
    put("zones/inner.inc", "www IN A 192.0.2.3\n");
    put("zones/ok.zone", SOA "$INCLUDE inner.inc\n");
    put("zones/up.zone", SOA "$INCLUDE ../api.token\n");
    put("zones/abs.zone", SOA "$INCLUDE /etc/passwd\n");
    put("zones/via_link.zone", SOA "$INCLUDE link.inc\n");
    put("zones/other.zone", SOA "$INCLUDE ../outside/extra.inc\n");
    snprintf(link, sizeof(link), "%s/link.inc", sub);
    unlink(link);
    assert_int_equal(symlink("../api.token", link), 0);

    struct err e = {{0}};
    assert_int_equal(zload("zones/ok.zone", NULL, &e), 0);
    static const char *const bad[] = {"zones/up.zone", "zones/abs.zone", "zones/via_link.zone",
                                      "zones/other.zone"};
    for (size_t i = 0; i < 4; i++) {
        memset(&e, 0, sizeof(e));
        int rc = zload(bad[i], NULL, &e);
        if (rc != GSLBD_EINVAL || strstr(e.msg, ":4:10: $INCLUDE ") == NULL ||
            strstr(e.msg, "outside the folders") == NULL)
            fail_msg("%s: %d %s", bad[i], rc, e.msg);
        assert_null(strstr(e.msg, "Zq3vX9pL"));
    }
    /* a configured folder widens it */
    const char *dirs[] = {out};
    struct zone_limits lim = {dirs, 1, 0};
    assert_int_equal(zload("zones/other.zone", &lim, &e), 0);
    assert_int_equal(zload("zones/up.zone", &lim, &e), GSLBD_EINVAL);

    /* an included secret inside the folder: the error says where, never what */
    put("zones/api.token", TOKEN "\n");
    put("zones/leak.zone", SOA "$INCLUDE api.token\n");
    memset(&e, 0, sizeof(e));
    assert_int_equal(zload("zones/leak.zone", NULL, &e), GSLBD_EPARSE);
    assert_non_null(strstr(e.msg, "zones/api.token:1:1: "));
    for (size_t i = 0; i + 8 <= strlen(TOKEN); i++) {
        char piece[9];
        memcpy(piece, TOKEN + i, 8);
        piece[8] = '\0';
        if (strstr(e.msg, piece) != NULL)
            fail_msg("the message quotes the file: %s", e.msg);
    }
}

static void test_regular_files_and_budget(void **state)
{
    (void)state;
    char fifo[160];
    snprintf(fifo, sizeof(fifo), "%s/zones/fifo.inc", dir);
    mkdir(fifo, 0755);
    rmdir(fifo);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    put("zones/fifo.zone", SOA "$INCLUDE fifo.inc\n");
    put("zones/zero.zone", SOA "$INCLUDE /dev/zero\n");
    put("zones/dir.zone", SOA "$INCLUDE .\n");
    put("zones/big.inc", "; padding padding padding padding padding padding padding padding\n"
                         "; padding padding padding padding padding padding padding padding\n");
    put("zones/big.zone", SOA "$INCLUDE big.inc\n");
    const char *dirs[] = {"/dev"};
    struct zone_limits dev = {dirs, 1, 0};
    struct err e = {{0}};
    assert_int_equal(zload("zones/fifo.zone", NULL, &e), GSLBD_EINVAL); /* returns at once */
    assert_non_null(strstr(e.msg, "not a regular file"));
    assert_int_equal(zload("zones/zero.zone", &dev, &e), GSLBD_EINVAL);
    assert_non_null(strstr(e.msg, "not a regular file"));
    assert_int_equal(zload("zones/dir.zone", NULL, &e), GSLBD_EINVAL);

    struct zone_limits small = {NULL, 0, 150};
    memset(&e, 0, sizeof(e));
    assert_int_equal(zload("zones/big.zone", &small, &e), GSLBD_ELIMIT);
    assert_non_null(strstr(e.msg, "big.zone:4:10: $INCLUDE "));
    assert_non_null(strstr(e.msg, "zones/big.inc: the zone's files together exceed 150 bytes "
                                  "(zone_max_bytes)"));
    small.max_bytes = 90; /* the zone file alone (96 bytes) is over */
    assert_int_equal(zload("zones/big.zone", &small, &e), GSLBD_ELIMIT);
    assert_non_null(strstr(e.msg, "big.zone: the zone's files together exceed 90 bytes"));
    small.max_bytes = 4096;
    assert_int_equal(zload("zones/big.zone", &small, &e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_include_confined),
        cmocka_unit_test(test_regular_files_and_budget),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
