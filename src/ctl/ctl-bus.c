/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl-bus.h"
#include "ctl-polkit.h"
#include "ctl-util.h"

void ctl_bus_done(struct ctl_bus *c) {
        c->bus = sd_bus_flush_close_unref(c->bus);
        polkit_agent_close();
}

int ctl_bus_connect(struct ctl_bus *c) {
        sd_bus *bus = NULL;

        if (c->bus)
                return 0;
        /* Honours DBUS_SYSTEM_BUS_ADDRESS. */
        int r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "Failed to connect to the system bus: %s\n", strerror(-r));
                return CTL_EXIT_UNREACHABLE;
        }
        if (c->ask_password) {
                r = sd_bus_set_allow_interactive_authorization(bus, true);
                if (r < 0) {
                        fprintf(stderr, "Failed to allow interactive authorization: %s\n", strerror(-r));
                        sd_bus_unref(bus);
                        return CTL_EXIT_FAILED;
                }
        }
        c->bus = bus;
        return 0;
}

static bool error_means_denied(const sd_bus_error *error) {
        return sd_bus_error_has_names(error,
                                      SD_BUS_ERROR_ACCESS_DENIED,
                                      SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                      SD_BUS_ERROR_AUTH_FAILED);
}

static bool error_means_unreachable(const sd_bus_error *error) {
        return sd_bus_error_has_names(error,
                                      SD_BUS_ERROR_SERVICE_UNKNOWN,
                                      SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      SD_BUS_ERROR_NO_SERVER,
                                      SD_BUS_ERROR_DISCONNECTED,
                                      SD_BUS_ERROR_NO_REPLY,
                                      SD_BUS_ERROR_TIMEOUT,
                                      "org.freedesktop.DBus.Error.TimedOut") ||
               strncmp(error->name, "org.freedesktop.DBus.Error.Spawn.", 33) == 0;
}

static bool errno_means_unreachable(int r) {
        switch (-r) {
        case ECONNREFUSED:
        case ECONNRESET:
        case ENOTCONN:
        case ETIMEDOUT:
        case EHOSTUNREACH:
        case EHOSTDOWN:
        case ENXIO:
        case EPIPE:
        case ESHUTDOWN:
                return true;
        default:
                return false;
        }
}

int exit_status_for_call_error(const sd_bus_error *error, int r) {
        /* A named error says what happened; an errno (local failures, and daemons that return
         * one, which arrive as System.Error.*) only when there is no better name. */
        if (sd_bus_error_is_set(error) && strncmp(error->name, "System.Error.", 13) != 0) {
                if (error_means_denied(error))
                        return CTL_EXIT_DENIED;
                if (error_means_unreachable(error))
                        return CTL_EXIT_UNREACHABLE;
                return CTL_EXIT_FAILED;
        }
        if (r == -EACCES || r == -EPERM)
                return CTL_EXIT_DENIED;
        if (errno_means_unreachable(r))
                return CTL_EXIT_UNREACHABLE;
        return CTL_EXIT_FAILED;
}

int report_call_failure(const char *what, const sd_bus_error *error, int r) {
        const char *message = error && error->message && error->message[0] ? error->message : strerror(-r);
        int status = exit_status_for_call_error(error, r);

        switch (status) {
        case CTL_EXIT_DENIED:
                fprintf(stderr, "Failed to %s: permission denied: %s\n", what, message);
                break;
        case CTL_EXIT_UNREACHABLE:
                fprintf(stderr, "Failed to %s: ntpsyncd is not reachable on the system bus: %s\n", what, message);
                break;
        default:
                fprintf(stderr, "Failed to %s: %s\n", what, message);
        }
        return status;
}

int manager_method_new(struct ctl_bus *c, const char *member, const char *what, sd_bus_message **ret) {
        int r = ctl_bus_connect(c);
        if (r != 0)
                return r;
        r = sd_bus_message_new_method_call(c->bus, ret, NTPSYNC_BUS_NAME, NTPSYNC_OBJECT_PATH,
                                           NTPSYNC_MANAGER_INTERFACE, member);
        if (r < 0) {
                fprintf(stderr, "Failed to %s: %s\n", what, strerror(-r));
                return CTL_EXIT_FAILED;
        }
        return 0;
}

int manager_method_call(struct ctl_bus *c, sd_bus_message *m, bool authorize, uint64_t timeout_usec,
                        const char *what, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;

        if (authorize && c->ask_password) {
                /* Without an agent polkit may still ask through a session's own agent. */
                (void) polkit_agent_open();
                if (timeout_usec == CALL_TIMEOUT_DEFAULT_USEC)
                        timeout_usec = CALL_TIMEOUT_INTERACTIVE_USEC;
        }
        int r = sd_bus_call(c->bus, m, timeout_usec, &error, &reply);
        if (r < 0)
                return report_call_failure(what, &error, r);
        if (ret_reply)
                *ret_reply = reply;
        else
                sd_bus_message_unref(reply);
        return 0;
}

int manager_get_all_properties(struct ctl_bus *c, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *what = "read the properties of ntpsyncd";

        int r = ctl_bus_connect(c);
        if (r != 0)
                return r;
        r = sd_bus_call_method(c->bus, NTPSYNC_BUS_NAME, NTPSYNC_OBJECT_PATH, "org.freedesktop.DBus.Properties",
                               "GetAll", &error, ret_reply, "s", NTPSYNC_MANAGER_INTERFACE);
        if (r < 0)
                return report_call_failure(what, &error, r);
        return 0;
}
