/* resp_dnssec.h: an independent check of a signed zone's response (resp_dnssec.c), beside
 * resp_check: the signatures a DO query must get, verified with ldns. Shares no code with
 * the server. */
#ifndef GSLBD_RESP_DNSSEC_H
#define GSLBD_RESP_DNSSEC_H

#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>

#define RESP_EDNSSEC (-15) /* a signature missing, inconsistent or not verifying */

/* Check response r to query q from the zone whose DNSKEY RRset is keys (its owner is the
 * zone apex): without DO, no RRSIG or NSEC may appear (unless asked for); with DO, every
 * RRset of the answer and authority sections (a delegation's NS, and a CNAME synthesized
 * from a DNAME, excepted; names outside the zone skipped) has an RRSIG by the zone whose
 * header fits it (type covered, labels, original TTL not below the TTL, signer the apex)
 * and which ldns verifies with keys at the current time. A truncated response is not
 * checked. 0 or RESP_EDNSSEC with why (cap bytes) saying which RRset. */
int resp_check_dnssec(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen,
                      const ldns_rr_list *keys, char *why, size_t cap);

/* The DNSKEY records of a zone file (path) into *keys (owned); 0 or -1. */
int resp_dnssec_load_keys(const char *path, ldns_rr_list **keys);

#endif
