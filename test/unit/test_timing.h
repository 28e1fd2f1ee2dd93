/* test_timing.h: the one timing factor of the C unit tests (GSLBD_TEST_SLOWDOWN). */
#ifndef GSLBD_TEST_TIMING_H
#define GSLBD_TEST_TIMING_H

#include <stdint.h>
#include <stdlib.h>

#include <valgrind/valgrind.h>

/* How much slower than a quiet dev build (-O2) this run may be: GSLBD_TEST_SLOWDOWN (a float,
 * at least 1; `make test` sets it for the sanitizer variants), else 10 under valgrind, else 1.
 * Scale slack and patience with it, never the lower bound of what the code guarantees. */
static inline double test_slowdown(void)
{
    const char *s = getenv("GSLBD_TEST_SLOWDOWN");
    double f = 0;
    if (s != NULL && *s != '\0') {
        char *end;
        f = strtod(s, &end);
        if (*end != '\0')
            f = 0;
    }
    if (f <= 0)
        f = RUNNING_ON_VALGRIND ? 10 : 1;
    return f < 1 ? 1 : f;
}

/* A slack or a patience of ms milliseconds, scaled by test_slowdown(). */
static inline uint64_t test_scaled_ms(uint64_t ms)
{
    return (uint64_t)((double)ms * test_slowdown() + 0.5);
}

#endif
