/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager's use of the firewall module (firewall.h): what the configuration and D-Bus ask
 * for, applied without waiting; what comes of it, in the journal and, through the bus layer's
 * one hook, in PropertiesChanged. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "firewall.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "ntpsync-messages.h"

/* READY=1 waits this long at most for the firewall the configuration asks for: a unit ordered
 * after ntpsyncd finds it in place, but a firewalld that hangs delays nobody for long. */
#define MANAGER_READY_FIREWALL_USEC (5ULL * 1000000)

/* Whether a firewall line (in any layer, SetFirewall's included) asks for a state. */
static bool firewall_requested(const struct config *c) {
        return c->firewall_client.origin.layer != CONFIG_LAYER_DEFAULT ||
               c->firewall_server.origin.layer != CONFIG_LAYER_DEFAULT;
}

const struct firewall_state *manager_firewall_state(const manager *m) {
        return firewall_get_state(m->firewall);
}

/* ---- the journal: the same words as the D-Bus properties and ntpsyncctl ---- */

/* A state is logged when it differs from the one logged last; "unknown" while an apply is under
 * way is no news (only what comes of it is). */
static void log_state(manager *m, const struct firewall_state *st) {
        char line[sizeof(m->firewall_logged)];
        if (st->pending)
                return;
        const char *client = firewall_direction_state_to_string(st->client_state);
        const char *server = firewall_direction_state_to_string(st->server_state);
        bool alone = st->client_state == FIREWALL_UNMANAGED && st->server_state == FIREWALL_UNMANAGED;
        const char *why = alone ? "no firewall line and no SetFirewall: ntpsync leaves the firewall alone"
                                : st->state_reason;
        snprintf(line, sizeof(line), "Firewall client: %s, server: %s%s%s%s", client, server, why[0] ? " (" : "",
                 why, why[0] ? ")" : "");
        if (streq(line, m->firewall_logged))
                return;
        snprintf(m->firewall_logged, sizeof(m->firewall_logged), "%s", line);

        char f_client[64], f_server[64], f_reason[FIREWALL_STATE_REASON_MAX + 32];
        const char *fields[] = { f_client, f_server, f_reason, NULL };
        snprintf(f_client, sizeof(f_client), "NTP_FIREWALL_CLIENT=%s", client);
        snprintf(f_server, sizeof(f_server), "NTP_FIREWALL_SERVER=%s", server);
        snprintf(f_reason, sizeof(f_reason), "NTP_FIREWALL_REASON=%s", st->state_reason);
        bool bad = st->client_state == FIREWALL_FAILED || st->server_state == FIREWALL_FAILED ||
                   st->client_state == FIREWALL_UNKNOWN || st->server_state == FIREWALL_UNKNOWN;
        log_struct(bad ? LOG_WARNING : LOG_INFO, MESSAGE_ID_FIREWALL, fields, "%s", line);
}

/* A warning is logged when it appears or changes, and again after each apply that the
 * administrator asked for (what still stands in the way of what they just did). */
static void log_warning_text(manager *m, const struct firewall_state *st, bool again) {
        bool changed = !streq(st->warning, m->firewall_warning);
        if (st->warning[0] && (changed || again))
                log_warning("Firewall: %s", st->warning);
        snprintf(m->firewall_warning, sizeof(m->firewall_warning), "%s", st->warning);
}

static void on_firewall_changed(struct firewall *f, void *userdata) {
        manager *m = userdata;
        const struct firewall_state *st = firewall_get_state(f);
        log_state(m, st);
        /* During an apply the warning is the old one: it is judged once read back. */
        if (!st->pending)
                log_warning_text(m, st, false);
        manager_notify_changed(m);
}

int manager_firewall_new(manager *m) {
        int r = firewall_new(m->event, NULL, &m->firewall);
        if (r < 0)
                return log_warning_errno(r, "Firewall state cannot be managed");
        firewall_set_change_callback(m->firewall, on_firewall_changed, m);
        return 0;
}

/* ---- applying ---- */

/* NTS-KE's TCP port goes with serving traffic whenever NTS is configured, whoever asked (the
 * configuration or SetFirewall); a change of `nts enable` alone changes the request, and
 * manager_firewall_follow_config() applies it. */
static void want_of(manager *m, bool client, bool server, struct firewall_request *ret) {
        *ret = (struct firewall_request) {
                .client = client,
                .server = server,
                .nts_ke = m->config.nts_enable.value,
                .restricts = &m->restricts,
        };
}

struct apply_call {
        manager *m;
        manager_firewall_done_t done;
        void *userdata;
};

static void on_asked_applied(void *userdata, int r, const char *why) {
        struct apply_call *c = userdata;
        if (r >= 0)
                log_warning_text(c->m, firewall_get_state(c->m->firewall), true);
        c->done(c->userdata, r, why);
        free(c);
}

int manager_apply_firewall_async(manager *m, bool client, bool server, manager_firewall_done_t done, void *userdata) {
        struct firewall_request want;
        if (!m->firewall)
                return -EOPNOTSUPP;
        struct apply_call *c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (struct apply_call) { .m = m, .done = done, .userdata = userdata };
        want_of(m, client, server, &want);
        int r = firewall_apply_async(m->firewall, &want, 0, on_asked_applied, c);
        if (r < 0)
                free(c);
        return r;
}

int manager_apply_firewall(manager *m, bool client, bool server, const char **ret_error) {
        struct firewall_request want;
        if (!m->firewall) {
                *ret_error = "the firewall cannot be managed by this process";
                return -EOPNOTSUPP;
        }
        want_of(m, client, server, &want);
        int r = firewall_apply(m->firewall, &want);
        if (r < 0) {
                *ret_error = firewall_last_error(m->firewall);
                return r;
        }
        log_warning_text(m, firewall_get_state(m->firewall), true);
        return 0;
}

/* The state's change is logged already; this says that it was the configuration's request. */
static void on_config_applied(void *userdata, int r, const char *why) {
        if (r < 0 && r != -ECANCELED)
                log_warning("Firewall not updated: %s", why);
}

void manager_firewall_follow_config(manager *m, bool force) {
        struct firewall_request want;
        if (!m->firewall)
                return;
        if (!firewall_requested(&m->config)) {
                firewall_unmanage(m->firewall);
                return;
        }
        want_of(m, m->config.firewall_client.value, m->config.firewall_server.value, &want);
        int r = firewall_apply_async(m->firewall, &want, force ? 0 : FIREWALL_APPLY_IF_CHANGED, on_config_applied, m);
        if (r < 0)
                log_warning_errno(r, "Firewall not updated");
}

/* ---- READY=1 ---- */

static void send_ready(manager *m) {
        m->ready_timer = sd_event_source_disable_unref(m->ready_timer);
        if (m->ready_sent)
                return;
        m->ready_sent = true;
        sd_notify(false, "READY=1");
}

static int on_ready_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager *m = userdata;
        log_warning("Firewall: no answer after %llu s, starting anyway (%s)", MANAGER_READY_FIREWALL_USEC / 1000000,
                    manager_firewall_state(m)->state_reason);
        send_ready(m);
        return 0;
}

static void on_start_applied(void *userdata, int r, const char *why) {
        manager *m = userdata;
        if (r == -ECANCELED)
                return;
        on_config_applied(m, r, why);
        send_ready(m);
}

void manager_firewall_start(manager *m) {
        struct firewall_request want;
        if (!m->firewall || !firewall_requested(&m->config)) {
                log_state(m, manager_firewall_state(m));
                send_ready(m);
                return;
        }
        want_of(m, m->config.firewall_client.value, m->config.firewall_server.value, &want);
        if (firewall_apply_async(m->firewall, &want, 0, on_start_applied, m) < 0 ||
            sd_event_add_time_relative(m->event, &m->ready_timer, CLOCK_MONOTONIC, MANAGER_READY_FIREWALL_USEC, 0,
                                       on_ready_timer, m) < 0)
                send_ready(m);
}

void manager_firewall_free(manager *m) {
        m->ready_timer = sd_event_source_disable_unref(m->ready_timer);
        m->firewall = firewall_free(m->firewall);
}
