/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What ntpsync says about the firewall, per direction, derived from what was asked, how applying
 * went and what was read back (firewall.h). Pure: tests/unit/test-firewall-state.c. */

#include <stdio.h>
#include <string.h>

#include "firewall.h"

static const char *const state_names[_FIREWALL_DIRECTION_STATE_MAX] = {
        [FIREWALL_UNMANAGED] = "unmanaged",
        [FIREWALL_OPEN] = "open",
        [FIREWALL_CLOSED] = "closed",
        [FIREWALL_FAILED] = "failed",
        [FIREWALL_UNKNOWN] = "unknown",
};

const char *firewall_direction_state_to_string(enum firewall_direction_state s) {
        return (unsigned) s < _FIREWALL_DIRECTION_STATE_MAX ? state_names[s] : "unknown";
}

static const char *or_default(const char *text, const char *fallback) {
        return text && *text ? text : fallback;
}

/* Serving traffic is udp 123 and, when NTS is served, tcp 4460 (NTS-KE): as asked when both
 * pass (on), or when neither does (off). */
static bool server_as_wanted(const struct firewall_facts *x) {
        if (x->want_server)
                return x->server && (!x->want_nts_ke || x->nts_ke);
        return !x->server && !x->nts_ke;
}

/* Only NTS-KE's port differs from what was asked; udp 123 is as asked. */
static bool nts_ke_mismatch(const struct firewall_facts *x, bool server, bool want) {
        return server && x->server == want && x->nts_ke != want;
}

static void nts_ke_reason(const struct firewall_facts *x, bool want, char *buf, size_t size) {
        const char *zone = or_default(x->zone, "?");
        if (x->backend == FIREWALL_BACKEND_FIREWALLD)
                snprintf(buf, size, "firewalld: port 4460/tcp (NTS-KE) is %sin zone %s at runtime (%s since it was applied)",
                         want ? "not " : "", zone, want ? "removed" : "added");
        else
                snprintf(buf, size, "table inet ntpsync %s NTS-KE (tcp port 4460) in (changed since it was applied)",
                         want ? "does not let" : "lets");
}

/* Why what the firewall holds differs from what was asked: it was applied, so someone (or
 * something) changed it since, or the backend cannot do it. */
static void mismatch_reason(const struct firewall_facts *x, bool server, bool want, char *buf, size_t size) {
        const char *zone = or_default(x->zone, "?");
        if (nts_ke_mismatch(x, server, want))
                nts_ke_reason(x, want, buf, size);
        else if (x->backend == FIREWALL_BACKEND_FIREWALLD && !server)
                snprintf(buf, size, "firewalld zones do not filter outgoing traffic: NTP client traffic stays allowed");
        else if (x->backend == FIREWALL_BACKEND_FIREWALLD && want)
                snprintf(buf, size, "firewalld: service ntp is not in zone %s at runtime (removed since it was applied)",
                         zone);
        else if (x->backend == FIREWALL_BACKEND_FIREWALLD)
                snprintf(buf, size, "firewalld: service ntp is in zone %s at runtime (added since it was applied)", zone);
        else if (!x->installed)
                snprintf(buf, size, "table inet ntpsync is missing (deleted since it was applied)");
        else
                snprintf(buf, size, "table inet ntpsync does not hold the rules that were applied (changed since)");
}

/* One direction; *why (buf, or a text of facts) when failed or unknown. */
static enum firewall_direction_state derive_one(const struct firewall_facts *x, bool server, const char **why,
                                                char *buf, size_t size) {
        bool want = server ? x->want_server : x->want_client;
        *why = NULL;
        if (!x->managed)
                return FIREWALL_UNMANAGED;
        switch (x->apply) {
        case FIREWALL_APPLY_PENDING:
                *why = or_default(x->pending, "waiting for the firewall to answer");
                return FIREWALL_UNKNOWN;
        case FIREWALL_APPLY_UNANSWERED:
                *why = or_default(x->apply_error, "the firewall did not answer");
                return FIREWALL_UNKNOWN;
        case FIREWALL_APPLY_FAILED:
                *why = or_default(x->apply_error, "the firewall refused the change");
                return FIREWALL_FAILED;
        case FIREWALL_APPLY_OK:
        default:
                break;
        }
        if (!x->known) {
                *why = or_default(x->read_error, "not read back yet");
                return FIREWALL_UNKNOWN;
        }
        if (server ? server_as_wanted(x) : x->client == want)
                return want ? FIREWALL_OPEN : FIREWALL_CLOSED;
        mismatch_reason(x, server, want, buf, size);
        *why = buf;
        return FIREWALL_FAILED;
}

void firewall_derive_state(const struct firewall_facts *facts, enum firewall_direction_state *ret_client,
                           enum firewall_direction_state *ret_server, char *reason, size_t reason_size) {
        char client_buf[FIREWALL_STATE_REASON_MAX], server_buf[FIREWALL_STATE_REASON_MAX];
        const char *client_why, *server_why;

        *ret_client = derive_one(facts, false, &client_why, client_buf, sizeof(client_buf));
        *ret_server = derive_one(facts, true, &server_why, server_buf, sizeof(server_buf));
        if (reason_size == 0)
                return;
        if (client_why && server_why && strcmp(client_why, server_why) != 0)
                snprintf(reason, reason_size, "client: %s; server: %s", client_why, server_why);
        else
                snprintf(reason, reason_size, "%s", client_why ? client_why : server_why ? server_why : "");
}
