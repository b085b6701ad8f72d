#pragma once

/* Between firewall.c and its firewalld backend (firewall-firewalld.c). */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "firewall.h"

#define FIREWALLD_SERVICE "ntp"

struct firewalld_changes {
        bool added_runtime, added_permanent;   /* this process added "ntp" there */
};

/* 1 when org.fedoraproject.FirewallD1 has an owner on bus, 0 when not, <0 on error. */
int firewalld_present(sd_bus *bus);

/* Adds (server) or removes the "ntp" service in the default zone, runtime and permanent; zone
 * gets the zone's name. changes records what this call added (and forgets what it removed). */
int firewalld_apply(sd_bus *bus, bool server, char *zone, size_t zone_size, struct firewalld_changes *changes,
                    char *error, size_t error_size);

/* Takes "ntp" out of zone again where changes says this process put it. */
int firewalld_remove(sd_bus *bus, const char *zone, struct firewalld_changes *changes, char *error,
                     size_t error_size);

/* Fills zone, server (runtime), permanent, installed, client (always true: zones do not filter
 * outgoing traffic), and warnings (panic mode, runtime/permanent differ). */
int firewalld_read(sd_bus *bus, struct firewall_state *st, char *error, size_t error_size);

/* Appends "; "-separated text to a warning buffer. */
void firewall_warning_append(char *buf, size_t size, const char *text);
