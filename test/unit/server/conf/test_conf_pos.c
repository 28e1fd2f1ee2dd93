/* test_conf_pos.c: unit tests for server/conf/conf_pos.c, the JSON path position finder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/conf/conf_pos.h"

static void expect_pos(const char *text, const char *path, enum conf_pos_what what, int line,
                       int col)
{
    struct conf_pos pos = {0, 0};
    int r = conf_pos_find(text, strlen(text), path, what, &pos);
    if (r != 0 || pos.line != line || pos.col != col)
        print_error("%s: got %d %d:%d, want %d:%d\n", path, r, pos.line, pos.col, line, col);
    assert_int_equal(r, 0);
    assert_int_equal(pos.line, line);
    assert_int_equal(pos.col, col);
}

static void expect_fail(const char *text, const char *path, enum conf_pos_what what, int code)
{
    struct conf_pos pos = {-7, -7};
    assert_int_equal(conf_pos_find(text, strlen(text), path, what, &pos), code);
    assert_int_equal(pos.line, -7); /* untouched */
}

static const char nested[] = "{\n"
                             "  \"a\": {\"x\": \"}]{[\\\"\", \"y\": [1, [2, 3], {\"z\": true}]},\n"
                             "  \"zones\": [\n"
                             "    {\"origin\": \"a.\", \"file\": \"a\"},\n"
                             "    {\"file\": \"b\",\n"
                             "     \"origin\": \"b.\"}\n"
                             "  ],\n"
                             "  \"n\": -1.5e+3, \"t\": null\n"
                             "}\n";

static void test_find_values(void **state)
{
    (void)state;
    expect_pos(nested, "$", CONF_POS_VALUE, 1, 1);
    expect_pos(nested, "$.a", CONF_POS_VALUE, 2, 8);
    expect_pos(nested, "$.a.x", CONF_POS_VALUE, 2, 14);
    expect_pos(nested, "$.a.y", CONF_POS_VALUE, 2, 29);
    expect_pos(nested, "$.a.y[0]", CONF_POS_VALUE, 2, 30);
    expect_pos(nested, "$.a.y[1]", CONF_POS_VALUE, 2, 33);
    expect_pos(nested, "$.a.y[1][1]", CONF_POS_VALUE, 2, 37);
    expect_pos(nested, "$.a.y[2].z", CONF_POS_VALUE, 2, 47);
    expect_pos(nested, "$.zones", CONF_POS_VALUE, 3, 12);
    expect_pos(nested, "$.zones[0]", CONF_POS_VALUE, 4, 5);
    expect_pos(nested, "$.zones[0].file", CONF_POS_VALUE, 4, 30);
    expect_pos(nested, "$.zones[1].origin", CONF_POS_VALUE, 6, 16);
    expect_pos(nested, "$.n", CONF_POS_VALUE, 8, 8);
    expect_pos(nested, "$.t", CONF_POS_VALUE, 8, 22);
}

static void test_find_keys(void **state)
{
    (void)state;
    expect_pos(nested, "$.a", CONF_POS_KEY, 2, 3);
    expect_pos(nested, "$.a.y", CONF_POS_KEY, 2, 24);
    expect_pos(nested, "$.a.y[2].z", CONF_POS_KEY, 2, 42);
    expect_pos(nested, "$.zones[1].origin", CONF_POS_KEY, 6, 6);
    expect_pos(nested, "$.t", CONF_POS_KEY, 8, 17);
}

static void test_escaped_keys(void **state)
{
    (void)state;
    /* Keys are compared decoded, whichever way the text or the path spells them. */
    const char *t =
        "{\"a.b\": 1, \"\\u0063\": 2, \"q\\\"\": 3, \"\\ud83d\\ude00\": 4, \"\xc3\xa9\": 5}";
    expect_pos(t, "$[\"a.b\"]", CONF_POS_VALUE, 1, 9);
    expect_pos(t, "$.c", CONF_POS_VALUE, 1, 22);
    expect_pos(t, "$[\"c\"]", CONF_POS_KEY, 1, 12);
    expect_pos(t, "$[\"\\u0063\"]", CONF_POS_KEY, 1, 12);
    expect_pos(t, "$[\"q\\\"\"]", CONF_POS_VALUE, 1, 32);
    expect_pos(t, "$[\"\xf0\x9f\x98\x80\"]", CONF_POS_VALUE, 1, 51);
    expect_pos(t, "$[\"\\ud83d\\ude00\"]", CONF_POS_KEY, 1, 35);
    expect_pos(t, "$.\xc3\xa9", CONF_POS_VALUE, 1, 59);
    expect_pos(t, "$[\"\\u00e9\"]", CONF_POS_KEY, 1, 54);
    expect_fail(t, "$.a", CONF_POS_VALUE, -ENOENT);
    expect_fail(t, "$[\"\\ud83d\"]", CONF_POS_VALUE, -ENOENT); /* lone surrogate */
}

static void test_columns_count_characters(void **state)
{
    (void)state;
    /* "é" is 2 bytes, "€" 3, the emoji 4: one column each, as in jansson. CR is a column. */
    const char *t = "{\"s\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", \"v\": 1,\r\n\t\"w\": 2}";
    expect_pos(t, "$.v", CONF_POS_VALUE, 1, 19);
    expect_pos(t, "$.w", CONF_POS_VALUE, 2, 7);
    expect_pos(t, "$.w", CONF_POS_KEY, 2, 2);
}

static void test_whitespace_and_scalars(void **state)
{
    (void)state;
    expect_pos("  \n [ 1 ,\n\n  [ ] , { } ,\"x\" ]  ", "$[3]", CONF_POS_VALUE, 4, 14);
    expect_pos("  \n [ 1 ,\n\n  [ ] , { } ,\"x\" ]  ", "$[1]", CONF_POS_VALUE, 4, 3);
    expect_pos("  \n [ 1 ,\n\n  [ ] , { } ,\"x\" ]  ", "$", CONF_POS_VALUE, 2, 2);
    expect_pos("[true,false,null,-0.5E-7,\"\"]", "$[4]", CONF_POS_VALUE, 1, 26);
}

static void test_not_found(void **state)
{
    (void)state;
    expect_fail(nested, "$.missing", CONF_POS_VALUE, -ENOENT);
    expect_fail(nested, "$.zones[2]", CONF_POS_VALUE, -ENOENT);
    expect_fail(nested, "$.zones[0].origin.deeper", CONF_POS_VALUE, -ENOENT);
    expect_fail(nested, "$.a.x[0]", CONF_POS_VALUE, -ENOENT);
    expect_fail(nested, "$.zones.x", CONF_POS_VALUE, -ENOENT);
    expect_fail(nested, "$[0]", CONF_POS_VALUE, -ENOENT);
    expect_fail("{}", "$.a", CONF_POS_VALUE, -ENOENT);
    expect_fail("[]", "$[0]", CONF_POS_VALUE, -ENOENT);
}

static void test_bad_paths(void **state)
{
    (void)state;
    expect_fail(nested, "", CONF_POS_VALUE, -EINVAL);
    expect_fail(nested, "a", CONF_POS_VALUE, -EINVAL);
    expect_fail(nested, "$a", CONF_POS_VALUE, -EINVAL);
    expect_fail(nested, "$.", CONF_POS_VALUE, -EINVAL);
    expect_fail(nested, "$..a", CONF_POS_VALUE, -EINVAL);
    expect_fail(nested, "$.zones[", CONF_POS_VALUE, -EINVAL);
    expect_fail(nested, "$.zones[x]", CONF_POS_VALUE, -EINVAL);
    expect_fail(nested, "$.zones[1", CONF_POS_VALUE, -EINVAL);
    expect_fail(nested, "$[\"a\"", CONF_POS_VALUE, -EINVAL);
    expect_fail(nested, "$[\"a", CONF_POS_VALUE, -EINVAL);
    expect_fail(nested, "$.zones[99999999999999999999999]", CONF_POS_VALUE, -EINVAL);
    /* A key position needs a key as the last step. */
    expect_fail(nested, "$", CONF_POS_KEY, -EINVAL);
    expect_fail(nested, "$.zones[0]", CONF_POS_KEY, -EINVAL);
    struct conf_pos pos;
    assert_int_equal(conf_pos_find(NULL, 0, "$", CONF_POS_VALUE, &pos), -EINVAL);
    assert_int_equal(conf_pos_find("", 0, "$", CONF_POS_VALUE, &pos), -EINVAL);
}

static void test_truncated_text(void **state)
{
    (void)state;
    /* Not valid JSON: must fail cleanly, never read past len. */
    static const char *const bad[] = {"{\"a\": [1, 2",    "{\"a\" 1}",  "{\"a\": \"x",
                                      "{\"a\": 1 2}",     "{\"a\": #}", "{\"a\\",
                                      "{1: 2, \"zz\": 3}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct conf_pos pos;
        int r = conf_pos_find(bad[i], strlen(bad[i]), "$.zz", CONF_POS_VALUE, &pos);
        assert_true(r == -EINVAL || r == -ENOENT);
    }
    /* len bounds the scan even where the buffer goes on. */
    struct conf_pos pos;
    const char *t = "{\"a\": 1, \"b\": 2}";
    assert_int_equal(conf_pos_find(t, 8, "$.b", CONF_POS_VALUE, &pos), -EINVAL);
    assert_int_equal(conf_pos_find(t, 8, "$.a", CONF_POS_VALUE, &pos), 0);
}

static void expect_path_at(const char *text, size_t at, const char *want)
{
    char buf[128];
    int r = conf_pos_path_at(text, strlen(text), at, buf, sizeof(buf));
    if (r != 0 || strcmp(buf, want) != 0)
        print_error("at %zu: got %d \"%s\", want \"%s\"\n", at, r, r == 0 ? buf : "", want);
    assert_int_equal(r, 0);
    assert_string_equal(buf, want);
}

static void test_path_at(void **state)
{
    (void)state;
    /* Offsets just past a key, where jansson reports a duplicate. */
    const char *t = "{\"a\": {\"b c\": [1, {\"x\": 2, \"x\": 3}]}, \"d\\\"\": 0, \"d\\\"\": 1}";
    const char *dup = strstr(t, "\"x\": 3");
    expect_path_at(t, (size_t)(dup - t) + 3, "$.a[\"b c\"][1].x");
    const char *d2 = strstr(t, "\"d\\\"\": 1");
    expect_path_at(t, (size_t)(d2 - t) + 5, "$[\"d\\\"\"]");
    expect_path_at(t, 0, "$");
    expect_path_at(t, 1, "$");
    expect_path_at(t, 5, "$.a");
    expect_path_at(t, (size_t)(strstr(t, "1, ") - t) + 1, "$.a[\"b c\"][0]");
    expect_path_at(t, (size_t)(strstr(t, "{\"x\"") - t), "$.a[\"b c\"][1]");

    char small[4];
    assert_int_equal(conf_pos_path_at(t, strlen(t), (size_t)(dup - t) + 3, small, sizeof(small)),
                     -ENAMETOOLONG);
    char buf[64];
    assert_int_equal(conf_pos_path_at("{\"a\": ]", 7, 7, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(conf_pos_path_at("{\"a", 3, 3, buf, sizeof(buf)), -EINVAL);
    char deep[200];
    memset(deep, '[', sizeof(deep));
    assert_int_equal(conf_pos_path_at(deep, sizeof(deep), sizeof(deep), buf, sizeof(buf)),
                     -ENAMETOOLONG);
}

static void test_key_is_plain(void **state)
{
    (void)state;
    assert_true(conf_pos_key_is_plain("listen", 6));
    assert_true(conf_pos_key_is_plain("$comment", 8));
    assert_true(conf_pos_key_is_plain("max_per-source2", 15));
    assert_false(conf_pos_key_is_plain("", 0));
    assert_false(conf_pos_key_is_plain("2x", 2));
    assert_false(conf_pos_key_is_plain("-x", 2));
    assert_false(conf_pos_key_is_plain("a.b", 3));
    assert_false(conf_pos_key_is_plain("a[0]", 4));
    assert_false(conf_pos_key_is_plain("a b", 3));
    assert_false(conf_pos_key_is_plain("\xc3\xa9", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_values),
        cmocka_unit_test(test_find_keys),
        cmocka_unit_test(test_escaped_keys),
        cmocka_unit_test(test_columns_count_characters),
        cmocka_unit_test(test_whitespace_and_scalars),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_truncated_text),
        cmocka_unit_test(test_path_at),
        cmocka_unit_test(test_key_is_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
