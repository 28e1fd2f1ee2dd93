/* jsonfmt.c: reals in gslbd's JSON output rounded to 6 decimals (jsonfmt.h). */
#include "server/jsonfmt.h"

#include <math.h>

void jsonfmt_round(json_t *j)
{
    if (json_is_real(j)) {
        double x = json_real_value(j);
        if (isfinite(x) && fabs(x) < 1e9)
            json_real_set(j, round(x * 1e6) / 1e6);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach (j, i, v) {
            jsonfmt_round(v);
        }
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach (j, k, v) {
            jsonfmt_round(v);
        }
    }
}
