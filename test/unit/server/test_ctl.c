/* test_ctl.c: `gslbd ctl` (server/ctl.c) without a daemon: the command line, the config
 * and token files, an unreachable API, and the writer's name for the state file. The
 * commands against a running gslbd are tested in test/integration/t_ctl.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/ctl.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gslbd-test-ctl-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write dir/name with text; returns the path (static buffer, one at a time). */
static const char *file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, 0600);
    return path;
}

static int run(const char *a0, ...)
{
    char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a != NULL && argc < 15; a = va_arg(ap, const char *))
        argv[argc++] = (char *)(uintptr_t)a;
    va_end(ap);
    argv[argc] = NULL;
    return ctl_main(argc, argv);
}

/* A loopback port where nothing listens (bound, then closed). */
static int dead_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void test_command_line(void **state)
{
    (void)state;
    const char *c = file("c.json", "{}");
    assert_int_equal(run("ctl", "-c", c, NULL), CTL_EXIT_USAGE);
    assert_int_equal(run("ctl", "-c", c, "frobnicate", NULL), CTL_EXIT_USAGE);
    assert_int_equal(run("ctl", "-c", c, "drain", NULL), CTL_EXIT_USAGE);
    assert_int_equal(run("ctl", "-c", c, "status", "extra", NULL), CTL_EXIT_USAGE);
    assert_int_equal(run("ctl", "-c", c, "explain", "a.example", "A", NULL), CTL_EXIT_USAGE);
    assert_int_equal(run("ctl", "-c", c, "status", "--assume-down", "x", NULL), CTL_EXIT_USAGE);
    assert_int_equal(run("ctl", "--bogus", "status", NULL), CTL_EXIT_USAGE);
    assert_int_equal(run("ctl", "--help", NULL), CTL_EXIT_OK);
}

static void test_config_errors(void **state)
{
    (void)state;
    char missing[300];
    snprintf(missing, sizeof(missing), "%s/none.json", dir);
    assert_int_equal(run("ctl", "-c", missing, "status", NULL), CTL_EXIT_CONFIG);
    assert_int_equal(run("ctl", "-c", file("b.json", "{\"api\": [1,}"), "status", NULL),
                     CTL_EXIT_CONFIG);
    assert_int_equal(
        run("ctl", "-c", file("d.json", "{\"api\": {\"enabled\": false}}"), "status", NULL),
        CTL_EXIT_CONFIG);
    assert_int_equal(
        run("ctl", "-c", file("l.json", "{\"api\": {\"listen\": \"nowhere\"}}"), "status", NULL),
        CTL_EXIT_CONFIG);
    assert_int_equal(run("ctl", "-c", file("o.json", "{\"api\": 7}"), "status", NULL),
                     CTL_EXIT_CONFIG);
}

static void test_changes_need_a_readable_token(void **state)
{
    (void)state;
    char conf[200];
    snprintf(conf, sizeof(conf), "{\"api\": {\"listen\": \"127.0.0.1:%d\"}}", dead_port());
    /* no token_file: a change is refused before any request */
    assert_int_equal(run("ctl", "-c", file("n.json", conf), "drain", "x", NULL), CTL_EXIT_CONFIG);
    snprintf(conf, sizeof(conf),
             "{\"api\": {\"listen\": \"127.0.0.1:%d\", \"token_file\": \"nothere.token\"}}",
             dead_port());
    assert_int_equal(run("ctl", "-c", file("t.json", conf), "reload", NULL), CTL_EXIT_CONFIG);
    file("empty.token", "  \n");
    snprintf(conf, sizeof(conf),
             "{\"api\": {\"listen\": \"127.0.0.1:%d\", \"token_file\": \"empty.token\"}}",
             dead_port());
    assert_int_equal(run("ctl", "-c", file("e.json", conf), "up", "x", NULL), CTL_EXIT_CONFIG);
}

static void test_unreachable_api(void **state)
{
    (void)state;
    char conf[200];
    file("ok.token", "secret\n");
    snprintf(conf, sizeof(conf),
             "{\"api\": {\"listen\": \"127.0.0.1:%d\", \"token_file\": \"ok.token\"}}",
             dead_port());
    const char *c = file("u.json", conf);
    assert_int_equal(run("ctl", "-c", c, "status", NULL), CTL_EXIT_UNREACHABLE);
    assert_int_equal(run("ctl", "-c", c, "drain", "x", NULL), CTL_EXIT_UNREACHABLE);
    assert_int_equal(run("ctl", "-c", c, "explain", "a.example", "A", "127.0.0.1", NULL),
                     CTL_EXIT_UNREACHABLE);
    /* a wildcard listen address is reached on loopback: still nothing there */
    snprintf(conf, sizeof(conf), "{\"api\": {\"listen\": \"0.0.0.0:%d\"}}", dead_port());
    assert_int_equal(run("ctl", "-c", file("w.json", conf), "status", NULL), CTL_EXIT_UNREACHABLE);
}

static void test_whoami(void **state)
{
    (void)state;
    char buf[128];
    unsetenv("SUDO_USER");
    ctl_whoami(buf, sizeof(buf));
    char want[64];
    snprintf(want, sizeof(want), "(uid %u)", (unsigned)getuid());
    assert_int_equal(strncmp(buf, "gslbd --admin by ", 17), 0);
    assert_non_null(strstr(buf, want));
    setenv("SUDO_USER", "alice", 1);
    ctl_whoami(buf, sizeof(buf));
    assert_non_null(strstr(buf, ", sudo from alice)"));
    unsetenv("SUDO_USER");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_line),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_changes_need_a_readable_token),
        cmocka_unit_test(test_unreachable_api),
        cmocka_unit_test(test_whoami),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
