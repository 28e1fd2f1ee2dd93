/* zone_lex.h: the master-file lexer zone_load.c runs beside ldns (zone_lex.c): it sees the
 * same text ldns consumed for a record and says where each token is, for messages that
 * name line and column, and what ldns does not keep. */
#ifndef GSLBD_ZONE_LEX_H
#define GSLBD_ZONE_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZL_MAX_TOKENS 64 /* tokens kept per record for locating errors; more are counted */
#define ZL_TOKEN_TEXT 256

/* A token of the record being read, pointing into the file buffer. */
struct zl_tok {
    const char *s;
    size_t len;
    int line;
    int col;
    bool quoted;
};

/* What the lexer saw in the text ldns consumed for one record or directive. ldns parses;
 * this only tells where things are, for messages, and what ldns does not keep. */
struct zl_rec {
    struct zl_tok tok[ZL_MAX_TOKENS];
    size_t ntok;     /* tokens stored */
    size_t ntok_all; /* tokens seen */
    int paren_line;  /* an unmatched parenthesis (0: none) */
    int paren_col;
    bool first_bol; /* the first token starts its line (after '(' only): it is the owner */
    int end_line;   /* just past the last token */
    int end_col;
    /* token indexes as ldns lays the record out; -1 when absent */
    int owner, ttl, klass, type, rdata;
};

/* One master file being read; the lexer cursor follows ldns through the buffer. */
struct zl_file {
    const char *path; /* owned by zone_src.files */
    uint32_t idx;
    char *buf;
    size_t len;
    size_t pos;
    int line;
    size_t line_start;
};

/* Tokenise f->buf[f->pos, end) the way ldns reads it into r; advances f's cursor and line. */
void zone__lex_record(struct zl_file *f, size_t end, struct zl_rec *r);
/* The token as a NUL-terminated string in buf (ZL_TOKEN_TEXT), quotes removed if unquote. */
const char *zone__tok_str(const struct zl_tok *t, bool unquote, char *buf);
/* Whether the token is word, case aside. */
bool zone__tok_is(const struct zl_tok *t, const char *word);
/* Sets r's owner, ttl, klass, type and rdata indexes as ldns lays the record out. */
void zone__rec_layout(struct zl_rec *r);

#endif
