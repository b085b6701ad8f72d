/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-files.h"
#include "file-io.h"
#include "log.h"
#include "macro.h"
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
        else if (config_parse_layer(c, CONFIG_LAYER_PERSISTED, path, text, (size_t) len, &error) < 0)
                log_warning("Ignoring the settings saved over D-Bus: %s", error.message);
        else
                config_overrides_from(c, ret);
        free(text);
        free(c);
}

static int parse_layer(struct config *c, enum config_layer layer, const char *name, const struct config_overrides *o,
                       struct config_error *ret_error) {
        char *text = malloc(SETTINGS_TEXT_MAX);
        if (!text)
                return -ENOMEM;
        int len = config_overrides_format(o, text, SETTINGS_TEXT_MAX);
        int r = len < 0 ? len : config_parse_layer(c, layer, name, text, (size_t) len, ret_error);
        free(text);
        return r;
}

int settings_build(const char *config_path, const char *timesyncd_path, const char *settings_path,
                   const struct config_overrides *persisted, const struct config_overrides *runtime,
                   struct config *ret, struct config_error *ret_error) {
        _cleanup_free_ struct timesyncd_servers *timesyncd = malloc(sizeof(*timesyncd));
        if (!timesyncd)
                return -ENOMEM;
        int r = config_load(config_path, ret, ret_error);
        if (r < 0)
                return r;
        /* timesyncd's NTP= servers join the files' (a host's own line wins); D-Bus layers above
         * replace them together. */
        timesyncd_conf_load(timesyncd_path, timesyncd);
        config_add_timesyncd_servers(ret, timesyncd);
        r = parse_layer(ret, CONFIG_LAYER_PERSISTED, settings_path, persisted, ret_error);
        if (r < 0)
                return r;
        r = parse_layer(ret, CONFIG_LAYER_RUNTIME, SETTINGS_RUNTIME_LAYER, runtime, ret_error);
        if (r < 0)
                return r;
        config_add_timesyncd_fallback(ret, timesyncd);
        return config_check(ret, ret_error);
}

void settings_merge(struct config_overrides *into, const struct config_overrides *change) {
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
        if (change->has_nts) {
                into->has_nts = true;
                into->nts_enable = change->nts_enable;
                memcpy(into->nts_cert, change->nts_cert, sizeof(into->nts_cert));
                memcpy(into->nts_key, change->nts_key, sizeof(into->nts_key));
        }
}

void settings_drop(struct config_overrides *from, const struct config_overrides *change) {
        from->has_servers &= !change->has_servers;
        from->has_restricts &= !change->has_restricts;
        from->has_serve &= !change->has_serve;
        from->has_firewall &= !change->has_firewall;
        from->has_nts &= !change->has_nts;
}

int settings_save(const char *path, const struct config_overrides *o) {
        char *text = malloc(SETTINGS_TEXT_MAX);
        if (!text)
                return -ENOMEM;
        int len = config_overrides_format(o, text, SETTINGS_TEXT_MAX);
        int r = len < 0 ? len : write_file_atomic(path, text, (size_t) len, 0644);
        free(text);
        return r;
}
