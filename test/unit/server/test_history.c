/* test_history.c: the history's rings (server/history.c) driven directly: samples and their
 * wrap-around, series matched by name across reloads, admin changes and check states as
 * the sampler reports them, the events ring and the JSON the API serves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/gslb.h"
#include "server/history.h"

#define T0 1700000000000LL /* a Unix ms to start the clock at */

static struct history *fresh(void)
{
    struct history *h = NULL;
    assert_int_equal(history_new(1000, &h), 0);
    assert_non_null(h);
    return h;
}

static void set_clusters(struct history *h, const char *const *names, size_t n)
{
    assert_int_equal(history_set_clusters(h, names, n), 0);
}

/* The JSON's cluster called name, or NULL. */
static json_t *cluster_json(json_t *j, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(j, "clusters"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
            return c;
    }
    return NULL;
}

/* answers[k] of cluster name in j: the value, or -1 for null. */
static long long answer_at(json_t *j, const char *name, size_t k)
{
    json_t *c = cluster_json(j, name);
    assert_non_null(c);
    json_t *v = json_array_get(json_object_get(c, "answers"), k);
    assert_non_null(v);
    return json_is_null(v) ? -1 : json_integer_value(v);
}

static void test_new_defaults_and_free_null(void **state)
{
    (void)state;
    struct history *h = NULL;
    assert_int_equal(history_new(0, &h), 0);
    assert_int_equal(h->interval_ms, HISTORY_INTERVAL_DEFAULT_MS);
    json_t *j = history_json(h);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "capacity")), HISTORY_SAMPLES);
    assert_int_equal(json_array_size(json_object_get(j, "times")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "events")), 0);
    json_decref(j);
    history_free(h);
    history_free(NULL);
}

/* Each sample holds the answers added since the previous one; the total sums the clusters. */
static void test_samples_hold_the_answers_of_their_interval(void **state)
{
    (void)state;
    struct history *h = fresh();
    static const char *const names[] = {"a", "b"};
    set_clusters(h, names, 2);
    history_add_answers(h, 0, 3);
    history_add_answers(h, 1, 1);
    history_add_answers(h, 0, 2);
    history_push(h, T0, NULL);
    history_push(h, T0 + 1000, NULL); /* nothing answered */
    history_add_answers(h, 1, 7);
    history_add_answers(h, 5, 100); /* no such cluster: ignored */
    history_push(h, T0 + 2000, NULL);
    json_t *j = history_json(h);
    assert_int_equal(json_integer_value(json_object_get(j, "interval_ms")), 1000);
    json_t *times = json_object_get(j, "times"), *total = json_object_get(j, "total");
    assert_int_equal(json_array_size(times), 3);
    assert_int_equal(json_integer_value(json_array_get(times, 0)), T0);
    assert_int_equal(json_integer_value(json_array_get(times, 2)), T0 + 2000);
    assert_int_equal(answer_at(j, "a", 0), 5);
    assert_int_equal(answer_at(j, "b", 0), 1);
    assert_int_equal(answer_at(j, "a", 1), 0);
    assert_int_equal(answer_at(j, "b", 2), 7);
    assert_int_equal(json_integer_value(json_array_get(total, 0)), 6);
    assert_int_equal(json_integer_value(json_array_get(total, 1)), 0);
    assert_int_equal(json_integer_value(json_array_get(total, 2)), 7);
    json_decref(j);
    history_free(h);
}

/* A full ring keeps the newest HISTORY_SAMPLES samples, oldest first. */
static void test_ring_wraps(void **state)
{
    (void)state;
    struct history *h = fresh();
    static const char *const names[] = {"a"};
    set_clusters(h, names, 1);
    const size_t n = HISTORY_SAMPLES + 40;
    for (size_t k = 0; k < n; k++) {
        history_add_answers(h, 0, k);
        history_push(h, T0 + (int64_t)k * 1000, NULL);
    }
    json_t *j = history_json(h);
    json_t *times = json_object_get(j, "times");
    assert_int_equal(json_array_size(times), HISTORY_SAMPLES);
    assert_int_equal(json_integer_value(json_array_get(times, 0)), T0 + 40 * 1000);
    assert_int_equal(json_integer_value(json_array_get(times, HISTORY_SAMPLES - 1)),
                     T0 + (int64_t)(n - 1) * 1000);
    assert_int_equal(answer_at(j, "a", 0), 40);
    assert_int_equal(answer_at(j, "a", HISTORY_SAMPLES - 1), (long long)(n - 1));
    json_decref(j);
    history_free(h);
}

/* A reload keeps the rings (and unsampled answers) of names that stay, in the new order;
 * a new name has nulls before it existed; a removed name is gone. */
static void test_series_follow_names_across_reloads(void **state)
{
    (void)state;
    struct history *h = fresh();
    static const char *const v1[] = {"a", "b", "c"};
    set_clusters(h, v1, 3);
    history_add_answers(h, 0, 1);
    history_add_answers(h, 1, 2);
    history_add_answers(h, 2, 3);
    history_push(h, T0, NULL);
    history_add_answers(h, 0, 10); /* counted, not sampled yet, when the reload comes */
    static const char *const v2[] = {"d", "a", "b"};
    set_clusters(h, v2, 3);
    assert_int_equal(h->nclusters, 3);
    history_add_answers(h, 0, 4); /* d */
    history_add_answers(h, 1, 1); /* a */
    history_push(h, T0 + 1000, NULL);
    json_t *j = history_json(h);
    assert_null(cluster_json(j, "c"));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "clusters"), 0), "name")),
                        "d");
    assert_int_equal(answer_at(j, "a", 0), 1);
    assert_int_equal(answer_at(j, "a", 1), 11);
    assert_int_equal(answer_at(j, "b", 0), 2);
    assert_int_equal(answer_at(j, "d", 0), -1); /* d did not exist then */
    assert_int_equal(answer_at(j, "d", 1), 4);
    /* the total counts only clusters that existed at the sample (c is gone) */
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "total"), 0)), 3);
    json_decref(j);
    history_free(h);
}

static json_t *event_at(json_t *j, size_t i)
{
    return json_array_get(json_object_get(j, "events"), i);
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "(none)";
}

/* An admin state that differs from the last look's is an event at the look's time; the
 * first look at a cluster sets its baseline; a reload keeps it by name. */
static void test_admin_changes_are_events(void **state)
{
    (void)state;
    struct history *h = fresh();
    static const char *const names[] = {"a", "b"};
    set_clusters(h, names, 2);
    uint8_t adm[2] = {GSLB_ADMIN_AUTO, GSLB_ADMIN_DRAIN};
    history_admin(h, T0, adm); /* baseline: b drained since before: no event */
    history_admin(h, T0 + 1000, adm);
    adm[0] = GSLB_ADMIN_DOWN;
    history_admin(h, T0 + 2000, adm);
    adm[0] = GSLB_ADMIN_AUTO;
    adm[1] = GSLB_ADMIN_AUTO;
    history_admin(h, T0 + 3000, adm);
    static const char *const names2[] = {"c", "b"}; /* a reload: b keeps its baseline */
    set_clusters(h, names2, 2);
    uint8_t adm2[2] = {GSLB_ADMIN_DRAIN, GSLB_ADMIN_AUTO};
    history_admin(h, T0 + 4000, adm2); /* c is new: a baseline, no event */
    json_t *j = history_json(h);
    assert_int_equal(json_array_size(json_object_get(j, "events")), 3);
    json_t *e0 = event_at(j, 0), *e1 = event_at(j, 1), *e2 = event_at(j, 2);
    assert_string_equal(str(e0, "kind"), "admin");
    assert_string_equal(str(e0, "cluster"), "a");
    assert_string_equal(str(e0, "from"), "auto");
    assert_string_equal(str(e0, "to"), "down");
    assert_int_equal(json_integer_value(json_object_get(e0, "t")), T0 + 2000);
    assert_string_equal(str(e0, "time"), "2023-11-14T22:13:22.000Z");
    assert_string_equal(str(e1, "cluster"), "a");
    assert_string_equal(str(e1, "to"), "auto");
    assert_string_equal(str(e2, "cluster"), "b");
    assert_string_equal(str(e2, "from"), "drain");
    assert_string_equal(str(e2, "to"), "auto");
    json_decref(j);
    history_free(h);
}

static const char *states_of(json_t *j, size_t i)
{
    return str(json_array_get(json_object_get(j, "checks"), i), "states");
}

/* Check states: u/d/p, upper case when the target flipped during the interval, '-' before
 * it existed or while nothing is known; targets follow their names across reloads. */
static void test_check_states(void **state)
{
    (void)state;
    struct history *h = fresh();
    struct history_check_key k1[] = {{"a", "192.0.2.1", "web"}, {"a", "192.0.2.1", "tcp"}};
    assert_int_equal(history_set_checks(h, k1, 2), 0);
    struct history_check_obs o[2] = {{true, true, true, 0}, {false, false, false, 0}};
    history_push(h, T0, o); /* web pending, tcp unknown */
    o[0] = (struct history_check_obs){true, true, false, 0};
    o[1] = (struct history_check_obs){true, true, false, 0};
    history_push(h, T0 + 1000, o); /* up */
    o[0] = (struct history_check_obs){true, false, false, 1};
    history_push(h, T0 + 2000, o); /* web went down */
    history_push(h, T0 + 3000, o); /* still down */
    o[0] = (struct history_check_obs){true, false, false, 3};
    history_push(h, T0 + 4000, o); /* up and down again within the interval */
    o[0] = (struct history_check_obs){true, true, false, 4};
    history_push(h, T0 + 5000, NULL); /* nothing known (no probes) */
    json_t *j = history_json(h);
    assert_string_equal(states_of(j, 0), "puDdD-");
    assert_string_equal(states_of(j, 1), "-uuuu-");
    assert_string_equal(str(json_array_get(json_object_get(j, "checks"), 0), "check"), "web");
    json_decref(j);

    /* a reload drops tcp, keeps web, adds an address */
    struct history_check_key k2[] = {{"a", "192.0.2.2", "web"}, {"a", "192.0.2.1", "web"}};
    assert_int_equal(history_set_checks(h, k2, 2), 0);
    struct history_check_obs o2[2] = {{true, true, false, 0}, {true, true, false, 4}};
    history_push(h, T0 + 6000, o2);
    j = history_json(h);
    assert_int_equal(json_array_size(json_object_get(j, "checks")), 2);
    assert_string_equal(states_of(j, 0), "------u");
    assert_string_equal(states_of(j, 1), "puDdD-U"); /* 3 -> 4 transitions: it flipped */
    json_decref(j);
    history_free(h);
}

/* The events ring keeps the newest HISTORY_EVENTS; the JSON shows those from one interval
 * before the oldest sample on; kinds carry their own fields. */
static void test_events_ring_and_window(void **state)
{
    (void)state;
    struct history *h = fresh();
    for (int i = 0; i < HISTORY_EVENTS + 10; i++) {
        struct history_event ev = {.wall_ms = T0 + i, .kind = HISTORY_EV_HEALTH, .up = i % 2};
        snprintf(ev.cluster, sizeof(ev.cluster), "c%d", i);
        snprintf(ev.address, sizeof(ev.address), "192.0.2.1");
        snprintf(ev.check, sizeof(ev.check), "web");
        snprintf(ev.text, sizeof(ev.text), "HTTP 503");
        history_event(h, &ev);
    }
    json_t *j = history_json(h); /* no samples yet: every event held */
    assert_int_equal(json_array_size(json_object_get(j, "events")), HISTORY_EVENTS);
    json_t *e0 = event_at(j, 0);
    assert_string_equal(str(e0, "cluster"), "c10");
    assert_string_equal(str(e0, "kind"), "health");
    assert_string_equal(str(e0, "check"), "web");
    assert_string_equal(str(e0, "reason"), "HTTP 503");
    assert_true(json_is_boolean(json_object_get(e0, "up")));
    json_decref(j);

    struct history_event bad = {.wall_ms = T0 + 5000, .kind = HISTORY_EV_RELOAD, .up = false};
    snprintf(bad.text, sizeof(bad.text), "x.json:1:2: broken");
    history_event(h, &bad);
    struct history_event good = {.wall_ms = T0 + 5001, .kind = HISTORY_EV_RELOAD, .up = true};
    history_event(h, &good);
    /* the oldest sample at T0 + 4500 (interval 1000): events from T0 + 3500 on */
    history_push(h, T0 + 4500, NULL);
    j = history_json(h);
    assert_int_equal(json_array_size(json_object_get(j, "events")), 2);
    assert_string_equal(str(event_at(j, 0), "result"), "rejected");
    assert_string_equal(str(event_at(j, 0), "error"), "x.json:1:2: broken");
    assert_string_equal(str(event_at(j, 1), "result"), "ok");
    assert_null(json_object_get(event_at(j, 1), "error"));
    json_decref(j);
    history_free(h);
}

/* Names longer than the config allows (63 bytes) are cut, never overrun. */
static void test_names_are_truncated_not_overrun(void **state)
{
    (void)state;
    struct history *h = fresh();
    char longname[200];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    const char *names[] = {longname};
    set_clusters(h, names, 1);
    history_push(h, T0, NULL);
    json_t *j = history_json(h);
    const char *got = str(json_array_get(json_object_get(j, "clusters"), 0), "name");
    assert_int_equal(strlen(got), HISTORY_NAME_MAX - 1);
    json_decref(j);
    /* stored cut, it matches nothing on the next reload: a fresh ring, still one series */
    set_clusters(h, names, 1);
    assert_int_equal(h->nclusters, 1);
    history_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_defaults_and_free_null),
        cmocka_unit_test(test_samples_hold_the_answers_of_their_interval),
        cmocka_unit_test(test_ring_wraps),
        cmocka_unit_test(test_series_follow_names_across_reloads),
        cmocka_unit_test(test_admin_changes_are_events),
        cmocka_unit_test(test_check_states),
        cmocka_unit_test(test_events_ring_and_window),
        cmocka_unit_test(test_names_are_truncated_not_overrun),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
