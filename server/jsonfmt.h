/* jsonfmt.h: how gslbd writes JSON for people and tools: reals with at most 6 decimals
 * ("50.11", never "50.109999999999999"), for the API and `gslbd --explain`. */
#ifndef GSLBD_JSONFMT_H
#define GSLBD_JSONFMT_H

#include <jansson.h>

/* Flags to add to json_dump*() after jsonfmt_round(): 15 significant digits print every
 * rounded value below 10^9 exactly as rounded. */
#define JSONFMT_FLAGS JSON_REAL_PRECISION(15)

/* Round every real in j, recursively, to 6 decimals. */
void jsonfmt_round(json_t *j);

#endif
