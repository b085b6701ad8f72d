/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The import of /etc/ntp/step-tickers: the hosts ntpdate stepped the clock from at boot.
 * See ctl-import-internal.h. */

#include <stdio.h>

#include "core/config.h"
#include "ctl-import-internal.h"

/* One host a word. A host that is a server or pool already gets iburst, which is what ntpsyncd
 * has instead of ntpdate's step at boot; another becomes "server HOST iburst". */
static int add_step_ticker(struct importer *imp, const char *host) {
        unsigned driver;
        if (import_is_refclock_address(host, &driver))
                return importer_warn_refclock(imp, driver);
        if (!config_host_is_valid(host)) {
                char shown[DISPLAY_SIZE];
                import_display(host, shown, sizeof(shown));
                return importer_fail(imp, "'%s' is not a valid host name or address", shown);
        }
        struct server_item *known = importer_find_server(imp, host, true, false);
        if (known) {
                if (!known->server.iburst)
                        known->note = "iburst: in step-tickers";
                known->server.iburst = true;
                return 0;
        }
        struct config_server s = { .iburst = true };
        snprintf(s.host, sizeof(s.host), "%s", host);
        size_t before = imp->n_servers;
        int r = importer_add_server(imp, &s, NULL);
        imp->n_step_tickers_servers += imp->n_servers - before;
        return r;
}

int importer_handle_step_tickers_line(struct importer *imp, char **words, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int r = add_step_ticker(imp, words[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

