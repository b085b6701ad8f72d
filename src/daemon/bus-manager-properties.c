/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.ntpsync1.Manager's properties: read from the manager's state when asked, never waiting
 * on another process. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bus-manager-properties.h"
#include "core/poll.h"

/* Where a server line comes from: "FILE:LINE" for a file (systemd-timesyncd's too), "" for what
 * D-Bus set for the runtime. */
static void origin_text(const struct config_origin *o, char *buf, size_t size) {
        if (o->layer == CONFIG_LAYER_RUNTIME || !o->file[0])
                buf[0] = '\0';
        else
                snprintf(buf, size, "%s:%u", o->file, o->line);
}

/* Servers: the specs; ServerOrigins: each spec with its layer and where it was read. */
int property_servers(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        bool origins = strcmp(property, "ServerOrigins") == 0;
        char spec[CONFIG_MAX_LINE], where[CONFIG_FILE_MAX + 16];
        int r = sd_bus_message_open_container(reply, 'a', origins ? "(sss)" : "s");
        for (size_t i = 0; r >= 0 && i < b->manager->config.n_servers; i++) {
                const struct config_server *s = &b->manager->config.servers[i];
                config_server_format(s, spec, sizeof(spec));
                origin_text(&s->origin, where, sizeof(where));
                r = origins ? sd_bus_message_append(reply, "(sss)", spec, config_layer_to_string(s->origin.layer), where)
                            : sd_bus_message_append(reply, "s", spec);
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

int property_restrict_rules(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        char text[RESTRICT_TEXT_MAX * 4];
        const struct restrict_set *set = &b->manager->restricts;
        int r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < set->n; i++) {
                restrict_rule_format(&set->rules[i], text, sizeof(text));
                r = sd_bus_message_append(reply, "s", text);
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static void status_of(struct bus *b, struct engine_status *st) {
        engine_get_status(b->manager->engine, now_monotonic_ns(), st);
}

int property_status(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        struct engine_status st;
        status_of(b, &st);

        if (strcmp(property, "Synchronized") == 0)
                return sd_bus_message_append(reply, "b", st.synchronized);
        if (strcmp(property, "UnsynchronizedReason") == 0)
                return sd_bus_message_append(reply, "s", st.synchronized || !st.unsync_reason ? "" : st.unsync_reason);
        if (strcmp(property, "Stratum") == 0)
                return sd_bus_message_append(reply, "y", st.stratum);
        if (strcmp(property, "Offset") == 0)
                return sd_bus_message_append(reply, "x", st.synchronized ? (int64_t) llround(st.offset * 1e9) : INT64_C(0));
        if (strcmp(property, "Jitter") == 0)
                return sd_bus_message_append(reply, "t", st.synchronized ? (uint64_t) llround(fmax(st.jitter, 0) * 1e9)
                                                                         : UINT64_C(0));
        if (strcmp(property, "Frequency") == 0)
                return sd_bus_message_append(reply, "d", b->manager->initial_frequency_ppm + st.residual_frequency_ppm);
        if (strcmp(property, "RootDelay") == 0)
                return sd_bus_message_append(reply, "t", (uint64_t) llround(fmax(st.root_delay, 0) * 1e9));
        if (strcmp(property, "RootDispersion") == 0)
                return sd_bus_message_append(reply, "t", (uint64_t) llround(fmax(st.root_dispersion, 0) * 1e9));
        if (strcmp(property, "PollInterval") == 0)
                return sd_bus_message_append(reply, "u", poll_seconds(st.poll));
        if (strcmp(property, "LeapStatus") == 0) {
                const char *leap = !st.synchronized                ? "unsynchronized"
                                   : st.leap == NTP_LEAP_INSERT ? "insert"
                                   : st.leap == NTP_LEAP_DELETE ? "delete"
                                                                : "none";
                return sd_bus_message_append(reply, "s", leap);
        }
        return -ENOENT;
}

int property_reference(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        struct engine_status st;
        char text[320] = "";
        status_of(b, &st);

        if (strcmp(property, "ReferenceId") == 0) {
                if (st.synchronized)
                        ntp_refid_format(st.stratum, st.refid, text, sizeof(text));
                return sd_bus_message_append(reply, "s", text);
        }
        struct peer *p = st.system_peer >= 0 ? manager_find_peer(b->manager, (uint32_t) st.system_peer) : NULL;
        if (p && st.synchronized)
                snprintf(text, sizeof(text), "%s (%s)", p->owner->config.host, p->address_text);
        return sd_bus_message_append(reply, "s", text);
}

/* The seconds since the last reply age by themselves: for judging a change, the time of that
 * reply stands in for them. */
static uint64_t source_when(const struct engine_source_info *s, int64_t now, bool for_change) {
        if (for_change)
                return (uint64_t) s->last_rx_mono;
        return s->last_rx_mono >= 0 ? (uint64_t) ((now - s->last_rx_mono) / 1000000000) : UINT64_MAX;
}

/* How a source's packets are authenticated, and for NTS the state of its keys. */
static int append_authentication(sd_bus_message *reply, const struct peer *p) {
        struct peer_nts_info n = { .nts = false };
        if (p)
                peer_nts_get_info(p, &n);
        int r = sd_bus_message_append(reply, "{sv}", "authentication", "s", n.nts ? "nts" : "none");
        if (r < 0 || !n.nts)
                return r;
        return sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}{sv}", "nts_state", "s",
                                     peer_nts_state_to_string(n.state), "nts_reason", "s", n.reason, "nts_cookies",
                                     "u", (uint32_t) n.cookies, "nts_ke_time", "t", n.ke_time, "nts_rejected", "t",
                                     n.rejected, "nts_last_rejection", "s", n.last_rejection);
}

static int append_source(sd_bus_message *reply, struct bus *b, const struct engine_source_info *s, int64_t now,
                         bool for_change) {
        struct peer *p = manager_find_peer(b->manager, s->id);
        char refid[32], tally[2] = { s->tally, 0 };
        ntp_refid_format(s->stratum, s->refid, refid, sizeof(refid));

        int r = sd_bus_message_open_container(reply, 'r', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", s->name);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(
                        reply, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}", "address", "s",
                        p ? p->address_text : "", "refid", "s", refid, "stratum", "y", s->stratum, "tally", "s", tally,
                        "when", "t", source_when(s, now, for_change), "poll", "u", poll_seconds(s->poll), "reach", "y",
                        s->reach, "delay", "t", (uint64_t) llround(fmax(s->delay, 0) * 1e9), "offset", "x",
                        (int64_t) llround(s->offset * 1e9), "jitter", "t", (uint64_t) llround(fmax(s->jitter, 0) * 1e9),
                        "state", "s", engine_source_state_to_string(s->state), "prefer", "b", s->prefer, "noselect", "b",
                        s->noselect, "xleave", "b", s->xleave, "mode", "s", s->interleaved ? "interleaved" : "basic");
        if (r >= 0)
                r = append_authentication(reply, p);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int append_sources(sd_bus_message *reply, struct bus *b, bool for_change) {
        struct engine_source_info info[ENGINE_MAX_SOURCES];
        size_t n = engine_get_sources(b->manager->engine, info, ENGINE_MAX_SOURCES);
        int64_t now = now_monotonic_ns();
        int r = sd_bus_message_open_container(reply, 'a', "(sa{sv})");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append_source(reply, b, &info[i], now, for_change);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

int property_sources(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return append_sources(reply, userdata, false);
}

int property_sources_for_change(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return append_sources(reply, userdata, true);
}

int property_settings(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        if (strcmp(property, "ServerMode") == 0)
                return sd_bus_message_append(reply, "b", manager_serving_now(b->manager));
        if (strcmp(property, "NtsServing") == 0)
                return sd_bus_message_append(reply, "b", b->manager->config.nts_enable.value);
        if (strcmp(property, "NtsCertificate") == 0)
                return sd_bus_message_append(reply, "s", b->manager->config.nts_cert);
        if (strcmp(property, "NtsKey") == 0)
                return sd_bus_message_append(reply, "s", b->manager->config.nts_key);
        if (strcmp(property, "ClockControl") == 0)
                return sd_bus_message_append(reply, "s", b->manager->clock->name);
        if (strcmp(property, "Online") == 0)
                return sd_bus_message_append(reply, "b", b->manager->online);
        if (strcmp(property, "OnlineReason") == 0)
                return sd_bus_message_append(reply, "s", b->manager->online || !b->manager->offline_reason
                                                                 ? ""
                                                                 : b->manager->offline_reason);
        return -ENOENT;
}

const struct bus_property bus_manager_properties[] = { MANAGER_PROPERTIES(BUS_TABLE_ROW) };
const size_t bus_manager_n_properties = sizeof(bus_manager_properties) / sizeof(bus_manager_properties[0]);
