/* resp_dnssec.h: an independent check of a signed zone's response (resp_dnssec.c), beside
 * resp_check: the signatures a DO query must get, verified with ldns. Shares no code with
 * the server. */
#ifndef GSLBD_RESP_DNSSEC_H
#define GSLBD_RESP_DNSSEC_H

#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>

#define RESP_EDNSSEC (-15) /* a signature missing, inconsistent or not verifying */

/* Check response r to query q, an answer from a signed zone. With DO, in the answer and
 * authority sections, whether truncated or not: every RRSIG covers an RRset of its section
 * at its owner (unless RRSIGs were asked for) and fits it: labels the owner's (gslbd signs
 * wildcard answers at the name asked), TTL the RRset's, original TTL not below it, signer
 * the apex of the zone that holds the owner, expiration after inception; and every RRset
 * that zone must sign has an RRSIG (a delegation's NS, and a CNAME synthesized from a
 * DNAME, excepted; names outside the zone skipped). keys: the zone's DNSKEY RRset (its
 * owner is the apex), or NULL. With keys, each RRset's RRSIG must verify with them (ldns,
 * current time), and an answer to a query without DO may hold no RRSIG or NSEC (unless
 * asked for). Without keys, the zones are the signers the response's RRSIGs name: a
 * response without any RRSIG passes. 0 or RESP_EDNSSEC with why (cap bytes) saying which
 * RRset and what. */
int resp_check_dnssec(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen,
                      const ldns_rr_list *keys, char *why, size_t cap);

/* The DNSKEY records of a zone file (path) into *keys (owned); 0 or -1. */
int resp_dnssec_load_keys(const char *path, ldns_rr_list **keys);

#endif
