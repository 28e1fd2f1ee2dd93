/* query_edns.c: the query engine's EDNS stage: the server cookie (CK-1) and the OPT record
 * a response carries (ECS echo with its scope, NSID, COOKIE). */
#include <string.h>
#include <time.h>

#include "server/query_int.h"

/* CK-1 (RFC 7873, RFC 9018): the server cookie for the response: the query's own while it
 * is ours and fresh, else a new one. A bad one is answered as if only the client cookie
 * came (RFC 7873 5.2.3), never with BADCOOKIE. */
void query__cookie_stage(struct qctx *c)
{
    const struct conf_cookies *cc = &c->v->conf->cookies;
    if (!c->q.cookie || !cc->enabled)
        return;
    const uint8_t *ip = c->client.addr;
    size_t iplen = c->client.len;
    uint32_t now = c->req->now != 0 ? c->req->now : (uint32_t)time(NULL);
    enum cookie_verdict vd = COOKIE_BAD;
    if (c->q.cookie_server_len > 0)
        vd = cookie_check(cc->secret, c->q.cookie_client, c->q.cookie_server,
                          c->q.cookie_server_len, ip, iplen, now);
    if (vd == COOKIE_FRESH)
        memcpy(c->server_cookie, c->q.cookie_server, COOKIE_SERVER_LEN);
    else
        cookie_make(cc->secret, c->q.cookie_client, ip, iplen, now, c->server_cookie);
    c->cookie_out = true;
    c->valid_cookie = vd != COOKIE_BAD;
    if (c->st != NULL) {
        if (c->q.cookie_server_len == 0)
            STAT_ADD(c->st->cookie_client_only, 1);
        else if (c->valid_cookie)
            STAT_ADD(c->st->cookie_valid, 1);
        else
            STAT_ADD(c->st->cookie_invalid, 1);
    }
}

/* Our OPT record at the writer's end, with the options the query asked for. */
void query__write_opt(struct qctx *c)
{
    uint8_t *p = c->w.buf + c->w.len;
    const struct conf *cf = c->v->conf;
    p[0] = 0;
    wire_put16(p + 1, DNS_T_OPT);
    wire_put16(p + 3, cf->edns_max_udp);
    p[5] = (uint8_t)(c->rcode >> 4); /* extended RCODE, upper 8 bits */
    p[6] = 0;                        /* version 0 */
    /* DO echoed; CO (RFC 9824 4) echoed with it: we give NXDOMAIN back to such clients */
    p[7] = (uint8_t)((c->q.edns_do ? 0x80 : 0) | (c->q.edns_do && c->q.edns_co ? 0x40 : 0));
    p[8] = 0;
    size_t o = OPT_FIXED;
    if (c->q.ecs) {
        uint8_t nbytes = (uint8_t)((c->q.ecs_source + 7u) / 8u);
        wire_put16(p + o, EDNS_O_ECS);
        wire_put16(p + o + 2, (uint16_t)(4 + nbytes));
        wire_put16(p + o + 4, c->q.ecs_family);
        p[o + 6] = c->q.ecs_source;
        /* SCOPE: 0 for static data (ECS-5) and for SOURCE 0 (ECS-7) */
        p[o + 7] = c->q.ecs_source == 0 ? 0 : c->ecs_scope;
        memcpy(p + o + 8, c->q.ecs_addr, nbytes);
        o += 8u + nbytes;
    }
    if (c->q.nsid && cf->nsid_len > 0) {
        wire_put16(p + o, EDNS_O_NSID);
        wire_put16(p + o + 2, cf->nsid_len);
        memcpy(p + o + 4, cf->nsid, cf->nsid_len);
        o += 4u + cf->nsid_len;
    }
    if (c->cookie_out) {
        wire_put16(p + o, EDNS_O_COOKIE);
        wire_put16(p + o + 2, COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN);
        memcpy(p + o + 4, c->q.cookie_client, COOKIE_CLIENT_LEN);
        memcpy(p + o + 4 + COOKIE_CLIENT_LEN, c->server_cookie, COOKIE_SERVER_LEN);
        o += 4u + COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN;
    }
    c->opt_off = (uint16_t)c->w.len;
    wire_put16(p + 9, (uint16_t)(o - OPT_FIXED));
    c->w.len += o;
    c->ar++;
}
