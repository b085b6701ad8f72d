/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.ntpsync1.Manager's Firewall* properties (bus-firewall.h). */

#include <errno.h>
#include <string.h>

#include "bus-firewall.h"
#include "bus.h"
#include "firewall.h"

/* Someone asked (a Get or GetAll call is being answered, not a PropertiesChanged being made):
 * the answer is what is known now, and a stale read-back is refreshed meanwhile. */
static void looked_at(sd_bus *bus, struct bus *b) {
        if (sd_bus_get_current_message(bus))
                firewall_refresh(b->manager->firewall, BUS_FIREWALL_MAX_AGE_USEC);
}

int bus_property_firewall(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct bus *b = userdata;
        const struct firewall_state *st = manager_firewall_state(b->manager);
        looked_at(bus, b);

        if (strcmp(property, "FirewallClient") == 0)
                return sd_bus_message_append(reply, "b", st->client_state == FIREWALL_OPEN ||
                                                                 st->client_state == FIREWALL_UNMANAGED);
        if (strcmp(property, "FirewallServer") == 0)
                return sd_bus_message_append(reply, "b", st->server_state == FIREWALL_OPEN);
        if (strcmp(property, "FirewallBackend") == 0)
                return sd_bus_message_append(reply, "s", st->backend_name);
        if (strcmp(property, "FirewallWarning") == 0)
                return sd_bus_message_append(reply, "s", st->warning);
        if (strcmp(property, "FirewallClientState") == 0)
                return sd_bus_message_append(reply, "s", firewall_direction_state_to_string(st->client_state));
        if (strcmp(property, "FirewallServerState") == 0)
                return sd_bus_message_append(reply, "s", firewall_direction_state_to_string(st->server_state));
        if (strcmp(property, "FirewallReason") == 0)
                return sd_bus_message_append(reply, "s", st->state_reason);
        return -ENOENT;
}
