/* log.h: leveled logging to stderr for the daemon.
 * One global level owned by main(); modules call log_msg() and never exit. */
#ifndef GSLBD_LOG_H
#define GSLBD_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);

/* Copy n bytes of src into dst (cap bytes, not terminated) with every control character,
 * DEL and byte above 0x7e written as \xNN, so that text from outside (names, paths,
 * headers) can neither start a log line of its own nor reach a terminal raw; stops before
 * an escape that does not fit. The bytes written. log_msg applies it to every message. */
size_t log_escape(char *dst, size_t cap, const char *src, size_t n);

/* printf-style; thread-safe (one write(2) per line). */
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Why gslbd cannot start or a command fails: "gslbd: message" on a terminal, "<3>message"
 * in the journal; never filtered by the level. */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Is stderr the journal (JOURNAL_STREAM matches it)? Decided on first use. */
bool log_to_journal(void);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
