/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"

#define MAX_FIELDS 16

static int max_level = LOG_INFO;
static bool to_journal;

/* systemd sets JOURNAL_STREAM=DEV:INO for the stderr it connected to the journal. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        struct stat st;
        unsigned long long dev, ino;
        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

void log_setup(void) {
        to_journal = stderr_is_journal();
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

static void emit(int level, const char *message_id, const char *const *fields, const char *message) {
        if (!to_journal) {
                fprintf(stderr, "%s\n", message);
                return;
        }
        char priority[32], msg_id[64], *text;
        struct iovec iov[MAX_FIELDS + 3];
        size_t n = 0;

        if (asprintf(&text, "MESSAGE=%s", message) < 0)
                return;
        snprintf(priority, sizeof(priority), "PRIORITY=%d", level);
        iov[n++] = (struct iovec) { text, strlen(text) };
        iov[n++] = (struct iovec) { priority, strlen(priority) };
        if (message_id) {
                snprintf(msg_id, sizeof(msg_id), "MESSAGE_ID=%s", message_id);
                iov[n++] = (struct iovec) { msg_id, strlen(msg_id) };
        }
        for (size_t i = 0; fields && fields[i] && n < MAX_FIELDS + 3; i++)
                iov[n++] = (struct iovec) { (void *) fields[i], strlen(fields[i]) };
        sd_journal_sendv(iov, (int) n);
        free(text);
}

int log_internal(int level, int error, const char *fmt, ...) {
        if (error < 0)
                error = -error;
        if (level > max_level)
                return -error;

        char message[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        if (error) {
                size_t len = strlen(message);
                snprintf(message + len, sizeof(message) - len, ": %s", strerror(error));
        }
        emit(level, NULL, NULL, message);
        return -error;
}

void log_struct(int level, const char *message_id, const char *const *fields, const char *fmt, ...) {
        if (level > max_level)
                return;
        char message[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        emit(level, message_id, fields, message);
}

bool log_ratelimit_allow(struct log_ratelimit *r, unsigned long long now_usec, unsigned *ret_suppressed) {
        if (now_usec - r->window_start_usec >= LOG_RATELIMIT_WINDOW_USEC) {
                r->window_start_usec = now_usec;
                r->used = 0;
        }
        if (r->used >= r->burst) {
                r->suppressed++;
                return false;
        }
        r->used++;
        *ret_suppressed = r->suppressed;
        r->suppressed = 0;
        return true;
}
