/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every changing method shares: checking the caller's arguments, asking polkit, applying,
 * replying, announcing. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-change.h"
#include "bus-polkit.h"
#include "core/printable.h"
#include "settings.h"

/* ---- validation helpers ---- */

const char *bus_printable(const char *text, char buf[static BUS_QUOTE_MAX * 4 + 4]) {
        return printable(text, BUS_QUOTE_MAX, PRINTABLE_ESCAPE_BACKSLASH, buf, BUS_QUOTE_MAX * 4 + 4);
}

int bus_error_invalid(sd_bus_error *error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = sd_bus_error_setfv(error, SD_BUS_ERROR_INVALID_ARGS, fmt, ap);
        va_end(ap);
        return r;
}

static int read_strv_bounded(sd_bus_message *m, char ***ret, sd_bus_error *error) {
        char **strv = NULL;
        int r = sd_bus_message_read_strv(m, &strv);
        if (r < 0)
                return r;
        size_t n = strv_length(strv);
        if (n > BUS_MAX_ARRAY) {
                strv_free(strv);
                return bus_error_invalid(error, "Too many elements (%zu)", n);
        }
        *ret = strv;
        return 0;
}

/* "a, b, c" for polkit details; truncated, which is fine for a rule to look at. */
void bus_join(char **strv, char *buf, size_t size) {
        size_t used = 0;
        buf[0] = '\0';
        for (size_t i = 0; strv && strv[i] && used + 1 < size; i++) {
                int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", strv[i]);
                if (n < 0)
                        break;
                used += (size_t) n < size - used ? (size_t) n : size - used - 1;
        }
}

/* ---- applying after authorization ---- */

int bus_apply_overrides(struct bus_change *c, sd_bus_error *error) {
        struct config_error e;
        int r = manager_change(c->bus->manager, &c->overrides, c->runtime, &e);
        if (r == -EINVAL)
                return bus_error_invalid(error, "%s", e.message);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_SAVE_FAILED, "%s", e.message);
        return 0;
}

static void on_authorized(sd_bus_message *call, int allowed, const sd_bus_error *verdict, void *userdata) {
        struct bus_change *c = userdata;
        sd_bus_error error = SD_BUS_ERROR_NULL;

        if (allowed <= 0) {
                sd_bus_reply_method_error(call, verdict);
                return;
        }
        c->call = call;
        int r = c->apply ? c->apply(c, &error) : bus_apply_overrides(c, &error);
        if (r > 0)
                ;    /* the apply answers the call itself, once what it waits for is done */
        else if (r < 0)
                sd_bus_reply_method_errno(call, r, &error);
        else
                sd_bus_reply_method_return(call, NULL);
        sd_bus_error_free(&error);
        bus_properties_maybe_changed(c->bus);
}

int bus_change_authorize(sd_bus_message *call, struct bus_change *c, const char *action, const char *const *details) {
        int r = polkit_check_async(call, action, details, on_authorized, c, free);
        return r < 0 ? r : 1;
}

/* The methods that change a part of the settings, persisted or at runtime: polkit rules see
 * what was asked for as key=value, and whether it is for the runtime only. */
int bus_authorize_setting(sd_bus_message *call, struct bus_change *c, const char *action, const char *key,
                             const char *value) {
        const char *const d[] = { key, value, "runtime", c->runtime ? "true" : "false", NULL };
        return bus_change_authorize(call, c, action, d);
}

struct bus_change *bus_change_new(struct bus *b, bool runtime) {
        struct bus_change *c = calloc(1, sizeof(*c));
        if (c) {
                c->bus = b;
                c->runtime = runtime;
        }
        return c;
}

/* The (as, b) arguments of SetServers and SetRestrictRules, and the change they are for. */
int bus_read_list_call(sd_bus_message *call, struct bus *b, char ***ret_list, struct bus_change **ret_change,
                          sd_bus_error *error) {
        char **list = NULL;
        int runtime;
        int r = read_strv_bounded(call, &list, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(call, "b", &runtime);
        struct bus_change *c = r >= 0 ? bus_change_new(b, runtime) : NULL;
        if (r >= 0 && !c)
                r = -ENOMEM;
        if (r < 0) {
                strv_free(list);
                return r;
        }
        *ret_list = list;
        *ret_change = c;
        return 0;
}
