#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-files.h"
#include "file-io.h"
#include "log.h"
#include "settings.h"

#define SETTINGS_TEXT_MAX (256 * 1024)

void settings_load_persisted(const char *path, struct config_overrides *ret) {
        struct config *c = malloc(sizeof(*c));
        struct config_error error;
        char *text = NULL;

        memset(ret, 0, sizeof(*ret));
        if (!c)
                return;
        ssize_t len = read_small_file(path, SETTINGS_TEXT_MAX, false, &text);
        if (len == -ENOENT) {
                free(c);
                return;
        }
        config_init(c);
        if (len < 0)
                log_warning_errno((int) len, "Ignoring %s", path);
        else if (config_parse(c, path, text, (size_t) len, &error) < 0)
                log_warning("Ignoring the settings saved over D-Bus: %s", error.message);
        else
                config_overrides_from(c, ret);
        free(text);
        free(c);
}

static int parse_layer(struct config *c, const char *name, const struct config_overrides *o,
                       struct config_error *ret_error) {
        char *text = malloc(SETTINGS_TEXT_MAX);
        if (!text)
                return -ENOMEM;
        int len = config_overrides_format(o, text, SETTINGS_TEXT_MAX);
        int r = len < 0 ? len : config_parse(c, name, text, (size_t) len, ret_error);
        free(text);
        return r;
}

int settings_build(const char *config_path, const char *settings_path, const struct config_overrides *persisted,
                   const struct config_overrides *runtime, struct config *ret, struct config_error *ret_error) {
        int r = config_load(config_path, ret, ret_error);
        if (r < 0)
                return r;
        r = parse_layer(ret, settings_path, persisted, ret_error);
        if (r < 0)
                return r;
        return parse_layer(ret, SETTINGS_RUNTIME_LAYER, runtime, ret_error);
}

/* Copies the parts present in `change` into `into`. */
static void merge(struct config_overrides *into, const struct config_overrides *change) {
        if (change->has_servers) {
                into->has_servers = true;
                into->n_servers = change->n_servers;
                memcpy(into->servers, change->servers, change->n_servers * sizeof(change->servers[0]));
        }
        if (change->has_restricts) {
                into->has_restricts = true;
                into->n_restricts = change->n_restricts;
                memcpy(into->restricts, change->restricts, change->n_restricts * sizeof(change->restricts[0]));
        }
        if (change->has_serve) {
                into->has_serve = true;
                into->serve = change->serve;
        }
        if (change->has_firewall) {
                into->has_firewall = true;
                into->firewall_client = change->firewall_client;
                into->firewall_server = change->firewall_server;
        }
}

/* A persisted change of a part ends the runtime change of that part. */
static void drop(struct config_overrides *from, const struct config_overrides *change) {
        from->has_servers &= !change->has_servers;
        from->has_restricts &= !change->has_restricts;
        from->has_serve &= !change->has_serve;
        from->has_firewall &= !change->has_firewall;
}

static int save(const char *path, const struct config_overrides *o) {
        char *text = malloc(SETTINGS_TEXT_MAX);
        if (!text)
                return -ENOMEM;
        int len = config_overrides_format(o, text, SETTINGS_TEXT_MAX);
        int r = len < 0 ? len : write_file_atomic(path, text, (size_t) len, 0644);
        free(text);
        return r;
}

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
        int r = settings_build(m->config_path, m->settings_path, persisted ? persisted : &m->persisted, rt, c, ret_error);
        if (r >= 0 && persisted) {
                r = save(m->settings_path, persisted);
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
                        merge(rt, change);
                else {
                        merge(persisted, change);
                        drop(rt, change);
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
