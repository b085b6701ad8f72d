/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The connection to ntpsyncd on the system bus, method calls, and what their failures mean for
 * the exit status. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#define NTPSYNC_BUS_NAME "org.ntpsync1"
#define NTPSYNC_OBJECT_PATH "/org/ntpsync1"
#define NTPSYNC_MANAGER_INTERFACE "org.ntpsync1.Manager"

/* Method-call timeouts; 0 is sd-bus's default (25 s). */
#define CALL_TIMEOUT_DEFAULT_USEC 0
#define CALL_TIMEOUT_QUERY_USEC (30ULL * 1000000)
/* Longer than ntpsyncd waits for an interactive polkit check (300 s), so that its answer arrives. */
#define CALL_TIMEOUT_INTERACTIVE_USEC (330ULL * 1000000)

struct ctl_bus {
        sd_bus *bus;            /* connected on first use */
        bool ask_password;      /* interactive authorization allowed */
};

void ctl_bus_done(struct ctl_bus *c);

/* Connects c->bus unless it is connected. 0, or the exit status (the failure is reported). */
int ctl_bus_connect(struct ctl_bus *c);

/* The exit status that a failed call stands for (enum ctl_exit_status). */
int exit_status_for_call_error(const sd_bus_error *error, int r);

/* Prints "Failed to WHAT: ..." to stderr and returns the exit status. */
int report_call_failure(const char *what, const sd_bus_error *error, int r);

/* A new call of an org.ntpsync1.Manager method, to append arguments to. On failure reports it
 * and returns the exit status, else 0. */
int manager_method_new(struct ctl_bus *c, const char *member, const char *what, sd_bus_message **ret);

/* Sends the call and waits for the reply. Calls that change something may need authorization:
 * with authorize, a polkit agent is started first if interactive authorization is allowed.
 * On failure reports it and returns the exit status, else 0 and the reply (if ret_reply). */
int manager_method_call(struct ctl_bus *c, sd_bus_message *m, bool authorize, uint64_t timeout_usec,
                        const char *what, sd_bus_message **ret_reply);

/* All properties of org.ntpsync1.Manager, with one GetAll call. Returns as above. */
int manager_get_all_properties(struct ctl_bus *c, sd_bus_message **ret_reply);
