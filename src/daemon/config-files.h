/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The configuration files: a main file and the *.conf files in FILE.d. */

#include "core/config.h"
#include "core/timesyncd-conf.h"

/* Loads main_path (missing is fine: the defaults stay) and then every *.conf in main_path.d in
 * lexical order, into *ret. Symlinks are followed (configuration management makes them); a
 * drop-in linked to /dev/null is masked. On error fills *ret_error with "FILE:LINE: ..." or "FILE: ..." and
 * leaves *ret as it was. */
int config_load(const char *main_path, struct config *ret, struct config_error *ret_error);

/* systemd-timesyncd's configuration as systemd reads it: main_path, then the *.conf drop-ins
 * of main_path.d and, for the default path, of /run/systemd, /usr/local/lib/systemd and
 * /usr/lib/systemd too (a name in an earlier directory hides the same name in a later one; all
 * in lexical order). Missing files and directories are fine; unreadable ones are warnings. */
void timesyncd_conf_load(const char *main_path, struct timesyncd_servers *ret);
