/* test_log.c: leveled logging (server/log.c): the line format, the level filter, long lines,
 * one write per line. stderr is redirected into a pipe for each test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/log.h"

static int g_pipe[2], g_saved = -1;

static int capture(void **state)
{
    (void)state;
    if (pipe(g_pipe) != 0)
        return -1;
    fcntl(g_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(g_pipe[1], F_SETPIPE_SZ, 1 << 20);
    g_saved = dup(STDERR_FILENO);
    return dup2(g_pipe[1], STDERR_FILENO) < 0 ? -1 : 0;
}

static int release(void **state)
{
    (void)state;
    dup2(g_saved, STDERR_FILENO);
    close(g_saved);
    close(g_pipe[0]);
    close(g_pipe[1]);
    log_set_level(LOG_INFO);
    return 0;
}

/* Everything written since the last call. */
static size_t drain(char *buf, size_t cap)
{
    ssize_t n = read(g_pipe[0], buf, cap - 1);
    size_t len = n > 0 ? (size_t)n : 0;
    buf[len] = '\0';
    return len;
}

static void test_format(void **state)
{
    (void)state;
    char buf[8192];
    drain(buf, sizeof(buf));
    log_set_level(LOG_INFO);
    log_warn("disk %s at %d%%", "full", 99);
    drain(buf, sizeof(buf));
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                             "gslbd warning: disk full at 99%\n$",
                             REG_EXTENDED),
                     0);
    if (regexec(&re, buf, 0, NULL, 0) != 0)
        fail_msg("line: '%s'", buf);
    regfree(&re);
}

static void test_level_filter(void **state)
{
    (void)state;
    char buf[8192];
    static const char *const names[] = {"error", "warning", "info", "debug"};
    for (int lvl = LOG_ERR; lvl <= LOG_DEBUG; lvl++) {
        log_set_level((enum log_level)lvl);
        assert_int_equal(log_get_level(), lvl);
        drain(buf, sizeof(buf));
        log_err("e");
        log_warn("w");
        log_info("i");
        log_debug("d");
        drain(buf, sizeof(buf));
        int lines = 0;
        for (const char *p = buf; (p = strchr(p, '\n')) != NULL; p++)
            lines++;
        assert_int_equal(lines, lvl + 1); /* this level and the more severe ones */
        for (int k = LOG_ERR; k <= LOG_DEBUG; k++) {
            char want[32];
            snprintf(want, sizeof(want), "gslbd %s: ", names[k]);
            assert_true((strstr(buf, want) != NULL) == (k <= lvl));
        }
    }
}

/* A line longer than the buffer is cut, and still ends with one newline. */
static void test_long_line(void **state)
{
    (void)state;
    char big[5000], buf[8192];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_set_level(LOG_INFO);
    drain(buf, sizeof(buf));
    log_info("%s", big);
    size_t n = drain(buf, sizeof(buf));
    assert_int_equal(n, 2047);
    assert_int_equal(buf[n - 1], '\n');
    assert_null(memchr(buf, '\n', n - 1));
}

/* Text from outside cannot start a line of its own: controls, DEL and high bytes are \xNN. */
static void test_escape(void **state)
{
    (void)state;
    char buf[8192];
    log_set_level(LOG_INFO);
    drain(buf, sizeof(buf));
    log_info("cluster '%s'", "x\n2026-01-01T00:00:00.000Z gslbd error: FAKE\r\t\x7f\xc3\xa9\\");
    size_t n = drain(buf, sizeof(buf));
    assert_int_equal(buf[n - 1], '\n');
    assert_null(memchr(buf, '\n', n - 1));
    assert_non_null(strstr(buf, "cluster 'x\\x0a2026-01-01T00:00:00.000Z gslbd error: "
                                "FAKE\\x0d\\x09\\x7f\\xc3\\xa9\\'\n"));
    for (size_t i = 0; i + 1 < n; i++)
        assert_true(buf[i] >= 0x20 && buf[i] < 0x7f);

    char out[8];
    assert_int_equal(log_escape(out, 7, "ab\ncd", 5), 7); /* a, b, \x0a, c; no room for d */
    assert_memory_equal(out, "ab\\x0ac", 7);
    assert_int_equal(log_escape(out, 4, "a\nb", 3), 1); /* the escape does not fit */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, capture, release);
}
