/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the engine's receive path with one source: the engine sends its request, the driver says
 * when it left, and the fuzz input arrives as the reply.
 *
 * Input: one control byte, then the datagram.
 *   bit 0     write the nonce of the request in flight into the datagram's origin field (bytes
 *             24..31), so that the fuzzer gets past the origin check into the filter, selection
 *             and discipline. (A control byte rather than a bit of the datagram itself: byte 0 of
 *             an NTP packet holds the mode, and any odd value there is a mode other than server.)
 *   bit 1     deliver each datagram twice: a replay of an accepted reply must never be accepted.
 *   bits 2-4  further exchanges (0..7) with the same datagram, its receive and transmit timestamps
 *             moved on by the time elapsed, so that accepted samples accumulate and update the clock.
 *   bit 5     the source has xleave: with bit 0, a request in interleaved mode is answered as in
 *             interleaved mode (origin: the request's receive nonce; transmit: moved on to the
 *             previous exchange only, as the previous reply's departure).
 *
 * Besides the sanitizers it checks what engine.h promises: a rejected datagram changes nothing and
 * asks for no action; clock actions are finite and within the panic and frequency limits; a reply
 * or a KoD counts only when its origin is the nonce of the request in flight. */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "fuzz.h"

/* The local clock reads 2025-01-01T00:00:00Z at mono 0; tests/fuzz/make-corpus.py writes seeds
 * whose server timestamps fit it. */
#define FUZZ_START_REAL_NS (INT64_C(1735689600) * NS_PER_SEC)
#define FUZZ_ROUND_TRIP_NS (INT64_C(20) * 1000000)
#define FUZZ_REPLAY_GAP_NS (INT64_C(1) * 1000000)
#define FUZZ_RANDOM_SEED UINT64_C(0x9e3779b97f4a7c15)
#define FUZZ_MAX_WAIT_NS (INT64_C(86400) * NS_PER_SEC)
#define FUZZ_MAX_TIME_CONSTANT 10     /* the kernel's MAXTC */

#define CONTROL_PATCH_ORIGIN 0x01
#define CONTROL_REPLAY 0x02
#define CONTROL_MORE_EXCHANGES(c) (((c) >> 2) & 7)
#define CONTROL_XLEAVE 0x20

#define ORIGIN_OFFSET 24
#define RECEIVE_OFFSET 32
#define TRANSMIT_OFFSET 40

struct harness {
        engine *engine;
        struct engine_config config;
        uint32_t source_id;
        uint64_t random_state;
        int64_t now_mono;
        uint64_t nonce;              /* of the request in flight, 0 before the first */
        uint64_t interleaved_nonce;  /* its receive timestamp: nonzero in interleaved mode */
        uint64_t elapsed, previous_elapsed; /* NTP time since the first request, at this and the last */
        int64_t first_send_real;     /* -1 until the first request left */
};

static uint64_t xorshift_random(void *userdata) {
        uint64_t *x = userdata;

        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        return *x;
}

static int64_t real_now(const struct harness *h) {
        return FUZZ_START_REAL_NS + h->now_mono;
}

static bool is_tally(char t) {
        return t == ' ' || t == 'x' || t == '-' || t == '+' || t == '*' || t == '#';
}

static void check_request(struct harness *h, const struct engine_action *a) {
        struct ntp_packet p;
        uint64_t nonce;

        fuzz_check(a->source_id == h->source_id);
        fuzz_check(a->packet_len == NTP_HEADER_SIZE);
        fuzz_check(ntp_packet_parse(a->packet, a->packet_len, &p) == NTP_PARSE_OK);
        fuzz_check(p.mode == NTP_MODE_CLIENT);
        nonce = fuzz_read_be64(a->packet + TRANSMIT_OFFSET);
        fuzz_check(nonce != 0 && nonce != h->nonce);
        h->nonce = nonce;
        h->interleaved_nonce = p.receive_ts;
        /* An interleaved request never confuses its two nonces, whose echo tells the modes apart. */
        fuzz_check(p.receive_ts == 0 ? p.origin_ts == 0 : p.receive_ts != nonce && p.origin_ts != 0);
}

static void check_clock_offset(const struct harness *h, double offset) {
        fuzz_check(isfinite(offset));
        fuzz_check(fabs(offset) <= h->config.panic_threshold);
}

static void check_action(struct harness *h, const struct engine_action *a) {
        switch (a->kind) {
        case ENGINE_ACTION_SEND:
                check_request(h, a);
                return;
        case ENGINE_ACTION_SET_FREQUENCY:
                fuzz_check(isfinite(a->frequency_ppm));
                fuzz_check(fabs(a->frequency_ppm) <= h->config.max_frequency_ppm);
                return;
        case ENGINE_ACTION_SLEW:
                check_clock_offset(h, a->offset);
                fuzz_check(a->time_constant >= 0 && a->time_constant <= FUZZ_MAX_TIME_CONSTANT);
                return;
        case ENGINE_ACTION_STEP:
                check_clock_offset(h, a->offset);
                return;
        case ENGINE_ACTION_SET_STATUS:
                fuzz_check(a->leap <= NTP_LEAP_DELETE);
                fuzz_check(isfinite(a->max_error) && a->max_error >= 0);
                fuzz_check(isfinite(a->est_error) && a->est_error >= 0);
                return;
        }
        fuzz_check(!"unknown action kind");
}

static void drain_actions(struct harness *h) {
        struct engine_action a;

        while (engine_next_action(h->engine, &a))
                check_action(h, &a);
}

static void check_status(const struct harness *h) {
        struct engine_status st;
        struct engine_source_info info;

        engine_get_status(h->engine, h->now_mono, &st);
        fuzz_check(st.stratum <= NTP_STRATUM_UNSYNC);
        fuzz_check(st.synchronized ? st.system_peer == h->source_id : st.unsync_reason != NULL);
        fuzz_check(isfinite(st.offset) && isfinite(st.frequency_ppm) && isfinite(st.residual_frequency_ppm));
        fuzz_check(fabs(st.frequency_ppm) <= h->config.max_frequency_ppm);
        fuzz_check(isfinite(st.root_delay) && isfinite(st.root_dispersion));

        fuzz_check(engine_get_sources(h->engine, &info, 1) == 1);
        fuzz_check(info.id == h->source_id);
        fuzz_check(is_tally(info.tally));
        fuzz_check(engine_source_state_to_string(info.state) != NULL);
        fuzz_check(isfinite(info.offset) && isfinite(info.delay) && isfinite(info.jitter));
        fuzz_check(isfinite(info.dispersion) && isfinite(info.root_distance) && isfinite(info.frequency_ppm));
}

/* Runs the engine's timers until it sends a request, and reports that it left. */
static bool next_request(struct harness *h) {
        uint64_t previous = h->nonce;

        for (int attempt = 0; attempt < 8 && h->nonce == previous; attempt++) {
                int64_t wakeup = engine_next_wakeup(h->engine);

                if (wakeup > h->now_mono) {
                        if (wakeup - h->now_mono > FUZZ_MAX_WAIT_NS)
                                return false;
                        h->now_mono = wakeup;
                }
                engine_run(h->engine, h->now_mono);
                drain_actions(h);
        }
        if (h->nonce == previous)
                return false;
        if (h->first_send_real < 0)
                h->first_send_real = real_now(h);
        h->previous_elapsed = h->elapsed;
        h->elapsed = ntp_ts_from_unix_ns(real_now(h)) - ntp_ts_from_unix_ns(h->first_send_real);
        engine_request_sent(h->engine, h->source_id, real_now(h));
        return true;
}

/* The datagram as it arrives for the request in flight. Returns a buffer of exactly len bytes. */
static uint8_t *make_reply(const struct harness *h, const uint8_t *datagram, size_t len, uint8_t control) {
        uint8_t *buf = malloc(len > 0 ? len : 1);

        if (!buf)
                abort();
        bool interleaved = (control & CONTROL_PATCH_ORIGIN) && h->interleaved_nonce != 0;

        memcpy(buf, datagram, len);
        if ((control & CONTROL_PATCH_ORIGIN) && len >= ORIGIN_OFFSET + 8)
                fuzz_write_be64(buf + ORIGIN_OFFSET, interleaved ? h->interleaved_nonce : h->nonce);
        if (len >= NTP_HEADER_SIZE) {
                /* Moves the server's clock on with ours, keeping the offset the datagram had; an
                 * interleaved transmit timestamp is the previous reply's. */
                uint64_t elapsed = h->elapsed;

                fuzz_write_be64(buf + RECEIVE_OFFSET, fuzz_read_be64(buf + RECEIVE_OFFSET) + elapsed);
                fuzz_write_be64(buf + TRANSMIT_OFFSET, fuzz_read_be64(buf + TRANSMIT_OFFSET) +
                                                               (interleaved ? h->previous_elapsed : elapsed));
        }
        return buf;
}

static enum response_result deliver(struct harness *h, const uint8_t *buf, size_t len, int64_t after_ns) {
        struct engine_action a;
        enum response_result r;
        uint64_t nonce = h->nonce, interleaved_nonce = h->interleaved_nonce;

        h->now_mono += after_ns;
        r = engine_receive(h->engine, h->source_id, buf, len, real_now(h), h->now_mono);
        fuzz_check((unsigned) r < _RESPONSE_MAX);
        if (r == RESPONSE_OK || response_result_is_kod(r))
                fuzz_check(len >= NTP_HEADER_SIZE && (fuzz_read_be64(buf + ORIGIN_OFFSET) == nonce ||
                                                      (interleaved_nonce != 0 &&
                                                       fuzz_read_be64(buf + ORIGIN_OFFSET) == interleaved_nonce)));
        else
                fuzz_check(!engine_next_action(h->engine, &a));
        drain_actions(h);
        check_status(h);
        return r;
}

static void exchange(struct harness *h, const uint8_t *datagram, size_t len, uint8_t control) {
        uint8_t *reply = make_reply(h, datagram, len, control);
        enum response_result first = deliver(h, reply, len, FUZZ_ROUND_TRIP_NS);

        if (control & CONTROL_REPLAY) {
                enum response_result again = deliver(h, reply, len, FUZZ_REPLAY_GAP_NS);

                /* A replay never counts; a kiss with a code we do not know changes nothing either
                 * time, so seeing it again is no replay. */
                if (first == RESPONSE_OK || first == RESPONSE_KOD_RATE || first == RESPONSE_KOD_DENY)
                        fuzz_check(again != RESPONSE_OK && again != RESPONSE_KOD_RATE && again != RESPONSE_KOD_DENY);
        }
        free(reply);
}

static void harness_init(struct harness *h, bool xleave) {
        struct engine_source_config source = {
                .name = "fuzz.example",
                .refid = 0xc0000201,
                .iburst = true,
                .xleave = xleave,
        };
        int64_t id;

        *h = (struct harness) {
                .random_state = FUZZ_RANDOM_SEED,
                .first_send_real = -1,
        };
        engine_config_init(&h->config);
        h->config.random_u64 = xorshift_random;
        h->config.random_userdata = &h->random_state;
        h->engine = engine_new(&h->config);
        fuzz_check(h->engine);
        id = engine_add_source(h->engine, &source, h->now_mono);
        fuzz_check(id > 0);
        h->source_id = (uint32_t) id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct harness h;
        uint8_t control;

        if (size < 1)
                return 0;
        control = data[0];
        harness_init(&h, control & CONTROL_XLEAVE);
        for (unsigned i = 0; i <= CONTROL_MORE_EXCHANGES(control) && next_request(&h); i++)
                exchange(&h, data + 1, size - 1, control);
        engine_free(h.engine);
        return 0;
}
