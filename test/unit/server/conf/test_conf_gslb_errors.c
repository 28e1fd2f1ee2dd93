/* test_conf_gslb_errors.c: unit tests for server/conf/conf_gslb.c: each invalid GSLB key's error.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_conf_file_util.h"

/* Stands in for "*out untouched": never dereferenced. */
#define SENTINEL ((struct conf *)(uintptr_t)0x5e5e)

/* Each case replaces one line of this config (NULL keeps it) and expects one error. */
static const char *const base_lines[] = {
    "{\"listen\": [\"127.0.0.1\"], \"zones\": [{\"origin\": \"insure.example\", \"file\": \"z\"}],",
    "\"regions\": [{\"name\": \"eu\", \"lat\": 50, \"lon\": 8}, {\"name\": \"us\", \"lat\": 39, "
    "\"lon\": -77}],",
    "\"checks\": [{\"name\": \"web\", \"type\": \"http\"}, {\"name\": \"tcp\", \"type\": \"tcp\", "
    "\"port\": 443}],",
    "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": [\"192.0.2.1\"]}, "
    "{\"name\": \"us-a\", \"region\": \"us\", \"addresses\": [\"192.0.2.2\"]}],",
    "\"services\": [{\"name\": \"api.insure.example\", \"clusters\": [\"eu-a\", \"us-a\"]}]",
};

struct bad_case {
    const char *lines[4]; /* lines 2 to 5: regions, checks, clusters, the rest */
    int code;
    const char *msg; /* after the file name */
};

/* Each position was worked out from the case text itself, not copied from conf_pos.c. */
static const struct bad_case bad_cases[] = {
    {{"\"regions\": {},", NULL, NULL, NULL},
     GSLBD_EINVAL,
     ":2:12: $.regions: must be an array of 0 to 64 region objects"},
    {{"\"regions\": [5],", NULL, NULL, NULL},
     GSLBD_EINVAL,
     ":2:13: $.regions[0]: must be an object"},
    {{"\"regions\": [{\"name\": \"eu\", \"lon\": 8}],", NULL, NULL, NULL},
     GSLBD_EINVAL,
     ":2:13: $.regions[0].lat: required key is missing"},
    {{"\"regions\": [{\"name\": \"eu\", \"lat\": 90.5, \"lon\": 8}],", NULL, NULL, NULL},
     GSLBD_EINVAL,
     ":2:35: $.regions[0].lat: must be a number from -90 to 90"},
    {{"\"regions\": [{\"name\": \"eu\", \"lat\": -90.01, \"lon\": 8}],", NULL, NULL, NULL},
     GSLBD_EINVAL,
     ":2:35: $.regions[0].lat: must be a number from -90 to 90"},
    {{"\"regions\": [{\"name\": \"eu\", \"lat\": 50, \"lon\": \"8\"}],", NULL, NULL, NULL},
     GSLBD_EINVAL,
     ":2:46: $.regions[0].lon: must be a number from -180 to 180"},
    {{"\"regions\": [{\"name\": \"eu\", \"lat\": 50, \"lon\": 180.5}],", NULL, NULL, NULL},
     GSLBD_EINVAL,
     ":2:46: $.regions[0].lon: must be a number from -180 to 180"},
    {{"\"regions\": [{\"name\": \"EU-Central\", \"lat\": 50, \"lon\": 8}],", NULL, NULL, NULL},
     GSLBD_EINVAL,
     ":2:22: $.regions[0].name: must be a string of 1 to 63 bytes of a-z, 0-9 and '-'"},
    {{"\"regions\": [{\"name\": \"\", \"lat\": 50, \"lon\": 8}],", NULL, NULL, NULL},
     GSLBD_EINVAL,
     ":2:22: $.regions[0].name: must be a string of 1 to 63 bytes of a-z, 0-9 and '-'"},
    {{"\"regions\": [{\"name\": \"eu\", \"lat\": 50, \"lon\": 8, \"latitude\": 5}],", NULL, NULL,
      NULL},
     GSLBD_EINVAL,
     ":2:49: $.regions[0].latitude: unknown key (known keys: name, lat, lon, and \"$comment\" for "
     "notes)"},
    {{"\"regions\": [{\"name\": \"us\", \"lat\": 1, \"lon\": 2}, {\"name\": \"eu\", \"lat\": 50, "
      "\"lon\": 8}, {\"name\": \"us\", \"lat\": 39, \"lon\": -77}],",
      NULL, NULL, NULL},
     GSLBD_EINVAL,
     ":2:95: $.regions[2].name: duplicate region name 'us' (also at $.regions[0].name)"},
    {{NULL, "\"checks\": [{\"name\": \"web\"}],", NULL, NULL},
     GSLBD_EINVAL,
     ":3:12: $.checks[0].type: required key is missing"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"icmp\"}],", NULL, NULL},
     GSLBD_EINVAL,
     ":3:36: $.checks[0].type: must be one of \"http\", \"https\", \"tcp\""},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"tcp\"}],", NULL, NULL},
     GSLBD_EINVAL,
     ":3:12: $.checks[0].port: required key is missing (tcp checks have no default port)"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"port\": 0}],", NULL, NULL},
     GSLBD_EINVAL,
     ":3:52: $.checks[0].port: must be an integer from 1 to 65535"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"port\": 65536}],", NULL, NULL},
     GSLBD_EINVAL,
     ":3:52: $.checks[0].port: must be an integer from 1 to 65535"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"tcp\", \"port\": 443, \"path\": \"/\"}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:56: $.checks[0].path: only for http and https checks"},
    {{NULL,
      "\"checks\": [{\"name\": \"web\", \"type\": \"tcp\", \"port\": 443, \"expect_body\": "
      "\"ok\"}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:56: $.checks[0].expect_body: only for http and https checks"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"tls_verify\": false}],", NULL,
      NULL},
     GSLBD_EINVAL,
     ":3:44: $.checks[0].tls_verify: only for https checks"},
    {{NULL,
      "\"checks\": [{\"name\": \"web\", \"type\": \"tcp\", \"port\": 1, \"ca_file\": \"ca.pem\"}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:54: $.checks[0].ca_file: only for https checks"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"path\": \"healthz\"}],", NULL,
      NULL},
     GSLBD_EINVAL,
     ":3:52: $.checks[0].path: must start with '/' and hold printable ASCII without spaces "
     "(percent-encode the rest)"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"path\": \"/a b\"}],", NULL,
      NULL},
     GSLBD_EINVAL,
     ":3:52: $.checks[0].path: must start with '/' and hold printable ASCII without spaces "
     "(percent-encode the rest)"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"https\", \"host\": \"api insure\"}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:53: $.checks[0].host: must be a host name in printable ASCII without spaces"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"expect_status\": [200, 99]}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:67: $.checks[0].expect_status[1]: must be an integer from 100 to 599"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"expect_status\": [\"200\"]}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:62: $.checks[0].expect_status[0]: must be an integer from 100 to 599"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"expect_status\": [200, 600]}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:67: $.checks[0].expect_status[1]: must be an integer from 100 to 599"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"expect_status\": []}],", NULL,
      NULL},
     GSLBD_EINVAL,
     ":3:61: $.checks[0].expect_status: must be an array of 1 to 16 HTTP status codes"},
    {{NULL,
      "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"expect_status\": [200, 201, 202, "
      "203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216]}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:61: $.checks[0].expect_status: must be an array of 1 to 16 HTTP status codes"},
    {{NULL,
      "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"expect_status\": [200, 204, 200]}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:72: $.checks[0].expect_status[2]: 200 is listed twice"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"expect_body\": \"\"}],", NULL,
      NULL},
     GSLBD_EINVAL,
     ":3:59: $.checks[0].expect_body: must be a string of 1 to 4096 bytes"},
    {{NULL,
      "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"interval_ms\": 1000, \"timeout_ms\": "
      "1000}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:79: $.checks[0].timeout_ms: must be less than interval_ms (1000)"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"interval_ms\": 500}],", NULL,
      NULL},
     GSLBD_EINVAL,
     ":3:59: $.checks[0].interval_ms: must be greater than timeout_ms (800, its default)"},
    {{NULL,
      "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"interval_ms\": 49, \"timeout_ms\": "
      "10}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:59: $.checks[0].interval_ms: must be an integer from 50 to 3600000"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"timeout_ms\": 9}],", NULL,
      NULL},
     GSLBD_EINVAL,
     ":3:58: $.checks[0].timeout_ms: must be an integer from 10 to 600000"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"fall\": 0}],", NULL, NULL},
     GSLBD_EINVAL,
     ":3:52: $.checks[0].fall: must be an integer from 1 to 100"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"rise\": 101}],", NULL, NULL},
     GSLBD_EINVAL,
     ":3:52: $.checks[0].rise: must be an integer from 1 to 100"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"https\", \"tls_verify\": \"yes\"}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:59: $.checks[0].tls_verify: must be true or false"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"https\", \"ca_file\": \"\"}],", NULL,
      NULL},
     GSLBD_EINVAL,
     ":3:56: $.checks[0].ca_file: must be a file name of 1 to 4096 bytes"},
    {{NULL,
      "\"checks\": [{\"name\": \"web\", \"type\": \"http\"}, {\"name\": \"web\", \"type\": "
      "\"tcp\", \"port\": 1}],",
      NULL, NULL},
     GSLBD_EINVAL,
     ":3:54: $.checks[1].name: duplicate check name 'web' (also at $.checks[0].name)"},
    {{NULL, "\"checks\": [{\"name\": \"web\", \"type\": \"http\", \"method\": \"HEAD\"}],", NULL,
      NULL},
     GSLBD_EINVAL,
     ":3:44: $.checks[0].method: unknown key (known keys: name, type, port, path, host, "
     "expect_status, expect_body, interval_ms, timeout_ms, fall, rise, tls_verify, ca_file, "
     "source, and \"$comment\" for notes)"},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu-centrl\", \"addresses\": "
      "[\"192.0.2.1\"]}],",
      NULL},
     GSLBD_EINVAL,
     ":4:41: $.clusters[0].region: unknown region 'eu-centrl'"},
    {{"\"regions\": [],", NULL, NULL, NULL},
     GSLBD_EINVAL,
     ":4:41: $.clusters[0].region: unknown region 'eu' (no regions are configured)"},
    {{"\"$comment\": \"no regions\",", NULL, NULL, NULL},
     GSLBD_EINVAL,
     ":4:41: $.clusters[0].region: unknown region 'eu' (no regions are configured)"},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"eu-a\", \"region\": 1, \"addresses\": [\"192.0.2.1\"]}],", NULL},
     GSLBD_EINVAL,
     ":4:41: $.clusters[0].region: must be a region name"},
    {{NULL, NULL, "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\"}],", NULL},
     GSLBD_EINVAL,
     ":4:14: $.clusters[0].addresses: required key is missing"},
    {{NULL, NULL, "\"clusters\": [{\"name\": \"eu-a\", \"addresses\": [\"192.0.2.1\"]}],", NULL},
     GSLBD_EINVAL,
     ":4:14: $.clusters[0].region: required key is missing"},
    {{NULL, NULL, "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": []}],",
      NULL},
     GSLBD_EINVAL,
     ":4:60: $.clusters[0].addresses: must be an array of 1 to 64 address strings"},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": "
      "[\"192.0.2.1:443\"]}],",
      NULL},
     GSLBD_EINVAL,
     ":4:61: $.clusters[0].addresses[0]: invalid address '192.0.2.1:443': expected an IPv4 or IPv6 "
     "address (no port: checks give the port)"},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": "
      "[\"192.0.2.0/24\"]}],",
      NULL},
     GSLBD_EINVAL,
     ":4:61: $.clusters[0].addresses[0]: invalid address '192.0.2.0/24': expected an IPv4 or IPv6 "
     "address (no port: checks give the port)"},
    {{NULL, NULL, "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": [17]}],",
      NULL},
     GSLBD_EINVAL,
     ":4:61: $.clusters[0].addresses[0]: must be an address string like \"192.0.2.10\" or "
     "\"2001:db8::10\""},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": [\"2001:db8::1\", "
      "\"192.0.2.1\", \"2001:DB8:0::1\"]}],",
      NULL},
     GSLBD_EINVAL,
     ":4:89: $.clusters[0].addresses[2]: duplicate of $.clusters[0].addresses[0] ('2001:db8::1')"},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": [\"192.0.2.1\"], "
      "\"weight\": 1000001}],",
      NULL},
     GSLBD_EINVAL,
     ":4:85: $.clusters[0].weight: must be an integer from 0 to 1000000"},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": [\"192.0.2.1\"], "
      "\"weight\": -1}],",
      NULL},
     GSLBD_EINVAL,
     ":4:85: $.clusters[0].weight: must be an integer from 0 to 1000000"},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": [\"192.0.2.1\"], "
      "\"checks\": [\"web\", \"wbe\"]}],",
      NULL},
     GSLBD_EINVAL,
     ":4:93: $.clusters[0].checks[1]: unknown check 'wbe'"},
    {{NULL, "\"checks\": [],",
      "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": [\"192.0.2.1\"], "
      "\"checks\": [\"web\"]}],",
      NULL},
     GSLBD_EINVAL,
     ":4:86: $.clusters[0].checks[0]: unknown check 'web' (no checks are configured)"},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": [\"192.0.2.1\"], "
      "\"checks\": [\"web\", \"tcp\", \"web\"]}],",
      NULL},
     GSLBD_EINVAL,
     ":4:100: $.clusters[0].checks[2]: duplicate of $.clusters[0].checks[0] ('web')"},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": [\"192.0.2.1\"], "
      "\"checks\": \"web\"}],",
      NULL},
     GSLBD_EINVAL,
     ":4:85: $.clusters[0].checks: must be an array of 0 to 16 check names"},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"us-a\", \"region\": \"eu\", \"addresses\": [\"192.0.2.1\"]}, "
      "{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": [\"192.0.2.1\"]}, {\"name\": "
      "\"us-a\", \"region\": \"us\", \"addresses\": [\"192.0.2.2\"]}],",
      NULL},
     GSLBD_EINVAL,
     ":4:147: $.clusters[2].name: duplicate cluster name 'us-a' (also at $.clusters[0].name)"},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"eu_a\", \"region\": \"eu\", \"addresses\": [\"192.0.2.1\"]}],",
      NULL},
     GSLBD_EINVAL,
     ":4:23: $.clusters[0].name: must be a string of 1 to 63 bytes of a-z, 0-9 and '-'"},
    {{NULL, NULL,
      "\"clusters\": [{\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": [\"192.0.2.1\"], "
      "\"weigth\": 2}],",
      NULL},
     GSLBD_EINVAL,
     ":4:75: $.clusters[0].weigth: unknown key (known keys: name, region, addresses, weight, "
     "checks, and \"$comment\" for notes)"},
    {{NULL, NULL, "\"clusters\": {},", NULL},
     GSLBD_EINVAL,
     ":4:13: $.clusters: must be an array of 0 to 65536 cluster objects"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api.insure.example\", \"clusters\": [\"eu-a\", "
      "\"eu-centrl-a\"]}]"},
     GSLBD_EINVAL,
     ":5:66: $.services[0].clusters[1]: unknown cluster 'eu-centrl-a'"},
    {{NULL, NULL, "\"clusters\": [],", NULL},
     GSLBD_EINVAL,
     ":5:58: $.services[0].clusters[0]: unknown cluster 'eu-a' (no clusters are configured)"},
    {{NULL, NULL, NULL, "\"services\": [{\"name\": \"api.insure.example\", \"clusters\": []}]"},
     GSLBD_EINVAL,
     ":5:57: $.services[0].clusters: must be an array of 1 to 1024 cluster names"},
    {{NULL, NULL, NULL, "\"services\": [{\"name\": \"api.insure.example\"}]"},
     GSLBD_EINVAL,
     ":5:14: $.services[0].clusters: required key is missing"},
    {{NULL, NULL, NULL, "\"services\": [{\"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:14: $.services[0].name: required key is missing"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api.insure.example\", \"clusters\": [\"us-a\", \"eu-a\", "
      "\"us-a\"]}]"},
     GSLBD_EINVAL,
     ":5:74: $.services[0].clusters[2]: duplicate of $.services[0].clusters[0] ('us-a')"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api.other.example\", \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: 'api.other.example' is not inside any zone of $.zones"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api.insure.example.com\", \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: 'api.insure.example.com' is not inside any zone of $.zones"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"xinsure.example\", \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: 'xinsure.example' is not inside any zone of $.zones"},
    {{NULL, NULL, NULL, "\"services\": [{\"name\": \"example\", \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: 'example' is not inside any zone of $.zones"},
    {{NULL, NULL, NULL, "\"services\": [{\"name\": \".\", \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: '.' is not inside any zone of $.zones"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api.insure.example\", \"clusters\": [\"eu-a\"]}, {\"name\": "
      "\"www.insure.example\", \"clusters\": [\"eu-a\"]}, {\"name\": \"API.Insure.Example.\", "
      "\"clusters\": [\"us-a\"]}]"},
     GSLBD_EINVAL,
     ":5:131: $.services[2].name: duplicate service name 'API.Insure.Example.' (also at "
     "$.services[0].name)"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api.insure.example\", \"clusters\": [\"eu-a\"]}, {\"name\": "
      "\"\\\\097PI.insure.example\", \"clusters\": [\"us-a\"]}]"},
     GSLBD_EINVAL,
     ":5:77: $.services[1].name: duplicate service name '\\097PI.insure.example.' (also at "
     "$.services[0].name)"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api..insure.example\", \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: 'api..insure.example' has an empty label"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \".api.insure.example\", \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: '.api.insure.example' has an empty label"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": "
      "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.insure.example\", "
      "\"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: "
     "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.insure.example' has a "
     "label longer than 63 bytes"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": "
      "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.insure.example\", "
      "\"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: "
     "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.insure.example' is longer than "
     "255 bytes"},
    {{NULL, NULL, NULL, "\"services\": [{\"name\": \"api\\\\\", \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: 'api\\' ends in a lone backslash"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"\\\\256pi.insure.example\", \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: '\\256pi.insure.example' has an escape \\DDD above 255"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"*.insure.example\", \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: '*.insure.example': a wildcard cannot be a service name"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api insure.example\", \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: must be a domain name in ASCII without spaces (IDNs in punycode)"},
    {{NULL, NULL, NULL, "\"services\": [{\"name\": \"\", \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: must be a domain name of 1 to 1024 bytes"},
    {{NULL, NULL, NULL, "\"services\": [{\"name\": 5, \"clusters\": [\"eu-a\"]}]"},
     GSLBD_EINVAL,
     ":5:23: $.services[0].name: must be a domain name of 1 to 1024 bytes"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api.insure.example\", \"clusters\": [\"eu-a\"], \"policy\": "
      "\"closest\"}]"},
     GSLBD_EINVAL,
     ":5:77: $.services[0].policy: must be one of \"nearest\", \"weighted\", \"failover\""},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api.insure.example\", \"clusters\": [\"eu-a\"], \"all_down\": "
      "\"fail-open\"}]"},
     GSLBD_EINVAL,
     ":5:79: $.services[0].all_down: must be one of \"fail_open\", \"servfail\""},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api.insure.example\", \"clusters\": [\"eu-a\"], \"ttl\": "
      "86401}]"},
     GSLBD_EINVAL,
     ":5:74: $.services[0].ttl: must be an integer from 0 to 86400"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api.insure.example\", \"clusters\": [\"eu-a\"], "
      "\"failover_ttl\": -1}]"},
     GSLBD_EINVAL,
     ":5:83: $.services[0].failover_ttl: must be an integer from 0 to 86400"},
    {{NULL, NULL, NULL,
      "\"services\": [{\"name\": \"api.insure.example\", \"clusters\": [\"eu-a\"], \"region\": "
      "\"eu\"}]"},
     GSLBD_EINVAL,
     ":5:67: $.services[0].region: unknown key (known keys: name, policy, clusters, ttl, "
     "failover_ttl, all_down, and \"$comment\" for notes)"},
    {{NULL, NULL, NULL, "\"services\": {\"name\": \"api.insure.example\"}"},
     GSLBD_EINVAL,
     ":5:13: $.services: must be an array of 0 to 65536 service objects"},
    {{NULL, NULL, NULL, "\"startup_wait_ms\": 60001"},
     GSLBD_EINVAL,
     ":5:20: $.startup_wait_ms: must be an integer from 0 to 60000"},
    {{NULL, NULL, NULL, "\"state_file\": \"\""},
     GSLBD_EINVAL,
     ":5:15: $.state_file: must be a file name of 1 to 4096 bytes"},
    {{NULL, NULL, NULL, "\"state_file\": [\"a\"]"},
     GSLBD_EINVAL,
     ":5:15: $.state_file: must be a file name of 1 to 4096 bytes"},
};

static void build_text(const struct bad_case *bc, char *text, size_t n)
{
    size_t o = (size_t)snprintf(text, n, "%s\n", base_lines[0]);
    for (size_t i = 0; i < 4; i++)
        o += (size_t)snprintf(text + o, n - o, "%s\n",
                              bc->lines[i] != NULL ? bc->lines[i] : base_lines[i + 1]);
    snprintf(text + o, n - o, "}");
}

static void test_base_loads(void **state)
{
    (void)state;
    static const struct bad_case none = {{NULL, NULL, NULL, NULL}, 0, NULL};
    char text[2048];
    char path[64];
    build_text(&none, text, sizeof(text));
    write_tmp(text, path, sizeof(path));
    struct conf *c = load_ok(path);
    assert_int_equal(c->nservices, 1);
    conf_free(c);
    unlink(path);
}

static void test_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        char text[2048];
        char path[64];
        char want[1024];
        build_text(bc, text, sizeof(text));
        write_tmp(text, path, sizeof(path));
        snprintf(want, sizeof(want), "%s%s", path, bc->msg);
        struct conf *c = SENTINEL;
        struct err e = {{0}};
        int r = conf_load_file(path, &c, &e);
        if (r != bc->code || strcmp(e.msg, want) != 0)
            print_error("case %zu:\n%s\n got %d \"%s\"\nwant %d \"%s\"\n", i, text, r, e.msg,
                        bc->code, want);
        assert_int_equal(r, bc->code);
        assert_string_equal(e.msg, want);
        assert_ptr_equal(c, SENTINEL);
        unlink(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_loads),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
