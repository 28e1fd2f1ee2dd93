/* test_jsonfmt.c: reals in gslbd's JSON output with at most 6 decimals (server/jsonfmt.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "server/jsonfmt.h"

static char *dump(json_t *j)
{
    jsonfmt_round(j);
    return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSONFMT_FLAGS);
}

static void test_reals_print_as_written(void **state)
{
    (void)state;
    json_t *j =
        json_pack("{s:f, s:f, s:f, s:[f, {s:f}], s:i, s:f}", "lat", 50.11, "lon", -77.49, "share",
                  1.0 / 3.0, "deep", 0.1 + 0.2, "x", 2.0 / 3.0, "n", 7, "big", 123456789.1234567);
    char *t = dump(j);
    assert_string_equal(t, "{\"lat\":50.11,\"lon\":-77.49,\"share\":0.333333,\"deep\":[0.3,"
                           "{\"x\":0.666667}],\"n\":7,\"big\":123456789.123457}");
    free(t);
    json_decref(j);
}

static void test_without_rounding_jansson_prints_17_digits(void **state)
{
    (void)state;
    /* what the rounding is for: jansson's default precision shows the binary value */
    json_t *j = json_pack("{s:f}", "lat", 50.11);
    char *t = json_dumps(j, JSON_COMPACT);
    assert_string_equal(t, "{\"lat\":50.109999999999999}");
    free(t);
    json_decref(j);
}

static void test_other_values_and_null_are_untouched(void **state)
{
    (void)state;
    jsonfmt_round(NULL);
    json_t *j = json_pack("{s:s, s:b, s:n, s:I}", "s", "0.1234567", "b", 1, "z", "i",
                          (json_int_t)1234567890123);
    char *t = dump(j);
    assert_string_equal(t, "{\"s\":\"0.1234567\",\"b\":true,\"z\":null,\"i\":1234567890123}");
    free(t);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reals_print_as_written),
        cmocka_unit_test(test_without_rounding_jansson_prints_17_digits),
        cmocka_unit_test(test_other_values_and_null_are_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
