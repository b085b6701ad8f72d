/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.ntpsync1.Manager's Firewall* properties, read from the state the firewall module keeps
 * (firewall_get_state()): a getter never waits on the helper or on firewalld. userdata is the
 * struct bus. The rows, for a property table (bus-properties.h):
 *
 *   FirewallClient       b  true when FirewallClientState is "open" or "unmanaged" (ntpsync's
 *                           part of the firewall does not stop NTP client traffic)
 *   FirewallServer       b  true only when FirewallServerState is "open"
 *   FirewallBackend      s  "firewalld", "nftables" or "none"
 *   FirewallWarning      s  what stands in the way although ntpsync allows it; "" when nothing
 *   FirewallClientState  s  "unmanaged", "open", "closed", "failed" or "unknown" (firewall.h)
 *   FirewallServerState  s  the same for NTP service traffic
 *   FirewallReason       s  why a state is "failed" or "unknown"; "" otherwise */

#include <systemd/sd-bus.h>

#include "bus-properties.h"

/* A Get or GetAll of these properties asks for a read-back in the background when the last one
 * is older than this; a PropertiesChanged follows if it differs. */
#define BUS_FIREWALL_MAX_AGE_USEC (1ULL * 1000000)

int bus_property_firewall(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error);

#define BUS_FIREWALL_PROPERTIES(X) \
        X("FirewallClient", "b", bus_property_firewall, NULL, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) \
        X("FirewallServer", "b", bus_property_firewall, NULL, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) \
        X("FirewallBackend", "s", bus_property_firewall, NULL, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) \
        X("FirewallWarning", "s", bus_property_firewall, NULL, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) \
        X("FirewallClientState", "s", bus_property_firewall, NULL, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) \
        X("FirewallServerState", "s", bus_property_firewall, NULL, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) \
        X("FirewallReason", "s", bus_property_firewall, NULL, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)
