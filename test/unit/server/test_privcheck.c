/* test_privcheck.c: server/privcheck.c: the files a reload reads, checked as the current
 * user and as another one in a child process (that part needs root, else it is skipped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/conf/conf.h"
#include "server/privcheck.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gslbd-test-priv-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    return chmod(dir, 0755);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *put(const char *name, mode_t mode)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("x\n", f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return strdup(path);
}

/* A conf with one zone file and a state file, built by hand. */
static struct conf *conf_with(const char *zone, const char *state)
{
    struct conf *c = NULL;
    assert_int_equal(conf_new(&c), 0);
    struct err e = {{0}};
    assert_int_equal(conf_add_zone(c, "a.example", zone, &e), 0);
    c->state_file = state != NULL ? strdup(state) : NULL;
    return c;
}

static void test_files_as_current_user(void **state)
{
    (void)state;
    char *zone = put("z.zone", 0644);
    char missing[256];
    snprintf(missing, sizeof(missing), "%s/state.json", dir);
    struct conf *c = conf_with(zone, missing);
    struct err e = {{0}};
    assert_int_equal(privcheck_conf_files(c, &e), 0); /* no state file yet is fine */
    conf_free(c);

    char nozone[256];
    snprintf(nozone, sizeof(nozone), "%s/none.zone", dir);
    c = conf_with(nozone, NULL);
    assert_true(privcheck_conf_files(c, &e) < 0);
    assert_non_null(strstr(e.msg, nozone));
    assert_non_null(strstr(e.msg, "zone file: cannot open"));
    conf_free(c);
    c = conf_with(zone, NULL); /* a zone's DNSSEC key file that is not there */
    c->zones[0].dnssec.enabled = true;
    c->zones[0].dnssec.key_file = strdup(nozone);
    assert_true(privcheck_conf_files(c, &e) < 0);
    assert_non_null(strstr(e.msg, "DNSSEC key file: cannot open"));
    conf_free(c);
    free(zone);
}

static int check_files(void *arg, struct err *e)
{
    return privcheck_conf_files(arg, e);
}

static void test_as_other_user(void **state)
{
    (void)state;
    struct passwd *pw = getpwnam("nobody");
    if (geteuid() != 0 || pw == NULL)
        skip(); /* needs root and the user nobody */
    char *open_zone = put("open.zone", 0644), *root_zone = put("root.zone", 0600);
    struct conf *c = conf_with(open_zone, NULL);
    struct err e = {{0}};
    assert_int_equal(privcheck_as_user("nobody", check_files, c, &e), 0);
    conf_free(c);
    c = conf_with(root_zone, NULL);
    assert_int_equal(privcheck_conf_files(c, &e), 0); /* root reads it */
    assert_int_equal(privcheck_as_user("nobody", check_files, c, &e), GSLBD_EINVAL);
    assert_non_null(strstr(e.msg, "--user nobody: every reload would fail"));
    assert_non_null(strstr(e.msg, root_zone));
    assert_non_null(strstr(e.msg, "Permission denied"));
    conf_free(c);
    /* a DNSSEC key only root can read: the same refusal, naming the key file */
    char *root_key = put("k.pem", 0600);
    c = conf_with(open_zone, NULL);
    c->zones[0].dnssec.enabled = true;
    c->zones[0].dnssec.key_file = strdup(root_key);
    assert_int_equal(privcheck_conf_files(c, &e), 0);
    assert_int_equal(privcheck_as_user("nobody", check_files, c, &e), GSLBD_EINVAL);
    assert_non_null(strstr(e.msg, root_key));
    assert_non_null(strstr(e.msg, "DNSSEC key file: cannot open"));
    conf_free(c);
    free(root_key);
    assert_int_equal(privcheck_as_user("no-such-user-here", check_files, NULL, &e), GSLBD_EINVAL);
    free(open_zone);
    free(root_zone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_as_current_user),
        cmocka_unit_test(test_as_other_user),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
