/* test_conf.c: unit tests for server/conf/conf.c: defaults, addresses, command-line entries. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "server/conf/conf.h"

static uint16_t port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t n)
{
    if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, (socklen_t)n);
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)n);
}

static void test_defaults(void **state)
{
    (void)state;
    struct conf *c = NULL;
    assert_int_equal(conf_new(&c), 0);
    assert_null(c->path);
    assert_int_equal(c->nlisten, 0);
    assert_int_equal(c->nzones, 0);
    assert_int_equal(c->workers, 0);
    assert_int_equal(c->edns_max_udp, 1232);
    assert_int_equal(c->nsid_len, 0);
    assert_int_equal(c->udp_rcvbuf, 4194304);
    assert_int_equal(c->udp_sndbuf, 4194304);
    assert_int_equal(c->tcp.idle_timeout_ms, 10000);
    assert_int_equal(c->tcp.io_timeout_ms, 5000);
    assert_int_equal(c->tcp.max_connections, 4096);
    assert_int_equal(c->tcp.max_per_source, 64);
    assert_int_equal(c->tcp.max_pending_out, 262144);
    assert_int_equal(c->log_level, 2);
    /* No GSLB model until a config file gives one. */
    assert_int_equal(c->nregions, 0);
    assert_int_equal(c->nchecks, 0);
    assert_int_equal(c->nclusters, 0);
    assert_int_equal(c->nservices, 0);
    assert_null(c->geo.database);
    assert_int_equal(c->geo.ndefault_order, 0);
    assert_int_equal(c->geo.nnets, 0);
    assert_int_equal(c->geo.npins, 0);
    assert_null(c->state_file);
    assert_int_equal(c->startup_wait_ms, 2000);
    conf_free(c);
    conf_free(NULL);
    assert_int_equal(conf_new(NULL), -EINVAL);
}

static void expect_addr(const char *text, int family, const char *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char got[64];
    int r = conf_parse_addr(text, 53, &ss, &len);
    if (r != 0)
        print_error("conf_parse_addr(\"%s\") = %d\n", text, r);
    assert_int_equal(r, 0);
    assert_int_equal(ss.ss_family, family);
    assert_int_equal(len,
                     family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    addr_text(&ss, got, sizeof(got));
    assert_string_equal(got, addr);
    assert_int_equal(port_of(&ss), port);
}

static void test_parse_addr(void **state)
{
    (void)state;
    expect_addr("1.2.3.4:53", AF_INET, "1.2.3.4", 53);
    expect_addr("1.2.3.4", AF_INET, "1.2.3.4", 53);
    expect_addr("127.0.0.1:5300", AF_INET, "127.0.0.1", 5300);
    expect_addr("0.0.0.0", AF_INET, "0.0.0.0", 53);
    expect_addr("10.0.0.1:65535", AF_INET, "10.0.0.1", 65535);
    expect_addr("[::1]:5300", AF_INET6, "::1", 5300);
    expect_addr("[::1]", AF_INET6, "::1", 53);
    expect_addr("::1", AF_INET6, "::1", 53);
    expect_addr("::", AF_INET6, "::", 53);
    expect_addr("2001:db8::53", AF_INET6, "2001:db8::53", 53);
    expect_addr("[2001:db8::53]:1", AF_INET6, "2001:db8::53", 1);
    expect_addr("::ffff:192.0.2.1", AF_INET6, "::ffff:192.0.2.1", 53);

    /* The default port applies only when none is written. */
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(conf_parse_addr("1.2.3.4", 5353, &ss, &len), 0);
    assert_int_equal(port_of(&ss), 5353);
    assert_int_equal(conf_parse_addr("1.2.3.4", 0, &ss, &len), -EINVAL);

    static const char *const bad[] = {
        "",
        "garbage",
        "localhost:53",
        "1.2.3.4:",
        "1.2.3.4:0",
        "1.2.3.4:65536",
        "1.2.3.4:99999999999",
        "1.2.3.4:-1",
        "1.2.3.4:+53",
        "1.2.3.4:53x",
        "1.2.3.4 :53",
        "1.2.3",
        "1.2.3.256",
        "01.2.3.4x",
        "[::1]:0",
        "[::1]:",
        "[::1]x",
        "[::1",
        "[]:53",
        "[1.2.3.4]:53",
        "::1:53:",
        ":::53",
        "2001:db8::zz",
        "[::1]:53:53",
        "1.2.3.4:53:53",
        "fe80::1%eth0",
        "aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ss.ss_family = AF_UNSPEC;
        int r = conf_parse_addr(bad[i], 53, &ss, &len);
        if (r != -EINVAL)
            print_error("conf_parse_addr(\"%s\") = %d\n", bad[i], r);
        assert_int_equal(r, -EINVAL);
        assert_int_equal(ss.ss_family, AF_UNSPEC); /* untouched */
    }
    assert_int_equal(conf_parse_addr(NULL, 53, &ss, &len), -EINVAL);
}

static void test_command_line(void **state)
{
    (void)state;
    struct conf *c = NULL;
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    assert_int_equal(conf_add_listen(c, "127.0.0.1:5300", &e), 0);
    assert_int_equal(conf_add_listen(c, "::1", &e), 0);
    assert_int_equal(conf_add_listen(c, "[::1]:5300", &e), 0);
    assert_int_equal(conf_add_listen(c, "127.0.0.1:0", &e), GSLBD_EINVAL);
    assert_string_equal(e.msg, "invalid listen address \"127.0.0.1:0\": expected IPV4, IPV4:PORT, "
                               "IPV6 or [IPV6]:PORT with PORT from 1 to 65535");
    assert_int_equal(conf_add_listen(c, "[::1]:53", &e), GSLBD_EINVAL);
    assert_string_equal(e.msg, "duplicate listen address \"[::1]:53\"");
    assert_int_equal(conf_add_listen(c, "1.2.3.4", NULL), 0);
    assert_int_equal(c->nlisten, 4);
    assert_int_equal(port_of(&c->listen[1].addr), 53);

    /* Many entries: the arrays grow past their first capacities intact. */
    for (int i = 1; i <= 40; i++) {
        char a[32];
        snprintf(a, sizeof(a), "10.0.0.%d:%d", i, 1000 + i);
        assert_int_equal(conf_add_listen(c, a, &e), 0);
    }
    assert_int_equal(c->nlisten, 44);
    assert_string_equal(c->listen[43].text, "10.0.0.40:1040");

    assert_int_equal(conf_add_zone(c, "insure.example", "zones/insure.example.zone", &e), 0);
    assert_int_equal(conf_add_zone(c, "Insure.Example.", "other.zone", &e), GSLBD_EINVAL);
    assert_string_equal(e.msg, "duplicate zone origin \"Insure.Example.\"");
    assert_int_equal(conf_add_zone(c, "a b", "x.zone", &e), GSLBD_EINVAL);
    assert_int_equal(conf_add_zone(c, "", "x.zone", &e), GSLBD_EINVAL);
    assert_int_equal(conf_add_zone(c, "example.net", "", &e), GSLBD_EINVAL);
    /* An escaped final dot is part of the last label, not the root. */
    assert_int_equal(conf_add_zone(c, "insure.example\\.", "x.zone", &e), 0);
    assert_int_equal(conf_add_zone(c, ".", "root.zone", &e), 0);
    for (int i = 0; i < 20; i++) {
        char o[32];
        snprintf(o, sizeof(o), "z%d.example", i);
        assert_int_equal(conf_add_zone(c, o, "z.zone", &e), 0);
    }
    assert_int_equal(c->nzones, 23);
    /* Command-line files are relative to the cwd: kept as given. */
    assert_string_equal(c->zones[0].file, "zones/insure.example.zone");
    assert_string_equal(c->zones[0].origin, "insure.example");
    assert_string_equal(c->zones[22].origin, "z19.example");
    assert_null(c->path);
    conf_free(c);
}

static void test_limits(void **state)
{
    (void)state;
    struct conf *c = NULL;
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    for (int i = 0; i < 64; i++) {
        char a[32];
        snprintf(a, sizeof(a), "127.0.0.1:%d", 2000 + i);
        assert_int_equal(conf_add_listen(c, a, &e), 0);
    }
    assert_int_equal(conf_add_listen(c, "127.0.0.2", &e), GSLBD_ELIMIT);
    assert_string_equal(e.msg, "more than 64 listen addresses");
    assert_int_equal(c->nlisten, 64);
    char origin[1100];
    memset(origin, 'a', sizeof(origin));
    origin[1024] = '\0';
    assert_int_equal(conf_add_zone(c, origin, "z", &e), 0);
    origin[1024] = 'a';
    origin[1025] = '\0';
    assert_int_equal(conf_add_zone(c, origin, "z", &e), GSLBD_EINVAL);
    assert_int_equal(conf_add_listen(NULL, "::1", &e), -EINVAL);
    assert_int_equal(conf_add_zone(c, NULL, "z", &e), -EINVAL);
    conf_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_parse_addr),
        cmocka_unit_test(test_command_line),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
