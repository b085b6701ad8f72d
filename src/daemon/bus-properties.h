/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One table per D-Bus interface: each row names a property, its signature, its getter and its
 * change flag. The interface's vtable rows and its PropertiesChanged announcements are both
 * derived from that table, so they cannot drift apart:
 *
 *   #define FOO_PROPERTIES(X) \
 *           X("Name", "s", property_name, NULL, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
 *   static const sd_bus_vtable vtable[] = { SD_BUS_VTABLE_START(0), FOO_PROPERTIES(BUS_VTABLE_ROW) … };
 *   static const struct bus_property table[] = { FOO_PROPERTIES(BUS_TABLE_ROW) };
 *
 * A change is found by comparing each announced property's whole value, as sd-bus serializes
 * it, with the value last announced: no size limit, and nothing to keep in step by hand. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

struct bus_property {
        const char *name;
        const char *signature;
        sd_bus_property_get_t get;
        /* What a change is judged on, when not the value itself (NULL: get): a value that ages
         * by itself, such as seconds since the last packet, is no news. */
        sd_bus_property_get_t get_for_change;
        uint64_t flags;              /* SD_BUS_VTABLE_PROPERTY_* */
};

#define BUS_VTABLE_ROW(name, signature, get, get_for_change, flags) SD_BUS_PROPERTY(name, signature, get, 0, flags),
#define BUS_TABLE_ROW(name, signature, get, get_for_change, flags) { name, signature, get, get_for_change, flags },

/* The announced state of one object's interface. */
struct bus_announcer {
        const char *path, *interface;
        const struct bus_property *table;
        size_t n;
        char **announced;            /* per row: the value last announced (NULL: never, or not announced) */
        bool primed;                 /* the first look only records: nothing was announced before it */
};

void bus_announcer_init(struct bus_announcer *a, const char *path, const char *interface,
                        const struct bus_property *table, size_t n);
void bus_announcer_done(struct bus_announcer *a);
/* Forgets what was announced: the next look records again (a new connection's peers know nothing). */
void bus_announcer_reset(struct bus_announcer *a);

/* Reads every property that emits changes with userdata, and sends one PropertiesChanged on
 * bus for those whose value differs from what was announced last. Returns the number of
 * properties announced, or a negative errno (nothing recorded then). */
int bus_announcer_look(struct bus_announcer *a, sd_bus *bus, void *userdata);

/* A property's value as text (sd-bus's dump of it), for comparing; *ret is malloc'ed. */
int bus_property_render(sd_bus *bus, const struct bus_announcer *a, const struct bus_property *p,
                        sd_bus_property_get_t get, void *userdata, char **ret);
