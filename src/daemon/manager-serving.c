/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager's side of serving time: whether to serve, told to the NTP server (ntp-server.c),
 * which answers clients from the manager's state. */

#include "manager.h"
#include "ntp-server.h"

int manager_serving_new(manager *m) {
        return ntp_server_new(m, &m->server);
}

void manager_serving_free(manager *m) {
        m->server = ntp_server_free(m->server);
}

/* Whether time is to be served: the `serve` setting, or when it is set nowhere, whether systemd
 * passed sockets to serve on (ntpsyncd.socket is enabled: how an administrator asks for it). */
static bool serving_wanted(const manager *m) {
        if (m->config.serve.origin.layer == CONFIG_LAYER_DEFAULT)
                return m->server && m->server->activated;
        return m->config.serve.value;
}

bool manager_serving_now(const manager *m) {
        return m->server && m->server->started ? m->server->enabled : serving_wanted(m);
}

void manager_serving_apply(manager *m) {
        if (m->server)
                (void) ntp_server_set_enabled(m->server, serving_wanted(m));
}
