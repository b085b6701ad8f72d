/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.ntpsync1.Manager's properties, one row each: the vtable (bus-manager.c) and the change
 * announcements (bus.c) are both made from MANAGER_PROPERTIES. userdata is the struct bus. */

#include <systemd/sd-bus.h>

#include "bus-firewall.h"
#include "bus-properties.h"
#include "bus.h"

int property_servers(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
        void *userdata, sd_bus_error *error);
int property_restrict_rules(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
        void *userdata, sd_bus_error *error);
int property_status(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
        void *userdata, sd_bus_error *error);
int property_reference(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
        void *userdata, sd_bus_error *error);
int property_sources(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
        void *userdata, sd_bus_error *error);
int property_sources_for_change(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
        void *userdata, sd_bus_error *error);
int property_settings(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
        void *userdata, sd_bus_error *error);

#define CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define INVALIDATE SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION
#define CONST SD_BUS_VTABLE_PROPERTY_CONST

#define MANAGER_PROPERTIES(X) \
        X("Servers", "as", property_servers, NULL, CHANGE) \
        X("ServerOrigins", "a(sss)", property_servers, NULL, CHANGE) \
        X("Synchronized", "b", property_status, NULL, CHANGE) \
        X("UnsynchronizedReason", "s", property_status, NULL, CHANGE) \
        X("Stratum", "y", property_status, NULL, CHANGE) \
        X("ReferenceId", "s", property_reference, NULL, CHANGE) \
        X("SystemPeer", "s", property_reference, NULL, CHANGE) \
        X("Offset", "x", property_status, NULL, CHANGE) \
        X("Jitter", "t", property_status, NULL, CHANGE) \
        X("Frequency", "d", property_status, NULL, CHANGE) \
        X("RootDelay", "t", property_status, NULL, CHANGE) \
        X("RootDispersion", "t", property_status, NULL, CHANGE) \
        X("LeapStatus", "s", property_status, NULL, CHANGE) \
        X("PollInterval", "u", property_status, NULL, CHANGE) \
        X("Sources", "a(sa{sv})", property_sources, property_sources_for_change, INVALIDATE) \
        X("RestrictRules", "as", property_restrict_rules, NULL, CHANGE) \
        BUS_FIREWALL_PROPERTIES(X) \
        X("ServerMode", "b", property_settings, NULL, CHANGE) \
        X("NtsServing", "b", property_settings, NULL, CHANGE) \
        X("NtsCertificate", "s", property_settings, NULL, CHANGE) \
        X("NtsKey", "s", property_settings, NULL, CHANGE) \
        X("ClockControl", "s", property_settings, NULL, CONST) \
        X("Online", "b", property_settings, NULL, CHANGE) \
        X("OnlineReason", "s", property_settings, NULL, CHANGE)

extern const struct bus_property bus_manager_properties[];
extern const size_t bus_manager_n_properties;
