/* api_static.c: serves the dashboard's files, embedded in the binary by dashboard.S. */
#include "server/api/api_int.h"

#include <string.h>

bool api_static(struct MHD_Connection *c, const char *url, enum MHD_Result *rc)
{
    static const struct {
        const char *url;
        const char *ctype;
        const unsigned char *data;
        const uint64_t *size;
    } files[] = {
        {"/", "text/html; charset=utf-8", dashboard_index_html, &dashboard_index_html_size},
        {"/index.html", "text/html; charset=utf-8", dashboard_index_html,
         &dashboard_index_html_size},
        {"/dashboard.css", "text/css; charset=utf-8", dashboard_css, &dashboard_css_size},
        {"/dashboard.js", "text/javascript; charset=utf-8", dashboard_js, &dashboard_js_size},
        {"/history.js", "text/javascript; charset=utf-8", dashboard_history_js,
         &dashboard_history_js_size},
        {"/favicon.svg", "image/svg+xml", dashboard_favicon_svg, &dashboard_favicon_svg_size},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (strcmp(url, files[i].url) == 0) {
            *rc = api_reply_bytes(c, MHD_HTTP_OK, files[i].ctype, files[i].data,
                                  (size_t)*files[i].size, true);
            return true;
        }
    }
    return false;
}
