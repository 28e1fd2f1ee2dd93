/* test_log_journal.c: server/log.c when JOURNAL_STREAM names stderr: "<N>message" lines with
 * the syslog priority and no timestamp or program name, log_fatal() included. A binary of
 * its own: log.c decides once per process whether stderr is the journal. */
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

#include "server/log.h"

static void test_priorities(void **state)
{
    (void)state;
    char path[] = "/tmp/gslbd-test-journal-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char js[64];
    snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    int saved = dup(STDERR_FILENO);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    log_set_level(LOG_DEBUG);
    log_err("disk %s", "gone");
    log_warn("w %d", 1);
    log_info("i");
    log_debug("d");
    log_fatal("cannot start: %s", "why");
    log_set_level(LOG_WARN);
    log_info("filtered");
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_true(log_to_journal());
    char buf[512] = "";
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, "<3>disk gone\n<4>w 1\n<6>i\n<7>d\n<3>cannot start: why\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priorities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
