/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-properties.h"

void bus_announcer_init(struct bus_announcer *a, const char *path, const char *interface,
                        const struct bus_property *table, size_t n) {
        *a = (struct bus_announcer) { .path = path, .interface = interface, .table = table, .n = n };
}

void bus_announcer_reset(struct bus_announcer *a) {
        for (size_t i = 0; a->announced && i < a->n; i++) {
                free(a->announced[i]);
                a->announced[i] = NULL;
        }
        a->primed = false;
}

void bus_announcer_done(struct bus_announcer *a) {
        bus_announcer_reset(a);
        free(a->announced);
        a->announced = NULL;
}

static bool announces(const struct bus_property *p) {
        return p->flags & (SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION);
}

int bus_property_render(sd_bus *bus, const struct bus_announcer *a, const struct bus_property *p,
                        sd_bus_property_get_t get, void *userdata, char **ret) {
        sd_bus_message *m = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char *text = NULL;
        size_t size = 0;

        /* The value goes into a message of its own, as in a Get reply, and sd-bus describes it. */
        int r = sd_bus_message_new_signal(bus, &m, a->path, a->interface, "Value");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', p->signature);
        if (r >= 0)
                r = get(bus, a->path, a->interface, p->name, m, userdata, &error);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_seal(m, 1, 0);
        FILE *f = r >= 0 ? open_memstream(&text, &size) : NULL;
        if (r >= 0 && !f)
                r = -errno;
        if (f) {
                r = sd_bus_message_dump(m, f, 0);
                if (fclose(f) != 0 && r >= 0)
                        r = -ENOMEM;
        }
        sd_bus_error_free(&error);
        sd_bus_message_unref(m);
        if (r < 0) {
                free(text);
                return r;
        }
        *ret = text;
        return 0;
}

/* Records row i's value; true when it differs from the one announced before. */
static int record(struct bus_announcer *a, sd_bus *bus, size_t i, void *userdata) {
        const struct bus_property *p = &a->table[i];
        char *now;
        int r = bus_property_render(bus, a, p, p->get_for_change ? p->get_for_change : p->get, userdata, &now);
        if (r < 0)
                return r;
        bool changed = !a->announced[i] || strcmp(a->announced[i], now) != 0;
        free(a->announced[i]);
        a->announced[i] = now;
        return changed;
}

int bus_announcer_look(struct bus_announcer *a, sd_bus *bus, void *userdata) {
        if (!a->announced && !(a->announced = calloc(a->n, sizeof(char *))))
                return -ENOMEM;
        const char **changed = calloc(a->n + 1, sizeof(char *));
        if (!changed)
                return -ENOMEM;
        size_t n = 0;
        int r = 0;
        for (size_t i = 0; i < a->n && r >= 0; i++) {
                if (!announces(&a->table[i]))
                        continue;
                r = record(a, bus, i, userdata);
                if (r > 0)
                        changed[n++] = a->table[i].name;
        }
        bool first = !a->primed;
        if (r >= 0)
                a->primed = true;
        if (r >= 0 && n > 0 && !first)
                r = sd_bus_emit_properties_changed_strv(bus, a->path, a->interface, (char **) changed);
        free(changed);
        return r < 0 ? r : (int) (first ? 0 : n);
}
