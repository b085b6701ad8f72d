/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Leap seconds happen only at the end of June or December (UTC). A leap announced in any other
 * month is bogus; one announced in June or December is armed in the kernel on the last day. */

#include <stdbool.h>
#include <stdint.h>

#include "ntp-packet.h"

/* Year, month (1-12) and day (1-31) in UTC of a Unix time. */
void leap_civil_date(int64_t unix_ns, int *ret_year, int *ret_month, int *ret_day);

/* Whether a leap announced at this time can be genuine. */
bool leap_month_allows(int64_t unix_ns);

/* Whether the kernel should be told now (the last day of June or December). */
bool leap_is_last_day(int64_t unix_ns);
