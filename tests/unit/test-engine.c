/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for engine, driven as a driver drives it: engine_run at each wakeup, every action
 * drained and carried out (SENDs answered by modelled servers, clock actions applied to the
 * simulator's model of the local clock), engine_request_sent and engine_receive with packets built by ntp_packet_write.
 * The random source is a fixed PRNG, so every run is the same. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/engine.h"
#include "core/ntp-packet.h"
#include "core/ntp-time.h"
#include "sim-clock.h"
#include "unit-test.h"

#define SEC INT64_C(1000000000)
#define MS INT64_C(1000000)
#define MINUTE (60 * SEC)
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)
#define UNIX_2024 (INT64_C(1704067200) * SEC)
#define UNIX_NTP_ERA_1 (INT64_C(2085978496) * SEC)  /* 2036-02-07T06:28:16Z */
#define ONE_WAY (10 * MS)
#define PROCESSING (1 * MS)
#define MAX_IDS 160
#define BIG_PACKET (NTP_MAX_PACKET_SIZE + 8)

/* ---- the modelled world ---- */

struct server {
        bool answer;                 /* answer every request by itself */
        double error;                /* s, its clock minus the true time */
        uint8_t stratum;
        uint32_t refid;
        enum ntp_leap leap;
        double root_dispersion;      /* s */
};

struct request {
        bool sent;
        uint64_t nonce;
        int64_t t1_real, mono;
};

struct pending_reply {
        bool pending;
        int64_t at;
        uint8_t buf[NTP_HEADER_SIZE];
};

struct harness {
        engine *e;
        struct engine_config config;
        uint64_t rng;
        int64_t mono;
        int64_t true0;               /* true time at mono 0 */
        bool auto_request_sent;      /* call engine_request_sent for every SEND */
        struct sim_clock clock;      /* true time is mono; a perfect oscillator */
        struct server servers[MAX_IDS];
        struct request requests[MAX_IDS];
        struct pending_reply replies[MAX_IDS];
        unsigned sends[MAX_IDS];
        unsigned steps, slews, frequencies, statuses;
        double last_step, last_slew;
        struct engine_action last_status;
        int64_t last_run;            /* when engine_run last ran */
        bool input_since_run;        /* a reply, a new source, ... since then */
        unsigned stale_wakeups;      /* engine_next_wakeup at or before the last engine_run, nothing since */
};

/* The engine's random numbers (engine_config.random_u64): the models' splitmix64 over h->rng. */
static uint64_t splitmix64(void *userdata) {
        return sim_splitmix64(userdata);
}

static int64_t true_real(const struct harness *h, int64_t mono) {
        return h->true0 + mono;
}

/* Brings the clock model to now, before it is read or adjusted. */
static void clock_to_now(struct harness *h) {
        /* The model only runs forwards: a test may not take h->mono back behind it. */
        assert_true(h->mono >= h->clock.now_ns);
        sim_clock_advance(&h->clock, h->mono);
}

static int64_t local_now(struct harness *h) {
        clock_to_now(h);
        return sim_clock_read_ns(&h->clock, h->true0);
}

/* Sets the local clock by offset now, as a STEP action or anyone else with settimeofday would. */
static void step_clock(struct harness *h, double offset) {
        clock_to_now(h);
        sim_clock_step(&h->clock, offset);
}

/* The local clock's true offset now: what the engine should find. */
static double true_offset(struct harness *h) {
        return ns_to_seconds(true_real(h, h->mono) - local_now(h));
}

static uint64_t read_be64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v = v << 8 | p[i];
        return v;
}

static void harness_init_at(struct harness *h, bool clock_control, int64_t true0, double offset0) {
        memset(h, 0, sizeof(*h));
        engine_config_init(&h->config);
        h->config.clock_control = clock_control;
        h->config.random_u64 = splitmix64;
        h->config.random_userdata = &h->rng;
        h->rng = 42;
        h->true0 = true0;
        /* offset0 is what the local clock lacks: it starts behind by that much. */
        sim_clock_init(&h->clock, &(struct sim_clock_config) { .initial_offset = -offset0 }, NULL);
        h->auto_request_sent = true;
        h->last_run = -1;
}

/* The engine of the running test, freed by the teardown should the test fail half-way. */
static engine *live_engine;

static int free_live_engine(void **state) {
        live_engine = engine_free(live_engine);
        return 0;
}

static void harness_start(struct harness *h) {
        assert_null(live_engine);
        h->e = live_engine = engine_new(&h->config);
        assert_non_null(h->e);
}

static void harness_init(struct harness *h, bool clock_control, double offset0) {
        harness_init_at(h, clock_control, UNIX_2024, offset0);
        harness_start(h);
}

static void harness_done(struct harness *h) {
        /* A wakeup no later than the engine_run that asked for it would spin an event loop. */
        assert_int_equal(h->stale_wakeups, 0);
        assert_ptr_equal(h->e, live_engine);
        h->e = live_engine = engine_free(h->e);
}

static uint32_t refid_of(unsigned n) {
        return UINT32_C(0xc0000200) | n; /* 192.0.2.n */
}

static uint32_t add_source_with(struct harness *h, const struct engine_source_config *c, double error, bool answer) {
        int64_t id = engine_add_source(h->e, c, h->mono);
        assert_true(id > 0 && id < MAX_IDS);
        h->input_since_run = true;
        h->servers[id] = (struct server) {
                .answer = answer,
                .error = error,
                .stratum = 2,
                .refid = UINT32_C(0xcb007101), /* the server's own upstream, 203.0.113.1 */
                .root_dispersion = 0.001,
        };
        return (uint32_t) id;
}

static uint32_t add_source(struct harness *h, double error, bool answer) {
        char name[32];
        unsigned n = 0;

        for (unsigned i = 0; i < MAX_IDS; i++)
                n += h->servers[i].stratum != 0;
        snprintf(name, sizeof(name), "server%u.example", n + 1);
        struct engine_source_config c = { .name = name, .refid = refid_of(n + 1) };
        return add_source_with(h, &c, error, answer);
}

/* What the server answers to the request id last sent, unchanged: a genuine reply. */
static struct ntp_packet genuine_reply(const struct harness *h, uint32_t id) {
        const struct request *r = &h->requests[id];
        const struct server *s = &h->servers[id];
        int64_t t2 = true_real(h, r->mono + ONE_WAY) + (int64_t) llround(s->error * 1e9);

        assert_true(r->sent);
        return (struct ntp_packet) {
                .leap = s->leap,
                .version = 4,
                .mode = NTP_MODE_SERVER,
                .stratum = s->stratum,
                .poll = 6,
                .precision = -20,
                .root_delay = ntp_short_from_seconds(0.002),
                .root_dispersion = ntp_short_from_seconds(s->root_dispersion),
                .refid = s->refid,
                .reference_ts = ntp_ts_from_unix_ns(t2 - 30 * SEC),
                .origin_ts = r->nonce,
                .receive_ts = ntp_ts_from_unix_ns(t2),
                .transmit_ts = ntp_ts_from_unix_ns(t2 + PROCESSING),
        };
}

static int64_t reply_arrival(const struct harness *h, uint32_t id) {
        return h->requests[id].mono + 2 * ONE_WAY + PROCESSING;
}

/* A SEND must be a minimal client request: v4, mode 3, all zero but a random transmit timestamp. */
static void assert_client_request(const struct engine_action *a) {
        assert_int_equal(a->packet_len, NTP_HEADER_SIZE);
        assert_int_equal(a->packet[0], 0x23); /* LI 0, VN 4, mode 3 */
        for (size_t i = 1; i < 40; i++)
                if (a->packet[i] != 0) {
                        print_error("byte %zu of a request is 0x%02x\n", i, a->packet[i]);
                        fail();
                }
        assert_true(read_be64(a->packet + 40) != 0);
}

static void handle_send(struct harness *h, const struct engine_action *a) {
        uint32_t id = a->source_id;

        assert_true(id > 0 && id < MAX_IDS);
        assert_client_request(a);
        uint64_t nonce = read_be64(a->packet + 40);
        if (h->requests[id].sent)
                assert_true(nonce != h->requests[id].nonce);
        h->requests[id] = (struct request) {
                .sent = true,
                .nonce = nonce,
                .t1_real = local_now(h),
                .mono = h->mono,
        };
        h->sends[id]++;
        if (h->auto_request_sent)
                engine_request_sent(h->e, id, h->requests[id].t1_real);
        if (h->servers[id].answer) {
                struct ntp_packet p = genuine_reply(h, id);
                h->replies[id].pending = true;
                h->replies[id].at = reply_arrival(h, id);
                ntp_packet_write(&p, h->replies[id].buf);
        } else {
                h->replies[id].pending = false;
        }
}

static void drain(struct harness *h) {
        struct engine_action a;

        while (engine_next_action(h->e, &a)) {
                switch (a.kind) {
                case ENGINE_ACTION_SEND:
                        handle_send(h, &a);
                        break;
                case ENGINE_ACTION_STEP:
                        step_clock(h, a.offset);
                        h->steps++;
                        h->last_step = a.offset;
                        break;
                case ENGINE_ACTION_SLEW:
                        clock_to_now(h);
                        sim_clock_slew(&h->clock, a.offset, a.time_constant);
                        h->slews++;
                        h->last_slew = a.offset;
                        break;
                case ENGINE_ACTION_SET_FREQUENCY:
                        clock_to_now(h);
                        sim_clock_set_frequency(&h->clock, a.frequency_ppm);
                        h->frequencies++;
                        break;
                case ENGINE_ACTION_SET_STATUS:
                        h->statuses++;
                        h->last_status = a;
                        break;
                default:
                        fail_msg("unknown action kind %d", (int) a.kind);
                }
        }
}

static unsigned clock_actions(const struct harness *h) {
        return h->steps + h->slews + h->frequencies + h->statuses;
}

static void run(struct harness *h) {
        engine_run(h->e, h->mono);
        h->last_run = h->mono;
        h->input_since_run = false;
        drain(h);
}

static enum response_result deliver(struct harness *h, uint32_t id, const uint8_t *buf, size_t len) {
        enum response_result r = engine_receive(h->e, id, buf, len, local_now(h), h->mono);
        h->input_since_run = true;
        drain(h);
        return r;
}

static enum response_result deliver_packet(struct harness *h, uint32_t id, const struct ntp_packet *p) {
        uint8_t buf[NTP_HEADER_SIZE];

        ntp_packet_write(p, buf);
        return deliver(h, id, buf, sizeof(buf));
}

/* Lets time pass to `until` as an event loop would: wakeups and replies in time order. */
static void advance(struct harness *h, int64_t until) {
        for (unsigned guard = 0;; guard++) {
                assert_true(guard < 1000000);
                int64_t t = engine_next_wakeup(h->e);
                uint32_t due = 0;

                if (t <= h->last_run && !h->input_since_run) {
                        /* Asked again for a time engine_run has already seen: an event loop
                         * would spin. */
                        h->stale_wakeups++;
                        t = h->last_run + SEC;
                }
                for (uint32_t id = 1; id < MAX_IDS; id++)
                        if (h->replies[id].pending && h->replies[id].at <= t) {
                                t = h->replies[id].at;
                                due = id;
                        }
                if (t > until)
                        break;
                if (t > h->mono)
                        h->mono = t;
                if (due != 0) {
                        h->replies[due].pending = false;
                        deliver(h, due, h->replies[due].buf, NTP_HEADER_SIZE);
                } else
                        run(h);
        }
        if (until > h->mono)
                h->mono = until;
}

/* Runs the engine until it sends to id (wakeups only: nothing is delivered on the way). */
static void run_until_send(struct harness *h, uint32_t id) {
        unsigned before = h->sends[id];

        for (unsigned guard = 0; h->sends[id] == before; guard++) {
                assert_true(guard < 10000);
                int64_t t = engine_next_wakeup(h->e);
                if (t <= h->last_run && !h->input_since_run)
                        t = h->last_run + SEC;
                if (t > h->mono)
                        h->mono = t;
                run(h);
        }
}

/* ---- snapshots: "nothing changed" ---- */

struct snapshot {
        struct engine_status status;
        struct engine_source_info sources[ENGINE_MAX_SOURCES];
        size_t n_sources;
        int64_t wakeup;
};

static void take_snapshot(struct harness *h, struct snapshot *s) {
        memset(s, 0, sizeof(*s));
        engine_get_status(h->e, h->mono, &s->status);
        s->n_sources = engine_get_sources(h->e, s->sources, ELEMENTSOF(s->sources));
        s->wakeup = engine_next_wakeup(h->e);
}

#define ASSERT_SAME(a, b, field) do {                                                        \
                if (memcmp(&(a)->field, &(b)->field, sizeof((a)->field)) != 0) {              \
                        print_error("%s changed\n", #field);                                  \
                        fail();                                                               \
                }                                                                             \
        } while (0)

static void assert_same_snapshot(const struct snapshot *a, const struct snapshot *b) {
        ASSERT_SAME(a, b, status.synchronized);
        ASSERT_SAME(a, b, status.unsync_reason);
        ASSERT_SAME(a, b, status.stratum);
        ASSERT_SAME(a, b, status.refid);
        ASSERT_SAME(a, b, status.system_peer);
        ASSERT_SAME(a, b, status.offset);
        ASSERT_SAME(a, b, status.frequency_ppm);
        ASSERT_SAME(a, b, status.residual_frequency_ppm);
        ASSERT_SAME(a, b, status.root_delay);
        ASSERT_SAME(a, b, status.root_dispersion);
        ASSERT_SAME(a, b, status.leap);
        ASSERT_SAME(a, b, status.poll);
        ASSERT_SAME(a, b, status.last_update_mono);
        ASSERT_SAME(a, b, status.steps);
        ASSERT_SAME(a, b, status.packets_sent);
        ASSERT_SAME(a, b, status.n_selected);
        ASSERT_SAME(a, b, status.last_decision);
        ASSERT_SAME(a, b, n_sources);
        ASSERT_SAME(a, b, wakeup);
        for (size_t i = 0; i < a->n_sources; i++) {
                ASSERT_SAME(a, b, sources[i].id);
                ASSERT_SAME(a, b, sources[i].name);
                ASSERT_SAME(a, b, sources[i].state);
                ASSERT_SAME(a, b, sources[i].tally);
                ASSERT_SAME(a, b, sources[i].stratum);
                ASSERT_SAME(a, b, sources[i].refid);
                ASSERT_SAME(a, b, sources[i].poll);
                ASSERT_SAME(a, b, sources[i].reach);
                ASSERT_SAME(a, b, sources[i].last_rx_mono);
                ASSERT_SAME(a, b, sources[i].offset);
                ASSERT_SAME(a, b, sources[i].delay);
                ASSERT_SAME(a, b, sources[i].jitter);
                ASSERT_SAME(a, b, sources[i].dispersion);
                ASSERT_SAME(a, b, sources[i].root_distance);
                ASSERT_SAME(a, b, sources[i].frequency_ppm);
                ASSERT_SAME(a, b, sources[i].samples);
                ASSERT_SAME(a, b, sources[i].last_result);
                ASSERT_SAME(a, b, sources[i].prefer);
                ASSERT_SAME(a, b, sources[i].noselect);
                ASSERT_SAME(a, b, sources[i].iburst);
        }
}

/* Delivers a packet that must be refused for `expected` and leave everything as it was. */
static void assert_refused(struct harness *h, uint32_t id, const uint8_t *buf, size_t len,
                           enum response_result expected) {
        struct snapshot before, after;
        unsigned actions = clock_actions(h), sends = h->sends[id];

        take_snapshot(h, &before);
        enum response_result r = deliver(h, id, buf, len);
        if (r != expected) {
                print_error("got \"%s\", expected \"%s\"\n", response_result_to_string(r),
                            response_result_to_string(expected));
                fail();
        }
        take_snapshot(h, &after);
        assert_same_snapshot(&before, &after);
        assert_int_equal(clock_actions(h), actions);
        assert_int_equal(h->sends[id], sends);
}

static void assert_packet_refused(struct harness *h, uint32_t id, const struct ntp_packet *p,
                                  enum response_result expected) {
        uint8_t buf[NTP_HEADER_SIZE];

        ntp_packet_write(p, buf);
        assert_refused(h, id, buf, sizeof(buf), expected);
}

static struct engine_source_info source_info(struct harness *h, uint32_t id) {
        struct engine_source_info info;

        assert_int_equal(engine_get_source(h->e, id, &info), 0);
        return info;
}

static struct engine_status status_now(struct harness *h) {
        struct engine_status st;

        engine_get_status(h->e, h->mono, &st);
        return st;
}

/* One source, polled once, not answered by itself: the test plays the server. */
static uint32_t one_manual_source(struct harness *h, bool clock_control, double offset0) {
        harness_init(h, clock_control, offset0);
        uint32_t id = add_source(h, 0, false);
        run(h);
        assert_int_equal(h->sends[id], 1);
        return id;
}

/* ---- the request ---- */

static void test_send_is_a_minimal_client_request(void **state) {
        struct harness h;
        uint32_t id = one_manual_source(&h, true, 0);
        struct engine_action a;

        assert_false(engine_next_action(h.e, &a));
        assert_int_equal(status_now(&h).packets_sent, 1);

        /* The transmit timestamp is the nonce the reply must echo. */
        struct ntp_packet p = genuine_reply(&h, id);
        h.mono = reply_arrival(&h, id);
        p.origin_ts ^= UINT64_C(1) << 40;
        assert_packet_refused(&h, id, &p, RESPONSE_BOGUS_ORIGIN);
        p = genuine_reply(&h, id);
        assert_int_equal(deliver_packet(&h, id, &p), RESPONSE_OK);

        /* Every request has a new nonce (the harness checks on each SEND). */
        run_until_send(&h, id);
        run_until_send(&h, id);
        assert_int_equal(h.sends[id], 3);
        assert_int_equal(status_now(&h).packets_sent, 3);
        harness_done(&h);
}

static void test_nothing_sent_before_run(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        uint32_t id = add_source(&h, 0, true);
        drain(&h);
        assert_int_equal(h.sends[id], 0);
        run(&h);
        assert_int_equal(h.sends[id], 1);
        harness_done(&h);
}

/* ---- accepting a reply ---- */

static void test_genuine_reply_synchronizes(void **state) {
        struct harness h;
        uint32_t id = one_manual_source(&h, true, 0.05);

        struct engine_status st = status_now(&h);
        assert_false(st.synchronized);
        assert_non_null(st.unsync_reason);
        assert_int_equal(st.stratum, NTP_STRATUM_UNSYNC);
        assert_int_equal(st.system_peer, -1);

        struct ntp_packet p = genuine_reply(&h, id);
        h.mono = reply_arrival(&h, id);
        assert_int_equal(deliver_packet(&h, id, &p), RESPONSE_OK);

        st = status_now(&h);
        assert_true(st.synchronized);
        assert_null(st.unsync_reason);
        assert_int_equal(st.stratum, 3);
        assert_int_equal(st.refid, refid_of(1));
        assert_int_equal(st.system_peer, id);
        assert_double_near(st.offset, 0.05, 1e-6);
        assert_int_equal(st.last_update_mono, h.mono);
        assert_int_equal(st.n_selected, 1);
        assert_true(st.root_delay >= 0.002 + 2 * ONE_WAY * 1e-9 - 1e-5);
        assert_true(st.root_dispersion >= 0.001 - 1e-5);

        /* Below the step threshold: a slew, and the kernel told it is synchronized. */
        assert_int_equal(h.steps, 0);
        assert_int_equal(h.slews, 1);
        assert_double_near(h.last_slew, 0.05, 1e-6);
        assert_int_equal(h.statuses, 1);
        assert_true(h.last_status.synchronized);
        assert_int_equal(h.last_status.leap, NTP_LEAP_NONE);

        struct engine_source_info info = source_info(&h, id);
        assert_int_equal(info.state, SOURCE_STATE_OK);
        assert_int_equal(info.tally, '*');
        assert_int_equal(info.stratum, 2);
        assert_int_equal(info.refid, UINT32_C(0xcb007101));
        assert_int_equal(info.reach, 1);
        assert_int_equal(info.samples, 1);
        assert_int_equal(info.last_rx_mono, h.mono);
        assert_int_equal(info.last_result, RESPONSE_OK);
        assert_double_near(info.offset, 0.05, 1e-6);
        assert_double_near(info.delay, 2 * ONE_WAY * 1e-9, 1e-6);
        assert_string_equal(info.name, "server1.example");
        harness_done(&h);
}

static void test_genuine_reply_in_observe_mode(void **state) {
        struct harness h;
        uint32_t id = one_manual_source(&h, false, 0.05);

        struct ntp_packet p = genuine_reply(&h, id);
        h.mono = reply_arrival(&h, id);
        assert_int_equal(deliver_packet(&h, id, &p), RESPONSE_OK);
        assert_int_equal(clock_actions(&h), 0);

        struct engine_status st = status_now(&h);
        assert_true(st.synchronized);
        assert_int_equal(st.stratum, 3);
        assert_int_equal(st.refid, refid_of(1));
        assert_double_near(st.offset, 0.05, 1e-6);
        harness_done(&h);
}

static void test_reply_with_extension_field_is_accepted(void **state) {
        struct harness h;
        uint32_t id = one_manual_source(&h, true, 0);
        /* Without a MAC the last field is at least 28 bytes (RFC 7822). */
        uint8_t buf[NTP_HEADER_SIZE + 28] = {};

        struct ntp_packet p = genuine_reply(&h, id);
        ntp_packet_write(&p, buf);
        buf[NTP_HEADER_SIZE + 1] = 0x04; /* type 0x0004, length 28 */
        buf[NTP_HEADER_SIZE + 3] = 28;
        h.mono = reply_arrival(&h, id);
        assert_int_equal(deliver(&h, id, buf, sizeof(buf)), RESPONSE_OK);
        assert_true(status_now(&h).synchronized);
        harness_done(&h);
}

static void test_version_3_reply_is_accepted(void **state) {
        struct harness h;
        uint32_t id = one_manual_source(&h, true, 0.02);

        struct ntp_packet p = genuine_reply(&h, id);
        p.version = 3;
        h.mono = reply_arrival(&h, id);
        assert_int_equal(deliver_packet(&h, id, &p), RESPONSE_OK);
        assert_true(status_now(&h).synchronized);
        assert_double_near(status_now(&h).offset, 0.02, 1e-6);
        harness_done(&h);
}

/* ---- refused replies ---- */

struct bad_reply {
        const char *name;
        /* Turns the genuine reply into the bad one; returns its length. */
        size_t (*build)(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]);
        enum response_result expected;
};

static size_t as_is(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        memset(buf, 0, BIG_PACKET);
        return ntp_packet_write(p, buf);
}

static size_t too_short(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        return as_is(p, buf) - 1;
}

static size_t empty(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        as_is(p, buf);
        return 0;
}

#define SET_FIELD(fn, field, value)                                                   \
        static size_t fn(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {      \
                p->field = (value);                                                   \
                return as_is(p, buf);                                                 \
        }

SET_FIELD(version_0, version, 0)
SET_FIELD(version_5, version, 5)
SET_FIELD(version_7, version, 7)
SET_FIELD(mode_0, mode, 0)
SET_FIELD(mode_1, mode, 1)
SET_FIELD(mode_2, mode, 2)
SET_FIELD(mode_3, mode, 3)
SET_FIELD(mode_5, mode, 5)
SET_FIELD(mode_6, mode, 6)
SET_FIELD(mode_7, mode, 7)
SET_FIELD(zero_origin, origin_ts, 0)
SET_FIELD(wrong_origin, origin_ts, p->origin_ts + 1)
SET_FIELD(origin_is_transmit, origin_ts, p->transmit_ts)
SET_FIELD(zero_receive, receive_ts, 0)
SET_FIELD(zero_transmit, transmit_ts, 0)
SET_FIELD(leap_unsynchronized, leap, NTP_LEAP_UNSYNC)
SET_FIELD(stratum_16, stratum, 16)
SET_FIELD(stratum_255, stratum, 255)
SET_FIELD(root_delay_32s, root_delay, UINT32_C(32) << 16)
SET_FIELD(root_dispersion_16s, root_dispersion, UINT32_C(16) << 16)
SET_FIELD(root_distance_max, root_dispersion, UINT32_MAX)
SET_FIELD(transmit_before_receive, transmit_ts, p->receive_ts - (UINT64_C(1) << 22))
SET_FIELD(server_time_longer_than_round_trip, transmit_ts, p->receive_ts + (UINT64_C(1) << 31))

static size_t root_distance_exactly_16s(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        p->root_delay = UINT32_C(20) << 16;      /* 10 s of it */
        p->root_dispersion = UINT32_C(6) << 16;
        return as_is(p, buf);
}

static size_t stratum_0_not_ascii(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        p->stratum = 0;
        p->refid = UINT32_C(0x01feff7f);
        return as_is(p, buf);
}

static size_t stratum_0_lowercase(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        p->stratum = 0;
        p->refid = ntp_refid_from_ascii("rate");
        return as_is(p, buf);
}

/* RFC 7822: after the header, fields of at least 16 bytes, a multiple of 4, inside the packet. */
static size_t extension(struct ntp_packet *p, uint8_t buf[static BIG_PACKET], uint16_t field_length, size_t total) {
        as_is(p, buf);
        buf[NTP_HEADER_SIZE + 1] = 0x04;
        buf[NTP_HEADER_SIZE + 2] = (uint8_t) (field_length >> 8);
        buf[NTP_HEADER_SIZE + 3] = (uint8_t) field_length;
        return total;
}

static size_t extension_too_short(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        return extension(p, buf, 12, NTP_HEADER_SIZE + 32);
}

static size_t extension_overruns_packet(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        return extension(p, buf, 40, NTP_HEADER_SIZE + 32);
}

static size_t extension_length_not_multiple_of_4(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        return extension(p, buf, 30, NTP_HEADER_SIZE + 32);
}

static size_t extension_length_zero(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        return extension(p, buf, 0, NTP_HEADER_SIZE + 32);
}

static size_t trailing_8_bytes(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        as_is(p, buf);
        return NTP_HEADER_SIZE + 8;
}

static size_t longer_than_any_packet(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        /* Well-formed extension fields, but too many of them. */
        as_is(p, buf);
        for (size_t pos = NTP_HEADER_SIZE; pos + 28 <= BIG_PACKET; pos += 28) {
                buf[pos + 1] = 0x04;
                buf[pos + 3] = 28;
        }
        return NTP_MAX_PACKET_SIZE + 4;
}

static size_t length_not_multiple_of_4(struct ntp_packet *p, uint8_t buf[static BIG_PACKET]) {
        as_is(p, buf);
        return NTP_HEADER_SIZE + 2;
}

static const struct bad_reply bad_replies[] = {
        { "refuse_empty", empty, RESPONSE_MALFORMED },
        { "refuse_47_bytes", too_short, RESPONSE_MALFORMED },
        { "refuse_50_bytes", length_not_multiple_of_4, RESPONSE_MALFORMED },
        { "refuse_1028_bytes", longer_than_any_packet, RESPONSE_MALFORMED },
        { "refuse_56_bytes", trailing_8_bytes, RESPONSE_MALFORMED },
        { "refuse_version_0", version_0, RESPONSE_MALFORMED },
        { "refuse_version_5", version_5, RESPONSE_MALFORMED },
        { "refuse_version_7", version_7, RESPONSE_MALFORMED },
        { "refuse_mode_0", mode_0, RESPONSE_MALFORMED },
        { "refuse_mode_1", mode_1, RESPONSE_NOT_SERVER_MODE },
        { "refuse_mode_2", mode_2, RESPONSE_NOT_SERVER_MODE },
        { "refuse_mode_3", mode_3, RESPONSE_NOT_SERVER_MODE },
        { "refuse_mode_5", mode_5, RESPONSE_NOT_SERVER_MODE },
        { "refuse_mode_6", mode_6, RESPONSE_NOT_SERVER_MODE },
        { "refuse_mode_7", mode_7, RESPONSE_NOT_SERVER_MODE },
        { "refuse_extension_too_short", extension_too_short, RESPONSE_MALFORMED },
        { "refuse_extension_overruns", extension_overruns_packet, RESPONSE_MALFORMED },
        { "refuse_extension_unaligned", extension_length_not_multiple_of_4, RESPONSE_MALFORMED },
        { "refuse_extension_length_0", extension_length_zero, RESPONSE_MALFORMED },
        { "refuse_zero_origin", zero_origin, RESPONSE_ZERO_ORIGIN },
        { "refuse_wrong_origin", wrong_origin, RESPONSE_BOGUS_ORIGIN },
        { "refuse_origin_not_nonce", origin_is_transmit, RESPONSE_BOGUS_ORIGIN },
        { "refuse_zero_receive", zero_receive, RESPONSE_ZERO_TIMESTAMP },
        { "refuse_zero_transmit", zero_transmit, RESPONSE_ZERO_TIMESTAMP },
        { "refuse_leap_3", leap_unsynchronized, RESPONSE_UNSYNCHRONIZED },
        { "refuse_stratum_16", stratum_16, RESPONSE_UNSYNCHRONIZED },
        { "refuse_stratum_255", stratum_255, RESPONSE_UNSYNCHRONIZED },
        { "refuse_stratum_0_not_ascii", stratum_0_not_ascii, RESPONSE_BAD_STRATUM },
        { "refuse_stratum_0_lowercase", stratum_0_lowercase, RESPONSE_BAD_STRATUM },
        { "refuse_root_delay_32s", root_delay_32s, RESPONSE_ROOT_DISTANCE },
        { "refuse_root_dispersion_16s", root_dispersion_16s, RESPONSE_ROOT_DISTANCE },
        { "refuse_root_distance_exactly_16s", root_distance_exactly_16s, RESPONSE_ROOT_DISTANCE },
        { "refuse_root_distance_max", root_distance_max, RESPONSE_ROOT_DISTANCE },
        { "refuse_transmit_before_receive", transmit_before_receive, RESPONSE_BAD_TIMESTAMPS },
        { "refuse_server_time_longer_than_round_trip", server_time_longer_than_round_trip,
          RESPONSE_BAD_TIMESTAMPS },
};

/* The bad reply is refused and changes nothing, and the genuine one is still accepted: both for
 * the first reply of a source and for a later one. */
static void test_bad_reply(void **state) {
        const struct bad_reply *bad = *state;
        struct harness h;
        uint32_t id = one_manual_source(&h, true, 0.01);

        for (unsigned round = 0; round < 2; round++) {
                if (round > 0)
                        run_until_send(&h, id);
                h.mono = reply_arrival(&h, id);

                uint8_t buf[BIG_PACKET];
                struct ntp_packet p = genuine_reply(&h, id);
                size_t len = bad->build(&p, buf);
                assert_refused(&h, id, buf, len, bad->expected);

                p = genuine_reply(&h, id);
                assert_int_equal(deliver_packet(&h, id, &p), RESPONSE_OK);
                assert_int_equal(source_info(&h, id).samples, round + 1);
        }
        assert_true(status_now(&h).synchronized);
        harness_done(&h);
}

static void test_reply_before_any_request(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        uint32_t id = add_source(&h, 0, false);
        /* Pretend a request had gone out to forge a plausible reply. */
        h.requests[id] = (struct request) { .sent = true, .nonce = 0x1234, .mono = 0 };
        struct ntp_packet p = genuine_reply(&h, id);
        assert_packet_refused(&h, id, &p, RESPONSE_UNEXPECTED);
        p.stratum = 0;
        p.refid = ntp_refid_from_ascii("DENY");
        assert_packet_refused(&h, id, &p, RESPONSE_UNEXPECTED);

        /* And to a source that does not exist. */
        assert_packet_refused(&h, id + 1, &p, RESPONSE_UNEXPECTED);
        harness_done(&h);
}

static void test_reply_before_request_sent_is_reported(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        h.auto_request_sent = false;
        uint32_t id = add_source(&h, 0, false);
        run(&h);
        h.mono = reply_arrival(&h, id);
        struct ntp_packet p = genuine_reply(&h, id);
        /* The driver never said when the request left: no t1, no measurement. */
        assert_packet_refused(&h, id, &p, RESPONSE_UNEXPECTED);
        engine_request_sent(h.e, id, h.requests[id].t1_real);
        assert_int_equal(deliver_packet(&h, id, &p), RESPONSE_OK);
        harness_done(&h);
}

static void test_duplicate_reply(void **state) {
        struct harness h;
        uint32_t id = one_manual_source(&h, true, 0.01);

        h.mono = reply_arrival(&h, id);
        struct ntp_packet first = genuine_reply(&h, id);
        assert_int_equal(deliver_packet(&h, id, &first), RESPONSE_OK);

        /* The same reply again, at once and a little later. */
        uint8_t buf[NTP_HEADER_SIZE];
        ntp_packet_write(&first, buf);
        struct snapshot before, after;
        take_snapshot(&h, &before);
        enum response_result r = deliver(&h, id, buf, sizeof(buf));
        assert_true(r == RESPONSE_DUPLICATE || r == RESPONSE_UNEXPECTED);
        take_snapshot(&h, &after);
        assert_same_snapshot(&before, &after);

        /* Replayed while the next request is outstanding. */
        run_until_send(&h, id);
        h.mono = reply_arrival(&h, id);
        take_snapshot(&h, &before);
        unsigned actions = clock_actions(&h);
        r = deliver(&h, id, buf, sizeof(buf));
        assert_true(r == RESPONSE_DUPLICATE || r == RESPONSE_BOGUS_ORIGIN);
        take_snapshot(&h, &after);
        assert_same_snapshot(&before, &after);
        assert_int_equal(clock_actions(&h), actions);

        struct ntp_packet second = genuine_reply(&h, id);
        assert_int_equal(deliver_packet(&h, id, &second), RESPONSE_OK);
        ntp_packet_write(&second, buf);
        assert_refused(&h, id, buf, sizeof(buf), RESPONSE_UNEXPECTED);
        assert_int_equal(source_info(&h, id).samples, 2);
        harness_done(&h);
}

/* ---- kiss-o'-death ---- */

static struct ntp_packet kiss(const struct harness *h, uint32_t id, const char *code) {
        struct ntp_packet p = genuine_reply(h, id);

        p.leap = NTP_LEAP_UNSYNC;
        p.stratum = NTP_STRATUM_KOD;
        p.refid = ntp_refid_from_ascii(code);
        return p;
}

static void test_kod_rate_backs_off(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        uint32_t id = add_source(&h, 0, false);
        uint32_t other = add_source(&h, 0, true);
        run(&h);
        h.mono = reply_arrival(&h, id);
        int8_t poll_before = source_info(&h, id).poll;

        struct ntp_packet p = kiss(&h, id, "RATE");
        int64_t kissed = h.mono;
        assert_int_equal(deliver_packet(&h, id, &p), RESPONSE_KOD_RATE);
        struct engine_source_info info = source_info(&h, id);
        assert_int_equal(info.poll, poll_before + 1);
        assert_int_equal(info.last_result, RESPONSE_KOD_RATE);

        /* The next request waits the longer interval. */
        int64_t interval = (INT64_C(1) << info.poll) * SEC;
        advance(&h, kissed + interval - SEC);
        assert_int_equal(h.sends[id], 1);
        assert_true(h.sends[other] >= 2);
        advance(&h, kissed + interval + SEC);
        assert_int_equal(h.sends[id], 2);
        harness_done(&h);
}

static void test_kod_rate_with_wrong_origin_changes_nothing(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        uint32_t id = add_source(&h, 0, false);
        add_source(&h, 0, true);
        run(&h);
        h.mono = reply_arrival(&h, id);

        struct ntp_packet p = kiss(&h, id, "RATE");
        p.origin_ts ^= 0xff;
        assert_packet_refused(&h, id, &p, RESPONSE_BOGUS_ORIGIN);
        p.origin_ts = 0;
        assert_packet_refused(&h, id, &p, RESPONSE_ZERO_ORIGIN);

        /* Still polled at the usual interval: 64 s and up to 1/16 of it. */
        advance(&h, 68 * SEC + 100 * MS);
        assert_int_equal(h.sends[id], 2);
        harness_done(&h);
}

static void kod_stops_polling(const char *code) {
        struct harness h;

        harness_init(&h, true, 0);
        uint32_t id = add_source(&h, 0, false);
        uint32_t other = add_source(&h, 0, true);
        run(&h);
        h.mono = reply_arrival(&h, id);

        struct ntp_packet p = kiss(&h, id, code);
        assert_int_equal(deliver_packet(&h, id, &p), RESPONSE_KOD_DENY);
        struct engine_source_info info = source_info(&h, id);
        assert_int_equal(info.state, SOURCE_STATE_DENIED);
        assert_int_equal(info.last_result, RESPONSE_KOD_DENY);

        advance(&h, 2 * DAY);
        assert_int_equal(h.sends[id], 1);
        assert_true(h.sends[other] > 50);
        assert_true(status_now(&h).synchronized);
        assert_int_equal(status_now(&h).system_peer, other);

        /* Not even a burst wakes it up. */
        engine_burst(h.e, h.mono);
        drain(&h);
        assert_int_equal(h.sends[id], 1);
        harness_done(&h);
}

static void test_kod_deny_stops_polling(void **state) {
        kod_stops_polling("DENY");
}

static void test_kod_rstr_stops_polling(void **state) {
        kod_stops_polling("RSTR");
}

static void test_forged_kod_deny_changes_nothing(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        uint32_t id = add_source(&h, 0, true);
        run(&h);
        h.mono = reply_arrival(&h, id) - 1;

        struct ntp_packet p = kiss(&h, id, "DENY");
        p.origin_ts = ~p.origin_ts;
        assert_packet_refused(&h, id, &p, RESPONSE_BOGUS_ORIGIN);
        p = kiss(&h, id, "RSTR");
        p.origin_ts = 0;
        assert_packet_refused(&h, id, &p, RESPONSE_ZERO_ORIGIN);

        advance(&h, DAY);
        assert_int_equal(source_info(&h, id).state, SOURCE_STATE_OK);
        assert_true(h.sends[id] > 50);
        assert_true(status_now(&h).synchronized);
        harness_done(&h);
}

static void test_kod_with_unknown_code_neither_denies_nor_backs_off(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        uint32_t id = add_source(&h, 0, false);
        add_source(&h, 0, true);
        run(&h);
        h.mono = reply_arrival(&h, id);
        int8_t poll = source_info(&h, id).poll;

        struct ntp_packet p = kiss(&h, id, "XMPL");
        assert_int_equal(deliver_packet(&h, id, &p), RESPONSE_KOD_OTHER);
        assert_int_equal(source_info(&h, id).state, SOURCE_STATE_NEW);
        assert_int_equal(source_info(&h, id).poll, poll);
        advance(&h, 68 * SEC + 100 * MS);
        assert_int_equal(h.sends[id], 2);
        harness_done(&h);
}

static void test_noselect_source_is_measured_not_used(void **state) {
        struct harness h;

        harness_init(&h, true, 0.01);
        uint32_t a = add_source(&h, 0, true);
        struct engine_source_config c = { .name = "watch.example", .refid = refid_of(9), .noselect = true };
        uint32_t watched = add_source_with(&h, &c, 0.05, true);
        advance(&h, HOUR);

        assert_int_equal(status_now(&h).system_peer, a);
        assert_double_near(true_offset(&h), 0, 1e-3);
        struct engine_source_info info = source_info(&h, watched);
        assert_true(info.noselect);
        assert_int_equal(info.tally, ' ');
        assert_true(info.samples > 10);
        assert_double_near(info.offset, 0.05, 1e-3);
        harness_done(&h);
}

static void test_noselect_only_never_synchronizes(void **state) {
        struct harness h;

        harness_init(&h, true, 0.5);
        struct engine_source_config c = { .name = "watch.example", .noselect = true };
        uint32_t watched = add_source_with(&h, &c, 0, true);
        advance(&h, HOUR);
        assert_false(status_now(&h).synchronized);
        assert_int_equal(clock_actions(&h), 0);
        assert_double_near(source_info(&h, watched).offset, 0.5, 1e-3);
        harness_done(&h);
}

static void test_min_sources_not_met(void **state) {
        struct harness h;

        harness_init_at(&h, true, UNIX_2024, 0.5);
        h.config.min_sources = 2;
        harness_start(&h);
        uint32_t a = add_source(&h, 0, true);
        advance(&h, HOUR);
        struct engine_status st = status_now(&h);
        assert_false(st.synchronized);
        assert_non_null(st.unsync_reason);
        assert_int_equal(clock_actions(&h), 0);
        assert_true(source_info(&h, a).samples > 10);

        /* A second source that agrees is enough. */
        add_source(&h, 0, true);
        advance(&h, h.mono + HOUR);
        assert_true(status_now(&h).synchronized);
        assert_double_near(true_offset(&h), 0, 1e-3);
        harness_done(&h);
}

static void test_source_beyond_max_distance_is_not_selected(void **state) {
        struct harness h;

        harness_init(&h, true, 0.05);
        uint32_t far = add_source(&h, 0, true);
        h.servers[far].root_dispersion = 2.0; /* a valid reply, but too far for the clock */
        advance(&h, HOUR);
        assert_int_equal(source_info(&h, far).state, SOURCE_STATE_TOO_FAR);
        assert_false(status_now(&h).synchronized);
        assert_int_equal(h.steps + h.slews + h.frequencies, 0);

        uint32_t near = add_source(&h, 0, true);
        advance(&h, h.mono + HOUR);
        assert_int_equal(status_now(&h).system_peer, near);
        assert_int_equal(source_info(&h, far).state, SOURCE_STATE_TOO_FAR);
        harness_done(&h);
}

static void test_iburst_initial_step_within_seconds(void **state) {
        struct harness h;

        harness_init(&h, true, -3.0);
        struct engine_source_config c = { .name = "burst.example", .iburst = true, .refid = refid_of(1) };
        add_source_with(&h, &c, 0, true);
        advance(&h, 6 * SEC);
        assert_int_equal(h.steps, 1);
        assert_double_near(h.last_step, -3.0, 1e-4);
        assert_true(status_now(&h).synchronized);
        advance(&h, 2 * HOUR);
        assert_int_equal(h.steps, 1);
        assert_double_near(true_offset(&h), 0, 1e-3);
        harness_done(&h);
}

/* A silent server in an iburst (a request every 2 s) has had its chance 4 s after its first
 * request: the first update does not wait for its whole burst. */
static void test_silent_iburst_source_does_not_hold_the_initial_step(void **state) {
        struct harness h;

        harness_init(&h, true, -3.0);
        struct engine_source_config good = { .name = "burst.example", .iburst = true, .refid = refid_of(1) };
        struct engine_source_config silent = { .name = "silent.example", .iburst = true, .refid = refid_of(2) };
        add_source_with(&h, &good, 0, true);
        uint32_t quiet = add_source_with(&h, &silent, 0, false);
        advance(&h, 6 * SEC);
        assert_true(h.sends[quiet] >= 3); /* still bursting */
        assert_int_equal(h.steps, 1);
        assert_double_near(h.last_step, -3.0, 1e-4);
        harness_done(&h);
}

static void test_unreachable_source_recovers_with_a_burst(void **state) {
        struct harness h;

        harness_init(&h, true, 0.01);
        struct engine_source_config c = { .name = "burst.example", .iburst = true, .refid = refid_of(1) };
        uint32_t id = add_source_with(&h, &c, 0, true);
        advance(&h, HOUR);
        h.servers[id].answer = false;
        advance(&h, h.mono + 6 * HOUR);
        struct engine_source_info info = source_info(&h, id);
        assert_int_equal(info.state, SOURCE_STATE_UNREACHABLE);
        assert_int_equal(info.reach, 0);
        assert_int_equal(info.poll, 10);
        assert_false(status_now(&h).synchronized);

        /* It answers again: back to the shortest interval, with a burst. */
        h.servers[id].answer = true;
        run_until_send(&h, id);
        unsigned sent = h.sends[id];
        advance(&h, h.mono + 14 * SEC);
        assert_true(h.sends[id] >= sent + 5);
        info = source_info(&h, id);
        assert_int_equal(info.state, SOURCE_STATE_OK);
        assert_int_equal(info.poll, 6);
        assert_true(status_now(&h).synchronized);
        harness_done(&h);
}

static void test_reconfigure_keeps_clock_control(void **state) {
        struct harness h;

        harness_init(&h, true, 0.05);
        add_source(&h, 0, true);
        advance(&h, HOUR);
        unsigned slews = h.slews;

        struct engine_config c = h.config;
        c.clock_control = false;
        c.min_sources = 3;
        engine_reconfigure(h.e, &c);
        h.input_since_run = true;
        advance(&h, h.mono + HOUR);
        /* min_sources now asks for more than there are; clock control was not given up. */
        assert_false(status_now(&h).synchronized);
        assert_int_equal(h.slews, slews);
        assert_false(h.last_status.synchronized);

        c.min_sources = 1;
        engine_reconfigure(h.e, &c);
        h.input_since_run = true;
        advance(&h, h.mono + HOUR);
        assert_true(status_now(&h).synchronized);
        assert_true(h.slews > slews);
        harness_done(&h);
}

/* ---- sources ---- */

static void test_removed_source_is_no_longer_polled(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        uint32_t a = add_source(&h, 0, true);
        uint32_t b = add_source(&h, 0, true);
        advance(&h, 10 * MINUTE);
        unsigned sent_a = h.sends[a], sent_b = h.sends[b];
        assert_true(sent_a >= 2);

        assert_int_equal(engine_remove_source(h.e, a), 0);
        h.input_since_run = true;
        assert_int_equal(engine_remove_source(h.e, a), -ENOENT);
        struct engine_source_info info;
        assert_int_equal(engine_get_source(h.e, a, &info), -ENOENT);
        struct engine_source_info all[4];
        assert_int_equal(engine_get_sources(h.e, all, ELEMENTSOF(all)), 1);
        assert_int_equal(all[0].id, b);

        advance(&h, DAY);
        assert_int_equal(h.sends[a], sent_a);
        assert_true(h.sends[b] > sent_b + 50);
        assert_true(status_now(&h).synchronized);
        assert_int_equal(status_now(&h).system_peer, b);

        /* Ids are never reused. */
        uint32_t c = add_source(&h, 0, true);
        assert_true(c > b);
        harness_done(&h);
}

static void test_add_source_limits(void **state) {
        struct harness h;
        char name[ENGINE_NAME_MAX + 1];

        harness_init(&h, true, 0);
        assert_int_equal(engine_add_source(h.e, NULL, 0), -EINVAL);
        struct engine_source_config c = { .name = NULL };
        assert_int_equal(engine_add_source(h.e, &c, 0), -EINVAL);
        memset(name, 'a', ENGINE_NAME_MAX);
        name[ENGINE_NAME_MAX] = '\0';
        c.name = name;
        assert_int_equal(engine_add_source(h.e, &c, 0), -EINVAL);
        struct engine_source_info info[ENGINE_MAX_SOURCES + 1];
        assert_int_equal(engine_get_sources(h.e, info, ELEMENTSOF(info)), 0);

        name[ENGINE_NAME_MAX - 1] = '\0'; /* 255 characters is fine */
        int64_t first = engine_add_source(h.e, &c, 0);
        assert_true(first > 0);
        assert_int_equal(source_info(&h, (uint32_t) first).name[ENGINE_NAME_MAX - 2], 'a');

        c.name = "x.example";
        for (unsigned i = 1; i < ENGINE_MAX_SOURCES; i++)
                assert_true(engine_add_source(h.e, &c, 0) > 0);
        assert_int_equal(engine_add_source(h.e, &c, 0), -E2BIG);
        assert_int_equal(engine_get_sources(h.e, info, ELEMENTSOF(info)), ENGINE_MAX_SOURCES);
        assert_int_equal(engine_get_sources(h.e, info, 3), 3);
        harness_done(&h);
}

static void test_new_requires_a_random_source(void **state) {
        struct engine_config c;

        assert_null(engine_new(NULL));
        engine_config_init(&c);
        assert_null(engine_new(&c));
}

static void test_config_defaults(void **state) {
        struct engine_config c;

        engine_config_init(&c);
        assert_double_near(c.step_threshold, 0.128, 0);
        assert_double_near(c.panic_threshold, 1000, 0);
        assert_double_near(c.stepout, 300, 0);
        assert_true(c.allow_initial_step);
        assert_int_equal(c.min_sources, 1);
        assert_double_near(c.max_frequency_ppm, 500, 0);
        assert_true(c.clock_control);
}

static void test_source_defaults(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        struct engine_source_config c = { .name = "d.example", .iburst = true, .prefer = true };
        uint32_t id = add_source_with(&h, &c, 0, false);
        struct engine_source_info info = source_info(&h, id);
        assert_int_equal(info.poll, 6);
        assert_int_equal(info.state, SOURCE_STATE_NEW);
        assert_int_equal(info.tally, ' ');
        assert_int_equal(info.reach, 0);
        assert_int_equal(info.last_rx_mono, -1);
        assert_int_equal(info.samples, 0);
        assert_true(info.iburst);
        assert_true(info.prefer);
        assert_false(info.noselect);
        harness_done(&h);
}

static void test_iburst_polls_six_times_2s_apart(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        struct engine_source_config c = { .name = "burst.example", .iburst = true, .refid = refid_of(1) };
        uint32_t id = add_source_with(&h, &c, 0, true);
        advance(&h, 11 * SEC);
        assert_int_equal(h.sends[id], 6);
        advance(&h, 60 * SEC);
        assert_int_equal(h.sends[id], 6);
        assert_true(status_now(&h).synchronized);
        harness_done(&h);
}

static void test_burst_polls_every_source_now(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        uint32_t a = add_source(&h, 0, true);
        uint32_t b = add_source(&h, 0, true);
        uint32_t silent = add_source(&h, 0, false);
        advance(&h, 100 * SEC);
        unsigned sa = h.sends[a], sb = h.sends[b], ss = h.sends[silent];

        engine_burst(h.e, h.mono);
        h.last_run = h.mono;
        drain(&h);
        assert_int_equal(h.sends[a], sa + 1);
        assert_int_equal(h.sends[b], sb + 1);
        assert_int_equal(h.sends[silent], ss + 1);

        /* The source that never answered gets a whole burst; the others their usual interval. */
        advance(&h, h.mono + 11 * SEC);
        assert_int_equal(h.sends[silent], ss + 6);
        assert_int_equal(h.sends[a], sa + 1);
        assert_int_equal(h.sends[b], sb + 1);
        harness_done(&h);
}

/* One source polled now (its NTS keys just arrived): that one only, with a burst when it was
 * never reached. */
static void test_poll_one_source_now(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        uint32_t a = add_source(&h, 0, true);
        uint32_t waiting = add_source(&h, 0, false);
        advance(&h, 100 * SEC);
        unsigned sa = h.sends[a], sw = h.sends[waiting];

        engine_poll_source_now(h.e, waiting, h.mono);
        h.last_run = h.mono;
        drain(&h);
        assert_int_equal(h.sends[waiting], sw + 1);
        assert_int_equal(h.sends[a], sa);
        advance(&h, h.mono + 11 * SEC);
        assert_int_equal(h.sends[waiting], sw + 6);
        assert_int_equal(h.sends[a], sa);
        /* An id the engine does not know changes nothing. */
        engine_poll_source_now(h.e, 9999, h.mono);
        harness_done(&h);
}

static void test_offline_sends_nothing_and_keeps_reach(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        uint32_t a = add_source(&h, 0, true);
        advance(&h, 600 * SEC);
        uint8_t reach = source_info(&h, a).reach;
        unsigned sent = h.sends[a];
        assert_true(reach != 0);

        /* A whole day without a route: no packets, and the reach register does not decay. */
        engine_set_online(h.e, false, h.mono);
        drain(&h);
        advance(&h, h.mono + 86400 * SEC);
        assert_int_equal(h.sends[a], sent);
        assert_int_equal(source_info(&h, a).reach, reach);

        /* Back online: a poll at once. */
        engine_set_online(h.e, true, h.mono);
        h.last_run = h.mono;
        drain(&h);
        assert_int_equal(h.sends[a], sent + 1);
        advance(&h, h.mono + 100 * SEC);
        assert_true(status_now(&h).synchronized);
        harness_done(&h);
}

static void test_back_online_bursts_unreachable_sources(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        uint32_t silent = add_source(&h, 0, false);
        advance(&h, 3600 * SEC);
        assert_int_equal(source_info(&h, silent).state, SOURCE_STATE_UNREACHABLE);
        engine_set_online(h.e, false, h.mono);
        advance(&h, h.mono + 600 * SEC);
        unsigned sent = h.sends[silent];

        engine_set_online(h.e, true, h.mono);
        h.last_run = h.mono;
        drain(&h);
        /* Instead of waiting out its backoff: a whole burst, 2 s apart. */
        advance(&h, h.mono + 11 * SEC);
        assert_int_equal(h.sends[silent], sent + 6);
        harness_done(&h);
}

/* ---- the clock ---- */

static void test_initial_offset_is_stepped_once(void **state) {
        struct harness h;

        harness_init(&h, true, 3.0);
        add_source(&h, 0, true);
        advance(&h, 2 * HOUR);
        assert_int_equal(h.steps, 1);
        assert_double_near(h.last_step, 3.0, 1e-4);
        assert_double_near(true_offset(&h), 0, 1e-3);

        struct engine_status st = status_now(&h);
        assert_true(st.synchronized);
        assert_int_equal(st.steps, 1);
        assert_true(fabs(st.offset) < 1e-3);
        harness_done(&h);
}

static void test_small_initial_offset_is_slewed(void **state) {
        struct harness h;

        harness_init(&h, true, 0.1);
        add_source(&h, 0, true);
        advance(&h, 4 * HOUR);
        assert_int_equal(h.steps, 0);
        assert_true(h.slews > 0);
        assert_double_near(true_offset(&h), 0, 1e-3);
        harness_done(&h);
}

static void test_panic_offset_is_not_applied(void **state) {
        struct harness h;

        harness_init(&h, true, 2000);
        add_source(&h, 0, true);
        advance(&h, 2 * HOUR);
        assert_int_equal(clock_actions(&h), 0);
        assert_double_near(true_offset(&h), 2000, 1e-6);

        struct engine_status st = status_now(&h);
        assert_false(st.synchronized);
        assert_int_equal(st.stratum, NTP_STRATUM_UNSYNC);
        assert_non_null(st.unsync_reason);
        assert_non_null(strstr(st.unsync_reason, "panic"));
        harness_done(&h);
}

static void test_observe_mode_never_touches_the_clock(void **state) {
        struct harness h;

        harness_init(&h, false, 3.0);
        uint32_t id = add_source(&h, 0, true);
        advance(&h, 6 * HOUR);
        assert_int_equal(h.steps, 0);
        assert_int_equal(h.slews, 0);
        assert_int_equal(h.frequencies, 0);
        assert_true(h.sends[id] > 10);

        struct engine_status st = status_now(&h);
        assert_true(st.synchronized);
        assert_double_near(st.offset, 3.0, 1e-4);
        assert_int_equal(st.steps, 0);
        assert_double_near(st.frequency_ppm, 0, 0);
        assert_double_near(source_info(&h, id).offset, 3.0, 1e-4);
        harness_done(&h);
}

static void test_observe_mode_does_not_set_kernel_status(void **state) {
        struct harness h;

        harness_init(&h, false, 0.01);
        uint32_t id = add_source(&h, 0, true);
        advance(&h, HOUR);
        assert_true(status_now(&h).synchronized);

        /* The source goes away: synchronization is lost, but the kernel is not ours to tell. */
        h.servers[id].answer = false;
        advance(&h, h.mono + 4 * HOUR);
        assert_false(status_now(&h).synchronized);
        assert_int_equal(h.statuses, 0);
        harness_done(&h);
}

static void test_losing_the_sources_tells_the_kernel(void **state) {
        struct harness h;

        harness_init(&h, true, 0.01);
        uint32_t id = add_source(&h, 0, true);
        advance(&h, HOUR);
        assert_true(status_now(&h).synchronized);
        assert_true(h.last_status.synchronized);

        h.servers[id].answer = false;
        advance(&h, h.mono + 4 * HOUR);
        struct engine_status st = status_now(&h);
        assert_false(st.synchronized);
        assert_int_equal(st.stratum, NTP_STRATUM_UNSYNC);
        assert_false(h.last_status.synchronized);
        assert_int_equal(source_info(&h, id).state, SOURCE_STATE_UNREACHABLE);
        harness_done(&h);
}

static void test_falseticker_among_three(void **state) {
        struct harness h;

        harness_init(&h, true, 0.02);
        uint32_t a = add_source(&h, 0, true);
        uint32_t b = add_source(&h, 0, true);
        uint32_t bad = add_source(&h, 1.0, true);
        advance(&h, 2 * HOUR);

        struct engine_status st = status_now(&h);
        assert_true(st.synchronized);
        assert_true(st.system_peer == a || st.system_peer == b);
        assert_int_equal(source_info(&h, bad).tally, 'x');
        assert_int_equal(source_info(&h, bad).state, SOURCE_STATE_FALSETICKER);
        char peer_tally = source_info(&h, (uint32_t) st.system_peer).tally;
        assert_int_equal(peer_tally, '*');
        assert_double_near(true_offset(&h), 0, 1e-3);
        assert_int_equal(h.steps, 0);
        harness_done(&h);
}

static void test_falseticker_cannot_steer_the_initial_step(void **state) {
        struct harness h;

        /* One of three is 2 s off; the initial step must follow the other two. */
        harness_init(&h, true, 5.0);
        uint32_t bad = add_source(&h, -2.0, true);
        add_source(&h, 0, true);
        add_source(&h, 0, true);
        advance(&h, HOUR);
        assert_int_equal(h.steps, 1);
        assert_double_near(h.last_step, 5.0, 1e-3);
        assert_int_equal(source_info(&h, bad).tally, 'x');
        harness_done(&h);
}

static void test_external_clock_jump_is_stepped_back(void **state) {
        struct harness h;

        harness_init(&h, true, 0.01);
        uint32_t a = add_source(&h, 0, true);
        uint32_t b = add_source(&h, 0, true);
        advance(&h, 2 * HOUR);
        assert_int_equal(h.steps, 0);
        assert_double_near(true_offset(&h), 0, 1e-3);

        /* Someone sets the clock back by a second. After the stepout it is stepped back by what
         * the samples since then say, and stays right from then on. */
        step_clock(&h, -1.0);
        for (unsigned minute = 1; minute <= 120; minute++) {
                advance(&h, h.mono + MINUTE);
                if (h.steps == 0)
                        continue;
                if (fabs(true_offset(&h)) < 1e-3)
                        continue;
                print_error("%u min after the jump, %u step(s) (last %.6f s), the clock is off by %.6f s\n",
                            minute, h.steps, h.last_step, true_offset(&h));
                fail();
        }
        assert_int_equal(h.steps, 1);
        assert_double_near(h.last_step, 1.0, 1e-3);

        struct engine_status st = status_now(&h);
        assert_true(st.synchronized);
        assert_true(fabs(st.offset) < 1e-3);
        assert_true(source_info(&h, a).tally == '*' || source_info(&h, a).tally == '+');
        assert_true(source_info(&h, b).tally == '*' || source_info(&h, b).tally == '+');
        harness_done(&h);
}

static void test_reply_to_a_request_sent_before_a_step(void **state) {
        struct harness h;

        harness_init(&h, true, 0.01);
        uint32_t a = add_source(&h, 0, true);
        uint32_t b = add_source(&h, 0, true);
        advance(&h, 2 * HOUR);

        /* The clock jumps; from now on the test answers, each time after polling both at once. */
        step_clock(&h, -1.0);
        h.servers[a].answer = h.servers[b].answer = false;
        for (uint32_t id = 1; id < MAX_IDS; id++)
                h.replies[id].pending = false;
        h.mono += 10 * SEC;
        for (unsigned round = 0; round < 2; round++) {
                engine_burst(h.e, h.mono);
                h.last_run = h.mono;
                drain(&h);
                h.mono = reply_arrival(&h, a);
                struct ntp_packet pa = genuine_reply(&h, a), pb = genuine_reply(&h, b);
                assert_int_equal(deliver_packet(&h, a, &pa), RESPONSE_OK);
                if (round == 0) {
                        assert_int_equal(h.steps, 0);
                        assert_int_equal(deliver_packet(&h, b, &pb), RESPONSE_OK);
                        h.mono += 301 * SEC;
                        continue;
                }
                /* 300 s beyond the threshold: a's reply stepped the clock. b's request left
                 * before the step and its reply arrives after it: its t1 and t4 are on two
                 * different clocks. It is either refused or measured on one of them. */
                assert_int_equal(h.steps, 1);
                struct engine_source_info before = source_info(&h, b);
                enum response_result r = deliver_packet(&h, b, &pb);
                struct engine_source_info after = source_info(&h, b);
                if (r != RESPONSE_OK) {
                        assert_int_equal(after.samples, before.samples);
                        break;
                }
                /* Measured on one clock, the round trip is the network's 20 ms, not the step. */
                assert_int_equal(after.samples, before.samples + 1);
                if (after.delay > 0.1) {
                        print_error("reply straddling the step measured with a round trip of %.6f s\n",
                                    after.delay);
                        fail();
                }
        }
        harness_done(&h);
}

static void test_silent_source_does_not_spin_the_event_loop(void **state) {
        struct harness h;

        harness_init(&h, true, 0);
        add_source(&h, 0, false);
        run(&h);
        /* Each wakeup must lie after the engine_run that asked for it. */
        for (unsigned i = 0; i < 20; i++) {
                int64_t next = engine_next_wakeup(h.e);
                if (next <= h.last_run) {
                        print_error("engine_run at %.3f s asks to be woken at %.3f s\n",
                                    ns_to_seconds(h.last_run), ns_to_seconds(next));
                        fail();
                }
                h.mono = next;
                run(&h);
        }
        harness_done(&h);
}

static void leap_announced(int64_t true0, enum ntp_leap want_status, enum ntp_leap want_kernel) {
        struct harness h;

        harness_init_at(&h, true, true0, 0.01);
        harness_start(&h);
        uint32_t id = add_source(&h, 0, true);
        h.servers[id].leap = NTP_LEAP_INSERT;
        advance(&h, 10 * MINUTE);
        struct engine_status st = status_now(&h);
        assert_true(st.synchronized);
        assert_int_equal(st.leap, want_status);
        assert_true(h.statuses > 0);
        assert_int_equal(h.last_status.leap, want_kernel);
        harness_done(&h);
}

static void test_leap_armed_on_the_last_day_of_december(void **state) {
        leap_announced(INT64_C(1483185600) * SEC, NTP_LEAP_INSERT, NTP_LEAP_INSERT);  /* 2016-12-31 12:00 */
}

static void test_leap_accepted_but_not_armed_earlier_in_december(void **state) {
        leap_announced(INT64_C(1481803200) * SEC, NTP_LEAP_INSERT, NTP_LEAP_NONE);    /* 2016-12-15 12:00 */
}

static void test_leap_in_march_ignored(void **state) {
        leap_announced(INT64_C(1459425600) * SEC, NTP_LEAP_NONE, NTP_LEAP_NONE);      /* 2016-03-31 12:00 */
}

/* ---- the 2036 era ---- */

static void era_measurement(int64_t true0, double offset0) {
        struct harness h;

        harness_init_at(&h, true, true0, offset0);
        harness_start(&h);
        uint32_t id = add_source(&h, 0, false);
        run(&h);
        h.mono = reply_arrival(&h, id);
        struct ntp_packet p = genuine_reply(&h, id);

        /* The local timestamps and the server's lie in different NTP eras. */
        int64_t t1 = h.requests[id].t1_real, t4 = local_now(&h);
        int64_t t2 = ntp_ts_to_unix_ns(p.receive_ts, true0), t3 = ntp_ts_to_unix_ns(p.transmit_ts, true0);
        bool local_before = t1 < UNIX_NTP_ERA_1 && t4 < UNIX_NTP_ERA_1;
        bool server_before = t2 < UNIX_NTP_ERA_1 && t3 < UNIX_NTP_ERA_1;
        bool local_after = t1 >= UNIX_NTP_ERA_1 && t4 >= UNIX_NTP_ERA_1;
        bool server_after = t2 >= UNIX_NTP_ERA_1 && t3 >= UNIX_NTP_ERA_1;
        assert_true((local_before && server_after) || (local_after && server_before));

        double expected = ns_to_seconds(((t2 - t1) + (t3 - t4)) / 2);
        assert_double_near(expected, offset0, 1e-6);
        assert_int_equal(deliver_packet(&h, id, &p), RESPONSE_OK);
        assert_double_near(source_info(&h, id).offset, expected, 1e-6);
        assert_double_near(source_info(&h, id).delay, 2 * ONE_WAY * 1e-9, 1e-6);
        assert_double_near(status_now(&h).offset, expected, 1e-6);
        assert_int_equal(h.slews, 1);
        assert_double_near(h.last_slew, expected, 1e-6);
        harness_done(&h);
}

static void test_era_server_just_after_2036_local_just_before(void **state) {
        era_measurement(UNIX_NTP_ERA_1 - 5 * MS, 0.1);
}

static void test_era_server_just_before_2036_local_just_after(void **state) {
        era_measurement(UNIX_NTP_ERA_1 - 50 * MS, -0.1);
}

int main(void) {
        static const struct CMUnitTest fixed[] = {
                cmocka_unit_test(test_send_is_a_minimal_client_request),
                cmocka_unit_test(test_nothing_sent_before_run),
                cmocka_unit_test(test_genuine_reply_synchronizes),
                cmocka_unit_test(test_genuine_reply_in_observe_mode),
                cmocka_unit_test(test_reply_with_extension_field_is_accepted),
                cmocka_unit_test(test_version_3_reply_is_accepted),
                cmocka_unit_test(test_reply_before_any_request),
                cmocka_unit_test(test_reply_before_request_sent_is_reported),
                cmocka_unit_test(test_duplicate_reply),
                cmocka_unit_test(test_kod_rate_backs_off),
                cmocka_unit_test(test_kod_rate_with_wrong_origin_changes_nothing),
                cmocka_unit_test(test_kod_deny_stops_polling),
                cmocka_unit_test(test_kod_rstr_stops_polling),
                cmocka_unit_test(test_forged_kod_deny_changes_nothing),
                cmocka_unit_test(test_kod_with_unknown_code_neither_denies_nor_backs_off),
                cmocka_unit_test(test_noselect_source_is_measured_not_used),
                cmocka_unit_test(test_noselect_only_never_synchronizes),
                cmocka_unit_test(test_min_sources_not_met),
                cmocka_unit_test(test_source_beyond_max_distance_is_not_selected),
                cmocka_unit_test(test_iburst_initial_step_within_seconds),
                cmocka_unit_test(test_unreachable_source_recovers_with_a_burst),
                cmocka_unit_test(test_reconfigure_keeps_clock_control),
                cmocka_unit_test(test_removed_source_is_no_longer_polled),
                cmocka_unit_test(test_add_source_limits),
                cmocka_unit_test(test_new_requires_a_random_source),
                cmocka_unit_test(test_config_defaults),
                cmocka_unit_test(test_source_defaults),
                cmocka_unit_test(test_iburst_polls_six_times_2s_apart),
                cmocka_unit_test(test_burst_polls_every_source_now),
                cmocka_unit_test(test_poll_one_source_now),
                cmocka_unit_test(test_offline_sends_nothing_and_keeps_reach),
                cmocka_unit_test(test_back_online_bursts_unreachable_sources),
                cmocka_unit_test(test_initial_offset_is_stepped_once),
                cmocka_unit_test(test_small_initial_offset_is_slewed),
                cmocka_unit_test(test_panic_offset_is_not_applied),
                cmocka_unit_test(test_observe_mode_never_touches_the_clock),
                cmocka_unit_test(test_observe_mode_does_not_set_kernel_status),
                cmocka_unit_test(test_losing_the_sources_tells_the_kernel),
                cmocka_unit_test(test_falseticker_among_three),
                cmocka_unit_test(test_falseticker_cannot_steer_the_initial_step),
                cmocka_unit_test(test_external_clock_jump_is_stepped_back),
                cmocka_unit_test(test_reply_to_a_request_sent_before_a_step),
                cmocka_unit_test(test_silent_source_does_not_spin_the_event_loop),
                cmocka_unit_test(test_silent_iburst_source_does_not_hold_the_initial_step),
                cmocka_unit_test(test_leap_armed_on_the_last_day_of_december),
                cmocka_unit_test(test_leap_accepted_but_not_armed_earlier_in_december),
                cmocka_unit_test(test_leap_in_march_ignored),
                cmocka_unit_test(test_era_server_just_after_2036_local_just_before),
                cmocka_unit_test(test_era_server_just_before_2036_local_just_after),
        };
        struct CMUnitTest tests[ELEMENTSOF(fixed) + ELEMENTSOF(bad_replies)];
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(fixed); i++) {
                tests[n] = fixed[i];
                tests[n++].teardown_func = free_live_engine;
        }
        /* One test per kind of bad reply, each named after it. */
        for (size_t i = 0; i < ELEMENTSOF(bad_replies); i++)
                tests[n++] = (struct CMUnitTest) {
                        .name = bad_replies[i].name,
                        .test_func = test_bad_reply,
                        .initial_state = (void *) &bad_replies[i],
                        .teardown_func = free_live_engine,
                };

        return _cmocka_run_group_tests("test-engine", tests, n, NULL, NULL);
}
