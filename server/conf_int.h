/* conf_int.h: internals shared by conf.c (struct conf building) and conf_load.c (JSON file).
 * Not for use outside the conf_ files. */
#ifndef GSLBD_CONF_INT_H
#define GSLBD_CONF_INT_H

#include "conf.h"

#define CONF_LISTEN_MAX 64
#define CONF_ZONES_MAX 65536
#define CONF_ORIGIN_MAX 1024 /* presentation text, escapes included */

/* Set every default from the key table (conf_load.c). -EINVAL if the table is inconsistent. */
int conf__set_defaults(struct conf *c);

/* Index of a listen entry with the same address and port, or -1. */
long conf__listen_find(const struct conf *c, const struct sockaddr_storage *ss);

/* Append a parsed listen address; text is copied. 0 or -ENOMEM. */
int conf__listen_push(struct conf *c, const char *text, const struct sockaddr_storage *ss,
                      socklen_t len);

/* NULL if origin is acceptable, else why not (a message without the origin itself). */
const char *conf__origin_problem(const char *origin);

/* Index of a zone with the same origin (case-insensitive, final dot optional), or -1. */
long conf__zone_find(const struct conf *c, const char *origin);

/* Append a zone; origin and file are copied. 0 or -ENOMEM. */
int conf__zone_push(struct conf *c, const char *origin, const char *file);

#endif
