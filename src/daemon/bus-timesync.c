/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.freedesktop.timesync1.Manager at /org/freedesktop/timesync1, with systemd-timesyncd's
 * signatures, so that `timedatectl timesync-status` and `timedatectl show-timesync` describe
 * ntpsyncd. Served when the configuration allows (timesync1 on, the default) and the name is
 * free. */

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bus-change.h"
#include "bus-properties.h"
#include "bus.h"
#include "log.h"
#include "core/poll.h"
#include "settings.h"

#define TIMESYNC_NAME "org.freedesktop.timesync1"
#define TIMESYNC_PATH "/org/freedesktop/timesync1"
#define TIMESYNC_INTERFACE "org.freedesktop.timesync1.Manager"
#define USEC_PER_SEC 1000000ULL

/* Runtime servers are the ones SetRuntimeNTPServers (or ntpsync's runtime=true) set; system
 * servers all the others. */
static bool from_runtime(const struct config_server *s) {
        return s->origin.layer == CONFIG_LAYER_RUNTIME;
}

static int append_server_list(sd_bus_message *reply, const struct config *c, bool runtime) {
        int r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < c->n_servers; i++)
                if (from_runtime(&c->servers[i]) == runtime)
                        r = sd_bus_message_append(reply, "s", c->servers[i].host);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_servers(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        if (strcmp(property, "SystemNTPServers") == 0)
                return append_server_list(reply, &b->manager->config, false);
        if (strcmp(property, "RuntimeNTPServers") == 0)
                return append_server_list(reply, &b->manager->config, true);
        return sd_bus_message_append(reply, "as", 0); /* Link and Fallback: ntpsync has neither */
}

/* The server timesyncd would call current: the system peer; before there is one, the source
 * being tried, as timesyncd names the server it is trying. NULL with no source at all; *ret_peer
 * NULL while the source has no address. */
static struct msource *current_source(struct bus *b, struct peer **ret_peer) {
        manager *m = b->manager;
        struct engine_status st;
        engine_get_status(m->engine, now_monotonic_ns(), &st);
        struct peer *p = st.synchronized && st.system_peer >= 0 ? manager_find_peer(m, (uint32_t) st.system_peer) : NULL;
        if (p) {
                *ret_peer = p;
                return p->owner;
        }
        /* The first source that answered, or else the first one configured. */
        for (size_t i = 0; i < m->n_sources; i++)
                for (size_t j = 0; j < m->sources[i]->n_peers; j++) {
                        struct engine_source_info s;
                        struct peer *q = m->sources[i]->peers[j];
                        if (engine_get_source(m->engine, q->engine_id, &s) >= 0 && s.last_rx_mono >= 0) {
                                *ret_peer = q;
                                return q->owner;
                        }
                }
        *ret_peer = m->n_sources > 0 && m->sources[0]->n_peers > 0 ? m->sources[0]->peers[0] : NULL;
        return m->n_sources > 0 ? m->sources[0] : NULL;
}

static int property_server_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct peer *p;
        struct msource *s = current_source(userdata, &p);
        return sd_bus_message_append(reply, "s", s ? s->config.host : "");
}

/* The address in use; before a socket is open, the one an address literal names (timesyncd
 * shows it once resolved); AF_UNSPEC without. ret has room for 16 bytes. */
static int current_address(struct bus *b, uint8_t ret[static 16], size_t *ret_size) {
        struct peer *p;
        struct msource *s = current_source(b, &p);
        if (p && p->address.sa.sa.sa_family == AF_INET) {
                memcpy(ret, &p->address.sa.in.sin_addr, *ret_size = 4);
                return AF_INET;
        }
        if (p && p->address.sa.sa.sa_family == AF_INET6) {
                memcpy(ret, &p->address.sa.in6.sin6_addr, *ret_size = 16);
                return AF_INET6;
        }
        if (s && inet_pton(AF_INET, s->config.host, ret) == 1) {
                *ret_size = 4;
                return AF_INET;
        }
        if (s && inet_pton(AF_INET6, s->config.host, ret) == 1) {
                *ret_size = 16;
                return AF_INET6;
        }
        *ret_size = 0;
        return AF_UNSPEC;
}

static int property_server_address(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        uint8_t address[16];
        size_t size;
        int family = current_address(userdata, address, &size);
        int r = sd_bus_message_open_container(reply, 'r', "iay");
        if (r >= 0)
                r = sd_bus_message_append(reply, "i", family);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', address, size);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static uint64_t poll_usec(int poll) {
        return poll_seconds(poll) * USEC_PER_SEC;
}

/* The current source's poll interval; 0 with no source, as timesyncd with no server. */
static uint64_t current_poll_usec(struct bus *b) {
        struct peer *p;
        struct engine_source_info s;
        if (!current_source(b, &p))
                return 0;
        if (p && engine_get_source(b->manager->engine, p->engine_id, &s) >= 0)
                return poll_usec(s.poll);
        /* No address yet: the system poll, which the source will start with. */
        struct engine_status st;
        engine_get_status(b->manager->engine, now_monotonic_ns(), &st);
        return poll_usec(st.poll);
}

static int property_usec(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        int8_t lo, hi;
        config_poll_limits(&b->manager->config, &lo, &hi);
        uint64_t v = 0;
        if (strcmp(property, "PollIntervalUSec") == 0)
                v = current_poll_usec(b);
        else if (strcmp(property, "PollIntervalMinUSec") == 0)
                v = poll_usec(lo);
        else if (strcmp(property, "PollIntervalMaxUSec") == 0)
                v = poll_usec(hi);
        else if (strcmp(property, "RootDistanceMaxUSec") == 0)
                v = (uint64_t) (1.5 * USEC_PER_SEC);
        return sd_bus_message_append(reply, "t", v);
}

/* Truncated, as timesyncd converts the packet's fields. */
static uint64_t seconds_to_usec(double s) {
        return s > 0 && isfinite(s) ? (uint64_t) (s * USEC_PER_SEC) : 0;
}

/* An NTP timestamp of zero as timesyncd converts it to microseconds since the Unix epoch: the
 * receive and transmit times of its message before the first packet. */
#define TIMESYNC_ZERO_NTP_USEC ((uint64_t) 0 - 2208988800ULL * USEC_PER_SEC)

static const struct timesync_message timesync_message_none = {
        .recv_usec = TIMESYNC_ZERO_NTP_USEC,
        .trans_usec = TIMESYNC_ZERO_NTP_USEC,
};

static uint64_t realtime_usec(int64_t ns) {
        return ns > 0 ? (uint64_t) ns / 1000 : 0;
}

/* The last exchange with s, laid out so that timedatectl, which computes offset and delay from
 * the four timestamps, shows the source's. */
static struct timesync_message message_of(const struct engine_source_info *s) {
        int64_t now_mono = now_monotonic_ns(), now_real = now_realtime_ns();
        int64_t t4 = now_real - (now_mono - s->last_rx_mono);
        int64_t t1 = t4 - (int64_t) llround(s->delay * 1e9);
        int64_t t2 = t1 + (int64_t) llround((s->delay / 2 + s->offset) * 1e9);
        return (struct timesync_message) {
                .leap = (uint32_t) s->leap,
                .version = 4,
                .mode = 4,
                .stratum = s->stratum,
                .precision = s->precision,
                .root_delay_usec = seconds_to_usec(s->source_root_delay),
                .root_dispersion_usec = seconds_to_usec(s->source_root_dispersion),
                .refid = { s->refid >> 24, s->refid >> 16, s->refid >> 8, s->refid },
                .origin_usec = realtime_usec(t1),
                .recv_usec = realtime_usec(t2),
                .trans_usec = realtime_usec(t2),
                .dest_usec = realtime_usec(t4),
                .packet_count = s->samples,
                .jitter_usec = seconds_to_usec(s->jitter),
        };
}

/* Like timesyncd, the message stays after its server went: it is the last one received. It is
 * made once per packet, so that its times stay as they were. */
static const struct timesync_message *current_message(struct bus *b) {
        struct peer *p;
        struct engine_source_info s;
        (void) current_source(b, &p);
        if (p && engine_get_source(b->manager->engine, p->engine_id, &s) >= 0 && s.last_rx_mono >= 0 &&
            !(b->timesync_message_valid && b->timesync_message_source == s.id &&
              b->timesync_message_rx_mono == s.last_rx_mono)) {
                b->timesync_message = message_of(&s);
                b->timesync_message_source = s.id;
                b->timesync_message_rx_mono = s.last_rx_mono;
                b->timesync_message_valid = true;
        }
        return b->timesync_message_valid ? &b->timesync_message : &timesync_message_none;
}

static int property_ntp_message(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const struct timesync_message *msg = current_message(userdata);
        int r = sd_bus_message_open_container(reply, 'r', "uuuuittayttttbtt");
        if (r >= 0)
                r = sd_bus_message_append(reply, "uuuuitt", msg->leap, msg->version, msg->mode, msg->stratum,
                                          msg->precision, msg->root_delay_usec, msg->root_dispersion_usec);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', msg->refid, sizeof(msg->refid));
        if (r >= 0)
                r = sd_bus_message_append(reply, "ttttbtt", msg->origin_usec, msg->recv_usec, msg->trans_usec,
                                          msg->dest_usec, msg->spike, msg->packet_count, msg->jitter_usec);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_frequency(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        struct engine_status st;
        engine_get_status(b->manager->engine, now_monotonic_ns(), &st);
        /* As timesyncd: the kernel's unit, ppm in 16.16 fixed point. */
        double ppm = b->manager->initial_frequency_ppm + st.residual_frequency_ppm;
        return sd_bus_message_append(reply, "x", (int64_t) llround(ppm * 65536.0));
}

/* An empty list means: back to the configured servers, as systemd-timesyncd does. */
static int apply_runtime_servers(struct bus_change *c, sd_bus_error *error) {
        struct config_error e;
        int r = c->overrides.n_servers == 0 ? manager_drop_runtime_servers(c->bus->manager, &e)
                                            : manager_change(c->bus->manager, &c->overrides, true, &e);
        return r < 0 ? sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", e.message) : 0;
}

/* Runtime servers replace ntpsync's server list until restart, as names with iburst. */
static int method_set_runtime_servers(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        char **names = NULL;
        int r = sd_bus_message_read_strv(call, &names);
        if (r < 0)
                return r;
        struct bus_change *c = bus_change_new(userdata, true);
        r = c ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && names && names[i]; i++) {
                struct config_server *s = &c->overrides.servers[c->overrides.n_servers];
                if (c->overrides.n_servers >= CONFIG_MAX_SERVERS)
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "More than %d servers", CONFIG_MAX_SERVERS);
                else if (!config_host_is_valid(names[i]))
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid NTP server name or address: %s",
                                              BUS_QUOTE(names[i]));
                else {
                        *s = (struct config_server) { .iburst = true };
                        snprintf(s->host, sizeof(s->host), "%s", names[i]);
                        c->overrides.n_servers++;
                }
        }
        strv_free(names);
        if (r < 0) {
                free(c);
                return r;
        }
        c->overrides.has_servers = true;
        c->apply = apply_runtime_servers;
        const char *const d[] = { "runtime", "true", NULL };
        return bus_change_authorize(call, c, "org.ntpsync1.set-servers", d);
}

/* As systemd-timesyncd's, but that SystemNTPServers and RuntimeNTPServers announce their changes:
 * ntpsync's servers change at runtime (org.ntpsync1's SetServers), timesyncd's system servers
 * only at a restart. */
#define TIMESYNC_PROPERTIES(X) \
        X("LinkNTPServers", "as", property_servers, NULL, 0) \
        X("SystemNTPServers", "as", property_servers, NULL, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) \
        X("RuntimeNTPServers", "as", property_servers, NULL, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) \
        X("FallbackNTPServers", "as", property_servers, NULL, SD_BUS_VTABLE_PROPERTY_CONST) \
        X("ServerName", "s", property_server_name, NULL, 0) \
        X("ServerAddress", "(iay)", property_server_address, NULL, 0) \
        X("RootDistanceMaxUSec", "t", property_usec, NULL, SD_BUS_VTABLE_PROPERTY_CONST) \
        X("PollIntervalMinUSec", "t", property_usec, NULL, SD_BUS_VTABLE_PROPERTY_CONST) \
        X("PollIntervalMaxUSec", "t", property_usec, NULL, SD_BUS_VTABLE_PROPERTY_CONST) \
        X("PollIntervalUSec", "t", property_usec, NULL, 0) \
        X("NTPMessage", "(uuuuittayttttbtt)", property_ntp_message, NULL, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) \
        X("Frequency", "x", property_frequency, NULL, 0)

static const struct bus_property timesync_properties[] = { TIMESYNC_PROPERTIES(BUS_TABLE_ROW) };

static const sd_bus_vtable timesync_vtable[] = {
        SD_BUS_VTABLE_START(0),
        TIMESYNC_PROPERTIES(BUS_VTABLE_ROW)
        SD_BUS_METHOD_WITH_ARGS("SetRuntimeNTPServers", SD_BUS_ARGS("as", runtime_servers), SD_BUS_NO_RESULT,
                                method_set_runtime_servers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int on_timesync_name(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        uint32_t result;
        if (sd_bus_message_is_method_error(reply, NULL) || sd_bus_message_read(reply, "u", &result) < 0 ||
            (result != 1 && result != 4)) /* primary owner, already owner */
                log_info("%s is taken, not serving it", TIMESYNC_NAME);
        return 0;
}

void bus_timesync_init(struct bus *b) {
        bus_announcer_init(&b->timesync_announcer, TIMESYNC_PATH, TIMESYNC_INTERFACE, timesync_properties,
                           sizeof(timesync_properties) / sizeof(timesync_properties[0]));
}

/* A connection of its own: systemd's bus policy for org.freedesktop.timesync1 denies every call
 * to a connection owning that name but for its own few members, and the order in which
 * dbus-daemon reads policy files is not defined; sharing the connection would let that policy
 * block org.ntpsync1's methods. */
int bus_timesync_add(struct bus *b) {
        if (!b->manager->config.timesync1.value)
                return 0;
        int r = bus_open_connection(b, &b->timesync_bus);
        if (r < 0 ||
            (r = sd_bus_add_object_vtable(b->timesync_bus, &b->timesync_slot, TIMESYNC_PATH, TIMESYNC_INTERFACE,
                                          timesync_vtable, b)) < 0)
                return r;
        /* No queueing and no replacing: only when the name is free. */
        return sd_bus_request_name_async(b->timesync_bus, NULL, TIMESYNC_NAME, 0, on_timesync_name, b);
}

void bus_timesync_emit_changes(struct bus *b) {
        if (!b->timesync_slot)
                return;
        int r = bus_announcer_look(&b->timesync_announcer, b->timesync_bus, b);
        if (r < 0)
                log_debug_errno(r, "Cannot announce changed %s properties, ignoring", TIMESYNC_INTERFACE);
}
