/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.ntpsync1.Manager's methods and its vtable (the properties: bus-manager-properties.c). */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-change.h"
#include "bus-manager-properties.h"
#include "metrics.h"
#include "ntp-server.h"
#include "nts-ke-server.h"
#include "query.h"

#define QUERIES_MAX 4

/* ---- servers ---- */

static int parse_specs(char **specs, struct config_overrides *o, sd_bus_error *error) {
        o->has_servers = true;
        o->n_servers = 0;
        for (size_t i = 0; specs && specs[i]; i++) {
                const char *why;
                struct config_server s;
                if (o->n_servers >= CONFIG_MAX_SERVERS)
                        return bus_error_invalid(error, "More than %d servers", CONFIG_MAX_SERVERS);
                if (config_parse_server_spec(specs[i], &s, &why) < 0)
                        return bus_error_invalid(error, "Invalid server spec \"%s\": %s", BUS_QUOTE(specs[i]), why);
                for (size_t j = 0; j < o->n_servers; j++)
                        if (strcasecmp(o->servers[j].host, s.host) == 0)
                                return bus_error_invalid(error, "Duplicate server %s", s.host);
                o->servers[o->n_servers++] = s;
        }
        return 0;
}

static int method_set_servers(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        char **specs = NULL, details[1024];
        struct bus_change *c = NULL;

        int r = bus_read_list_call(call, userdata, &specs, &c, error);
        if (r < 0)
                return r;
        if (strv_length(specs) == 0)
                r = bus_error_invalid(error, "No servers given");
        if (r >= 0)
                r = parse_specs(specs, &c->overrides, error);
        bus_join(specs, details, sizeof(details));
        strv_free(specs);
        if (r < 0) {
                free(c);
                return r;
        }
        return bus_authorize_setting(call, c, "org.ntpsync1.set-servers", "servers", details);
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
                return bus_error_invalid(error, "Invalid server spec \"%s\": %s", BUS_QUOTE(spec), why);
        if (find_server(&b->manager->config, s.host) >= 0)
                return bus_error_invalid(error, "%s is already a server", s.host);
        if (b->manager->config.n_servers >= CONFIG_MAX_SERVERS)
                return bus_error_invalid(error, "Already %d servers", CONFIG_MAX_SERVERS);

        struct bus_change *c = bus_change_new(b, runtime);
        if (!c)
                return -ENOMEM;
        current_servers(b->manager, &c->overrides);
        c->overrides.servers[c->overrides.n_servers++] = s;
        return bus_authorize_setting(call, c, "org.ntpsync1.set-servers", "servers", spec);
}

static int method_remove_server(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        const char *host;
        int runtime;

        int r = sd_bus_message_read(call, "sb", &host, &runtime);
        if (r < 0)
                return r;
        if (!config_host_is_valid(host))
                return bus_error_invalid(error, "Not a valid host: \"%s\"", BUS_QUOTE(host));
        int i = find_server(&b->manager->config, host);
        if (i < 0)
                return bus_error_invalid(error, "No server %s", host);

        struct bus_change *c = bus_change_new(b, runtime);
        if (!c)
                return -ENOMEM;
        current_servers(b->manager, &c->overrides);
        memmove(&c->overrides.servers[i], &c->overrides.servers[i + 1],
                (c->overrides.n_servers - (size_t) i - 1) * sizeof(c->overrides.servers[0]));
        c->overrides.n_servers--;
        return bus_authorize_setting(call, c, "org.ntpsync1.set-servers", "servers", host);
}

/* ---- restrict rules ---- */

static int parse_rule(const char *text, struct restrict_rule *ret, sd_bus_error *error) {
        struct restrict_messages messages;
        if (restrict_rule_parse(text, ret, &messages) < 0)
                return bus_error_invalid(error, "Invalid restrict rule \"%s\": %s", BUS_QUOTE(text), messages.error);
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

        int r = bus_read_list_call(call, userdata, &rules, &c, error);
        if (r < 0)
                return r;
        struct config_overrides *o = &c->overrides;
        if (strv_length(rules) > CONFIG_MAX_RESTRICTS)
                r = bus_error_invalid(error, "More than %d rules", CONFIG_MAX_RESTRICTS);
        for (size_t i = 0; r >= 0 && rules && rules[i]; i++) {
                r = parse_rule(rules[i], &o->restricts[o->n_restricts], error);
                if (r >= 0 && find_restrict(o, &o->restricts[o->n_restricts]) < o->n_restricts)
                        r = bus_error_invalid(error, "Two rules for the same address: \"%s\"", BUS_QUOTE(rules[i]));
                if (r >= 0)
                        o->n_restricts++;
        }
        bus_join(rules, details, sizeof(details));
        strv_free(rules);
        if (r < 0) {
                free(c);
                return r;
        }
        o->has_restricts = true;
        return bus_authorize_setting(call, c, "org.ntpsync1.set-restrict", "rules", details);
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
                return bus_error_invalid(error, "Already %d rules", CONFIG_MAX_RESTRICTS);
        }
        o->restricts[i] = rule;
        if (i == o->n_restricts)
                o->n_restricts++;
        return bus_authorize_setting(call, c, "org.ntpsync1.set-restrict", "rules", text);
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
                return bus_error_invalid(error, "Give only the address of the rule to remove, not \"%s\"", BUS_QUOTE(text));
        if (target.is_default)
                return bus_error_invalid(error, "The default rules can be changed but not removed");
        struct bus_change *c = bus_change_new(b, runtime);
        if (!c)
                return -ENOMEM;
        struct config_overrides *o = &c->overrides;
        current_restricts(b->manager, o);
        size_t i = find_restrict(o, &target);
        if (i == o->n_restricts) {
                free(c);
                return bus_error_invalid(error, "No rule for %s", BUS_QUOTE(text));
        }
        memmove(&o->restricts[i], &o->restricts[i + 1], (o->n_restricts - i - 1) * sizeof(o->restricts[0]));
        o->n_restricts--;
        return bus_authorize_setting(call, c, "org.ntpsync1.set-restrict", "rules", text);
}

/* ---- firewall, server mode, control ---- */

/* SetFirewall answers once the helper or firewalld did: the kernel (or firewalld) first, and
 * if it refuses, nothing is persisted. Meanwhile the loop goes on serving and polling. */
struct firewall_call {
        struct bus *bus;
        sd_bus_message *call;
        bool client, server;
};

static int persist_firewall(struct firewall_call *f, sd_bus_error *error) {
        struct bus_change *c = bus_change_new(f->bus, false);
        if (!c)
                return -ENOMEM;
        c->overrides.has_firewall = true;
        c->overrides.firewall_client = f->client;
        c->overrides.firewall_server = f->server;
        int r = bus_apply_overrides(c, error);
        free(c);
        return r;
}

static void on_firewall_applied(void *userdata, int r, const char *why) {
        struct firewall_call *f = userdata;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        if (r == -ECANCELED) {
                /* The daemon is stopping: the bus is gone already, and the caller with it. */
                sd_bus_message_unref(f->call);
                free(f);
                return;
        }
        if (r == -EOPNOTSUPP)
                r = sd_bus_error_setf(&error, SD_BUS_ERROR_NOT_SUPPORTED, "%s", why ? why : "No firewall backend");
        else if (r < 0)
                r = sd_bus_error_setf(&error, SD_BUS_ERROR_FAILED, "The firewall was not changed: %s",
                                      why ? why : strerror(-r));
        else
                r = persist_firewall(f, &error);
        if (r < 0)
                sd_bus_reply_method_errno(f->call, r, &error);
        else
                sd_bus_reply_method_return(f->call, NULL);
        sd_bus_error_free(&error);
        bus_properties_maybe_changed(f->bus);
        sd_bus_message_unref(f->call);
        free(f);
}

static int apply_firewall(struct bus_change *c, sd_bus_error *error) {
        struct firewall_call *f = malloc(sizeof(*f));
        if (!f)
                return -ENOMEM;
        *f = (struct firewall_call) { .bus = c->bus, .call = sd_bus_message_ref(c->call),
                                      .client = c->overrides.firewall_client, .server = c->overrides.firewall_server };
        int r = manager_apply_firewall_async(c->bus->manager, f->client, f->server, on_firewall_applied, f);
        if (r < 0) {
                sd_bus_message_unref(f->call);
                free(f);
                if (r == -EOPNOTSUPP)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                                 "No firewall backend: the firewall cannot be managed by this process");
                return r;
        }
        return 1;
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
        int r = bus_apply_overrides(c, error);
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
        return bus_authorize_setting(call, c, "org.ntpsync1.set-server-mode", "enabled", enabled ? "true" : "false");
}

/* A certificate or key path as SetNts takes it: "" keeps the configured one. */
static int check_nts_path(const char *what, const char *path, sd_bus_error *error) {
        if (path[0] && !config_path_is_valid(path))
                return bus_error_invalid(error, "Invalid %s path \"%s\": an absolute path without spaces, quotes or #",
                                         what, BUS_QUOTE(path));
        return 0;
}

/* As for the server mode: the setting is taken, and the caller learns when the NTS-KE service
 * cannot run with it (the files it names are unreadable, or not a certificate and its key). */
static int apply_nts(struct bus_change *c, sd_bus_error *error) {
        int r = bus_apply_overrides(c, error);
        if (r < 0)
                return r;
        manager *m = c->bus->manager;
        if (c->overrides.nts_enable && manager_serving_now(m) && m->nts_ke_server &&
            !nts_ke_server_running(m->nts_ke_server))
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                         "NTS is set, but the NTS-KE service cannot run with certificate %s and key "
                                         "%s (see the journal; the key must be readable by the daemon, or passed "
                                         "with LoadCredential=)",
                                         m->config.nts_cert, m->config.nts_key);
        return 0;
}

static int method_set_nts(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        const char *cert, *key;
        int enabled, runtime;
        int r = sd_bus_message_read(call, "bssb", &enabled, &cert, &key, &runtime);
        if (r < 0)
                return r;
        if ((r = check_nts_path("certificate", cert, error)) < 0 || (r = check_nts_path("key", key, error)) < 0)
                return r;
        const struct config *now = &((struct bus *) userdata)->manager->config;
        if (enabled && !(cert[0] || now->nts_cert[0]) && !(key[0] || now->nts_key[0]))
                return bus_error_invalid(error, "Serving NTS needs a certificate and a key; none is configured");
        if (enabled && !(cert[0] || now->nts_cert[0]))
                return bus_error_invalid(error, "Serving NTS needs a certificate; none is configured");
        if (enabled && !(key[0] || now->nts_key[0]))
                return bus_error_invalid(error, "Serving NTS needs a key; none is configured");
        struct bus_change *c = bus_change_new(userdata, runtime);
        if (!c)
                return -ENOMEM;
        c->overrides.has_nts = true;
        c->overrides.nts_enable = enabled;
        snprintf(c->overrides.nts_cert, sizeof(c->overrides.nts_cert), "%s", cert);
        snprintf(c->overrides.nts_key, sizeof(c->overrides.nts_key), "%s", key);
        c->apply = apply_nts;
        return bus_authorize_setting(call, c, "org.ntpsync1.set-nts", "enabled", enabled ? "true" : "false");
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
                return bus_error_invalid(error, "Not a valid host: \"%s\"", BUS_QUOTE(host));
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

/* ---- Metrics ---- */

/* What the metrics socket serves, for anyone on the bus: it says no more than the properties. */
static int method_metrics(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = metrics_text(b->manager, &text, &len);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(call, "s", text);
}

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
        SD_BUS_METHOD_WITH_ARGS("SetNts", SD_BUS_ARGS("b", enabled, "s", certificate, "s", key, "b", runtime),
                                SD_BUS_NO_RESULT, method_set_nts, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Query", SD_BUS_ARGS("s", host),
                                SD_BUS_RESULT("x", offset_ns, "t", delay_ns, "y", stratum, "s", refid), method_query,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Metrics", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", text), method_metrics,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Burst", NULL, NULL, method_burst, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", NULL, NULL, method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

void bus_manager_init(struct bus *b) {
        bus_announcer_init(&b->announcer, BUS_PATH, BUS_INTERFACE, bus_manager_properties, bus_manager_n_properties);
}

int bus_manager_add(struct bus *b) {
        return sd_bus_add_object_vtable(b->bus, &b->manager_slot, BUS_PATH, BUS_INTERFACE, manager_vtable, b);
}
