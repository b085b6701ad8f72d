/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asking polkit, without blocking the loop, whether the sender of a method call may do
 * something. Root is allowed without asking. Anything but a clear "yes" — polkitd missing,
 * failing, timing out, a caller that left before the answer — is a "no". */

#include <systemd/sd-bus.h>

/* Called once with the verdict: r > 0 allowed; r == 0 denied, *error set to what to reply. */
typedef void (*polkit_callback)(sd_bus_message *call, int r, const sd_bus_error *error, void *userdata);

/* details: NULL-terminated key, value, key, value... for polkit rules to match on. Takes
 * ownership of userdata (free_userdata runs after the callback, or on failure to start). */
int polkit_check_async(sd_bus_message *call, const char *action, const char *const *details, polkit_callback cb,
                       void *userdata, void (*free_userdata)(void *));
