/* wirecheck.c: batch front end of resp_check for scripts: hex query and response in, verdict out.
 *
 * Reads lines "QUERY_HEX RESPONSE_HEX LIMIT [DNSKEY_FILE]" from stdin (LIMIT: the largest
 * response size allowed, decimal) and prints one line for each, flushed at once: "ok", or
 * "bad: REASON" ("bad: DNSSEC: ..." for a signature's fault).
 * Signed answers (resp_check_dnssec): an answer to a DO query that carries RRSIGs is always
 * checked for shape: every RRset its signers' zones must sign has an RRSIG, every RRSIG
 * covers an RRset beside it with the owner's labels, the RRset's TTL, an original TTL not
 * below it and the zone's apex as signer, truncated or not. DNSKEY_FILE, a zone file
 * holding the DNSKEY RRset of the signed zone that answered, adds what only the keys tell:
 * each signature is verified with ldns at the current time, the RRsets of that zone must be
 * signed even when the answer carries no RRSIG at all, and an answer to a query without DO
 * may hold no RRSIG or NSEC.
 * A line that cannot be read gets "bad: input: ..." so the caller's line count stays in
 * step. Exits 0 at the end of input, 2 on a read error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/util/resp_check.h"
#include "test/util/resp_dnssec.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode the hex word at *s into out (cap bytes); *s moves past it. -1 when it is not hex. */
static long unhex(char **s, unsigned char *out, size_t cap)
{
    char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = 0;
    while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
        int hi = hexval((unsigned char)p[0]), lo = hi < 0 ? -1 : hexval((unsigned char)p[1]);
        if (hi < 0 || lo < 0 || n >= cap)
            return -1;
        out[n++] = (unsigned char)(hi << 4 | lo);
        p += 2;
    }
    *s = p;
    return (long)n;
}

static void check_line(char *line, unsigned char *q, unsigned char *r, size_t cap)
{
    char *p = line;
    long qn = unhex(&p, q, cap);
    long rn = qn < 0 ? -1 : unhex(&p, r, cap);
    if (qn < 0 || rn < 0) {
        printf("bad: input: not two hex fields\n");
        return;
    }
    char *end;
    errno = 0;
    unsigned long limit = strtoul(p, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    char *keys = *end != '\0' && *end != '\r' && *end != '\n' ? end : NULL;
    if (keys != NULL) { /* the DNSKEY file: up to the end of the line */
        end += strcspn(end, " \t\r\n");
        *end++ = '\0';
    }
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
        end++;
    if (end == p || *end != '\0' || errno != 0) {
        printf("bad: input: LIMIT is not a decimal number\n");
        return;
    }
    struct resp_info info;
    int rc = resp_check(q, (size_t)qn, r, (size_t)rn, limit, &info);
    static char last[4096];
    static ldns_rr_list *set;
    if (rc == 0 && keys == NULL) {
        rc = resp_check_dnssec(q, (size_t)qn, r, (size_t)rn, NULL, info.why, sizeof(info.why));
    } else if (rc == 0) {
        if (strcmp(last, keys) != 0) { /* read once while lines name the same file */
            ldns_rr_list_deep_free(set);
            set = NULL;
            snprintf(last, sizeof(last), "%s", keys);
            if (resp_dnssec_load_keys(keys, &set) < 0) {
                last[0] = '\0';
                printf("bad: input: no DNSKEY in %s\n", keys);
                return;
            }
        }
        rc = resp_check_dnssec(q, (size_t)qn, r, (size_t)rn, set, info.why, sizeof(info.why));
    }
    if (rc == 0)
        printf("ok\n");
    else if (rc == RESP_EDNSSEC)
        printf("bad: DNSSEC: %s\n", info.why);
    else
        printf("bad: %s: %s\n", resp_check_strerror(rc), info.why);
}

int main(void)
{
    size_t cap = 65536;
    unsigned char *q = malloc(cap), *r = malloc(cap);
    char *line = NULL;
    size_t linecap = 0;
    if (q == NULL || r == NULL)
        return 2;
    while (getline(&line, &linecap, stdin) >= 0) {
        check_line(line, q, r, cap);
        fflush(stdout);
    }
    int rc = ferror(stdin) ? 2 : 0;
    free(line);
    free(q);
    free(r);
    return rc;
}
