/* api_metrics.c: GET /metrics: the counters of workers, GSLB answers, probes and reloads in
 * the Prometheus text format 0.0.4. */
#include "server/api/api_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "server/cluster.h"
#include "server/dnssec_online.h"
#include "server/dnssec_zone.h"
#include "server/loadinfo.h"
#include "server/notify.h"
#include "server/net/worker.h"

/* Indexed by enum query_qtype. */
static const char *const qtype_names[QUERY_QT_COUNT] = {"A",   "AAAA",  "MX",  "TXT", "NS",
                                                        "SOA", "CNAME", "SRV", "ANY", "other"};

static const char *const rcode_names[24] = {"NOERROR", "FORMERR", "SERVFAIL",      "NXDOMAIN",
                                            "NOTIMP",  "REFUSED", [16] = "BADVERS"};

static void family(struct api_buf *b, const char *name, const char *type, const char *help)
{
    api_buf_printf(b, "# HELP gslbd_%s %s\n# TYPE gslbd_%s %s\n", name, help, name, type);
}

/* A label value escaped as the format wants: backslash, double quote and newline. */
static void label(struct api_buf *b, const char *key, const char *val, bool last)
{
    api_buf_printf(b, "%s=\"", key);
    for (const char *p = val; *p != '\0'; p++) {
        if (*p == '\\' || *p == '"')
            api_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            api_buf_printf(b, "\\n");
        else
            api_buf_printf(b, "%c", *p);
    }
    api_buf_printf(b, "\"%s", last ? "" : ",");
}

static void worker_sums(const struct server *srv, struct query_stats *q, struct worker_io_stats *io)
{
    memset(q, 0, sizeof(*q));
    memset(io, 0, sizeof(*io));
    for (unsigned w = 0; w < srv->nworkers; w++) {
        if (srv->workers[w] == NULL)
            continue;
        struct query_stats s;
        struct worker_io_stats i;
        worker_stats(srv->workers[w], &s);
        worker_io_stats(srv->workers[w], &i);
        q->queries += s.queries;
        q->dropped += s.dropped;
        q->truncated += s.truncated;
        q->edns += s.edns;
        q->ecs += s.ecs;
        q->gslb_answers += s.gslb_answers;
        q->gslb_servfail += s.gslb_servfail;
        for (size_t k = 0; k < 24; k++)
            q->rcode[k] += s.rcode[k];
        for (size_t k = 0; k < QUERY_QT_COUNT; k++)
            q->qtype[k] += s.qtype[k];
        q->transport[0] += s.transport[0];
        q->transport[1] += s.transport[1];
        q->cookie_client_only += s.cookie_client_only;
        q->cookie_valid += s.cookie_valid;
        q->cookie_invalid += s.cookie_invalid;
        q->rrl_dropped += s.rrl_dropped;
        q->rrl_slipped += s.rrl_slipped;
        q->rrl_exempt += s.rrl_exempt;
        q->rrl_log_only += s.rrl_log_only;
        io->udp_received += i.udp_received;
        io->udp_sent += i.udp_sent;
        io->udp_dropped += i.udp_dropped;
        io->udp_send_dropped += i.udp_send_dropped;
        io->udp_send_errors += i.udp_send_errors;
        io->tcp_accepted += i.tcp_accepted;
        io->tcp_closed += i.tcp_closed;
        io->tcp_evicted += i.tcp_evicted;
        io->tcp_refused += i.tcp_refused;
        io->tcp_idle_timeouts += i.tcp_idle_timeouts;
        io->tcp_io_timeouts += i.tcp_io_timeouts;
        io->tcp_open += i.tcp_open;
    }
}

static void hardening_metrics(struct api_buf *b, const struct query_stats *q)
{
    family(b, "cookies_total", "counter", "Queries with a DNS COOKIE, by what it held.");
    api_buf_printf(b, "gslbd_cookies_total{kind=\"client_only\"} %llu\n",
                   (unsigned long long)q->cookie_client_only);
    api_buf_printf(b, "gslbd_cookies_total{kind=\"valid\"} %llu\n",
                   (unsigned long long)q->cookie_valid);
    api_buf_printf(b, "gslbd_cookies_total{kind=\"invalid\"} %llu\n",
                   (unsigned long long)q->cookie_invalid);
    family(b, "rrl_total", "counter", "Response rate limiting, by action.");
    api_buf_printf(b, "gslbd_rrl_total{action=\"dropped\"} %llu\n",
                   (unsigned long long)q->rrl_dropped);
    api_buf_printf(b, "gslbd_rrl_total{action=\"slipped\"} %llu\n",
                   (unsigned long long)q->rrl_slipped);
    api_buf_printf(b, "gslbd_rrl_total{action=\"exempt\"} %llu\n",
                   (unsigned long long)q->rrl_exempt);
    api_buf_printf(b, "gslbd_rrl_total{action=\"log_only\"} %llu\n",
                   (unsigned long long)q->rrl_log_only);
}

static void query_metrics(struct api_buf *b, const struct query_stats *q)
{
    family(b, "queries_total", "counter", "DNS queries received, by transport.");
    api_buf_printf(b, "gslbd_queries_total{transport=\"udp\"} %llu\n",
                   (unsigned long long)q->transport[QUERY_UDP]);
    api_buf_printf(b, "gslbd_queries_total{transport=\"tcp\"} %llu\n",
                   (unsigned long long)q->transport[QUERY_TCP]);
    family(b, "queries_by_type_total", "counter", "DNS queries with a question, by QTYPE.");
    for (size_t k = 0; k < QUERY_QT_COUNT; k++)
        api_buf_printf(b, "gslbd_queries_by_type_total{type=\"%s\"} %llu\n", qtype_names[k],
                       (unsigned long long)q->qtype[k]);
    family(b, "responses_total", "counter", "DNS responses sent, by RCODE.");
    for (size_t k = 0; k < 24; k++) {
        if (rcode_names[k] != NULL)
            api_buf_printf(b, "gslbd_responses_total{rcode=\"%s\"} %llu\n", rcode_names[k],
                           (unsigned long long)q->rcode[k]);
        else if (q->rcode[k] != 0)
            api_buf_printf(b, "gslbd_responses_total{rcode=\"%zu\"} %llu\n", k,
                           (unsigned long long)q->rcode[k]);
    }
    family(b, "dropped_total", "counter", "Queries dropped without an answer.");
    api_buf_printf(b, "gslbd_dropped_total %llu\n", (unsigned long long)q->dropped);
    family(b, "truncated_total", "counter", "Responses sent with TC=1.");
    api_buf_printf(b, "gslbd_truncated_total %llu\n", (unsigned long long)q->truncated);
    family(b, "edns_queries_total", "counter", "Queries with an EDNS OPT record.");
    api_buf_printf(b, "gslbd_edns_queries_total %llu\n", (unsigned long long)q->edns);
    family(b, "ecs_queries_total", "counter", "Queries with an EDNS Client Subnet option.");
    api_buf_printf(b, "gslbd_ecs_queries_total %llu\n", (unsigned long long)q->ecs);
    family(b, "gslb_decisions_total", "counter", "A/AAAA queries decided by a GSLB service.");
    api_buf_printf(b, "gslbd_gslb_decisions_total %llu\n", (unsigned long long)q->gslb_answers);
    family(b, "gslb_servfail_total", "counter",
           "GSLB answers that were SERVFAIL because every cluster was down.");
    api_buf_printf(b, "gslbd_gslb_servfail_total %llu\n", (unsigned long long)q->gslb_servfail);
}

static void io_metrics(struct api_buf *b, const struct worker_io_stats *io)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } rows[] = {
        {"udp_received_total", "UDP datagrams read.",
         offsetof(struct worker_io_stats, udp_received)},
        {"udp_sent_total", "UDP answers the kernel accepted.",
         offsetof(struct worker_io_stats, udp_sent)},
        {"udp_send_dropped_total", "UDP answers dropped: socket buffer full.",
         offsetof(struct worker_io_stats, udp_send_dropped)},
        {"udp_send_errors_total", "UDP answers dropped: other send errors.",
         offsetof(struct worker_io_stats, udp_send_errors)},
        {"tcp_accepted_total", "TCP connections accepted.",
         offsetof(struct worker_io_stats, tcp_accepted)},
        {"tcp_closed_total", "TCP connections closed, for any reason.",
         offsetof(struct worker_io_stats, tcp_closed)},
        {"tcp_evicted_total", "Idle TCP connections closed to admit a new client.",
         offsetof(struct worker_io_stats, tcp_evicted)},
        {"tcp_refused_total", "TCP connections closed at accept: at the limit.",
         offsetof(struct worker_io_stats, tcp_refused)},
        {"tcp_idle_timeouts_total", "TCP connections closed: idle too long.",
         offsetof(struct worker_io_stats, tcp_idle_timeouts)},
        {"tcp_io_timeouts_total", "TCP connections closed: a message took too long.",
         offsetof(struct worker_io_stats, tcp_io_timeouts)},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t v;
        memcpy(&v, (const char *)io + rows[i].off, sizeof(v));
        family(b, rows[i].name, "counter", rows[i].help);
        api_buf_printf(b, "gslbd_%s %llu\n", rows[i].name, (unsigned long long)v);
    }
    family(b, "tcp_connections", "gauge", "TCP connections open now.");
    api_buf_printf(b, "gslbd_tcp_connections %llu\n", (unsigned long long)io->tcp_open);
}

static void cluster_metrics(struct api_buf *b, const struct gslb *g, const uint64_t *totals)
{
    family(b, "gslb_answers_total", "counter",
           "GSLB answers per cluster since gslbd started (carried across reloads by name).");
    for (size_t ci = 0; ci < g->nclusters; ci++) {
        api_buf_printf(b, "gslbd_gslb_answers_total{");
        label(b, "cluster", g->clusters[ci].name, false);
        label(b, "region", g->region_names[g->clusters[ci].region], true);
        api_buf_printf(b, "} %llu\n", (unsigned long long)totals[ci]);
    }
    family(b, "cluster_up", "gauge",
           "1 when the cluster may answer (health and admin state), else 0.");
    for (size_t ci = 0; ci < g->nclusters; ci++) {
        api_buf_printf(b, "gslbd_cluster_up{");
        label(b, "cluster", g->clusters[ci].name, true);
        api_buf_printf(b, "} %d\n", gslb_cluster_up(g, (uint32_t)ci) ? 1 : 0);
    }
    family(b, "cluster_admin_state", "gauge", "1 for the cluster's admin state (POL-7).");
    static const enum gslb_admin states[] = {GSLB_ADMIN_AUTO, GSLB_ADMIN_UP, GSLB_ADMIN_DOWN,
                                             GSLB_ADMIN_DRAIN};
    for (size_t ci = 0; ci < g->nclusters; ci++) {
        enum gslb_admin adm = (enum gslb_admin)atomic_load(&g->admin[ci]);
        for (size_t k = 0; k < 4; k++) {
            api_buf_printf(b, "gslbd_cluster_admin_state{");
            label(b, "cluster", g->clusters[ci].name, false);
            label(b, "state", gslb_admin_name(states[k]), true);
            api_buf_printf(b, "} %d\n", adm == states[k] ? 1 : 0);
        }
    }
}

/* One gauge family over every probe target (probes lock held). */
static void probe_family(struct api_buf *b, const struct probes *p, const struct view *v,
                         const struct hc_status *st, const char *name, const char *type,
                         const char *help, int which)
{
    family(b, name, type, help);
    for (size_t t = 0; t < p->ntargets; t++) {
        const struct probe_target_info *ti = &p->info[t];
        api_buf_printf(b, "gslbd_%s{", name);
        label(b, "cluster", v->gslb->clusters[ti->cluster].name, false);
        label(b, "address", v->gslb->addrs[ti->addr].text, false);
        label(b, "check", v->conf->checks[ti->check].name, true);
        if (which == 0)
            api_buf_printf(b, "} %.3f\n", st[t].last_latency_ms / 1000.0);
        else if (which == 1)
            api_buf_printf(b, "} %d\n", st[t].up ? 1 : 0);
        else if (which == 2)
            api_buf_printf(b, "} %llu\n", (unsigned long long)st[t].probes);
        else
            api_buf_printf(b, "} %llu\n", (unsigned long long)st[t].failures);
    }
}

static void probe_metrics(struct api_buf *b, struct probes *p, const struct view *v)
{
    pthread_mutex_lock(&p->lock);
    uint64_t transitions = p->transitions;
    size_t n = p->set != NULL && p->gslb == v->gslb ? p->ntargets : 0;
    struct hc_status *st = calloc(n + 1, sizeof(*st));
    if (st != NULL) {
        for (size_t t = 0; t < n; t++)
            hc_target_status(p->set, t, &st[t]);
        if (n > 0) {
            probe_family(b, p, v, st, "probe_latency_seconds", "gauge",
                         "Duration of the target's last probe.", 0);
            probe_family(b, p, v, st, "probe_up", "gauge",
                         "1 when the target is up (fall/rise applied), else 0.", 1);
            probe_family(b, p, v, st, "probes_total", "counter", "Probe results recorded.", 2);
            probe_family(b, p, v, st, "probe_failures_total", "counter",
                         "Failed probe results, timeouts included.", 3);
        }
    } else {
        b->oom = true;
    }
    pthread_mutex_unlock(&p->lock);
    free(st);
    family(b, "health_transitions_total", "counter", "Probe targets that changed state.");
    api_buf_printf(b, "gslbd_health_transitions_total %llu\n", (unsigned long long)transitions);
}

/* What an operator alerts on: services with every cluster down, zone serials, the GeoIP
 * database's age, decisions per service (view held). */
/* Each signed zone's keys (one info series per key) and when its signatures expire. */
static void dnssec_key_metrics(struct api_buf *b, const struct view *v)
{
    int64_t now = (int64_t)time(NULL);
    family(b, "dnssec_key_info", "gauge",
           "A key of a signed zone: its role (csk, ksk, zsk) and state (published, active, "
           "retired); always 1.");
    for (size_t i = 0; i < v->nzones; i++) {
        const struct dnssec_zone *s = zone_dnssec(v->zones[i]);
        const struct dnssec_keyset *ks = s != NULL ? dnssec_zone_keys(s) : NULL;
        for (size_t k = 0; ks != NULL && k < ks->n; k++) {
            const struct dnssec_keyent *e = &ks->k[k];
            char tag[8], alg[4];
            snprintf(tag, sizeof(tag), "%u", e->key.tag);
            snprintf(alg, sizeof(alg), "%u", e->key.alg);
            api_buf_printf(b, "gslbd_dnssec_key_info{");
            label(b, "zone", v->conf->zones[i].origin, false);
            label(b, "tag", tag, false);
            label(b, "role", dnssec_role_name(e->role), false);
            label(b, "algorithm", alg, false);
            label(b, "state", dnssec_keyent_state(e, now), true);
            api_buf_printf(b, "} 1\n");
        }
    }
    family(b, "dnssec_signature_expiration_timestamp_seconds", "gauge",
           "When the signatures a signed zone serves now expire (they are renewed when a "
           "quarter of their validity is left).");
    for (size_t i = 0; i < v->nzones; i++) {
        const struct dnssec_zone *s = zone_dnssec(v->zones[i]);
        if (s == NULL)
            continue;
        api_buf_printf(b, "gslbd_dnssec_signature_expiration_timestamp_seconds{");
        label(b, "zone", v->conf->zones[i].origin, true);
        api_buf_printf(b, "} %u\n", dnssec_zone_expiration(s));
    }
}

static void ops_metrics(struct api_buf *b, const struct view *v)
{
    const struct gslb *g = v->gslb;
    family(b, "service_all_down", "gauge",
           "1 while every cluster of the service is down (it fails open or answers SERVFAIL).");
    for (size_t si = 0; si < g->nservices; si++) {
        const struct gslb_service *s = &g->services[si];
        bool any_up = false;
        for (uint32_t k = 0; k < s->nclusters && !any_up; k++)
            any_up = gslb_cluster_up(g, s->clusters[k]);
        api_buf_printf(b, "gslbd_service_all_down{");
        label(b, "service", s->name, true);
        api_buf_printf(b, "} %d\n", any_up ? 0 : 1);
    }
    family(b, "service_answers_total", "counter",
           "GSLB decisions per service: answered (a cluster chosen) or servfail.");
    for (size_t si = 0; si < g->nservices; si++) {
        uint64_t ans, sf;
        gslb_service_answers(g, (uint32_t)si, &ans, &sf);
        api_buf_printf(b, "gslbd_service_answers_total{");
        label(b, "service", g->services[si].name, false);
        api_buf_printf(b, "result=\"answered\"} %llu\n", (unsigned long long)ans);
        api_buf_printf(b, "gslbd_service_answers_total{");
        label(b, "service", g->services[si].name, false);
        api_buf_printf(b, "result=\"servfail\"} %llu\n", (unsigned long long)sf);
    }
    family(b, "zone_serial", "gauge", "SOA serial of each zone served.");
    for (size_t zi = 0; zi < v->nzones; zi++) {
        char name[300];
        loadinfo_zone_name(v, zi, name, sizeof(name));
        api_buf_printf(b, "gslbd_zone_serial{");
        label(b, "zone", name, true);
        api_buf_printf(b, "} %u\n", v->zones[zi]->serial);
    }
    struct dnssec_online_stats ds;
    dnssec_online_totals(&ds);
    family(b, "dnssec_signatures_total", "counter",
           "Signatures answers needed while answering (compact denial): from a worker's "
           "cache, signed then, or refused over the signing budget (SERVFAIL).");
    api_buf_printf(b, "gslbd_dnssec_signatures_total{result=\"cached\"} %llu\n",
                   (unsigned long long)ds.hits);
    api_buf_printf(b, "gslbd_dnssec_signatures_total{result=\"signed\"} %llu\n",
                   (unsigned long long)ds.misses);
    api_buf_printf(b, "gslbd_dnssec_signatures_total{result=\"refused\"} %llu\n",
                   (unsigned long long)ds.refused);
    dnssec_key_metrics(b, v);
    struct geo_db_info di;
    geo_db_info(g->geo, &di);
    if (di.loaded) {
        family(b, "geoip_build_timestamp_seconds", "gauge",
               "Build time of the GeoIP database (its metadata build_epoch).");
        api_buf_printf(b, "gslbd_geoip_build_timestamp_seconds %llu\n",
                       (unsigned long long)di.build_epoch);
        family(b, "geoip_nodes", "gauge", "Search tree nodes of the GeoIP database.");
        api_buf_printf(b, "gslbd_geoip_nodes %u\n", di.node_count);
    }
}

/* The Prometheus client convention's process metrics (Linux /proc). */
static void process_metrics(struct api_buf *b)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = -1;
        fclose(f);
    }
    long fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        for (struct dirent *de; (de = readdir(d)) != NULL;)
            fds += de->d_name[0] != '.';
        closedir(d);
        fds--; /* the directory's own descriptor */
    }
    struct rlimit rl;
    if (rss >= 0 && f != NULL) {
        api_buf_printf(b,
                       "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                       "# TYPE process_resident_memory_bytes gauge\n"
                       "process_resident_memory_bytes %lld\n",
                       (long long)rss * sysconf(_SC_PAGESIZE));
        api_buf_printf(b,
                       "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                       "# TYPE process_virtual_memory_bytes gauge\n"
                       "process_virtual_memory_bytes %lld\n",
                       (long long)pages * sysconf(_SC_PAGESIZE));
    }
    if (d != NULL)
        api_buf_printf(b,
                       "# HELP process_open_fds Number of open file descriptors.\n"
                       "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n",
                       fds);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        api_buf_printf(b,
                       "# HELP process_max_fds Maximum number of open file descriptors.\n"
                       "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
                       (unsigned long long)rl.rlim_cur);
}

enum MHD_Result api_metrics(struct api *a, struct MHD_Connection *c)
{
    struct control *ctl = a->ctl;
    struct api_buf b = {NULL, 0, 0, false};
    struct query_stats q;
    struct worker_io_stats io;
    worker_sums(a->srv, &q, &io);

    family(&b, "build_info", "gauge", "Always 1; the version is a label.");
    api_buf_printf(&b, "gslbd_build_info{version=\"%s\"} 1\n", a->info.version);
    family(&b, "uptime_seconds", "gauge", "Seconds since gslbd started.");
    api_buf_printf(&b, "gslbd_uptime_seconds %.3f\n",
                   (double)(api_mono_ms() - a->info.started_mono_ms) / 1000.0);
    query_metrics(&b, &q);
    hardening_metrics(&b, &q);
    io_metrics(&b, &io);
    family(&b, "reloads_total", "counter", "Successful reloads.");
    api_buf_printf(&b, "gslbd_reloads_total %lu\n", atomic_load(&ctl->reloads));
    family(&b, "reload_failures_total", "counter", "Rejected reloads (the old data kept serving).");
    api_buf_printf(&b, "gslbd_reload_failures_total %lu\n", atomic_load(&ctl->reload_failures));
    family(&b, "reload_last_success_timestamp_seconds", "gauge",
           "When the configuration last loaded successfully (start or reload).");
    api_buf_printf(&b, "gslbd_reload_last_success_timestamp_seconds %.3f\n",
                   (double)notify_last_success_ms() / 1000.0);
    process_metrics(&b);

    pthread_mutex_lock(&ctl->reload_lock); /* the view cannot be swapped or freed meanwhile */
    const struct view *v = atomic_load(&a->srv->view);
    family(&b, "reload_last_successful", "gauge",
           "1 when the last reload (or the start) succeeded, 0 when it was rejected.");
    api_buf_printf(&b, "gslbd_reload_last_successful %d\n", ctl->last_reload_error[0] == '\0');
    uint64_t *totals = calloc(v->gslb->nclusters + 1, sizeof(*totals));
    bool ok = totals != NULL;
    if (ok) {
        api_share_totals(a, totals, v->gslb->nclusters);
        cluster_metrics(&b, v->gslb, totals);
        ops_metrics(&b, v);
        probe_metrics(&b, &ctl->probes, v);
    }
    pthread_mutex_unlock(&ctl->reload_lock);
    free(totals);
    if (ctl->cluster != NULL) { /* cluster mode (cluster.h) */
        char text[4096];
        cluster_metrics_text(ctl->cluster, text, sizeof(text));
        api_buf_printf(&b, "%s", text);
    }

    if (b.oom || !ok) {
        free(b.p);
        return api_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    return api_reply_take(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
}
