/* hc_state.c: the per-target up/down state machine (fall, rise, flapping), on an injected clock. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "health/hc_int.h"

static uint64_t real_mono_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t real_wall_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct hc_clock real_clock = {real_mono_ms, real_wall_ms, NULL};

const struct hc_clock *hc_clock_real(void)
{
    return &real_clock;
}

void hc_state_init(struct hc_state *s, uint8_t fall, uint8_t rise)
{
    memset(s, 0, sizeof(*s));
    s->fall = fall ? fall : 3;
    s->rise = rise ? rise : 3;
    s->up = true; /* HC-5: no result yet counts as up */
}

static void note_transition(struct hc_state *s, const struct hc_clock *clk, uint64_t mono)
{
    s->transitions++;
    s->change_mono_ms = mono;
    s->change_wall_ms = clk->wall_ms(clk->ctx);
    s->flap_ring[s->flap_next] = mono;
    s->flap_next = (s->flap_next + 1) % HC_FLAP_RING;
}

bool hc_state_record(struct hc_state *s, const struct hc_result *r, const struct hc_clock *clk)
{
    uint64_t mono = clk->mono_ms(clk->ctx);
    bool first = !s->has_result;

    s->probes++;
    s->last_latency_ms = r->latency_ms;
    s->result_mono_ms = mono;
    if (!r->ok) {
        s->failures++;
        if (r->timeout)
            s->timeouts++;
        const char *why = r->reason ? r->reason : (r->timeout ? "timeout" : "failed");
        snprintf(s->reason, sizeof(s->reason), "%s", why);
    }
    if (!first && s->last_ok == r->ok) {
        if (s->streak < UINT32_MAX)
            s->streak++;
    } else {
        s->streak = 1;
    }
    s->has_result = true;
    s->last_ok = r->ok;

    bool up = s->up;
    if (first)
        up = r->ok; /* the first round decides: DNS waits for it (HC-5) */
    else if (s->up && !r->ok && s->streak >= s->fall)
        up = false;
    else if (!s->up && r->ok && s->streak >= s->rise)
        up = true;
    if (up == s->up)
        return false;
    s->up = up;
    note_transition(s, clk, mono);
    return true;
}

bool hc_state_flapping(const struct hc_state *s, uint64_t now_mono_ms)
{
    if (s->transitions < HC_FLAP_RING)
        return false;
    /* the oldest of the last HC_FLAP_RING transitions sits at flap_next */
    uint64_t oldest = s->flap_ring[s->flap_next];
    return now_mono_ms - oldest < HC_FLAP_WINDOW_MS;
}

void hc_state_status(const struct hc_state *s, const struct hc_clock *clk, struct hc_status *out)
{
    out->up = s->up;
    out->pending = !s->has_result;
    out->last_ok = s->last_ok;
    out->flapping = hc_state_flapping(s, clk->mono_ms(clk->ctx));
    out->streak = s->streak;
    out->last_latency_ms = s->last_latency_ms;
    memcpy(out->last_reason, s->reason, sizeof(out->last_reason));
    out->probes = s->probes;
    out->failures = s->failures;
    out->timeouts = s->timeouts;
    out->transitions = s->transitions;
    out->skipped = s->skipped;
    out->last_change_wall_ms = s->change_wall_ms;
    out->last_change_mono_ms = s->change_mono_ms;
    out->last_result_mono_ms = s->result_mono_ms;
}
