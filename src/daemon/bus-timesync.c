/* org.freedesktop.timesync1.Manager at /org/freedesktop/timesync1, with systemd-timesyncd's
 * signatures, so that `timedatectl timesync-status` and `timedatectl show-timesync` describe
 * ntpsyncd. Served when the configuration allows (timesync1 on, the default) and the name is
 * free. */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "log.h"
#include "poll.h"
#include "settings.h"

#define TIMESYNC_NAME "org.freedesktop.timesync1"
#define TIMESYNC_PATH "/org/freedesktop/timesync1"
#define TIMESYNC_INTERFACE "org.freedesktop.timesync1.Manager"
#define USEC_PER_SEC 1000000ULL

/* Runtime servers are the ones SetRuntimeNTPServers (or ntpsync's runtime=true) set; system
 * servers all the others. */
static bool from_runtime(const struct config_server *s) {
        return strcmp(s->origin.file, SETTINGS_RUNTIME_LAYER) == 0;
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

static struct peer *system_peer(struct bus *b, struct engine_status *st) {
        engine_get_status(b->manager->engine, now_monotonic_ns(), st);
        return st->synchronized && st->system_peer >= 0 ? manager_find_peer(b->manager, (uint32_t) st->system_peer) : NULL;
}

static int property_server_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct engine_status st;
        struct peer *p = system_peer(userdata, &st);
        return sd_bus_message_append(reply, "s", p ? p->owner->config.host : "");
}

static int property_server_address(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct engine_status st;
        struct peer *p = system_peer(userdata, &st);
        int family = AF_UNSPEC;
        const void *address = NULL;
        size_t size = 0;
        if (p && p->address.sa.sa.sa_family == AF_INET) {
                family = AF_INET;
                address = &p->address.sa.in.sin_addr;
                size = 4;
        } else if (p) {
                family = AF_INET6;
                address = &p->address.sa.in6.sin6_addr;
                size = 16;
        }
        int r = sd_bus_message_open_container(reply, 'r', "iay");
        if (r >= 0)
                r = sd_bus_message_append(reply, "i", family);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', address, size);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static uint64_t poll_usec(int poll) {
        return ((uint64_t) 1 << (poll < 0 ? 0 : poll > POLL_LIMIT_MAX ? POLL_LIMIT_MAX : poll)) * USEC_PER_SEC;
}

static int property_usec(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        struct engine_status st;
        int8_t lo, hi;
        engine_get_status(b->manager->engine, now_monotonic_ns(), &st);
        config_poll_limits(&b->manager->config, &lo, &hi);
        uint64_t v = 0;
        if (strcmp(property, "PollIntervalUSec") == 0)
                v = poll_usec(st.poll);
        else if (strcmp(property, "PollIntervalMinUSec") == 0)
                v = poll_usec(lo);
        else if (strcmp(property, "PollIntervalMaxUSec") == 0)
                v = poll_usec(hi);
        else if (strcmp(property, "RootDistanceMaxUSec") == 0)
                v = (uint64_t) (1.5 * USEC_PER_SEC);
        return sd_bus_message_append(reply, "t", v);
}

static uint64_t seconds_to_usec(double s) {
        return s > 0 && isfinite(s) ? (uint64_t) llround(s * USEC_PER_SEC) : 0;
}

/* The last exchange with the system peer as timesyncd shows it. timedatectl computes offset and
 * delay from the four timestamps, so they are laid out to give ours. */
static int property_ntp_message(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        struct engine_status st;
        struct engine_source_info s = { 0 };
        struct peer *p = system_peer(b, &st);
        if (p)
                engine_get_source(b->manager->engine, p->engine_id, &s);

        int64_t now_mono = now_monotonic_ns(), now_real = now_realtime_ns();
        /* Without a system peer there is no exchange to show: all zero, as timesyncd before its first. */
        int64_t t4 = 0, t1 = 0, t2 = 0;
        if (p && s.last_rx_mono >= 0) {
                t4 = now_real - (now_mono - s.last_rx_mono);
                t1 = t4 - (int64_t) llround(s.delay * 1e9);
                t2 = t1 + (int64_t) llround((s.delay / 2 + st.offset) * 1e9);
        }
        uint8_t refid[4] = { s.refid >> 24, s.refid >> 16, s.refid >> 8, s.refid };

        int r = sd_bus_message_open_container(reply, 'r', "uuuuittayttttbtt");
        if (r >= 0)
                r = sd_bus_message_append(reply, "uuuuitt", p ? (uint32_t) st.leap : 3u, 4u, 4u, (uint32_t) s.stratum,
                                          (int32_t) -20, p ? seconds_to_usec(st.root_delay) : 0,
                                          p ? seconds_to_usec(st.root_dispersion) : 0);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', refid, p ? 4 : 0);
        if (r >= 0)
                r = sd_bus_message_append(reply, "ttttbtt", (uint64_t) (t1 > 0 ? t1 / 1000 : 0),
                                          (uint64_t) (t2 > 0 ? t2 / 1000 : 0), (uint64_t) (t2 > 0 ? t2 / 1000 : 0),
                                          (uint64_t) (t4 > 0 ? t4 / 1000 : 0), false, st.packets_sent,
                                          seconds_to_usec(s.jitter));
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
                                              bus_printable(names[i], (char[BUS_QUOTE_MAX * 4 + 4]) { 0 }));
                else {
                        *s = (struct config_server) { .iburst = true };
                        snprintf(s->host, sizeof(s->host), "%s", names[i]);
                        c->overrides.n_servers++;
                }
        }
        for (size_t i = 0; names && names[i]; i++)
                free(names[i]);
        free(names);
        if (r < 0) {
                free(c);
                return r;
        }
        c->overrides.has_servers = true;
        c->apply = apply_runtime_servers;
        const char *const d[] = { "runtime", "true", NULL };
        return bus_change_authorize(call, c, "org.ntpsync1.set-servers", d);
}

static const sd_bus_vtable timesync_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("LinkNTPServers", "as", property_servers, 0, 0),
        SD_BUS_PROPERTY("SystemNTPServers", "as", property_servers, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RuntimeNTPServers", "as", property_servers, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FallbackNTPServers", "as", property_servers, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ServerName", "s", property_server_name, 0, 0),
        SD_BUS_PROPERTY("ServerAddress", "(iay)", property_server_address, 0, 0),
        SD_BUS_PROPERTY("RootDistanceMaxUSec", "t", property_usec, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PollIntervalMinUSec", "t", property_usec, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PollIntervalMaxUSec", "t", property_usec, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PollIntervalUSec", "t", property_usec, 0, 0),
        SD_BUS_PROPERTY("NTPMessage", "(uuuuittayttttbtt)", property_ntp_message, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Frequency", "x", property_frequency, 0, 0),
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

/* A connection of its own: systemd's bus policy for org.freedesktop.timesync1 denies every call
 * to a connection owning that name but for its own few members, and the order in which
 * dbus-daemon reads policy files is not defined; sharing the connection would let that policy
 * block org.ntpsync1's methods. */
int bus_timesync_add(struct bus *b) {
        if (!b->manager->config.timesync1.value)
                return 0;
        int r = sd_bus_open_system(&b->timesync_bus);
        if (r < 0)
                return r;
        if ((r = sd_bus_attach_event(b->timesync_bus, b->manager->event, SD_EVENT_PRIORITY_NORMAL)) < 0 ||
            (r = sd_bus_add_object_vtable(b->timesync_bus, &b->timesync_slot, TIMESYNC_PATH, TIMESYNC_INTERFACE,
                                          timesync_vtable, b)) < 0)
                return r;
        /* No queueing and no replacing: only when the name is free. */
        return sd_bus_request_name_async(b->timesync_bus, NULL, TIMESYNC_NAME, 0, on_timesync_name, b);
}

/* What the announced properties rest on, as text, to send PropertiesChanged only for news. */
static void timesync_property_text(struct bus *b, const char *name, char *buf, size_t size) {
        const struct config *c = &b->manager->config;
        size_t used = 0;
        buf[0] = '\0';
        if (strcmp(name, "NTPMessage") == 0) {
                struct engine_status st;
                struct engine_source_info s = { .last_rx_mono = -1 };
                struct peer *p = system_peer(b, &st);
                if (p)
                        engine_get_source(b->manager->engine, p->engine_id, &s);
                snprintf(buf, size, "%d %u %u %lld %.9f %.9f %.9f %.9f %llu", p != NULL, s.stratum, s.refid,
                         (long long) s.last_rx_mono, s.delay, st.offset, st.root_delay, st.root_dispersion,
                         (unsigned long long) st.packets_sent);
                return;
        }
        bool runtime = strcmp(name, "RuntimeNTPServers") == 0;
        for (size_t i = 0; i < c->n_servers && used + 1 < size; i++) {
                if (from_runtime(&c->servers[i]) != runtime)
                        continue;
                int n = snprintf(buf + used, size - used, "%s ", c->servers[i].host);
                used += n > 0 ? (size_t) n : 0;
        }
}

void bus_timesync_emit_changes(struct bus *b) {
        static const char *const names[] = { "SystemNTPServers", "RuntimeNTPServers", "NTPMessage", NULL };
        char *changed[4];
        size_t n = 0;
        char text[2048];

        if (!b->timesync_slot)
                return;
        for (size_t i = 0; names[i]; i++) {
                timesync_property_text(b, names[i], text, sizeof(text));
                if (strcmp(text, b->timesync_emitted[i]) == 0)
                        continue;
                snprintf(b->timesync_emitted[i], sizeof(b->timesync_emitted[i]), "%s", text);
                changed[n++] = (char *) names[i];
        }
        changed[n] = NULL;
        if (n > 0)
                sd_bus_emit_properties_changed_strv(b->timesync_bus, TIMESYNC_PATH, TIMESYNC_INTERFACE, changed);
}
