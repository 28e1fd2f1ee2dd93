/* test_conf_file_util.h: what the config unit tests share: temp config files, loading them. */
#ifndef GSLBD_TEST_CONF_FILE_UTIL_H
#define GSLBD_TEST_CONF_FILE_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/conf/conf.h"

static inline struct conf *load_ok(const char *path)
{
    struct conf *c = NULL;
    struct err e = {{0}};
    int r = conf_load_file(path, &c, &e);
    if (r != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(r, 0);
    assert_non_null(c);
    return c;
}

/* Write content to a fresh file under /tmp; path receives its name. */
static inline void write_tmp(const char *content, char *path, size_t n)
{
    snprintf(path, n, "/tmp/gslbd-test-conf-XXXXXX.json");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
}

#endif
