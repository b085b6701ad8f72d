/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-words.h"
#include "config.h"
#include "poll.h"

#define MAX_WORDS 32

/* A line of a file, and a D-Bus server spec: one tokenizer. A spec is a value, not a file's line
 * (no quotes, no comment); a control character stays in its word, for the host check to name. */
static const struct conf_words_syntax file_syntax = {
        .words_max = MAX_WORDS,
        .line_max = CONFIG_MAX_LINE - 1,
        .continuation = true,
};
static const struct conf_words_syntax spec_syntax = { .words_max = MAX_WORDS, .control_characters = true };

struct parser {
        struct config *config;
        enum config_layer layer;
        const char *file;
        unsigned line;
        struct config_error *error;
};

static void set_origin(struct config_origin *o, const struct parser *p) {
        o->layer = p->layer;
        snprintf(o->file, sizeof(o->file), "%s", p->file);
        o->line = p->line;
}

__attribute__((format(printf, 2, 3))) static int fail(const struct parser *p, const char *fmt, ...) {
        char what[CONFIG_MESSAGE_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        snprintf(p->error->message, sizeof(p->error->message), "%.200s:%u: %.200s", p->file, p->line, what);
        return -EINVAL;
}

__attribute__((format(printf, 2, 3))) static void warn(const struct parser *p, const char *fmt, ...) {
        struct config *c = p->config;
        char what[CONFIG_MESSAGE_MAX];
        va_list ap;
        if (c->n_warnings >= CONFIG_MAX_WARNINGS)
                return;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        snprintf(c->warnings[c->n_warnings++], CONFIG_MESSAGE_MAX, "%.200s:%u: %.200s", p->file, p->line, what);
}

const char *config_layer_to_string(enum config_layer layer) {
        switch (layer) {
        case CONFIG_LAYER_DEFAULT: return "default";
        case CONFIG_LAYER_TIMESYNCD: return "timesyncd";
        case CONFIG_LAYER_FILES: return "files";
        case CONFIG_LAYER_PERSISTED: return "persisted";
        case CONFIG_LAYER_RUNTIME: return "runtime";
        }
        return "unknown";
}

void config_init(struct config *c) {
        memset(c, 0, sizeof(*c));
        c->step_threshold.value = 0.128;
        c->panic_threshold.value = 1000;
        c->stepout.value = 300;
        c->min_sources.value = 1;
        c->min_distance.value = 0.001;
        c->max_distance.value = 1.5;
        c->timesync1.value = true;
        /* A configuration that names only the server side must not cut the daemon off its own
         * servers: client traffic is allowed unless said otherwise. */
        c->firewall_client.value = true;
}

/* ---- values ---- */

static int parse_number(const char *word, double min, double max, double *ret) {
        char *end;
        errno = 0;
        double v = strtod(word, &end);
        if (errno != 0 || end == word || *end != '\0' || !isfinite(v) || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_integer(const char *word, long min, long max, long *ret) {
        char *end;
        errno = 0;
        long v = strtol(word, &end, 10);
        if (errno != 0 || end == word || *end != '\0' || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_on_off(const char *word, bool *ret) {
        if (strcmp(word, "on") == 0 || strcmp(word, "yes") == 0 || strcmp(word, "true") == 0)
                *ret = true;
        else if (strcmp(word, "off") == 0 || strcmp(word, "no") == 0 || strcmp(word, "false") == 0)
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

void config_server_poll_range(const struct config_server *s, int8_t *ret_min, int8_t *ret_max) {
        int8_t lo = s->minpoll, hi = s->maxpoll;
        /* As in ntpd: the bound not given keeps its default, unless the given one is beyond it. */
        if (lo && !hi)
                hi = lo > POLL_DEFAULT_MAX ? lo : POLL_DEFAULT_MAX;
        if (hi && !lo)
                lo = hi < POLL_DEFAULT_MIN ? hi : POLL_DEFAULT_MIN;
        *ret_min = lo;
        *ret_max = hi;
}

void config_poll_limits(const struct config *c, int8_t *ret_min, int8_t *ret_max) {
        int8_t lo = POLL_DEFAULT_MIN, hi = POLL_DEFAULT_MAX;
        for (size_t i = 0; i < c->n_servers; i++) {
                struct poll_state p;
                int8_t min, max;
                config_server_poll_range(&c->servers[i], &min, &max);
                poll_init(&p, min, max, false, 0);
                lo = i == 0 || p.minpoll < lo ? p.minpoll : lo;
                hi = i == 0 || p.maxpoll > hi ? p.maxpoll : hi;
        }
        *ret_min = lo;
        *ret_max = hi;
}

bool config_host_is_valid(const char *host) {
        size_t len = host ? strnlen(host, CONFIG_HOST_MAX) : 0;
        if (len == 0 || len >= CONFIG_HOST_MAX || host[0] == '-' || host[0] == '.')
                return false;
        for (size_t i = 0; i < len; i++) {
                char ch = host[i];
                bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                          ch == '.' || ch == '-' || ch == ':' || ch == '%' || ch == '_';
                if (!ok)
                        return false;
        }
        return strstr(host, "..") == NULL;
}

/* ---- server and pool ---- */

static int parse_poll_option(const char *value, int8_t *ret) {
        long v;
        if (!value || parse_integer(value, POLL_LIMIT_MIN, POLL_LIMIT_MAX, &v) < 0)
                return -EINVAL;
        *ret = (int8_t) v;
        return 0;
}

/* Options after the host; returns a static error text or NULL. Sets *ret_warning for an option
 * accepted without effect. */
static const char *parse_server_options(char *words[], size_t n, struct config_server *s, const char **ret_warning) {
        for (size_t i = 0; i < n; i++) {
                const char *w = words[i], *value = i + 1 < n ? words[i + 1] : NULL;
                long v;

                if (strcmp(w, "iburst") == 0)
                        s->iburst = true;
                else if (strcmp(w, "prefer") == 0)
                        s->prefer = true;
                else if (strcmp(w, "noselect") == 0)
                        s->noselect = true;
                else if (strcmp(w, "xleave") == 0)
                        s->xleave = true;
                else if (strcmp(w, "burst") == 0 || strcmp(w, "true") == 0 || strcmp(w, "preempt") == 0)
                        *ret_warning = "option accepted but has no effect";
                else if (strcmp(w, "minpoll") == 0 || strcmp(w, "maxpoll") == 0) {
                        if (parse_poll_option(value, w[1] == 'i' ? &s->minpoll : &s->maxpoll) < 0)
                                return "minpoll/maxpoll take a number from 3 to 17";
                        i++;
                } else if (strcmp(w, "maxsources") == 0) {
                        if (!s->pool)
                                return "maxsources applies to pool only";
                        if (!value || parse_integer(value, 1, 16, &v) < 0)
                                return "maxsources takes a number from 1 to 16";
                        s->maxsources = (unsigned) v;
                        i++;
                } else if (strcmp(w, "version") == 0) {
                        if (!value || parse_integer(value, 1, 4, &v) < 0)
                                return "version takes a number from 1 to 4";
                        *ret_warning = "option accepted but has no effect";
                        i++;
                } else if (strcmp(w, "nts") == 0)
                        s->nts = true;
                else if (strcmp(w, "noval") == 0)
                        s->noval = true;
                else if (strcmp(w, "ca") == 0) {
                        if (!value || !config_path_is_valid(value) || strlen(value) >= CONFIG_CA_MAX)
                                return "ca takes an absolute path to a PEM file or a directory";
                        snprintf(s->ca, sizeof(s->ca), "%s", value);
                        i++;
                } else if (strcmp(w, "port") == 0) {
                        if (!value || parse_integer(value, 1, 65535, &v) < 0)
                                return "port takes a number from 1 to 65535";
                        s->port = (uint16_t) v;
                        i++;
                } else if (strcmp(w, "key") == 0 || strcmp(w, "autokey") == 0)
                        return "symmetric keys and autokey are not supported (NTS is: nts)";
                else
                        return "unknown server option";
        }
        if (s->minpoll && s->maxpoll && s->minpoll > s->maxpoll)
                return "minpoll is larger than maxpoll";
        if (!s->nts && (s->noval || s->ca[0] || s->port))
                return "ca, noval and port apply to nts servers only";
        return NULL;
}

static const char *parse_server_words(char *words[], size_t n, struct config_server *ret, const char **ret_warning) {
        struct config_server s = { 0 };
        size_t i = 0;

        *ret_warning = NULL;
        if (n == 0)
                return "empty server spec";
        if (strcmp(words[0], "server") == 0 || strcmp(words[0], "pool") == 0 || strcmp(words[0], "peer") == 0) {
                s.pool = words[0][0] == 'p' && words[0][1] == 'o';
                if (strcmp(words[0], "peer") == 0)
                        *ret_warning = "symmetric peers are not supported, used as a server";
                i = 1;
        } else if (n > 1)
                return "a spec is \"server HOST [options]\", \"pool HOST [options]\" or a bare HOST";
        else
                s.iburst = true; /* a bare host */
        if (i >= n)
                return "no host given";
        if (!config_host_is_valid(words[i]))
                return "not a valid host name or address";
        snprintf(s.host, sizeof(s.host), "%s", words[i]);
        if (s.pool)
                s.maxsources = CONFIG_POOL_DEFAULT_SOURCES;
        const char *error = parse_server_options(words + i + 1, n - i - 1, &s, ret_warning);
        if (error)
                return error;
        *ret = s;
        return NULL;
}

int config_parse_server_spec(const char *spec, struct config_server *ret, const char **ret_error) {
        struct conf_words words;
        struct conf_words_error words_error;
        const char *warning, *dummy;

        ret_error = ret_error ? ret_error : &dummy;
        if (!spec || strnlen(spec, CONFIG_MAX_LINE) >= CONFIG_MAX_LINE) {
                *ret_error = "spec missing or too long";
                return -EINVAL;
        }
        if (conf_words_split(spec, &spec_syntax, &words, &words_error) < 0) {
                *ret_error = conf_words_problem_to_string(words_error.problem);
                return -EINVAL;
        }
        struct config_server s;
        const char *error = parse_server_words(words.word, words.n, &s, &warning);
        if (error) {
                *ret_error = error;
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

void config_server_format(const struct config_server *s, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s %s%s%s%s%s", s->pool ? "pool" : "server", s->host, s->iburst ? " iburst" : "",
                         s->prefer ? " prefer" : "", s->noselect ? " noselect" : "", s->xleave ? " xleave" : "");
        if (n < 0 || (size_t) n >= size)
                return;
        size_t used = (size_t) n;
        if (s->minpoll)
                used += (size_t) snprintf(buf + used, size - used, " minpoll %d", s->minpoll);
        if (used < size && s->maxpoll)
                used += (size_t) snprintf(buf + used, size - used, " maxpoll %d", s->maxpoll);
        if (used < size && s->pool && s->maxsources != CONFIG_POOL_DEFAULT_SOURCES)
                used += (size_t) snprintf(buf + used, size - used, " maxsources %u", s->maxsources);
        if (used < size && s->nts)
                used += (size_t) snprintf(buf + used, size - used, " nts%s", s->noval ? " noval" : "");
        if (used < size && s->port)
                used += (size_t) snprintf(buf + used, size - used, " port %u", s->port);
        /* A path is one word: the tokenizer takes it back unquoted (no spaces are allowed in it). */
        if (used < size && s->ca[0])
                snprintf(buf + used, size - used, " ca %s", s->ca);
}

static bool same_server(const struct config_server *a, const struct config_server *b) {
        return a->pool == b->pool && strcasecmp(a->host, b->host) == 0;
}

static int directive_server(struct parser *p, char *words[], size_t n) {
        struct config *c = p->config;
        struct config_server s;
        const char *warning;
        const char *error = parse_server_words(words, n, &s, &warning);
        if (error)
                return fail(p, "%s", error);
        if (warning)
                warn(p, "%s", warning);
        for (size_t i = 0; i < c->n_servers; i++)
                if (same_server(&c->servers[i], &s))
                        return fail(p, "%s is already configured at %s:%u", s.host, c->servers[i].origin.file,
                                    c->servers[i].origin.line);
        if (c->n_servers >= CONFIG_MAX_SERVERS)
                return fail(p, "more than %d servers", CONFIG_MAX_SERVERS);
        set_origin(&s.origin, p);
        c->servers[c->n_servers++] = s;
        return 0;
}

/* ---- the other directives ---- */

static int directive_restrict(struct parser *p, char *words[], size_t n) {
        struct config *c = p->config;
        struct config_restrict r;
        struct restrict_messages messages;

        if (n < 2)
                return fail(p, "restrict needs an address or default");
        if (restrict_rule_parse_words(words + 1, n - 1, &r.rule, &messages) < 0)
                return fail(p, "restrict: %s", messages.error);
        if (messages.warning[0])
                warn(p, "restrict: %s", messages.warning);
        if (c->n_restricts >= CONFIG_MAX_RESTRICTS)
                return fail(p, "more than %d restrict rules", CONFIG_MAX_RESTRICTS);
        set_origin(&r.origin, p);
        c->restricts[c->n_restricts++] = r;
        return 0;
}

static int directive_driftfile(struct parser *p, char *words[], size_t n) {
        if (n != 2)
                return fail(p, "driftfile takes one path");
        if (words[1][0] != '/')
                return fail(p, "driftfile must be an absolute path");
        if (strlen(words[1]) >= CONFIG_PATH_MAX)
                return fail(p, "driftfile path too long");
        snprintf(p->config->driftfile, CONFIG_PATH_MAX, "%s", words[1]);
        set_origin(&p->config->driftfile_origin, p);
        return 0;
}

static int set_double(struct parser *p, struct config_double *d, const char *name, const char *value, double min,
                      double max) {
        if (!value || parse_number(value, min, max, &d->value) < 0)
                return fail(p, "%s takes a number from %g to %g", name, min, max);
        set_origin(&d->origin, p);
        return 0;
}

static int set_unsigned(struct parser *p, struct config_unsigned *u, const char *name, const char *value, long min,
                        long max) {
        long v;
        if (!value || parse_integer(value, min, max, &v) < 0)
                return fail(p, "%s takes a whole number from %ld to %ld", name, min, max);
        u->value = (unsigned) v;
        set_origin(&u->origin, p);
        return 0;
}

static int set_bool(struct parser *p, struct config_bool *b, const char *name, char *words[], size_t n) {
        if (n != 2 || parse_on_off(words[1], &b->value) < 0)
                return fail(p, "%s takes on or off", name);
        set_origin(&b->origin, p);
        return 0;
}

/* tinker step S panic S stepout S (ntpd's names; other tinker variables are refused) */
static int directive_tinker(struct parser *p, char *words[], size_t n) {
        struct config *c = p->config;
        if (n < 3 || n % 2 != 1)
                return fail(p, "tinker takes pairs of a variable and a value");
        for (size_t i = 1; i < n; i += 2) {
                int r;
                if (strcmp(words[i], "step") == 0)
                        r = set_double(p, &c->step_threshold, "tinker step", words[i + 1], 0, 1e9);
                else if (strcmp(words[i], "panic") == 0)
                        r = set_double(p, &c->panic_threshold, "tinker panic", words[i + 1], 0, 1e9);
                else if (strcmp(words[i], "stepout") == 0)
                        r = set_double(p, &c->stepout, "tinker stepout", words[i + 1], 0, 86400);
                else
                        r = fail(p, "tinker %s is not supported (step, panic, stepout are)", words[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* tos minsane N mindist S maxdist S (ntpd's names; other tos variables are accepted without effect) */
static int directive_tos(struct parser *p, char *words[], size_t n) {
        struct config *c = p->config;
        if (n < 3 || n % 2 != 1)
                return fail(p, "tos takes pairs of a variable and a value");
        for (size_t i = 1; i < n; i += 2) {
                double ignored;
                int r = 0;
                if (strcmp(words[i], "minsane") == 0)
                        r = set_unsigned(p, &c->min_sources, "tos minsane", words[i + 1], 1, CONFIG_MAX_SERVERS);
                else if (strcmp(words[i], "mindist") == 0)
                        r = set_double(p, &c->min_distance, "tos mindist", words[i + 1], 0, 1);
                else if (strcmp(words[i], "maxdist") == 0)
                        r = set_double(p, &c->max_distance, "tos maxdist", words[i + 1], 0.001, 16);
                else if (parse_number(words[i + 1], -1e9, 1e9, &ignored) < 0)
                        r = fail(p, "tos %s takes a number", words[i]);
                else
                        warn(p, "tos %s accepted but has no effect", words[i]);
                if (r < 0)
                        return r;
        }
        if (c->min_distance.value >= c->max_distance.value)
                return fail(p, "tos mindist %g must be below tos maxdist %g", c->min_distance.value,
                            c->max_distance.value);
        return 0;
}

static int directive_local(struct parser *p, char *words[], size_t n) {
        if (n != 3 || strcmp(words[1], "stratum") != 0)
                return fail(p, "local takes \"stratum N\"");
        return set_unsigned(p, &p->config->local_stratum, "local stratum", words[2], 1, 15);
}

/* firewall client on|off server on|off (either or both) */
static int directive_firewall(struct parser *p, char *words[], size_t n) {
        struct config *c = p->config;
        if (n < 3 || n % 2 != 1)
                return fail(p, "firewall takes \"client on|off\" and/or \"server on|off\"");
        for (size_t i = 1; i < n; i += 2) {
                struct config_bool *b = strcmp(words[i], "client") == 0   ? &c->firewall_client
                                        : strcmp(words[i], "server") == 0 ? &c->firewall_server
                                                                          : NULL;
                if (!b || parse_on_off(words[i + 1], &b->value) < 0)
                        return fail(p, "firewall takes \"client on|off\" and/or \"server on|off\"");
                set_origin(&b->origin, p);
        }
        return 0;
}

static int set_path(struct parser *p, char *dst, struct config_origin *origin, const char *name, const char *value) {
        if (!value || !config_path_is_valid(value))
                return fail(p, "%s takes an absolute path without spaces, quotes or #, shorter than %d", name,
                            CONFIG_PATH_MAX);
        snprintf(dst, CONFIG_PATH_MAX, "%s", value);
        set_origin(origin, p);
        return 0;
}

/* nts enable|disable, nts cert FILE, nts key FILE, nts ca FILE|DIR (NTPsec's words) */
static int directive_nts(struct parser *p, char *words[], size_t n) {
        struct config *c = p->config;
        if (n == 2 && (strcmp(words[1], "enable") == 0 || strcmp(words[1], "disable") == 0)) {
                c->nts_enable.value = words[1][0] == 'e';
                set_origin(&c->nts_enable.origin, p);
                return 0;
        }
        if (n == 3 && strcmp(words[1], "cert") == 0)
                return set_path(p, c->nts_cert, &c->nts_cert_origin, "nts cert", words[2]);
        if (n == 3 && strcmp(words[1], "key") == 0)
                return set_path(p, c->nts_key, &c->nts_key_origin, "nts key", words[2]);
        if (n == 3 && strcmp(words[1], "ca") == 0)
                return set_path(p, c->nts_ca, &c->nts_ca_origin, "nts ca", words[2]);
        return fail(p, "nts takes enable, disable, \"cert FILE\", \"key FILE\" or \"ca FILE\"");
}

static int directive_clear(struct parser *p, char *words[], size_t n) {
        struct config *c = p->config;
        if (n == 2 && strcmp(words[1], "servers") == 0) {
                c->n_servers = 0;
                c->servers_replaced = true;
                return 0;
        }
        if (n == 2 && strcmp(words[1], "restrict") == 0) {
                c->n_restricts = 0;
                c->restricts_replaced = true;
                return 0;
        }
        return fail(p, "clear takes servers or restrict");
}

const char *config_rx_filter_to_string(enum config_rx_filter f) {
        static const char *const names[] = {
                [CONFIG_RX_FILTER_ANY] = "any", [CONFIG_RX_FILTER_ALL] = "all",
                [CONFIG_RX_FILTER_NTP] = "ntp", [CONFIG_RX_FILTER_NONE] = "none",
        };
        return (size_t) f < sizeof(names) / sizeof(names[0]) ? names[f] : "unknown";
}

static int parse_rx_filter(const char *word, enum config_rx_filter *ret) {
        for (enum config_rx_filter f = CONFIG_RX_FILTER_ANY; f <= CONFIG_RX_FILTER_NONE; f++)
                if (word && strcmp(word, config_rx_filter_to_string(f)) == 0) {
                        *ret = f;
                        return 0;
                }
        return -EINVAL;
}

/* What the kernel takes as an interface name: 1-15 characters, no '/', ':' or blank. */
static bool interface_name_is_valid(const char *name) {
        size_t n = strlen(name);
        if (n == 0 || n >= CONFIG_IFNAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (const char *c = name; *c; c++)
                if (*c <= ' ' || *c >= 0x7f || *c == '/' || *c == ':')
                        return false;
        return true;
}

static struct config_hwtimestamp *hwtimestamp_slot(struct config *c, const char *interface) {
        for (size_t i = 0; i < c->n_hwtimestamps; i++)
                if (strcmp(c->hwtimestamps[i].interface, interface) == 0)
                        return &c->hwtimestamps[i];
        return c->n_hwtimestamps < CONFIG_MAX_HWTIMESTAMP ? &c->hwtimestamps[c->n_hwtimestamps++] : NULL;
}

/* hwtimestamp IFACE|* [rxfilter any|all|ntp|none] [minpoll N] */
static int directive_hwtimestamp(struct parser *p, char *words[], size_t n) {
        struct config_hwtimestamp h = { .rx_filter = CONFIG_RX_FILTER_ANY };
        long minpoll;
        if (n < 2 || n % 2 != 0)
                return fail(p, "hwtimestamp takes an interface or *, then rxfilter and minpoll options");
        if (strcmp(words[1], "*") != 0 && !interface_name_is_valid(words[1]))
                return fail(p, "hwtimestamp: \"%.64s\" is not an interface name", words[1]);
        snprintf(h.interface, sizeof(h.interface), "%s", words[1]);
        for (size_t i = 2; i < n; i += 2) {
                if (strcmp(words[i], "rxfilter") == 0 && parse_rx_filter(words[i + 1], &h.rx_filter) == 0)
                        continue;
                if (strcmp(words[i], "minpoll") == 0 && parse_integer(words[i + 1], -6, 10, &minpoll) == 0) {
                        h.minpoll = (int8_t) minpoll;
                        continue;
                }
                return fail(p, "hwtimestamp: \"%.32s %.32s\" is not rxfilter any|all|ntp|none or minpoll -6..10",
                            words[i], words[i + 1]);
        }
        struct config_hwtimestamp *slot = hwtimestamp_slot(p->config, h.interface);
        if (!slot)
                return fail(p, "more than %d hwtimestamp lines", CONFIG_MAX_HWTIMESTAMP);
        set_origin(&h.origin, p);
        *slot = h;
        return 0;
}

static const char *const ignored_directives[] = {
        "logfile", "logconfig", "statsdir", "statistics", "filegen", "keys", "trustedkey",
        "requestkey", "controlkey", "disable", "enable", "leapfile", "includefile",
};

static bool is_ignored_directive(const char *w) {
        for (size_t i = 0; i < sizeof(ignored_directives) / sizeof(ignored_directives[0]); i++)
                if (strcmp(w, ignored_directives[i]) == 0)
                        return true;
        return false;
}

static int parse_words(struct parser *p, char *words[], size_t n) {
        struct config *c = p->config;
        if (n == 0)
                return 0;

        const char *w = words[0];
        if (strcmp(w, "server") == 0 || strcmp(w, "pool") == 0 || strcmp(w, "peer") == 0)
                return directive_server(p, words, n);
        if (strcmp(w, "restrict") == 0)
                return directive_restrict(p, words, n);
        if (strcmp(w, "driftfile") == 0)
                return directive_driftfile(p, words, n);
        if (strcmp(w, "tinker") == 0)
                return directive_tinker(p, words, n);
        if (strcmp(w, "tos") == 0)
                return directive_tos(p, words, n);
        if (strcmp(w, "minsources") == 0)
                return n == 2 ? set_unsigned(p, &c->min_sources, "minsources", words[1], 1, CONFIG_MAX_SERVERS)
                              : fail(p, "minsources takes one number");
        if (strcmp(w, "serve") == 0 && n == 3 && strcmp(words[1], "threads") == 0)
                return set_unsigned(p, &c->serve_threads, "serve threads", words[2], 1, CONFIG_MAX_SERVE_THREADS);
        if (strcmp(w, "serve") == 0)
                return set_bool(p, &c->serve, "serve", words, n);
        if (strcmp(w, "timesync1") == 0)
                return set_bool(p, &c->timesync1, "timesync1", words, n);
        if (strcmp(w, "local") == 0)
                return directive_local(p, words, n);
        if (strcmp(w, "firewall") == 0)
                return directive_firewall(p, words, n);
        if (strcmp(w, "clear") == 0)
                return directive_clear(p, words, n);
        if (strcmp(w, "nts") == 0)
                return directive_nts(p, words, n);
        if (strcmp(w, "hwtimestamp") == 0)
                return directive_hwtimestamp(p, words, n);
        if (is_ignored_directive(w)) {
                warn(p, "%s accepted but has no effect", w);
                return 0;
        }
        return fail(p, "unknown directive \"%.64s\"", w);
}

/* A line the tokenizer refused: its line, where the problem is, and the column. */
static int fail_words(struct parser *p, const struct conf_words_error *error) {
        char what[CONFIG_MESSAGE_MAX];
        conf_words_error_format(error, what, sizeof(what));
        p->line = error->line;
        return fail(p, "%s", what);
}

int config_parse(struct config *c, const char *file, const char *text, size_t len, struct config_error *ret_error) {
        return config_parse_layer(c, CONFIG_LAYER_FILES, file, text, len, ret_error);
}

int config_parse_layer(struct config *c, enum config_layer layer, const char *file, const char *text, size_t len,
                       struct config_error *ret_error) {
        struct parser p = { .config = c, .layer = layer, .file = file ? file : "(input)", .error = ret_error };
        struct conf_words_reader reader;
        struct conf_words words;
        struct conf_words_error error;
        int r;

        conf_words_reader_init(&reader, text, len, &file_syntax);
        while ((r = conf_words_read(&reader, &words, &error)) > 0) {
                /* A continued line's settings come from the line it starts on. */
                p.line = words.line;
                r = parse_words(&p, words.word, words.n);
                if (r < 0)
                        return r;
        }
        return r < 0 ? fail_words(&p, &error) : 0;
}

int config_check(const struct config *c, struct config_error *ret_error) {
        if (!c->nts_enable.value || (c->nts_cert[0] && c->nts_key[0]))
                return 0;
        snprintf(ret_error->message, sizeof(ret_error->message), "%s:%u: nts enable needs \"nts cert FILE\" and "
                 "\"nts key FILE\"", c->nts_enable.origin.file, c->nts_enable.origin.line);
        return -EINVAL;
}

/* ---- dump ---- */

__attribute__((format(printf, 4, 5))) static void emitf(void (*emit_line)(void *, const char *), void *userdata,
                                                     const struct config_origin *o, const char *fmt, ...) {
        char text[CONFIG_MESSAGE_MAX], line[CONFIG_MESSAGE_MAX + CONFIG_FILE_MAX + 32];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (o->file[0])
                snprintf(line, sizeof(line), "%-48s # %s:%u", text, o->file, o->line);
        else
                snprintf(line, sizeof(line), "%-48s # default", text);
        emit_line(userdata, line);
}

void config_dump(const struct config *c, void (*emit_line)(void *userdata, const char *line), void *userdata) {
        char buf[CONFIG_MESSAGE_MAX];

        for (size_t i = 0; i < c->n_servers; i++) {
                config_server_format(&c->servers[i], buf, sizeof(buf));
                emitf(emit_line, userdata, &c->servers[i].origin, "%s", buf);
        }
        for (size_t i = 0; i < c->n_restricts; i++) {
                restrict_rule_format(&c->restricts[i].rule, buf, sizeof(buf));
                emitf(emit_line, userdata, &c->restricts[i].origin, "restrict %s", buf);
        }
        if (c->driftfile[0])
                emitf(emit_line, userdata, &c->driftfile_origin, "driftfile %s", c->driftfile);
        emitf(emit_line, userdata, &c->step_threshold.origin, "tinker step %g", c->step_threshold.value);
        emitf(emit_line, userdata, &c->panic_threshold.origin, "tinker panic %g", c->panic_threshold.value);
        emitf(emit_line, userdata, &c->stepout.origin, "tinker stepout %g", c->stepout.value);
        emitf(emit_line, userdata, &c->min_sources.origin, "tos minsane %u", c->min_sources.value);
        emitf(emit_line, userdata, &c->min_distance.origin, "tos mindist %g", c->min_distance.value);
        emitf(emit_line, userdata, &c->max_distance.origin, "tos maxdist %g", c->max_distance.value);
        if (c->serve.origin.file[0])
                emitf(emit_line, userdata, &c->serve.origin, "serve %s", c->serve.value ? "on" : "off");
        else
                /* The daemon serves on sockets that systemd passes (ntpsyncd.socket) unless told not to. */
                emit_line(userdata, "serve off                                        # default; on when systemd "
                                    "passes sockets (ntpsyncd.socket)");
        if (c->serve_threads.value)
                emitf(emit_line, userdata, &c->serve_threads.origin, "serve threads %u", c->serve_threads.value);
        else
                emit_line(userdata, "# serve threads: by default one per CPU the daemon may run on");
        if (c->local_stratum.value)
                emitf(emit_line, userdata, &c->local_stratum.origin, "local stratum %u", c->local_stratum.value);
        emitf(emit_line, userdata, &c->timesync1.origin, "timesync1 %s", c->timesync1.value ? "on" : "off");
        emitf(emit_line, userdata, &c->firewall_client.origin, "firewall client %s",
              c->firewall_client.value ? "on" : "off");
        emitf(emit_line, userdata, &c->firewall_server.origin, "firewall server %s",
              c->firewall_server.value ? "on" : "off");
        emitf(emit_line, userdata, &c->nts_enable.origin, "nts %s", c->nts_enable.value ? "enable" : "disable");
        if (c->nts_cert[0])
                emitf(emit_line, userdata, &c->nts_cert_origin, "nts cert %s", c->nts_cert);
        if (c->nts_key[0])
                emitf(emit_line, userdata, &c->nts_key_origin, "nts key %s", c->nts_key);
        if (c->nts_ca[0])
                emitf(emit_line, userdata, &c->nts_ca_origin, "nts ca %s", c->nts_ca);
        for (size_t i = 0; i < c->n_hwtimestamps; i++) {
                const struct config_hwtimestamp *h = &c->hwtimestamps[i];
                emitf(emit_line, userdata, &h->origin, "hwtimestamp %s rxfilter %s minpoll %d", h->interface,
                      config_rx_filter_to_string(h->rx_filter), h->minpoll);
        }
}

/* ---- overrides ---- */

struct text_buffer {
        char *buf;
        size_t size, used;
        bool overflow;
};

__attribute__((format(printf, 2, 3))) static void append(struct text_buffer *t, const char *fmt, ...) {
        va_list ap;
        if (t->overflow)
                return;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->used, t->size - t->used, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= t->size - t->used)
                t->overflow = true;
        else
                t->used += (size_t) n;
}

int config_overrides_format(const struct config_overrides *o, char *buf, size_t size) {
        struct text_buffer t = { .buf = buf, .size = size };
        char line[CONFIG_MAX_LINE];

        if (size == 0)
                return -ENOBUFS;
        buf[0] = '\0';
        if (o->has_servers) {
                append(&t, "clear servers\n");
                for (size_t i = 0; i < o->n_servers; i++) {
                        config_server_format(&o->servers[i], line, sizeof(line));
                        append(&t, "%s\n", line);
                }
        }
        if (o->has_restricts) {
                append(&t, "clear restrict\n");
                for (size_t i = 0; i < o->n_restricts; i++) {
                        restrict_rule_format(&o->restricts[i], line, sizeof(line));
                        append(&t, "restrict %s\n", line);
                }
        }
        if (o->has_serve)
                append(&t, "serve %s\n", o->serve ? "on" : "off");
        if (o->has_firewall)
                append(&t, "firewall client %s server %s\n", o->firewall_client ? "on" : "off",
                       o->firewall_server ? "on" : "off");
        if (o->has_nts) {
                append(&t, "nts %s\n", o->nts_enable ? "enable" : "disable");
                if (o->nts_cert[0])
                        append(&t, "nts cert %s\n", o->nts_cert);
                if (o->nts_key[0])
                        append(&t, "nts key %s\n", o->nts_key);
        }
        return t.overflow ? -ENOBUFS : (int) t.used;
}

void config_overrides_from(const struct config *c, struct config_overrides *ret) {
        memset(ret, 0, sizeof(*ret));
        ret->has_servers = c->servers_replaced;
        if (ret->has_servers) {
                ret->n_servers = c->n_servers;
                memcpy(ret->servers, c->servers, c->n_servers * sizeof(c->servers[0]));
        }
        ret->has_restricts = c->restricts_replaced;
        if (ret->has_restricts) {
                ret->n_restricts = c->n_restricts;
                for (size_t i = 0; i < c->n_restricts; i++)
                        ret->restricts[i] = c->restricts[i].rule;
        }
        ret->has_serve = c->serve.origin.file[0] != '\0';
        ret->serve = c->serve.value;
        ret->has_firewall = c->firewall_client.origin.file[0] != '\0' || c->firewall_server.origin.file[0] != '\0';
        ret->firewall_client = c->firewall_client.value;
        ret->firewall_server = c->firewall_server.value;
        ret->has_nts = c->nts_enable.origin.layer != CONFIG_LAYER_DEFAULT;
        ret->nts_enable = c->nts_enable.value;
        memcpy(ret->nts_cert, c->nts_cert, sizeof(ret->nts_cert));
        memcpy(ret->nts_key, c->nts_key, sizeof(ret->nts_key));
}

bool config_path_is_valid(const char *path) {
        size_t len = strnlen(path, CONFIG_PATH_MAX);
        if (len == 0 || len >= CONFIG_PATH_MAX || path[0] != '/')
                return false;
        for (const char *c = path; *c; c++)
                if (*c <= ' ' || *c >= 0x7f || *c == '"' || *c == '\'' || *c == '#' || *c == '\\')
                        return false;
        return true;
}
