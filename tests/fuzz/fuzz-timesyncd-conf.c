/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the reader of systemd-timesyncd's configuration: whatever the bytes, every server it
 * keeps is a valid host name or address, the lists stay within their bounds, and adding them to a
 * configuration keeps that configuration within its own. */

#include <stdlib.h>
#include <string.h>

#include "core/timesyncd-conf.h"
#include "fuzz.h"

static void check_list(const struct timesyncd_server *list, size_t n) {
        fuzz_check(n <= CONFIG_MAX_SERVERS);
        for (size_t i = 0; i < n; i++) {
                fuzz_check(config_host_is_valid(list[i].host));
                fuzz_check(list[i].origin.layer == CONFIG_LAYER_TIMESYNCD && list[i].origin.line >= 1);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct timesyncd_servers t;
        static struct config c;

        memset(&t, 0, sizeof(t));
        timesyncd_conf_parse(&t, "timesyncd.conf", (const char *) data, size);
        /* A second file on top, as a drop-in after the main file. */
        timesyncd_conf_parse(&t, "50-cockpit.conf", (const char *) data, size / 2);
        check_list(t.ntp, t.n_ntp);
        check_list(t.fallback, t.n_fallback);
        fuzz_check(t.n_warnings <= TIMESYNCD_MAX_WARNINGS);

        config_init(&c);
        config_add_timesyncd_servers(&c, &t);
        config_add_timesyncd_fallback(&c, &t);
        fuzz_check(c.n_servers <= CONFIG_MAX_SERVERS && c.n_warnings <= CONFIG_MAX_WARNINGS);
        for (size_t i = 0; i < c.n_servers; i++)
                fuzz_check(config_host_is_valid(c.servers[i].host) && c.servers[i].iburst);
        return 0;
}
