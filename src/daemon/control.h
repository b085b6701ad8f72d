/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The read-only mode 6 view of the daemon: the system variables and one association per source,
 * as NTPsec's and classic ntpq read them. */

#include <stddef.h>
#include <stdint.h>

#include "manager.h"

/* Answers one mode 6 request, handing each response datagram to emit. */
size_t control_answer(manager *m, const uint8_t *request, size_t len,
                      void (*emit)(void *userdata, const uint8_t *datagram, size_t len), void *userdata);
