/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-polkit.h"
#include "log.h"

#define POLKIT_TIMEOUT_USEC (25ULL * 1000000)
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (300ULL * 1000000)
#define POLKIT_ALLOW_USER_INTERACTION 1u

struct check {
        sd_bus_message *call;
        char *sender;
        polkit_callback callback;
        void *userdata;
        void (*free_userdata)(void *);
        sd_bus_slot *slot;
        bool interactive;
        sd_bus_message *request;     /* CheckAuthorization, for a caller not root; NULL: could not be made */
};

static void check_free(struct check *c) {
        if (!c)
                return;
        sd_bus_slot_unref(c->slot);
        sd_bus_message_unref(c->call);
        if (c->free_userdata)
                c->free_userdata(c->userdata);
        sd_bus_message_unref(c->request);
        free(c->sender);
        free(c);
}

static void finish(struct check *c, int r, const char *error_name, const char *message) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        if (r <= 0)
                sd_bus_error_set(&error, error_name, message);
        c->callback(c->call, r, &error, c->userdata);
        sd_bus_error_free(&error);
        check_free(c);
}

static void deny(struct check *c, const char *why) {
        finish(c, 0, SD_BUS_ERROR_ACCESS_DENIED, why);
}

/* The caller must still be there: a change nobody waits for is not made. */
static int on_name_owner(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct check *c = userdata;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                deny(c, "The caller left before it was authorized");
                return 0;
        }
        finish(c, 1, NULL, NULL);
        return 0;
}

static void confirm_caller(struct check *c) {
        sd_bus *bus = sd_bus_message_get_bus(c->call);
        sd_bus_slot_unref(c->slot);
        c->slot = NULL;
        int r = sd_bus_call_method_async(bus, &c->slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                         "org.freedesktop.DBus", "GetNameOwner", on_name_owner, c, "s", c->sender);
        if (r < 0)
                deny(c, "Cannot confirm the caller");
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct check *c = userdata;
        int authorized, challenge;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                log_warning("polkit check failed, denying: %s", e && e->message ? e->message : "unknown error");
                deny(c, "Authorization is not available (polkit failed)");
                return 0;
        }
        if (sd_bus_message_enter_container(reply, 'r', "bba{ss}") < 0 ||
            sd_bus_message_read(reply, "bb", &authorized, &challenge) < 0) {
                deny(c, "Authorization is not available (unreadable polkit answer)");
                return 0;
        }
        if (authorized)
                confirm_caller(c);
        else if (challenge && !c->interactive)
                finish(c, 0, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                       "Interactive authentication required.");
        else
                deny(c, "Access denied");
        return 0;
}

static int append_details(sd_bus_message *m, const char *const *details) {
        int r = sd_bus_message_open_container(m, 'a', "{ss}");
        for (size_t i = 0; r >= 0 && details && details[i] && details[i + 1]; i += 2)
                r = sd_bus_message_append(m, "{ss}", details[i], details[i + 1]);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

/* Made when the check starts, as the details may not outlive the method handler; sent only when
 * the caller is not root. */
static sd_bus_message *new_request(struct check *c, const char *action, const char *const *details) {
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(sd_bus_message_get_bus(c->call), &m, "org.freedesktop.PolicyKit1",
                                               "/org/freedesktop/PolicyKit1/Authority",
                                               "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s", c->sender, action);
        if (r >= 0)
                r = append_details(m, details);
        if (r >= 0)
                r = sd_bus_message_append(m, "us", c->interactive ? POLKIT_ALLOW_USER_INTERACTION : 0u, "");
        return r < 0 ? sd_bus_message_unref(m) : m;
}

static int start_check(struct check *c) {
        if (!c->request)
                return -ENOMEM;
        return sd_bus_call_async(sd_bus_message_get_bus(c->call), &c->slot, c->request, on_polkit_reply, c,
                                 c->interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : POLKIT_TIMEOUT_USEC);
}

/* Root is allowed without asking polkit. The caller's uid comes from the bus, asynchronously too:
 * the loop never waits on a bus call. */
static int on_caller_uid(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct check *c = userdata;
        uint32_t uid;
        if (sd_bus_message_is_method_error(reply, NULL) || sd_bus_message_read(reply, "u", &uid) < 0) {
                deny(c, "Cannot identify the caller");
                return 0;
        }
        if (uid == 0) {
                finish(c, 1, NULL, NULL);
                return 0;
        }
        sd_bus_slot_unref(c->slot);
        c->slot = NULL;
        if (start_check(c) < 0)
                deny(c, "Authorization is not available");
        return 0;
}

static int ask_caller_uid(struct check *c) {
        return sd_bus_call_method_async(sd_bus_message_get_bus(c->call), &c->slot, "org.freedesktop.DBus",
                                        "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixUser",
                                        on_caller_uid, c, "s", c->sender);
}

int polkit_check_async(sd_bus_message *call, const char *action, const char *const *details, polkit_callback cb,
                       void *userdata, void (*free_userdata)(void *)) {
        struct check *c = calloc(1, sizeof(*c));
        const char *sender = sd_bus_message_get_sender(call);
        if (!c || !sender) {
                if (free_userdata)
                        free_userdata(userdata);
                free(c);
                return -ENOMEM;
        }
        c->call = sd_bus_message_ref(call);
        c->sender = strdup(sender);
        c->callback = cb;
        c->userdata = userdata;
        c->free_userdata = free_userdata;
        c->interactive = sd_bus_message_get_allow_interactive_authorization(call) > 0;
        if (!c->sender) {
                check_free(c);
                return -ENOMEM;
        }
        c->request = new_request(c, action, details);
        if (ask_caller_uid(c) < 0)
                deny(c, "Cannot identify the caller");
        return 0;
}
