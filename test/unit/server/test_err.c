/* test_err.c: load-time diagnostics and error strings (server/err.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "server/err.h"

static void test_positions(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(err_set(&e, GSLBD_EINVAL, "a.json", 3, 7, "bad %s", "key"), GSLBD_EINVAL);
    assert_string_equal(e.msg, "a.json:3:7: bad key");
    err_set(&e, GSLBD_EINVAL, "a.json", 3, 0, "no column");
    assert_string_equal(e.msg, "a.json:3:1: no column"); /* columns count from 1 */
    err_set(&e, GSLBD_EINVAL, "a.json", 0, 5, "no line");
    assert_string_equal(e.msg, "a.json: no line");
    err_set(&e, -ENOMEM, NULL, 9, 9, "out of memory");
    assert_string_equal(e.msg, "out of memory");
    /* a NULL e is allowed: the code still comes back */
    assert_int_equal(err_set(NULL, GSLBD_EPARSE, "f", 1, 1, "x"), GSLBD_EPARSE);
}

static void test_long_messages_are_cut_and_terminated(void **state)
{
    (void)state;
    char file[2000];
    memset(file, 'f', sizeof(file) - 1);
    file[sizeof(file) - 1] = '\0';
    struct err e;
    memset(&e, 'Z', sizeof(e));
    err_set(&e, GSLBD_EINVAL, file, 1, 1, "tail");
    assert_true(strlen(e.msg) < sizeof(e.msg));
    assert_non_null(strstr(e.msg, "tail")); /* the file name gave way, not the message */
    memset(&e, 'Z', sizeof(e));
    err_set(&e, GSLBD_EINVAL, "f", 1, 1, "%s", file);
    assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
    assert_int_equal(strncmp(e.msg, "f:1:1: fff", 10), 0);
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(gslbd_strerror(0), "success");
    assert_string_equal(gslbd_strerror(GSLBD_EPARSE), "syntax error");
    assert_string_equal(gslbd_strerror(GSLBD_EINVAL), "invalid input");
    assert_string_equal(gslbd_strerror(GSLBD_ELIMIT), "limit exceeded");
    assert_string_equal(gslbd_strerror(-ENOENT), strerror(ENOENT));
    assert_string_equal(gslbd_strerror(-EACCES), strerror(EACCES));
    assert_string_equal(gslbd_strerror(5), "unknown error");
    assert_string_equal(gslbd_strerror(-(GSLBD_EBASE + 99)), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_long_messages_are_cut_and_terminated),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
