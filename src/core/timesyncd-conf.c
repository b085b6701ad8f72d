/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "timesyncd-conf.h"

struct reader {
        struct timesyncd_servers *t;
        const char *file;
        unsigned line;
};

__attribute__((format(printf, 2, 3))) static void warn(struct reader *r, const char *fmt, ...) {
        struct timesyncd_servers *t = r->t;
        char what[CONFIG_MESSAGE_MAX];
        va_list ap;
        if (t->n_warnings >= TIMESYNCD_MAX_WARNINGS)
                return;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        snprintf(t->warnings[t->n_warnings++], CONFIG_MESSAGE_MAX, "%.200s:%u: %.280s", r->file, r->line, what);
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

/* The line without the blanks around it, in place. */
static char *trim(char *s) {
        while (is_blank(*s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && is_blank(s[n - 1]))
                s[--n] = '\0';
        return s;
}

static void add_host(struct reader *r, struct timesyncd_server *list, size_t *n, const char *host) {
        if (!config_host_is_valid(host)) {
                warn(r, "\"%.64s\" is not a host name or address, ignoring it", host);
                return;
        }
        for (size_t i = 0; i < *n; i++)
                if (strcasecmp(list[i].host, host) == 0)
                        return;
        if (*n >= CONFIG_MAX_SERVERS) {
                warn(r, "more than %d servers, ignoring %.64s", CONFIG_MAX_SERVERS, host);
                return;
        }
        struct timesyncd_server *s = &list[(*n)++];
        snprintf(s->host, sizeof(s->host), "%s", host);
        s->origin = (struct config_origin) { .layer = CONFIG_LAYER_TIMESYNCD, .line = r->line };
        snprintf(s->origin.file, sizeof(s->origin.file), "%s", r->file);
}

/* NTP=a b c adds; NTP= empties the list. */
static void assign(struct reader *r, struct timesyncd_server *list, size_t *n, char *value) {
        if (!*value) {
                *n = 0;
                return;
        }
        for (char *save = NULL, *w = strtok_r(value, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
                add_host(r, list, n, w);
}

static void read_line(struct reader *r, char *line, bool *in_time) {
        line = trim(line);
        if (!*line || *line == '#' || *line == ';')
                return;
        if (*line == '[') {
                *in_time = strcmp(line, "[Time]") == 0;
                return;
        }
        char *eq = strchr(line, '=');
        if (!eq) {
                warn(r, "not an assignment, ignoring the line");
                return;
        }
        *eq = '\0';
        char *key = trim(line), *value = trim(eq + 1);
        if (!*in_time)
                return;
        if (strcmp(key, "NTP") == 0)
                assign(r, r->t->ntp, &r->t->n_ntp, value);
        else if (strcmp(key, "FallbackNTP") == 0)
                assign(r, r->t->fallback, &r->t->n_fallback, value);
}

void timesyncd_conf_parse(struct timesyncd_servers *t, const char *file, const char *text, size_t len) {
        struct reader r = { .t = t, .file = file ? file : "(input)" };
        bool in_time = false;
        char line[CONFIG_MAX_LINE];
        size_t pos = 0;

        while (pos < len) {
                const char *end = memchr(text + pos, '\n', len - pos);
                size_t n = end ? (size_t) (end - (text + pos)) : len - pos;
                r.line++;
                if (n >= sizeof(line) || memchr(text + pos, '\0', n))
                        warn(&r, "line too long or not text, ignoring it");
                else {
                        memcpy(line, text + pos, n);
                        line[n] = '\0';
                        read_line(&r, line, &in_time);
                }
                pos += n + (end ? 1 : 0);
        }
}

static bool has_server(const struct config *c, const char *host) {
        for (size_t i = 0; i < c->n_servers; i++)
                if (strcasecmp(c->servers[i].host, host) == 0)
                        return true;
        return false;
}

static void add_servers(struct config *c, const struct timesyncd_server *list, size_t n) {
        for (size_t i = 0; i < n && c->n_servers < CONFIG_MAX_SERVERS; i++) {
                if (has_server(c, list[i].host))
                        continue;
                struct config_server *s = &c->servers[c->n_servers++];
                *s = (struct config_server) { .iburst = true, .origin = list[i].origin };
                snprintf(s->host, sizeof(s->host), "%s", list[i].host);
        }
}

void config_add_timesyncd_servers(struct config *c, const struct timesyncd_servers *t) {
        for (size_t i = 0; i < t->n_warnings && c->n_warnings < CONFIG_MAX_WARNINGS; i++)
                snprintf(c->warnings[c->n_warnings++], CONFIG_MESSAGE_MAX, "%s", t->warnings[i]);
        add_servers(c, t->ntp, t->n_ntp);
}

void config_add_timesyncd_fallback(struct config *c, const struct timesyncd_servers *t) {
        if (c->n_servers == 0)
                add_servers(c, t->fallback, t->n_fallback);
}
