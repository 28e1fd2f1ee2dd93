/* dnssec_share.h: a managed key folder shared through etcd in cluster mode
 * (dnssec_share.c). Blocking; off the query path. */
#ifndef GSLBD_DNSSEC_SHARE_H
#define GSLBD_DNSSEC_SHARE_H

#include <stdbool.h>
#include <stdint.h>

#include "server/conf/conf.h"
#include "server/err.h"

/* Bring the zone's shared keys (stem: the zone as the folder names it) into dir: the keys
 * missing written, the ones not shared any more deleted, state_path replaced. *rev: the
 * shared document's revision, 0 when nothing is shared yet (the folder is left as is). */
int dnssec_share_pull(const struct conf_shared *sh, const char *stem, const char *dir,
                      const char *state_path, int64_t *rev, struct err *e);
/* Share dir's state and keys, if the document is still at rev; *won says whether it was. */
int dnssec_share_push(const struct conf_shared *sh, const char *stem, const char *dir,
                      const char *state_path, int64_t rev, bool *won, struct err *e);

#endif
