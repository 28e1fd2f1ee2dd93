/* test_notify.c: server/notify.c: datagrams to $NOTIFY_SOCKET (a path and an abstract name),
 * RELOADING=1 with MONOTONIC_USEC, the reload-status file, and --reload-wait's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server/notify.h"

static char g_dir[] = "/tmp/gslbd-test-notify-XXXXXX";

/* A datagram socket bound at name ('@' = abstract); returns its fd. */
static int listen_at(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    assert_int_equal(
        bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
        0);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void recv_text(int fd, char *buf, size_t len)
{
    ssize_t n = recv(fd, buf, len - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
}

static void test_no_socket(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(notify_send("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_not_equal(notify_send("READY=1"), 0);
}

static void test_path_and_abstract(void **state)
{
    (void)state;
    char path[200], buf[512];
    snprintf(path, sizeof(path), "%s/notify", g_dir);
    int fd = listen_at(path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(notify_send("READY=1\nSTATUS=x"), 0);
    recv_text(fd, buf, sizeof(buf));
    assert_string_equal(buf, "READY=1\nSTATUS=x");

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    notify_reloading();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    recv_text(fd, buf, sizeof(buf));
    long long usec = 0;
    assert_int_equal(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%lld\n", &usec), 1);
    assert_true(usec >= (long long)t0.tv_sec * 1000000 + t0.tv_nsec / 1000 - 1000);
    assert_true(usec <= (long long)t1.tv_sec * 1000000 + t1.tv_nsec / 1000);
    notify_stopping();
    recv_text(fd, buf, sizeof(buf));
    assert_non_null(strstr(buf, "STOPPING=1"));
    close(fd);
    unlink(path);

    char abs[64];
    snprintf(abs, sizeof(abs), "@gslbd-test-notify-%d", (int)getpid());
    fd = listen_at(abs);
    setenv("NOTIFY_SOCKET", abs, 1);
    assert_int_equal(notify_send("READY=1"), 0);
    recv_text(fd, buf, sizeof(buf));
    assert_string_equal(buf, "READY=1");
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}

/* A rejected reload: the status file holds the next sequence, the code and one line. */
static void test_status_file(void **state)
{
    (void)state;
    setenv("RUNTIME_DIRECTORY", g_dir, 1);
    notify_reload_done(-22, "conf.json:3:4: bad", NULL);
    char path[200], line[512] = "";
    snprintf(path, sizeof(path), "%s/reload-status", g_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line,
                        "1 -22 reload rejected, serving the previous data: conf.json:3:4: bad\n");
    assert_int_equal(notify_last_success_ms(), 0);
    unlink(path);
}

static void test_reload_wait_refuses(void **state)
{
    (void)state;
    setenv("RUNTIME_DIRECTORY", g_dir, 1);
    assert_int_equal(notify_reload_wait("x1"), 1);
    assert_int_equal(notify_reload_wait("1"), 1);         /* init, never signalled */
    assert_int_equal(notify_reload_wait("999999999"), 1); /* no status file yet */
    unsetenv("RUNTIME_DIRECTORY");
    assert_int_equal(notify_reload_wait("12345"), 1);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(g_dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(g_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_socket),
        cmocka_unit_test(test_path_and_abstract),
        cmocka_unit_test(test_status_file),
        cmocka_unit_test(test_reload_wait_refuses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
