/* err.h: the project's error codes and the error message buffer load-time code fills.
 * Fallible functions return 0 or a negative code: -errno, or one of GSLBD_E*. */
#ifndef GSLBD_ERR_H
#define GSLBD_ERR_H

#include <stddef.h>

enum {
    GSLBD_EBASE = 10000,
    GSLBD_EPARSE = -(GSLBD_EBASE + 1), /* syntax error in an input file */
    GSLBD_EINVAL = -(GSLBD_EBASE + 2), /* semantically invalid input */
    GSLBD_ELIMIT = -(GSLBD_EBASE + 3), /* a size limit was exceeded */
};

/* Load-time diagnostics: "file:line:col: message" (line/col 0 when unknown). */
struct err {
    char msg[1024];
};

/* Fill e (if not NULL) and return code. */
int err_set(struct err *e, int code, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Fill e (if not NULL) with "out of memory" (at file, when not NULL) and return -ENOMEM:
 * the one way load-time code reports an allocation that failed. */
int err_oom(struct err *e, const char *file);

const char *gslbd_strerror(int code);

#endif
