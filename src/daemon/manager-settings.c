/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager's settings changes: the layers of settings.c put together, saved, and applied. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager.h"
#include "settings.h"

static int out_of_memory(struct config_error *ret_error) {
        snprintf(ret_error->message, sizeof(ret_error->message), "out of memory");
        return -ENOMEM;
}

/* The configuration with layer 2 as *persisted (NULL: as it is) and layer 3 as *rt: when it is
 * valid and a new layer 2 is saved, the layers become the manager's and the configuration applies. */
static int use_layers(manager *m, const struct config_overrides *persisted, const struct config_overrides *rt,
                      struct config_error *ret_error) {
        struct config *c = malloc(sizeof(*c));
        if (!c)
                return out_of_memory(ret_error);
        int r = settings_build(m->config_path, m->timesyncd_path, m->settings_path, persisted ? persisted : &m->persisted, rt, c, ret_error);
        if (r >= 0 && persisted) {
                r = settings_save(m->settings_path, persisted);
                if (r < 0)
                        snprintf(ret_error->message, sizeof(ret_error->message), "cannot save %s: %s",
                                 m->settings_path, strerror(-r));
        }
        if (r >= 0) {
                if (persisted)
                        m->persisted = *persisted;
                m->runtime = *rt;
                manager_apply_config(m, c);
        }
        free(c);
        return r == -ENOMEM ? out_of_memory(ret_error) : r;
}

int manager_change(manager *m, const struct config_overrides *change, bool runtime, struct config_error *ret_error) {
        struct config_overrides *persisted = malloc(sizeof(*persisted)), *rt = malloc(sizeof(*rt));
        int r;
        if (!persisted || !rt)
                r = out_of_memory(ret_error);
        else {
                *persisted = m->persisted;
                *rt = m->runtime;
                if (runtime)
                        settings_merge(rt, change);
                else {
                        settings_merge(persisted, change);
                        settings_drop(rt, change);
                }
                r = use_layers(m, runtime ? NULL : persisted, rt, ret_error);
        }
        free(persisted);
        free(rt);
        return r;
}

int manager_drop_runtime_servers(manager *m, struct config_error *ret_error) {
        struct config_overrides *rt = malloc(sizeof(*rt));
        if (!rt)
                return out_of_memory(ret_error);
        *rt = m->runtime;
        rt->has_servers = false;
        int r = use_layers(m, NULL, rt, ret_error);
        free(rt);
        return r;
}
