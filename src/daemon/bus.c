#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bus-polkit.h"
#include "bus-properties.h"
#include "bus.h"
#include "firewall.h"
#include "log.h"
#include "ntp-server.h"
#include "poll.h"
#include "query.h"
#include "settings.h"

#define QUERIES_MAX 4

/* ---- validation helpers ---- */

const char *bus_printable(const char *text, char buf[static BUS_QUOTE_MAX * 4 + 4]) {
        size_t used = 0, n = 0;
        for (; text && *text && n < BUS_QUOTE_MAX; text++, n++) {
                unsigned char c = (unsigned char) *text;
                if (c < 0x20 || c == 0x7f || c == '\\')
                        used += (size_t) sprintf(buf + used, "\\x%02x", c);
                else
                        buf[used++] = (char) c;
        }
        if (text && *text)
                used += (size_t) sprintf(buf + used, "...");
        buf[used] = '\0';
        return buf;
}

#define Q(text) bus_printable((text), (char[BUS_QUOTE_MAX * 4 + 4]) { 0 })

__attribute__((format(printf, 2, 3))) static int invalid(sd_bus_error *error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = sd_bus_error_setfv(error, SD_BUS_ERROR_INVALID_ARGS, fmt, ap);
        va_end(ap);
        return r;
}

static void strv_free(char **strv) {
        for (size_t i = 0; strv && strv[i]; i++)
                free(strv[i]);
        free(strv);
}

static size_t strv_length(char **strv) {
        size_t n = 0;
        while (strv && strv[n])
                n++;
        return n;
}

static int read_strv_bounded(sd_bus_message *m, char ***ret, sd_bus_error *error) {
        char **strv = NULL;
        int r = sd_bus_message_read_strv(m, &strv);
        if (r < 0)
                return r;
        size_t n = strv_length(strv);
        if (n > BUS_MAX_ARRAY) {
                strv_free(strv);
                return invalid(error, "Too many elements (%zu)", n);
        }
        *ret = strv;
        return 0;
}

/* "a, b, c" for polkit details; truncated, which is fine for a rule to look at. */
static void join(char **strv, char *buf, size_t size) {
        size_t used = 0;
        buf[0] = '\0';
        for (size_t i = 0; strv && strv[i] && used + 1 < size; i++) {
                int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", strv[i]);
                if (n < 0)
                        break;
                used += (size_t) n < size - used ? (size_t) n : size - used - 1;
        }
}

/* ---- applying after authorization ---- */

static int apply_overrides(struct bus_change *c, sd_bus_error *error) {
        struct config_error e;
        int r = manager_change(c->bus->manager, &c->overrides, c->runtime, &e);
        if (r == -EINVAL)
                return invalid(error, "%s", e.message);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_SAVE_FAILED, "%s", e.message);
        return 0;
}

static void on_authorized(sd_bus_message *call, int allowed, const sd_bus_error *verdict, void *userdata) {
        struct bus_change *c = userdata;
        sd_bus_error error = SD_BUS_ERROR_NULL;

        if (allowed <= 0) {
                sd_bus_reply_method_error(call, verdict);
                return;
        }
        int r = c->apply ? c->apply(c, &error) : apply_overrides(c, &error);
        if (r < 0)
                sd_bus_reply_method_errno(call, r, &error);
        else
                sd_bus_reply_method_return(call, NULL);
        sd_bus_error_free(&error);
        bus_properties_maybe_changed(c->bus);
}

int bus_change_authorize(sd_bus_message *call, struct bus_change *c, const char *action, const char *const *details) {
        int r = polkit_check_async(call, action, details, on_authorized, c, free);
        return r < 0 ? r : 1;
}

/* The methods that change a part of the settings, persisted or at runtime: polkit rules see
 * what was asked for as key=value, and whether it is for the runtime only. */
static int authorize_setting(sd_bus_message *call, struct bus_change *c, const char *action, const char *key,
                             const char *value) {
        const char *const d[] = { key, value, "runtime", c->runtime ? "true" : "false", NULL };
        return bus_change_authorize(call, c, action, d);
}

struct bus_change *bus_change_new(struct bus *b, bool runtime) {
        struct bus_change *c = calloc(1, sizeof(*c));
        if (c) {
                c->bus = b;
                c->runtime = runtime;
        }
        return c;
}

/* The (as, b) arguments of SetServers and SetRestrictRules, and the change they are for. */
static int read_list_call(sd_bus_message *call, struct bus *b, char ***ret_list, struct bus_change **ret_change,
                          sd_bus_error *error) {
        char **list = NULL;
        int runtime;
        int r = read_strv_bounded(call, &list, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(call, "b", &runtime);
        struct bus_change *c = r >= 0 ? bus_change_new(b, runtime) : NULL;
        if (r >= 0 && !c)
                r = -ENOMEM;
        if (r < 0) {
                strv_free(list);
                return r;
        }
        *ret_list = list;
        *ret_change = c;
        return 0;
}

/* ---- servers ---- */

static int parse_specs(char **specs, struct config_overrides *o, sd_bus_error *error) {
        o->has_servers = true;
        o->n_servers = 0;
        for (size_t i = 0; specs && specs[i]; i++) {
                const char *why;
                struct config_server s;
                if (o->n_servers >= CONFIG_MAX_SERVERS)
                        return invalid(error, "More than %d servers", CONFIG_MAX_SERVERS);
                if (config_parse_server_spec(specs[i], &s, &why) < 0)
                        return invalid(error, "Invalid server spec \"%s\": %s", Q(specs[i]), why);
                for (size_t j = 0; j < o->n_servers; j++)
                        if (strcasecmp(o->servers[j].host, s.host) == 0)
                                return invalid(error, "Duplicate server %s", s.host);
                o->servers[o->n_servers++] = s;
        }
        return 0;
}

static int method_set_servers(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        char **specs = NULL, details[1024];
        struct bus_change *c = NULL;

        int r = read_list_call(call, userdata, &specs, &c, error);
        if (r < 0)
                return r;
        if (strv_length(specs) == 0)
                r = invalid(error, "No servers given");
        if (r >= 0)
                r = parse_specs(specs, &c->overrides, error);
        join(specs, details, sizeof(details));
        strv_free(specs);
        if (r < 0) {
                free(c);
                return r;
        }
        return authorize_setting(call, c, "org.ntpsync1.set-servers", "servers", details);
}

static int find_server(const struct config *cfg, const char *host) {
        for (size_t i = 0; i < cfg->n_servers; i++)
                if (strcasecmp(cfg->servers[i].host, host) == 0)
                        return (int) i;
        return -1;
}

/* The running list, as overrides to be changed. */
static void current_servers(const manager *m, struct config_overrides *o) {
        o->has_servers = true;
        o->n_servers = m->config.n_servers;
        memcpy(o->servers, m->config.servers, m->config.n_servers * sizeof(m->config.servers[0]));
}

static int method_add_server(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        const char *spec, *why;
        int runtime;
        struct config_server s;

        int r = sd_bus_message_read(call, "sb", &spec, &runtime);
        if (r < 0)
                return r;
        if (config_parse_server_spec(spec, &s, &why) < 0)
                return invalid(error, "Invalid server spec \"%s\": %s", Q(spec), why);
        if (find_server(&b->manager->config, s.host) >= 0)
                return invalid(error, "%s is already a server", s.host);
        if (b->manager->config.n_servers >= CONFIG_MAX_SERVERS)
                return invalid(error, "Already %d servers", CONFIG_MAX_SERVERS);

        struct bus_change *c = bus_change_new(b, runtime);
        if (!c)
                return -ENOMEM;
        current_servers(b->manager, &c->overrides);
        c->overrides.servers[c->overrides.n_servers++] = s;
        return authorize_setting(call, c, "org.ntpsync1.set-servers", "servers", spec);
}

static int method_remove_server(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        const char *host;
        int runtime;

        int r = sd_bus_message_read(call, "sb", &host, &runtime);
        if (r < 0)
                return r;
        if (!config_host_is_valid(host))
                return invalid(error, "Not a valid host: \"%s\"", Q(host));
        int i = find_server(&b->manager->config, host);
        if (i < 0)
                return invalid(error, "No server %s", host);

        struct bus_change *c = bus_change_new(b, runtime);
        if (!c)
                return -ENOMEM;
        current_servers(b->manager, &c->overrides);
        memmove(&c->overrides.servers[i], &c->overrides.servers[i + 1],
                (c->overrides.n_servers - (size_t) i - 1) * sizeof(c->overrides.servers[0]));
        c->overrides.n_servers--;
        return authorize_setting(call, c, "org.ntpsync1.set-servers", "servers", host);
}

/* ---- restrict rules ---- */

static int parse_rule(const char *text, struct restrict_rule *ret, sd_bus_error *error) {
        const char *why = NULL, *warning = NULL;
        if (restrict_rule_parse(text, ret, &why, &warning) < 0)
                return invalid(error, "Invalid restrict rule \"%s\": %s", Q(text), why);
        return 0;
}

/* Where in o the rule for rule's address is: o->n_restricts when there is none. */
static size_t find_restrict(const struct config_overrides *o, const struct restrict_rule *rule) {
        size_t i = 0;
        while (i < o->n_restricts && !restrict_rule_same_target(&o->restricts[i], rule))
                i++;
        return i;
}

static int method_set_restrict_rules(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        char **rules = NULL, details[1024];
        struct bus_change *c = NULL;

        int r = read_list_call(call, userdata, &rules, &c, error);
        if (r < 0)
                return r;
        struct config_overrides *o = &c->overrides;
        if (strv_length(rules) > CONFIG_MAX_RESTRICTS)
                r = invalid(error, "More than %d rules", CONFIG_MAX_RESTRICTS);
        for (size_t i = 0; r >= 0 && rules && rules[i]; i++) {
                r = parse_rule(rules[i], &o->restricts[o->n_restricts], error);
                if (r >= 0 && find_restrict(o, &o->restricts[o->n_restricts]) < o->n_restricts)
                        r = invalid(error, "Two rules for the same address: \"%s\"", Q(rules[i]));
                if (r >= 0)
                        o->n_restricts++;
        }
        join(rules, details, sizeof(details));
        strv_free(rules);
        if (r < 0) {
                free(c);
                return r;
        }
        o->has_restricts = true;
        return authorize_setting(call, c, "org.ntpsync1.set-restrict", "rules", details);
}

static void current_restricts(const manager *m, struct config_overrides *o) {
        o->has_restricts = true;
        o->n_restricts = m->config.n_restricts;
        for (size_t i = 0; i < m->config.n_restricts; i++)
                o->restricts[i] = m->config.restricts[i].rule;
}

static int method_add_restrict(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        const char *text;
        int runtime;
        struct restrict_rule rule;

        int r = sd_bus_message_read(call, "sb", &text, &runtime);
        if (r < 0)
                return r;
        r = parse_rule(text, &rule, error);
        if (r < 0)
                return r;
        struct bus_change *c = bus_change_new(b, runtime);
        if (!c)
                return -ENOMEM;
        struct config_overrides *o = &c->overrides;
        current_restricts(b->manager, o);
        /* A rule for an address that has one replaces it, as in ntpd. */
        size_t i = find_restrict(o, &rule);
        if (i == o->n_restricts && o->n_restricts >= CONFIG_MAX_RESTRICTS) {
                free(c);
                return invalid(error, "Already %d rules", CONFIG_MAX_RESTRICTS);
        }
        o->restricts[i] = rule;
        if (i == o->n_restricts)
                o->n_restricts++;
        return authorize_setting(call, c, "org.ntpsync1.set-restrict", "rules", text);
}

static int method_remove_restrict(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        const char *text;
        int runtime;
        struct restrict_rule target;

        int r = sd_bus_message_read(call, "sb", &text, &runtime);
        if (r < 0)
                return r;
        r = parse_rule(text, &target, error);
        if (r < 0)
                return r;
        if (target.flags != 0)
                return invalid(error, "Give only the address of the rule to remove, not \"%s\"", Q(text));
        if (target.is_default)
                return invalid(error, "The default rules can be changed but not removed");
        struct bus_change *c = bus_change_new(b, runtime);
        if (!c)
                return -ENOMEM;
        struct config_overrides *o = &c->overrides;
        current_restricts(b->manager, o);
        size_t i = find_restrict(o, &target);
        if (i == o->n_restricts) {
                free(c);
                return invalid(error, "No rule for %s", Q(text));
        }
        memmove(&o->restricts[i], &o->restricts[i + 1], (o->n_restricts - i - 1) * sizeof(o->restricts[0]));
        o->n_restricts--;
        return authorize_setting(call, c, "org.ntpsync1.set-restrict", "rules", text);
}

/* ---- firewall, server mode, control ---- */

/* The kernel (or firewalld) first: if it refuses, nothing is persisted. */
static int apply_firewall(struct bus_change *c, sd_bus_error *error) {
        const char *why = NULL;
        int r = manager_apply_firewall(c->bus->manager, c->overrides.firewall_client, c->overrides.firewall_server, &why);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED, "No firewall backend: %s", why ? why : "none");
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "The firewall was not changed: %s",
                                         why ? why : strerror(-r));
        return apply_overrides(c, error);
}

static int method_set_firewall(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        int client, server;
        int r = sd_bus_message_read(call, "bb", &client, &server);
        if (r < 0)
                return r;
        struct bus_change *c = bus_change_new(userdata, false);
        if (!c)
                return -ENOMEM;
        c->overrides.has_firewall = true;
        c->overrides.firewall_client = client;
        c->overrides.firewall_server = server;
        c->apply = apply_firewall;
        const char *const d[] = { "client", client ? "true" : "false", "server", server ? "true" : "false", NULL };
        return bus_change_authorize(call, c, "org.ntpsync1.set-firewall", d);
}

/* The setting is taken (and saved) even when the port cannot be had now: it applies once it can
 * (ntpsyncd.socket enabled, or a restart with the right to bind it); the caller learns why not. */
static int apply_server_mode(struct bus_change *c, sd_bus_error *error) {
        int r = apply_overrides(c, error);
        if (r < 0)
                return r;
        manager *m = c->bus->manager;
        if (c->overrides.serve && !manager_serving_now(m) && m->server && m->server->open_error < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                         "Server mode is set, but UDP port 123 cannot be opened: %s%s",
                                         strerror(-m->server->open_error),
                                         m->server->open_error == -EACCES
                                                 ? " (under systemd, enable ntpsyncd.socket: it binds the port)"
                                                 : "");
        return 0;
}

static int method_set_server_mode(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        int enabled, runtime;
        int r = sd_bus_message_read(call, "bb", &enabled, &runtime);
        if (r < 0)
                return r;
        struct bus_change *c = bus_change_new(userdata, runtime);
        if (!c)
                return -ENOMEM;
        c->overrides.has_serve = true;
        c->overrides.serve = enabled;
        c->apply = apply_server_mode;
        return authorize_setting(call, c, "org.ntpsync1.set-server-mode", "enabled", enabled ? "true" : "false");
}

static int apply_burst(struct bus_change *c, sd_bus_error *error) {
        manager *m = c->bus->manager;
        engine_burst(m->engine, now_monotonic_ns());
        manager_dispatch(m);
        return 0;
}

static int apply_reload(struct bus_change *c, sd_bus_error *error) {
        int r = manager_reload(c->bus->manager);
        if (r < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_FAILED,
                                        "The configuration files are not valid; the running configuration stays (see the journal)");
        return 0;
}

static int method_control(sd_bus_message *call, struct bus *b, int (*apply)(struct bus_change *, sd_bus_error *),
                          const char *what) {
        struct bus_change *c = bus_change_new(b, true);
        if (!c)
                return -ENOMEM;
        c->apply = apply;
        const char *const d[] = { "command", what, NULL };
        return bus_change_authorize(call, c, "org.ntpsync1.control", d);
}

static int method_burst(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return method_control(call, userdata, apply_burst, "burst");
}

static int method_reload(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return method_control(call, userdata, apply_reload, "reload");
}

/* ---- Query ---- */

struct bus_query {
        struct bus *bus;
        sd_bus_message *call;
};

static void on_query_done(const struct query_result *result, void *userdata) {
        struct bus_query *q = userdata;
        if (result->found)
                sd_bus_reply_method_return(q->call, "xtys", (int64_t) llround(result->offset * 1e9),
                                           (uint64_t) llround(fmax(result->delay, 0) * 1e9), result->stratum,
                                           result->refid);
        else
                sd_bus_reply_method_errorf(q->call, BUS_ERROR_QUERY_FAILED, "No usable reply from %s: %s",
                                           result->host, result->reason);
        q->bus->queries--;
        sd_bus_message_unref(q->call);
        free(q);
}

static int method_query(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        const char *host;
        int r = sd_bus_message_read(call, "s", &host);
        if (r < 0)
                return r;
        if (!config_host_is_valid(host))
                return invalid(error, "Not a valid host: \"%s\"", Q(host));
        if (b->queries >= QUERIES_MAX)
                return sd_bus_error_setf(error, BUS_ERROR_BUSY, "%d queries are running already", QUERIES_MAX);
        struct bus_query *q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->bus = b;
        q->call = sd_bus_message_ref(call);
        r = query_start_async(b->manager->event, host, on_query_done, q);
        if (r < 0) {
                sd_bus_message_unref(q->call);
                free(q);
                return r;
        }
        b->queries++;
        return 1;
}

/* ---- properties ---- */

static int property_servers(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        char spec[CONFIG_MAX_LINE];
        int r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < b->manager->config.n_servers; i++) {
                config_server_format(&b->manager->config.servers[i], spec, sizeof(spec));
                r = sd_bus_message_append(reply, "s", spec);
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_restrict_rules(sd_bus *bus, const char *path, const char *interface, const char *property,
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

static uint32_t poll_seconds(int poll) {
        return (uint32_t) 1u << (poll < 0 ? 0 : poll > POLL_LIMIT_MAX ? POLL_LIMIT_MAX : poll);
}

static int property_status(sd_bus *bus, const char *path, const char *interface, const char *property,
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

static int property_reference(sd_bus *bus, const char *path, const char *interface, const char *property,
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

static int append_source(sd_bus_message *reply, struct bus *b, const struct engine_source_info *s, int64_t now,
                         bool for_change) {
        struct peer *p = manager_find_peer(b->manager, s->id);
        char refid[32], tally[2] = { s->tally, 0 };
        ntp_refid_format(s->stratum, s->refid, refid, sizeof(refid));

        int r = sd_bus_message_open_container(reply, 'r', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", s->name);
        if (r >= 0)
                r = sd_bus_message_append(
                        reply, "a{sv}", 13, "address", "s", p ? p->address_text : "", "refid", "s", refid, "stratum", "y",
                        s->stratum, "tally", "s", tally, "when", "t", source_when(s, now, for_change), "poll", "u",
                        poll_seconds(s->poll), "reach", "y", s->reach, "delay", "t",
                        (uint64_t) llround(fmax(s->delay, 0) * 1e9), "offset", "x", (int64_t) llround(s->offset * 1e9),
                        "jitter", "t", (uint64_t) llround(fmax(s->jitter, 0) * 1e9), "state", "s",
                        engine_source_state_to_string(s->state), "prefer", "b", s->prefer, "noselect", "b", s->noselect);
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

static int property_sources(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return append_sources(reply, userdata, false);
}

static int property_sources_for_change(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return append_sources(reply, userdata, true);
}

/* The firewall as it is now, read once per event loop iteration: a read is a round trip to the
 * helper or to firewalld, and a GetAll, or a PropertiesChanged with the values, asks for the
 * four properties one by one. sd-event dispatches one event source per iteration, so nothing
 * changes the firewall between those getters. */
static const struct firewall_state *firewall_now(struct bus *b) {
        uint64_t iteration = 0;
        (void) sd_event_get_iteration(b->manager->event, &iteration);
        if (b->firewall_valid && b->firewall_iteration == iteration)
                return &b->firewall;
        if (!b->manager->firewall || firewall_read(b->manager->firewall, &b->firewall) < 0)
                b->firewall = (struct firewall_state) { .backend_name = "none" };
        b->firewall_iteration = iteration;
        b->firewall_valid = true;
        return &b->firewall;
}

static int property_settings(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        if (strncmp(property, "Firewall", 8) == 0) {
                /* What the kernel or firewalld holds, read back, not what was asked for. */
                const struct firewall_state *fw = firewall_now(b);
                /* Nothing of ntpsync's installed: it blocks no client traffic and opens no port. */
                if (strcmp(property, "FirewallClient") == 0)
                        return sd_bus_message_append(reply, "b", fw->installed ? fw->client : true);
                if (strcmp(property, "FirewallServer") == 0)
                        return sd_bus_message_append(reply, "b", fw->installed && fw->server);
                if (strcmp(property, "FirewallBackend") == 0)
                        return sd_bus_message_append(reply, "s", fw->backend_name);
                if (strcmp(property, "FirewallWarning") == 0)
                        return sd_bus_message_append(reply, "s", fw->warning);
        }
        if (strcmp(property, "ServerMode") == 0)
                return sd_bus_message_append(reply, "b", manager_serving_now(b->manager));
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

#define CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define INVALIDATE SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION
#define CONST SD_BUS_VTABLE_PROPERTY_CONST

#define MANAGER_PROPERTIES(X) \
        X("Servers", "as", property_servers, NULL, CHANGE) \
        X("Synchronized", "b", property_status, NULL, CHANGE) \
        X("UnsynchronizedReason", "s", property_status, NULL, CHANGE) \
        X("Stratum", "y", property_status, NULL, CHANGE) \
        X("ReferenceId", "s", property_reference, NULL, CHANGE) \
        X("SystemPeer", "s", property_reference, NULL, CHANGE) \
        X("Offset", "x", property_status, NULL, CHANGE) \
        X("Frequency", "d", property_status, NULL, CHANGE) \
        X("RootDelay", "t", property_status, NULL, CHANGE) \
        X("RootDispersion", "t", property_status, NULL, CHANGE) \
        X("LeapStatus", "s", property_status, NULL, CHANGE) \
        X("PollInterval", "u", property_status, NULL, CHANGE) \
        X("Sources", "a(sa{sv})", property_sources, property_sources_for_change, INVALIDATE) \
        X("RestrictRules", "as", property_restrict_rules, NULL, CHANGE) \
        X("FirewallClient", "b", property_settings, NULL, CHANGE) \
        X("FirewallServer", "b", property_settings, NULL, CHANGE) \
        X("FirewallBackend", "s", property_settings, NULL, CHANGE) \
        X("FirewallWarning", "s", property_settings, NULL, CHANGE) \
        X("ServerMode", "b", property_settings, NULL, CHANGE) \
        X("ClockControl", "s", property_settings, NULL, CONST) \
        X("Online", "b", property_settings, NULL, CHANGE) \
        X("OnlineReason", "s", property_settings, NULL, CHANGE)

static const struct bus_property manager_properties[] = { MANAGER_PROPERTIES(BUS_TABLE_ROW) };

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        MANAGER_PROPERTIES(BUS_VTABLE_ROW)
        SD_BUS_METHOD_WITH_ARGS("SetServers", SD_BUS_ARGS("as", specs, "b", runtime), SD_BUS_NO_RESULT,
                                method_set_servers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddServer", SD_BUS_ARGS("s", spec, "b", runtime), SD_BUS_NO_RESULT,
                                method_add_server, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveServer", SD_BUS_ARGS("s", host, "b", runtime), SD_BUS_NO_RESULT,
                                method_remove_server, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetRestrictRules", SD_BUS_ARGS("as", rules, "b", runtime), SD_BUS_NO_RESULT,
                                method_set_restrict_rules, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddRestrict", SD_BUS_ARGS("s", rule, "b", runtime), SD_BUS_NO_RESULT,
                                method_add_restrict, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveRestrict", SD_BUS_ARGS("s", address, "b", runtime), SD_BUS_NO_RESULT,
                                method_remove_restrict, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetFirewall", SD_BUS_ARGS("b", client, "b", server), SD_BUS_NO_RESULT,
                                method_set_firewall, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetServerMode", SD_BUS_ARGS("b", enabled, "b", runtime), SD_BUS_NO_RESULT,
                                method_set_server_mode, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Query", SD_BUS_ARGS("s", host),
                                SD_BUS_RESULT("x", offset_ns, "t", delay_ns, "y", stratum, "s", refid), method_query,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Burst", NULL, NULL, method_burst, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", NULL, NULL, method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* ---- PropertiesChanged, batched ---- */

static int on_emit(sd_event_source *s, void *userdata) {
        struct bus *b = userdata;
        if (!b->bus)
                return 0;    /* reconnecting: whoever connects next reads the values anew */
        int r = bus_announcer_look(&b->announcer, b->bus, b);
        if (r < 0)
                log_debug_errno(r, "Cannot announce changed properties, ignoring");
        bus_timesync_emit_changes(b);
        return 0;
}

void bus_properties_maybe_changed(struct bus *b) {
        if (b && b->emit_defer)
                sd_event_source_set_enabled(b->emit_defer, SD_EVENT_ONESHOT);
}

/* ---- setup ---- */

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                log_error("Cannot own %s on the bus: %s", BUS_NAME, e && e->message ? e->message : "unknown error");
                return 0;
        }
        log_debug("Acquired %s", BUS_NAME);
        return 0;
}

/* ---- the connection, and getting it back ---- */

#define BUS_RECONNECT_FIRST_USEC (500ULL * 1000)
#define BUS_RECONNECT_MAX_USEC (10ULL * 1000000)

static void bus_disconnect(struct bus *b);
static int bus_connect(struct bus *b);

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        struct bus *b = userdata;
        bus_disconnect(b);
        int r = bus_connect(b);
        if (r >= 0) {
                log_info("Connected to the system bus again; %s is back", BUS_NAME);
                b->reconnect_delay_usec = 0;
                bus_properties_maybe_changed(b);
                return 0;
        }
        bus_disconnect(b);
        log_debug_errno(r, "Cannot connect to the system bus yet");
        b->reconnect_delay_usec = b->reconnect_delay_usec * 2 > BUS_RECONNECT_MAX_USEC ? BUS_RECONNECT_MAX_USEC
                                                                                        : b->reconnect_delay_usec * 2;
        (void) sd_event_source_set_time_relative(s, b->reconnect_delay_usec);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

/* Time is kept and served without the bus; the bus comes back by itself (dbus-daemon restarted,
 * or not there yet at start), and with it the names and objects. */
static void bus_schedule_reconnect(struct bus *b) {
        if (b->reconnect_delay_usec > 0)
                return;              /* already on its way */
        b->reconnect_delay_usec = BUS_RECONNECT_FIRST_USEC;
        int r = b->reconnect_timer ? sd_event_source_set_time_relative(b->reconnect_timer, b->reconnect_delay_usec)
                                   : sd_event_add_time_relative(b->manager->event, &b->reconnect_timer,
                                                                CLOCK_MONOTONIC, b->reconnect_delay_usec, 0,
                                                                on_reconnect, b);
        if (r >= 0)
                r = sd_event_source_set_enabled(b->reconnect_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Cannot arm the reconnection to the system bus; running without the D-Bus API");
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct bus *b = userdata;
        log_warning("Lost the system bus; keeping time, and connecting again");
        /* Not here: this runs inside the dying connection's own dispatch. */
        bus_schedule_reconnect(b);
        return 0;
}

/* A connection of ours: on the event loop, and told when it goes away. */
int bus_open_connection(struct bus *b, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, b->manager->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, b);
        if (r < 0) {
                sd_bus_flush_close_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

static int bus_connect(struct bus *b) {
        int r = bus_open_connection(b, &b->bus);
        if (r < 0)
                return log_debug_errno(r, "Cannot connect to the system bus");
        if ((r = sd_bus_add_object_vtable(b->bus, &b->manager_slot, BUS_PATH, BUS_INTERFACE, manager_vtable, b)) < 0 ||
            (r = bus_timesync_add(b)) < 0)
                return log_debug_errno(r, "Cannot set up the bus objects");
        /* The names last: once one is ours, callers may arrive. */
        r = sd_bus_request_name_async(b->bus, NULL, BUS_NAME, 0, on_name_acquired, b);
        if (r < 0)
                return log_debug_errno(r, "Cannot request %s", BUS_NAME);
        if (b->manager->firewall)
                (void) firewall_set_bus(b->manager->firewall, b->bus);
        return 0;
}

/* Forgets the connections; what they announced is new to whoever connects next. */
static void bus_disconnect(struct bus *b) {
        b->manager_slot = sd_bus_slot_unref(b->manager_slot);
        b->timesync_slot = sd_bus_slot_unref(b->timesync_slot);
        b->timesync_bus = sd_bus_flush_close_unref(b->timesync_bus);
        b->bus = sd_bus_flush_close_unref(b->bus);
        bus_announcer_reset(&b->announcer);
        bus_announcer_reset(&b->timesync_announcer);
}

int bus_open(manager *m, struct bus **ret) {
        struct bus *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->manager = m;
        bus_announcer_init(&b->announcer, BUS_PATH, BUS_INTERFACE, manager_properties,
                           sizeof(manager_properties) / sizeof(manager_properties[0]));
        bus_timesync_init(b);
        int r = sd_event_add_defer(m->event, &b->emit_defer, on_emit, b);
        if (r < 0) {
                bus_free(b);
                return log_error_errno(r, "Cannot set up the bus objects");
        }
        sd_event_source_set_priority(b->emit_defer, SD_EVENT_PRIORITY_IDLE);
        r = bus_connect(b);
        if (r < 0) {
                bus_disconnect(b);
                log_warning_errno(r, "No system bus yet; keeping time, and connecting later");
                bus_schedule_reconnect(b);
        }
        *ret = b;
        return 0;
}

struct bus *bus_free(struct bus *b) {
        if (!b)
                return NULL;
        sd_event_source_disable_unref(b->emit_defer);
        sd_event_source_disable_unref(b->reconnect_timer);
        bus_disconnect(b);
        bus_announcer_done(&b->announcer);
        bus_announcer_done(&b->timesync_announcer);
        free(b);
        return NULL;
}
