/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Unit tests for nts-ke: the NTS-KE record codec of RFC 8915 §4 on both sides. Known answers are
 * the record layouts of the RFC's figures written out as bytes; every refusal has its test, with
 * the detail it reports and the outputs left untouched. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/nts-ke.h"
#include "core/unaligned.h"
#include "unit-test.h"

static const uint16_t aes_siv[] = { NTS_AEAD_AES_SIV_CMAC_256 };

/* A message under construction: records written with the codec's own appender. */
struct msg {
        uint8_t buf[NTS_KE_MAX_MESSAGE_SIZE + 64];
        struct nts_writer w;
};

static void msg_init(struct msg *m) {
        m->w = (struct nts_writer) { .buf = m->buf, .size = sizeof(m->buf) };
}

static void msg_record(struct msg *m, bool critical, uint16_t type, const void *body, size_t len) {
        nts_ke_record_append(&m->w, critical, type, body, len);
        assert_false(m->w.overflow);
}

static void msg_u16(struct msg *m, bool critical, uint16_t type, uint16_t value) {
        nts_ke_record_append_u16(&m->w, critical, type, value);
        assert_false(m->w.overflow);
}

static void msg_end(struct msg *m) {
        msg_record(m, true, NTS_KE_RECORD_END_OF_MESSAGE, NULL, 0);
}

/* A valid client request in m, without its End of Message. */
static void msg_request(struct msg *m) {
        msg_init(m);
        msg_u16(m, true, NTS_KE_RECORD_NEXT_PROTOCOL, NTS_KE_PROTOCOL_NTPV4);
        msg_u16(m, true, NTS_KE_RECORD_AEAD, NTS_AEAD_AES_SIV_CMAC_256);
}

static void msg_cookie(struct msg *m, size_t len, uint8_t fill) {
        uint8_t body[512];

        assert_true(len <= sizeof(body));
        memset(body, fill, len);
        msg_record(m, false, NTS_KE_RECORD_NEW_COOKIE, body, len);
}

/* A valid server response in m, without its End of Message. */
static void msg_response(struct msg *m) {
        msg_request(m);
        msg_cookie(m, 100, 0xc0);
}

/* Heap copies of exactly the message's length, so that reading past it is an ASan finding. */
static enum nts_ke_reason parse_request(const uint8_t *buf, size_t len, const uint16_t *supported, size_t n,
                                        struct nts_ke_request *ret, uint16_t *detail) {
        uint8_t *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, buf, len);
        enum nts_ke_reason r = nts_ke_request_parse(copy, len, supported, n, ret, detail);
        free(copy);
        return r;
}

static enum nts_ke_reason parse_response(const uint8_t *buf, size_t len, const uint16_t *offered, size_t n,
                                         struct nts_ke_response *ret, uint16_t *detail) {
        uint8_t *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, buf, len);
        enum nts_ke_reason r = nts_ke_response_parse(copy, len, offered, n, ret, detail);
        free(copy);
        return r;
}

/* The request is refused for reason with this detail, and *ret stays as it was. */
static void assert_request_refused(const struct msg *m, enum nts_ke_reason reason, uint16_t detail) {
        struct nts_ke_request ret, before;
        uint16_t got = 0xeeee;

        memset(&ret, 0xa5, sizeof(ret));
        before = ret;
        enum nts_ke_reason r = parse_request(m->buf, m->w.len, aes_siv, 1, &ret, &got);
        if (r != reason) {
                print_error("expected \"%s\", got \"%s\"\n", nts_ke_reason_to_string(reason), nts_ke_reason_to_string(r));
                fail();
        }
        assert_int_equal(got, detail);
        assert_memory_equal(&ret, &before, sizeof(ret));
}

static void assert_response_refused(const struct msg *m, enum nts_ke_reason reason, uint16_t detail) {
        struct nts_ke_response *ret = malloc(sizeof(*ret)), *before = malloc(sizeof(*before));
        uint16_t got = 0xeeee;

        assert_non_null(ret);
        assert_non_null(before);
        memset(ret, 0xa5, sizeof(*ret));
        *before = *ret;
        enum nts_ke_reason r = parse_response(m->buf, m->w.len, aes_siv, 1, ret, &got);
        if (r != reason) {
                print_error("expected \"%s\", got \"%s\"\n", nts_ke_reason_to_string(reason), nts_ke_reason_to_string(r));
                fail();
        }
        assert_int_equal(got, detail);
        assert_memory_equal(ret, before, sizeof(*ret));
        free(ret);
        free(before);
}

static struct nts_ke_request parse_request_ok(const struct msg *m, const uint16_t *supported, size_t n) {
        struct nts_ke_request ret;

        assert_int_equal(parse_request(m->buf, m->w.len, supported, n, &ret, NULL), NTS_KE_OK);
        return ret;
}

/* RFC 8915 Figure 3: C bit, 15-bit record type, 16-bit body length, body. */
static void test_record_layout(void **state) {
        static const uint8_t bytes[] = {
                0x80, 0x05, 0x00, 0x02, 0xab, 0xcd,     /* critical, type 5, 2 bytes */
                0x40, 0x01, 0x00, 0x00,                 /* not critical, type 0x4001, empty */
        };
        struct nts_ke_record r;
        size_t pos = 0;

        assert_int_equal(nts_ke_record_next(bytes, sizeof(bytes), &pos, &r), 1);
        assert_true(r.critical);
        assert_int_equal(r.type, 5);
        assert_int_equal(r.body_len, 2);
        assert_ptr_equal(r.body, bytes + 4);
        assert_int_equal(pos, 6);
        assert_int_equal(nts_ke_record_next(bytes, sizeof(bytes), &pos, &r), 1);
        assert_false(r.critical);
        assert_int_equal(r.type, 0x4001);
        assert_int_equal(r.body_len, 0);
        assert_int_equal(nts_ke_record_next(bytes, sizeof(bytes), &pos, &r), 0);
        assert_int_equal(pos, sizeof(bytes));

        /* Truncated header, truncated body. */
        pos = 0;
        assert_int_equal(nts_ke_record_next(bytes, 3, &pos, &r), -EBADMSG);
        assert_int_equal(nts_ke_record_next(bytes, 5, &pos, &r), -EBADMSG);
        assert_int_equal(pos, 0);

        /* The appender writes the same layout. */
        uint8_t out[6];
        struct nts_writer w = { .buf = out, .size = sizeof(out) };
        nts_ke_record_append(&w, true, 5, bytes + 4, 2);
        assert_false(w.overflow);
        assert_memory_equal(out, bytes, 6);
        nts_ke_record_append(&w, false, 0, NULL, 0);
        assert_true(w.overflow);
        w = (struct nts_writer) { .buf = out, .size = sizeof(out) };
        nts_ke_record_append(&w, false, NTS_KE_CRITICAL, NULL, 0);
        assert_true(w.overflow);
}

/* The request RFC 8915 §4 describes: Next Protocol NTPv4, AEAD AES-SIV-CMAC-256, End of Message. */
static void test_request_known_answer(void **state) {
        static const uint8_t expected[] = {
                0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
                0x80, 0x04, 0x00, 0x02, 0x00, 0x0f,
                0x80, 0x00, 0x00, 0x00,
        };
        uint8_t buf[sizeof(expected)];
        size_t len = 0;

        assert_int_equal(nts_ke_request_build(aes_siv, 1, buf, sizeof(buf), &len), 0);
        assert_int_equal(len, sizeof(expected));
        assert_memory_equal(buf, expected, sizeof(expected));

        /* One byte short. */
        len = 12345;
        assert_int_equal(nts_ke_request_build(aes_siv, 1, buf, sizeof(buf) - 1, &len), -ENOBUFS);
        assert_int_equal(len, 12345);
}

static void test_request_build_arguments(void **state) {
        uint16_t many[NTS_KE_MAX_AEADS + 1] = {};
        uint8_t buf[128];
        size_t len = 0;

        assert_int_equal(nts_ke_request_build(aes_siv, 0, buf, sizeof(buf), &len), -EINVAL);
        assert_int_equal(nts_ke_request_build(many, NTS_KE_MAX_AEADS + 1, buf, sizeof(buf), &len), -EINVAL);
        assert_int_equal(nts_ke_request_build(many, NTS_KE_MAX_AEADS, buf, sizeof(buf), &len), 0);
        assert_int_equal(len, 6 + 4 + 2 * NTS_KE_MAX_AEADS + 4);
}

static void test_request_round_trip(void **state) {
        static const uint16_t offered[] = { NTS_AEAD_AES_128_GCM_SIV, NTS_AEAD_AES_SIV_CMAC_256 };
        static const uint16_t server_both[] = { NTS_AEAD_AES_SIV_CMAC_256, NTS_AEAD_AES_128_GCM_SIV };
        static const uint16_t server_other[] = { NTS_AEAD_AES_SIV_CMAC_512 };
        struct msg m;
        size_t len;

        msg_init(&m);
        assert_int_equal(nts_ke_request_build(offered, 2, m.buf, sizeof(m.buf), &len), 0);
        m.w.len = len;

        /* The client's order is its preference. */
        struct nts_ke_request r = parse_request_ok(&m, server_both, 2);
        assert_true(r.ntpv4);
        assert_true(r.has_aead);
        assert_int_equal(r.aead, NTS_AEAD_AES_128_GCM_SIV);
        assert_string_equal(r.server, "");
        assert_false(r.has_port);

        r = parse_request_ok(&m, aes_siv, 1);
        assert_int_equal(r.aead, NTS_AEAD_AES_SIV_CMAC_256);

        /* Nothing in common is no error: the answer says so with an empty AEAD record. */
        r = parse_request_ok(&m, server_other, 1);
        assert_true(r.ntpv4);
        assert_false(r.has_aead);
}

static void test_request_suggestions(void **state) {
        struct msg m;

        msg_request(&m);
        msg_record(&m, false, NTS_KE_RECORD_SERVER, "ntp.example.org", 15);
        msg_u16(&m, true, NTS_KE_RECORD_PORT, 1123);
        msg_record(&m, false, 0x4321, "ignored", 7);   /* unknown, not critical */
        msg_end(&m);
        struct nts_ke_request r = parse_request_ok(&m, aes_siv, 1);
        assert_string_equal(r.server, "ntp.example.org");
        assert_true(r.has_port);
        assert_int_equal(r.port, 1123);
}

static void test_request_other_protocols(void **state) {
        struct msg m;

        /* Not NTPv4 and no AEAD record: fine, answered with an empty Next Protocol record. */
        msg_init(&m);
        msg_u16(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, 0x1234);
        msg_end(&m);
        struct nts_ke_request r = parse_request_ok(&m, aes_siv, 1);
        assert_false(r.ntpv4);
        assert_false(r.has_aead);

        /* NTPv4 among several. */
        static const uint8_t protocols[] = { 0x12, 0x34, 0x00, 0x00 };
        msg_init(&m);
        msg_record(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, protocols, sizeof(protocols));
        msg_u16(&m, false, NTS_KE_RECORD_AEAD, NTS_AEAD_AES_SIV_CMAC_256);
        msg_end(&m);
        r = parse_request_ok(&m, aes_siv, 1);
        assert_true(r.ntpv4);
        assert_true(r.has_aead);
}

static void test_request_framing_refused(void **state) {
        struct msg m;

        msg_request(&m);
        assert_request_refused(&m, NTS_KE_MISSING_END, 0);

        msg_request(&m);
        msg_end(&m);
        msg_u16(&m, true, NTS_KE_RECORD_AEAD, 15);
        assert_request_refused(&m, NTS_KE_DATA_AFTER_END, NTS_KE_RECORD_AEAD);

        msg_request(&m);
        msg_record(&m, false, NTS_KE_RECORD_END_OF_MESSAGE, NULL, 0);
        assert_request_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_END_OF_MESSAGE);

        msg_request(&m);
        msg_record(&m, true, NTS_KE_RECORD_END_OF_MESSAGE, "x", 1);
        assert_request_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_END_OF_MESSAGE);

        /* A record header cut short, then a body cut short. */
        msg_request(&m);
        msg_end(&m);
        m.w.len -= 1;
        assert_request_refused(&m, NTS_KE_TRUNCATED, 0);
        msg_request(&m);
        m.w.len -= 1;
        assert_request_refused(&m, NTS_KE_TRUNCATED, 0);

        /* Empty. */
        msg_init(&m);
        assert_request_refused(&m, NTS_KE_MISSING_END, 0);

        /* Beyond the limit, however well-formed. */
        msg_request(&m);
        static uint8_t big[NTS_KE_MAX_MESSAGE_SIZE];
        msg_record(&m, false, 0x4000, big, NTS_KE_MAX_MESSAGE_SIZE - m.w.len - 4 - 4 + 1);
        msg_end(&m);
        assert_int_equal(m.w.len, NTS_KE_MAX_MESSAGE_SIZE + 1);
        assert_request_refused(&m, NTS_KE_MESSAGE_TOO_LONG, 0);
        /* At the limit exactly, accepted. */
        msg_request(&m);
        msg_record(&m, false, 0x4000, big, NTS_KE_MAX_MESSAGE_SIZE - m.w.len - 4 - 4);
        msg_end(&m);
        assert_int_equal(m.w.len, NTS_KE_MAX_MESSAGE_SIZE);
        parse_request_ok(&m, aes_siv, 1);
}

static void test_request_records_refused(void **state) {
        static const uint8_t odd[] = { 0x00, 0x00, 0x00 };
        struct msg m;

        msg_init(&m);
        msg_u16(&m, false, NTS_KE_RECORD_NEXT_PROTOCOL, 0);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_NEXT_PROTOCOL);

        msg_init(&m);
        msg_record(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, NULL, 0);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_NEXT_PROTOCOL);

        msg_init(&m);
        msg_record(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, odd, sizeof(odd));
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_NEXT_PROTOCOL);

        msg_request(&m);
        msg_u16(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, 0);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_DUPLICATE_RECORD, NTS_KE_RECORD_NEXT_PROTOCOL);

        msg_init(&m);
        msg_u16(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, 0);
        msg_record(&m, true, NTS_KE_RECORD_AEAD, NULL, 0);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_AEAD);

        msg_init(&m);
        msg_u16(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, 0);
        msg_record(&m, true, NTS_KE_RECORD_AEAD, odd, sizeof(odd));
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_AEAD);

        msg_request(&m);
        msg_u16(&m, true, NTS_KE_RECORD_AEAD, 15);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_DUPLICATE_RECORD, NTS_KE_RECORD_AEAD);
}

static void test_request_missing_records(void **state) {
        struct msg m;

        msg_init(&m);
        msg_u16(&m, true, NTS_KE_RECORD_AEAD, 15);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_MISSING_NEXT_PROTOCOL, 0);

        msg_init(&m);
        msg_u16(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, 0);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_MISSING_AEAD, 0);
}

/* What only a server sends, and what nobody knows but is marked critical. */
static void test_request_unexpected_and_unknown(void **state) {
        static const uint16_t server_only[] = { NTS_KE_RECORD_ERROR, NTS_KE_RECORD_WARNING, NTS_KE_RECORD_NEW_COOKIE };
        struct msg m;

        for (size_t i = 0; i < ELEMENTSOF(server_only); i++) {
                msg_request(&m);
                msg_u16(&m, true, server_only[i], 0);
                msg_end(&m);
                assert_request_refused(&m, NTS_KE_UNEXPECTED_RECORD, server_only[i]);
        }

        msg_request(&m);
        msg_record(&m, true, 0x1234, NULL, 0);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_UNKNOWN_CRITICAL, 0x1234);

        msg_request(&m);
        msg_record(&m, false, 0x1234, NULL, 0);
        msg_end(&m);
        parse_request_ok(&m, aes_siv, 1);
}

static void test_request_server_and_port_refused(void **state) {
        char name[NTS_KE_MAX_SERVER_NAME + 2];
        struct msg m;

        memset(name, 'a', sizeof(name));

        /* 255 bytes are the most a name has. */
        msg_request(&m);
        msg_record(&m, true, NTS_KE_RECORD_SERVER, name, NTS_KE_MAX_SERVER_NAME);
        msg_end(&m);
        assert_int_equal(strlen(parse_request_ok(&m, aes_siv, 1).server), NTS_KE_MAX_SERVER_NAME);

        msg_request(&m);
        msg_record(&m, true, NTS_KE_RECORD_SERVER, name, NTS_KE_MAX_SERVER_NAME + 1);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_RECORD_TOO_LONG, NTS_KE_RECORD_SERVER);

        static const char *const bad_names[] = { "", "ntp example", "ntp\n", "ntp\x7f", "\xc3\xa9t\xc3\xa9" };
        for (size_t i = 0; i < ELEMENTSOF(bad_names); i++) {
                msg_request(&m);
                msg_record(&m, true, NTS_KE_RECORD_SERVER, bad_names[i], strlen(bad_names[i]));
                msg_end(&m);
                assert_request_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_SERVER);
        }

        msg_request(&m);
        msg_record(&m, true, NTS_KE_RECORD_SERVER, "a", 1);
        msg_record(&m, true, NTS_KE_RECORD_SERVER, "b", 1);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_DUPLICATE_RECORD, NTS_KE_RECORD_SERVER);

        msg_request(&m);
        msg_u16(&m, true, NTS_KE_RECORD_PORT, 0);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_PORT);

        msg_request(&m);
        msg_record(&m, true, NTS_KE_RECORD_PORT, "\x00\x7b\x00", 3);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_PORT);

        msg_request(&m);
        msg_u16(&m, true, NTS_KE_RECORD_PORT, 123);
        msg_u16(&m, true, NTS_KE_RECORD_PORT, 123);
        msg_end(&m);
        assert_request_refused(&m, NTS_KE_DUPLICATE_RECORD, NTS_KE_RECORD_PORT);
}

static void test_request_error_codes(void **state) {
        assert_int_equal(nts_ke_reason_error_code(NTS_KE_UNKNOWN_CRITICAL), NTS_KE_ERROR_UNRECOGNIZED_CRITICAL);
        for (int r = NTS_KE_MESSAGE_TOO_LONG; r < _NTS_KE_REASON_MAX; r++)
                if (r != NTS_KE_UNKNOWN_CRITICAL)
                        assert_int_equal(nts_ke_reason_error_code(r), NTS_KE_ERROR_BAD_REQUEST);
}

static struct nts_ke_response *full_response(void) {
        struct nts_ke_response *r = calloc(1, sizeof(*r));

        assert_non_null(r);
        r->ntpv4 = true;
        r->has_aead = true;
        r->aead = NTS_AEAD_AES_SIV_CMAC_256;
        r->n_cookies = NTS_MAX_COOKIES;
        for (size_t i = 0; i < NTS_MAX_COOKIES; i++) {
                r->cookies[i].len = (uint16_t) (NTS_COOKIE_MIN_SIZE + 4 * i);
                memset(r->cookies[i].data, (int) i + 1, r->cookies[i].len);
        }
        strcpy(r->server, "192.0.2.1");
        r->has_port = true;
        r->port = 1123;
        return r;
}

/* A server response as RFC 8915 §4 lays it out: protocol, algorithm, a cookie, where to go, end. */
static void test_response_known_answer(void **state) {
        static const uint8_t expected[] = {
                0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
                0x80, 0x04, 0x00, 0x02, 0x00, 0x0f,
                0x00, 0x05, 0x00, 0x0c, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                0x80, 0x06, 0x00, 0x09, '1', '9', '2', '.', '0', '.', '2', '.', '1',
                0x80, 0x07, 0x00, 0x02, 0x04, 0x63,
                0x80, 0x00, 0x00, 0x00,
        };
        struct nts_ke_response *r = full_response();
        uint8_t buf[sizeof(expected)];
        size_t len = 0;

        r->n_cookies = 1;
        assert_int_equal(nts_ke_response_build(r, buf, sizeof(buf), &len), 0);
        assert_int_equal(len, sizeof(expected));
        assert_memory_equal(buf, expected, sizeof(expected));
        assert_int_equal(nts_ke_response_build(r, buf, sizeof(buf) - 1, &len), -ENOBUFS);
        free(r);
}

static void test_response_round_trip(void **state) {
        struct nts_ke_response *r = full_response(), *got = malloc(sizeof(*got));
        uint8_t buf[4096];
        size_t len;

        assert_non_null(got);
        assert_int_equal(nts_ke_response_build(r, buf, sizeof(buf), &len), 0);
        assert_int_equal(parse_response(buf, len, aes_siv, 1, got, NULL), NTS_KE_OK);
        assert_true(got->ntpv4 && got->has_aead);
        assert_int_equal(got->aead, NTS_AEAD_AES_SIV_CMAC_256);
        assert_int_equal(got->n_cookies, NTS_MAX_COOKIES);
        for (size_t i = 0; i < NTS_MAX_COOKIES; i++) {
                assert_int_equal(got->cookies[i].len, r->cookies[i].len);
                assert_memory_equal(got->cookies[i].data, r->cookies[i].data, r->cookies[i].len);
        }
        assert_string_equal(got->server, "192.0.2.1");
        assert_true(got->has_port);
        assert_int_equal(got->port, 1123);

        /* Without server and port, the client stays with the KE server and port 123. */
        r->server[0] = '\0';
        r->has_port = false;
        r->n_cookies = 1;
        r->cookies[0].len = NTS_COOKIE_MAX_SIZE;
        assert_int_equal(nts_ke_response_build(r, buf, sizeof(buf), &len), 0);
        assert_int_equal(parse_response(buf, len, aes_siv, 1, got, NULL), NTS_KE_OK);
        assert_string_equal(got->server, "");
        assert_false(got->has_port);
        assert_int_equal(got->n_cookies, 1);
        assert_int_equal(got->cookies[0].len, NTS_COOKIE_MAX_SIZE);
        free(r);
        free(got);
}

static void test_response_refusals_built(void **state) {
        static const uint8_t no_protocol[] = { 0x80, 0x01, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00 };
        static const uint8_t no_aead[] = {
                0x80, 0x01, 0x00, 0x02, 0x00, 0x00, 0x80, 0x04, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
        };
        struct nts_ke_response r = {};
        struct msg m;
        size_t len;

        msg_init(&m);
        assert_int_equal(nts_ke_response_build(&r, m.buf, sizeof(m.buf), &len), 0);
        assert_int_equal(len, sizeof(no_protocol));
        assert_memory_equal(m.buf, no_protocol, sizeof(no_protocol));
        m.w.len = len;
        assert_response_refused(&m, NTS_KE_NO_COMMON_PROTOCOL, 0);

        r.ntpv4 = true;
        assert_int_equal(nts_ke_response_build(&r, m.buf, sizeof(m.buf), &len), 0);
        assert_int_equal(len, sizeof(no_aead));
        assert_memory_equal(m.buf, no_aead, sizeof(no_aead));
        m.w.len = len;
        assert_response_refused(&m, NTS_KE_NO_COMMON_AEAD, 0);
}

static void test_response_build_arguments(void **state) {
        struct nts_ke_response *r = full_response();
        uint8_t buf[4096];
        size_t len;

        r->n_cookies = 0;
        assert_int_equal(nts_ke_response_build(r, buf, sizeof(buf), &len), -EINVAL);
        r->n_cookies = NTS_MAX_COOKIES + 1;
        assert_int_equal(nts_ke_response_build(r, buf, sizeof(buf), &len), -EINVAL);
        r->n_cookies = 1;

        static const uint16_t bad_lengths[] = { 0, 8, 13, NTS_COOKIE_MAX_SIZE + 4 };
        for (size_t i = 0; i < ELEMENTSOF(bad_lengths); i++) {
                r->cookies[0].len = bad_lengths[i];
                assert_int_equal(nts_ke_response_build(r, buf, sizeof(buf), &len), -EINVAL);
        }
        r->cookies[0].len = NTS_COOKIE_MIN_SIZE;

        strcpy(r->server, "bad name");
        assert_int_equal(nts_ke_response_build(r, buf, sizeof(buf), &len), -EINVAL);
        memset(r->server, 'a', sizeof(r->server));
        assert_int_equal(nts_ke_response_build(r, buf, sizeof(buf), &len), -EINVAL);
        r->server[0] = '\0';

        r->port = 0;
        assert_int_equal(nts_ke_response_build(r, buf, sizeof(buf), &len), -EINVAL);
        r->has_port = false;
        assert_int_equal(nts_ke_response_build(r, buf, sizeof(buf), &len), 0);
        free(r);
}

static void test_error_known_answer(void **state) {
        static const uint8_t expected[] = { 0x80, 0x02, 0x00, 0x02, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00 };
        struct msg m;
        size_t len;
        char text[128];

        msg_init(&m);
        assert_int_equal(nts_ke_error_build(NTS_KE_ERROR_BAD_REQUEST, m.buf, sizeof(m.buf), &len), 0);
        assert_int_equal(len, sizeof(expected));
        assert_memory_equal(m.buf, expected, sizeof(expected));
        m.w.len = len;
        assert_response_refused(&m, NTS_KE_SERVER_ERROR, NTS_KE_ERROR_BAD_REQUEST);
        assert_string_equal(nts_ke_reason_format(NTS_KE_SERVER_ERROR, 1, text, sizeof(text)),
                            "server sent error 1 (bad request)");
        assert_int_equal(nts_ke_error_build(0, m.buf, sizeof(expected) - 1, &len), -ENOBUFS);
}

static void test_response_server_codes(void **state) {
        struct msg m;

        /* An error wins over everything else in the message. */
        msg_response(&m);
        msg_u16(&m, true, NTS_KE_RECORD_ERROR, NTS_KE_ERROR_INTERNAL);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_SERVER_ERROR, NTS_KE_ERROR_INTERNAL);

        /* No warning codes are defined: every one is an error. */
        msg_response(&m);
        msg_u16(&m, true, NTS_KE_RECORD_WARNING, 7);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_SERVER_WARNING, 7);

        msg_init(&m);
        msg_record(&m, true, NTS_KE_RECORD_ERROR, "\x00", 1);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_ERROR);

        msg_init(&m);
        msg_record(&m, true, NTS_KE_RECORD_WARNING, NULL, 0);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_WARNING);
}

static void test_response_protocol_and_aead_refused(void **state) {
        static const uint8_t two[] = { 0, 0, 0, 0 };
        struct msg m;

        msg_init(&m);
        msg_u16(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, 1);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_NO_COMMON_PROTOCOL, 0);

        msg_init(&m);
        msg_record(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, two, sizeof(two));
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_NEXT_PROTOCOL);

        msg_init(&m);
        msg_u16(&m, false, NTS_KE_RECORD_NEXT_PROTOCOL, 0);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_NEXT_PROTOCOL);

        msg_response(&m);
        msg_u16(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, 0);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_DUPLICATE_RECORD, NTS_KE_RECORD_NEXT_PROTOCOL);

        msg_init(&m);
        msg_u16(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, 0);
        msg_u16(&m, true, NTS_KE_RECORD_AEAD, NTS_AEAD_AES_SIV_CMAC_384);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_UNOFFERED_AEAD, NTS_AEAD_AES_SIV_CMAC_384);

        msg_init(&m);
        msg_u16(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, 0);
        msg_record(&m, true, NTS_KE_RECORD_AEAD, two, sizeof(two));
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_AEAD);

        msg_response(&m);
        msg_u16(&m, true, NTS_KE_RECORD_AEAD, 15);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_DUPLICATE_RECORD, NTS_KE_RECORD_AEAD);
}

static void test_response_missing_records(void **state) {
        struct msg m;

        msg_init(&m);
        msg_u16(&m, true, NTS_KE_RECORD_AEAD, 15);
        msg_cookie(&m, 100, 1);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_MISSING_NEXT_PROTOCOL, 0);

        msg_init(&m);
        msg_u16(&m, true, NTS_KE_RECORD_NEXT_PROTOCOL, 0);
        msg_cookie(&m, 100, 1);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_MISSING_AEAD, 0);

        msg_request(&m);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_NO_COOKIES, 0);

        msg_response(&m);
        assert_response_refused(&m, NTS_KE_MISSING_END, 0);

        msg_response(&m);
        msg_end(&m);
        m.w.len -= 2;
        assert_response_refused(&m, NTS_KE_TRUNCATED, 0);
}

static void test_response_cookie_lengths(void **state) {
        struct nts_ke_response *got = malloc(sizeof(*got));
        struct msg m;

        assert_non_null(got);
        msg_response(&m);
        msg_cookie(&m, NTS_COOKIE_MAX_SIZE + 4, 2);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_RECORD_TOO_LONG, NTS_KE_RECORD_NEW_COOKIE);

        static const size_t bad[] = { 0, 4, 8, 13, 102 };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                msg_response(&m);
                msg_cookie(&m, bad[i], 2);
                msg_end(&m);
                assert_response_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_NEW_COOKIE);
        }

        /* Ten cookies: the first eight are kept, in order. */
        msg_request(&m);
        for (size_t i = 0; i < 10; i++)
                msg_cookie(&m, NTS_COOKIE_MIN_SIZE, (uint8_t) i);
        msg_end(&m);
        assert_int_equal(parse_response(m.buf, m.w.len, aes_siv, 1, got, NULL), NTS_KE_OK);
        assert_int_equal(got->n_cookies, NTS_MAX_COOKIES);
        for (size_t i = 0; i < NTS_MAX_COOKIES; i++)
                assert_int_equal(got->cookies[i].data[0], i);
        free(got);
}

static void test_response_server_and_port(void **state) {
        char name[NTS_KE_MAX_SERVER_NAME + 1];
        struct nts_ke_response *got = malloc(sizeof(*got));
        struct msg m;

        assert_non_null(got);
        memset(name, 'n', sizeof(name));
        msg_response(&m);
        msg_record(&m, false, NTS_KE_RECORD_SERVER, name, NTS_KE_MAX_SERVER_NAME);
        msg_u16(&m, false, NTS_KE_RECORD_PORT, 65535);
        msg_end(&m);
        assert_int_equal(parse_response(m.buf, m.w.len, aes_siv, 1, got, NULL), NTS_KE_OK);
        assert_int_equal(strlen(got->server), NTS_KE_MAX_SERVER_NAME);
        assert_int_equal(got->port, 65535);

        msg_response(&m);
        msg_record(&m, true, NTS_KE_RECORD_SERVER, name, NTS_KE_MAX_SERVER_NAME + 1);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_RECORD_TOO_LONG, NTS_KE_RECORD_SERVER);

        msg_response(&m);
        msg_record(&m, true, NTS_KE_RECORD_SERVER, "a b", 3);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_SERVER);

        msg_response(&m);
        msg_u16(&m, true, NTS_KE_RECORD_PORT, 0);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_BAD_RECORD, NTS_KE_RECORD_PORT);

        msg_response(&m);
        msg_u16(&m, true, NTS_KE_RECORD_PORT, 1);
        msg_u16(&m, true, NTS_KE_RECORD_PORT, 2);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_DUPLICATE_RECORD, NTS_KE_RECORD_PORT);
        free(got);
}

static void test_response_unknown_records(void **state) {
        struct nts_ke_response *got = malloc(sizeof(*got));
        struct msg m;

        assert_non_null(got);
        msg_response(&m);
        msg_record(&m, false, 0x7fff, "whatever", 8);
        msg_end(&m);
        assert_int_equal(parse_response(m.buf, m.w.len, aes_siv, 1, got, NULL), NTS_KE_OK);

        msg_response(&m);
        msg_record(&m, true, 0x7fff, NULL, 0);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_UNKNOWN_CRITICAL, 0x7fff);

        msg_response(&m);
        msg_end(&m);
        msg_end(&m);
        assert_response_refused(&m, NTS_KE_DATA_AFTER_END, NTS_KE_RECORD_END_OF_MESSAGE);
        free(got);
}

static void test_message_scan(void **state) {
        struct msg m;
        size_t len = 12345;

        msg_request(&m);
        assert_int_equal(nts_ke_message_scan(m.buf, m.w.len, &len), 0);
        assert_int_equal(len, 12345);
        size_t without_end = m.w.len;
        msg_end(&m);
        size_t whole = m.w.len;
        for (size_t cut = 0; cut < whole; cut++)
                assert_int_equal(nts_ke_message_scan(m.buf, cut, &len), 0);
        assert_int_equal(len, 12345);
        msg_u16(&m, true, NTS_KE_RECORD_AEAD, 15);       /* more data after the end: not ours */
        assert_int_equal(nts_ke_message_scan(m.buf, m.w.len, &len), 1);
        assert_int_equal(len, whole);
        assert_true(whole > without_end);

        /* A record that announces a body past the limit: no need to wait for it. */
        static const uint8_t zeros[100];
        msg_init(&m);
        msg_record(&m, false, 0x4000, zeros, sizeof(zeros));
        unaligned_write_be16(m.buf + 2, 0xffff);
        assert_int_equal(nts_ke_message_scan(m.buf, 8, &len), -EMSGSIZE);

        /* Complete records filling the limit without an end. */
        static uint8_t big[NTS_KE_MAX_MESSAGE_SIZE];
        msg_init(&m);
        msg_record(&m, false, 0x4000, big, NTS_KE_MAX_MESSAGE_SIZE - 4);
        assert_int_equal(nts_ke_message_scan(m.buf, m.w.len, &len), -EMSGSIZE);
        assert_int_equal(nts_ke_message_scan(m.buf, m.w.len - 1, &len), 0);
}

/* RFC 8915 §5.1: next protocol, AEAD, and 0 (C2S) or 1 (S2C). */
static void test_exporter_context(void **state) {
        uint8_t ctx[NTS_KE_EXPORTER_CONTEXT_SIZE];

        nts_ke_exporter_context(NTS_AEAD_AES_SIV_CMAC_256, false, ctx);
        assert_memory_equal(ctx, ((const uint8_t[]) { 0x00, 0x00, 0x00, 0x0f, 0x00 }), sizeof(ctx));
        nts_ke_exporter_context(NTS_AEAD_AES_SIV_CMAC_256, true, ctx);
        assert_memory_equal(ctx, ((const uint8_t[]) { 0x00, 0x00, 0x00, 0x0f, 0x01 }), sizeof(ctx));
        assert_string_equal(NTS_KE_EXPORTER_LABEL, "EXPORTER-network-time-security");
        assert_string_equal(NTS_KE_ALPN, "ntske/1");
}

static void test_strings(void **state) {
        char text[128];

        for (int i = 0; i < _NTS_KE_REASON_MAX; i++) {
                const char *s = nts_ke_reason_to_string(i);
                assert_non_null(s);
                for (int j = 0; j < i; j++)
                        assert_string_not_equal(s, nts_ke_reason_to_string(j));
        }
        assert_string_equal(nts_ke_reason_to_string(_NTS_KE_REASON_MAX), "unknown reason");
        assert_string_equal(nts_ke_reason_to_string(NTS_KE_NO_COMMON_AEAD), "no common AEAD");
        assert_string_equal(nts_ke_reason_to_string(NTS_KE_MISSING_END), "missing end of message");
        assert_string_equal(nts_ke_reason_to_string(NTS_KE_RECORD_TOO_LONG), "record too long");

        assert_string_equal(nts_ke_reason_format(NTS_KE_SERVER_ERROR, 0, text, sizeof(text)),
                            "server sent error 0 (unrecognized critical record)");
        assert_string_equal(nts_ke_reason_format(NTS_KE_SERVER_ERROR, 2, text, sizeof(text)),
                            "server sent error 2 (internal server error)");
        assert_string_equal(nts_ke_reason_format(NTS_KE_SERVER_ERROR, 9, text, sizeof(text)),
                            "server sent error 9 (unknown error code)");
        assert_string_equal(nts_ke_reason_format(NTS_KE_SERVER_WARNING, 3, text, sizeof(text)), "server sent warning 3");
        assert_string_equal(nts_ke_reason_format(NTS_KE_BAD_RECORD, NTS_KE_RECORD_AEAD, text, sizeof(text)),
                            "malformed record (AEAD Algorithm Negotiation)");
        assert_string_equal(nts_ke_reason_format(NTS_KE_UNKNOWN_CRITICAL, 0x1234, text, sizeof(text)),
                            "unknown critical record (type 4660)");
        assert_string_equal(nts_ke_reason_format(NTS_KE_UNOFFERED_AEAD, 16, text, sizeof(text)),
                            "server chose an AEAD that was not offered (16)");
        assert_string_equal(nts_ke_reason_format(NTS_KE_NO_COOKIES, 5, text, sizeof(text)), "no cookies");
        /* Truncated to the buffer, and a zero-sized buffer left alone. */
        assert_string_equal(nts_ke_reason_format(NTS_KE_NO_COOKIES, 0, text, 4), "no ");
        text[0] = 'x';
        nts_ke_reason_format(NTS_KE_NO_COOKIES, 0, text, 0);
        assert_int_equal(text[0], 'x');

        for (uint16_t t = 0; t <= NTS_KE_RECORD_PORT; t++)
                assert_non_null(nts_ke_record_type_to_string(t));
        assert_null(nts_ke_record_type_to_string(8));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_record_layout),
                cmocka_unit_test(test_request_known_answer),
                cmocka_unit_test(test_request_build_arguments),
                cmocka_unit_test(test_request_round_trip),
                cmocka_unit_test(test_request_suggestions),
                cmocka_unit_test(test_request_other_protocols),
                cmocka_unit_test(test_request_framing_refused),
                cmocka_unit_test(test_request_records_refused),
                cmocka_unit_test(test_request_missing_records),
                cmocka_unit_test(test_request_unexpected_and_unknown),
                cmocka_unit_test(test_request_server_and_port_refused),
                cmocka_unit_test(test_request_error_codes),
                cmocka_unit_test(test_response_known_answer),
                cmocka_unit_test(test_response_round_trip),
                cmocka_unit_test(test_response_refusals_built),
                cmocka_unit_test(test_response_build_arguments),
                cmocka_unit_test(test_error_known_answer),
                cmocka_unit_test(test_response_server_codes),
                cmocka_unit_test(test_response_protocol_and_aead_refused),
                cmocka_unit_test(test_response_missing_records),
                cmocka_unit_test(test_response_cookie_lengths),
                cmocka_unit_test(test_response_server_and_port),
                cmocka_unit_test(test_response_unknown_records),
                cmocka_unit_test(test_message_scan),
                cmocka_unit_test(test_exporter_context),
                cmocka_unit_test(test_strings),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
