/* test_admin_log.c: the ring of recent admin state changes (server/admin_log.c): order,
 * the cap of 50, the JSON, and the changes a reload finds in the state file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "server/admin_log.h"
#include "server/conf/conf.h"
#include "server/gslb.h"

static void test_newest_first_with_every_field(void **state)
{
    (void)state;
    static struct admin_log l;
    memset(&l, 0, sizeof(l));
    admin_log_add(&l, "east-a", "api 127.0.0.1:4000", "api", GSLB_ADMIN_AUTO, GSLB_ADMIN_DRAIN);
    admin_log_add(&l, "east-b", NULL, "state file", GSLB_ADMIN_DOWN, GSLB_ADMIN_AUTO);
    json_t *j = admin_log_json(&l);
    assert_int_equal(json_array_size(j), 2);
    json_t *c = json_array_get(j, 0);
    assert_string_equal(json_string_value(json_object_get(c, "cluster")), "east-b");
    assert_string_equal(json_string_value(json_object_get(c, "from")), "down");
    assert_string_equal(json_string_value(json_object_get(c, "to")), "auto");
    assert_string_equal(json_string_value(json_object_get(c, "by")), "unknown");
    assert_string_equal(json_string_value(json_object_get(c, "via")), "state file");
    const char *t = json_string_value(json_object_get(c, "time"));
    assert_non_null(t);
    assert_int_equal(strlen(t), 24); /* 2026-12-04T14:00:00.123Z */
    assert_int_equal(t[23], 'Z');
    c = json_array_get(j, 1);
    assert_string_equal(json_string_value(json_object_get(c, "cluster")), "east-a");
    assert_string_equal(json_string_value(json_object_get(c, "by")), "api 127.0.0.1:4000");
    assert_string_equal(json_string_value(json_object_get(c, "to")), "drain");
    json_decref(j);
}

static void test_keeps_the_last_50(void **state)
{
    (void)state;
    static struct admin_log l;
    memset(&l, 0, sizeof(l));
    for (int i = 0; i < 123; i++) {
        char name[16];
        snprintf(name, sizeof(name), "c%d", i);
        admin_log_add(&l, name, "t", "api", GSLB_ADMIN_AUTO, GSLB_ADMIN_DOWN);
    }
    json_t *j = admin_log_json(&l);
    assert_int_equal(json_array_size(j), ADMIN_LOG_MAX);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "cluster")),
                        "c122");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(j, ADMIN_LOG_MAX - 1), "cluster")), "c73");
    json_decref(j);
}

static void test_diff_records_what_the_state_file_changed(void **state)
{
    (void)state;
    struct err e = {{0}};
    struct conf *cf = NULL;
    struct gslb *old = NULL, *new = NULL;
    if (conf_load_file("test/data/gslb_unit/gslb.json", &cf, &e) < 0)
        fail_msg("conf: %s", e.msg);
    assert_int_equal(gslb_build(cf, &old, &e), 0);
    assert_int_equal(gslb_build(cf, &new, &e), 0);
    atomic_store(&old->admin[gslb_find_cluster(old, "east-a")], GSLB_ADMIN_DOWN);
    atomic_store(&new->admin[gslb_find_cluster(new, "west-a")], GSLB_ADMIN_DRAIN);
    static struct admin_log l;
    memset(&l, 0, sizeof(l));
    assert_int_equal(admin_log_diff(&l, old, new, "gslbd --admin by ops (uid 1000)"), 2);
    json_t *j = admin_log_json(&l);
    assert_int_equal(json_array_size(j), 2);
    json_t *a = json_array_get(j, 1), *b = json_array_get(j, 0); /* configured order */
    assert_string_equal(json_string_value(json_object_get(a, "cluster")), "east-a");
    assert_string_equal(json_string_value(json_object_get(a, "from")), "down");
    assert_string_equal(json_string_value(json_object_get(a, "to")), "auto");
    assert_string_equal(json_string_value(json_object_get(b, "cluster")), "west-a");
    assert_string_equal(json_string_value(json_object_get(b, "to")), "drain");
    assert_string_equal(json_string_value(json_object_get(b, "via")), "state file");
    assert_string_equal(json_string_value(json_object_get(b, "by")),
                        "gslbd --admin by ops (uid 1000)");
    json_decref(j);
    /* nothing changed: nothing recorded */
    assert_int_equal(admin_log_diff(&l, new, new, NULL), 0);
    assert_int_equal(admin_log_diff(&l, NULL, new, NULL), 0);
    gslb_free(old);
    gslb_free(new);
    conf_free(cf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newest_first_with_every_field),
        cmocka_unit_test(test_keeps_the_last_50),
        cmocka_unit_test(test_diff_records_what_the_state_file_changed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
