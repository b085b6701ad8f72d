/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Between the parts of the firewall module:
 *
 *   firewall.c                 backend choice, what is asked for, the operations in turn, the state
 *   firewall-helper-client.c   the daemon's side of ntpsyncd-firewall-helper (firewall-helper.h)
 *   firewall-firewalld.c       firewalld over D-Bus: its calls in sequence, its signals
 *   firewall-ranges.c          restrict rules → address ranges
 *
 * One operation is in flight at a time (f->op). A backend carries it out and ends it with
 * firewall_op_done(), from its I/O source or reply callback (asynchronous), or before its
 * blocking variant returns (synchronous). firewall_op_done() never starts the next operation
 * itself: the defer source f->kick does, so that nothing recurses. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "firewall-helper.h"
#include "firewall.h"
#include "macro.h"

#define FIREWALLD_SERVICE "ntp"
/* NTS-KE: firewalld has no service for it, so a port in the same zone. */
#define FIREWALLD_NTS_KE_PORT "4460"
#define FIREWALLD_NTS_KE_PROTOCOL "tcp"
#define FIREWALL_ERROR_MAX (FWH_MESSAGE_MAX + 128)

enum firewall_op {
        FIREWALL_OP_NONE,
        FIREWALL_OP_HELLO,           /* nftables: is nf_tables usable? */
        FIREWALL_OP_APPLY,
        FIREWALL_OP_READ,
        FIREWALL_OP_REMOVE,
};

/* What a read answered. */
struct firewall_readback {
        bool installed, client, server, conntrack, permanent;
        bool nts_ke;                 /* TCP 4460 let in (firewalld: asked only when nts_ke is wanted) */
        unsigned n_ignored;
        uint64_t ignored_packets;
        char zone[FIREWALL_ZONE_MAX];
        char warning[FIREWALL_WARNING_MAX];
};

/* firewalld: where a sequence of calls is. */
enum firewalld_step {
        FIREWALLD_DEFAULT_ZONE,      /* getDefaultZone */
        FIREWALLD_ZONE_PATH,         /* config.getZoneByName: the zone's permanent configuration */
        FIREWALLD_QUERY_RUNTIME,     /* zone.queryService */
        FIREWALLD_QUERY_PERMANENT,   /* config.zone.queryService */
        FIREWALLD_QUERY_PORT_RUNTIME,   /* zone.queryPort 4460/tcp */
        FIREWALLD_QUERY_PORT_PERMANENT, /* config.zone.queryPort 4460/tcp */
        FIREWALLD_PANIC,             /* queryPanicMode */
        /* The changes, made in this order and taken back in the reverse one when one fails. */
        FIREWALLD_CHANGE_RUNTIME,    /* zone.addService / removeService */
        FIREWALLD_CHANGE_PORT_RUNTIME,  /* zone.addPort / removePort */
        FIREWALLD_CHANGE_PERMANENT,  /* config.zone.addService / removeService */
        FIREWALLD_CHANGE_PORT_PERMANENT, /* config.zone.addPort / removePort */
        FIREWALLD_DONE,
};

struct firewalld_changes {
        bool added_runtime, added_permanent;   /* this process added "ntp" there */
        bool added_port_runtime, added_port_permanent; /* ... and 4460/tcp */
};

struct firewalld_call {
        enum firewall_op kind;
        enum firewalld_step step;
        bool server;                 /* APPLY: wanted */
        bool port;                   /* APPLY, READ: 4460/tcp follows server (nts_ke wanted) */
        char zone[FIREWALL_ZONE_MAX];
        char *config_path;           /* the zone's permanent configuration object */
        bool runtime, permanent, panic;
        bool port_runtime, port_permanent;
        unsigned changed;            /* APPLY: bit (1 << step) of each change step that changed something */
        bool undoing;                /* a change failed: the ones before it are being taken back */
        int result;                  /* of the step that ended it */
};

struct firewall_waiter {
        struct firewall_waiter *next;
        uint64_t gen;                /* answered once the request of this generation is done */
        firewall_applied_t done;
        void *userdata;
};

struct firewall {
        sd_event *event;
        sd_bus *bus;
        enum firewall_backend backend;
        char reason[FIREWALL_REASON_MAX];     /* backend none: why */
        char error[FIREWALL_ERROR_MAX];       /* the last operation's error */

        /* the operation in flight */
        enum firewall_op op;
        uint64_t op_gen;                      /* APPLY: the generation of want it sends */
        uint64_t op_usec;                     /* CLOCK_MONOTONIC when it started */
        sd_event_source *op_timer;            /* the backend did not answer in time */
        sd_event_source *kick;                /* defer: answers waiters, starts the next operation */
        sd_event_source *refresh_timer;       /* FIREWALL_REFRESH_USEC while managed */

        /* nftables, through the helper */
        int fd;
        pid_t pid;
        sd_event_source *helper_io;
        struct fwh_request *request;          /* the request being sent (APPLY's is 40 KiB) */

        /* firewalld */
        bool detecting;                       /* NameHasOwner asked, not answered */
        bool firewalld_up;                    /* org.fedoraproject.FirewallD1 has an owner */
        bool firewalld_waiting;               /* it has, and becomes the backend once the helper answered */
        sd_bus_slot *detect_slot, *owner_slot, *signal_slot, *call_slot;
        struct firewalld_call fwd;
        char zone[FIREWALL_ZONE_MAX];         /* where this process applied */
        struct firewalld_changes changes;

        /* what is asked for */
        bool managed;
        struct firewall_want want;
        uint64_t want_gen;                    /* bumped by every request */
        uint64_t done_gen;                    /* the last request applied and read back, or failed */
        uint64_t read_for_gen;                /* the read that completes an apply of this generation */
        enum firewall_apply_status apply_status;
        int apply_r;
        char apply_error[FIREWALL_ERROR_MAX];
        bool applied;                         /* firewalld: what the warnings speak of */
        bool applied_client, applied_ignore;
        struct firewall_waiter *waiters;

        /* read back */
        bool refresh_wanted;
        bool recheck_wanted;                  /* firewall_recheck() was asked, the kick decides */
        bool known;
        struct firewall_readback rb;
        char read_error[FIREWALL_ERROR_MAX];
        uint64_t read_usec;                   /* CLOCK_MONOTONIC of the last read-back, 0: never */

        struct firewall_state state;
        firewall_changed_t on_change;
        void *on_change_userdata;
};

/* Ends the operation in flight: r and, for a successful READ, rb. */
void firewall_op_done(struct firewall *f, int r, const struct firewall_readback *rb);
/* The state may have changed: derives it again, and tells on_change when it did. */
void firewall_update_state(struct firewall *f);
/* firewalld gave a sign of life, or time passed: a request it did not answer is made again, else
 * what it holds is read back. */
void firewall_recheck(struct firewall *f);
/* Something is to be done: the defer source runs. */
void firewall_kick(struct firewall *f);
/* Switches to firewalld (it appeared; fresh: it just started, or restarted), or notes that it
 * went away. */
void firewall_firewalld_appeared(struct firewall *f, bool fresh);
void firewall_firewalld_vanished(struct firewall *f);
/* One firewalld call is under way: ended after FIREWALLD_TIMEOUT_USEC and a bit, should sd-bus
 * not end it (its connection closed under it). */
void firewall_call_deadline(struct firewall *f);
/* Whether r means that the backend did not answer, rather than that it refused. */
bool firewall_unanswered(int r);

/* ---- the helper (firewall-helper-client.c) ---- */

/* Starts the helper ourselves while we hold CAP_NET_ADMIN, else connects to its socket; then
 * sends HELLO. 1 when there is a helper, 0 with f->reason set when there is none. */
int helper_open(struct firewall *f);
/* Closes the socket, which ends the helper, and reaps it. */
void helper_reap(struct firewall *f, bool kill_it);
/* The helper is gone or broke the protocol: backend none, with why in the reason. */
void helper_lost(struct firewall *f, const char *why);
/* Sends the request of f->op (APPLY: from f->want). */
int helper_send(struct firewall *f);
/* Blocks until the answer to what helper_send() sent is there, and ends the operation. */
int helper_finish_sync(struct firewall *f);

/* ---- firewalld (firewall-firewalld.c) ---- */

/* Asks dbus-daemon whether firewalld is there, blocking: 1, 0, or a negative errno. */
int firewalld_present(sd_bus *bus);
/* Follows firewalld on f->bus: its name owner and its signals; with ask, asks in the background
 * whether it is there (f->detecting until the answer). */
int firewalld_watch(struct firewall *f, bool ask);
void firewalld_unwatch(struct firewall *f);
/* The answer to the background question, blocking, when it has not come yet. */
void firewalld_detect_sync(struct firewall *f);
/* Starts f->op (APPLY: f->want.server) with its first call. */
int firewalld_start(struct firewall *f);
/* The same, waiting for every answer; ends the operation before it returns. */
int firewalld_run_sync(struct firewall *f);
/* Drops the call in flight; its answer will be ignored. */
void firewalld_cancel(struct firewall *f);
/* The same, because it took too long: f->error says which call. */
void firewalld_timed_out(struct firewall *f);
void firewalld_call_done(struct firewalld_call *c);

/* ---- capabilities (firewall-helper-client.c) ---- */

bool firewall_have_net_admin(void);

/* Appends "; "-separated text to a warning buffer. */
void firewall_warning_append(char *buf, size_t size, const char *text);
