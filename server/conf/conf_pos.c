/* conf_pos.c: locates a JSON path's value or key in JSON text, for config error positions. */
#include "server/conf/conf_pos.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include "server/text.h"

/* A read position in the text; line/col are those of the byte at p. */
struct cursor {
    const char *p;
    const char *end;
    int line;
    int col;
};

/* Bytes of a JSON string body (without quotes), escaped or raw, read one byte at a time. */
struct strit {
    const char *p;
    const char *end;
    bool esc;
    unsigned char pend[4];
    int npend;
    int ipend;
};

enum step_kind { STEP_KEY, STEP_INDEX };

struct step {
    enum step_kind kind;
    const char *s; /* key body */
    const char *e;
    bool esc; /* key body is JSON-escaped */
    size_t index;
};

static int peek(const struct cursor *c)
{
    return c->p < c->end ? (unsigned char)*c->p : -1;
}

static void adv(struct cursor *c)
{
    unsigned char b = (unsigned char)*c->p++;
    if (b == '\n') {
        c->line++;
        c->col = 1;
    } else if (c->p >= c->end || ((unsigned char)*c->p & 0xC0) != 0x80) {
        /* Count characters, not bytes: step only when the next byte starts a character. */
        c->col++;
    }
}

static void skip_ws(struct cursor *c)
{
    for (;;) {
        int ch = peek(c);
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
            return;
        adv(c);
    }
}

static int skip_string(struct cursor *c)
{
    if (peek(c) != '"')
        return -EINVAL;
    adv(c);
    for (;;) {
        int ch = peek(c);
        if (ch < 0)
            return -EINVAL;
        adv(c);
        if (ch == '"')
            return 0;
        if (ch == '\\') {
            if (peek(c) < 0)
                return -EINVAL;
            adv(c);
        }
    }
}

static bool is_scalar_char(int ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           ch == '+' || ch == '-' || ch == '.';
}

/* Skip one whole value; iterative so deep nesting costs no stack. */
static int skip_value(struct cursor *c)
{
    size_t depth = 0;
    do {
        int ch = peek(c);
        if (ch < 0)
            return -EINVAL;
        if (ch == '"') {
            int r = skip_string(c);
            if (r < 0)
                return r;
        } else if (ch == '{' || ch == '[') {
            depth++;
            adv(c);
        } else if (ch == '}' || ch == ']') {
            if (depth == 0)
                return -EINVAL;
            depth--;
            adv(c);
        } else if (depth > 0 && (ch == ',' || ch == ':' || ch == ' ' || ch == '\t' || ch == '\n' ||
                                 ch == '\r')) {
            adv(c);
        } else if (is_scalar_char(ch)) {
            while (is_scalar_char(peek(c)))
                adv(c);
        } else {
            return -EINVAL;
        }
    } while (depth > 0);
    return 0;
}

static long read_hex4(struct strit *it)
{
    if (it->end - it->p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = text_hexval((unsigned char)it->p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    it->p += 4;
    return v;
}

/* Read a \uXXXX escape (the "\u" already consumed), pairing surrogates. */
static long read_codepoint(struct strit *it)
{
    long cp = read_hex4(it);
    if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
        return -1;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (it->end - it->p < 2 || it->p[0] != '\\' || it->p[1] != 'u')
            return -1;
        it->p += 2;
        long lo = read_hex4(it);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return -1;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return cp;
}

static void put_utf8(struct strit *it, long cp)
{
    unsigned char *o = it->pend;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        it->npend = 1;
    } else if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        it->npend = 2;
    } else if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        it->npend = 3;
    } else {
        o[0] = (unsigned char)(0xF0 | (cp >> 18));
        o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (unsigned char)(0x80 | (cp & 0x3F));
        it->npend = 4;
    }
    it->ipend = 0;
}

/* Next decoded byte (0..255), -1 at the end, -2 on a malformed escape. */
static int strit_next(struct strit *it)
{
    if (it->ipend < it->npend)
        return it->pend[it->ipend++];
    if (it->p >= it->end)
        return -1;
    unsigned char ch = (unsigned char)*it->p++;
    if (!it->esc || ch != '\\')
        return ch;
    if (it->p >= it->end)
        return -2;
    switch (*it->p++) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '/':
        return '/';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'u': {
        long cp = read_codepoint(it);
        if (cp < 0)
            return -2;
        put_utf8(it, cp);
        return it->pend[it->ipend++];
    }
    default:
        return -2;
    }
}

static bool str_equal(const char *as, const char *ae, bool aesc, const char *bs, const char *be,
                      bool besc)
{
    struct strit a = {.p = as, .end = ae, .esc = aesc};
    struct strit b = {.p = bs, .end = be, .esc = besc};
    for (;;) {
        int x = strit_next(&a);
        int y = strit_next(&b);
        if (x < -1 || y < -1 || x != y)
            return false;
        if (x == -1)
            return true;
    }
}

/* Parse the next path step at *pp. Returns 1 with *st filled, 0 at the end, or -EINVAL. */
static int next_step(const char **pp, struct step *st)
{
    const char *p = *pp;
    if (*p == '\0')
        return 0;
    if (*p == '.') {
        st->kind = STEP_KEY;
        st->esc = false;
        st->s = ++p;
        while (*p != '\0' && *p != '.' && *p != '[')
            p++;
        st->e = p;
        if (st->e == st->s)
            return -EINVAL;
    } else if (p[0] == '[' && p[1] == '"') {
        st->kind = STEP_KEY;
        st->esc = true;
        p += 2;
        st->s = p;
        while (*p != '"') {
            if (*p == '\0')
                return -EINVAL;
            if (*p == '\\' && p[1] != '\0')
                p++;
            p++;
        }
        st->e = p++;
        if (*p++ != ']')
            return -EINVAL;
    } else if (*p == '[') {
        st->kind = STEP_INDEX;
        st->index = 0;
        p++;
        if (*p < '0' || *p > '9')
            return -EINVAL;
        while (*p >= '0' && *p <= '9') {
            if (st->index > (SIZE_MAX - 9) / 10)
                return -EINVAL;
            st->index = st->index * 10 + (size_t)(*p++ - '0');
        }
        if (*p++ != ']')
            return -EINVAL;
    } else {
        return -EINVAL;
    }
    *pp = p;
    return 1;
}

/* From '{', move to the value of member key; *keypos gets the key's position. */
static int enter_key(struct cursor *c, const struct step *st, struct conf_pos *keypos)
{
    if (peek(c) != '{')
        return -ENOENT;
    adv(c);
    skip_ws(c);
    if (peek(c) == '}')
        return -ENOENT;
    for (;;) {
        if (peek(c) != '"')
            return -EINVAL;
        keypos->line = c->line;
        keypos->col = c->col;
        const char *ks = c->p + 1;
        int r = skip_string(c);
        if (r < 0)
            return r;
        bool match = str_equal(ks, c->p - 1, true, st->s, st->e, st->esc);
        skip_ws(c);
        if (peek(c) != ':')
            return -EINVAL;
        adv(c);
        skip_ws(c);
        if (match)
            return 0;
        r = skip_value(c);
        if (r < 0)
            return r;
        skip_ws(c);
        int ch = peek(c);
        if (ch == '}')
            return -ENOENT;
        if (ch != ',')
            return -EINVAL;
        adv(c);
        skip_ws(c);
    }
}

/* From '[', move to element st->index. */
static int enter_index(struct cursor *c, const struct step *st)
{
    if (peek(c) != '[')
        return -ENOENT;
    adv(c);
    skip_ws(c);
    if (peek(c) == ']')
        return -ENOENT;
    for (size_t i = 0; i < st->index; i++) {
        int r = skip_value(c);
        if (r < 0)
            return r;
        skip_ws(c);
        int ch = peek(c);
        if (ch == ']')
            return -ENOENT;
        if (ch != ',')
            return -EINVAL;
        adv(c);
        skip_ws(c);
    }
    return 0;
}

int conf_pos_find(const char *text, size_t len, const char *path, enum conf_pos_what what,
                  struct conf_pos *pos)
{
    if (text == NULL || path == NULL || pos == NULL || path[0] != '$')
        return -EINVAL;
    struct cursor c = {.p = text, .end = text + len, .line = 1, .col = 1};
    skip_ws(&c);
    if (peek(&c) < 0)
        return -EINVAL;
    const char *pp = path + 1;
    struct step st;
    struct conf_pos keypos = {0, 0};
    bool last_is_key = false;
    int r;
    while ((r = next_step(&pp, &st)) == 1) {
        last_is_key = st.kind == STEP_KEY;
        r = last_is_key ? enter_key(&c, &st, &keypos) : enter_index(&c, &st);
        if (r < 0)
            return r;
    }
    if (r < 0)
        return r;
    if (what == CONF_POS_KEY) {
        if (!last_is_key)
            return -EINVAL;
        *pos = keypos;
    } else {
        pos->line = c.line;
        pos->col = c.col;
    }
    return 0;
}

/* One open container while walking towards an offset. */
struct frame {
    bool obj;
    bool has_key;   /* obj: a key was read and its value is current */
    size_t index;   /* array: current element */
    const char *ks; /* obj: current key's body */
    const char *ke;
};

#define PATH_AT_DEPTH 64

static int buf_add(char *buf, size_t bufsize, size_t *n, const char *s, size_t len)
{
    if (*n + len + 1 > bufsize)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < len; i++)
        buf[(*n)++] = s[i];
    buf[*n] = '\0';
    return 0;
}

bool conf_pos_key_is_plain(const char *key, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = key[i];
        bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '$';
        if (!alpha && !(i > 0 && ((ch >= '0' && ch <= '9') || ch == '-')))
            return false;
    }
    return n > 0;
}

static int frames_to_path(const struct frame *st, size_t depth, char *buf, size_t bufsize)
{
    size_t n = 0;
    int r = buf_add(buf, bufsize, &n, "$", 1);
    for (size_t i = 0; r == 0 && i < depth; i++) {
        const struct frame *f = &st[i];
        if (f->obj && !f->has_key)
            break;
        if (!f->obj) {
            char idx[32];
            size_t k = sizeof(idx);
            size_t v = f->index;
            idx[--k] = ']';
            do {
                idx[--k] = (char)('0' + v % 10);
                v /= 10;
            } while (v != 0);
            idx[--k] = '[';
            r = buf_add(buf, bufsize, &n, idx + k, sizeof(idx) - k);
        } else if (conf_pos_key_is_plain(f->ks, (size_t)(f->ke - f->ks))) {
            r = buf_add(buf, bufsize, &n, ".", 1);
            if (r == 0)
                r = buf_add(buf, bufsize, &n, f->ks, (size_t)(f->ke - f->ks));
        } else {
            /* The body is still JSON-escaped, which is what ["..."] expects. */
            r = buf_add(buf, bufsize, &n, "[\"", 2);
            if (r == 0)
                r = buf_add(buf, bufsize, &n, f->ks, (size_t)(f->ke - f->ks));
            if (r == 0)
                r = buf_add(buf, bufsize, &n, "\"]", 2);
        }
    }
    return r;
}

int conf_pos_path_at(const char *text, size_t len, size_t at, char *buf, size_t bufsize)
{
    if (text == NULL || buf == NULL || bufsize == 0)
        return -EINVAL;
    struct cursor c = {.p = text, .end = text + (at < len ? at : len), .line = 1, .col = 1};
    struct frame st[PATH_AT_DEPTH];
    size_t depth = 0;
    for (;;) {
        skip_ws(&c);
        int ch = peek(&c);
        if (ch < 0)
            break;
        struct frame *top = depth ? &st[depth - 1] : NULL;
        if (ch == '{' || ch == '[') {
            if (depth == PATH_AT_DEPTH)
                return -ENAMETOOLONG;
            st[depth++] = (struct frame){.obj = ch == '{'};
            adv(&c);
        } else if (ch == '}' || ch == ']') {
            if (top == NULL || top->obj != (ch == '}'))
                return -EINVAL;
            depth--;
            adv(&c);
        } else if (ch == ',') {
            if (top == NULL)
                return -EINVAL;
            if (top->obj)
                top->has_key = false;
            else
                top->index++;
            adv(&c);
        } else if (ch == ':') {
            adv(&c);
        } else if (ch == '"') {
            const char *s = c.p + 1;
            int r = skip_string(&c);
            if (r < 0)
                return r;
            if (top != NULL && top->obj && !top->has_key) {
                top->has_key = true;
                top->ks = s;
                top->ke = c.p - 1;
            }
        } else if (is_scalar_char(ch)) {
            while (is_scalar_char(peek(&c)))
                adv(&c);
        } else {
            return -EINVAL;
        }
    }
    return frames_to_path(st, depth, buf, bufsize);
}
