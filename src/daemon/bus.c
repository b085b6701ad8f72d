/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's system bus connections: objects and names, PropertiesChanged, and getting the
 * bus back when it goes away. */

#include <errno.h>
#include <stdlib.h>

#include "bus.h"
#include "firewall.h"
#include "log.h"

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

static void on_manager_changed(void *userdata) {
        bus_properties_maybe_changed(userdata);
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
        if ((r = bus_manager_add(b)) < 0 ||
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
        _cleanup_(bus_freep) struct bus *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->manager = m;
        bus_manager_init(b);
        bus_timesync_init(b);
        m->on_changed = on_manager_changed;
        m->on_changed_userdata = b;
        int r = sd_event_add_defer(m->event, &b->emit_defer, on_emit, b);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the bus objects");
        sd_event_source_set_priority(b->emit_defer, SD_EVENT_PRIORITY_IDLE);
        r = bus_connect(b);
        if (r < 0) {
                bus_disconnect(b);
                log_warning_errno(r, "No system bus yet; keeping time, and connecting later");
                bus_schedule_reconnect(b);
        }
        *ret = TAKE_PTR(b);
        return 0;
}

struct bus *bus_free(struct bus *b) {
        if (!b)
                return NULL;
        b->manager->on_changed = NULL;
        sd_event_source_disable_unref(b->emit_defer);
        sd_event_source_disable_unref(b->reconnect_timer);
        bus_disconnect(b);
        bus_announcer_done(&b->announcer);
        bus_announcer_done(&b->timesync_announcer);
        free(b);
        return NULL;
}
