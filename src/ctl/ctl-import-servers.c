/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The import's server, pool and peer lines, and the model of servers that step-tickers adds to.
 * See ctl-import-internal.h. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/config.h"
#include "ctl-import-internal.h"
#include "ctl-util.h"
#include "core/poll.h"

#define LOCAL_CLOCK "ntpd's local clock (server 127.127.1.0, fudge)"

bool import_is_refclock_address(const char *host, unsigned *ret_driver) {
        uint8_t a[4];
        if (inet_pton(AF_INET, host, a) != 1 || a[0] != 127 || a[1] != 127)
                return false;
        *ret_driver = a[2];
        return true;
}

int importer_warn_refclock(struct importer *imp, unsigned driver) {
        if (driver != REFCLOCK_LOCAL_DRIVER)
                return importer_warn(imp, WARN_LINES_IGNORED, "ntpsyncd has no reference clock drivers",
                                     "a reference clock (server 127.127.T.U, fudge, refclock)");
        int r = importer_warn(imp, WARN_LINES_IGNORED, "ntpsyncd has no local-clock driver", LOCAL_CLOCK);
        if (r == 0)
                importer_find_warning(imp, LOCAL_CLOCK)->local_clock = true;
        return r;
}

static const char *const server_option_reasons[][3] = {
        /* name, "value" if it takes one, why ntpsyncd does without */
        { "burst", NULL, "ntpsyncd sends bursts only at start and on recovery, with iburst" },
        { "true", NULL, "ntpsyncd never exempts a source from selection" },
        { "preempt", NULL, "ntpsyncd keeps every configured source" },
        { "key", "value", "ntpsyncd has no symmetric-key authentication" },
        { "autokey", NULL, "ntpsyncd has no Autokey" },
        { "aead", "value", "ntpsyncd uses AES-SIV-CMAC-256, the algorithm every NTS implementation has" },
        { "version", "value", "ntpsyncd speaks NTPv4" },
        { "mode", "value", "ntpsyncd has no reference clock drivers" },
        { "ttl", "value", "ntpsyncd has no manycast or broadcast" },
        { "bias", "value", "ntpsyncd has no per-source offset correction" },
        { "-4", NULL, "ntpsyncd uses the addresses of either family that the name has" },
        { "-6", NULL, "ntpsyncd uses the addresses of either family that the name has" },
};

static const char *const *find_server_option(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(server_option_reasons); i++)
                if (streq(server_option_reasons[i][0], name))
                        return server_option_reasons[i];
        return NULL;
}

/* ntpd clamps minpoll and maxpoll into 3..17 as ntpsyncd's parser wants them; so do we. */
static int read_poll_option(struct importer *imp, const char *name, const char *value, int8_t *ret) {
        char *end = NULL;
        errno = 0;
        long v = value ? strtol(value, &end, 10) : 0;
        if (!value || errno != 0 || end == value || *end != '\0')
                return importer_fail(imp, "%s takes a number", name);
        if (v < POLL_LIMIT_MIN || v > POLL_LIMIT_MAX) {
                v = v < POLL_LIMIT_MIN ? POLL_LIMIT_MIN : POLL_LIMIT_MAX;
                int r = importer_warn(imp, WARN_CHANGED, "as ntpd does", "server option '%s' is clamped into 3..17",
                                      name);
                if (r < 0)
                        return r;
        }
        *ret = (int8_t) v;
        return 0;
}

/* NTS-KE ports: "port N", and NTPsec's HOST:PORT. */
static int parse_port(const char *value, uint16_t *ret) {
        char *end = NULL;
        errno = 0;
        long v = value ? strtol(value, &end, 10) : 0;
        if (!value || errno != 0 || end == value || *end != '\0' || v < 1 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

/* ca FILE|DIR: what ntpsyncd's parser would refuse is left out with a warning; the system's
 * trust anchors apply then, which fails safe (a certificate they do not cover is refused). */
static int read_ca_option(struct importer *imp, const char *value, struct config_server *s) {
        if (!value)
                return importer_fail(imp, "server option ca takes a file or directory");
        if (!config_path_is_valid(value) || strlen(value) >= CONFIG_CA_MAX)
                return importer_warn(imp, WARN_PART_DROPPED,
                                     "ntpsyncd takes an absolute path without spaces, quotes or #, shorter than 256",
                                     "server option 'ca' with this path");
        snprintf(s->ca, sizeof(s->ca), "%s", value);
        return 0;
}

/* ntpsyncd's parser refuses ca, noval and port on a line without nts. */
static int drop_nts_only_options(struct importer *imp, struct config_server *s) {
        const char *given[3];
        size_t n = 0;

        if (s->ca[0])
                given[n++] = "ca";
        if (s->noval)
                given[n++] = "noval";
        if (s->port)
                given[n++] = "port";
        s->ca[0] = '\0';
        s->noval = false;
        s->port = 0;
        for (size_t i = 0; i < n; i++) {
                int r = importer_warn(imp, WARN_PART_DROPPED, "it applies to NTS, and the line has no 'nts'",
                                      "server option '%s' without 'nts'", given[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_dropped_server_option(struct importer *imp, char **words, size_t n, size_t *i) {
        char name[DISPLAY_SIZE];
        const char *const *known = find_server_option(words[*i]);

        import_display(words[*i], name, sizeof(name));
        if (known && known[1]) {
                if (*i + 1 >= n)
                        return importer_fail(imp, "server option %s takes a value", name);
                (*i)++;
        }
        return importer_warn(imp, WARN_PART_DROPPED, known ? known[2] : "ntpd has no such server option",
                             "server option '%s'", name);
}

static int read_server_options(struct importer *imp, char **words, size_t n, struct config_server *s) {
        for (size_t i = 0; i < n; i++) {
                const char *w = words[i];
                int r = 0;

                if (streq(w, "iburst"))
                        s->iburst = true;
                else if (streq(w, "prefer"))
                        s->prefer = true;
                else if (streq(w, "noselect"))
                        s->noselect = true;
                else if (streq(w, "xleave"))
                        s->xleave = true;
                else if (streq(w, "minpoll") || streq(w, "maxpoll")) {
                        r = read_poll_option(imp, w, i + 1 < n ? words[i + 1] : NULL,
                                             streq(w, "minpoll") ? &s->minpoll : &s->maxpoll);
                        i++;
                } else if (streq(w, "nts"))
                        s->nts = true;
                else if (streq(w, "noval"))
                        s->noval = true;
                else if (streq(w, "ca")) {
                        r = read_ca_option(imp, i + 1 < n ? words[i + 1] : NULL, s);
                        i++;
                } else if (streq(w, "port")) {
                        if (parse_port(i + 1 < n ? words[i + 1] : NULL, &s->port) < 0)
                                return importer_fail(imp, "server option port takes a number from 1 to 65535");
                        i++;
                } else
                        r = read_dropped_server_option(imp, words, n, &i);
                if (r < 0)
                        return r;
        }
        if (!s->nts) {
                int r = drop_nts_only_options(imp, s);
                if (r < 0)
                        return r;
        }
        if (s->minpoll && s->maxpoll && s->minpoll > s->maxpoll) {
                s->minpoll = s->maxpoll = 0;
                return importer_warn(imp, WARN_CHANGED, "minpoll was above maxpoll; ntpsyncd's defaults apply",
                                     "server options 'minpoll' and 'maxpoll'");
        }
        return 0;
}

struct server_item *importer_find_server(struct importer *imp, const char *host, bool any_kind, bool pool) {
        for (size_t i = 0; i < imp->n_servers; i++) {
                struct config_server *s = &imp->servers[i].server;
                if ((any_kind || s->pool == pool) && strcasecmp(s->host, host) == 0)
                        return &imp->servers[i];
        }
        return NULL;
}

/* ntpsyncd's parser refuses a host named twice, and takes at most CONFIG_MAX_SERVERS. */
int importer_add_server(struct importer *imp, const struct config_server *s, const char *note) {
        if (importer_find_server(imp, s->host, false, s->pool))
                return importer_warn(imp, WARN_LINES_IGNORED, "ntpsyncd takes each once; the first is kept",
                                     "a server or pool named again");
        if (imp->n_servers >= CONFIG_MAX_SERVERS)
                return importer_warn(imp, WARN_LINES_IGNORED, "ntpsyncd takes no more",
                                     "servers and pools beyond the %dth", CONFIG_MAX_SERVERS);
        imp->servers[imp->n_servers++] = (struct server_item) { .server = *s, .origin = imp->at, .note = note };
        return 0;
}

/* NTPsec names the NTS-KE port with the host: HOST:PORT, [ADDRESS]:PORT, or [ADDRESS] alone.
 * *ret_port is 0 when there is none. -EINVAL for a word that is none of these. */
static int split_host_port(const char *word, char *host, size_t size, uint16_t *ret_port) {
        const char *colon, *end;

        *ret_port = 0;
        if (word[0] == '[') {
                end = strchr(word, ']');
                if (!end || (end[1] != '\0' && end[1] != ':'))
                        return -EINVAL;
                colon = end[1] == ':' ? end + 1 : NULL;
                word++;
        } else {
                /* More than one colon: an IPv6 address without a port. */
                colon = strchr(word, ':');
                if (colon && strchr(colon + 1, ':'))
                        colon = NULL;
                end = colon ? colon : word + strlen(word);
        }
        if (colon && parse_port(colon + 1, ret_port) < 0)
                return -EINVAL;
        if ((size_t) (end - word) >= size)
                return -EINVAL;
        snprintf(host, size, "%.*s", (int) (end - word), word);
        return 0;
}

/* The port of HOST:PORT is an NTS-KE port: "port N" when the line has nts (a port option of its
 * own wins), else it is dropped. */
static int apply_host_port(struct importer *imp, uint16_t port, struct config_server *s) {
        if (port == 0)
                return 0;
        if (!s->nts)
                return importer_warn(imp, WARN_PART_DROPPED, "NTPsec reads it as the NTS-KE port, and the line has "
                                     "no 'nts'; ntpsyncd polls NTP's port 123", "the port of HOST:PORT");
        if (s->port == 0)
                s->port = port;
        return 0;
}

/* server|pool|peer [-4|-6] HOST[:PORT] [options] */
int importer_handle_server(struct importer *imp, char **words, size_t n) {
        struct config_server s = { .pool = streq(words[0], "pool") };
        bool peer = streq(words[0], "peer");
        size_t i = 1;
        unsigned driver;
        uint16_t port;
        int r;

        for (; i < n && (streq(words[i], "-4") || streq(words[i], "-6")); i++)
                if ((r = read_dropped_server_option(imp, words, n, &i)) < 0)
                        return r;
        if (i >= n)
                return importer_fail(imp, "%s needs a host name or address", words[0]);
        if (split_host_port(words[i], s.host, sizeof(s.host), &port) < 0 || !config_host_is_valid(s.host)) {
                char host[DISPLAY_SIZE];
                import_display(words[i], host, sizeof(host));
                return importer_fail(imp, "%s: '%s' is not a valid host name or address", words[0], host);
        }
        if (import_is_refclock_address(s.host, &driver))
                return importer_warn_refclock(imp, driver);
        if (s.pool)
                s.maxsources = CONFIG_POOL_DEFAULT_SOURCES;
        if ((r = read_server_options(imp, words + i + 1, n - i - 1, &s)) < 0)
                return r;
        if ((r = apply_host_port(imp, port, &s)) < 0)
                return r;
        if (peer && (r = importer_warn(imp, WARN_CHANGED,
                                       "ntpsyncd has no symmetric mode; it polls the peer as a server",
                                       "'peer' is carried over as 'server'")) < 0)
                return r;
        return importer_add_server(imp, &s, peer ? "was: peer" : NULL);
}

