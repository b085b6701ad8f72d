/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The firewall module's core: the backend, what is asked for, the operations in turn (one in
 * flight), and the state that everybody reads without waiting (firewall.h).
 *
 * Requests are generations: firewall_apply_async() records the want and bumps want_gen; the
 * kick source applies the latest want when the backend is known and free, then reads back; once
 * that read answered, done_gen catches up and the waiters of that generation and the ones
 * before it are answered. The backends are firewall-helper-client.c and firewall-firewalld.c. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firewall-internal.h"
#include "log.h"

#define FIREWALL_READ_MAX_AGE_USEC (1ULL * 1000000)
/* A firewalld call that sd-bus did not end in time (its connection closed under it). */
#define FIREWALLD_BACKSTOP_USEC (FIREWALLD_TIMEOUT_USEC + 1000000ULL)

static const struct firewall_state state_none = {
        .backend = FIREWALL_BACKEND_NONE,
        .backend_name = "none",
        .client_state = FIREWALL_UNMANAGED,
        .server_state = FIREWALL_UNMANAGED,
};

const char *firewall_backend_to_string(enum firewall_backend b) {
        switch (b) {
        case FIREWALL_BACKEND_FIREWALLD:
                return "firewalld";
        case FIREWALL_BACKEND_NFTABLES:
                return "nftables";
        case FIREWALL_BACKEND_NONE:
        default:
                return "none";
        }
}

enum firewall_backend firewall_backend(const struct firewall *f) {
        return f ? f->backend : FIREWALL_BACKEND_NONE;
}

const char *firewall_last_error(const struct firewall *f) {
        return f ? f->error : "";
}

void firewall_warning_append(char *buf, size_t size, const char *text) {
        size_t len = strnlen(buf, size);
        if (!text || !*text || len + 1 >= size)
                return;
        snprintf(buf + len, size - len, "%s%s", len > 0 ? "; " : "", text);
}

bool firewall_unanswered(int r) {
        return r == -ETIMEDOUT || r == -ENOTCONN || r == -ECONNRESET || r == -EPIPE || r == -EHOSTUNREACH ||
               r == -ENXIO || r == -ECANCELED;
}

static uint64_t now_usec(const struct firewall *f) {
        uint64_t t = 0;
        if (sd_event_now(f->event, CLOCK_MONOTONIC, &t) < 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                t = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
        }
        return t;
}

static void log_backend(const struct firewall *f) {
        switch (f->backend) {
        case FIREWALL_BACKEND_FIREWALLD:
                log_info("Firewall: firewalld (the \"" FIREWALLD_SERVICE "\" service in the default zone)");
                break;
        case FIREWALL_BACKEND_NFTABLES:
                if (f->pid > 0)
                        log_info("Firewall: nftables, table " FWH_TABLE_FAMILY " " FWH_TABLE_NAME " (helper PID %d)",
                                 (int) f->pid);
                else
                        log_info("Firewall: nftables, table " FWH_TABLE_FAMILY " " FWH_TABLE_NAME
                                 " (helper from ntpsyncd-firewall.socket)");
                break;
        case FIREWALL_BACKEND_NONE:
                log_notice("Firewall: none, the host firewall is left alone (%s)", f->reason);
                break;
        }
}

/* ---- the state ---- */

static const char *pending_text(const struct firewall *f) {
        if (f->detecting)
                return "looking for firewalld on the system bus";
        switch (f->backend) {
        case FIREWALL_BACKEND_FIREWALLD:
                return "waiting for firewalld to answer";
        case FIREWALL_BACKEND_NFTABLES:
                return "waiting for the firewall helper to answer";
        case FIREWALL_BACKEND_NONE:
        default:
                return "waiting for a firewall backend";
        }
}

static void compose_warning(const struct firewall *f, char *buf, size_t size) {
        snprintf(buf, size, "%s", f->known ? f->rb.warning : "");
        if (f->backend != FIREWALL_BACKEND_FIREWALLD || !f->applied)
                return;
        if (!f->applied_client)
                firewall_warning_append(buf, size,
                                        "firewalld zones do not filter outgoing traffic: NTP client traffic stays allowed");
        if (f->applied_ignore)
                firewall_warning_append(buf, size, "restrict ignore rules are enforced by ntpsyncd only, not by firewalld");
}

static void derive(const struct firewall *f, struct firewall_state *st) {
        struct firewall_facts x = {
                .backend = f->backend,
                .managed = f->managed,
                .want_client = f->want.client,
                .want_server = f->want.server,
                .want_nts_ke = f->want.nts_ke,
                .apply = f->want_gen > f->done_gen ? FIREWALL_APPLY_PENDING : f->apply_status,
                .pending = pending_text(f),
                .apply_error = f->apply_error,
                .known = f->known,
                .read_error = f->read_error,
                .installed = f->rb.installed,
                .client = f->rb.client,
                .server = f->rb.server,
                .nts_ke = f->rb.nts_ke,
                .zone = f->rb.zone,
        };
        firewall_derive_state(&x, &st->client_state, &st->server_state, st->state_reason, sizeof(st->state_reason));
}

static bool state_equal(const struct firewall_state *a, const struct firewall_state *b) {
        return a->backend == b->backend && a->client_state == b->client_state && a->server_state == b->server_state &&
               a->pending == b->pending && a->known == b->known && a->installed == b->installed && a->client == b->client &&
               a->server == b->server && a->nts_ke == b->nts_ke && a->conntrack == b->conntrack && a->permanent == b->permanent &&
               a->n_ignored == b->n_ignored && a->ignored_packets == b->ignored_packets &&
               a->helper_pid == b->helper_pid && streq(a->state_reason, b->state_reason) && streq(a->zone, b->zone) &&
               streq(a->warning, b->warning) && streq(a->reason, b->reason);
}

void firewall_update_state(struct firewall *f) {
        struct firewall_state st = {
                .backend = f->backend,
                .backend_name = firewall_backend_to_string(f->backend),
                .known = f->known,
                .installed = f->rb.installed,
                .client = f->rb.client,
                .server = f->rb.server,
                .nts_ke = f->rb.nts_ke,
                .conntrack = f->rb.conntrack,
                .permanent = f->rb.permanent,
                .n_ignored = f->rb.n_ignored,
                .ignored_packets = f->rb.ignored_packets,
                .helper_pid = f->backend == FIREWALL_BACKEND_NFTABLES ? f->pid : 0,
                .pending = f->managed && f->want_gen > f->done_gen,
        };
        snprintf(st.zone, sizeof(st.zone), "%s", f->rb.zone);
        snprintf(st.reason, sizeof(st.reason), "%s", f->backend == FIREWALL_BACKEND_NONE ? f->reason : "");
        compose_warning(f, st.warning, sizeof(st.warning));
        derive(f, &st);
        if (state_equal(&st, &f->state))
                return;
        f->state = st;
        if (f->on_change)
                f->on_change(f, f->on_change_userdata);
}

const struct firewall_state *firewall_get_state(const struct firewall *f) {
        return f ? &f->state : &state_none;
}

void firewall_set_change_callback(struct firewall *f, firewall_changed_t callback, void *userdata) {
        f->on_change = callback;
        f->on_change_userdata = userdata;
}

/* ---- operations ---- */

void firewall_kick(struct firewall *f) {
        if (f->kick)
                (void) sd_event_source_set_enabled(f->kick, SD_EVENT_ONESHOT);
}

static void op_deadline(struct firewall *f, uint64_t usec);

static void hello_done(struct firewall *f, int r) {
        if (r < 0) {
                snprintf(f->reason, sizeof(f->reason), "nftables unusable: %.200s", f->error[0] ? f->error : strerror(-r));
                f->error[0] = 0;
                helper_reap(f, false);
                f->backend = FIREWALL_BACKEND_NONE;
        }
        log_backend(f);
}

static void apply_done(struct firewall *f, int r) {
        f->apply_r = r;
        if (r >= 0) {
                f->apply_status = FIREWALL_APPLY_OK;
                f->apply_error[0] = 0;
                f->applied = true;
                f->applied_client = f->want.client;
                f->applied_ignore = f->want.n_ranges > 0 || f->want.compile_error == -E2BIG;
                /* Done once what it did is read back. */
                f->read_for_gen = f->op_gen;
                f->refresh_wanted = true;
                return;
        }
        f->apply_status = firewall_unanswered(r) ? FIREWALL_APPLY_UNANSWERED : FIREWALL_APPLY_FAILED;
        snprintf(f->apply_error, sizeof(f->apply_error), "%s", f->error[0] ? f->error : strerror(-r));
        if (f->op_gen > f->done_gen)
                f->done_gen = f->op_gen;
}

static void read_done(struct firewall *f, int r, const struct firewall_readback *rb) {
        if (r >= 0 && rb) {
                f->known = true;
                f->rb = *rb;
                f->read_error[0] = 0;
        } else {
                f->known = false;
                snprintf(f->read_error, sizeof(f->read_error), "%s",
                         f->error[0] ? f->error : r < 0 ? strerror(-r) : "nothing was read back");
        }
        f->read_usec = now_usec(f);
        if (f->read_for_gen > f->done_gen)
                f->done_gen = f->read_for_gen;
        f->read_for_gen = 0;
}

void firewall_op_done(struct firewall *f, int r, const struct firewall_readback *rb) {
        enum firewall_op op = f->op;
        f->op = FIREWALL_OP_NONE;
        if (f->op_timer)
                (void) sd_event_source_set_enabled(f->op_timer, SD_EVENT_OFF);
        switch (op) {
        case FIREWALL_OP_HELLO:
                hello_done(f, r);
                break;
        case FIREWALL_OP_APPLY:
                apply_done(f, r);
                break;
        case FIREWALL_OP_READ:
                read_done(f, r, rb);
                break;
        case FIREWALL_OP_REMOVE:
        case FIREWALL_OP_NONE:
        default:
                break;
        }
        if (f->firewalld_waiting) {
                f->firewalld_waiting = false;
                firewall_firewalld_appeared(f, true);
        }
        firewall_update_state(f);
        firewall_kick(f);
}

/* The operation in flight is dropped unanswered (the backend changed, or the blocking API needs
 * the way free): an apply is made again, a read asked for again. */
static void op_abort(struct firewall *f) {
        enum firewall_op op = f->op;
        if (op == FIREWALL_OP_NONE)
                return;
        firewalld_cancel(f);
        f->op = FIREWALL_OP_NONE;
        if (f->op_timer)
                (void) sd_event_source_set_enabled(f->op_timer, SD_EVENT_OFF);
        if (op == FIREWALL_OP_READ)
                f->refresh_wanted = true;
}

static int on_op_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct firewall *f = userdata;
        char why[64];
        if (f->op == FIREWALL_OP_NONE)
                return 0;
        if (f->backend == FIREWALL_BACKEND_NFTABLES) {
                snprintf(why, sizeof(why), "did not answer within %llu s", FIREWALL_HELPER_TIMEOUT_USEC / 1000000);
                helper_lost(f, why);
        } else
                firewalld_timed_out(f);
        firewall_op_done(f, -ETIMEDOUT, NULL);
        return 0;
}

static void op_deadline(struct firewall *f, uint64_t usec) {
        int r = f->op_timer ? sd_event_source_set_time_relative(f->op_timer, usec)
                            : sd_event_add_time_relative(f->event, &f->op_timer, CLOCK_MONOTONIC, usec, 0, on_op_timeout, f);
        if (r >= 0)
                r = sd_event_source_set_enabled(f->op_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_debug_errno(r, "Cannot arm the firewall's timeout, ignoring");
}

void firewall_call_deadline(struct firewall *f) {
        op_deadline(f, FIREWALLD_BACKSTOP_USEC);
}

/* Without a backend, or with a want the backend cannot take: answered at once. */
static int refuse(struct firewall *f) {
        if (f->backend == FIREWALL_BACKEND_NONE) {
                snprintf(f->error, sizeof(f->error), "no firewall backend: %s", f->reason);
                return f->op == FIREWALL_OP_READ ? 0 : -EOPNOTSUPP;
        }
        if (f->op == FIREWALL_OP_APPLY && f->backend == FIREWALL_BACKEND_NFTABLES && f->want.compile_error < 0) {
                snprintf(f->error, sizeof(f->error), "the restrict ignore rules need more than %d address ranges",
                         FIREWALL_MAX_RANGES);
                return f->want.compile_error;
        }
        return 1;
}

/* Starts op; with sync, waits for its end. Returns what it ended with (async: 0 once started). */
static int op_start(struct firewall *f, enum firewall_op op, bool sync) {
        f->op = op;
        f->op_usec = now_usec(f);
        f->error[0] = 0;
        if (op == FIREWALL_OP_APPLY)
                f->op_gen = f->want_gen;
        int r = refuse(f);
        if (r <= 0) {
                firewall_op_done(f, r, NULL);
                return r;
        }
        if (f->backend == FIREWALL_BACKEND_FIREWALLD)
                return sync ? firewalld_run_sync(f) : firewalld_start(f);
        if (!sync)
                op_deadline(f, FIREWALL_HELPER_TIMEOUT_USEC);
        r = helper_send(f);
        if (r < 0) {
                firewall_op_done(f, r, NULL);
                return r;
        }
        return sync ? helper_finish_sync(f) : 0;
}

static void answer_waiters(struct firewall *f) {
        struct firewall_waiter *ready = NULL, **p = &f->waiters;
        /* Taken out first: a callback may ask again. */
        while (*p) {
                struct firewall_waiter *w = *p;
                if (w->gen <= f->done_gen) {
                        *p = w->next;
                        w->next = ready;
                        ready = w;
                } else
                        p = &w->next;
        }
        while (ready) {
                struct firewall_waiter *w = ready;
                ready = w->next;
                w->done(w->userdata, f->apply_r, f->apply_r < 0 ? f->apply_error : "");
                free(w);
        }
}

static int on_kick(sd_event_source *s, void *userdata) {
        struct firewall *f = userdata;
        answer_waiters(f);
        if (f->op != FIREWALL_OP_NONE || f->detecting)
                return 0;
        if (f->recheck_wanted) {
                f->recheck_wanted = false;
                /* A request the backend did not answer is made again; else what it holds is read. */
                if (f->apply_status == FIREWALL_APPLY_UNANSWERED && f->want_gen == f->done_gen) {
                        f->want_gen++;
                        firewall_update_state(f);
                } else
                        f->refresh_wanted = true;
        }
        if (f->read_for_gen == 0 && f->want_gen > f->done_gen)
                (void) op_start(f, FIREWALL_OP_APPLY, false);
        else if (f->refresh_wanted) {
                f->refresh_wanted = false;
                (void) op_start(f, FIREWALL_OP_READ, false);
        }
        return 0;
}

/* For the blocking API: the question to dbus-daemon answered, the operation in flight ended. */
static void settle(struct firewall *f) {
        if (f->op != FIREWALL_OP_NONE && f->backend == FIREWALL_BACKEND_NFTABLES && f->fd >= 0)
                (void) helper_finish_sync(f);
        else
                op_abort(f);
        firewalld_detect_sync(f);
}

static int run_sync(struct firewall *f, enum firewall_op op) {
        settle(f);
        if (op == FIREWALL_OP_READ)
                f->refresh_wanted = false;
        return op_start(f, op, true);
}

/* ---- what is asked for ---- */

void firewall_recheck(struct firewall *f) {
        if (!f->managed)
                return;
        /* A read that a hanging firewalld took long ago may never be answered: asked again at once.
         * A recent one goes on; the read after it sees what the signal told of. */
        if (f->op == FIREWALL_OP_READ && f->backend == FIREWALL_BACKEND_FIREWALLD &&
            now_usec(f) - f->op_usec > FIREWALL_READ_MAX_AGE_USEC)
                op_abort(f);
        f->recheck_wanted = true;
        firewall_kick(f);
}

static int on_refresh_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct firewall *f = userdata;
        firewall_recheck(f);
        (void) sd_event_source_set_time_relative(s, FIREWALL_REFRESH_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static void arm_refresh(struct firewall *f, bool on) {
        if (!f->refresh_timer && on &&
            sd_event_add_time_relative(f->event, &f->refresh_timer, CLOCK_MONOTONIC, FIREWALL_REFRESH_USEC, 0,
                                       on_refresh_timer, f) >= 0)
                (void) sd_event_source_set_description(f->refresh_timer, "firewall-refresh");
        if (f->refresh_timer)
                (void) sd_event_source_set_enabled(f->refresh_timer, on ? SD_EVENT_ON : SD_EVENT_OFF);
}

/* Whether want is what was applied last, or is being applied. */
static bool already_asked(const struct firewall *f, const struct firewall_want *want) {
        bool pending = f->want_gen > f->done_gen;
        return f->managed && firewall_want_equal(&f->want, want) && (pending || f->apply_status == FIREWALL_APPLY_OK);
}

static int add_waiter(struct firewall *f, firewall_applied_t done, void *userdata) {
        struct firewall_waiter *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (struct firewall_waiter) { .next = f->waiters, .gen = f->want_gen, .done = done, .userdata = userdata };
        f->waiters = w;
        return 0;
}

int firewall_apply_async(struct firewall *f, const struct firewall_request *want, uint32_t flags,
                         firewall_applied_t done, void *userdata) {
        struct firewall_want w = { .ranges = calloc(FIREWALL_MAX_RANGES, sizeof(struct firewall_range)) };
        if (!w.ranges)
                return -ENOMEM;
        int r = firewall_compile(want, &w);
        if (r < 0) {
                free(w.ranges);
                return r;
        }
        if (!(flags & FIREWALL_APPLY_IF_CHANGED) || !already_asked(f, &w)) {
                struct firewall_range *old = f->want.ranges;
                f->want = w;
                w.ranges = old;
                f->want_gen++;
        }
        free(w.ranges);
        if (done && (r = add_waiter(f, done, userdata)) < 0)
                return r;
        f->managed = true;
        arm_refresh(f, true);
        firewall_update_state(f);
        firewall_kick(f);
        return 0;
}

void firewall_unmanage(struct firewall *f) {
        if (!f || !f->managed)
                return;
        f->managed = false;
        arm_refresh(f, false);
        firewall_update_state(f);
}

void firewall_refresh(struct firewall *f, uint64_t max_age_usec) {
        if (!f || !f->managed || f->refresh_wanted || f->op == FIREWALL_OP_READ || f->read_for_gen ||
            f->want_gen > f->done_gen)
                return;
        if (max_age_usec > 0 && f->read_usec > 0 && now_usec(f) - f->read_usec < max_age_usec)
                return;
        f->refresh_wanted = true;
        firewall_kick(f);
}

/* ---- the blocking API ---- */

int firewall_apply(struct firewall *f, const struct firewall_request *want) {
        int r = firewall_apply_async(f, want, 0, NULL, NULL);
        if (r < 0)
                return r;
        r = run_sync(f, FIREWALL_OP_APPLY);
        if (r >= 0)
                (void) run_sync(f, FIREWALL_OP_READ);
        return r;
}

int firewall_refresh_sync(struct firewall *f) {
        return run_sync(f, FIREWALL_OP_READ);
}

int firewall_read(struct firewall *f, struct firewall_state *ret) {
        *ret = *firewall_get_state(f);
        firewall_refresh(f, FIREWALL_READ_MAX_AGE_USEC);
        return 0;
}

int firewall_remove(struct firewall *f) {
        int r = run_sync(f, FIREWALL_OP_REMOVE);
        if (r >= 0)
                f->applied = false;
        return r;
}

/* ---- the backend ---- */

void firewall_firewalld_appeared(struct firewall *f, bool fresh) {
        if (f->backend == FIREWALL_BACKEND_FIREWALLD && f->firewalld_up && !fresh)
                return;
        if (f->backend != FIREWALL_BACKEND_FIREWALLD) {
                /* The helper's answer first (a closed socket would leave it writing into nothing). */
                if (f->op != FIREWALL_OP_NONE && f->backend == FIREWALL_BACKEND_NFTABLES) {
                        f->firewalld_up = true;
                        f->firewalld_waiting = true;
                        return;
                }
                helper_reap(f, false);
                f->backend = FIREWALL_BACKEND_FIREWALLD;
                f->reason[0] = 0;
                f->known = false;
                snprintf(f->read_error, sizeof(f->read_error), "firewalld has not been read yet");
                log_backend(f);
        } else
                op_abort(f); /* a restarted firewalld does not answer the old one's calls */
        f->firewalld_up = true;
        if (f->managed)
                f->want_gen++; /* what is asked for is applied there (again) */
        firewall_update_state(f);
        firewall_kick(f);
}

void firewall_firewalld_vanished(struct firewall *f) {
        f->firewalld_up = false;
        f->firewalld_waiting = false;
        if (f->backend != FIREWALL_BACKEND_FIREWALLD)
                return;
        if (f->op != FIREWALL_OP_NONE) {
                firewalld_cancel(f);
                snprintf(f->error, sizeof(f->error), "firewalld left the system bus");
                firewall_op_done(f, -ENOTCONN, NULL);
        }
        f->known = false;
        snprintf(f->read_error, sizeof(f->read_error), "firewalld is not running (it left the system bus)");
        firewall_update_state(f);
}

int firewall_set_bus(struct firewall *f, sd_bus *bus) {
        if (!bus || bus == f->bus)
                return 0;
        firewalld_unwatch(f);
        if (f->backend == FIREWALL_BACKEND_FIREWALLD)
                op_abort(f);
        sd_bus_unref(f->bus);
        f->bus = sd_bus_ref(bus);
        int r = firewalld_watch(f, true);
        if (r < 0)
                log_warning_errno(r, "Cannot follow firewalld on the system bus");
        firewall_update_state(f);
        firewall_kick(f);
        return r < 0 ? r : 0;
}

int firewall_new(sd_event *e, sd_bus *bus, struct firewall **ret) {
        if (!e)
                return -EINVAL;
        struct firewall *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->fd = -1;
        f->backend = FIREWALL_BACKEND_NONE;
        f->event = sd_event_ref(e);
        f->state = state_none;
        f->want.ranges = calloc(FIREWALL_MAX_RANGES, sizeof(struct firewall_range));
        if (!f->want.ranges || sd_event_add_defer(e, &f->kick, on_kick, f) < 0) {
                firewall_free(f);
                return -ENOMEM;
        }
        (void) sd_event_source_set_enabled(f->kick, SD_EVENT_OFF);
        (void) sd_event_source_set_description(f->kick, "firewall");

        bool firewalld = bus && firewalld_present(bus) > 0;
        if (bus) {
                f->bus = sd_bus_ref(bus);
                f->firewalld_up = firewalld;
                if (firewalld_watch(f, false) < 0)
                        log_debug("Cannot follow firewalld on the system bus, ignoring");
        }
        if (firewalld) {
                f->backend = FIREWALL_BACKEND_FIREWALLD;
                log_backend(f);
        } else if (helper_open(f) > 0) {
                f->backend = FIREWALL_BACKEND_NFTABLES;
                (void) op_start(f, FIREWALL_OP_HELLO, false);
        } else
                log_backend(f);
        firewall_update_state(f);
        *ret = f;
        return 0;
}

struct firewall *firewall_free(struct firewall *f) {
        if (!f)
                return NULL;
        /* Everybody still waiting learns that no answer comes. */
        snprintf(f->apply_error, sizeof(f->apply_error), "the daemon is stopping");
        f->apply_r = -ECANCELED;
        f->done_gen = UINT64_MAX;
        answer_waiters(f);
        firewalld_unwatch(f);
        firewalld_cancel(f);
        firewalld_call_done(&f->fwd);
        helper_reap(f, false);
        sd_event_source_disable_unref(f->op_timer);
        sd_event_source_disable_unref(f->kick);
        sd_event_source_disable_unref(f->refresh_timer);
        sd_bus_unref(f->bus);
        sd_event_unref(f->event);
        free(f->want.ranges);
        free(f->request);
        free(f);
        return NULL;
}
