/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The layers of the configuration, later ones winning:
 *
 *   1. /etc/ntpsyncd.conf, then the *.conf files in /etc/ntpsyncd.conf.d in lexical order;
 *   2. STATE_DIR/settings.conf, what D-Bus changed with runtime=false (written by the daemon);
 *   3. what D-Bus changed with runtime=true, in memory until the daemon stops.
 *
 * Layers 2 and 3 replace whole parts (the server list, the restrict rules, server mode, the
 * firewall state); a persisted change of a part drops the runtime change of that part.
 * `ntpsyncd --check-config` shows layers 1 and 2 with the file and line of each setting. */

#include "core/config.h"

#define SETTINGS_FILE "settings.conf"
#define SETTINGS_RUNTIME_LAYER "runtime" /* the file name the runtime layer's settings show as their origin */

/* Reads layer 2 into ret; a missing file is empty, a broken one is ignored with a warning. */
void settings_load_persisted(const char *path, struct config_overrides *ret);

/* The layers into *ret (heap-allocated by the caller): systemd-timesyncd's servers (from
 * timesyncd_path; NULL or "": none), the files, persisted, runtime; then timesyncd's fallback
 * servers when none is configured anywhere. */
int settings_build(const char *config_path, const char *timesyncd_path, const char *settings_path,
                   const struct config_overrides *persisted, const struct config_overrides *runtime,
                   struct config *ret, struct config_error *ret_error);

/* Copies the parts present in change into into. */
void settings_merge(struct config_overrides *into, const struct config_overrides *change);

/* A persisted change of a part ends the runtime change of that part: drops those parts from from. */
void settings_drop(struct config_overrides *from, const struct config_overrides *change);

/* Writes layer 2 to path, atomically. */
int settings_save(const char *path, const struct config_overrides *o);
