/* zone_file.c: the file side of loading a zone: which folders $INCLUDE may read from, and
 * reading a file whole, from regular files only and within the zone's byte budget
 * (zone_max_bytes). The parser (zone_load.c) never opens a file itself. */
#include "server/zone_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read a zone file: a regular file only (opened without blocking, so a FIFO cannot hang
 * the load), and never more than what is left of the zone's byte budget. On an error, why
 * says what is wrong, without the path and without quoting any text. */
int zone__files_read(struct zone_files *c, const char *path, char **buf, size_t *len,
                     char why[ZONE_FILES_WHY_MAX])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int err = errno;
        snprintf(why, ZONE_FILES_WHY_MAX, "cannot open: %s", strerror(err));
        return -err;
    }
    struct stat st;
    uint64_t left = c->max_bytes - c->bytes;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = GSLBD_EINVAL;
    else if ((uint64_t)st.st_size > left)
        rc = GSLBD_ELIMIT;
    size_t cap = rc == 0 ? (size_t)st.st_size + 1 : 0, n = 0;
    char *b = rc == 0 ? malloc(cap) : NULL;
    if (rc == 0 && b == NULL)
        rc = -ENOMEM;
    while (rc == 0) { /* the file may grow while read: never past the budget */
        if (n == cap) {
            if (n > left) {
                rc = GSLBD_ELIMIT;
                break;
            }
            char *nb = realloc(b, cap * 2);
            if (nb == NULL) {
                rc = -ENOMEM;
                break;
            }
            b = nb;
            cap *= 2;
        }
        ssize_t got = read(fd, b + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            snprintf(why, ZONE_FILES_WHY_MAX, "cannot read: %s", strerror(errno));
        }
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    if (rc == 0 && n > left)
        rc = GSLBD_ELIMIT;
    close(fd);
    if (rc == GSLBD_EINVAL)
        snprintf(why, ZONE_FILES_WHY_MAX,
                 "not a regular file (zone data is read from regular files only)");
    else if (rc == GSLBD_ELIMIT)
        snprintf(why, ZONE_FILES_WHY_MAX,
                 "the zone's files together exceed %llu bytes (zone_max_bytes)",
                 (unsigned long long)c->max_bytes);
    else if (rc == -ENOMEM)
        snprintf(why, ZONE_FILES_WHY_MAX, "out of memory");
    if (rc < 0) {
        free(b);
        return rc;
    }
    c->bytes += n;
    *buf = b;
    *len = n;
    return 0;
}

/* Whether real (a resolved path) is inside one of the folders includes may come from. */
bool zone__files_allowed(const struct zone_files *c, const char *real)
{
    for (size_t i = 0; i < c->ndirs; i++) {
        size_t n = strlen(c->dirs[i]);
        if (strncmp(real, c->dirs[i], n) == 0 && (real[n] == '/' || (n == 1 && real[0] == '/')))
            return true;
    }
    return false;
}

/* The real path of path's folder (path itself when dir), or NULL. Caller frees. */
static char *real_dir(const char *path, bool dir)
{
    if (dir)
        return realpath(path, NULL);
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return realpath(".", NULL);
    if (slash == path)
        return realpath("/", NULL);
    char *d = strndup(path, (size_t)(slash - path));
    char *r = d != NULL ? realpath(d, NULL) : NULL;
    free(d);
    return r;
}

static int dirs_add(struct zone_files *c, char *real)
{
    if (real == NULL)
        return 0; /* a folder that is not there holds nothing to allow */
    char **n = realloc(c->dirs, (c->ndirs + 1) * sizeof(*n));
    if (n == NULL) {
        free(real);
        return -ENOMEM;
    }
    c->dirs = n;
    c->dirs[c->ndirs++] = real;
    return 0;
}

int zone__files_init(struct zone_files *c, const char *file, const struct zone_limits *limits)
{
    *c = (struct zone_files){0};
    c->max_bytes =
        limits != NULL && limits->max_bytes > 0 ? limits->max_bytes : ZONE_MAX_BYTES_DEFAULT;
    int rc = dirs_add(c, real_dir(file, false));
    for (size_t i = 0; rc == 0 && limits != NULL && i < limits->ninclude_dirs; i++)
        rc = dirs_add(c, real_dir(limits->include_dirs[i], true));
    return rc;
}

void zone__files_clear(struct zone_files *c)
{
    for (size_t i = 0; i < c->ndirs; i++)
        free(c->dirs[i]);
    free(c->dirs);
    *c = (struct zone_files){0};
}
