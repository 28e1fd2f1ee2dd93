/* zone_load.c: reads an RFC 1035 master file and its $INCLUDEs with ldns into a record list. */
#include "server/zone_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "server/zone_lex.h"

struct zl_ctx {
    struct zone_src *src;
    struct err *e;
    struct zone_files files; /* where includes may come from, bytes left (zone_file.c) */
    ldns_buffer *wire;
    bool have_soa;
    uint32_t soa_file;
    uint32_t soa_line;
    struct zl_rec rec;
};

/* A TTL token: decimal seconds up to 2^32-1, or ldns's 1h30m period notation. */
static bool ttl_parse(const char *s, uint32_t *out)
{
    if (!isdigit((unsigned char)s[0]))
        return false;
    size_t digits = strspn(s, "0123456789");
    if (s[digits] == '\0') {
        errno = 0;
        unsigned long long v = strtoull(s, NULL, 10);
        if (errno != 0 || v > UINT32_MAX)
            return false;
        *out = (uint32_t)v;
        return true;
    }
    const char *end = NULL;
    uint32_t v = ldns_str2period(s, &end);
    if (end == NULL || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* A name token resolved against origin, or NULL when it cannot be read. Caller frees. */
static ldns_rdf *name_parse(const char *s, const ldns_rdf *origin)
{
    if (strcmp(s, "@") == 0)
        return origin != NULL ? ldns_rdf_clone(origin) : NULL;
    ldns_rdf *d = ldns_dname_new_frm_str(s);
    if (d != NULL && !ldns_dname_str_absolute(s) && origin != NULL &&
        ldns_dname_cat(d, origin) != LDNS_STATUS_OK) {
        ldns_rdf_deep_free(d);
        d = NULL;
    }
    return d;
}

/* The message points at the token by line and column and never quotes it: the text may
 * be a file that is not zone data at all (a secret), and errors reach the status API. */
static int fail_at(struct zl_ctx *c, const struct zl_file *f, int code, const struct zl_tok *t,
                   const char *msg)
{
    int line = t != NULL ? t->line : f->line, col = t != NULL ? t->col : 1;
    return err_set(c->e, code, f->path, line, col, "%s", msg);
}

/* Whether ldns can read one token of this field type on its own; used only to point at
 * the bad token after ldns rejected a record. */
static bool field_probe(ldns_rdf_type ft, const struct zl_tok *t, const ldns_rdf *origin, bool *ok)
{
    char buf[ZL_TOKEN_TEXT];
    ldns_rdf *d = NULL;
    switch (ft) {
    case LDNS_RDF_TYPE_DNAME:
        d = name_parse(zone__tok_str(t, false, buf), origin);
        break;
    case LDNS_RDF_TYPE_LONG_STR:
        if (!t->quoted) { /* ldns wants the CAA value quoted */
            *ok = false;
            return true;
        }
        d = ldns_rdf_new_frm_str(ft, zone__tok_str(t, true, buf));
        break;
    case LDNS_RDF_TYPE_STR:
    case LDNS_RDF_TYPE_INT8:
    case LDNS_RDF_TYPE_INT16:
    case LDNS_RDF_TYPE_INT32:
    case LDNS_RDF_TYPE_A:
    case LDNS_RDF_TYPE_AAAA:
    case LDNS_RDF_TYPE_PERIOD:
    case LDNS_RDF_TYPE_TAG:
    case LDNS_RDF_TYPE_TYPE:
    case LDNS_RDF_TYPE_ALG:
        d = ldns_rdf_new_frm_str(ft, zone__tok_str(t, true, buf));
        break;
    default:
        return false; /* multi-token or unusual field: cannot tell */
    }
    *ok = d != NULL;
    ldns_rdf_deep_free(d);
    return true;
}

/* What a field of type ft wants, for a message that cannot quote the token. */
static const char *field_expected(ldns_rdf_type ft)
{
    switch (ft) {
    case LDNS_RDF_TYPE_DNAME:
        return "cannot read domain name";
    case LDNS_RDF_TYPE_A:
        return "an IPv4 address expected";
    case LDNS_RDF_TYPE_AAAA:
        return "an IPv6 address expected";
    case LDNS_RDF_TYPE_INT8:
        return "a number from 0 to 255 expected";
    case LDNS_RDF_TYPE_INT16:
        return "a number from 0 to 65535 expected";
    case LDNS_RDF_TYPE_INT32:
        return "a number from 0 to 4294967295 expected";
    case LDNS_RDF_TYPE_PERIOD:
        return "a time value (seconds, or like 1h30m) expected";
    case LDNS_RDF_TYPE_LONG_STR:
        return "a quoted string expected";
    case LDNS_RDF_TYPE_STR:
        return "a character string (at most 255 bytes) expected";
    case LDNS_RDF_TYPE_TAG:
        return "a tag (letters and digits) expected";
    case LDNS_RDF_TYPE_TYPE:
        return "a record type expected";
    case LDNS_RDF_TYPE_ALG:
        return "an algorithm number or name expected";
    default:
        return NULL;
    }
}

/* After ldns rejected a record: find the token to blame and fill e. */
static int syntax_error(struct zl_ctx *c, const struct zl_file *f, ldns_status st,
                        const ldns_rdf *origin)
{
    struct zl_rec *r = &c->rec;
    const char *what = ldns_get_errorstr_by_id(st);
    char buf[ZL_TOKEN_TEXT];
    bool ok;

    if (what == NULL)
        what = "syntax error";
    if (r->paren_line != 0)
        return err_set(c->e, GSLBD_EPARSE, f->path, r->paren_line, r->paren_col,
                       "unbalanced parentheses");
    if (r->ntok == 0)
        return fail_at(c, f, GSLBD_EPARSE, NULL, what);
    if (r->tok[0].s[0] == '$' && r->first_bol)
        return fail_at(c, f, GSLBD_EPARSE, &r->tok[0], "unknown or incomplete directive");
    zone__rec_layout(r);
    if (r->owner >= 0 && field_probe(LDNS_RDF_TYPE_DNAME, &r->tok[r->owner], origin, &ok) && !ok)
        return fail_at(c, f, GSLBD_EPARSE, &r->tok[r->owner], "cannot read owner name");
    uint32_t ttl;
    if (r->ttl >= 0 && !ttl_parse(zone__tok_str(&r->tok[r->ttl], false, buf), &ttl))
        return fail_at(c, f, GSLBD_EPARSE, &r->tok[r->ttl], "bad TTL");
    if (r->type < 0)
        return fail_at(c, f, GSLBD_EPARSE, &r->tok[r->ntok - 1], "record type expected");
    uint16_t type = (uint16_t)ldns_get_rr_type_by_name(zone__tok_str(&r->tok[r->type], false, buf));
    if (type == 0 && r->klass >= 0 && isdigit((unsigned char)r->tok[r->type].s[0]))
        return fail_at(c, f, GSLBD_EPARSE, &r->tok[r->type], "the TTL must come before the class");
    if (type == 0)
        return fail_at(c, f, GSLBD_EPARSE, &r->tok[r->type], "unknown record type");
    if (r->rdata < 0 || st == LDNS_STATUS_SYNTAX_MISSING_VALUE_ERR)
        return err_set(c->e, GSLBD_EPARSE, f->path, r->end_line, r->end_col, "%s", what);
    const struct zl_tok *first = &r->tok[r->rdata];
    if (zone__tok_is(first, "\\#"))
        return fail_at(c, f, GSLBD_EPARSE, first, what);
    const ldns_rr_descriptor *desc = ldns_rr_descript(type);
    size_t max = ldns_rr_descriptor_maximum(desc);
    for (size_t i = 0; r->rdata + i < r->ntok; i++) {
        const struct zl_tok *t = &r->tok[r->rdata + i];
        if (i >= max)
            return fail_at(c, f, GSLBD_EPARSE, t, what);
        ldns_rdf_type ft = ldns_rr_descriptor_field_type(desc, i);
        if (!field_probe(ft, t, origin, &ok))
            break;
        if (!ok) {
            const char *want = field_expected(ft);
            return fail_at(c, f, GSLBD_EPARSE, t, want != NULL ? want : what);
        }
    }
    return fail_at(c, f, GSLBD_EPARSE, first, what);
}

static int src_grow(struct zone_src *s, size_t ncap)
{
    struct zone_src_rr *n = zone__big_grow(s->rrs, s->cap * sizeof(*n), ncap * sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    s->rrs = n;
    s->cap = ncap;
    return 0;
}

/* Room for a file's records at once: at most one per line. Pages past the records the
 * file really holds are never touched. */
static int src_reserve(struct zone_src *s, const char *buf, size_t len)
{
    size_t lines = 1;
    for (const char *p = buf, *end = buf + len; (p = memchr(p, '\n', (size_t)(end - p))) != NULL;
         p++)
        lines++;
    return s->cap - s->nrrs >= lines ? 0 : src_grow(s, s->nrrs + lines);
}

static int src_push(struct zone_src *s, const struct zone_src_rr *rr)
{
    if (s->nrrs == s->cap) {
        int rc = src_grow(s, s->cap ? s->cap * 2 : 256);
        if (rc < 0)
            return rc;
    }
    s->rrs[s->nrrs++] = *rr;
    return 0;
}

static int src_add_file(struct zone_src *s, const char *path, uint32_t *idx)
{
    if (s->nfiles == s->fcap) {
        size_t ncap = s->fcap ? s->fcap * 2 : 4;
        char **n = realloc(s->files, ncap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        s->files = n;
        s->fcap = ncap;
    }
    char *p = strdup(path);
    if (p == NULL)
        return -ENOMEM;
    *idx = (uint32_t)s->nfiles;
    s->files[s->nfiles++] = p;
    return 0;
}

static const uint8_t *arena_dup(struct zone_arena *a, const void *p, size_t len)
{
    uint8_t *d = zone__arena_bytes(a, len);
    if (d != NULL)
        memcpy(d, p, len);
    return d;
}

/* Offsets of the names an RFC 1035 type carries in RDATA (COMP-1); none for later types. */
static void comp_offsets(const ldns_rr *rr, uint16_t type, struct zone_src_rr *out)
{
    size_t fields[2], nf = 0;
    switch (type) {
    case LDNS_RR_TYPE_NS:
    case LDNS_RR_TYPE_MD:
    case LDNS_RR_TYPE_MF:
    case LDNS_RR_TYPE_CNAME:
    case LDNS_RR_TYPE_MB:
    case LDNS_RR_TYPE_MG:
    case LDNS_RR_TYPE_MR:
    case LDNS_RR_TYPE_PTR:
        fields[nf++] = 0;
        break;
    case LDNS_RR_TYPE_SOA:
    case LDNS_RR_TYPE_MINFO:
        fields[nf++] = 0;
        fields[nf++] = 1;
        break;
    case LDNS_RR_TYPE_MX:
        fields[nf++] = 1;
        break;
    default:
        break;
    }
    out->ncomp = 0;
    for (size_t k = 0; k < nf; k++) {
        size_t off = 0;
        if (fields[k] >= ldns_rr_rd_count(rr) ||
            ldns_rdf_get_type(ldns_rr_rdf(rr, fields[k])) != LDNS_RDF_TYPE_DNAME)
            return;
        for (size_t i = 0; i < fields[k]; i++)
            off += ldns_rdf_size(ldns_rr_rdf(rr, i));
        out->comp_off[out->ncomp++] = (uint16_t)off;
    }
}

static bool type_allowed(uint16_t type)
{
    switch (type) {
    case 0:
    case LDNS_RR_TYPE_OPT:
    case LDNS_RR_TYPE_TSIG:
    case LDNS_RR_TYPE_TKEY:
    case LDNS_RR_TYPE_IXFR:
    case LDNS_RR_TYPE_AXFR:
    case LDNS_RR_TYPE_MAILB:
    case LDNS_RR_TYPE_MAILA:
    case LDNS_RR_TYPE_ANY:
        return false;
    default:
        return true;
    }
}

/* RFC 3597 "\\# len hex" for a type ldns knows: the declared length must be what the fields
 * took, and every mandatory field must be there (ldns checks neither). */
static int check_generic(struct zl_ctx *c, const struct zl_file *f, size_t rdlen)
{
    struct zl_rec *r = &c->rec;
    char buf[ZL_TOKEN_TEXT];
    if (r->rdata < 0 || !zone__tok_is(&r->tok[r->rdata], "\\#"))
        return 0;
    const struct zl_tok *t = &r->tok[r->rdata];
    size_t declared = 0;
    if ((size_t)r->rdata + 1 < r->ntok)
        declared = strtoul(zone__tok_str(&r->tok[r->rdata + 1], false, buf), NULL, 10);
    if (declared != rdlen)
        return fail_at(c, f, GSLBD_EPARSE, t, "the RDATA does not match its \\# length");
    return 0; /* too few fields for the type: on_record, whatever the syntax */
}

/* Accept one record ldns parsed: check it against the zone and append it to src. */
static int on_record(struct zl_ctx *c, const struct zl_file *f, ldns_rr *rr, uint32_t def_ttl)
{
    struct zl_rec *r = &c->rec;
    struct zone_src *s = c->src;
    struct zone_src_rr out = {0};
    char buf[ZL_TOKEN_TEXT], name[DNAME_MAX * 4 + 1], oname[DNAME_MAX * 4 + 1];
    uint8_t owner[DNAME_MAX];

    if (r->paren_line != 0)
        return err_set(c->e, GSLBD_EPARSE, f->path, r->paren_line, r->paren_col,
                       "unbalanced parentheses");
    if (r->ntok == 0) /* ldns found a record where the lexer saw none: trust neither */
        return fail_at(c, f, GSLBD_EPARSE, NULL, "unreadable record");
    zone__rec_layout(r);
    const struct zl_tok *first = &r->tok[0];
    if (first->s[0] == '$' && r->first_bol)
        return fail_at(c, f, GSLBD_EPARSE, first, "unknown or incomplete directive");
    const struct zl_tok *tt = r->type >= 0 ? &r->tok[r->type] : first;
    out.type = (uint16_t)ldns_rr_get_type(rr);
    if (!type_allowed(out.type))
        return fail_at(c, f, out.type == 0 ? GSLBD_EPARSE : GSLBD_EINVAL, tt,
                       out.type == 0 ? "unknown record type" : "type not allowed in zone data");
    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
        return fail_at(c, f, GSLBD_EINVAL, r->klass >= 0 ? &r->tok[r->klass] : first,
                       "only class IN is served");
    out.ttl = def_ttl;
    if (r->ttl >= 0 && !ttl_parse(zone__tok_str(&r->tok[r->ttl], false, buf), &out.ttl))
        return fail_at(c, f, GSLBD_EPARSE, &r->tok[r->ttl], "bad TTL");
    if (out.ttl & 0x80000000u) /* TTL-1, RFC 2181 8 */
        out.ttl = 0;

    const ldns_rdf *o = ldns_rr_owner(rr);
    if (o == NULL || ldns_rdf_size(o) > DNAME_MAX || ldns_rdf_size(o) == 0)
        return fail_at(c, f, GSLBD_EPARSE, first, "cannot read owner name");
    out.owner_len = (uint8_t)dname_copy_lower(owner, ldns_rdf_data(o));
    if (!dname_is_subdomain(owner, s->origin))
        return err_set(c->e, GSLBD_EINVAL, f->path, first->line, first->col,
                       "%s is outside the zone %s", dname_to_text(owner, name, sizeof(name)),
                       dname_to_text(s->origin, oname, sizeof(oname)));
    if (out.type == LDNS_RR_TYPE_SOA) {
        if (!dname_equal(owner, s->origin))
            return err_set(c->e, GSLBD_EINVAL, f->path, first->line, first->col,
                           "SOA at %s, not at the zone origin %s",
                           dname_to_text(owner, name, sizeof(name)),
                           dname_to_text(s->origin, oname, sizeof(oname)));
        if (c->have_soa)
            return err_set(c->e, GSLBD_EINVAL, f->path, first->line, first->col,
                           "second SOA record (the first is at %s:%u)", s->files[c->soa_file],
                           c->soa_line);
        c->have_soa = true;
        c->soa_file = f->idx;
        c->soa_line = (uint32_t)first->line;
    }

    /* ldns appends the origin to a relative name in RDATA without checking the total. */
    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
        const ldns_rdf *d = ldns_rr_rdf(rr, i);
        if (ldns_rdf_get_type(d) == LDNS_RDF_TYPE_DNAME && ldns_rdf_size(d) > DNAME_MAX)
            return fail_at(c, f, GSLBD_EPARSE, r->rdata >= 0 ? &r->tok[r->rdata] : first,
                           "name in RDATA longer than 255 octets");
    }

    /* ldns reads "SRV 0 5 53 \# 0" as an SRV of three fields and no target: served, that is
     * a malformed answer. Every type ldns knows needs its fields, whatever the syntax. */
    const ldns_rr_descriptor *desc = ldns_rr_descript(out.type);
    if (desc != NULL && desc->_type == out.type &&
        ldns_rr_rd_count(rr) < ldns_rr_descriptor_minimum(desc))
        return fail_at(c, f, GSLBD_EPARSE, r->rdata >= 0 ? &r->tok[r->rdata] : first,
                       "RDATA too short for this type");

    ldns_buffer_clear(c->wire);
    if (ldns_rr_rdata2buffer_wire(c->wire, rr) != LDNS_STATUS_OK)
        return -ENOMEM;
    size_t rdlen = ldns_buffer_position(c->wire);
    if (rdlen > UINT16_MAX)
        return fail_at(c, f, GSLBD_ELIMIT, first, "RDATA longer than 65535 octets");
    out.rdlen = (uint16_t)rdlen;
    out.rdata = arena_dup(s->arena, ldns_buffer_begin(c->wire), rdlen);
    int rc = check_generic(c, f, rdlen);
    if (rc != 0)
        return rc;
    comp_offsets(rr, out.type, &out);
    ldns_rr2canonical(rr);
    ldns_buffer_clear(c->wire);
    if (ldns_rr_rdata2buffer_wire(c->wire, rr) != LDNS_STATUS_OK)
        return -ENOMEM;
    out.canonlen = (uint16_t)ldns_buffer_position(c->wire);
    /* most RDATA is canonical already (no names, or lowercase ones): share the bytes */
    out.canon = out.rdata != NULL && out.canonlen == rdlen &&
                        memcmp(out.rdata, ldns_buffer_begin(c->wire), rdlen) == 0
                    ? out.rdata
                    : arena_dup(s->arena, ldns_buffer_begin(c->wire), out.canonlen);
    out.owner = arena_dup(s->arena, owner, out.owner_len);
    if (out.rdata == NULL || out.canon == NULL || out.owner == NULL)
        return -ENOMEM;
    out.file = f->idx;
    out.line = (uint32_t)first->line;
    out.col = (uint32_t)first->col;
    return src_push(s, &out);
}

static int on_ttl(struct zl_ctx *c, const struct zl_file *f, uint32_t *def_ttl)
{
    struct zl_rec *r = &c->rec;
    char buf[ZL_TOKEN_TEXT];
    if (r->ntok < 2 || r->ntok_all != 2 || !zone__tok_is(&r->tok[0], "$TTL"))
        return fail_at(c, f, GSLBD_EPARSE, r->ntok ? &r->tok[0] : NULL, "$TTL needs one value");
    if (!ttl_parse(zone__tok_str(&r->tok[1], false, buf), def_ttl))
        return fail_at(c, f, GSLBD_EPARSE, &r->tok[1], "bad $TTL value");
    return 0;
}

/* ldns reads "$ORIGIN sub" as the absolute name sub.; RFC 1035 appends the current origin. */
static int on_origin(struct zl_ctx *c, const struct zl_file *f, ldns_rdf **ldns_origin,
                     ldns_rdf **cur)
{
    struct zl_rec *r = &c->rec;
    char buf[ZL_TOKEN_TEXT];
    if (r->ntok < 2 || r->ntok_all != 2 || !zone__tok_is(&r->tok[0], "$ORIGIN"))
        return fail_at(c, f, GSLBD_EPARSE, r->ntok ? &r->tok[0] : NULL, "$ORIGIN needs one name");
    ldns_rdf *n = name_parse(zone__tok_str(&r->tok[1], false, buf), *cur);
    if (n == NULL)
        return fail_at(c, f, GSLBD_EPARSE, &r->tok[1], "cannot read $ORIGIN name");
    ldns_rdf *n2 = ldns_rdf_clone(n);
    if (n2 == NULL) {
        ldns_rdf_deep_free(n);
        return -ENOMEM;
    }
    ldns_rdf_deep_free(*ldns_origin);
    ldns_rdf_deep_free(*cur);
    *ldns_origin = n;
    *cur = n2;
    return 0;
}

bool zone__fast_enabled = true;

/* The line at f->pos as zone_fast.c reads it: 1 when it was taken (the record pushed, the
 * cursor past the line, *owner its owner for a next line that leaves it out), 0 when ldns
 * must read it, or an error. */
static int fast_record(struct zl_ctx *c, struct zl_file *f, const ldns_rdf *origin,
                       uint32_t def_ttl, struct zone_fast *fr)
{
    const char *line = f->buf + f->pos;
    const char *nl = memchr(line, '\n', f->len - f->pos);
    size_t len = nl != NULL ? (size_t)(nl - line) : f->len - f->pos;
    struct zone_src *s = c->src;
    if (!zone__fast_enabled ||
        zone__fast_line(line, len, ldns_rdf_data(origin), ldns_rdf_size(origin), fr) != 1)
        return 0;
    uint8_t owner[DNAME_MAX];
    struct zone_src_rr out = {.type = fr->type, .ttl = fr->ttl_given ? fr->ttl : def_ttl};
    out.owner_len = (uint8_t)dname_copy_lower(owner, fr->owner);
    if (!dname_is_subdomain(owner, s->origin))
        return 0;              /* ldns's path says why */
    if (out.ttl & 0x80000000u) /* TTL-1, RFC 2181 8 */
        out.ttl = 0;
    out.rdlen = out.canonlen = fr->rdlen;
    out.rdata = out.canon = arena_dup(s->arena, fr->rdata, fr->rdlen);
    out.owner = arena_dup(s->arena, owner, out.owner_len);
    if (out.rdata == NULL || out.owner == NULL)
        return -ENOMEM;
    out.file = f->idx;
    out.line = (uint32_t)f->line;
    out.col = 1;
    int rc = src_push(s, &out);
    if (rc < 0)
        return rc;
    f->pos += len + (nl != NULL);
    f->line += nl != NULL;
    f->line_start = f->pos;
    return 1;
}

static int parse_file(struct zl_ctx *c, struct zl_file *f, const ldns_rdf *origin_in,
                      uint32_t def_ttl, int depth);

/* $INCLUDE file [origin]: the path is relative to the including file's folder; origin,
 * owner and $TTL of the including file are unchanged afterwards. */
static int on_include(struct zl_ctx *c, const struct zl_file *f, const ldns_rdf *origin,
                      uint32_t def_ttl, int depth)
{
    struct zl_rec *r = &c->rec;
    char buf[ZL_TOKEN_TEXT];
    if (r->ntok < 2 || r->ntok_all > 3 || !zone__tok_is(&r->tok[0], "$INCLUDE"))
        return fail_at(c, f, GSLBD_EPARSE, r->ntok ? &r->tok[0] : NULL,
                       "$INCLUDE needs a file name and an optional origin");
    if (depth + 1 > ZONE_INCLUDE_DEPTH)
        return err_set(c->e, GSLBD_ELIMIT, f->path, r->tok[0].line, r->tok[0].col,
                       "$INCLUDE nested more than %d deep", ZONE_INCLUDE_DEPTH);
    const char *name = zone__tok_str(&r->tok[1], true, buf);
    const char *slash = strrchr(f->path, '/');
    size_t dirlen = name[0] != '/' && slash != NULL ? (size_t)(slash - f->path) + 1 : 0;
    char *path = malloc(dirlen + strlen(name) + 1);
    if (path == NULL)
        return -ENOMEM;
    memcpy(path, f->path, dirlen);
    strcpy(path + dirlen, name);

    ldns_rdf *inc_origin = NULL;
    if (r->ntok == 3)
        inc_origin = name_parse(zone__tok_str(&r->tok[2], false, buf), origin);
    else
        inc_origin = ldns_rdf_clone(origin);
    struct zl_file sub = {.line = 1};
    int rc = 0;
    if (inc_origin == NULL)
        rc = r->ntok == 3 ? fail_at(c, f, GSLBD_EPARSE, &r->tok[2], "cannot read $INCLUDE origin")
                          : -ENOMEM;
    char *real = NULL;
    if (rc == 0 && (real = realpath(path, NULL)) == NULL)
        rc = err_set(c->e, -errno, f->path, r->tok[1].line, r->tok[1].col,
                     "$INCLUDE %s: cannot open: %s", path, strerror(errno));
    if (rc == 0 && !zone__files_allowed(&c->files, real))
        rc = err_set(c->e, GSLBD_EINVAL, f->path, r->tok[1].line, r->tok[1].col,
                     "$INCLUDE %s: outside the folders includes may come from (the zone "
                     "file's folder and zone_include_dirs)",
                     path);
    if (rc == 0)
        rc = src_add_file(c->src, path, &sub.idx);
    if (rc == 0) {
        sub.path = c->src->files[sub.idx];
        /* the checked name, so that a link swapped in now is not followed */
        char why[ZONE_FILES_WHY_MAX];
        rc = zone__files_read(&c->files, real, &sub.buf, &sub.len, why);
        if (rc != 0)
            err_set(c->e, rc, f->path, r->tok[1].line, r->tok[1].col, "$INCLUDE %s: %s", path, why);
    }
    free(real);
    if (rc == 0)
        rc = src_reserve(c->src, sub.buf, sub.len);
    if (rc == 0)
        rc = parse_file(c, &sub, inc_origin, def_ttl, depth + 1);
    free(sub.buf);
    free(path);
    ldns_rdf_deep_free(inc_origin);
    return rc;
}

/* Read one file record by record with ldns; directives update this file's own state. */
static int parse_file(struct zl_ctx *c, struct zl_file *f, const ldns_rdf *origin_in,
                      uint32_t def_ttl, int depth)
{
    if (f->len == 0)
        return 0;
    FILE *fp = fmemopen(f->buf, f->len, "r");
    if (fp == NULL)
        return -errno;
    ldns_rdf *origin = ldns_rdf_clone(origin_in), *cur = ldns_rdf_clone(origin_in), *prev = NULL;
    uint32_t ldns_ttl = def_ttl;
    int ldns_line = 1, rc = (origin == NULL || cur == NULL) ? -ENOMEM : 0;

    /* fast lines move f->pos on without ldns; its stream and its idea of the previous
     * owner catch up when ldns reads again */
    bool behind = false;
    struct zone_fast fr;
    uint8_t last[DNAME_MAX], last_len = 0;
    while (rc == 0 && !feof(fp) && f->pos < f->len) {
        int took = fast_record(c, f, origin, def_ttl, &fr);
        if (took != 0) {
            rc = took < 0 ? took : 0;
            memcpy(last, fr.owner, fr.owner_len);
            last_len = fr.owner_len;
            behind = true;
            continue;
        }
        if (behind) {
            ldns_line = f->line;
            ldns_rdf *p = ldns_dname_new_frm_data(last_len, last);
            if (p == NULL || fseek(fp, (long)f->pos, SEEK_SET) != 0) {
                ldns_rdf_deep_free(p);
                rc = -ENOMEM;
                break;
            }
            ldns_rdf_deep_free(prev);
            prev = p;
            behind = false;
        }
        ldns_rr *rr = NULL;
        size_t start = f->pos;
        ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ldns_ttl, &origin, &prev, &ldns_line);
        long end = ftell(fp);
        if (end < (long)f->pos || (size_t)end > f->len) {
            ldns_rr_free(rr);
            rc = err_set(c->e, GSLBD_EPARSE, f->path, ldns_line, 1, "cannot follow the parser");
            break;
        }
        zone__lex_record(f, (size_t)end, &c->rec);
        switch (st) {
        case LDNS_STATUS_OK:
            rc = on_record(c, f, rr, def_ttl);
            break;
        case LDNS_STATUS_SYNTAX_EMPTY:
            if (c->rec.ntok != 0 || c->rec.paren_line != 0)
                rc = syntax_error(c, f, LDNS_STATUS_SYNTAX_ERR, cur);
            break;
        case LDNS_STATUS_SYNTAX_TTL:
            rc = on_ttl(c, f, &def_ttl);
            break;
        case LDNS_STATUS_SYNTAX_ORIGIN:
            rc = on_origin(c, f, &origin, &cur);
            break;
        case LDNS_STATUS_SYNTAX_INCLUDE:
            rc = on_include(c, f, cur, def_ttl, depth);
            break;
        case LDNS_STATUS_MEM_ERR:
            rc = -ENOMEM;
            break;
        default:
            rc = syntax_error(c, f, st, cur);
            break;
        }
        ldns_rr_free(rr);
        if (rc == 0 && (size_t)end == start && !feof(fp)) /* no progress: never loop */
            rc = err_set(c->e, GSLBD_EPARSE, f->path, f->line, 1, "cannot read on");
    }
    fclose(fp);
    ldns_rdf_deep_free(origin);
    ldns_rdf_deep_free(cur);
    ldns_rdf_deep_free(prev);
    return rc;
}

int zone__src_read(struct zone_src *src, const char *origin, const char *file,
                   const struct zone_limits *limits, struct err *e)
{
    struct zl_ctx *c = calloc(1, sizeof(*c));
    struct zl_file f = {.path = file, .line = 1};
    ldns_rdf *o = NULL;
    int rc = 0;

    if (c == NULL)
        return -ENOMEM;
    c->src = src;
    c->e = e;
    rc = zone__files_init(&c->files, file, limits);
    c->wire = ldns_buffer_new(4096);
    if (rc == 0)
        rc = c->wire == NULL ? -ENOMEM : zone__arena_new_transient(&src->arena);
    if (rc == 0) {
        o = ldns_dname_new_frm_str(origin);
        if (o == NULL || ldns_rdf_size(o) > DNAME_MAX)
            rc = err_set(e, GSLBD_EINVAL, file, 0, 0, "cannot read zone origin '%s'", origin);
    }
    if (rc == 0) {
        src->origin_len = (uint8_t)dname_copy_lower(src->origin, ldns_rdf_data(o));
        rc = src_add_file(src, file, &f.idx);
    }
    if (rc == 0) {
        f.path = src->files[f.idx];
        char why[ZONE_FILES_WHY_MAX];
        rc = zone__files_read(&c->files, file, &f.buf, &f.len, why);
        if (rc != 0)
            err_set(e, rc, file, 0, 0, "%s", why);
    }
    if (rc == 0)
        rc = src_reserve(src, f.buf, f.len);
    if (rc == 0)
        rc = parse_file(c, &f, o, ZONE_DEFAULT_TTL, 0);
    if (rc == 0 && !c->have_soa)
        rc = err_set(e, GSLBD_EINVAL, file, 0, 0, "no SOA record for %s", origin);
    free(f.buf);
    ldns_rdf_deep_free(o);
    ldns_buffer_free(c->wire);
    zone__files_clear(&c->files);
    free(c);
    return rc;
}

void zone__src_clear(struct zone_src *src)
{
    if (src == NULL)
        return;
    zone__arena_free(src->arena);
    zone__big_free(src->rrs, src->cap * sizeof(*src->rrs));
    for (size_t i = 0; i < src->nfiles; i++)
        free(src->files[i]);
    free(src->files);
    *src = (struct zone_src){0};
}
