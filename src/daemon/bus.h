/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.ntpsync1.Manager at /org/ntpsync1 (dbus/org.ntpsync1.Manager.xml), and the compatible
 * org.freedesktop.timesync1.Manager at /org/freedesktop/timesync1. */

#include <systemd/sd-bus.h>

#include "bus-properties.h"
#include "manager.h"

#define BUS_NAME "org.ntpsync1"
#define BUS_PATH "/org/ntpsync1"
#define BUS_INTERFACE "org.ntpsync1.Manager"
#define BUS_ERROR_QUERY_FAILED "org.ntpsync1.Error.QueryFailed"
#define BUS_ERROR_BUSY "org.ntpsync1.Error.Busy"
#define BUS_ERROR_SAVE_FAILED "org.ntpsync1.Error.SaveFailed"

#define BUS_MAX_ARRAY 1024           /* elements accepted in an array argument before validating */

/* systemd-timesyncd's NTPMessage: the last packet from the current server. */
struct timesync_message {
        uint32_t leap, version, mode, stratum;
        int32_t precision;
        uint64_t root_delay_usec, root_dispersion_usec;
        uint8_t refid[4];
        uint64_t origin_usec, recv_usec, trans_usec, dest_usec; /* realtime */
        bool spike;
        uint64_t packet_count, jitter_usec;
};

struct bus {
        manager *manager;
        sd_bus *bus;
        sd_bus *timesync_bus;        /* org.freedesktop.timesync1 on a connection of its own */
        sd_bus_slot *manager_slot, *timesync_slot;
        sd_event_source *emit_defer;
        sd_event_source *reconnect_timer;
        uint64_t reconnect_delay_usec; /* 0: connected, or not trying */
        struct bus_announcer announcer; /* org.ntpsync1.Manager's properties as last announced */
        unsigned queries;
        struct bus_announcer timesync_announcer;
        struct timesync_message timesync_message; /* the last one received, as timesyncd keeps it */
        uint32_t timesync_message_source;
        int64_t timesync_message_rx_mono;
        bool timesync_message_valid;
};

/* Something may have changed: PropertiesChanged goes out, once, from a defer source. */
void bus_properties_maybe_changed(struct bus *b);

/* Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS when set), puts the objects in place,
 * then asks for the names; without a bus now, or when it goes away later, connects again in
 * the background. Fails only when out of memory. */
int bus_open(manager *m, struct bus **ret);
struct bus *bus_free(struct bus *b);
DEFINE_POINTER_CLEANUP(struct bus, bus_free);

/* A system bus connection on the event loop that reconnects all when it goes away. */
int bus_open_connection(struct bus *b, sd_bus **ret);

/* org.ntpsync1.Manager (bus-manager.c): its announcements set up once, its vtable on b->bus. */
void bus_manager_init(struct bus *b);
int bus_manager_add(struct bus *b);

/* timesync1 compatibility (bus-timesync.c). */
void bus_timesync_init(struct bus *b);
int bus_timesync_add(struct bus *b);
void bus_timesync_emit_changes(struct bus *b);
