/* conf_dnssec.c: a zone's "dnssec" object: the signing key file and how long signatures
 * are valid (docs/dnssec.md). The key itself is read where the zone is (view.c), so that a
 * reload rereads it and --check refuses a key file others can read. */
#include "conf.h"

#include <string.h>

#include "conf_int.h"

static const struct conf_item dnssec_items[] = {
    {"key_file", IT_PATH, true, .offset = offsetof(struct conf_dnssec, key_file)},
    {"validity_days", IT_UINT, CONF_FIELD(struct conf_dnssec, validity_days), .min = 2, .max = 365,
     .def = 14},
};
const struct conf_section conf__dnssec_section = CONF_SECTION(dnssec_items);

void conf__dnssec_finish(struct conf_loader *ld, json_t *zone, struct conf_dnssec *d)
{
    if (json_object_get(zone, "dnssec") == NULL)
        return;
    d->enabled = true;
    size_t mark = ld->path.len;
    struct conf_pos pos = {0, 0};
    if (conf__path_key(ld, "dnssec") == 0 && conf__path_key(ld, "key_file") == 0 &&
        conf_pos_find(ld->text, ld->len, ld->path.buf, CONF_POS_VALUE, &pos) == 0) {
        d->line = pos.line;
        d->col = pos.col;
    }
    conf__path_cut(ld, mark);
}
