/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the methods that change something share: the caller's arguments checked and quoted
 * safely, polkit asked (bus-polkit.c), the change applied, the caller answered, the change
 * announced. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "bus.h"
#include "strv.h"

#define BUS_QUOTE_MAX 160

/* The caller's text made safe to put in an error message: control characters as \xNN, and cut
 * at BUS_QUOTE_MAX characters. Returns buf. */
const char *bus_printable(const char *text, char buf[static BUS_QUOTE_MAX * 4 + 4]);

/* A change a method call asks for, made once polkit allows it. */
struct bus_change {
        struct bus *bus;
        struct config_overrides overrides;
        bool runtime;
        sd_bus_message *call;        /* during apply: the call, for an apply that answers later */
        /* NULL: apply the overrides. Returns < 0 (an error for the caller), 0 (done: the caller
         * is told so) or 1 (the apply took a reference to call and answers it itself). */
        int (*apply)(struct bus_change *c, sd_bus_error *error);
};

struct bus_change *bus_change_new(struct bus *b, bool runtime);

/* Validation is done: asks polkit for action with details (as polkit_check_async()), then
 * applies c, replies to call and announces what changed. Takes c. Returns 1 (the reply comes
 * later) or a negative errno. */
int bus_change_authorize(sd_bus_message *call, struct bus_change *c, const char *action, const char *const *details);

/* The change asks for the overrides in c to be made (runtime or persisted). */
int bus_apply_overrides(struct bus_change *c, sd_bus_error *error);

/* bus_change_authorize() for the methods that change a part of the settings: polkit rules see
 * key=value and whether it is for the runtime only. */
int bus_authorize_setting(sd_bus_message *call, struct bus_change *c, const char *action, const char *key,
                          const char *value);

/* SD_BUS_ERROR_INVALID_ARGS with a message; returns the negative errno sd-bus gives it. */
int bus_error_invalid(sd_bus_error *error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The (as, b) arguments of SetServers and SetRestrictRules, and the change they are for. */
int bus_read_list_call(sd_bus_message *call, struct bus *b, char ***ret_list, struct bus_change **ret_change,
                       sd_bus_error *error);

/* "a, b, c", cut to fit size: for polkit details, which a rule only looks at. */
void bus_join(char **strv, char *buf, size_t size);

/* The caller's text quoted for an error message. */
#define BUS_QUOTE(text) bus_printable((text), (char[BUS_QUOTE_MAX * 4 + 4]) { 0 })
