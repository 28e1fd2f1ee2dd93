/* conf_pos.h: finds the line and column of a value or key in JSON text, given its JSON path.
 * jansson keeps no positions for values, so config errors rescan the (already valid) text. */
#ifndef GSLBD_CONF_POS_H
#define GSLBD_CONF_POS_H

#include <stdbool.h>
#include <stddef.h>

/* What to locate at the end of the path: the value, or the key naming it (the key's
 * opening quote; only when the last path step is an object key). */
enum conf_pos_what { CONF_POS_VALUE, CONF_POS_KEY };

/* A 1-based position. Columns count Unicode characters, as jansson's error.column does. */
struct conf_pos {
    int line;
    int col;
};

/* Locate path in text[0..len), which must be valid JSON. A path is "$" followed by steps:
 * ".name" (name: any bytes but '.', '[' and NUL), "[N]" (array index), or ["json string"]
 * (an object key written as a JSON string literal, for keys that ".name" cannot spell).
 * Returns 0 and fills *pos, -EINVAL for a malformed path or text, -ENOENT if the path does
 * not exist in text. Borrows everything; allocates nothing. */
int conf_pos_find(const char *text, size_t len, const char *path, enum conf_pos_what what,
                  struct conf_pos *pos);

/* True if key (n bytes) may be written as ".key" in a path: [A-Za-z_$][A-Za-z0-9_$-]*.
 * Any other key is written ["key"], JSON-escaped. */
bool conf_pos_key_is_plain(const char *key, size_t n);

/* The reverse: write into buf the JSON path at byte offset at, i.e. of the last key or
 * array element begun before at (for a duplicate key jansson reports just past it, that is
 * the duplicate key's own path). Only text[0..at) is read: a valid JSON prefix that ends
 * between tokens, as jansson's error.position does. Returns 0, -EINVAL if it is not, or
 * -ENAMETOOLONG if buf is too small or nesting is deeper than 64. */
int conf_pos_path_at(const char *text, size_t len, size_t at, char *buf, size_t bufsize);

#endif
