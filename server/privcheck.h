/* privcheck.h: before gslbd gives up root for --user, check as that user that what every
 * reload reads can be read: the config and its private files, the zone files, the state
 * file (docs/hardening.md "Files"). A start that would be followed by failing reloads is
 * refused instead. */
#ifndef GSLBD_PRIVCHECK_H
#define GSLBD_PRIVCHECK_H

#include "server/conf/conf.h"
#include "server/err.h"

/* Run check(arg) in a child process that has become user (its uid, gid and groups), and
 * return its result, its message in e. Call it single-threaded, as root. */
int privcheck_as_user(const char *user, int (*check)(void *arg, struct err *e), void *arg,
                      struct err *e);

/* As the current user: each zone file, each zone's DNSSEC key file and the state file
 * (when it exists) can be opened for reading; the state file's folder, if it cannot be
 * written, is only warned about. */
int privcheck_conf_files(const struct conf *c, struct err *e);

#endif
