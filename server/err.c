/* err.c: formatting of load-time diagnostics and the project's error strings. */
#include "server/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, int code, const char *file, int line, int col, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    int n = 0;
    if (file != NULL && line > 0)
        n = snprintf(e->msg, sizeof(e->msg), "%s:%d:%d: ", file, line, col > 0 ? col : 1);
    else if (file != NULL)
        n = snprintf(e->msg, sizeof(e->msg), "%s: ", file);
    if (n < 0 || (size_t)n >= sizeof(e->msg))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg + n, sizeof(e->msg) - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

const char *gslbd_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case GSLBD_EPARSE:
        return "syntax error";
    case GSLBD_EINVAL:
        return "invalid input";
    case GSLBD_ELIMIT:
        return "limit exceeded";
    default:
        return code < 0 && code > -GSLBD_EBASE ? strerror(-code) : "unknown error";
    }
}

int err_oom(struct err *e, const char *file)
{
    return err_set(e, -ENOMEM, file, 0, 0, "out of memory");
}
