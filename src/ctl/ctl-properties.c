/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>

#include "ctl-properties.h"
#include "ctl-util.h"

/* A named value of a known D-Bus type, stored at an offset into a struct. */
struct typed_field {
        const char *name;
        const char *signature;
        size_t offset;
};

#define MANAGER_FIELD(id, n, sig, member) \
        [id] = { .name = n, .signature = sig, .offset = offsetof(struct manager_properties, member) }

static const struct typed_field manager_fields[_PROPERTY_MAX] = {
        MANAGER_FIELD(PROPERTY_SERVERS, "Servers", "as", servers),
        MANAGER_FIELD(PROPERTY_SYNCHRONIZED, "Synchronized", "b", synchronized),
        MANAGER_FIELD(PROPERTY_UNSYNCHRONIZED_REASON, "UnsynchronizedReason", "s", unsynchronized_reason),
        MANAGER_FIELD(PROPERTY_STRATUM, "Stratum", "y", stratum),
        MANAGER_FIELD(PROPERTY_REFERENCE_ID, "ReferenceId", "s", reference_id),
        MANAGER_FIELD(PROPERTY_SYSTEM_PEER, "SystemPeer", "s", system_peer),
        MANAGER_FIELD(PROPERTY_OFFSET, "Offset", "x", offset),
        MANAGER_FIELD(PROPERTY_FREQUENCY, "Frequency", "d", frequency),
        MANAGER_FIELD(PROPERTY_ROOT_DELAY, "RootDelay", "t", root_delay),
        MANAGER_FIELD(PROPERTY_ROOT_DISPERSION, "RootDispersion", "t", root_dispersion),
        MANAGER_FIELD(PROPERTY_LEAP_STATUS, "LeapStatus", "s", leap_status),
        MANAGER_FIELD(PROPERTY_POLL_INTERVAL, "PollInterval", "u", poll_interval),
        MANAGER_FIELD(PROPERTY_SOURCES, "Sources", "a(sa{sv})", sources),
        MANAGER_FIELD(PROPERTY_RESTRICT_RULES, "RestrictRules", "as", restrict_rules),
        MANAGER_FIELD(PROPERTY_FIREWALL_CLIENT, "FirewallClient", "b", firewall_client),
        MANAGER_FIELD(PROPERTY_FIREWALL_SERVER, "FirewallServer", "b", firewall_server),
        MANAGER_FIELD(PROPERTY_FIREWALL_BACKEND, "FirewallBackend", "s", firewall_backend),
        MANAGER_FIELD(PROPERTY_FIREWALL_WARNING, "FirewallWarning", "s", firewall_warning),
        MANAGER_FIELD(PROPERTY_FIREWALL_CLIENT_STATE, "FirewallClientState", "s", firewall_client_state),
        MANAGER_FIELD(PROPERTY_FIREWALL_SERVER_STATE, "FirewallServerState", "s", firewall_server_state),
        MANAGER_FIELD(PROPERTY_FIREWALL_REASON, "FirewallReason", "s", firewall_reason),
        MANAGER_FIELD(PROPERTY_SERVER_MODE, "ServerMode", "b", server_mode),
        MANAGER_FIELD(PROPERTY_NTS_SERVING, "NtsServing", "b", nts_serving),
        MANAGER_FIELD(PROPERTY_NTS_CERTIFICATE, "NtsCertificate", "s", nts_certificate),
        MANAGER_FIELD(PROPERTY_NTS_KEY, "NtsKey", "s", nts_key),
        MANAGER_FIELD(PROPERTY_CLOCK_CONTROL, "ClockControl", "s", clock_control),
        MANAGER_FIELD(PROPERTY_ONLINE, "Online", "b", online),
        MANAGER_FIELD(PROPERTY_ONLINE_REASON, "OnlineReason", "s", online_reason),
};

#define SOURCE_FIELD(n, sig, member) \
        { .name = n, .signature = sig, .offset = offsetof(struct source_entry, member) }

static const struct typed_field source_fields[] = {
        SOURCE_FIELD("address", "s", address),
        SOURCE_FIELD("refid", "s", refid),
        SOURCE_FIELD("stratum", "y", stratum),
        SOURCE_FIELD("tally", "s", tally),
        SOURCE_FIELD("when", "t", when),
        SOURCE_FIELD("poll", "u", poll),
        SOURCE_FIELD("reach", "y", reach),
        SOURCE_FIELD("delay", "t", delay),
        SOURCE_FIELD("offset", "x", offset),
        SOURCE_FIELD("jitter", "t", jitter),
        SOURCE_FIELD("state", "s", state),
        SOURCE_FIELD("prefer", "b", prefer),
        SOURCE_FIELD("noselect", "b", noselect),
        SOURCE_FIELD("xleave", "b", xleave),
        SOURCE_FIELD("mode", "s", mode),
        SOURCE_FIELD("authentication", "s", authentication),
        SOURCE_FIELD("nts_state", "s", nts_state),
        SOURCE_FIELD("nts_reason", "s", nts_reason),
        SOURCE_FIELD("nts_cookies", "u", nts_cookies),
        SOURCE_FIELD("nts_ke_time", "t", nts_ke_time),
        SOURCE_FIELD("nts_rejected", "t", nts_rejected),
        SOURCE_FIELD("nts_last_rejection", "s", nts_last_rejection),
};

static void source_entry_done(struct source_entry *e) {
        free(e->name);
        free(e->address);
        free(e->refid);
        free(e->tally);
        free(e->state);
        free(e->mode);
        free(e->authentication);
        free(e->nts_state);
        free(e->nts_reason);
        free(e->nts_last_rejection);
}

static void source_list_done(struct source_list *l) {
        for (size_t i = 0; i < l->n; i++)
                source_entry_done(&l->entries[i]);
        free(l->entries);
        *l = (struct source_list) {};
}

static int read_sources(sd_bus_message *m, struct source_list *list);

static int read_string(sd_bus_message *m, char **field) {
        const char *s;
        int r = sd_bus_message_read_basic(m, 's', &s);
        if (r < 0)
                return r;
        char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

static int read_strv(sd_bus_message *m, char ***field) {
        char **l = NULL;
        int r = sd_bus_message_read_strv(m, &l);
        if (r < 0)
                return r;
        strv_free(*field);
        *field = l;
        return 0;
}

static int read_boolean(sd_bus_message *m, bool *field) {
        int b;
        int r = sd_bus_message_read_basic(m, 'b', &b);
        if (r < 0)
                return r;
        *field = b;
        return 0;
}

/* Reads a value of the field's signature into the field. Fixed-size numbers go straight in. */
static int read_typed_value(sd_bus_message *m, const char *signature, void *field) {
        if (streq(signature, "s"))
                return read_string(m, field);
        if (streq(signature, "as"))
                return read_strv(m, field);
        if (streq(signature, "b"))
                return read_boolean(m, field);
        if (streq(signature, "a(sa{sv})"))
                return read_sources(m, field);
        return sd_bus_message_read_basic(m, signature[0], field);
}

/* Reads a variant into the field if it holds the expected type, else skips it.
 * Returns 1 if read, 0 if skipped. */
static int read_variant(sd_bus_message *m, const struct typed_field *f, void *base) {
        const char *contents;
        int r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        if (r == 0 || !streq(contents, f->signature)) {
                r = sd_bus_message_skip(m, "v");
                return r < 0 ? r : 0;
        }
        r = sd_bus_message_enter_container(m, 'v', f->signature);
        if (r < 0)
                return r;
        r = read_typed_value(m, f->signature, (char *) base + f->offset);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 1;
}

static const struct typed_field *find_field(const struct typed_field *fields, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (fields[i].name && streq(fields[i].name, name))
                        return &fields[i];
        return NULL;
}

/* A "{sv}" dictionary: the value of each name in fields goes into base at the field's offset;
 * other names, and values of another type than expected, are skipped. present, unless NULL, marks
 * what was read, by index into fields. */
static int read_fields(sd_bus_message *m, const struct typed_field *fields, size_t n_fields, void *base,
                       bool *present) {
        int r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *name;
                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                const struct typed_field *f = find_field(fields, n_fields, name);
                r = f ? read_variant(m, f, base) : sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                if (f && r > 0 && present)
                        present[f - fields] = true;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(m);
}

static struct source_entry *source_list_append(struct source_list *l) {
        struct source_entry *entries = reallocarray(l->entries, l->n + 1, sizeof(*entries));
        if (!entries)
                return NULL;
        l->entries = entries;
        entries[l->n] = (struct source_entry) { .when = SOURCE_WHEN_NEVER };
        return &entries[l->n++];
}

static int read_source(sd_bus_message *m, struct source_list *l) {
        int r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
        if (r <= 0)
                return r;
        struct source_entry *e = source_list_append(l);
        if (!e)
                return -ENOMEM;
        r = read_string(m, &e->name);
        if (r < 0)
                return r;
        r = read_fields(m, source_fields, ELEMENTSOF(source_fields), e, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 1;
}

static int read_sources(sd_bus_message *m, struct source_list *list) {
        struct source_list new_list = {};
        int r = sd_bus_message_enter_container(m, 'a', "(sa{sv})");
        if (r < 0)
                return r;
        do
                r = read_source(m, &new_list);
        while (r > 0);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0) {
                source_list_done(&new_list);
                return r;
        }
        source_list_done(list);
        *list = new_list;
        return 0;
}

int manager_properties_parse(sd_bus_message *reply, struct manager_properties *ret) {
        struct manager_properties p = {};
        int r = read_fields(reply, manager_fields, _PROPERTY_MAX, &p, p.present);
        if (r < 0) {
                manager_properties_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

void manager_properties_done(struct manager_properties *p) {
        strv_free(p->servers);
        free(p->unsynchronized_reason);
        free(p->online_reason);
        free(p->firewall_warning);
        free(p->firewall_client_state);
        free(p->firewall_server_state);
        free(p->firewall_reason);
        free(p->reference_id);
        free(p->system_peer);
        free(p->leap_status);
        source_list_done(&p->sources);
        strv_free(p->restrict_rules);
        free(p->firewall_backend);
        free(p->clock_control);
        free(p->nts_certificate);
        free(p->nts_key);
        *p = (struct manager_properties) {};
}

int manager_properties_seek(sd_bus_message *reply, const char *name) {
        int r = sd_bus_message_rewind(reply, true);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;
                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r <= 0)
                        return r;
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, name))
                        return 1;
                r = sd_bus_message_skip(reply, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
}
