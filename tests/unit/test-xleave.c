/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for xleave: when an answer is interleaved (the third to a client at the earliest),
 * with which timestamps; basic clients take no state; an entry is used once, by its own address
 * only, so that forged origins (garbage, or another client's) get basic answers and leave the
 * other client's state alone; evicted and forgotten entries, transmit timestamps out of range, the
 * size bound; and the looped-back frames the kernel's transmit timestamps come with. */

#include <stdlib.h>
#include <string.h>

#include "core/unaligned.h"
#include "core/xleave.h"
#include "unit-test.h"

#define SEED UINT64_C(0x0123456789abcdef)
#define T0 UINT64_C(0xeb2b1f0000000000)
#define MS (UINT64_C(1) << 32) / 1000
#define SECOND (UINT64_C(1) << 32)

static const uint8_t ADDRESS_A[4] = { 192, 0, 2, 10 };
static const uint8_t ADDRESS_B[4] = { 192, 0, 2, 11 };
static xleave_table *table;

static int setup(void **state) {
        table = xleave_new(XLEAVE_DEFAULT_CAPACITY, SEED);
        return table ? 0 : -1;
}

static int teardown(void **state) {
        table = xleave_free(table);
        return 0;
}

/* A client's request as a client in interleaved mode forms it: origin = our last receive
 * timestamp, receive = its receive timestamp of our last answer, transmit = now. */
struct request {
        uint8_t buf[NTP_HEADER_SIZE];
};

static struct request request(unsigned version, ntp_ts origin, ntp_ts receive, ntp_ts transmit) {
        struct request r = { .buf = { (uint8_t) (version << 3 | NTP_MODE_CLIENT) } };
        unaligned_write_be64(r.buf + 24, origin);
        unaligned_write_be64(r.buf + 32, receive);
        unaligned_write_be64(r.buf + 40, transmit);
        return r;
}

struct exchange {
        uint8_t response[NTP_HEADER_SIZE];
        struct xleave_answer answer;
};

/* Our basic answer to r received at rx (as server_handle() writes it), then xleave_answer(). */
static struct exchange answer(const uint8_t *address, const struct request *r, ntp_ts rx) {
        struct exchange e = { .response = { 4 << 3 | NTP_MODE_SERVER } };
        unaligned_write_be64(e.response + 24, unaligned_read_be64(r->buf + 40));
        unaligned_write_be64(e.response + 32, rx | XLEAVE_RX_MARK);
        xleave_answer(table, address, 4, r->buf, sizeof(r->buf), e.response, &e.answer);
        return e;
}

static ntp_ts origin_of(const struct exchange *e) {
        return unaligned_read_be64(e->response + 24);
}

static ntp_ts transmit_of(const struct exchange *e) {
        return unaligned_read_be64(e->response + 40);
}

/* Two exchanges in interleaved form, the second one's transmit timestamp from the kernel: the
 * state a third request can be answered interleaved from. Returns the second answer. */
static struct exchange warm_up(const uint8_t *address, ntp_ts start, ntp_ts kernel_delay) {
        struct request r1 = request(4, 0, 0, start);
        struct exchange e1 = answer(address, &r1, start + MS);
        assert_false(e1.answer.interleaved);
        assert_true(e1.answer.key == 0); /* basic so far: nothing saved */

        struct request r2 = request(4, unaligned_read_be64(e1.response + 32), start + 2 * MS, start + 100 * MS);
        struct exchange e2 = answer(address, &r2, start + 101 * MS);
        assert_false(e2.answer.interleaved);
        assert_true(e2.answer.key == ((start + 101 * MS) | XLEAVE_RX_MARK));
        xleave_set_transmit(table, e2.answer.key, start + 102 * MS, false);
        if (kernel_delay)
                xleave_set_transmit(table, e2.answer.key, start + 102 * MS + kernel_delay, true);
        return e2;
}

static struct request third_request(const struct exchange *e2, ntp_ts client_rx, ntp_ts client_tx) {
        return request(4, e2->answer.key, client_rx, client_tx);
}

/* ---- the interleaved answer ---- */

static void test_third_answer_interleaved_with_kernel_timestamp(void **state) {
        struct exchange e2 = warm_up(ADDRESS_A, T0, 25 * MS / 1000); /* kernel 25 µs after the estimate */
        ntp_ts client_rx = T0 + 103 * MS;
        struct request r3 = third_request(&e2, client_rx, T0 + 200 * MS);
        struct exchange e3 = answer(ADDRESS_A, &r3, T0 + 201 * MS);

        assert_true(e3.answer.interleaved);
        assert_true(e3.answer.kernel);
        /* Origin: the client's receive timestamp of the previous answer; transmit: when that left. */
        assert_true(origin_of(&e3) == client_rx);
        assert_true(transmit_of(&e3) == ((T0 + 102 * MS + 25 * MS / 1000) & ~XLEAVE_RX_MARK));
        /* Its own receive timestamp is saved for the fourth. */
        assert_true(e3.answer.key == ((T0 + 201 * MS) | XLEAVE_RX_MARK));
        assert_int_equal(xleave_entries(table), 2);
}

static void test_estimate_without_kernel_timestamp(void **state) {
        struct exchange e2 = warm_up(ADDRESS_A, T0, 0);
        struct request r3 = third_request(&e2, T0 + 103 * MS, T0 + 200 * MS);
        struct exchange e3 = answer(ADDRESS_A, &r3, T0 + 201 * MS);
        assert_true(e3.answer.interleaved);
        assert_false(e3.answer.kernel);
        assert_true(transmit_of(&e3) == (T0 + 102 * MS));
}

static void test_continues_interleaved(void **state) {
        struct exchange previous = warm_up(ADDRESS_A, T0, MS / 100);
        for (unsigned i = 3; i < 20; i++) {
                ntp_ts t = T0 + i * 100 * MS;
                struct request r = third_request(&previous, t - 97 * MS, t);
                struct exchange e = answer(ADDRESS_A, &r, t + MS);
                assert_true(e.answer.interleaved);
                xleave_set_transmit(table, e.answer.key, t + 2 * MS, false);
                previous = e;
        }
}

/* ---- who is not answered interleaved ---- */

static void test_basic_clients_take_no_state(void **state) {
        /* Origin zero (chrony's basic mode), or our transmit timestamp (ntpd's), lowest bit clear. */
        for (unsigned i = 0; i < 100; i++) {
                struct request r = request(4, i % 2 ? 0 : (T0 + i * SECOND) & ~XLEAVE_RX_MARK, T0, T0 + i);
                struct exchange e = answer(ADDRESS_A, &r, T0 + i * SECOND);
                assert_false(e.answer.interleaved);
                assert_true(e.answer.key == 0);
        }
        assert_int_equal(xleave_entries(table), 0);
}

static void test_version_3_never_interleaved(void **state) {
        struct exchange e2 = warm_up(ADDRESS_A, T0, MS / 100);
        struct request r3 = third_request(&e2, T0 + 103 * MS, T0 + 200 * MS);
        r3.buf[0] = 3 << 3 | NTP_MODE_CLIENT;
        struct exchange e3 = answer(ADDRESS_A, &r3, T0 + 201 * MS);
        assert_false(e3.answer.interleaved);
        assert_true(origin_of(&e3) == T0 + 200 * MS);
}

static void test_receive_equal_transmit_not_asking(void **state) {
        struct exchange e2 = warm_up(ADDRESS_A, T0, MS / 100);
        struct request r3 = third_request(&e2, T0 + 200 * MS, T0 + 200 * MS);
        assert_false(answer(ADDRESS_A, &r3, T0 + 201 * MS).answer.interleaved);
        /* Not looked up, so not spent: the proper request still gets it. */
        struct request proper = third_request(&e2, T0 + 103 * MS, T0 + 300 * MS);
        assert_true(answer(ADDRESS_A, &proper, T0 + 301 * MS).answer.interleaved);
}

static void test_replay_gets_basic(void **state) {
        struct exchange e2 = warm_up(ADDRESS_A, T0, MS / 100);
        struct request r3 = third_request(&e2, T0 + 103 * MS, T0 + 200 * MS);
        assert_true(answer(ADDRESS_A, &r3, T0 + 201 * MS).answer.interleaved);
        struct exchange again = answer(ADDRESS_A, &r3, T0 + 202 * MS);
        assert_false(again.answer.interleaved);
        assert_true(origin_of(&again) == T0 + 200 * MS);
        assert_true(transmit_of(&again) == 0); /* left to be stamped */
}

static void test_garbage_origin_gets_basic_and_leaves_others_alone(void **state) {
        struct exchange e2 = warm_up(ADDRESS_A, T0, MS / 100);
        /* Forged requests with A's address and marked garbage origins: basic, each with an entry of
         * its own, never A's. */
        for (unsigned i = 0; i < 64; i++) {
                struct request forged = request(4, (T0 + 150 * MS + i * 7) | XLEAVE_RX_MARK, T0 + i, T0 + 150 * MS);
                struct exchange f = answer(ADDRESS_A, &forged, T0 + 150 * MS + i * MS);
                assert_false(f.answer.interleaved);
        }
        struct request r3 = third_request(&e2, T0 + 103 * MS, T0 + 300 * MS);
        assert_true(answer(ADDRESS_A, &r3, T0 + 301 * MS).answer.interleaved);
}

static void test_other_clients_origin_gets_basic_and_leaves_it_alone(void **state) {
        struct exchange e2 = warm_up(ADDRESS_A, T0, MS / 100);
        /* B sniffed A's origin: B gets a basic answer, A's entry stays usable. */
        struct request stolen = third_request(&e2, T0 + 103 * MS, T0 + 200 * MS);
        struct exchange f = answer(ADDRESS_B, &stolen, T0 + 201 * MS);
        assert_false(f.answer.interleaved);
        assert_true(origin_of(&f) == T0 + 200 * MS);
        struct request r3 = third_request(&e2, T0 + 103 * MS, T0 + 300 * MS);
        assert_true(answer(ADDRESS_A, &r3, T0 + 301 * MS).answer.interleaved);
}

static void test_without_transmit_timestamp_basic(void **state) {
        struct request r1 = request(4, 0, 0, T0);
        struct exchange e1 = answer(ADDRESS_A, &r1, T0 + MS);
        struct request r2 = request(4, unaligned_read_be64(e1.response + 32), T0 + 2 * MS, T0 + 100 * MS);
        struct exchange e2 = answer(ADDRESS_A, &r2, T0 + 101 * MS);
        /* The answer was never sent: no transmit timestamp saved. */
        struct request r3 = third_request(&e2, T0 + 103 * MS, T0 + 200 * MS);
        assert_false(answer(ADDRESS_A, &r3, T0 + 201 * MS).answer.interleaved);
}

static void test_transmit_timestamps_out_of_range(void **state) {
        /* A kernel timestamp before the estimate, or seconds after it, is not taken. */
        struct exchange e2 = warm_up(ADDRESS_A, T0, 0);
        xleave_set_transmit(table, e2.answer.key, T0 + 101 * MS, true);
        xleave_set_transmit(table, e2.answer.key, T0 + 102 * MS + 2 * SECOND, true);
        struct request r3 = third_request(&e2, T0 + 103 * MS, T0 + 200 * MS);
        struct exchange e3 = answer(ADDRESS_A, &r3, T0 + 201 * MS);
        assert_true(e3.answer.interleaved);
        assert_false(e3.answer.kernel);
        assert_true(transmit_of(&e3) == T0 + 102 * MS);

        /* An estimate before the receive timestamp or long after it (a clock step): none at all. */
        xleave_set_transmit(table, e3.answer.key, T0 + 100 * MS, false);
        struct request r4 = third_request(&e3, T0 + 203 * MS, T0 + 300 * MS);
        assert_false(answer(ADDRESS_A, &r4, T0 + 301 * MS).answer.interleaved);
}

static void test_forgotten_entry_basic(void **state) {
        struct exchange e2 = warm_up(ADDRESS_A, T0, MS / 100);
        xleave_forget(table, e2.answer.key);
        assert_int_equal(xleave_entries(table), 0);
        struct request r3 = third_request(&e2, T0 + 103 * MS, T0 + 200 * MS);
        assert_false(answer(ADDRESS_A, &r3, T0 + 201 * MS).answer.interleaved);
        xleave_forget(table, e2.answer.key); /* twice: nothing to forget */
        assert_int_equal(xleave_entries(table), 1);
}

static void test_duplicate_receive_timestamp_spends_entry(void **state) {
        struct exchange e2 = warm_up(ADDRESS_A, T0, MS / 100);
        /* Another client's request stamped with the very same receive timestamp. */
        struct request other = request(4, (T0 + 50 * MS) | XLEAVE_RX_MARK, T0, T0 + 100 * MS);
        assert_false(answer(ADDRESS_B, &other, T0 + 101 * MS).answer.interleaved);
        struct request r3 = third_request(&e2, T0 + 103 * MS, T0 + 200 * MS);
        assert_false(answer(ADDRESS_A, &r3, T0 + 201 * MS).answer.interleaved);
}

/* ---- bounds ---- */

static void test_evicted_client_falls_back_to_basic(void **state) {
        table = xleave_free(table);
        table = xleave_new(16, SEED);
        assert_int_equal(xleave_capacity(table), 16);
        struct exchange e2 = warm_up(ADDRESS_A, T0, MS / 100);
        /* A flood of newer entries pushes out the oldest. */
        for (unsigned i = 0; i < 1000; i++) {
                struct request r = request(4, (T0 + i * 2) | XLEAVE_RX_MARK, T0, T0 + SECOND + i * MS);
                (void) answer(ADDRESS_B, &r, T0 + SECOND + i * MS);
                assert_true(xleave_entries(table) <= 16);
        }
        assert_int_equal(xleave_entries(table), 16);
        struct request r3 = third_request(&e2, T0 + 103 * MS, T0 + 3 * SECOND);
        struct exchange e3 = answer(ADDRESS_A, &r3, T0 + 3 * SECOND + MS);
        assert_false(e3.answer.interleaved);
        /* ... and it is saved again: the next exchange is interleaved. */
        xleave_set_transmit(table, e3.answer.key, T0 + 3 * SECOND + 2 * MS, false);
        struct request r4 = third_request(&e3, T0 + 3 * SECOND + 3 * MS, T0 + 4 * SECOND);
        assert_true(answer(ADDRESS_A, &r4, T0 + 4 * SECOND + MS).answer.interleaved);
}

static void test_capacity_rounded_and_bounded(void **state) {
        xleave_table *t = xleave_new(1000, SEED);
        assert_int_equal(xleave_capacity(t), 1024);
        xleave_free(t);
        t = xleave_new(0, SEED);
        assert_int_equal(xleave_capacity(t), 16);
        xleave_free(t);
}

static void test_short_request_or_bad_address_ignored(void **state) {
        struct request r = request(4, T0 | XLEAVE_RX_MARK, 1, 2);
        uint8_t response[NTP_HEADER_SIZE] = { 0 };
        struct xleave_answer a;
        xleave_answer(table, ADDRESS_A, 4, r.buf, NTP_HEADER_SIZE - 1, response, &a);
        assert_false(a.interleaved);
        xleave_answer(table, ADDRESS_A, 5, r.buf, NTP_HEADER_SIZE, response, &a);
        assert_true(a.key == 0);
        assert_int_equal(xleave_entries(table), 0);
}

static void test_make_basic(void **state) {
        struct exchange e2 = warm_up(ADDRESS_A, T0, MS / 100);
        struct request r3 = third_request(&e2, T0 + 103 * MS, T0 + 200 * MS);
        struct exchange e3 = answer(ADDRESS_A, &r3, T0 + 201 * MS);
        assert_true(e3.answer.interleaved);
        xleave_make_basic(r3.buf, sizeof(r3.buf), e3.response);
        assert_true(origin_of(&e3) == T0 + 200 * MS);
        assert_true(transmit_of(&e3) == 0);
}

/* ---- looped-back frames ---- */

static size_t frame(uint8_t *buf, bool ether, bool vlan, unsigned ip_version, uint8_t protocol, unsigned mode,
                    size_t ntp_len) {
        size_t pos = 0;
        memset(buf, 0, 200);
        if (ether) {
                pos = 12;
                if (vlan) {
                        unaligned_write_be16(buf + pos, 0x8100);
                        pos += 4;
                }
                unaligned_write_be16(buf + pos, ip_version == 4 ? 0x0800 : 0x86dd);
                pos += 2;
        }
        if (ip_version == 4) {
                buf[pos] = 0x46; /* with 4 bytes of options */
                buf[pos + 9] = protocol;
                pos += 24;
        } else {
                buf[pos] = 0x60;
                buf[pos + 6] = protocol;
                pos += 40;
        }
        pos += 8; /* UDP */
        buf[pos] = (uint8_t) (4 << 3 | mode);
        unaligned_write_be64(buf + pos + 32, T0 | XLEAVE_RX_MARK);
        return pos + ntp_len;
}

static void test_frame_key(void **state) {
        uint8_t buf[200];
        ntp_ts key = 0;
        assert_true(xleave_frame_key(buf, frame(buf, true, false, 4, 17, 4, 48), &key));
        assert_true(key == (T0 | XLEAVE_RX_MARK));
        assert_true(xleave_frame_key(buf, frame(buf, true, true, 6, 17, 4, 48), &key));
        assert_true(xleave_frame_key(buf, frame(buf, false, false, 4, 17, 2, 48), &key));
        assert_true(xleave_frame_key(buf, frame(buf, false, false, 6, 17, 4, 90), &key));

        assert_false(xleave_frame_key(buf, frame(buf, true, false, 4, 17, 4, 47), &key)); /* short */
        assert_false(xleave_frame_key(buf, frame(buf, true, false, 4, 6, 4, 48), &key));  /* TCP */
        assert_false(xleave_frame_key(buf, frame(buf, true, false, 6, 17, 3, 48), &key)); /* a request */
        size_t len = frame(buf, true, false, 4, 17, 4, 48);
        buf[14 + 6] = 0x00, buf[14 + 7] = 0x10; /* a later fragment */
        assert_false(xleave_frame_key(buf, len, &key));
        len = frame(buf, true, false, 4, 17, 4, 48);
        buf[14] = 0x44; /* header length below 20 */
        assert_false(xleave_frame_key(buf, len, &key));
        /* Cut anywhere before the end of the NTP header, in a buffer just that long (for the
         * sanitizers: nothing past the cut is read). */
        len = frame(buf, true, false, 4, 17, 4, 48);
        for (size_t n = 0; n < len; n++) {
                uint8_t *cut = malloc(n ? n : 1);
                assert_non_null(cut);
                memcpy(cut, buf, n);
                assert_false(xleave_frame_key(cut, n, &key));
                free(cut);
        }
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_third_answer_interleaved_with_kernel_timestamp),
                T(test_estimate_without_kernel_timestamp),
                T(test_continues_interleaved),
                T(test_basic_clients_take_no_state),
                T(test_version_3_never_interleaved),
                T(test_receive_equal_transmit_not_asking),
                T(test_replay_gets_basic),
                T(test_garbage_origin_gets_basic_and_leaves_others_alone),
                T(test_other_clients_origin_gets_basic_and_leaves_it_alone),
                T(test_without_transmit_timestamp_basic),
                T(test_transmit_timestamps_out_of_range),
                T(test_forgotten_entry_basic),
                T(test_duplicate_receive_timestamp_spends_entry),
                T(test_evicted_client_falls_back_to_basic),
                T(test_capacity_rounded_and_bounded),
                T(test_short_request_or_bad_address_ignored),
                T(test_make_basic),
                T(test_frame_key),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
