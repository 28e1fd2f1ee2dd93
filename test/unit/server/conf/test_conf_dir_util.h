/* test_conf_dir_util.h: what the conf unit tests of files beside the config (the API
 * token, the cookie secret) share: a fresh folder under /tmp, files written into it with
 * a mode, and loading HEAD + a line as its gslbd.json. One TU each: dir is per program. */
#ifndef GSLBD_TEST_CONF_DIR_UTIL_H
#define GSLBD_TEST_CONF_DIR_UTIL_H

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

/* Stands in for "*out untouched": never dereferenced. */
#define SENTINEL ((struct conf *)(uintptr_t)0x5e5e)

#define HEAD                                                                                       \
    "{\"listen\": [\"127.0.0.1:5300\"], \"zones\": [{\"origin\": \"a\", \"file\": \"a\"}],\n"

static char dir[64];

static inline int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gslbd-test-conf-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static inline int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write name in the test folder with content and mode; path gets its full name. */
static inline void write_file(const char *name, const char *content, mode_t mode, char *path,
                              size_t n)
{
    snprintf(path, n, "%s/%s", dir, name);
    unlink(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* Load HEAD + line + "}" as gslbd.json in the test folder. */
static inline int load(const char *line, struct conf **c, struct err *e, char *path, size_t n)
{
    char text[4096];
    snprintf(text, sizeof(text), HEAD "%s}\n", line);
    write_file("gslbd.json", text, 0644, path, n);
    return conf_load_file(path, c, e);
}

static inline struct conf *load_ok(const char *line)
{
    struct conf *c = NULL;
    struct err e = {{0}};
    char path[256];
    int r = load(line, &c, &e, path, sizeof(path));
    if (r != 0)
        print_error("%s\n", e.msg);
    assert_int_equal(r, 0);
    assert_non_null(c);
    return c;
}

/* The load fails with GSLBD_EINVAL and a message starting "PATH:want". */
static inline void load_bad(const char *line, const char *want)
{
    struct conf *c = SENTINEL;
    struct err e = {{0}};
    char path[256];
    char full[1536];
    int r = load(line, &c, &e, path, sizeof(path));
    snprintf(full, sizeof(full), "%s:%s", path, want);
    if (r != GSLBD_EINVAL || strncmp(e.msg, full, strlen(full)) != 0)
        print_error("got %d \"%s\"\nwant \"%s...\"\n", r, e.msg, full);
    assert_int_equal(r, GSLBD_EINVAL);
    assert_true(strncmp(e.msg, full, strlen(full)) == 0);
    assert_ptr_equal(c, SENTINEL);
}

#endif
