/* main.c: command line, start-up, the control loop (signals, reload) and shutdown. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "server/api/api.h"
#include "server/conf/conf.h"
#include "server/cluster.h"
#include "server/control.h"
#include "server/cookie.h"
#include "server/ctl.h"
#include "server/dnssec.h"
#include "server/explain.h"
#include "server/jsonfmt.h"
#include "server/log.h"
#include "server/notify.h"
#include "server/dnssec_keys.h"
#include "server/dnssec_zone.h"
#include "server/privcheck.h"
#include "server/server.h"
#include "server/view.h"
#include "server/net/worker.h"

#define GSLBD_VERSION "0.1.0"

struct zone_arg {
    const char *origin;
    const char *file;
};

/* What the command line asked for; kept so SIGHUP can rebuild the same way. */
struct opts {
    const char *conf_path;
    bool check;
    struct zone_arg zones[64];
    size_t nzones;
    const char *listen[16];
    size_t nlisten;
    int workers; /* -1 = from config */
    const char *nsid;
    int log_level;          /* -1 = from config */
    const char *explain[4]; /* NAME TYPE CLIENT [ECS] */
    const char *assume_down;
    const char *admin;                             /* CLUSTER=STATE */
    const char *dump_zone;                         /* --dump-zone ORIGIN */
    const char *user;                              /* drop to this user once sockets are bound */
    const char *api;                               /* ADDR:PORT for the HTTP API */
    uint8_t cookie_secret[CONF_COOKIE_SECRET_LEN]; /* the process's, when no secret_file */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gslbd -c FILE [--check]\n"
            "       gslbd --zone ORIGIN=FILE [--zone ...] --listen ADDR:PORT [--listen ...]\n"
            "       gslbd ctl [-c FILE] status|reload|drain|undrain|up|down|auto|explain ...\n"
            "options:\n"
            "  -c, --config FILE     JSON configuration (see docs/config.md)\n"
            "      --check           validate config and zones, then exit 0 or 1\n"
            "      --dump-zone ORIGIN  print the zone as served, with its signatures and an\n"
            "                        NSEC chain for zone checkers (dnssec-verify), then exit\n"
            "      --zone ORIGIN=FILE  serve a zone file without a config file\n"
            "      --listen ADDR:PORT  listen address (UDP and TCP); [V6]:PORT for IPv6\n"
            "      --workers N       DNS worker threads (0 = one per CPU)\n"
            "      --nsid TEXT       NSID to answer with (RFC 5001)\n"
            "      --api ADDR:PORT   HTTP API and dashboard here (replaces api.listen)\n"
            "      --explain NAME TYPE CLIENT [ECS]  print what would be answered and why\n"
            "      --assume-down C1,C2  with --explain: treat these clusters as down\n"
            "      --admin CLUSTER=STATE  set auto|up|down|drain in the state file, then exit\n"
            "      --reload-wait PID  SIGHUP that gslbd, wait for its reload, exit 0 or 1\n"
            "      --keygen ZONE DIR [--algorithm ed25519] [--zsk]\n"
            "                         write a DNSSEC key for ZONE to DIR, print DNSKEY and DS\n"
            "      --ds-seen KEY_DIR ZONE TAG\n"
            "                         the parent publishes the DS of KSK TAG (a KSK roll goes on)\n"
            "  -u, --user NAME       drop to this user (and its groups) once sockets are bound\n"
            "  -d, --debug           debug logging\n"
            "  -q, --quiet           warnings and errors only\n"
            "  -V, --version         print the version\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"check", no_argument, NULL, 'C'},
                                             {"zone", required_argument, NULL, 'z'},
                                             {"listen", required_argument, NULL, 'l'},
                                             {"workers", required_argument, NULL, 'w'},
                                             {"nsid", required_argument, NULL, 'n'},
                                             {"debug", no_argument, NULL, 'd'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"version", no_argument, NULL, 'V'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"explain", required_argument, NULL, 'e'},
                                             {"assume-down", required_argument, NULL, 'a'},
                                             {"admin", required_argument, NULL, 'A'},
                                             {"api", required_argument, NULL, 'H'},
                                             {"user", required_argument, NULL, 'u'},
                                             {"dump-zone", required_argument, NULL, 'D'},
                                             {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof(*o));
    o->workers = -1;
    o->log_level = -1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:dqVhu:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->conf_path = optarg;
            break;
        case 'C':
            o->check = true;
            break;
        case 'D':
            o->dump_zone = optarg;
            break;
        case 'z': {
            char *eq = strchr(optarg, '=');
            if (eq == NULL || eq == optarg || eq[1] == '\0') {
                fprintf(stderr, "gslbd: --zone wants ORIGIN=FILE, got '%s'\n", optarg);
                return GSLBD_EINVAL;
            }
            if (o->nzones == sizeof(o->zones) / sizeof(o->zones[0])) {
                fprintf(stderr, "gslbd: too many --zone options\n");
                return GSLBD_EINVAL;
            }
            *eq = '\0';
            o->zones[o->nzones].origin = optarg;
            o->zones[o->nzones++].file = eq + 1;
            break;
        }
        case 'l':
            if (o->nlisten == sizeof(o->listen) / sizeof(o->listen[0])) {
                fprintf(stderr, "gslbd: too many --listen options\n");
                return GSLBD_EINVAL;
            }
            o->listen[o->nlisten++] = optarg;
            break;
        case 'w': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end != '\0' || n < 0 || n > 256) {
                fprintf(stderr, "gslbd: --workers wants 0..256, got '%s'\n", optarg);
                return GSLBD_EINVAL;
            }
            o->workers = (int)n;
            break;
        }
        case 'n':
            o->nsid = optarg;
            break;
        case 'e': /* NAME, then TYPE CLIENT [ECS] as following arguments */
            o->explain[0] = optarg;
            for (int k = 1; k < 4 && optind < argc && argv[optind][0] != '-'; k++)
                o->explain[k] = argv[optind++];
            if (o->explain[2] == NULL) {
                fprintf(stderr, "gslbd: --explain wants NAME TYPE CLIENT [ECS]\n");
                return GSLBD_EINVAL;
            }
            break;
        case 'a':
            o->assume_down = optarg;
            break;
        case 'u':
            o->user = optarg;
            break;
        case 'A':
            o->admin = optarg;
            break;
        case 'H':
            o->api = optarg;
            break;
        case 'd':
            o->log_level = LOG_DEBUG;
            break;
        case 'q':
            o->log_level = LOG_WARN;
            break;
        case 'V':
            printf("gslbd %s\n", GSLBD_VERSION);
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return GSLBD_EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gslbd: unexpected argument '%s'\n", argv[optind]);
        return GSLBD_EINVAL;
    }
    if (o->conf_path == NULL && o->nzones == 0) {
        fprintf(stderr, "gslbd: give -c FILE, or --zone ORIGIN=FILE with --listen ADDR:PORT\n");
        return GSLBD_EINVAL;
    }
    if (o->conf_path != NULL && o->nzones > 0) {
        fprintf(stderr, "gslbd: --zone and -c do not mix; put the zones in the config\n");
        return GSLBD_EINVAL;
    }
    if (o->conf_path == NULL && o->nlisten == 0 && !o->check) {
        fprintf(stderr, "gslbd: --zone needs at least one --listen ADDR:PORT\n");
        return GSLBD_EINVAL;
    }
    return 0;
}

/* Build the configuration the options describe (config file plus overrides). */
static int build_conf(const struct opts *o, struct conf **out, struct err *e)
{
    struct conf *c = NULL;
    int rc = o->conf_path != NULL ? conf_load_file(o->conf_path, &c, e) : conf_new(&c);
    if (rc < 0) {
        if (o->conf_path == NULL)
            err_set(e, rc, NULL, 0, 0, "out of memory");
        return rc;
    }
    for (size_t i = 0; i < o->nzones && rc == 0; i++)
        rc = conf_add_zone(c, o->zones[i].origin, o->zones[i].file, e);
    if (o->nlisten > 0 && rc == 0) {
        c->nlisten = 0; /* --listen replaces the config's addresses */
        for (size_t i = 0; i < o->nlisten && rc == 0; i++)
            rc = conf_add_listen(c, o->listen[i], e);
    }
    if (o->workers >= 0)
        c->workers = (unsigned)o->workers;
    c->dnssec_readonly = o->check || o->admin != NULL || o->dump_zone != NULL;
    /* one random cookie secret for the life of the process, so reloads keep cookies valid */
    if (!c->cookies.secret_set)
        memcpy(c->cookies.secret, o->cookie_secret, sizeof(c->cookies.secret));
    if (o->api != NULL && rc == 0)
        rc = conf_set_api(c, o->api, e);
    if (o->nsid != NULL && rc == 0) {
        size_t n = strlen(o->nsid);
        if (n == 0 || n > sizeof(c->nsid))
            rc = err_set(e, GSLBD_EINVAL, NULL, 0, 0, "--nsid wants 1..%zu bytes", sizeof(c->nsid));
        else {
            memcpy(c->nsid, o->nsid, n);
            c->nsid_len = (uint8_t)n;
        }
    }
    if (rc < 0) {
        conf_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int build_view(const struct opts *o, struct view **out, struct err *e)
{
    struct conf *c;
    int rc = build_conf(o, &c, e);
    if (rc < 0)
        return rc;
    return view_build(c, out, e);
}

/* gslbd --dump-zone ORIGIN (dnssec_dump.c): the zone as served, on stdout. */
static int dump_zone(struct view *v, const char *origin)
{
    struct err e = {{0}};
    size_t n = strlen(origin);
    int rc = GSLBD_EINVAL;
    for (size_t i = 0; i < v->nzones; i++) {
        const char *o = v->conf->zones[i].origin;
        size_t m = strlen(o);
        if (m > 0 && o[m - 1] == '.')
            m--;
        if ((n == m || (n == m + 1 && origin[m] == '.')) && strncasecmp(o, origin, m) == 0) {
            rc = dnssec_dump_zone(v->zones[i], stdout, &e);
            break;
        }
    }
    if (rc == GSLBD_EINVAL && e.msg[0] == '\0')
        snprintf(e.msg, sizeof(e.msg), "no zone %s in the configuration", origin);
    if (rc < 0 || fflush(stdout) != 0)
        fprintf(stderr, "gslbd: --dump-zone: %s\n", e.msg[0] != '\0' ? e.msg : "cannot write");
    view_free(v);
    return rc < 0 ? 1 : 0;
}

/* In the --user child (privcheck.c): what a reload reads, read as that user. */
static int user_can_reload(void *arg, struct err *e)
{
    struct conf *c = NULL;
    int rc = build_conf(arg, &c, e);
    if (rc == 0)
        rc = privcheck_conf_files(c, e);
    conf_free(c);
    return rc;
}

/* --admin in cluster mode: write the state to etcd, which every instance watches. */
static int admin_shared(const struct view *v, const char *name, enum gslb_admin a)
{
    char who[128], err[300];
    const char *user = getenv("SUDO_USER") != NULL ? getenv("SUDO_USER") : getenv("USER");
    snprintf(who, sizeof(who), "--admin uid %u%s%s", (unsigned)getuid(), user ? " " : "",
             user ? user : "");
    if (cluster_admin_put_once(&v->conf->shared, name, a, who, "", err, sizeof(err)) < 0) {
        fprintf(stderr, "gslbd: --admin: etcd: %s\n", err);
        return 1;
    }
    printf("gslbd: %s is now %s in etcd (every instance applies it)\n", name, gslb_admin_name(a));
    return 0;
}

/* --admin CLUSTER=STATE: update the state file the running server reads on SIGHUP. */
static int set_admin(struct view *v, const char *arg)
{
    char name[256];
    const char *eq = strchr(arg, '=');
    enum gslb_admin a;
    int status = 1;
    struct err e = {{0}};
    if (eq == NULL || (size_t)(eq - arg) >= sizeof(name) || gslb_admin_parse(eq + 1, &a) < 0) {
        fprintf(stderr, "gslbd: --admin wants CLUSTER=auto|up|down|drain\n");
    } else if (v->conf->state_file == NULL && !v->conf->shared.enabled) {
        fprintf(stderr, "gslbd: --admin needs \"state_file\" (or \"cluster\") in the config\n");
    } else {
        memcpy(name, arg, (size_t)(eq - arg));
        name[eq - arg] = '\0';
        int32_t ci = gslb_find_cluster(v->gslb, name);
        if (ci < 0) {
            fprintf(stderr, "gslbd: --admin: no cluster named '%s'\n", name);
        } else if (v->conf->shared.enabled) {
            status = admin_shared(v, name, a); /* cluster.h: every instance applies it */
        } else {
            atomic_store(&v->gslb->admin[ci], (uint8_t)a);
            char by[128];
            ctl_whoami(by, sizeof(by));
            if (gslb_state_save_by(v->gslb, v->conf->state_file, by, &e) < 0) {
                fprintf(stderr, "gslbd: %s\n", e.msg);
            } else {
                printf("gslbd: %s is now %s in %s (send SIGHUP to a running gslbd)\n", name,
                       gslb_admin_name(a), v->conf->state_file);
                status = 0;
            }
        }
    }
    view_free(v);
    return status;
}

static unsigned worker_count(const struct conf *c)
{
    if (c->workers > 0)
        return c->workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* What the control loop needs from main: rebuilding views and starting workers. */
struct runtime {
    const struct opts *opts;
    struct server *srv;
    unsigned started;
    struct control *ctl;
    struct api *api;
    uint64_t started_mono_ms;
};

static int rebuild(void *arg, struct view **out, struct err *e)
{
    struct runtime *rt = arg;
    int rc = build_view(rt->opts, out, e);
    if (rc == 0 && gslb_set_rows((*out)->gslb, rt->srv->nreaders) < 0) {
        view_free(*out);
        *out = NULL;
        return err_oom(e, NULL);
    }
    return rc;
}

/* Least privilege: once every socket is bound, become user (and its groups) for good. */
static int drop_privileges(const char *user, struct err *e)
{
    struct passwd *pw = getpwnam(user);
    if (pw == NULL)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "--user: no user named '%s'", user);
    if (getuid() != 0 && geteuid() != 0) {
        if (geteuid() == pw->pw_uid)
            return 0;
        return err_set(e, -EPERM, NULL, 0, 0, "--user %s: not running as root", user);
    }
    if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
        return err_set(e, -errno, NULL, 0, 0, "--user %s: %s", user, strerror(errno));
    if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        return err_set(e, -EPERM, NULL, 0, 0, "--user %s: root could be regained", user);
    log_info("running as user %s (uid %u, gid %u)", user, (unsigned)pw->pw_uid,
             (unsigned)pw->pw_gid);
    return 0;
}

static int start_workers(void *arg, struct err *e)
{
    struct runtime *rt = arg;
    struct server *srv = rt->srv;
    for (; rt->started < srv->nworkers; rt->started++) {
        int rc = worker_start(srv, rt->started, &srv->workers[rt->started], e);
        if (rc < 0)
            return rc;
    }
    const struct conf *c = atomic_load(&srv->view)->conf;
    for (size_t i = 0; i < c->nlisten; i++)
        log_info("listening on %s (udp, tcp) with %u worker(s)", c->listen[i].text, srv->nworkers);
    struct api_info info = {GSLBD_VERSION, rt->started_mono_ms};
    int rc = api_start(rt->ctl, srv, &info, &rt->api, e);
    if (rc < 0)
        return rc;
    if (rt->opts->user != NULL && (rc = drop_privileges(rt->opts->user, e)) < 0)
        return rc;
    log_info("gslbd %s ready", GSLBD_VERSION);
    notify_ready(atomic_load(&srv->view));
    return 0;
}

/* Before the control loop goes: the API may be waiting on it (a reload). */
static void stop_api(void *arg)
{
    struct runtime *rt = arg;
    notify_stopping();
    api_stop(rt->api);
    rt->api = NULL;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int main(int argc, char **argv)
{
    uint64_t started_mono_ms = mono_ms();
    if (argc > 1 && strcmp(argv[1], "ctl") == 0) /* the client: ctl.c */
        return ctl_main(argc - 1, argv + 1);
    struct opts o;
    if (argc == 3 && strcmp(argv[1], "--reload-wait") == 0) /* the unit's ExecReload= */
        return notify_reload_wait(argv[2]);
    if (argc > 1 && strcmp(argv[1], "--keygen") == 0) { /* dnssec_key.c */
        return dnssec_keygen_main(argc - 2, argv + 2);
    }
    if (argc > 1 && strcmp(argv[1], "--ds-seen") == 0) /* dnssec_keys.c */
        return dnssec_ds_seen_main(argc - 2, argv + 2);
    if (parse_opts(argc, argv, &o) < 0)
        return 2;
    if (o.log_level >= 0)
        log_set_level((enum log_level)o.log_level);
    signal(SIGPIPE, SIG_IGN);
    int crc = cookie_secret_random(o.cookie_secret);
    if (crc < 0) {
        log_fatal("no random cookie secret: %s", gslbd_strerror(crc));
        return 1;
    }

    struct view *v = NULL;
    struct err e = {{0}};
    if (o.user != NULL && geteuid() == 0) { /* private files must be the user's (issue 12.8) */
        struct passwd *pw = getpwnam(o.user);
        if (pw == NULL) {
            fprintf(stderr, "gslbd: --user: no user named '%s'\n", o.user);
            return 1;
        }
        conf_set_run_as((long)pw->pw_uid);
    }
    if (build_view(&o, &v, &e) < 0) {
        log_fatal("%s", e.msg);
        return 1;
    }
    if (o.log_level < 0)
        log_set_level((enum log_level)v->conf->log_level);
    if (o.explain[0] != NULL) {
        struct explain_req er = {.name = o.explain[0],
                                 .type = o.explain[1],
                                 .client = o.explain[2],
                                 .ecs = o.explain[3],
                                 .assume_down = o.assume_down,
                                 .offline = true};
        json_t *j = NULL;
        int rc = explain_query(v, &er, &j, &e);
        if (rc == 0) {
            jsonfmt_round(j);
            json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSONFMT_FLAGS);
            printf("\n");
            json_decref(j);
        } else {
            log_fatal("--explain: %s", e.msg);
        }
        view_free(v);
        return rc == 0 ? 0 : 1;
    }
    if (o.admin != NULL)
        return set_admin(v, o.admin);
    if (o.dump_zone != NULL)
        return dump_zone(v, o.dump_zone);
    /* --user: reloads run as that user; refuse now what they could not read (issue 12.8) */
    if (o.user != NULL && geteuid() == 0 &&
        privcheck_as_user(o.user, user_can_reload, &o, &e) < 0) {
        fprintf(stderr, "gslbd: %s\n", e.msg);
        view_free(v);
        return 1;
    }
    if (o.check) {
        printf("gslbd: %s: configuration and %zu zone(s) OK\n",
               o.conf_path != NULL ? o.conf_path : "command line", v->nzones);
        view_free(v);
        return 0;
    }
    if (v->conf->nlisten == 0) {
        log_fatal("no listen address configured");
        view_free(v);
        return 1;
    }
    if (v->conf->cookies.enabled && !v->conf->cookies.secret_set)
        log_info("cookie secret is random: instances will not share cookies");

    struct server srv;
    memset(&srv, 0, sizeof(srv));
    srv.nworkers = worker_count(v->conf);
    srv.nlisten = v->conf->nlisten;
    srv.nreaders = srv.nworkers * (1 + (unsigned)srv.nlisten);
    srv.readers = aligned_alloc(64, sizeof(*srv.readers) * srv.nreaders);
    srv.workers = calloc(srv.nworkers, sizeof(*srv.workers));
    /* one row of GSLB answer counters per thread that answers (reader slot) */
    if (srv.readers == NULL || srv.workers == NULL || gslb_set_rows(v->gslb, srv.nreaders) < 0) {
        log_fatal("out of memory");
        return 1;
    }
    for (unsigned i = 0; i < srv.nreaders; i++)
        atomic_init(&srv.readers[i].ctr, 0);
    atomic_init(&srv.view, v);
    atomic_init(&srv.tcp_connections, 0);

    int status = 0;
    struct runtime rt = {.opts = &o, .srv = &srv, .started_mono_ms = started_mono_ms};
    /* SO_REUSEPORT would let us share a port with a stale gslbd: refuse that first */
    if (worker_check_listen(v->conf, &e) < 0) {
        log_fatal("%s", e.msg);
        status = 1;
    } else if (hc_global_init() < 0) {
        log_fatal("cannot initialise libcurl");
        status = 1;
    } else {
        static struct control ctl; /* large; lives for the whole run */
        ctl.srv = &srv;
        ctl.build = rebuild;
        ctl.start = start_workers;
        ctl.stop = stop_api;
        ctl.arg = &rt;
        rt.ctl = &ctl;
        if (control_run(&ctl, &e) < 0) {
            log_fatal("%s", e.msg);
            status = 1;
        }
        hc_global_cleanup();
    }

    for (unsigned i = 0; i < rt.started; i++) {
        worker_stop(srv.workers[i]);
        worker_free(srv.workers[i]);
    }
    view_free(atomic_load(&srv.view));
    free(srv.workers);
    free(srv.readers);
    log_info("stopped");
    return status;
}
