/* test_hc_state.c: unit tests for health/hc_state.c: fall, rise, flapping, timeouts, start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "health/hc_int.h"

struct fake_clock {
    uint64_t mono;
    int64_t wall;
};

static uint64_t fake_mono(void *ctx)
{
    return ((struct fake_clock *)ctx)->mono;
}

static int64_t fake_wall(void *ctx)
{
    return ((struct fake_clock *)ctx)->wall;
}

struct fixture {
    struct fake_clock fc;
    struct hc_clock clk;
    struct hc_state st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->fc.mono = 1000000;
    f->fc.wall = 1700000000000;
    f->clk.mono_ms = fake_mono;
    f->clk.wall_ms = fake_wall;
    f->clk.ctx = &f->fc;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* One probe interval passes, then a result arrives. */
static bool feed(struct fixture *f, bool ok, const char *reason)
{
    f->fc.mono += 1000;
    f->fc.wall += 1000;
    struct hc_result r = {ok, false, 7, ok ? NULL : reason};
    return hc_state_record(&f->st, &r, &f->clk);
}

static bool feed_timeout(struct fixture *f)
{
    f->fc.mono += 1000;
    f->fc.wall += 1000;
    struct hc_result r = {false, true, 800, "timeout"};
    return hc_state_record(&f->st, &r, &f->clk);
}

static struct hc_status status(struct fixture *f)
{
    struct hc_status s;
    memset(&s, 0xa5, sizeof(s));
    hc_state_status(&f->st, &f->clk, &s);
    return s;
}

static void test_initial_state(void **state)
{
    struct fixture *f = *state;
    hc_state_init(&f->st, 0, 0);
    assert_int_equal(f->st.fall, 3); /* HC-2 defaults */
    assert_int_equal(f->st.rise, 3);
    struct hc_status s = status(f);
    assert_true(s.up); /* HC-5: no result yet counts as up */
    assert_true(s.pending);
    assert_false(s.flapping);
    assert_int_equal(s.probes, 0);
    assert_int_equal(s.failures, 0);
    assert_int_equal(s.transitions, 0);
    assert_int_equal(s.streak, 0);
    assert_string_equal(s.last_reason, "");
    assert_int_equal(s.last_change_wall_ms, 0);
    assert_int_equal(s.last_result_mono_ms, 0);
}

static void test_first_ok_stays_up_quietly(void **state)
{
    struct fixture *f = *state;
    hc_state_init(&f->st, 3, 3);
    assert_false(feed(f, true, NULL)); /* up already: no transition to report */
    struct hc_status s = status(f);
    assert_true(s.up);
    assert_false(s.pending);
    assert_true(s.last_ok);
    assert_int_equal(s.transitions, 0);
    assert_int_equal(s.probes, 1);
    assert_int_equal(s.last_latency_ms, 7);
    assert_int_equal(s.last_result_mono_ms, f->fc.mono);
}

static void test_first_failure_decides(void **state)
{
    struct fixture *f = *state;
    hc_state_init(&f->st, 3, 3);
    /* the first round gates DNS (HC-5), so a dead target must not wait for fall */
    assert_true(feed(f, false, "connection refused"));
    struct hc_status s = status(f);
    assert_false(s.up);
    assert_false(s.pending);
    assert_int_equal(s.transitions, 1);
    assert_string_equal(s.last_reason, "connection refused");
    assert_int_equal(s.last_change_wall_ms, f->fc.wall);
    assert_int_equal(s.last_change_mono_ms, f->fc.mono);
    /* from down, rise applies */
    assert_false(feed(f, true, NULL));
    assert_false(feed(f, true, NULL));
    assert_true(feed(f, true, NULL));
    assert_true(status(f).up);
}

static void test_fall(void **state)
{
    struct fixture *f = *state;
    hc_state_init(&f->st, 3, 2);
    assert_false(feed(f, true, NULL));
    assert_false(feed(f, false, "HTTP 503"));
    assert_false(feed(f, false, "HTTP 503"));
    assert_true(status(f).up); /* 2 of 3 */
    assert_int_equal(status(f).streak, 2);
    int64_t before = f->fc.wall;
    assert_true(feed(f, false, "body: expected text missing"));
    struct hc_status s = status(f);
    assert_false(s.up);
    assert_int_equal(s.transitions, 1);
    assert_int_equal(s.failures, 3);
    assert_int_equal(s.probes, 4);
    assert_string_equal(s.last_reason, "body: expected text missing");
    assert_true(s.last_change_wall_ms > before);
    /* more failures: no more transitions */
    for (int i = 0; i < 10; i++)
        assert_false(feed(f, false, "HTTP 503"));
    assert_int_equal(status(f).transitions, 1);
    assert_string_equal(status(f).last_reason, "HTTP 503");
}

static void test_rise(void **state)
{
    struct fixture *f = *state;
    hc_state_init(&f->st, 1, 4);
    assert_false(feed(f, true, NULL));
    assert_true(feed(f, false, "timeout")); /* fall 1 */
    for (int i = 0; i < 3; i++) {
        assert_false(feed(f, true, NULL));
        assert_false(status(f).up);
    }
    uint64_t t = f->fc.mono;
    assert_true(feed(f, true, NULL));
    struct hc_status s = status(f);
    assert_true(s.up);
    assert_int_equal(s.transitions, 2);
    assert_true(s.last_change_mono_ms > t);
    /* the last failure reason stays visible after recovery (HC-3) */
    assert_string_equal(s.last_reason, "timeout");
    assert_true(s.last_ok);
}

static void test_broken_streaks_do_not_count(void **state)
{
    struct fixture *f = *state;
    hc_state_init(&f->st, 3, 3);
    assert_false(feed(f, true, NULL));
    static const bool seq[] = {false, false, true, false, false, true, false, false, true};
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
        assert_false(feed(f, seq[i], "HTTP 500"));
    assert_true(status(f).up);
    assert_int_equal(status(f).transitions, 0);
    assert_int_equal(status(f).failures, 6);
}

static void test_timeouts_are_failures(void **state)
{
    struct fixture *f = *state;
    hc_state_init(&f->st, 2, 2);
    assert_false(feed(f, true, NULL));
    assert_false(feed_timeout(f));
    assert_true(feed_timeout(f));
    struct hc_status s = status(f);
    assert_false(s.up);
    assert_int_equal(s.timeouts, 2);
    assert_int_equal(s.failures, 2);
    assert_int_equal(s.last_latency_ms, 800);
    assert_string_equal(s.last_reason, "timeout");
    /* a timeout and a refusal make one streak of failures */
    assert_false(feed(f, true, NULL));
    assert_false(feed_timeout(f));
    assert_false(status(f).up);
    assert_false(feed(f, true, NULL));
    assert_true(feed(f, true, NULL));
    assert_false(feed_timeout(f));
    assert_true(feed(f, false, "connection refused"));
    assert_false(status(f).up);
    /* a timeout with no reason text still reads "timeout" */
    struct hc_result r = {false, true, 1, NULL};
    hc_state_record(&f->st, &r, &f->clk);
    assert_string_equal(status(f).last_reason, "timeout");
}

static void test_alternating_input_never_flaps(void **state)
{
    struct fixture *f = *state;
    hc_state_init(&f->st, 2, 2);
    assert_false(feed(f, true, NULL));
    for (int i = 0; i < 1000; i++)
        assert_false(feed(f, i % 2 == 0, "HTTP 502"));
    assert_true(status(f).up);
    assert_int_equal(status(f).transitions, 0);
    assert_false(status(f).flapping);

    /* and from down */
    hc_state_init(&f->st, 2, 2);
    assert_true(feed(f, false, "HTTP 502"));
    for (int i = 0; i < 1000; i++)
        assert_false(feed(f, i % 2 == 0, "HTTP 502"));
    assert_false(status(f).up);
    assert_int_equal(status(f).transitions, 1);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

/* Random input against the rule itself: every transition needs fall (or rise) agreeing
 * results in a row, and the published state follows an independent model. */
static void test_random_input_respects_thresholds(void **state)
{
    struct fixture *f = *state;
    uint32_t seed = 12345;
    for (int round = 0; round < 200; round++) {
        uint8_t fall = (uint8_t)(1 + lcg(&seed) % 5), rise = (uint8_t)(1 + lcg(&seed) % 5);
        unsigned p_ok = 20 + lcg(&seed) % 60; /* percent */
        hc_state_init(&f->st, fall, rise);
        bool model_up = true, have = false, last = false;
        unsigned run = 0, transitions = 0, results = 0;
        for (int i = 0; i < 300; i++) {
            bool ok = lcg(&seed) % 100 < p_ok;
            run = (have && ok == last) ? run + 1 : 1;
            bool want = model_up;
            if (!have)
                want = ok;
            else if (model_up && !ok && run >= fall)
                want = false;
            else if (!model_up && ok && run >= rise)
                want = true;
            bool changed = feed(f, ok, "x");
            results++;
            assert_int_equal(changed, want != model_up);
            if (changed && have) {
                /* the run that caused it was long enough */
                assert_true(run >= (ok ? rise : fall));
            }
            if (changed)
                transitions++;
            model_up = want;
            have = true;
            last = ok;
            assert_int_equal(status(f).up, model_up);
        }
        assert_int_equal(status(f).transitions, transitions);
        assert_int_equal(status(f).probes, results);
        /* after the first result, each transition costs at least min(fall, rise) results */
        unsigned min = fall < rise ? fall : rise;
        assert_true(transitions <= 1 + (results - 1) / min);
    }
}

static void test_flapping_flag(void **state)
{
    struct fixture *f = *state;
    hc_state_init(&f->st, 1, 1);
    assert_false(feed(f, true, NULL));
    assert_true(feed(f, false, "HTTP 500"));
    assert_true(feed(f, true, NULL));
    assert_true(feed(f, false, "HTTP 500"));
    assert_false(status(f).flapping); /* 3 transitions */
    assert_true(feed(f, true, NULL));
    assert_true(status(f).flapping); /* 4 within the window */
    assert_true(status(f).up);       /* flapping is reported, never decided on */
    f->fc.mono += HC_FLAP_WINDOW_MS;
    assert_false(status(f).flapping); /* quiet for a window */
    /* 4 transitions spread wider than the window are not flapping */
    hc_state_init(&f->st, 1, 1);
    assert_false(feed(f, true, NULL));
    for (int i = 0; i < 4; i++) {
        f->fc.mono += HC_FLAP_WINDOW_MS / 3;
        assert_true(feed(f, i % 2 == 1, "HTTP 500"));
    }
    assert_false(status(f).flapping);
}

static void test_real_clock_moves(void **state)
{
    (void)state;
    const struct hc_clock *c = hc_clock_real();
    assert_true(c->wall_ms(c->ctx) > 1600000000000); /* after 2020 */
    uint64_t a = c->mono_ms(c->ctx);
    assert_true(c->mono_ms(c->ctx) >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_initial_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_ok_stays_up_quietly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_failure_decides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_streaks_do_not_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts_are_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alternating_input_never_flaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_input_respects_thresholds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flapping_flag, setup, teardown),
        cmocka_unit_test(test_real_clock_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
