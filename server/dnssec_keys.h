/* dnssec_keys.h: the keys a signed zone uses now (dnssec_keys.c): one combined key file, a
 * KSK and ZSK pair of files, or a key folder where gslbd makes the keys and rolls them on
 * their timers (ZSK by pre-publication, KSK by double signature with CDS/CDNSKEY and a
 * check of the parent's DS), with their state kept in a file beside them. Runs off the
 * query path (load, reload, the maintenance job); may generate keys and write files. */
#ifndef GSLBD_DNSSEC_KEYS_H
#define GSLBD_DNSSEC_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "server/conf/conf.h"
#include "server/dnssec.h"
#include "server/err.h"

#define DNSSEC_MAX_KEYS 8

enum dnssec_role { DNSSEC_ROLE_CSK, DNSSEC_ROLE_KSK, DNSSEC_ROLE_ZSK };

/* One key and its timeline (Unix seconds; 0: not set). A key is in the DNSKEY RRset from
 * publish until remove, signs (zone data for a ZSK or CSK, the DNSKEY, CDS and CDNSKEY
 * RRsets for a KSK or CSK) from active until retire. A KSK may be named by CDS from ready
 * on; ds_seen is when the parent's DS for it was seen. */
struct dnssec_keyent {
    struct dnssec_key key;
    enum dnssec_role role;
    char file[320]; /* the key file's name in key_dir, or "" for a configured file */
    int64_t created, publish, active, retire, remove, ready, ds_seen;
};

struct dnssec_keyset {
    struct dnssec_keyent k[DNSSEC_MAX_KEYS];
    size_t n;
    bool managed;       /* from key_dir: gslbd rolls them */
    int64_t next_event; /* when the key state changes next; 0: never */
    int64_t ds_checked; /* when the parents were last asked for our DS; 0 never */
    char ds_status[96]; /* what that check found, for status */
};

/* The timing a managed key folder needs from the zone: the DNSKEY RRset's TTL and the
 * longest TTL of anything signed (for how long old signatures live in caches). */
struct dnssec_zone_ttls {
    uint32_t dnskey_ttl, max_ttl;
};

/* The keys of the zone origin (text, as configured) per d at now: reads the key files;
 * for key_dir, also advances the rollover state (may make keys, ask the parents for the
 * DS, delete removed keys, and save the state) unless readonly. shared (cluster mode, else
 * NULL): the folder is shared with the other instances through etcd (dnssec_share.c).
 * Errors name the file. */
int dnssec_keys_get(const struct conf_dnssec *d, const char *origin,
                    const struct dnssec_zone_ttls *t, int64_t now, bool readonly,
                    const struct conf_shared *shared, struct dnssec_keyset *out, struct err *e);
void dnssec_keys_free(struct dnssec_keyset *ks);
/* What signatures made with ks at now reflect (which keys are published, sign, are named by
 * CDS): equal fingerprints need no new signatures. */
uint64_t dnssec_keys_fingerprint(const struct dnssec_keyset *ks, int64_t now);

bool dnssec_keyent_published(const struct dnssec_keyent *k, int64_t now);
/* Signs zone data (a ZSK or a CSK), signs the key RRsets (a KSK or a CSK). */
bool dnssec_keyent_signs_zone(const struct dnssec_keyent *k, int64_t now);
bool dnssec_keyent_signs_keys(const struct dnssec_keyent *k, int64_t now);
/* The key CDS and CDNSKEY name: the newest ready KSK (or CSK) not retiring; NULL if none. */
const struct dnssec_keyent *dnssec_keys_cds(const struct dnssec_keyset *ks, int64_t now);
/* "published", "active", "retired" (still published), "removed" (gone). */
const char *dnssec_keyent_state(const struct dnssec_keyent *k, int64_t now);
const char *dnssec_role_name(enum dnssec_role r);

/* gslbd --ds-seen KEY_DIR ZONE TAG: record that the parent publishes the DS of the KSK TAG
 * (for key folders without "parents" to ask). Returns the process exit code. */
int dnssec_ds_seen_main(int argc, char **argv);

#endif
