/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager's side of serving time: whether to serve, told to the NTP server (ntp-server.c),
 * which answers clients from the manager's state; and with `nts enable`, the cookie keys
 * (nts-server-keys.c) and the NTS-KE service (nts-ke-server.c) that hands them out. */

#include "log.h"
#include "manager.h"
#include "nts-ke-server.h"
#include "nts-server-keys.h"
#include "ntp-server.h"

int manager_serving_new(manager *m) {
        /* The NTS-KE server first: it takes the stream socket named nts-ke that systemd passed and
         * leaves the environment, which the NTP server clears after taking the datagram ones. */
        struct nts_ke_server_options o = { .restricts = &m->restricts };
        int r = nts_ke_server_new(m->event, &o, &m->nts_ke_server);
        if (r < 0)
                return r;
        return ntp_server_new(m, &m->server);
}

void manager_serving_free(manager *m) {
        /* The users of the keys before the keys. */
        m->nts_ke_server = nts_ke_server_free(m->nts_ke_server);
        m->server = ntp_server_free(m->server);
        m->nts_server_keys = nts_server_keys_free(m->nts_server_keys);
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

static void stop_nts(manager *m) {
        if (m->nts_ke_server)
                nts_ke_server_stop(m->nts_ke_server);
        if (m->server)
                (void) ntp_server_set_nts(m->server, NULL);
        m->nts_server_keys = nts_server_keys_free(m->nts_server_keys);
}

/* The keys once; the certificate and key read again on every call (a reload re-reads them). A
 * certificate that cannot be used stops key establishment only: cookies handed out before keep
 * working, and so does everything else. */
static void start_nts(manager *m) {
        int r;
        if (!m->nts_server_keys) {
                struct nts_server_keys_options o = { .event = m->event, .state_dir = m->state_dir };
                r = nts_server_keys_new(&o, &m->nts_server_keys);
                if (r < 0) {
                        log_error_errno(r, "NTS: not serving NTS, no server keys");
                        return;
                }
        }
        r = ntp_server_set_nts(m->server, m->nts_server_keys);
        if (r < 0)
                log_error_errno(r, "NTS: NTS requests get unauthenticated answers");
        r = nts_ke_server_load_credentials(m->nts_ke_server, m->config.nts_cert, m->config.nts_key);
        if (r >= 0)
                r = nts_ke_server_start(m->nts_ke_server, m->nts_server_keys);
        if (r < 0)
                nts_ke_server_stop(m->nts_ke_server);
}

void manager_serving_state_changed(manager *m) {
        if (m->server)
                ntp_server_state_changed(m->server);
}

void manager_serving_apply(manager *m) {
        if (!m->server)
                return;
        ntp_server_set_rules(m->server, &m->restricts);
        (void) ntp_server_set_enabled(m->server, serving_wanted(m));
        if (m->server->enabled && m->config.nts_enable.value && m->nts_ke_server)
                start_nts(m);
        else
                stop_nts(m);
}
