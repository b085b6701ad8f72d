/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The org.ntpsync1.Manager properties, read from one GetAll reply. Properties this client does
 * not know are skipped, and so are known ones whose type is not the expected one; what the reply
 * lacks is marked absent. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#define SOURCE_WHEN_NEVER UINT64_MAX

/* One entry of the Sources property. */
struct source_entry {
        char *name;
        char *address;
        char *refid;
        char *tally;
        char *state;
        uint8_t stratum;
        uint8_t reach;
        uint64_t when;          /* seconds since the last reply, or SOURCE_WHEN_NEVER */
        uint32_t poll;          /* seconds */
        uint64_t delay;         /* ns */
        int64_t offset;         /* ns */
        uint64_t jitter;        /* ns */
        bool prefer;
        bool noselect;
        bool xleave;            /* interleaved mode asked for */
        char *mode;             /* "basic" or "interleaved"; NULL from a daemon without it */
        char *authentication;   /* "none" or "nts"; NULL from a daemon without NTS */
        char *nts_state;        /* "ke-pending", "established" or "failed" */
        char *nts_reason;       /* why it failed */
        uint32_t nts_cookies;
        uint64_t nts_ke_time;   /* seconds since 1970 of the last key establishment; 0: none */
        uint64_t nts_rejected;  /* responses that did not authenticate */
        char *nts_last_rejection;
};

struct source_list {
        struct source_entry *entries;
        size_t n;
};

enum manager_property {
        PROPERTY_SERVERS,
        PROPERTY_SYNCHRONIZED,
        PROPERTY_UNSYNCHRONIZED_REASON,
        PROPERTY_STRATUM,
        PROPERTY_REFERENCE_ID,
        PROPERTY_SYSTEM_PEER,
        PROPERTY_OFFSET,
        PROPERTY_FREQUENCY,
        PROPERTY_ROOT_DELAY,
        PROPERTY_ROOT_DISPERSION,
        PROPERTY_LEAP_STATUS,
        PROPERTY_POLL_INTERVAL,
        PROPERTY_SOURCES,
        PROPERTY_RESTRICT_RULES,
        PROPERTY_FIREWALL_CLIENT,
        PROPERTY_FIREWALL_SERVER,
        PROPERTY_FIREWALL_BACKEND,
        PROPERTY_FIREWALL_WARNING,
        PROPERTY_FIREWALL_CLIENT_STATE,
        PROPERTY_FIREWALL_SERVER_STATE,
        PROPERTY_FIREWALL_REASON,
        PROPERTY_SERVER_MODE,
        PROPERTY_NTS_SERVING,
        PROPERTY_NTS_CERTIFICATE,
        PROPERTY_NTS_KEY,
        PROPERTY_CLOCK_CONTROL,
        PROPERTY_ONLINE,
        PROPERTY_ONLINE_REASON,
        _PROPERTY_MAX,
};

struct manager_properties {
        bool present[_PROPERTY_MAX];

        char **servers;
        bool synchronized;
        char *unsynchronized_reason;
        uint8_t stratum;
        char *reference_id;
        char *system_peer;
        int64_t offset;                 /* ns */
        double frequency;               /* ppm */
        uint64_t root_delay;            /* ns */
        uint64_t root_dispersion;       /* ns */
        char *leap_status;
        uint32_t poll_interval;         /* s */
        struct source_list sources;
        char **restrict_rules;
        bool firewall_client;
        bool firewall_server;
        char *firewall_backend;
        char *firewall_warning;
        char *firewall_client_state;    /* "unmanaged", "open", "closed", "failed", "unknown" */
        char *firewall_server_state;
        char *firewall_reason;          /* why failed or unknown */
        bool server_mode;
        bool nts_serving;
        char *nts_certificate;          /* "" when none is configured */
        char *nts_key;
        char *clock_control;
        bool online;
        char *online_reason;
};

/* Parses a GetAll reply ("a{sv}") from its current position. On failure *ret is left untouched. */
int manager_properties_parse(sd_bus_message *reply, struct manager_properties *ret);
void manager_properties_done(struct manager_properties *p);

/* Positions the message at the variant of the named property of a GetAll reply (rewound first).
 * Returns 1 there, 0 when the reply lacks the property. Exit the two containers entered
 * afterwards if more is to be read; for a one-shot conversion that is not needed. */
int manager_properties_seek(sd_bus_message *reply, const char *name);
