/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The servers systemd-timesyncd's configuration names (timesyncd.conf(5): [Time] NTP= and
 * FallbackNTP=), read as a layer below ntpsync's own files, so that a host moving from timesyncd
 * (or Cockpit's time dialog, which writes timesyncd.conf.d/50-cockpit.conf) keeps its servers.
 *
 * As timesyncd reads them: files in order, each assignment adds its space-separated names, an
 * empty assignment empties the list. The files are someone else's: what is wrong in them is a
 * warning (file and line) and is skipped, never an error of ntpsync's configuration. */

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define TIMESYNCD_MAX_WARNINGS 8

struct timesyncd_server {
        char host[CONFIG_HOST_MAX];
        struct config_origin origin;
};

struct timesyncd_servers {
        struct timesyncd_server ntp[CONFIG_MAX_SERVERS];
        size_t n_ntp;
        struct timesyncd_server fallback[CONFIG_MAX_SERVERS];
        size_t n_fallback;
        char warnings[TIMESYNCD_MAX_WARNINGS][CONFIG_MESSAGE_MAX];
        size_t n_warnings;
};

/* Reads one file's text into t, after the files read before it. */
void timesyncd_conf_parse(struct timesyncd_servers *t, const char *file, const char *text, size_t len);

/* Adds the NTP= servers to c (read after ntpsync's own files) as `server HOST iburst`, from
 * layer CONFIG_LAYER_TIMESYNCD; a host ntpsync's files name already stays theirs. The warnings
 * go to c's. */
void config_add_timesyncd_servers(struct config *c, const struct timesyncd_servers *t);

/* When no layer names a server at all: the FallbackNTP= servers, as timesyncd uses them. */
void config_add_timesyncd_fallback(struct config *c, const struct timesyncd_servers *t);
