#pragma once

/* The host firewall state for NTP: whether NTP client traffic (to port 123 and its replies) and
 * NTP service traffic (to our port 123) pass, and which client networks `restrict … ignore`
 * shuts out already in the kernel.
 *
 * Backends, chosen automatically (firewall_new(), firewall_set_bus()) and reported:
 *
 *   firewalld  when org.fedoraproject.FirewallD1 is on the system bus: the "ntp" service in the
 *              default zone, runtime and permanent. firewalld zones filter incoming traffic
 *              only: outgoing NTP (client) traffic and its replies always pass, and restrict
 *              `ignore` prefixes are left to ntpsyncd's own ACL (both said in the warning).
 *   nftables   through ntpsyncd-firewall-helper (libnftables), in a table of its own,
 *              `table inet ntpsync`, replaced atomically on every apply, removed by
 *              firewall_remove(); no other table is ever changed.
 *   none       neither (no CAP_NET_ADMIN, no helper, no nf_tables): the reason says why.
 *
 * Semantics in nftables. A packet passes only if every base chain on its hook accepts it, so an
 * accept in one table cannot override a drop in another. Hence:
 *   on   explicit counted `accept` rules (udp dport 123 for the server; udp dport 123 out plus
 *        the replies, `udp sport 123 ct state established,related`, for the client). Another
 *        table that would still drop that traffic (policy drop without an accept for it, or an
 *        explicit drop) is reported in the warning of firewall_read().
 *   off  explicit counted `drop` rules for the same traffic (udp dport 123 in input for the
 *        server, udp dport 123 in output for the client), so that "off" holds on a host with no
 *        other firewall too. Replies of our own server (udp sport 123, established) still leave.
 *   ignore  client addresses whose most specific restrict rule has `ignore` (defaults included,
 *        more specific rules without `ignore` cut out again; `ntpport` rules only ever cut out)
 *        are compiled into interval sets ignored4/ignored6 and dropped before the accepts: the
 *        kernel drops a subset of what the ACL ignores, never more.
 * Every apply replaces the table, so its counters start again from zero.
 * firewall_free() leaves the kernel state alone: it outlives the daemon, as an opened firewall
 * port always did.
 *
 * Privileges: see firewall_new() and firewall_drop_privileges(). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "restrict.h"

#define FIREWALL_WARNING_MAX 1024
#define FIREWALL_REASON_MAX 256
#define FIREWALL_ZONE_MAX 64
/* Where the helper is installed; the environment variable NTPSYNCD_FIREWALL_HELPER overrides it
 * (tests, running from the build directory). */
#define FIREWALL_HELPER_ENV "NTPSYNCD_FIREWALL_HELPER"
/* The socket of a helper started by systemd, used when the daemon has no CAP_NET_ADMIN. */
#define FIREWALL_SOCKET_ENV "NTPSYNCD_FIREWALL_SOCKET"
#define FIREWALL_MAX_RANGES 1024

struct firewall;

enum firewall_backend {
        FIREWALL_BACKEND_NONE,
        FIREWALL_BACKEND_NFTABLES,
        FIREWALL_BACKEND_FIREWALLD,
};

struct firewall_request {
        bool client;                 /* NTP client traffic allowed */
        bool server;                 /* NTP service traffic allowed */
        const struct restrict_set *restricts; /* rules with `ignore` become drops; NULL: none */
};

/* What the kernel (or firewalld) holds, read back. */
struct firewall_state {
        enum firewall_backend backend;
        const char *backend_name;    /* "firewalld", "nftables" or "none" (static text) */
        bool installed;              /* nftables: table inet ntpsync exists; firewalld: ntp in the zone */
        bool client, server;         /* allowed by ntpsync's part of the firewall */
        bool conntrack;              /* nftables: replies matched with ct state */
        bool permanent;              /* firewalld: ntp in the permanent configuration of the zone */
        unsigned n_ignored;          /* nftables: elements in ignored4 + ignored6 */
        uint64_t ignored_packets;    /* nftables: packets dropped for restrict ignore */
        pid_t helper_pid;            /* nftables: the helper process, 0 without */
        char zone[FIREWALL_ZONE_MAX]; /* firewalld: the zone in use */
        char warning[FIREWALL_WARNING_MAX]; /* e.g. "table inet filter chain input drops udp port
                                              * 123 (policy drop)"; "" when nothing is in the way */
        char reason[FIREWALL_REASON_MAX];   /* backend "none": why */
};

/* One address range to drop (network byte order, whole addresses; AF_INET in bytes 0..3). */
struct firewall_range {
        int family;
        uint8_t start[16];
        uint8_t end[16];
};

/* Chooses the backend: firewalld when bus (may be NULL) has it; else, with CAP_NET_ADMIN, starts
 * the helper (fork + exec of ntpsyncd-firewall-helper, which keeps only CAP_NET_ADMIN) and asks
 * it whether nf_tables works; else "none". Call it before firewall_drop_privileges() and before
 * the daemon starts any thread. Fails only on allocation failure: a missing backend is "none". */
int firewall_new(sd_event *e, sd_bus *system_bus, struct firewall **ret);

/* Looks for firewalld on bus (the daemon opens the bus after firewall_new()): when it is there,
 * switches to it and stops the helper. Returns 1 when the backend changed, 0 when not. */
int firewall_set_bus(struct firewall *f, sd_bus *system_bus);

/* Makes the firewall hold want, atomically (nftables: one transaction; firewalld: runtime then
 * permanent, the runtime change undone when the permanent one fails). -EOPNOTSUPP for backend
 * none, -E2BIG when the ignore prefixes need more than FIREWALL_MAX_RANGES ranges; other
 * negative errnos with firewall_last_error() saying what went wrong. Nothing changes on error. */
int firewall_apply(struct firewall *f, const struct firewall_request *want);

/* Reads back what the kernel (or firewalld) holds. Backend none: 0, with the reason. */
int firewall_read(struct firewall *f, struct firewall_state *ret);

/* Removes table inet ntpsync (nftables), or the "ntp" service where this process added it
 * (firewalld); nothing else. Idempotent. */
int firewall_remove(struct firewall *f);

struct firewall *firewall_free(struct firewall *f);

enum firewall_backend firewall_backend(const struct firewall *f);
const char *firewall_backend_to_string(enum firewall_backend b);

/* The text of the last error of firewall_apply/read/remove ("" when none). */
const char *firewall_last_error(const struct firewall *f);

/* Drops CAP_NET_ADMIN from this process's (this thread's and threads created later)
 * effective, permitted, inheritable, ambient and bounding sets. Call once after firewall_new()
 * and before starting threads; the bounding set needs CAP_SETPCAP (without it, a debug message:
 * permitted is what counts). 0 when CAP_NET_ADMIN is gone from effective and permitted. */
int firewall_drop_privileges(void);

/* Compiles the `ignore` rules of s into sorted, disjoint ranges (AF_INET first), as
 * firewall_apply() does; ret has room for max. -E2BIG when more are needed. Pure. */
int firewall_compile_ignored(const struct restrict_set *s, struct firewall_range *ret, size_t max,
                             size_t *ret_n);
