/* fuzz_api_body.c: libFuzzer target for the API's request-body parser (POST cluster state).
 *
 * Calls api_admin_parse_state() directly, no sockets. Input: one byte of flags, then
 *     bit 0 clear:  BODY                     (no ?state= argument)
 *     bit 0 set:    QUERY NUL BODY           (?state=QUERY; without a NUL, all QUERY)
 * BODY is cut to API_BODY_MAX bytes and NUL-terminated in a buffer of API_BODY_MAX + 1
 * bytes, as api.c stores it (bigger bodies get 413 before the parser sees them).
 *
 * Checks: never a crash or leak; the same input gives the same verdict and reason; a
 * failure gives a reason; a success names one of the four states, and that state is
 * what ?state= said when it was given, and with no body the argument decides alone. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api/api_int.h"
#include "server/gslb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TAG "fuzz_api_body"

static void broken(const char *what)
{
    fprintf(stderr, TAG ": %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char body[API_BODY_MAX + 1];
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    data++;
    size--;
    char *query = NULL;
    if (flags & 1) {
        const uint8_t *nul = memchr(data, 0, size);
        size_t qlen = nul != NULL ? (size_t)(nul - data) : size;
        query = malloc(qlen + 1); /* exactly its size: the sanitizers see reads past it */
        if (query == NULL)
            abort();
        memcpy(query, data, qlen);
        query[qlen] = '\0';
        data += nul != NULL ? qlen + 1 : qlen;
        size -= nul != NULL ? qlen + 1 : qlen;
    }
    size_t len = size < API_BODY_MAX ? size : API_BODY_MAX;
    memcpy(body, data, len);
    body[len] = '\0';

    enum gslb_admin w1 = (enum gslb_admin)99, w2 = (enum gslb_admin)98;
    const char *why1 = NULL, *why2 = NULL;
    int r1 = api_admin_parse_state(query, body, len, &w1, &why1);
    int r2 = api_admin_parse_state(query, body, len, &w2, &why2);
    if (r1 != r2 || (r1 == 0 && w1 != w2) ||
        (r1 != 0 && (why1 == NULL || why2 == NULL || strcmp(why1, why2) != 0)))
        broken("two calls on the same request differ");
    if (r1 > 0)
        broken("a positive return");
    if (r1 < 0) {
        if (why1 == NULL || why1[0] == '\0')
            broken("a failure without a reason");
    } else {
        if ((unsigned)w1 > 3)
            broken("a success with no valid state");
        enum gslb_admin named;
        if (query != NULL && (gslb_admin_parse(query, &named) < 0 || named != w1))
            broken("a success that is not what ?state= asked for");
        if (query == NULL && len == 0)
            broken("a success with neither ?state= nor a body");
    }
    /* With no body, ?state= alone decides: exactly when it names a state. */
    if (len == 0 && query != NULL) {
        enum gslb_admin named;
        bool valid = gslb_admin_parse(query, &named) == 0;
        if (valid != (r1 == 0))
            broken("?state= alone not decided by its own value");
    }
    free(query);
    return 0;
}
