#pragma once

/* org.ntpsync1.Manager at /org/ntpsync1 (dbus/org.ntpsync1.Manager.xml), and the compatible
 * org.freedesktop.timesync1.Manager at /org/freedesktop/timesync1. */

#include <systemd/sd-bus.h>

#include "manager.h"

#define BUS_NAME "org.ntpsync1"
#define BUS_PATH "/org/ntpsync1"
#define BUS_INTERFACE "org.ntpsync1.Manager"
#define BUS_ERROR_QUERY_FAILED "org.ntpsync1.Error.QueryFailed"
#define BUS_ERROR_BUSY "org.ntpsync1.Error.Busy"
#define BUS_ERROR_SAVE_FAILED "org.ntpsync1.Error.SaveFailed"

#define BUS_MAX_ARRAY 1024           /* elements accepted in an array argument before validating */

struct bus {
        manager *manager;
        sd_bus *bus;
        sd_bus *timesync_bus;        /* org.freedesktop.timesync1 on a connection of its own */
        sd_bus_slot *manager_slot, *timesync_slot;
        sd_event_source *emit_defer;
        struct bus_snapshot *emitted; /* what the last PropertiesChanged said */
        unsigned queries;
        char timesync_emitted[3][2048]; /* timesync1 properties as last announced */
};

/* Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS when set), puts the objects in place,
 * then asks for the names. */
int bus_open(manager *m, struct bus **ret);
struct bus *bus_free(struct bus *b);

#define BUS_QUOTE_MAX 160

/* The caller's text made safe to put in an error message: control characters as \xNN, and cut
 * at BUS_QUOTE_MAX characters. Returns buf. */
const char *bus_printable(const char *text, char buf[static BUS_QUOTE_MAX * 4 + 4]);

/* Something may have changed: PropertiesChanged goes out, once, from a defer source. */
void bus_properties_maybe_changed(struct bus *b);

/* timesync1 compatibility (bus-timesync.c). */
int bus_timesync_add(struct bus *b);
void bus_timesync_emit_changes(struct bus *b);
