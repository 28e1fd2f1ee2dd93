/* conf_files.c: reads "zone_include_dirs", the folders a zone's $INCLUDE may read from
 * besides the zone file's own (docs/hardening.md "Files"). */
#include "server/conf/conf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server/conf/conf_int.h"

int conf__include_dir_elem(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf *c = base;
    char *p = NULL;
    int r = conf__path_value(ld, v, "folder", &p);
    if (r < 0)
        return r;
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        r = conf__error(ld, "%s is not a folder", p);
        free(p);
        return r;
    }
    char **arr = c->zone_include_dirs;
    if (conf__grow((void **)&arr, c->nzone_include_dirs, sizeof(*arr)) < 0) {
        free(p);
        return conf__nomem(ld);
    }
    c->zone_include_dirs = arr;
    c->zone_include_dirs[c->nzone_include_dirs++] = p;
    return 0;
}
