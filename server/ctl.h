/* ctl.h: `gslbd ctl ...`, the operator's client of a running gslbd's HTTP API (status,
 * admin states, reload, explain). It reads the API's address and token from the config
 * file, so the token never has to be typed or pasted. Documented in gslbd-ctl(8). */
#ifndef GSLBD_CTL_H
#define GSLBD_CTL_H

#include <stddef.h>

#define CTL_DEFAULT_CONFIG "/etc/gslbd/gslbd.json"

/* Exit statuses of `gslbd ctl` */
#define CTL_EXIT_OK 0
#define CTL_EXIT_REFUSED 1     /* gslbd answered and said no: rejected reload, unknown cluster */
#define CTL_EXIT_USAGE 2       /* bad command line */
#define CTL_EXIT_CONFIG 3      /* the config or token file cannot be read */
#define CTL_EXIT_UNREACHABLE 4 /* no answer from the API */

/* argv[0] is "ctl". Returns the exit status. */
int ctl_main(int argc, char **argv);

/* Who runs this process, for the state file's "changed_by": "gslbd --admin by NAME (uid N)",
 * with the sudo user when there is one. */
void ctl_whoami(char *buf, size_t n);

#endif
