/* test_gslb_state.c: the admin state file (server/gslb_state.c, POL-7): load, save, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/conf/conf.h"
#include "server/gslb.h"

static char dir[64];
static struct conf *g_conf;
static struct gslb *g;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gslbd-test-state-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    struct err e = {{0}};
    if (conf_load_file("test/data/gslb_unit/gslb.json", &g_conf, &e) < 0)
        fail_msg("conf: %s", e.msg);
    if (gslb_build(g_conf, &g, &e) < 0)
        fail_msg("gslb: %s", e.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gslb_free(g);
    conf_free(g_conf);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void reset(void)
{
    for (size_t i = 0; i < g->nclusters; i++)
        atomic_store(&g->admin[i], GSLB_ADMIN_AUTO);
}

static enum gslb_admin admin(const char *cluster)
{
    int32_t ci = gslb_find_cluster(g, cluster);
    assert_true(ci >= 0);
    return (enum gslb_admin)atomic_load(&g->admin[ci]);
}

static void set_admin(const char *cluster, enum gslb_admin a)
{
    int32_t ci = gslb_find_cluster(g, cluster);
    assert_true(ci >= 0);
    atomic_store(&g->admin[ci], (uint8_t)a);
}

static const char *put(const char *name, const char *content)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void test_missing_file_is_all_auto(void **state)
{
    (void)state;
    reset();
    struct err e = {{0}};
    char path[256];
    snprintf(path, sizeof(path), "%s/never-written.json", dir);
    assert_int_equal(gslb_state_load(g, path, &e), 0);
    assert_int_equal(gslb_state_load(g, NULL, &e), 0);
    for (size_t i = 0; i < g->nclusters; i++)
        assert_int_equal(atomic_load(&g->admin[i]), GSLB_ADMIN_AUTO);
}

static void test_load_sets_each_state(void **state)
{
    (void)state;
    reset();
    struct err e = {{0}};
    const char *p = put("s.json", "{\"clusters\": {\"east-a\": \"drain\", \"east-b\": \"down\","
                                  " \"west-a\": \"up\", \"eu-a\": \"auto\"}}");
    assert_int_equal(gslb_state_load(g, p, &e), 0);
    assert_int_equal(admin("east-a"), GSLB_ADMIN_DRAIN);
    assert_int_equal(admin("east-b"), GSLB_ADMIN_DOWN);
    assert_int_equal(admin("west-a"), GSLB_ADMIN_UP);
    assert_int_equal(admin("eu-a"), GSLB_ADMIN_AUTO);
    /* no "clusters" key at all is an empty state, not an error */
    p = put("s.json", "{}");
    assert_int_equal(gslb_state_load(g, p, &e), 0);
    assert_int_equal(admin("east-a"), GSLB_ADMIN_DRAIN); /* load only sets what it lists */
}

static void test_unknown_cluster_is_ignored(void **state)
{
    (void)state;
    reset();
    struct err e = {{0}};
    const char *p = put("s.json", "{\"clusters\": {\"removed\": \"down\", \"eu-a\": \"down\"}}");
    assert_int_equal(gslb_state_load(g, p, &e), 0);
    assert_int_equal(admin("eu-a"), GSLB_ADMIN_DOWN);
    assert_int_equal(admin("east-a"), GSLB_ADMIN_AUTO);
}

/* A file that cannot be used sets no state, never fails the load, says why (naming the
 * file, quoting none of it) and marks the gslb so that a reload keeps the running states. */
static void test_bad_files_keep_states(void **state)
{
    (void)state;
    static const struct {
        const char *content;
        const char *msg;
    } cases[] = {
        {"{\"clusters\": {\"eu-a\": \"down\", \"east-a\": \"sideways\"}}",
         "$.clusters.east-a: state"},
        {"{\"clusters\": {\"eu-a\": \"down\", \"east-a\": 1}}", "$.clusters.east-a: state"},
        {"{\"clusters\": [\"east-a\"]}", "expected {\"clusters\""},
        {"[]", "expected {\"clusters\""},
        {"{\"clusters\": {\"eu-a\": \"down\",", ":1:"},
        {"{\"clusters\": {\"eu-a\": \"down\",\n \"eu-a\": \"up\"}}", ":2:"},
        {"", "empty file"},
        {"{\"clusters\": {\"eu-a\": \"do", "not valid JSON"},
        {"SECRETSECRET", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reset();
        set_admin("west-a", GSLB_ADMIN_DRAIN);
        g->state_unread = false;
        struct err e = {{0}};
        const char *p = put("bad.json", cases[i].content);
        int rc = gslb_state_load(g, p, &e);
        if (rc != 0 || strstr(e.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: rc %d, msg '%s'; want 0 and '%s'", i, rc, e.msg, cases[i].msg);
        assert_non_null(strstr(e.msg, p)); /* the message names the file */
        assert_null(strstr(e.msg, "SECRET"));
        assert_true(g->state_unread);
        assert_int_equal(admin("eu-a"), GSLB_ADMIN_AUTO); /* nothing half-applied */
        assert_int_equal(admin("west-a"), GSLB_ADMIN_DRAIN);
    }
    g->state_unread = false;

    /* a reload then carries the running states over, as if there were no state file */
    struct gslb *g2 = NULL;
    struct err e = {{0}};
    assert_int_equal(gslb_build(g_conf, &g2, &e), 0);
    const char *p = put("bad.json", "");
    assert_int_equal(gslb_state_load(g2, p, &e), 0);
    assert_true(g2->state_unread);
    gslb_copy_states(g2, g, false);
    int32_t ci = gslb_find_cluster(g2, "west-a");
    assert_int_equal(atomic_load(&g2->admin[ci]), GSLB_ADMIN_DRAIN);
    gslb_free(g2);
    reset();
}

/* A link planted at a name the save could use is never written through. */
static void test_save_never_follows_a_link(void **state)
{
    (void)state;
    reset();
    set_admin("east-a", GSLB_ADMIN_DOWN);
    char path[256], victim[256], link[300];
    snprintf(path, sizeof(path), "%s/linked.json", dir);
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    snprintf(link, sizeof(link), "%s.tmp", path);
    FILE *f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    assert_int_equal(symlink(victim, link), 0);
    struct err e = {{0}};
    assert_int_equal(gslb_state_save(g, path, &e), 0);
    char buf[64] = {0};
    f = fopen(victim, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "precious\n");
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* the link itself is left alone */
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0644);
    reset();
    assert_int_equal(gslb_state_load(g, path, &e), 0);
    assert_int_equal(admin("east-a"), GSLB_ADMIN_DOWN);

    /* a FIFO at the state file's name is refused at once, never waited on */
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    g->state_unread = false;
    assert_int_equal(gslb_state_load(g, path, &e), 0);
    assert_true(g->state_unread);
    assert_non_null(strstr(e.msg, "not a regular file"));
    g->state_unread = false;
    unlink(path);
    unlink(link);
}

/* Only non-auto states are written, the file is valid JSON, and load(save(x)) == x. */
static void test_save_then_load_round_trips(void **state)
{
    (void)state;
    reset();
    set_admin("east-b", GSLB_ADMIN_DRAIN);
    set_admin("eu-a", GSLB_ADMIN_DOWN);
    char path[256];
    snprintf(path, sizeof(path), "%s/rt.json", dir);
    struct err e = {{0}};
    assert_int_equal(gslb_state_save(g, path, &e), 0);

    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    assert_non_null(root);
    json_t *cl = json_object_get(root, "clusters");
    assert_true(json_is_object(cl));
    assert_int_equal(json_object_size(cl), 2);
    assert_string_equal(json_string_value(json_object_get(cl, "east-b")), "drain");
    assert_string_equal(json_string_value(json_object_get(cl, "eu-a")), "down");
    json_decref(root);
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed into place, no temp file left */

    reset();
    assert_int_equal(gslb_state_load(g, path, &e), 0);
    for (size_t i = 0; i < g->nclusters; i++) {
        const char *n = g->clusters[i].name;
        enum gslb_admin want = strcmp(n, "east-b") == 0 ? GSLB_ADMIN_DRAIN
                               : strcmp(n, "eu-a") == 0 ? GSLB_ADMIN_DOWN
                                                        : GSLB_ADMIN_AUTO;
        assert_int_equal(admin(n), want);
    }

    /* all auto: an empty object, and loading it changes nothing */
    reset();
    assert_int_equal(gslb_state_save(g, path, &e), 0);
    root = json_load_file(path, 0, &je);
    assert_non_null(root);
    assert_int_equal(json_object_size(json_object_get(root, "clusters")), 0);
    json_decref(root);
}

/* A save that cannot write fails with a message and leaves the old file as it was. */
static void test_save_failure_keeps_old_file(void **state)
{
    (void)state;
    reset();
    set_admin("west-a", GSLB_ADMIN_DOWN);
    struct err e = {{0}};
    char path[256];
    snprintf(path, sizeof(path), "%s/no-such-dir/state.json", dir);
    assert_true(gslb_state_save(g, path, &e) < 0);
    assert_non_null(strstr(e.msg, "cannot"));

    /* the target is a directory: the temp file is written, rename fails, temp removed */
    snprintf(path, sizeof(path), "%s/adir", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    char sub[300];
    snprintf(sub, sizeof(sub), "%s/keep", path);
    FILE *f = fopen(sub, "w"); /* a non-empty directory cannot be replaced by rename */
    assert_non_null(f);
    fclose(f);
    assert_true(gslb_state_save(g, path, &e) < 0);
    assert_non_null(strstr(e.msg, "cannot replace"));
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_file_is_all_auto),
        cmocka_unit_test(test_load_sets_each_state),
        cmocka_unit_test(test_unknown_cluster_is_ignored),
        cmocka_unit_test(test_bad_files_keep_states),
        cmocka_unit_test(test_save_never_follows_a_link),
        cmocka_unit_test(test_save_then_load_round_trips),
        cmocka_unit_test(test_save_failure_keeps_old_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
