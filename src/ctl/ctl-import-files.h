/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `ntpsyncctl import-ntpconf`: reads ntpd's files, has ctl-import.c translate them, checks the
 * result with ntpsyncd's parser, writes it atomically and carries ntpd's frequency over to
 * ntpsyncd's drift file. Works offline: no D-Bus. */

#include <stdbool.h>

#include "config.h"

#define IMPORT_DEFAULT_NTP_CONF "/etc/ntp.conf"
#define IMPORT_DEFAULT_STEP_TICKERS "/etc/ntp/step-tickers"
#define IMPORT_DEFAULT_OUTPUT NTPSYNC_IMPORT_OUTPUT
#define IMPORT_DEFAULT_STATE_DIR NTPSYNC_STATE_DIR
#define IMPORT_OUTPUT_STDOUT "-"      /* print the configuration, write nothing */

struct import_options {
        const char *ntp_conf;
        const char *step_tickers;     /* a missing one is fine */
        const char *output;
        const char *state_dir;
        bool force;                   /* replace an existing output file */
};

/* Does the import; returns ntpsyncctl's exit status (enum ctl_exit_status). */
int import_run(const struct import_options *o);
