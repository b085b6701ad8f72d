/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated arrays of strings, as sd-bus reads them (sd_bus_message_read_strv). */

#include <stddef.h>

/* Frees every string and the array; returns NULL. */
char **strv_free(char **l);
size_t strv_length(char *const *l);

static inline void strv_freep(char ***l) {
        strv_free(*l);
}
