/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the engine's interleaved mode (xleave), against a modelled server whose replies
 * leave TX_DELAY after the transmit timestamp written in them and which, when it knows the
 * request's origin, answers in interleaved mode with the real departure of its previous reply (as
 * chrony serves). The engine observes only (no clock control): the local clock stays CLOCK_ERROR
 * off the true time, which is what every sample should find. */

#include <string.h>

#include "core/engine.h"
#include "core/ntp-packet.h"
#include "core/ntp-time.h"
#include "sim-rng.h"
#include "unit-test.h"

#define US INT64_C(1000)
#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)
#define UNIX_2024 (INT64_C(1704067200) * SEC)
#define ONE_WAY (1 * MS)
#define PROCESSING (20 * US)
#define TX_DELAY (400 * US)          /* a loaded server: the reply leaves this late */
#define CLOCK_ERROR (-5 * MS)        /* the local clock is 5 ms ahead: the offset is -5 ms */

struct world {
        engine *e;
        uint64_t rng;
        int64_t mono;                /* true time is UNIX_2024 + mono */
        uint32_t id;
        /* The server. */
        bool serves_interleaved;
        int64_t tx_delay;            /* TX_DELAY unless a test says otherwise */
        bool has_state;
        ntp_ts last_rx;              /* its receive timestamp of the last request */
        int64_t last_departure;      /* when its last reply really left */
        /* The last request and the reply made for it. */
        struct ntp_packet request;
        struct ntp_packet reply;
        int64_t reply_mono;
};

static struct world w;

static uint64_t splitmix64(void *userdata) {
        return sim_splitmix64(userdata);
}

static int64_t true_real(int64_t mono) {
        return UNIX_2024 + mono;
}

static int64_t local_real(int64_t mono) {
        return true_real(mono) + CLOCK_ERROR;
}

static int setup(void **state) {
        struct engine_config c;
        engine_config_init(&c);
        c.clock_control = false;
        c.random_u64 = splitmix64;
        c.random_userdata = &w.rng;
        w = (struct world) { .rng = 7, .serves_interleaved = true, .tx_delay = TX_DELAY, .mono = 10 * SEC };
        w.e = engine_new(&c);
        assert_non_null(w.e);
        return 0;
}

static int teardown(void **state) {
        w.e = engine_free(w.e);
        return 0;
}

static void add_source(bool xleave) {
        struct engine_source_config c = { .name = "server.example", .refid = 0xc0000201, .xleave = xleave,
                                          .minpoll = 4, .maxpoll = 4 };
        int64_t id = engine_add_source(w.e, &c, w.mono);
        assert_true(id > 0);
        w.id = (uint32_t) id;
}

/* Runs the engine at its next wakeup and takes the request it sends. */
static void next_request(void) {
        struct engine_action a;
        bool sent = false;

        w.mono = engine_next_wakeup(w.e);
        engine_run(w.e, w.mono);
        while (engine_next_action(w.e, &a))
                if (a.kind == ENGINE_ACTION_SEND) {
                        assert_false(sent);
                        sent = true;
                        assert_int_equal(ntp_packet_parse(a.packet, a.packet_len, &w.request), NTP_PARSE_OK);
                }
        assert_true(sent);
        engine_request_sent(w.e, w.id, local_real(w.mono));
}

/* The server's answer to w.request, as chrony's: interleaved when the origin is its receive
 * timestamp of the client's previous request. */
static void make_reply(void) {
        int64_t t2 = true_real(w.mono + ONE_WAY), t3 = t2 + PROCESSING;
        bool interleaved = w.serves_interleaved && w.has_state && w.request.origin_ts == w.last_rx &&
                           w.request.receive_ts != w.request.transmit_ts;

        w.reply = (struct ntp_packet) {
                .version = 4,
                .mode = NTP_MODE_SERVER,
                .stratum = 1,
                .precision = -24,
                .refid = 0x47505300, /* GPS */
                .reference_ts = ntp_ts_from_unix_ns(t2 - SEC),
                .origin_ts = interleaved ? w.request.receive_ts : w.request.transmit_ts,
                .receive_ts = ntp_ts_from_unix_ns(t2),
                .transmit_ts = interleaved ? ntp_ts_from_unix_ns(w.last_departure) : ntp_ts_from_unix_ns(t3),
        };
        w.has_state = true;
        w.last_rx = w.reply.receive_ts;
        w.last_departure = t3 + w.tx_delay;
        w.reply_mono = w.mono + ONE_WAY + PROCESSING + w.tx_delay + ONE_WAY;
}

static enum response_result deliver(const struct ntp_packet *p) {
        uint8_t buf[NTP_HEADER_SIZE];
        struct engine_action a;

        ntp_packet_write(p, buf);
        w.mono = w.reply_mono;
        enum response_result r = engine_receive(w.e, w.id, buf, sizeof(buf), local_real(w.mono), w.mono);
        while (engine_next_action(w.e, &a))
                ;
        return r;
}

/* One request and the server's genuine reply. */
static enum response_result exchange(void) {
        next_request();
        make_reply();
        return deliver(&w.reply);
}

static struct engine_source_info info(void) {
        struct engine_source_info i;
        assert_int_equal(engine_get_source(w.e, w.id, &i), 0);
        return i;
}

static void exchanges(unsigned n) {
        for (unsigned i = 0; i < n; i++)
                assert_int_equal(exchange(), RESPONSE_OK);
}

static void test_requests_follow_chrony(void **state) {
        add_source(true);
        next_request();
        /* Nothing to interleave with yet: a basic request, origin and receive zero. */
        assert_true(w.request.origin_ts == 0 && w.request.receive_ts == 0 && w.request.transmit_ts != 0);
        make_reply();
        assert_int_equal(deliver(&w.reply), RESPONSE_OK);

        next_request();
        /* Origin: the server's receive timestamp of the last reply; receive: a nonce of its own. */
        assert_true(w.request.origin_ts == w.reply.receive_ts);
        assert_true(w.request.receive_ts != 0 && w.request.receive_ts != w.request.transmit_ts &&
                    w.request.receive_ts != w.request.origin_ts);
}

static void test_basic_requests_without_xleave(void **state) {
        add_source(false);
        exchanges(3);
        next_request();
        assert_true(w.request.origin_ts == 0 && w.request.receive_ts == 0);
        assert_false(info().interleaved);
        assert_false(info().xleave);
}

static void test_interleaved_removes_the_transmit_delay(void **state) {
        add_source(true);
        exchange();
        assert_false(info().interleaved); /* the first reply is basic */
        exchanges(8);
        struct engine_source_info i = info();
        assert_true(i.interleaved && i.xleave);
        assert_int_equal(i.state, SOURCE_STATE_OK);
        /* Basic mode would be off by half the transmit delay (200 µs); interleaved is exact. */
        assert_double_near(i.offset, ns_to_seconds(-CLOCK_ERROR), 2e-6);
        assert_double_near(i.delay, ns_to_seconds(2 * ONE_WAY), 2e-6);
}

/* A punctual server's interleaved transmit timestamp is the one its basic reply carried: still taken. */
static void test_interleaved_transmit_may_repeat_the_basic_one(void **state) {
        w.tx_delay = 0;
        add_source(true);
        exchanges(4);
        assert_true(info().interleaved);
        assert_int_equal(info().samples, 3);
        assert_double_near(info().offset, ns_to_seconds(-CLOCK_ERROR), 2e-6);
}

static void test_basic_mode_is_off_by_half_the_transmit_delay(void **state) {
        add_source(false);
        exchanges(8);
        assert_double_near(info().offset, ns_to_seconds(-CLOCK_ERROR - TX_DELAY / 2), 2e-6);
}

static void test_falls_back_to_basic_and_keeps_working(void **state) {
        w.serves_interleaved = false; /* NTPsec: basic replies to interleaved requests */
        add_source(true);
        exchanges(2);
        next_request();
        assert_true(w.request.origin_ts != 0); /* still asks */
        make_reply();
        assert_int_equal(deliver(&w.reply), RESPONSE_OK);
        exchanges(5);
        struct engine_source_info i = info();
        assert_false(i.interleaved);
        assert_int_equal(i.samples, 8); /* every basic reply is a sample */
        assert_double_near(i.offset, ns_to_seconds(-CLOCK_ERROR - TX_DELAY / 2), 2e-6);
}

static void test_server_losing_state_switches_to_basic_and_back(void **state) {
        add_source(true);
        exchanges(4);
        assert_true(info().interleaved);
        w.has_state = false; /* its state was evicted: the next reply is basic */
        exchanges(1);
        assert_false(info().interleaved);
        exchanges(3);
        assert_true(info().interleaved);
        assert_double_near(info().offset, ns_to_seconds(-CLOCK_ERROR), 1e-4);
}

static void test_first_interleaved_reply_is_no_sample(void **state) {
        add_source(true);
        exchanges(1);
        assert_int_equal(info().samples, 1);
        /* It completes the exchange already taken as a basic sample: not used twice. */
        exchanges(1);
        assert_true(info().interleaved);
        assert_int_equal(info().samples, 1);
        assert_int_equal(info().reach, 3);
        exchanges(1);
        assert_int_equal(info().samples, 2);
}

/* An interleaving source with an interleaved reply to its next request made, not delivered;
 * returns the samples taken so far. */
static unsigned interleaved_reply_ready(void) {
        add_source(true);
        exchanges(3);
        next_request();
        make_reply();
        assert_true(w.reply.origin_ts == w.request.receive_ts);
        return info().samples;
}

static void test_basic_reply_is_never_taken_as_interleaved(void **state) {
        unsigned samples = interleaved_reply_ready();
        /* A basic reply carrying a transmit timestamp that is not its own (an off-path attacker
         * cannot know the interleaved nonce, so it answers our transmit nonce): taken as basic. */
        struct ntp_packet p = w.reply;
        p.origin_ts = w.request.transmit_ts;
        p.transmit_ts = ntp_ts_from_unix_ns(true_real(w.mono + ONE_WAY) + PROCESSING);
        assert_int_equal(deliver(&p), RESPONSE_OK);
        assert_false(info().interleaved);
        assert_int_equal(info().samples, samples + 1);
}

static void test_forged_origins_change_nothing(void **state) {
        interleaved_reply_ready();
        struct engine_source_info before = info();

        struct ntp_packet p = w.reply;
        p.origin_ts = w.request.origin_ts; /* a reflector echoing the request's origin */
        assert_int_equal(deliver(&p), RESPONSE_BOGUS_ORIGIN);
        p.origin_ts = 0;
        assert_int_equal(deliver(&p), RESPONSE_ZERO_ORIGIN);
        p.origin_ts = w.reply.origin_ts + 1;
        assert_int_equal(deliver(&p), RESPONSE_BOGUS_ORIGIN);
        assert_int_equal(info().samples, before.samples);
        assert_int_equal(info().reach, before.reach);

        /* The genuine reply still counts, once: its replay has no request to answer. */
        assert_int_equal(deliver(&w.reply), RESPONSE_OK);
        assert_int_equal(info().samples, before.samples + 1);
        assert_int_equal(deliver(&w.reply), RESPONSE_UNEXPECTED);
        assert_int_equal(info().samples, before.samples + 1);
}

static void test_inconsistent_interleaved_timestamps_change_nothing(void **state) {
        unsigned samples = interleaved_reply_ready();

        /* A transmit time before the previous request was received: not of that reply. */
        struct ntp_packet p = w.reply;
        p.transmit_ts = w.request.origin_ts - (UINT64_C(1) << 32);
        assert_int_equal(deliver(&p), RESPONSE_BAD_TIMESTAMPS);
        assert_int_equal(info().samples, samples);
        assert_int_equal(deliver(&w.reply), RESPONSE_OK);
        assert_int_equal(info().samples, samples + 1);
}

static void test_interleaved_requests_stop_after_missed_replies(void **state) {
        add_source(true);
        exchanges(3);
        for (int i = 0; i < 3; i++) {
                next_request();
                assert_true(w.request.origin_ts != 0);
        }
        /* Four requests unanswered: a reply now would complete an exchange four polls old. */
        next_request();
        assert_true(w.request.origin_ts != 0);
        next_request();
        assert_true(w.request.origin_ts == 0 && w.request.receive_ts == 0);
        /* The basic exchange restarts interleaving. */
        make_reply();
        assert_int_equal(deliver(&w.reply), RESPONSE_OK);
        next_request();
        assert_true(w.request.origin_ts == w.reply.receive_ts);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_requests_follow_chrony, setup, teardown),
                cmocka_unit_test_setup_teardown(test_basic_requests_without_xleave, setup, teardown),
                cmocka_unit_test_setup_teardown(test_interleaved_removes_the_transmit_delay, setup, teardown),
                cmocka_unit_test_setup_teardown(test_interleaved_transmit_may_repeat_the_basic_one, setup, teardown),
                cmocka_unit_test_setup_teardown(test_basic_mode_is_off_by_half_the_transmit_delay, setup, teardown),
                cmocka_unit_test_setup_teardown(test_falls_back_to_basic_and_keeps_working, setup, teardown),
                cmocka_unit_test_setup_teardown(test_server_losing_state_switches_to_basic_and_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_first_interleaved_reply_is_no_sample, setup, teardown),
                cmocka_unit_test_setup_teardown(test_basic_reply_is_never_taken_as_interleaved, setup, teardown),
                cmocka_unit_test_setup_teardown(test_forged_origins_change_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_inconsistent_interleaved_timestamps_change_nothing, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_interleaved_requests_stop_after_missed_replies, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
