/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl-util.h"
#include "ctl-wait.h"

/* PropertiesChanged wakes us at once; the poll covers a daemon that restarted meanwhile. */
#define RECHECK_USEC (5ULL * 1000000)

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

int ctl_parse_timeout(const char *text, uint64_t *ret_usec) {
        if (streq(text, "infinity")) {
                *ret_usec = WAIT_FOREVER;
                return 0;
        }
        char *end = NULL;
        errno = 0;
        double seconds = strtod(text, &end);
        if (errno != 0 || end == text || *end != '\0' || !isfinite(seconds) || seconds < 0 || seconds > 1e9)
                return -EINVAL;
        *ret_usec = (uint64_t) (seconds * 1e6);
        return 0;
}

/* 1 synchronized, 0 not yet, or a negative errno with error set. */
static int read_synchronized(sd_bus *bus, sd_bus_error *error) {
        int synchronized = 0;
        int r = sd_bus_get_property_trivial(bus, NTPSYNC_BUS_NAME, NTPSYNC_OBJECT_PATH, NTPSYNC_MANAGER_INTERFACE,
                                            "Synchronized", error, 'b', &synchronized);
        return r < 0 ? r : synchronized != 0;
}

/* Nothing to do: the signal's arrival ends sd_bus_wait(), and Synchronized is read again. */
static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return 0;
}

int ctl_wait_sync(struct ctl_bus *c, uint64_t timeout_usec) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *what = "wait for synchronization";
        bool reported_gone = false;

        int status = ctl_bus_connect(c);
        if (status != 0)
                return status;
        int r = sd_bus_match_signal(c->bus, NULL, NTPSYNC_BUS_NAME, NTPSYNC_OBJECT_PATH,
                                    "org.freedesktop.DBus.Properties", "PropertiesChanged", on_properties_changed,
                                    NULL);
        if (r < 0) {
                fprintf(stderr, "Failed to %s: cannot watch ntpsyncd's properties: %s\n", what, strerror(-r));
                return CTL_EXIT_FAILED;
        }
        r = read_synchronized(c->bus, &error);
        if (r < 0)
                return report_call_failure(what, &error, r);

        uint64_t deadline = timeout_usec == WAIT_FOREVER ? WAIT_FOREVER : now_usec() + timeout_usec;
        for (;;) {
                if (r > 0)
                        return CTL_EXIT_SUCCESS;
                uint64_t now = now_usec();
                if (now >= deadline)
                        break;
                uint64_t wait = deadline - now < RECHECK_USEC ? deadline - now : RECHECK_USEC;
                r = sd_bus_process(c->bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(c->bus, wait);
                if (r < 0) {
                        fprintf(stderr, "Failed to %s: the system bus connection failed: %s\n", what, strerror(-r));
                        return CTL_EXIT_UNREACHABLE;
                }
                sd_bus_error_free(&error);
                r = read_synchronized(c->bus, &error);
                if (r < 0) {
                        /* Restarted by systemd meanwhile: wait for it to come back. */
                        if (exit_status_for_call_error(&error, r) != CTL_EXIT_UNREACHABLE)
                                return report_call_failure(what, &error, r);
                        if (!reported_gone)
                                fprintf(stderr, "ntpsyncd left the bus; waiting for it to come back\n");
                        reported_gone = true;
                        r = 0;
                }
        }
        if (sd_bus_error_is_set(&error))
                return report_call_failure(what, &error, -EHOSTDOWN);
        fprintf(stderr, "Not synchronized after %g s.\n", (double) timeout_usec / 1e6);
        return CTL_EXIT_FAILED;
}
