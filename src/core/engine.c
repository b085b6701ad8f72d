/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock-filter.h"
#include "discipline.h"
#include "engine-internal.h"
#include "leap.h"
#include "poll.h"
#include "select.h"

void engine_config_init(struct engine_config *c) {
        *c = (struct engine_config) {
                .step_threshold = 0.128,
                .initial_step_threshold = 0.128,
                .allow_initial_step = true,
                .panic_threshold = 1000,
                .stepout = 300,
                .min_sources = 1,
                .max_frequency_ppm = 500,
                .min_distance = 0.001,
                .max_distance = 1.5,
                .clock_control = true,
                .precision = -20,
        };
}

static struct discipline_config discipline_config_of(const struct engine_config *c) {
        return (struct discipline_config) {
                .step_threshold = c->step_threshold,
                .initial_step_threshold = c->initial_step_threshold,
                .panic_threshold = c->panic_threshold,
                .stepout = c->stepout,
                .allow_initial_step = c->allow_initial_step,
                .max_frequency_ppm = c->max_frequency_ppm,
                .initial_frequency_ppm = c->initial_frequency_known ? c->initial_frequency_ppm : 0,
                .clock_control = c->clock_control,
        };
}

engine *engine_new(const struct engine_config *c) {
        if (!c || !c->random_u64)
                return NULL;
        engine *e = calloc(1, sizeof(*e));
        if (!e)
                return NULL;
        e->config = *c;
        if (!(e->config.max_frequency_ppm > 0) || e->config.max_frequency_ppm > 500)
                e->config.max_frequency_ppm = 500;
        if (!isfinite(e->config.initial_frequency_ppm) ||
            fabs(e->config.initial_frequency_ppm) > e->config.max_frequency_ppm) {
                e->config.initial_frequency_ppm = 0;
                e->config.initial_frequency_known = false;
        }
        e->start_mono = -1;
        e->system_peer = -1;
        e->stratum = NTP_STRATUM_UNSYNC;
        e->leap = NTP_LEAP_NONE;
        e->unsync_reason = "no reply from any source yet";
        e->last_update_mono = -1;
        e->poll = POLL_DEFAULT_MIN;
        e->next_id = 1;
        return e;
}

void engine_reconfigure(engine *e, const struct engine_config *c) {
        struct engine_config kept = e->config;
        e->config = *c;
        e->config.clock_control = kept.clock_control;
        e->config.initial_frequency_ppm = kept.initial_frequency_ppm;
        e->config.initial_frequency_known = kept.initial_frequency_known;
        e->config.random_u64 = kept.random_u64;
        e->config.random_userdata = kept.random_userdata;
        if (e->start_mono >= 0) {
                struct discipline_config dc = discipline_config_of(&e->config);
                discipline_reconfigure(&e->discipline, &dc);
        }
}

static void source_free(struct source *s) {
        if (!s)
                return;
        free(s->name);
        free(s);
}

engine *engine_free(engine *e) {
        if (!e)
                return NULL;
        for (size_t i = 0; i < e->n_sources; i++)
                source_free(e->sources[i]);
        free(e);
        return NULL;
}

static void set_unsynchronized(engine *e, const char *reason);

/* ---- actions ---- */

static struct engine_action *queue_push(engine *e, enum engine_action_kind kind) {
        if (e->queue_len == ACTION_QUEUE_SIZE)
                return NULL; /* the driver drains after every call; a full queue is a driver bug */
        struct engine_action *a = &e->queue[(e->queue_head + e->queue_len) % ACTION_QUEUE_SIZE];
        e->queue_len++;
        *a = (struct engine_action) { .kind = kind };
        return a;
}

bool engine_next_action(engine *e, struct engine_action *ret) {
        if (e->queue_len == 0)
                return false;
        *ret = e->queue[e->queue_head];
        e->queue_head = (e->queue_head + 1) % ACTION_QUEUE_SIZE;
        e->queue_len--;
        return true;
}

/* ---- sources ---- */

struct source *engine_find_source(engine *e, uint32_t id) {
        for (size_t i = 0; i < e->n_sources; i++)
                if (e->sources[i]->id == id)
                        return e->sources[i];
        return NULL;
}

static double local_precision(const engine *e) {
        return ntp_log2_to_seconds(e->config.precision);
}

static void start_if_needed(engine *e, int64_t now_mono) {
        if (e->start_mono < 0) {
                e->start_mono = now_mono;
                struct discipline_config dc = discipline_config_of(&e->config);
                discipline_init(&e->discipline, &dc, now_mono);
        }
}

int64_t engine_add_source(engine *e, const struct engine_source_config *c, int64_t now_mono) {
        if (!c || !c->name || strnlen(c->name, ENGINE_NAME_MAX) >= ENGINE_NAME_MAX)
                return -EINVAL;
        if (e->n_sources >= ENGINE_MAX_SOURCES)
                return -E2BIG;

        start_if_needed(e, now_mono);
        struct source *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->name = strdup(c->name);
        if (!s->name) {
                free(s);
                return -ENOMEM;
        }
        s->id = e->next_id++;
        s->config = *c;
        s->config.name = s->name;
        s->state = SOURCE_STATE_NEW;
        s->tally = TALLY_REJECTED;
        s->stratum = NTP_STRATUM_UNSYNC;
        s->last_rx_mono = -1;
        s->last_result = RESPONSE_OK;
        poll_init(&s->poll, c->minpoll, c->maxpoll, c->iburst, now_mono);
        clock_filter_init(&s->filter, WANDER, local_precision(e));
        e->sources[e->n_sources++] = s;
        return s->id;
}

int engine_remove_source(engine *e, uint32_t id) {
        for (size_t i = 0; i < e->n_sources; i++) {
                if (e->sources[i]->id != id)
                        continue;
                source_free(e->sources[i]);
                memmove(&e->sources[i], &e->sources[i + 1], (e->n_sources - i - 1) * sizeof(e->sources[0]));
                e->n_sources--;
                if (e->system_peer == (int64_t) id)
                        set_unsynchronized(e, "the system peer was removed");
                return 0;
        }
        return -ENOENT;
}

/* ---- sending ---- */

static uint64_t random_nonce(engine *e) {
        uint64_t n;
        do
                n = e->config.random_u64(e->config.random_userdata);
        while (n == 0);
        return n;
}

/* Up to 1/16 of the interval, so that sources started together drift apart. */
static int64_t poll_jitter(engine *e, const struct source *s) {
        int64_t span = poll_interval_ns(s->poll.poll) / 16;
        return span > 0 ? (int64_t) (e->config.random_u64(e->config.random_userdata) % (uint64_t) span) : 0;
}

static void update_reachability(struct source *s) {
        if (s->state == SOURCE_STATE_DENIED)
                return;
        if (s->poll.reach == 0 && (s->last_rx_mono >= 0 || s->poll.sent >= 8))
                s->state = SOURCE_STATE_UNREACHABLE;
}

static bool interleaved_request_due(const struct source *s) {
        return s->config.xleave && s->exchange.valid && s->exchange.requests_since < MAX_INTERLEAVED_REQUESTS;
}

/* An interleaved request (as chrony's): origin = the server's receive timestamp of its last valid
 * reply, which is how the server finds that reply's real transmit time. The receive timestamp,
 * which an interleaved reply echoes as its origin, is a second random nonce (chrony sends its
 * local receive time there; no server reads it) distinct from the transmit one, as servers
 * require to tell the modes apart. */
static void make_interleaved(engine *e, const struct source *s, struct ntp_packet *p) {
        p->origin_ts = s->exchange.remote_rx;
        do
                p->receive_ts = random_nonce(e);
        while (p->receive_ts == p->transmit_ts || p->receive_ts == p->origin_ts);
}

static void send_request(engine *e, struct source *s, int64_t now_mono) {
        struct engine_action *a = queue_push(e, ENGINE_ACTION_SEND);
        if (!a)
                return;
        /* Client data minimization: only version, mode and a random transmit timestamp. */
        struct ntp_packet p = {
                .version = 4,
                .mode = NTP_MODE_CLIENT,
                .transmit_ts = random_nonce(e),
        };
        if (interleaved_request_due(s))
                make_interleaved(e, s, &p);
        if (s->exchange.valid)
                s->exchange.requests_since++;
        a->source_id = s->id;
        a->packet_len = ntp_packet_write(&p, a->packet);

        s->request = (struct request_state) {
                .outstanding = true,
                .nonce = p.transmit_ts,
                .interleaved_nonce = p.receive_ts,
                .last_reply_transmit = s->request.last_reply_transmit,
        };
        s->request_mono = now_mono;
        if (s->poll.sent == 0)
                s->first_request_mono = now_mono;
        s->burst_request = s->poll.burst_left > 0;
        s->request_steps = e->discipline.steps;
        s->t1_known = false;
        e->packets_sent++;
        poll_sent(&s->poll, now_mono, poll_jitter(e, s));
        update_reachability(s);
}

void engine_request_sent(engine *e, uint32_t id, int64_t t1_real) {
        struct source *s = engine_find_source(e, id);
        if (!s || !s->request.outstanding)
                return;
        s->t1_real = t1_real;
        s->t1_known = true;
}

/* ---- estimates and selection ---- */

static double frequency_prior_sd(const engine *e) {
        return e->config.initial_frequency_known ? KNOWN_FREQUENCY_SD : UNKNOWN_FREQUENCY_SD;
}

static void estimate_source(engine *e, struct source *s, int64_t now_mono) {
        s->has_estimate = clock_filter_estimate(&s->filter, now_mono, frequency_prior_sd(e), &s->estimate);
        if (!s->has_estimate)
                return;
        const struct filter_estimate *est = &s->estimate;
        double age = ns_to_seconds(now_mono - est->last_mono);
        s->offset = est->uncorrected - discipline_correction(&e->discipline, now_mono);
        s->root_distance = (s->root_delay + est->min_delay) / 2 + s->root_dispersion + PHI * age +
                           est->offset_sd + est->jitter + local_precision(e);
}

static bool is_candidate(const engine *e, struct source *s) {
        if (s->config.noselect || !s->has_estimate || s->poll.reach == 0)
                return false;
        if (s->state == SOURCE_STATE_DENIED)
                return false;
        if (s->root_distance > e->config.max_distance) {
                s->state = SOURCE_STATE_TOO_FAR;
                return false;
        }
        return true;
}

static void set_unsynchronized(engine *e, const char *reason) {
        if (e->synchronized && e->config.clock_control) {
                struct engine_action *a = queue_push(e, ENGINE_ACTION_SET_STATUS);
                if (a) {
                        a->synchronized = false;
                        a->leap = NTP_LEAP_NONE;
                        a->max_error = 16;
                        a->est_error = 16;
                }
        }
        e->synchronized = false;
        e->unsync_reason = reason;
        for (size_t i = 0; i < e->n_sources; i++)
                if (e->sources[i]->tally == TALLY_SYSTEM_PEER)
                        e->sources[i]->tally = TALLY_CANDIDATE;
        e->stratum = NTP_STRATUM_UNSYNC;
        e->system_peer = -1;
        e->leap = NTP_LEAP_NONE;
}

static int64_t real_now(const engine *e, int64_t now_mono) {
        return e->known_real + (now_mono - e->known_real_mono);
}

static enum ntp_leap accepted_leap(const engine *e, enum ntp_leap voted, int64_t now_mono) {
        if (voted == NTP_LEAP_NONE || !e->real_known || !leap_month_allows(real_now(e, now_mono)))
                return NTP_LEAP_NONE;
        return voted;
}

static void emit_clock_actions(engine *e, const struct discipline_actions *d) {
        struct engine_action *a;

        if (d->decision == DISCIPLINE_STEP && (a = queue_push(e, ENGINE_ACTION_STEP)))
                a->offset = d->step;
        if (d->set_frequency && (a = queue_push(e, ENGINE_ACTION_SET_FREQUENCY)))
                a->frequency_ppm = d->frequency_ppm;
        if ((a = queue_push(e, ENGINE_ACTION_SLEW))) {
                a->offset = d->slew;
                a->time_constant = d->time_constant;
        }
}

static void emit_status(engine *e, int64_t now_mono) {
        struct engine_action *a = queue_push(e, ENGINE_ACTION_SET_STATUS);
        if (!a)
                return;
        bool arm_leap = e->leap != NTP_LEAP_NONE && leap_is_last_day(real_now(e, now_mono));
        a->synchronized = true;
        a->leap = arm_leap ? e->leap : NTP_LEAP_NONE;
        a->max_error = e->root_delay / 2 + e->root_dispersion;
        a->est_error = e->jitter;
}

static void adopt_selection(engine *e, const struct source *peer, const struct select_result *r,
                            int64_t now_mono) {
        e->synchronized = true;
        e->unsync_reason = NULL;
        e->system_peer = peer->id;
        e->stratum = (uint8_t) (peer->stratum + 1);
        e->refid = peer->config.refid;
        e->offset = r->offset;
        e->jitter = r->jitter;
        e->root_delay = peer->root_delay + peer->estimate.min_delay;
        e->root_dispersion = peer->root_dispersion + peer->estimate.offset_sd + r->jitter + local_precision(e);
        e->residual_frequency = r->frequency;
        e->leap = accepted_leap(e, r->leap, now_mono);
        e->poll = peer->poll.poll;
        e->last_update_mono = now_mono;
        e->last_update_real = e->real_known ? real_now(e, now_mono) : 0;
        e->n_selected = r->n_survivors;
}

/* A burst lasts until the reply to its last request, or until that request is given up. */
static bool bursting(const struct source *s) {
        return s->poll.burst_left > 0 || (s->burst_request && s->request.outstanding);
}

/* A source has had its chance at startup once it answered (twice while bursting), or once
 * STARTUP_REPLY_WAIT_NS passed since its first request without an answer. Counted from the last
 * request instead, a silent source in an iburst (a request every 2 s) would hold the first update
 * for its whole burst, and every such server added before then would hold it again. */
static bool startup_heard(const struct source *s, int64_t now_mono) {
        if (s->filter.n > 0)
                return !bursting(s) || s->filter.n >= STARTUP_BURST_SAMPLES;
        return s->poll.sent > 0 && now_mono - s->first_request_mono >= STARTUP_REPLY_WAIT_NS;
}

/* Everyone has had a chance to answer before the first clock update, so that a falseticker that
 * happens to answer first cannot steer the initial step. */
static bool startup_settled(const engine *e, int64_t now_mono) {
        for (size_t i = 0; i < e->n_sources; i++) {
                const struct source *s = e->sources[i];
                if (s->state == SOURCE_STATE_DENIED || s->config.noselect)
                        continue;
                if (!startup_heard(s, now_mono))
                        return false;
        }
        return true;
}

/* A new slew replaces the old one, but the kernel finishes the chunk of the current second: the
 * account can be off by that chunk from now on, which older samples must allow for. */
static void note_account_uncertainty(engine *e, double error) {
        if (error <= 0)
                return;
        for (size_t i = 0; i < e->n_sources; i++)
                clock_filter_add_frame_error(&e->sources[i]->filter, error);
}

static void apply_update(engine *e, const struct source *peer, const struct select_result *r, int64_t now_mono) {
        struct discipline_actions d;
        double account_error = discipline_slew_uncertainty(&e->discipline, now_mono);
        double noise = fmax(peer->estimate.offset_sd, local_precision(e));
        enum discipline_decision decision = discipline_update(&e->discipline, now_mono, r->offset, noise,
                                                              r->frequency, r->frequency_sd, peer->poll.poll, &d);
        e->last_decision = decision;
        if (decision == DISCIPLINE_PANIC) {
                set_unsynchronized(e, "offset beyond the panic threshold");
                return;
        }
        adopt_selection(e, peer, r, now_mono);
        /* Waiting out the stepout, the sources are still followed and shown; only the clock waits. */
        if (decision == DISCIPLINE_WAIT_STEPOUT || !e->config.clock_control)
                return;
        note_account_uncertainty(e, account_error);
        emit_clock_actions(e, &d);
        emit_status(e, now_mono);
        if (decision == DISCIPLINE_STEP)
                for (size_t i = 0; i < e->n_sources; i++)
                        poll_reset_interval(&e->sources[i]->poll);
}

static bool initial_step_due(const engine *e, double offset) {
        const struct engine_config *c = &e->config;
        return !e->discipline.updated && c->allow_initial_step && fabs(offset) > c->initial_step_threshold;
}

/* One round of selection: the candidates, the sources they stand for, and the outcome. */
struct selection {
        struct select_candidate c[ENGINE_MAX_SOURCES];
        struct source *owner[ENGINE_MAX_SOURCES];
        size_t n;
        struct select_result result;
        enum select_failure failure;
};

static void run_selection(engine *e, int64_t now_mono, struct selection *sel) {
        sel->n = 0;
        for (size_t i = 0; i < e->n_sources; i++) {
                struct source *s = e->sources[i];
                s->tally = TALLY_REJECTED;
                estimate_source(e, s, now_mono);
                if (!is_candidate(e, s))
                        continue;
                sel->owner[sel->n] = s;
                sel->c[sel->n++] = (struct select_candidate) {
                        .id = s->id,
                        .offset = s->offset,
                        .frequency = s->estimate.frequency,
                        .frequency_sd = s->estimate.frequency_sd,
                        .root_distance = s->root_distance,
                        .jitter = s->estimate.jitter,
                        .stratum = s->stratum,
                        .prefer = s->config.prefer,
                        .leap = s->leap,
                };
        }

        sel->failure = select_sources(sel->c, sel->n, e->config.min_sources ? e->config.min_sources : 1,
                                      e->config.min_distance, &sel->result);
        for (size_t i = 0; i < sel->n; i++) {
                struct source *s = sel->owner[i];
                s->tally = sel->c[i].tally;
                if (s->state == SOURCE_STATE_FALSETICKER || s->state == SOURCE_STATE_TOO_FAR)
                        s->state = SOURCE_STATE_OK;
                if (sel->c[i].tally == TALLY_FALSETICKER)
                        s->state = SOURCE_STATE_FALSETICKER;
        }
}

static bool survived(const struct selection *sel, const struct source *s) {
        for (size_t i = 0; i < sel->n; i++)
                if (sel->owner[i] == s)
                        return sel->c[i].tally == TALLY_CANDIDATE || sel->c[i].tally == TALLY_SYSTEM_PEER;
        return false;
}

/* The offset has stayed beyond the step threshold for the stepout interval: the clock was most
 * likely set by someone else. Samples from before that moment describe the old clock, so only
 * the ones since decide how far to step. */
static void forget_samples_before(engine *e, int64_t since_mono) {
        for (size_t i = 0; i < e->n_sources; i++)
                clock_filter_keep_since(&e->sources[i]->filter, since_mono);
}

/* Selects among the sources and, when `trigger` survived (or nothing was updated yet), updates
 * the clock. trigger may be NULL (a timer asked). */
static void system_update(engine *e, const struct source *trigger, int64_t now_mono) {
        struct selection sel;

        if (!e->discipline.updated && !startup_settled(e, now_mono))
                return;

        run_selection(e, now_mono, &sel);
        if (sel.failure == SELECT_OK && discipline_stepout_due(&e->discipline, now_mono, sel.result.offset)) {
                forget_samples_before(e, e->discipline.over_step_since);
                run_selection(e, now_mono, &sel);
        }
        if (sel.failure != SELECT_OK) {
                e->n_selected = 0;
                set_unsynchronized(e, select_failure_to_string(sel.failure));
                return;
        }
        if (!survived(&sel, trigger) && e->synchronized)
                return;

        /* Within a burst the clock is only ever stepped: a slew would make the burst's own
         * samples disagree with each other, and they are what the frequency is first learned
         * from. Slewing waits for the burst to end. */
        const struct source *peer = sel.owner[sel.result.system_peer];
        if (bursting(peer) && !initial_step_due(e, sel.result.offset)) {
                if (!e->synchronized)
                        e->unsync_reason = "measuring: initial burst in progress";
                return;
        }
        apply_update(e, peer, &sel.result, now_mono);
}

/* ---- receiving ---- */

struct measurement {
        double offset, delay;
};

/* θ = ((T2 − T1) + (T3 − T4)) / 2, δ = (T4 − T1) − (T3 − T2), all as differences so that an era
 * boundary between them does not matter. T3 is the packet's transmit timestamp; T2 is its receive
 * timestamp in basic mode, the previous reply's in interleaved mode. */
static bool measure(const struct ntp_packet *p, ntp_ts t2, int64_t t1_real, int64_t t4_real, double precision,
                    struct measurement *ret) {
        ntp_ts t1 = ntp_ts_from_unix_ns(t1_real), t4 = ntp_ts_from_unix_ns(t4_real);
        double server_time = ntp_ts_diff(p->transmit_ts, t2);
        double round_trip = ntp_ts_diff(t4, t1);

        if (server_time < 0 || round_trip < 0)
                return false;
        double delay = round_trip - server_time;
        if (delay < -precision)
                return false;
        *ret = (struct measurement) {
                .offset = (ntp_ts_diff(t2, t1) + ntp_ts_diff(p->transmit_ts, t4)) / 2,
                .delay = fmax(delay, precision),
        };
        return true;
}

static void handle_kod(engine *e, struct source *s, enum response_result r, int64_t now_mono) {
        if (r == RESPONSE_KOD_OTHER)
                return; /* a code we do not know: ignored, as RFC 5905 says */
        s->request.outstanding = false;
        s->last_result = r;
        if (r == RESPONSE_KOD_RATE) {
                poll_back_off(&s->poll);
                s->poll.next_mono = now_mono + poll_interval_ns(s->poll.poll);
        } else if (r == RESPONSE_KOD_DENY) {
                s->state = SOURCE_STATE_DENIED;
                s->tally = TALLY_REJECTED;
        }
}

static void remember_real_time(engine *e, int64_t real, int64_t mono) {
        e->known_real = real;
        e->known_real_mono = mono;
        e->real_known = true;
}

/* What a valid reply tells of its server, sample or not. */
static void note_reply(struct source *s, const struct ntp_packet *p, bool interleaved, int64_t now_mono) {
        s->request.outstanding = false;
        s->request.last_reply_transmit = p->transmit_ts;
        s->interleaved = interleaved;
        s->stratum = p->stratum;
        s->refid = p->refid;
        s->leap = (enum ntp_leap) p->leap;
        s->root_delay = ntp_short_to_seconds(p->root_delay);
        s->root_dispersion = ntp_short_to_seconds(p->root_dispersion);
        s->precision = p->precision;
        s->reference_ts = p->reference_ts;
        s->transmit_ts = p->transmit_ts;
        s->last_rx_mono = now_mono;
        s->last_result = RESPONSE_OK;
        if (s->state != SOURCE_STATE_FALSETICKER)
                s->state = SOURCE_STATE_OK;

        bool recovered = poll_replied(&s->poll);
        if (recovered && s->config.iburst)
                poll_start_burst(&s->poll, now_mono + POLL_BURST_INTERVAL_NS);
}

/* The exchange this reply closed, kept for an interleaved reply to the next request. */
static void keep_exchange(engine *e, struct source *s, const struct ntp_packet *p, int64_t t4_real,
                          bool accumulated, int64_t now_mono) {
        s->exchange = (struct interleaved_exchange) {
                .valid = true,
                .unused = !accumulated,
                .remote_rx = p->receive_ts,
                .t1_real = s->t1_real,
                .t4_real = t4_real,
                .rx_mono = now_mono,
                .correction = discipline_correction(&e->discipline, now_mono),
                .steps = s->request_steps,
        };
}

/* sample_mono is when the exchange ended and correction the clock's correction then: an
 * interleaved sample describes the previous exchange. */
static void add_sample(engine *e, struct source *s, const struct ntp_packet *p, const struct measurement *m,
                       int64_t sample_mono, double correction, int64_t now_mono) {
        struct filter_sample sample = {
                .t_mono = sample_mono,
                .offset = m->offset,
                .uncorrected = m->offset + correction,
                .delay = m->delay,
                .dispersion = local_precision(e) + ntp_log2_to_seconds(p->precision) +
                              discipline_slew_uncertainty(&e->discipline, now_mono),
        };
        double surprise = clock_filter_surprise(&s->filter, &sample, frequency_prior_sd(e));
        clock_filter_add(&s->filter, &sample);
        s->last_offset = m->offset;
        s->last_delay = m->delay;
        poll_adapt(&s->poll, surprise);
}

static enum response_result receive_basic(engine *e, struct source *s, const struct ntp_packet *p,
                                          int64_t t4_real, int64_t now_mono) {
        struct measurement m;
        if (!measure(p, p->receive_ts, s->t1_real, t4_real, local_precision(e), &m))
                return RESPONSE_BAD_TIMESTAMPS;

        remember_real_time(e, t4_real, now_mono);
        keep_exchange(e, s, p, t4_real, true, now_mono);
        note_reply(s, p, false, now_mono);
        add_sample(e, s, p, &m, now_mono, discipline_correction(&e->discipline, now_mono), now_mono);
        system_update(e, s, now_mono);
        return RESPONSE_OK;
}

/* An interleaved reply carries the real transmit time of the previous reply: with the kept T1,
 * T2 and T4 it completes the previous exchange. That exchange is not used when it was already a
 * basic sample (no sample twice) or when the clock was stepped since its request left; the reply
 * still counts, and its own exchange waits for the next one (chrony does the same). */
static enum response_result receive_interleaved(engine *e, struct source *s, const struct ntp_packet *p,
                                                int64_t t4_real, int64_t now_mono) {
        const struct interleaved_exchange prev = s->exchange;
        bool completes = prev.valid && prev.unused && prev.steps == e->discipline.steps;
        struct measurement m;

        if (!prev.valid)
                return RESPONSE_BOGUS_ORIGIN; /* we never sent an interleaved request without one */
        /* T3 must be of the reply that T2 belongs to: a server's interleaved transmit time cannot
         * precede the receive time of that request. */
        if (!measure(p, prev.remote_rx, prev.t1_real, prev.t4_real, local_precision(e), &m))
                return RESPONSE_BAD_TIMESTAMPS;

        remember_real_time(e, t4_real, now_mono);
        keep_exchange(e, s, p, t4_real, false, now_mono);
        note_reply(s, p, true, now_mono);
        if (!completes)
                return RESPONSE_OK;
        add_sample(e, s, p, &m, prev.rx_mono, prev.correction, now_mono);
        system_update(e, s, now_mono);
        return RESPONSE_OK;
}

enum response_result engine_receive(engine *e, uint32_t id, const uint8_t *buf, size_t len,
                                    int64_t t4_real, int64_t now_mono) {
        struct source *s = engine_find_source(e, id);
        struct ntp_packet p;

        if (!s || s->state == SOURCE_STATE_DENIED)
                return RESPONSE_UNEXPECTED;
        enum response_result r = check_response(buf, len, &s->request, &p);
        if (r == RESPONSE_OK && !s->t1_known)
                r = RESPONSE_UNEXPECTED; /* the driver never said when the request left */
        if (r == RESPONSE_OK && s->request_steps != e->discipline.steps)
                r = RESPONSE_STALE; /* t1 was read from the clock before it was stepped */
        if (response_result_is_kod(r)) {
                handle_kod(e, s, r, now_mono);
                return r;
        }
        if (r != RESPONSE_OK)
                return r;
        if (response_is_interleaved(&p, &s->request))
                return receive_interleaved(e, s, &p, t4_real, now_mono);
        return receive_basic(e, s, &p, t4_real, now_mono);
}

/* ---- timers ---- */

static int64_t sync_loss_deadline(const engine *e) {
        if (!e->synchronized || e->last_update_mono < 0)
                return INT64_MAX;
        return e->last_update_mono + SYNC_LOSS_POLLS * poll_interval_ns(e->poll);
}

static bool startup_pending(const engine *e) {
        return !e->discipline.updated && e->n_sources > 0 && !e->synchronized;
}

void engine_run(engine *e, int64_t now_mono) {
        start_if_needed(e, now_mono);
        e->last_run_mono = now_mono;
        for (size_t i = 0; i < e->n_sources && !e->offline; i++) {
                struct source *s = e->sources[i];
                if (s->state != SOURCE_STATE_DENIED && now_mono >= s->poll.next_mono)
                        send_request(e, s, now_mono);
        }
        if (startup_pending(e))
                system_update(e, NULL, now_mono);
        if (now_mono >= sync_loss_deadline(e))
                set_unsynchronized(e, "no recent reply from the selected sources");
}

int64_t engine_next_wakeup(engine *e) {
        int64_t next = sync_loss_deadline(e);
        for (size_t i = 0; i < e->n_sources && !e->offline; i++) {
                const struct source *s = e->sources[i];
                if (s->state == SOURCE_STATE_DENIED)
                        continue;
                if (s->poll.next_mono < next)
                        next = s->poll.next_mono;
                /* The first update may wait on a source that never answers. */
                if (startup_pending(e) && s->filter.n == 0 && s->poll.sent > 0) {
                        int64_t waited = s->first_request_mono + STARTUP_REPLY_WAIT_NS;
                        if (waited > e->last_run_mono && waited < next)
                                next = waited;
                }
        }
        return next;
}

/* Every source that is not denied polls now: with a burst when it has been unreachable, or (with
 * iburst_too) when it asked for iburst. */
static void poll_now(struct source *s, int64_t now_mono, bool iburst_too) {
        if (s->state == SOURCE_STATE_DENIED)
                return;
        s->poll.next_mono = now_mono;
        if (s->poll.reach == 0 || (iburst_too && s->config.iburst))
                poll_start_burst(&s->poll, now_mono);
}

static void poll_all_now(engine *e, int64_t now_mono, bool iburst_too) {
        for (size_t i = 0; i < e->n_sources; i++)
                poll_now(e->sources[i], now_mono, iburst_too);
        engine_run(e, now_mono);
}

void engine_poll_source_now(engine *e, uint32_t id, int64_t now_mono) {
        struct source *s = engine_find_source(e, id);
        if (!s)
                return;
        poll_now(s, now_mono, true);
        engine_run(e, now_mono);
}

void engine_burst(engine *e, int64_t now_mono) {
        poll_all_now(e, now_mono, false);
}

void engine_burst_unreachable(engine *e, int64_t now_mono) {
        for (size_t i = 0; i < e->n_sources; i++) {
                struct source *s = e->sources[i];
                if (s->state == SOURCE_STATE_UNREACHABLE)
                        poll_start_burst(&s->poll, now_mono);
        }
        engine_run(e, now_mono);
}

void engine_set_online(engine *e, bool online, int64_t now_mono) {
        if (online == !e->offline)
                return;
        e->offline = !online;
        if (online)
                poll_all_now(e, now_mono, true);
}
