/* log.c: leveled logging to stderr, one write per line so threads do not interleave.
 * When stderr is the journal (JOURNAL_STREAM names it), each line is "<N>message": the
 * syslog priority, no timestamp or program name (journald adds those). */
#include "server/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum log_level g_level = LOG_INFO;
static int g_journal = -1; /* -1 not decided yet, 0 no, 1 stderr is the journal */

void log_set_level(enum log_level lvl)
{
    g_level = lvl;
}

enum log_level log_get_level(void)
{
    return g_level;
}

/* JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected; it counts only when
 * stderr is still that stream (not redirected by a wrapper). */
static bool journal_check(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

bool log_to_journal(void)
{
    if (g_journal < 0)
        g_journal = journal_check() ? 1 : 0; /* a benign race: every thread computes the same */
    return g_journal == 1;
}

size_t log_escape(char *dst, size_t cap, const char *src, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch >= 0x20 && ch < 0x7f) {
            if (o + 1 > cap)
                break;
            dst[o++] = (char)ch;
        } else {
            if (o + 4 > cap)
                break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[ch >> 4];
            dst[o++] = hex[ch & 15];
        }
    }
    return o;
}

static void emit(enum log_level lvl, bool fatal, const char *fmt, va_list ap)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    static const char prio[] = {'3', '4', '6', '7'}; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
    char line[2048];
    int n;
    if (log_to_journal()) {
        n = snprintf(line, sizeof(line), "<%c>", prio[lvl]);
    } else if (fatal) {
        n = snprintf(line, sizeof(line), "gslbd: ");
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ gslbd %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[lvl]);
    }
    /* the message may carry names, paths and headers from outside: one line, no controls */
    char msg[sizeof(line)];
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t mlen = m < 0 ? 0 : (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
    size_t len = (size_t)n + log_escape(line + n, sizeof(line) - (size_t)n - 2, msg, mlen);
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl > g_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(lvl, false, fmt, ap);
    va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(LOG_ERR, true, fmt, ap);
    va_end(ap);
}
