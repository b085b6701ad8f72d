/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The firewalld backend: the "ntp" service (udp/123 in) in the default zone, in the runtime
 * configuration (org.fedoraproject.FirewallD1.zone) and the permanent one
 * (org.fedoraproject.FirewallD1.config.zone at the path config.getZoneByName() gives), so that
 * what ntpsyncd opened survives a `firewall-cmd --reload` and a reboot, as an administrator
 * who typed `firewall-cmd --add-service=ntp && firewall-cmd --permanent --add-service=ntp`
 * would expect. When NTS is served (want.nts_ke), the port 4460/tcp goes with the service, in
 * the same zone and both configurations (firewalld has no service for NTS-KE); when it is not,
 * a 4460/tcp that this process added is taken back, and one it did not add is left alone.
 *
 * An operation is a sequence of calls (enum firewalld_step), each made when the previous one
 * answered: with sd_bus_call_async() and FIREWALLD_TIMEOUT_USEC, so that a firewalld that hangs
 * holds up nothing but the firewall state, or with sd_bus_call() for the blocking API. firewalld
 * is followed from the bus: NameOwnerChanged (it starts, stops, restarts) and its own signals
 * (Reloaded, a zone's services changing, the default zone changing) ask for a read-back.
 * Whatever firewalld answers is checked: a reply of another type is an error, never a crash. */

#include <errno.h>
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

#define DBUS_NAME "org.freedesktop.DBus"
#define DBUS_PATH "/org/freedesktop/DBus"

/* ---- one call per step ---- */

static bool is_port_step(enum firewalld_step s) {
        return s == FIREWALLD_QUERY_PORT_RUNTIME || s == FIREWALLD_QUERY_PORT_PERMANENT ||
               s == FIREWALLD_CHANGE_PORT_RUNTIME || s == FIREWALLD_CHANGE_PORT_PERMANENT;
}

static bool is_change(enum firewalld_step s) {
        return s >= FIREWALLD_CHANGE_RUNTIME && s <= FIREWALLD_CHANGE_PORT_PERMANENT;
}

/* Whether change step s adds (else removes): the service follows server, the port too when it is
 * wanted, else it is only ever taken back; taking a change back does the opposite. */
static bool change_adds(const struct firewalld_call *c, enum firewalld_step s) {
        bool add = is_port_step(s) ? c->port && c->server : c->server;
        return c->undoing ? !add : add;
}

/* Whether the current step adds the service or port (else it removes it, or changes nothing). */
static bool step_adds(const struct firewalld_call *c) {
        return change_adds(c, c->step);
}

static const char *step_name(const struct firewalld_call *c) {
        switch (c->step) {
        case FIREWALLD_DEFAULT_ZONE:
                return "getDefaultZone";
        case FIREWALLD_ZONE_PATH:
                return "config.getZoneByName";
        case FIREWALLD_QUERY_RUNTIME:
                return "zone.queryService";
        case FIREWALLD_QUERY_PERMANENT:
                return "config.zone.queryService";
        case FIREWALLD_QUERY_PORT_RUNTIME:
                return "zone.queryPort";
        case FIREWALLD_QUERY_PORT_PERMANENT:
                return "config.zone.queryPort";
        case FIREWALLD_PANIC:
                return "queryPanicMode";
        case FIREWALLD_CHANGE_RUNTIME:
                return step_adds(c) ? "zone.addService" : "zone.removeService";
        case FIREWALLD_CHANGE_PORT_RUNTIME:
                return step_adds(c) ? "zone.addPort" : "zone.removePort";
        case FIREWALLD_CHANGE_PERMANENT:
                return step_adds(c) ? "config.zone.addService" : "config.zone.removeService";
        case FIREWALLD_CHANGE_PORT_PERMANENT:
                return step_adds(c) ? "config.zone.addPort" : "config.zone.removePort";
        case FIREWALLD_DONE:
        default:
                return "";
        }
}

static int new_call(sd_bus *bus, const char *path, const char *iface, const char *method, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(bus, ret, FWD_NAME, path, iface, method);
}

/* The call of the current step. */
static int step_message(struct firewall *f, sd_bus_message **ret) {
        struct firewalld_call *c = &f->fwd;
        sd_bus_message *m = NULL;
        int r;
        switch (c->step) {
        case FIREWALLD_DEFAULT_ZONE:
                return new_call(f->bus, FWD_PATH, FWD_IFACE, "getDefaultZone", ret);
        case FIREWALLD_PANIC:
                return new_call(f->bus, FWD_PATH, FWD_IFACE, "queryPanicMode", ret);
        case FIREWALLD_ZONE_PATH:
                r = new_call(f->bus, FWD_CONFIG_PATH, FWD_CONFIG_IFACE, "getZoneByName", &m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", c->zone);
                break;
        case FIREWALLD_QUERY_RUNTIME:
                r = new_call(f->bus, FWD_PATH, FWD_ZONE_IFACE, "queryService", &m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "ss", c->zone, FIREWALLD_SERVICE);
                break;
        case FIREWALLD_QUERY_PERMANENT:
                r = new_call(f->bus, c->config_path, FWD_CONFIG_ZONE_IFACE, "queryService", &m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", FIREWALLD_SERVICE);
                break;
        case FIREWALLD_QUERY_PORT_RUNTIME:
                r = new_call(f->bus, FWD_PATH, FWD_ZONE_IFACE, "queryPort", &m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "sss", c->zone, FIREWALLD_NTS_KE_PORT, FIREWALLD_NTS_KE_PROTOCOL);
                break;
        case FIREWALLD_QUERY_PORT_PERMANENT:
                r = new_call(f->bus, c->config_path, FWD_CONFIG_ZONE_IFACE, "queryPort", &m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "ss", FIREWALLD_NTS_KE_PORT, FIREWALLD_NTS_KE_PROTOCOL);
                break;
        case FIREWALLD_CHANGE_RUNTIME:
                r = new_call(f->bus, FWD_PATH, FWD_ZONE_IFACE, step_adds(c) ? "addService" : "removeService", &m);
                if (r >= 0)
                        r = step_adds(c) ? sd_bus_message_append(m, "ssi", c->zone, FIREWALLD_SERVICE, 0)
                                         : sd_bus_message_append(m, "ss", c->zone, FIREWALLD_SERVICE);
                break;
        case FIREWALLD_CHANGE_PORT_RUNTIME:
                r = new_call(f->bus, FWD_PATH, FWD_ZONE_IFACE, step_adds(c) ? "addPort" : "removePort", &m);
                if (r >= 0)
                        r = step_adds(c) ? sd_bus_message_append(m, "sssi", c->zone, FIREWALLD_NTS_KE_PORT,
                                                                 FIREWALLD_NTS_KE_PROTOCOL, 0)
                                         : sd_bus_message_append(m, "sss", c->zone, FIREWALLD_NTS_KE_PORT,
                                                                 FIREWALLD_NTS_KE_PROTOCOL);
                break;
        case FIREWALLD_CHANGE_PERMANENT:
                r = new_call(f->bus, c->config_path, FWD_CONFIG_ZONE_IFACE, step_adds(c) ? "addService" : "removeService",
                             &m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", FIREWALLD_SERVICE);
                break;
        case FIREWALLD_CHANGE_PORT_PERMANENT:
                r = new_call(f->bus, c->config_path, FWD_CONFIG_ZONE_IFACE, step_adds(c) ? "addPort" : "removePort", &m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "ss", FIREWALLD_NTS_KE_PORT, FIREWALLD_NTS_KE_PROTOCOL);
                break;
        case FIREWALLD_DONE:
        default:
                return -EINVAL;
        }
        if (r < 0) {
                sd_bus_message_unref(m);
                return r;
        }
        *ret = m;
        return 0;
}

/* Whether this process added what change step s is about. */
static bool added_by_us(const struct firewalld_changes *ch, enum firewalld_step s) {
        switch (s) {
        case FIREWALLD_CHANGE_RUNTIME:
                return ch->added_runtime;
        case FIREWALLD_CHANGE_PORT_RUNTIME:
                return ch->added_port_runtime;
        case FIREWALLD_CHANGE_PERMANENT:
                return ch->added_permanent;
        case FIREWALLD_CHANGE_PORT_PERMANENT:
                return ch->added_port_permanent;
        default:
                return false;
        }
}

static void note_added(struct firewalld_changes *ch, enum firewalld_step s, bool added) {
        switch (s) {
        case FIREWALLD_CHANGE_RUNTIME:
                ch->added_runtime = added;
                break;
        case FIREWALLD_CHANGE_PORT_RUNTIME:
                ch->added_port_runtime = added;
                break;
        case FIREWALLD_CHANGE_PERMANENT:
                ch->added_permanent = added;
                break;
        case FIREWALLD_CHANGE_PORT_PERMANENT:
                ch->added_port_permanent = added;
                break;
        default:
                break;
        }
}

/* Whether change step s has something to do: what was queried differs from what is wanted; on
 * REMOVE, and for a port no longer wanted, only what this process added is taken back. */
static bool change_needed(const struct firewall *f, enum firewalld_step s) {
        const struct firewalld_call *c = &f->fwd;
        if (c->kind == FIREWALL_OP_REMOVE || (is_port_step(s) && !c->port))
                return added_by_us(&f->changes, s);
        switch (s) {
        case FIREWALLD_CHANGE_RUNTIME:
                return c->runtime != c->server;
        case FIREWALLD_CHANGE_PORT_RUNTIME:
                return c->port_runtime != c->server;
        case FIREWALLD_CHANGE_PERMANENT:
                return c->permanent != c->server;
        case FIREWALLD_CHANGE_PORT_PERMANENT:
                return c->port_permanent != c->server;
        default:
                return false;
        }
}

/* The first change after step after that has something to do, or DONE. */
static enum firewalld_step next_change(const struct firewall *f, enum firewalld_step after) {
        for (enum firewalld_step s = after + 1; s < FIREWALLD_DONE; s++)
                if (is_change(s) && change_needed(f, s))
                        return s;
        return FIREWALLD_DONE;
}

/* Taking back: the change before step before that this call made, or DONE. */
static enum firewalld_step previous_changed(const struct firewalld_call *c, enum firewalld_step before) {
        for (enum firewalld_step s = before; s-- > FIREWALLD_CHANGE_RUNTIME;)
                if (c->changed & (1u << s))
                        return s;
        return FIREWALLD_DONE;
}

/* After the queries: the panic mode (READ) or the changes (APPLY). */
static enum firewalld_step after_queries(const struct firewall *f) {
        return f->fwd.kind == FIREWALL_OP_READ ? FIREWALLD_PANIC : next_change(f, FIREWALLD_PANIC);
}

/* The step that follows a successful one. */
static enum firewalld_step next_step(const struct firewall *f) {
        const struct firewalld_call *c = &f->fwd;
        switch (c->step) {
        case FIREWALLD_DEFAULT_ZONE:
                return FIREWALLD_ZONE_PATH;
        case FIREWALLD_ZONE_PATH:
                return c->kind == FIREWALL_OP_REMOVE ? next_change(f, FIREWALLD_PANIC) : FIREWALLD_QUERY_RUNTIME;
        case FIREWALLD_QUERY_RUNTIME:
                return FIREWALLD_QUERY_PERMANENT;
        case FIREWALLD_QUERY_PERMANENT:
                return c->port ? FIREWALLD_QUERY_PORT_RUNTIME : after_queries(f);
        case FIREWALLD_QUERY_PORT_RUNTIME:
                return FIREWALLD_QUERY_PORT_PERMANENT;
        case FIREWALLD_QUERY_PORT_PERMANENT:
                return after_queries(f);
        case FIREWALLD_CHANGE_RUNTIME:
        case FIREWALLD_CHANGE_PORT_RUNTIME:
        case FIREWALLD_CHANGE_PERMANENT:
        case FIREWALLD_CHANGE_PORT_PERMANENT:
                return next_change(f, c->step);
        case FIREWALLD_PANIC:
        case FIREWALLD_DONE:
        default:
                return FIREWALLD_DONE;
        }
}

/* ---- answers ---- */

static bool error_is(const sd_bus_error *e, const char *code) {
        /* firewalld's error texts start with the code: "ALREADY_ENABLED: ntp". */
        return e && e->message && strncmp(e->message, code, strlen(code)) == 0;
}

static int fail(struct firewall *f, const sd_bus_error *e, int r) {
        struct firewalld_call *c = &f->fwd;
        if (r >= 0)
                r = -EIO;
        if (e && sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) && e->message && strstr(e->message, "timed out"))
                snprintf(f->error, sizeof(f->error), "firewalld did not answer %s within %llu s", step_name(c),
                         FIREWALLD_TIMEOUT_USEC / 1000000);
        else
                snprintf(f->error, sizeof(f->error), "firewalld %s: %s", step_name(c),
                         e && e->message ? e->message : strerror(-r));
        c->result = r;
        return r;
}

static int bad_reply(struct firewall *f, const char *what) {
        struct firewalld_call *c = &f->fwd;
        snprintf(f->error, sizeof(f->error), "firewalld %s: %s", step_name(c), what);
        c->result = -EBADMSG;
        return -EBADMSG;
}

static bool zone_name_ok(const char *z) {
        if (!z || !*z || strlen(z) >= FIREWALL_ZONE_MAX)
                return false;
        for (; *z; z++)
                if ((unsigned char) *z <= ' ' || (unsigned char) *z >= 0x7f)
                        return false;
        return true;
}

/* The value a successful step answered. */
static int take_value(struct firewall *f, sd_bus_message *reply) {
        struct firewalld_call *c = &f->fwd;
        const char *s = NULL;
        int b = 0, r = 0;
        switch (c->step) {
        case FIREWALLD_DEFAULT_ZONE:
                if (sd_bus_message_read(reply, "s", &s) < 0 || !zone_name_ok(s))
                        return bad_reply(f, "unusable default zone name");
                snprintf(c->zone, sizeof(c->zone), "%s", s);
                return 0;
        case FIREWALLD_ZONE_PATH:
                if (sd_bus_message_read(reply, "o", &s) < 0)
                        return bad_reply(f, "not an object path");
                free(c->config_path);
                c->config_path = strdup(s);
                return c->config_path ? 0 : -ENOMEM;
        case FIREWALLD_QUERY_RUNTIME:
        case FIREWALLD_QUERY_PERMANENT:
        case FIREWALLD_QUERY_PORT_RUNTIME:
        case FIREWALLD_QUERY_PORT_PERMANENT:
        case FIREWALLD_PANIC:
                r = sd_bus_message_read(reply, "b", &b);
                if (r < 0 && c->step != FIREWALLD_PANIC)
                        return bad_reply(f, "not a boolean");
                if (c->step == FIREWALLD_QUERY_RUNTIME)
                        c->runtime = b;
                else if (c->step == FIREWALLD_QUERY_PERMANENT)
                        c->permanent = b;
                else if (c->step == FIREWALLD_QUERY_PORT_RUNTIME)
                        c->port_runtime = b;
                else if (c->step == FIREWALLD_QUERY_PORT_PERMANENT)
                        c->port_permanent = b;
                else
                        c->panic = r >= 0 && b;
                return 0;
        default:
                return 0;
        }
}

/* What a change step did; ALREADY_ENABLED/NOT_ENABLED: someone was quicker, the state is right. */
static int take_change(struct firewall *f, const sd_bus_error *e, int r) {
        struct firewalld_call *c = &f->fwd;
        bool done = r >= 0;
        if (!done && !error_is(e, step_adds(c) ? "ALREADY_ENABLED" : "NOT_ENABLED"))
                return fail(f, e, r);
        if (done)
                c->changed |= 1u << c->step;
        /* Gone (NOT_ENABLED), or removed by REMOVE: nothing of ours is left there to take back. An
         * apply notes what it changed once all of it succeeded (finish()). */
        if (!step_adds(c) && (!done || c->kind == FIREWALL_OP_REMOVE))
                note_added(&f->changes, c->step, false);
        return 0;
}

/* Takes the answer of the current step (r < 0: it failed, with e) and moves to the next one. */
static void step_answered(struct firewall *f, sd_bus_message *reply, const sd_bus_error *e, int r) {
        struct firewalld_call *c = &f->fwd;

        if (c->undoing) {
                if (r < 0 && !error_is(e, step_adds(c) ? "ALREADY_ENABLED" : "NOT_ENABLED"))
                        log_warning("firewalld: cannot take back a change in zone %s (%s): %s", c->zone, step_name(c),
                                    e && e->message ? e->message : strerror(-r));
                c->step = previous_changed(c, c->step); /* with the error of the change that failed */
                return;
        }
        if (is_change(c->step))
                r = take_change(f, e, r);
        else if (r < 0 && c->step != FIREWALLD_PANIC)
                r = fail(f, e, r);
        else if (r >= 0)
                r = take_value(f, reply);
        else
                r = 0; /* panic mode unknown: not a reason to fail the read */

        if (r < 0) {
                c->result = r;
                /* All or nothing: an apply takes back what it changed before, in reverse order. */
                c->undoing = c->kind == FIREWALL_OP_APPLY;
                c->step = c->undoing ? previous_changed(c, c->step) : FIREWALLD_DONE;
                return;
        }
        c->step = next_step(f);
}

static void readback_of(const struct firewalld_call *c, struct firewall_readback *rb) {
        char text[256];
        *rb = (struct firewall_readback) {
                .installed = c->runtime,
                .server = c->runtime,
                .nts_ke = c->port && c->port_runtime,
                .permanent = c->permanent && (!c->port || c->port_permanent),
                .client = true, /* zones filter incoming traffic only */
        };
        snprintf(rb->zone, sizeof(rb->zone), "%s", c->zone);
        if (c->panic)
                firewall_warning_append(rb->warning, sizeof(rb->warning), "firewalld is in panic mode: all traffic is dropped");
        if (c->runtime && !c->permanent) {
                snprintf(text, sizeof(text), "firewalld: service " FIREWALLD_SERVICE " in zone %s is in the runtime "
                         "configuration only (gone after a reload)", c->zone);
                firewall_warning_append(rb->warning, sizeof(rb->warning), text);
        } else if (!c->runtime && c->permanent) {
                snprintf(text, sizeof(text), "firewalld: service " FIREWALLD_SERVICE " in zone %s is in the permanent "
                         "configuration only (not active until a reload)", c->zone);
                firewall_warning_append(rb->warning, sizeof(rb->warning), text);
        }
        if (c->port && c->port_runtime && !c->port_permanent) {
                snprintf(text, sizeof(text), "firewalld: port " FIREWALLD_NTS_KE_PORT "/" FIREWALLD_NTS_KE_PROTOCOL
                         " in zone %s is in the runtime configuration only (gone after a reload)", c->zone);
                firewall_warning_append(rb->warning, sizeof(rb->warning), text);
        } else if (c->port && !c->port_runtime && c->port_permanent) {
                snprintf(text, sizeof(text), "firewalld: port " FIREWALLD_NTS_KE_PORT "/" FIREWALLD_NTS_KE_PROTOCOL
                         " in zone %s is in the permanent configuration only (not active until a reload)", c->zone);
                firewall_warning_append(rb->warning, sizeof(rb->warning), text);
        }
}

/* The sequence is over: what it did, to firewall.c. */
static void finish(struct firewall *f) {
        struct firewalld_call *c = &f->fwd;
        struct firewall_readback rb;
        if (c->kind == FIREWALL_OP_APPLY && c->result >= 0) {
                for (enum firewalld_step s = FIREWALLD_CHANGE_RUNTIME; s <= FIREWALLD_CHANGE_PORT_PERMANENT; s++)
                        if (c->changed & (1u << s))
                                note_added(&f->changes, s, change_adds(c, s));
                /* Off: nothing of what this process added is there any more. */
                if (!c->server)
                        f->changes = (struct firewalld_changes) {};
                snprintf(f->zone, sizeof(f->zone), "%s", c->zone);
        }
        if (c->kind == FIREWALL_OP_READ && c->result >= 0)
                readback_of(c, &rb);
        firewall_op_done(f, c->result, c->kind == FIREWALL_OP_READ && c->result >= 0 ? &rb : NULL);
}

void firewalld_call_done(struct firewalld_call *c) {
        free(c->config_path);
        *c = (struct firewalld_call) {};
}

/* ---- driving a sequence ---- */

static int first_step(struct firewall *f) {
        struct firewalld_call *c = &f->fwd;
        firewalld_call_done(c);
        c->kind = f->op;
        c->server = f->op == FIREWALL_OP_APPLY && f->want.server;
        c->port = (f->op == FIREWALL_OP_APPLY || f->op == FIREWALL_OP_READ) && f->want.nts_ke;
        c->step = FIREWALLD_DEFAULT_ZONE;
        if (f->op == FIREWALL_OP_REMOVE) {
                /* In the zone where this process applied; the permanent configuration's path first. */
                snprintf(c->zone, sizeof(c->zone), "%s", f->zone);
                c->step = !f->zone[0] ? FIREWALLD_DONE
                          : f->changes.added_permanent || f->changes.added_port_permanent
                                  ? FIREWALLD_ZONE_PATH
                                  : next_change(f, FIREWALLD_PANIC);
        }
        return 0;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);

/* Makes the call of the current step, or ends the sequence. */
static void issue(struct firewall *f) {
        struct firewalld_call *c = &f->fwd;
        while (c->step != FIREWALLD_DONE) {
                sd_bus_message *m = NULL;
                int r = step_message(f, &m);
                if (r >= 0)
                        r = sd_bus_call_async(f->bus, &f->call_slot, m, on_reply, f, FIREWALLD_TIMEOUT_USEC);
                sd_bus_message_unref(m);
                if (r >= 0) {
                        firewall_call_deadline(f);
                        return;
                }
                step_answered(f, NULL, NULL, r);
        }
        finish(f);
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct firewall *f = userdata;
        f->call_slot = sd_bus_slot_unref(f->call_slot);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                int r = sd_bus_message_get_errno(reply);
                step_answered(f, NULL, sd_bus_message_get_error(reply), r > 0 ? -r : -EIO);
        } else
                step_answered(f, reply, NULL, 0);
        issue(f);
        return 0;
}

int firewalld_start(struct firewall *f) {
        if (!f->bus)
                return -ENOTCONN;
        first_step(f);
        issue(f);
        return 0;
}

int firewalld_run_sync(struct firewall *f) {
        struct firewalld_call *c = &f->fwd;
        if (!f->bus)
                return -ENOTCONN;
        first_step(f);
        while (c->step != FIREWALLD_DONE) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_message *m = NULL, *reply = NULL;
                int r = step_message(f, &m);
                if (r >= 0)
                        r = sd_bus_call(f->bus, m, FIREWALLD_TIMEOUT_USEC, &e, &reply);
                step_answered(f, reply, &e, r);
                sd_bus_message_unref(reply);
                sd_bus_message_unref(m);
                sd_bus_error_free(&e);
        }
        int result = c->result;
        finish(f);
        return result;
}

void firewalld_cancel(struct firewall *f) {
        f->call_slot = sd_bus_slot_unref(f->call_slot);
}

void firewalld_timed_out(struct firewall *f) {
        snprintf(f->error, sizeof(f->error), "firewalld did not answer %s within %llu s", step_name(&f->fwd),
                 FIREWALLD_TIMEOUT_USEC / 1000000);
        firewalld_cancel(f);
}

/* ---- firewalld coming and going, and its signals ---- */

int firewalld_present(sd_bus *bus) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int has = 0;
        int r = sd_bus_call_method(bus, DBUS_NAME, DBUS_PATH, DBUS_NAME, "NameHasOwner", &e, &reply, "s", FWD_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &has);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        if (r < 0)
                return r;
        return has ? 1 : 0;
}

static void detected(struct firewall *f, int has) {
        f->detecting = false;
        f->detect_slot = sd_bus_slot_unref(f->detect_slot);
        if (has > 0)
                firewall_firewalld_appeared(f, false);
        else if (f->backend == FIREWALL_BACKEND_FIREWALLD)
                firewall_firewalld_vanished(f);
        firewall_kick(f);
}

static int on_detected(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct firewall *f = userdata;
        int has = 0;
        if (sd_bus_message_is_method_error(reply, NULL) || sd_bus_message_read(reply, "b", &has) < 0) {
                log_debug("Cannot ask whether firewalld is running, assuming it is not");
                has = 0;
        }
        detected(f, has);
        return 0;
}

void firewalld_detect_sync(struct firewall *f) {
        if (!f->detecting)
                return;
        int r = firewalld_present(f->bus);
        if (r < 0)
                log_debug_errno(r, "Cannot ask whether firewalld is running, assuming it is not");
        detected(f, r);
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct firewall *f = userdata;
        const char *name, *old_owner, *new_owner;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || strcmp(name, FWD_NAME) != 0)
                return 0;
        /* This answers the question too. */
        f->detecting = false;
        f->detect_slot = sd_bus_slot_unref(f->detect_slot);
        if (new_owner[0])
                firewall_firewalld_appeared(f, true);
        else
                firewall_firewalld_vanished(f);
        firewall_kick(f);
        return 0;
}

/* firewalld's own interfaces only (org.fedoraproject.FirewallD1, .zone, .config, .config.zone,
 * ...): Reloaded, DefaultZoneChanged, PanicModeEnabled, ServiceAdded, Updated, ... Not
 * org.freedesktop.DBus.Properties and the like, which tell nothing about what it filters. */
static bool firewalld_interface(const char *iface) {
        size_t n = strlen(FWD_IFACE);
        return iface && strncmp(iface, FWD_IFACE, n) == 0 && (iface[n] == 0 || iface[n] == '.');
}

static int on_firewalld_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct firewall *f = userdata;
        const char *member = sd_bus_message_get_member(m);
        if (!firewalld_interface(sd_bus_message_get_interface(m)))
                return 0;
        log_debug("firewalld: signal %s, reading the state again", member ? member : "?");
        firewall_recheck(f);
        return 0;
}

int firewalld_watch(struct firewall *f, bool ask) {
        int r = sd_bus_add_match_async(f->bus, &f->owner_slot,
                                       "type='signal',sender='" DBUS_NAME "',path='" DBUS_PATH "',interface='" DBUS_NAME "',"
                                       "member='NameOwnerChanged',arg0='" FWD_NAME "'",
                                       on_owner_changed, NULL, f);
        if (r >= 0)
                r = sd_bus_add_match_async(f->bus, &f->signal_slot,
                                           "type='signal',sender='" FWD_NAME "',path_namespace='" FWD_PATH "'",
                                           on_firewalld_signal, NULL, f);
        if (r >= 0 && ask)
                r = sd_bus_call_method_async(f->bus, &f->detect_slot, DBUS_NAME, DBUS_PATH, DBUS_NAME, "NameHasOwner",
                                             on_detected, f, "s", FWD_NAME);
        if (r < 0) {
                firewalld_unwatch(f);
                return r;
        }
        f->detecting = ask;
        return 0;
}

void firewalld_unwatch(struct firewall *f) {
        f->detecting = false;
        f->detect_slot = sd_bus_slot_unref(f->detect_slot);
        f->owner_slot = sd_bus_slot_unref(f->owner_slot);
        f->signal_slot = sd_bus_slot_unref(f->signal_slot);
}
