/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The host firewall state for NTP: whether NTP client traffic (to port 123 and its replies) and
 * NTP service traffic (to our port 123, and to TCP port 4460 for NTS key establishment when NTS is
 * served) pass, and which client networks `restrict … ignore` shuts out already in the kernel.
 *
 * NTS-KE (TCP 4460) is part of NTP service traffic when NTS is served (`nts enable`, SetNts:
 * request.nts_ke): "server on" lets it in, "server off" drops it, as for udp 123 — an
 * administrator who turns the time service off expects all of it to be off. Without `nts enable`
 * ntpsync never touches TCP 4460 (it may belong to something else): no rule in table inet
 * ntpsync, and with firewalld a 4460/tcp that ntpsyncd added earlier is taken back, one it did
 * not add left alone.
 *
 * Backends, chosen automatically (firewall_new(), firewall_set_bus()) and reported:
 *
 *   firewalld  when org.fedoraproject.FirewallD1 is on the system bus: the "ntp" service in the
 *              default zone, runtime and permanent, and with NTS the port 4460/tcp there too
 *              (firewalld has no service for NTS-KE). firewalld zones filter incoming traffic
 *              only: outgoing NTP (client) traffic and its replies always pass, and restrict
 *              `ignore` prefixes are left to ntpsyncd's own ACL (both said in the warning).
 *   nftables   through ntpsyncd-firewall-helper (libnftables), in a table of its own,
 *              `table inet ntpsync`, replaced atomically on every apply, removed by
 *              firewall_remove(); no other table is ever changed.
 *   none       neither (no CAP_NET_ADMIN, no helper, no nf_tables): the reason says why.
 *
 * Semantics in nftables. A packet passes only if every base chain on its hook accepts it, so an
 * accept in one table cannot override a drop in another. Hence:
 *   on   explicit counted `accept` rules (udp dport 123 for the server, and tcp dport 4460 with
 *        NTS; udp dport 123 out plus the replies, `udp sport 123 ct state
 *        established,related`, for the client). Another table that would still drop that
 *        traffic (policy drop without an accept for it, or an explicit drop; for NTS-KE in input
 *        chains) is reported in the state's warning.
 *   off  explicit counted `drop` rules for the same traffic (udp dport 123 in input for the
 *        server, and tcp dport 4460 with NTS; udp dport 123 in output for the client), so that
 *        "off" holds on a host with no other firewall too. Replies of our own server (udp sport
 *        123, established) still leave.
 *   ignore  client addresses whose most specific restrict rule has `ignore` (defaults included,
 *        more specific rules without `ignore` cut out again; `ntpport` rules only ever cut out)
 *        are compiled into interval sets ignored4/ignored6 and dropped before the accepts: the
 *        kernel drops a subset of what the ACL ignores, never more. Only on udp 123: the
 *        NTS-KE service does not apply the restrict rules, so neither does its port.
 * Every apply replaces the table, so its counters start again from zero.
 * firewall_free() leaves the kernel state alone: it outlives the daemon, as an opened firewall
 * port always did.
 *
 * What ntpsync reports (struct firewall_state) is kept here and refreshed in the background:
 * after every apply, when firewalld tells of a change (Reloaded, its zone signals, starting or
 * stopping), every FIREWALL_REFRESH_USEC while a state is managed, and on firewall_refresh().
 * No caller of the asynchronous API ever waits on the helper or on firewalld: one request is in
 * flight at a time, its answer comes through an I/O source on the helper's socket or an sd-bus
 * reply callback, each with a timeout after which the state says "unknown".
 *
 * Privileges: see firewall_new() and firewall_drop_privileges(). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "core/restrict.h"
#include "firewall-compile.h"

#define FIREWALL_WARNING_MAX 1024
#define FIREWALL_REASON_MAX 256
#define FIREWALL_STATE_REASON_MAX 1024
#define FIREWALL_ZONE_MAX 64
/* Where the helper is installed; the environment variable NTPSYNCD_FIREWALL_HELPER overrides it
 * (tests, running from the build directory). */
#define FIREWALL_HELPER_ENV "NTPSYNCD_FIREWALL_HELPER"
/* The socket of a helper started by systemd, used when the daemon has no CAP_NET_ADMIN. */
#define FIREWALL_SOCKET_ENV "NTPSYNCD_FIREWALL_SOCKET"
/* How often a managed state is read back although nothing said it changed (nftables has no
 * signals the unprivileged daemon could hear), and how long firewalld and the helper may take. */
#define FIREWALL_REFRESH_USEC (60ULL * 1000000)
#define FIREWALLD_TIMEOUT_USEC (10ULL * 1000000)
#define FIREWALL_HELPER_TIMEOUT_USEC (30ULL * 1000000)

struct firewall;

enum firewall_backend {
        FIREWALL_BACKEND_NONE,
        FIREWALL_BACKEND_NFTABLES,
        FIREWALL_BACKEND_FIREWALLD,
};

/* What ntpsync reports for one direction (NTP client traffic, NTP service traffic), in the words
 * the D-Bus properties FirewallClientState/FirewallServerState, ntpsyncctl, the journal and the
 * manual pages use:
 *
 *   unmanaged  ntpsync was never asked (no `firewall` line in any configuration layer, no
 *              SetFirewall): it leaves the firewall alone and reads nothing back.
 *   open       asked for open, and ntpsync's part of the firewall lets the traffic through, read back.
 *   closed     asked for closed, and ntpsync's part of the firewall drops the traffic, read back.
 *   failed     asked for, but not in place: the backend refused or there is none, or what was
 *              applied is gone or different now. The reason says why.
 *   unknown    the backend has not answered (yet), or does not answer. The reason says why.
 *
 * A `firewall` line naming one direction, or SetFirewall, manages both: the other one takes its
 * default (client on, server off). */
enum firewall_direction_state {
        FIREWALL_UNMANAGED,
        FIREWALL_OPEN,
        FIREWALL_CLOSED,
        FIREWALL_FAILED,
        FIREWALL_UNKNOWN,
        _FIREWALL_DIRECTION_STATE_MAX,
};

const char *firewall_direction_state_to_string(enum firewall_direction_state s);

/* What ntpsync knows about the firewall: kept inside the daemon, refreshed in the background
 * (firewall_get_state() never waits on another process). */
struct firewall_state {
        enum firewall_backend backend;
        const char *backend_name;    /* "firewalld", "nftables" or "none" (static text) */
        enum firewall_direction_state client_state, server_state;
        char state_reason[FIREWALL_STATE_REASON_MAX]; /* why failed or unknown; "" otherwise */
        bool pending;                /* an apply is under way: the states say "unknown" meanwhile */

        /* The last read-back (all zero before the first one): */
        bool known;                  /* a read-back answered, and the last one did */
        bool installed;              /* nftables: table inet ntpsync exists; firewalld: ntp in the zone */
        bool client, server;         /* allowed by ntpsync's part of the firewall (server: udp 123) */
        bool nts_ke;                 /* TCP 4460 allowed by it (firewalld: only read with NTS) */
        bool conntrack;              /* nftables: replies matched with ct state */
        bool permanent;              /* firewalld: ntp (and with NTS 4460/tcp) in the permanent
                                      * configuration of the zone */
        unsigned n_ignored;          /* nftables: elements in ignored4 + ignored6 */
        uint64_t ignored_packets;    /* nftables: packets dropped for restrict ignore */
        pid_t helper_pid;            /* nftables: the helper process, 0 without */
        char zone[FIREWALL_ZONE_MAX]; /* firewalld: the zone in use */
        char warning[FIREWALL_WARNING_MAX]; /* e.g. "table inet filter chain input drops udp port
                                              * 123 (policy drop)"; "" when nothing is in the way */
        char reason[FIREWALL_REASON_MAX];   /* backend "none": why */
};

/* Where applying stands, for firewall_derive_state(). */
enum firewall_apply_status {
        FIREWALL_APPLY_PENDING,      /* asked for, not answered yet */
        FIREWALL_APPLY_OK,           /* applied (then read back, see known) */
        FIREWALL_APPLY_FAILED,       /* refused, or no backend */
        FIREWALL_APPLY_UNANSWERED,   /* the backend did not answer in time, or went away */
};

/* What the states are derived from. Texts may be NULL. */
struct firewall_facts {
        enum firewall_backend backend;
        bool managed;                /* a firewall line or SetFirewall asked for a state */
        bool want_client, want_server;
        bool want_nts_ke;            /* NTS served: TCP 4460 goes with the server direction */
        enum firewall_apply_status apply;
        const char *pending;         /* PENDING: what it waits for */
        const char *apply_error;     /* FAILED, UNANSWERED: why */
        bool known;                  /* the read-back below answered, after the last apply */
        const char *read_error;      /* !known: why */
        bool installed, client, server; /* the read-back (server: udp 123) */
        bool nts_ke;                 /* the read-back: TCP 4460 let in */
        const char *zone;            /* firewalld: the zone read back */
};

/* The state of each direction and the reason (why failed or unknown, "" otherwise; both
 * directions' reasons when they differ). Pure. */
void firewall_derive_state(const struct firewall_facts *facts, enum firewall_direction_state *ret_client,
                           enum firewall_direction_state *ret_server, char *reason, size_t reason_size);

/* Chooses the backend: firewalld when bus (may be NULL) has it; else, with CAP_NET_ADMIN, starts
 * the helper (fork + exec of ntpsyncd-firewall-helper, which keeps only CAP_NET_ADMIN) or connects
 * to ntpsyncd-firewall.socket, and asks it in the background whether nf_tables works ("none"
 * when not); else "none". e is where everything later runs. Call it before
 * firewall_drop_privileges() and before the daemon starts any thread. Fails only on allocation
 * failure or without e: a missing backend is "none". */
int firewall_new(sd_event *e, sd_bus *system_bus, struct firewall **ret);

/* The system bus to look for firewalld on (the daemon opens it after firewall_new(), and again
 * after reconnecting). Never waits: firewalld is looked for in the background, and followed
 * from then on (it starting, stopping, reloading, changing zones). When it is there, the
 * backend becomes firewalld and the helper stops. Returns 0, or a negative errno when the bus
 * cannot be watched. */
int firewall_set_bus(struct firewall *f, sd_bus *system_bus);

/* Told whenever firewall_get_state() changed (a state, the reason, the warning, the backend, a
 * read-back value), from the event loop or from within the call that changed it. */
typedef void (*firewall_changed_t)(struct firewall *f, void *userdata);
void firewall_set_change_callback(struct firewall *f, firewall_changed_t callback, void *userdata);

/* What ntpsync knows now; never waits, never fails. f may be NULL ("none", unmanaged). */
const struct firewall_state *firewall_get_state(const struct firewall *f);

/* The outcome of an asynchronous apply: r 0 (applied), -EOPNOTSUPP (no backend), -ETIMEDOUT or
 * -ENOTCONN (the backend did not answer), -ECANCELED (the firewall is being freed: touch nothing
 * but userdata), another negative errno (refused); why says it in words ("" on success). */
typedef void (*firewall_applied_t)(void *userdata, int r, const char *why);

/* Asks for want, from now on "managed". Never waits: the state becomes "unknown" ("waiting for
 * ...") at once, and the backend is asked as soon as it is known and free; then what it holds
 * is read back, and only then is done (may be NULL) called, once, from the event loop. Requests
 * made meanwhile are merged: each done gets the outcome of the latest. With
 * FIREWALL_APPLY_IF_CHANGED, a want equal to the one applied (or being applied) last is not
 * sent again. Fails only on allocation failure (done is not called then). */
#define FIREWALL_APPLY_IF_CHANGED (UINT32_C(1) << 0)
int firewall_apply_async(struct firewall *f, const struct firewall_request *want, uint32_t flags,
                         firewall_applied_t done, void *userdata);

/* No state is asked for any more (the configuration lost its firewall line): both directions
 * become "unmanaged" and nothing more is read. The firewall keeps what was applied. */
void firewall_unmanage(struct firewall *f);

/* Reads back again in the background, when a state is managed and the last read-back is older
 * than max_age_usec (0: in any case). Coalesced: at most one read is in flight. */
void firewall_refresh(struct firewall *f, uint64_t max_age_usec);

/* ---- Blocking calls, for tools and tests (the probe) and for manager_apply_firewall(): each
 * finishes what is in flight, then waits for its own answer (up to the backend's timeout). ---- */

/* Makes the firewall hold want, atomically (nftables: one transaction; firewalld: runtime then
 * permanent, the runtime change undone when the permanent one fails), then reads it back.
 * -EOPNOTSUPP for backend none, -E2BIG when the ignore prefixes need more than
 * FIREWALL_MAX_RANGES ranges; other negative errnos with firewall_last_error() saying what went
 * wrong. Nothing changes on error. */
int firewall_apply(struct firewall *f, const struct firewall_request *want);

/* Reads back what the kernel (or firewalld) holds now, into the state. Backend none: 0. */
int firewall_refresh_sync(struct firewall *f);

/* A copy of firewall_get_state(), for callers of the time when this read the firewall: it no
 * longer waits, but asks for a read-back in the background when the copy is older than 1 s. */
int firewall_read(struct firewall *f, struct firewall_state *ret);

/* Removes table inet ntpsync (nftables), or the "ntp" service and port 4460/tcp where this
 * process added them (firewalld); nothing else. Idempotent. */
int firewall_remove(struct firewall *f);

/* Answers every pending firewall_apply_async() with -ECANCELED, and frees. The kernel state
 * stays. */
struct firewall *firewall_free(struct firewall *f);

enum firewall_backend firewall_backend(const struct firewall *f);
const char *firewall_backend_to_string(enum firewall_backend b);

/* The text of the last error of an apply, read or remove ("" when none). */
const char *firewall_last_error(const struct firewall *f);

/* Drops CAP_NET_ADMIN from this process's (this thread's and threads created later)
 * effective, permitted, inheritable, ambient and bounding sets. Call once after firewall_new()
 * and before starting threads; the bounding set needs CAP_SETPCAP (without it, a debug message:
 * permitted is what counts). 0 when CAP_NET_ADMIN is gone from effective and permitted. */
int firewall_drop_privileges(void);
