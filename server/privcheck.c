/* privcheck.c: reading, as the --user gslbd will become, what every reload reads, so that a
 * file only root can read refuses the start instead of failing every later reload. */
#include "server/privcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/log.h"

int privcheck_as_user(const char *user, int (*check)(void *arg, struct err *e), void *arg,
                      struct err *e)
{
    struct passwd *pw = getpwnam(user);
    if (pw == NULL)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "--user: no user named '%s'", user);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return err_set(e, -errno, NULL, 0, 0, "--user %s: %s", user, strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        return err_set(e, -err, NULL, 0, 0, "--user %s: %s", user, strerror(err));
    }
    if (pid == 0) {
        struct err ce = {{0}};
        int rc;
        close(fds[0]);
        if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
            rc = err_set(&ce, -errno, NULL, 0, 0, "cannot become %s: %s", user, strerror(errno));
        else
            rc = check(arg, &ce);
        if (rc < 0) {
            ssize_t w = write(fds[1], ce.msg, strnlen(ce.msg, sizeof(ce.msg)));
            (void)w;
        }
        _exit(rc < 0 ? 1 : 0);
    }
    close(fds[1]);
    char msg[sizeof(e->msg)];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fds[0], msg + got, sizeof(msg) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    msg[got] = '\0';
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    return err_set(e, GSLBD_EINVAL, NULL, 0, 0,
                   "--user %s: every reload would fail, as %s cannot read what it needs: %s", user,
                   user, got > 0 ? msg : "the check did not finish");
}

static int can_read(const char *path, const char *what, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return err_set(e, -errno, path, 0, 0, "%s: cannot open: %s", what, strerror(errno));
    close(fd);
    return 0;
}

int privcheck_conf_files(const struct conf *c, struct err *e)
{
    for (size_t i = 0; i < c->nzones; i++) {
        const struct conf_dnssec *d = &c->zones[i].dnssec;
        int rc = can_read(c->zones[i].file, "zone file", e);
        /* keys are read at every load (docs/dnssec.md); a key folder is also written */
        if (rc == 0 && d->key_file != NULL)
            rc = can_read(d->key_file, "DNSSEC key file", e);
        if (rc == 0 && d->ksk_file != NULL)
            rc = can_read(d->ksk_file, "DNSSEC KSK file", e);
        if (rc == 0 && d->zsk_file != NULL)
            rc = can_read(d->zsk_file, "DNSSEC ZSK file", e);
        if (rc == 0 && d->key_dir != NULL && access(d->key_dir, R_OK | W_OK | X_OK) != 0)
            rc = err_set(e, -errno, d->key_dir, 0, 0,
                         "DNSSEC key folder: this user cannot read and write it: %s",
                         strerror(errno));
        if (rc < 0)
            return rc;
    }
    if (c->state_file == NULL)
        return 0;
    if (access(c->state_file, F_OK) == 0) {
        int rc = can_read(c->state_file, "state file", e);
        if (rc < 0)
            return rc;
    }
    char dir[4096];
    const char *slash = strrchr(c->state_file, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s",
                 slash == c->state_file ? 1 : (int)(slash - c->state_file), c->state_file);
    if (access(dir, W_OK | X_OK) != 0)
        log_warn("%s: the state file's folder is not writable by this user: admin changes "
                 "through the API will not be saved",
                 dir);
    return 0;
}
