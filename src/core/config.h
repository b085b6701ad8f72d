/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The configuration model and its parser, in the ntp.conf dialect:
 *
 *     server ntp1.example.org iburst prefer minpoll 4 maxpoll 8
 *     pool pool.example.org iburst maxsources 4
 *     restrict default kod limited nomodify notrap nopeer noquery
 *     restrict 127.0.0.1
 *     driftfile /var/lib/ntpsyncd/drift
 *     tinker step 0.128 panic 1000 stepout 300
 *     tos minsane 2
 *     serve on
 *     local stratum 10
 *     timesync1 off
 *     firewall client on server off
 *     clear servers
 *
 * Words are split as conf-words.h says: blanks between them, "..." for one that holds blanks or
 * '#', '#' for a comment, a trailing backslash to continue on the next line.
 * `clear servers` and `clear restrict` empty the lists collected so far: the daemon's own
 * settings file, read after the files in /etc, starts with them to replace those lists.
 * Parsing is pure: the daemon reads the files and hands their text over. Every setting remembers
 * the file and line it came from. A file with an error is refused whole: the parser works on the
 * caller's copy, which the caller throws away on error. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "restrict.h"

#define CONFIG_MAX_SERVERS 128
#define CONFIG_MAX_RESTRICTS 256
#define CONFIG_MAX_SERVE_THREADS 16
#define CONFIG_MAX_LINE 1024
#define CONFIG_HOST_MAX 254          /* a DNS name's 253 characters and the NUL */
#define CONFIG_PATH_MAX 1024
#define CONFIG_CA_MAX 256            /* a server line's `ca` path */
#define CONFIG_FILE_MAX 256
#define CONFIG_MAX_WARNINGS 32
#define CONFIG_MESSAGE_MAX 512
#define CONFIG_POOL_DEFAULT_SOURCES 4
#define CONFIG_MAX_HWTIMESTAMP 64
#define CONFIG_IFNAME_MAX 16         /* IFNAMSIZ: 15 characters and the NUL */

/* Where a setting comes from, lowest first: a later layer's setting replaces an earlier one's. */
enum config_layer {
        CONFIG_LAYER_DEFAULT,        /* built in */
        CONFIG_LAYER_TIMESYNCD,      /* systemd-timesyncd's NTP= and FallbackNTP= (timesyncd-conf.h) */
        CONFIG_LAYER_FILES,          /* the configuration files */
        CONFIG_LAYER_PERSISTED,      /* set over D-Bus, kept in the state directory */
        CONFIG_LAYER_RUNTIME,        /* set over D-Bus until the next start */
};

/* "default", "timesyncd", "files", "persisted", "runtime". */
const char *config_layer_to_string(enum config_layer layer);

struct config_origin {
        enum config_layer layer;
        char file[CONFIG_FILE_MAX];  /* "" for the built-in default */
        unsigned line;
};

struct config_server {
        char host[CONFIG_HOST_MAX];
        bool pool;
        bool iburst, prefer, noselect;
        bool xleave;                 /* interleaved mode requests (falls back to basic by itself) */
        int8_t minpoll, maxpoll;     /* 0 when not given */
        unsigned maxsources;         /* pool only */
        bool nts;                    /* authenticated with NTS (RFC 8915), never without */
        bool noval;                  /* nts: no certificate checks (tests only) */
        uint16_t port;               /* nts: the NTS-KE port; 0: NTS_KE_PORT */
        char ca[CONFIG_CA_MAX];      /* nts: trust anchors, a PEM file or a directory; "": the system's */
        struct config_origin origin;
};

struct config_restrict {
        struct restrict_rule rule;
        struct config_origin origin;
};

/* Which received packets the NIC timestamps (chrony's rxfilter): any tries ntp, then all. */
enum config_rx_filter {
        CONFIG_RX_FILTER_ANY,
        CONFIG_RX_FILTER_ALL,
        CONFIG_RX_FILTER_NTP,
        CONFIG_RX_FILTER_NONE,       /* transmit timestamps only */
};

const char *config_rx_filter_to_string(enum config_rx_filter f);

/* hwtimestamp IFACE|* [rxfilter any|all|ntp|none] [minpoll N] (chrony's directive; "*" is every
 * interface that has hardware timestamping). */
struct config_hwtimestamp {
        char interface[CONFIG_IFNAME_MAX];
        enum config_rx_filter rx_filter;
        int8_t minpoll;              /* log2 s between PHC readings */
        struct config_origin origin;
};

struct config_double {
        double value;
        struct config_origin origin;
};

struct config_unsigned {
        unsigned value;
        struct config_origin origin;
};

struct config_bool {
        bool value;
        struct config_origin origin;
};

struct config {
        struct config_server servers[CONFIG_MAX_SERVERS];
        size_t n_servers;
        struct config_restrict restricts[CONFIG_MAX_RESTRICTS];
        size_t n_restricts;
        char driftfile[CONFIG_PATH_MAX];
        struct config_origin driftfile_origin;
        struct config_double step_threshold, panic_threshold, stepout;
        struct config_unsigned min_sources;
        struct config_double min_distance, max_distance; /* tos mindist, tos maxdist */
        struct config_bool serve;
        struct config_unsigned serve_threads; /* 0: as many as the CPUs the daemon may run on */
        struct config_unsigned local_stratum; /* 0: none */
        struct config_bool timesync1;
        struct config_bool firewall_client, firewall_server;
        /* NTS-KE service: `nts enable`, `nts cert FILE` (PEM, full chain), `nts key FILE`; `nts ca`
         * is the trust anchors of `server … nts` lines without their own `ca`. */
        struct config_bool nts_enable;
        char nts_cert[CONFIG_PATH_MAX], nts_key[CONFIG_PATH_MAX], nts_ca[CONFIG_PATH_MAX];
        struct config_origin nts_cert_origin, nts_key_origin, nts_ca_origin;
        struct config_hwtimestamp hwtimestamps[CONFIG_MAX_HWTIMESTAMP]; /* a later line for a name replaces */
        size_t n_hwtimestamps;
        bool servers_replaced, restricts_replaced; /* a `clear` was read */
        char warnings[CONFIG_MAX_WARNINGS][CONFIG_MESSAGE_MAX];
        size_t n_warnings;
};

struct config_error {
        char message[CONFIG_MESSAGE_MAX]; /* "FILE:LINE: what is wrong", "... (column N)" for a malformed line */
};

void config_init(struct config *c);

/* Parses one file's text into c. On error returns -EINVAL and fills *ret_error; c is then
 * half-updated and must be thrown away. Warnings (accepted directives without effect) are
 * appended to c->warnings. */
int config_parse(struct config *c, const char *file, const char *text, size_t len, struct config_error *ret_error);
/* The same for a layer above the files (what D-Bus set): the settings' origins say which. */
int config_parse_layer(struct config *c, enum config_layer layer, const char *file, const char *text, size_t len,
                       struct config_error *ret_error);

/* What only the whole configuration can tell, after every file: `nts enable` needs `nts cert`
 * and `nts key`. -EINVAL with the place of the line that asks. */
int config_check(const struct config *c, struct config_error *ret_error);

/* One server spec as D-Bus takes it: "server HOST [options]", "pool HOST [options]" or a bare
 * "HOST" (a server with iburst). ret_error is a static text. */
int config_parse_server_spec(const char *spec, struct config_server *ret, const char **ret_error);

/* The canonical spec of a server, as config_parse_server_spec() reads it back. */
void config_server_format(const struct config_server *s, char *buf, size_t size);

/* What D-Bus changed: each part, when present, replaces what the files say. */
struct config_overrides {
        bool has_servers;
        struct config_server servers[CONFIG_MAX_SERVERS];
        size_t n_servers;
        bool has_restricts;
        struct restrict_rule restricts[CONFIG_MAX_RESTRICTS];
        size_t n_restricts;
        bool has_serve, serve;
        bool has_firewall, firewall_client, firewall_server;
        bool has_nts, nts_enable;    /* serving NTS; a cert or key of "" leaves the files' one */
        char nts_cert[CONFIG_PATH_MAX], nts_key[CONFIG_PATH_MAX];
};

/* Whether a path can be a setting's value: absolute, printable, one word (no spaces, quotes or
 * comment signs), shorter than CONFIG_PATH_MAX. */
bool config_path_is_valid(const char *path);

/* The text of overrides in the configuration dialect, for config_parse() to read back after the
 * files. Returns the length, or -ENOBUFS when buf is too small. */
int config_overrides_format(const struct config_overrides *o, char *buf, size_t size);

/* The overrides a parsed settings file holds. */
void config_overrides_from(const struct config *c, struct config_overrides *ret);

/* A server line's minpoll and maxpoll with the one not given filled in (0 and 0: both defaults). */
void config_server_poll_range(const struct config_server *s, int8_t *ret_min, int8_t *ret_max);

/* The least minpoll and the greatest maxpoll (log2 s) of the configured servers, defaults
 * filled in as the engine fills them; the defaults when there are no servers. */
void config_poll_limits(const struct config *c, int8_t *ret_min, int8_t *ret_max);

/* Whether text is a usable host name or address literal. */
bool config_host_is_valid(const char *host);

/* The effective configuration with the origin of each setting, one line at a time. */
void config_dump(const struct config *c, void (*emit_line)(void *userdata, const char *line), void *userdata);
