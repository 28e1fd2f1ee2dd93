/* zone_lex.c: the master-file lexer (zone_lex.h). */
#include "server/zone_lex.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

static void tok_end(struct zl_file *f, struct zl_rec *r, size_t start, bool quoted, int line,
                    int col)
{
    size_t len = f->pos - start;
    if (r->ntok < ZL_MAX_TOKENS)
        r->tok[r->ntok++] = (struct zl_tok){f->buf + start, len, line, col, quoted};
    r->ntok_all++;
    r->end_line = line;
    r->end_col = col + (int)len;
}

/* Tokenise buf[pos, end) the way ldns reads it: ';' comments, '(' ')' joining lines,
 * "quoted strings", backslash escapes. Advances the file's line count. */
void zone__lex_record(struct zl_file *f, size_t end, struct zl_rec *r)
{
    bool comment = false, quoted = false, in_tok = false;
    size_t start = 0;
    int depth = 0, tline = 0, tcol = 0, open_line = 0, open_col = 0;

    r->ntok = r->ntok_all = 0;
    r->paren_line = r->paren_col = r->end_line = r->end_col = 0;
    r->first_bol = false;
    while (f->pos < end) {
        char c = f->buf[f->pos];
        bool sep = c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\n';
        if (in_tok && (c == '\n' || (!quoted && (sep || c == ';' || c == '(' || c == ')')))) {
            tok_end(f, r, start, quoted, tline, tcol);
            in_tok = quoted = false;
        }
        if (c == '\n') {
            comment = false;
            f->pos++;
            f->line++;
            f->line_start = f->pos;
            continue;
        }
        if (comment || (sep && !in_tok)) {
            f->pos++;
            continue;
        }
        if (!in_tok && c == ';') {
            comment = true;
        } else if (!in_tok && (c == '(' || c == ')')) {
            int col = (int)(f->pos - f->line_start) + 1;
            if (c == '(' && depth++ == 0) {
                open_line = f->line;
                open_col = col;
            } else if (c == ')' && --depth < 0 && r->paren_line == 0) {
                r->paren_line = f->line;
                r->paren_col = col;
            }
        } else {
            if (!in_tok) {
                in_tok = true;
                quoted = c == '"';
                start = f->pos;
                tline = f->line;
                tcol = (int)(f->pos - f->line_start) + 1;
                if (r->ntok_all == 0) {
                    size_t k = f->line_start;
                    while (k < f->pos && f->buf[k] == '(')
                        k++;
                    r->first_bol = k == f->pos;
                }
            } else if (quoted && c == '"') {
                f->pos++;
                tok_end(f, r, start, true, tline, tcol);
                in_tok = quoted = false;
                continue;
            }
            if (c == '\\' && f->pos + 1 < end && f->buf[f->pos + 1] != '\n')
                f->pos++;
        }
        f->pos++;
    }
    if (in_tok)
        tok_end(f, r, start, quoted, tline, tcol);
    if (depth > 0 && r->paren_line == 0) {
        r->paren_line = open_line;
        r->paren_col = open_col;
    }
}

/* The token as a NUL-terminated string, quotes removed when unquote. */
const char *zone__tok_str(const struct zl_tok *t, bool unquote, char *buf)
{
    const char *s = t->s;
    size_t len = t->len;
    if (unquote && t->quoted && len >= 1) {
        s++;
        len -= len >= 2 && s[len - 2] == '"' ? 2 : 1;
    }
    if (len >= ZL_TOKEN_TEXT)
        len = ZL_TOKEN_TEXT - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return buf;
}

bool zone__tok_is(const struct zl_tok *t, const char *word)
{
    return t->len == strlen(word) && strncasecmp(t->s, word, t->len) == 0;
}

/* Where owner, TTL, class and type are: ldns takes a token starting with a digit as the
 * TTL, then an optional class, then the type. A record starting with blank uses the
 * previous owner. */
void zone__rec_layout(struct zl_rec *r)
{
    char buf[ZL_TOKEN_TEXT];
    int i = 0, n = (int)r->ntok;

    r->owner = r->ttl = r->klass = r->type = r->rdata = -1;
    if (n > 0 && r->first_bol)
        r->owner = i++;
    if (i < n && isdigit((unsigned char)r->tok[i].s[0])) {
        r->ttl = i++;
        if (i < n && ldns_get_rr_class_by_name(zone__tok_str(&r->tok[i], false, buf)) != 0)
            r->klass = i++;
    } else if (i < n && ldns_get_rr_class_by_name(zone__tok_str(&r->tok[i], false, buf)) != 0) {
        r->klass = i++;
    }
    if (i < n)
        r->type = i++;
    if (i < n)
        r->rdata = i;
}
