/* The firewalld backend: the "ntp" service (udp/123 in) in the default zone, in the runtime
 * configuration (org.fedoraproject.FirewallD1.zone) and the permanent one
 * (org.fedoraproject.FirewallD1.config.zone at the path config.getZoneByName() gives), so that
 * what ntpsyncd opened survives a `firewall-cmd --reload` and a reboot, as an administrator
 * who typed `firewall-cmd --add-service=ntp && firewall-cmd --permanent --add-service=ntp`
 * would expect. Calls are synchronous with a timeout: SetFirewall is rare and firewalld quick. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firewall-internal.h"
#include "log.h"

#define FWD_NAME "org.fedoraproject.FirewallD1"
#define FWD_PATH "/org/fedoraproject/FirewallD1"
#define FWD_IFACE "org.fedoraproject.FirewallD1"
#define FWD_ZONE_IFACE "org.fedoraproject.FirewallD1.zone"
#define FWD_CONFIG_PATH "/org/fedoraproject/FirewallD1/config"
#define FWD_CONFIG_IFACE "org.fedoraproject.FirewallD1.config"
#define FWD_CONFIG_ZONE_IFACE "org.fedoraproject.FirewallD1.config.zone"
#define FWD_TIMEOUT_USEC (10ULL * 1000000)

static int set_error(char *error, size_t size, const char *what, const sd_bus_error *e, int r) {
        snprintf(error, size, "firewalld %s: %s", what, e && e->message ? e->message : strerror(r < 0 ? -r : r));
        return r < 0 ? r : -EIO;
}

static int call(sd_bus *bus, const char *path, const char *iface, const char *method, sd_bus_error *e,
                sd_bus_message **reply, const char *types, ...) {
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, FWD_NAME, path, iface, method);
        if (r < 0)
                return r;
        if (types && *types) {
                va_list ap;
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0) {
                        sd_bus_message_unref(m);
                        return r;
                }
        }
        r = sd_bus_call(bus, m, FWD_TIMEOUT_USEC, e, reply);
        sd_bus_message_unref(m);
        return r;
}

/* firewalld's error texts start with the code: "ALREADY_ENABLED: ntp". */
static bool error_is(const sd_bus_error *e, const char *code) {
        return e && e->message && strncmp(e->message, code, strlen(code)) == 0;
}

int firewalld_present(sd_bus *bus) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int has = 0;
        int r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                   "NameHasOwner", &e, &reply, "s", FWD_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &has);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        if (r < 0)
                return r;
        return has ? 1 : 0;
}

static int get_default_zone(sd_bus *bus, char *zone, size_t size, char *error, size_t error_size) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *z = NULL;
        int r = call(bus, FWD_PATH, FWD_IFACE, "getDefaultZone", &e, &reply, NULL);
        if (r >= 0)
                r = sd_bus_message_read(reply, "s", &z);
        if (r >= 0 && (!z || !*z || strlen(z) >= size || strpbrk(z, "\n\r\t "))) {
                snprintf(error, error_size, "firewalld: unusable default zone name");
                r = -EBADMSG;
        } else if (r >= 0)
                snprintf(zone, size, "%s", z);
        else
                r = set_error(error, error_size, "getDefaultZone", &e, r);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        return r;
}

static int config_zone_path(sd_bus *bus, const char *zone, char **ret, char *error, size_t error_size) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *path = NULL;
        int r = call(bus, FWD_CONFIG_PATH, FWD_CONFIG_IFACE, "getZoneByName", &e, &reply, "s", zone);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0) {
                *ret = strdup(path);
                if (!*ret)
                        r = -ENOMEM;
        } else
                r = set_error(error, error_size, "config.getZoneByName", &e, r);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        return r;
}

/* permanent: path is the config zone object; else zone is the runtime zone. */
static int query(sd_bus *bus, const char *zone, const char *path, bool *ret, char *error, size_t error_size) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int b = 0, r;
        if (path)
                r = call(bus, path, FWD_CONFIG_ZONE_IFACE, "queryService", &e, &reply, "s", FIREWALLD_SERVICE);
        else
                r = call(bus, FWD_PATH, FWD_ZONE_IFACE, "queryService", &e, &reply, "ss", zone, FIREWALLD_SERVICE);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &b);
        if (r < 0)
                r = set_error(error, error_size, path ? "config.zone.queryService" : "zone.queryService", &e, r);
        else
                *ret = b;
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        return r;
}

/* Adds or removes the service; 1 when this changed something, 0 when it was so already. */
static int change(sd_bus *bus, const char *zone, const char *path, bool add, char *error, size_t error_size) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;
        if (path)
                r = call(bus, path, FWD_CONFIG_ZONE_IFACE, add ? "addService" : "removeService", &e, NULL, "s",
                         FIREWALLD_SERVICE);
        else if (add)
                r = call(bus, FWD_PATH, FWD_ZONE_IFACE, "addService", &e, NULL, "ssi", zone, FIREWALLD_SERVICE, 0);
        else
                r = call(bus, FWD_PATH, FWD_ZONE_IFACE, "removeService", &e, NULL, "ss", zone, FIREWALLD_SERVICE);
        if (r >= 0)
                r = 1;
        else if (error_is(&e, add ? "ALREADY_ENABLED" : "NOT_ENABLED"))
                r = 0; /* someone was quicker: the state is what we want */
        else {
                char what[64];
                snprintf(what, sizeof(what), "%s%s", path ? "config.zone." : "zone.", add ? "addService" : "removeService");
                r = set_error(error, error_size, what, &e, r);
        }
        sd_bus_error_free(&e);
        return r;
}

/* The default zone, and whether the service is in it at runtime and permanently. ret_path (may be
 * NULL) gets the zone's configuration object, for the caller to free. */
static int read_zone(sd_bus *bus, char *zone, size_t zone_size, char **ret_path, bool *ret_runtime,
                     bool *ret_permanent, char *error, size_t error_size) {
        char *path = NULL;
        int r = get_default_zone(bus, zone, zone_size, error, error_size);
        if (r >= 0)
                r = config_zone_path(bus, zone, &path, error, error_size);
        if (r >= 0)
                r = query(bus, zone, NULL, ret_runtime, error, error_size);
        if (r >= 0)
                r = query(bus, zone, path, ret_permanent, error, error_size);
        if (r >= 0 && ret_path) {
                *ret_path = path;
                path = NULL;
        }
        free(path);
        return r;
}

int firewalld_apply(sd_bus *bus, bool server, char *zone, size_t zone_size, struct firewalld_changes *changes,
                    char *error, size_t error_size) {
        char z[FIREWALL_ZONE_MAX];
        char *path = NULL;
        bool runtime = false, permanent = false;
        int r = read_zone(bus, z, sizeof(z), &path, &runtime, &permanent, error, error_size);
        if (r < 0)
                return r;

        bool runtime_changed = false;
        if (runtime != server) {
                r = change(bus, z, NULL, server, error, error_size);
                if (r < 0)
                        goto finish;
                runtime_changed = r > 0;
        }
        if (permanent != server) {
                r = change(bus, z, path, server, error, error_size);
                if (r < 0) {
                        /* All or nothing: take the runtime change back. */
                        char ignored[128];
                        if (runtime_changed && change(bus, z, NULL, !server, ignored, sizeof(ignored)) < 0)
                                log_warning("firewalld: cannot undo the runtime change of service " FIREWALLD_SERVICE
                                            " in zone %s: %s", z, ignored);
                        goto finish;
                }
                if (server && r > 0)
                        changes->added_permanent = true;
        }
        if (server && runtime_changed)
                changes->added_runtime = true;
        if (!server)
                changes->added_runtime = changes->added_permanent = false;
        snprintf(zone, zone_size, "%s", z);
        r = 0;
finish:
        free(path);
        return r;
}

int firewalld_remove(sd_bus *bus, const char *zone, struct firewalld_changes *changes, char *error, size_t error_size) {
        int r = 0;
        if (!zone || !*zone || (!changes->added_runtime && !changes->added_permanent))
                return 0;
        if (changes->added_runtime) {
                r = change(bus, zone, NULL, false, error, error_size);
                if (r < 0)
                        return r;
                changes->added_runtime = false;
        }
        if (changes->added_permanent) {
                char *path = NULL;
                r = config_zone_path(bus, zone, &path, error, error_size);
                if (r >= 0)
                        r = change(bus, zone, path, false, error, error_size);
                free(path);
                if (r < 0)
                        return r;
                changes->added_permanent = false;
        }
        return 0;
}

int firewalld_read(sd_bus *bus, struct firewall_state *st, char *error, size_t error_size) {
        bool runtime = false, permanent = false;
        int panic = 0;
        int r = read_zone(bus, st->zone, sizeof(st->zone), NULL, &runtime, &permanent, error, error_size);
        if (r < 0)
                return r;

        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        if (call(bus, FWD_PATH, FWD_IFACE, "queryPanicMode", &e, &reply, NULL) >= 0)
                (void) sd_bus_message_read(reply, "b", &panic);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);

        st->installed = runtime;
        st->server = runtime;
        st->permanent = permanent;
        st->client = true;
        char text[256];
        if (panic)
                firewall_warning_append(st->warning, sizeof(st->warning),
                                        "firewalld is in panic mode: all traffic is dropped");
        if (runtime && !permanent) {
                snprintf(text, sizeof(text), "firewalld: service " FIREWALLD_SERVICE " in zone %s is in the runtime "
                         "configuration only (gone after a reload)", st->zone);
                firewall_warning_append(st->warning, sizeof(st->warning), text);
        } else if (!runtime && permanent) {
                snprintf(text, sizeof(text), "firewalld: service " FIREWALLD_SERVICE " in zone %s is in the permanent "
                         "configuration only (not active until a reload)", st->zone);
                firewall_warning_append(st->warning, sizeof(st->warning), text);
        }
        return 0;
}
