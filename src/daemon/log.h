/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging: to the journal with structured fields when stderr is connected to it (JOURNAL_STREAM),
 * else one line per message on stderr. Only the layer that decides logs. */

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

void log_setup(void);
void log_set_max_level(int level);
int log_get_max_level(void);

/* Returns -abs(error) so that callers can `return log_error_errno(r, ...)`. */
int log_internal(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A message with extra journal fields: fields is a NULL-terminated list of "KEY=value" strings. */
void log_struct(int level, const char *message_id, const char *const *fields, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)

/* A token bucket for messages that a flood of bad packets could trigger. */
struct log_ratelimit {
        unsigned long long window_start_usec;
        unsigned burst;              /* messages allowed per window */
        unsigned used;
        unsigned suppressed;
};

#define LOG_RATELIMIT_INIT { .burst = 10 }
#define LOG_RATELIMIT_WINDOW_USEC (60ULL * 1000000)

/* Whether a message may go out now; tells how many were suppressed since the last one. */
bool log_ratelimit_allow(struct log_ratelimit *r, unsigned long long now_usec, unsigned *ret_suppressed);
