/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for server: the mode 4 (and mode 2) reply field by field, synchronized, unsynchronized
 * and with a local stratum; which modes are answered; mode 6 for the local administrator; what each
 * restrict flag does to a request (ignore, noserve, nopeer, noquery, version, ntpport, limited,
 * kod); authenticated and malformed requests; the most specific rule; IPv4-mapped clients. */

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "core/server.h"
#include "unit-test.h"

#define SEC(s) ((int64_t) ((s) * (double) NS_PER_SEC))
#define SEED UINT64_C(0x0123456789abcdef)

#define REQUEST_TRANSMIT UINT64_C(0xeb2b1f00deadbeef)
#define RECEIVE_TS UINT64_C(0xeb2b1f0112345678)
#define TRANSMIT_TS UINT64_C(0xeb2b1f0187654321)
/* Our receive timestamps go out with the lowest bit set, transmit ones with it clear. */
#define SERVED_RECEIVE_TS (RECEIVE_TS | 1)
#define SERVED_TRANSMIT_TS (TRANSMIT_TS & ~UINT64_C(1))
#define REFERENCE_TS UINT64_C(0xeb2b1e0000000000)
#define STATE_REFID UINT32_C(0xc0000201) /* 192.0.2.1 */
#define UNTOUCHED 0xa5

/* ---- fixtures ---- */

static struct restrict_set rules;
static ratelimit *limiter;
static uint8_t response[NTP_HEADER_SIZE];

static const struct server_state synchronized_state = {
        .synchronized = true,
        .leap = NTP_LEAP_INSERT,
        .stratum = 3,
        .precision = -20,
        .root_delay = 0.0125,
        .root_dispersion = 0.25,
        .refid = STATE_REFID,
        .reference_ts = REFERENCE_TS,
};

static int setup(void **state) {
        struct ratelimit_config c = {
                .minimum = RATELIMIT_DEFAULT_MINIMUM,
                .average = RATELIMIT_DEFAULT_AVERAGE,
                .capacity = RATELIMIT_DEFAULT_CAPACITY,
        };
        restrict_set_init(&rules);
        limiter = ratelimit_new(&c, SEED);
        return limiter ? 0 : -1;
}

static int teardown(void **state) {
        limiter = ratelimit_free(limiter);
        return 0;
}

static void add_rule(const char *text) {
        struct restrict_rule r;
        struct restrict_messages messages;
        if (restrict_rule_parse(text, &r, &messages) < 0) {
                print_error("rule \"%s\" refused: %s\n", text, messages.error);
                fail();
        }
        assert_int_equal(restrict_set_add(&rules, &r), 0);
}

static struct server_client client_from(const char *address, uint16_t port, bool loopback) {
        struct server_client c = { .port = port, .loopback = loopback };
        if (inet_pton(AF_INET, address, c.address) == 1)
                c.family = AF_INET;
        else {
                assert_int_equal(inet_pton(AF_INET6, address, c.address), 1);
                c.family = AF_INET6;
        }
        return c;
}

static struct server_client client(const char *address) {
        return client_from(address, 40123, false);
}

static void put_be64(uint8_t *p, uint64_t v) {
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t) v;
}

static uint32_t get_be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p) {
        return (uint64_t) get_be32(p) << 32 | get_be32(p + 4);
}

/* A request as a client sends it, written byte by byte (not with the codec under test). */
struct request {
        uint8_t buf[NTP_MAX_PACKET_SIZE];
        size_t len;
};

static struct request request(unsigned version, unsigned mode, int8_t poll) {
        struct request r = { .len = NTP_HEADER_SIZE };
        r.buf[0] = (uint8_t) (version << 3 | mode);
        r.buf[2] = (uint8_t) poll;
        r.buf[3] = (uint8_t) -6;
        put_be64(r.buf + 40, REQUEST_TRANSMIT);
        return r;
}

static struct request client_request(void) {
        return request(4, 3, 6);
}

/* Appends an extension field (type, length as written, zeros) or a MAC (key id, digest). */
static void append_extension(struct request *r, uint16_t type, uint16_t length, size_t actual) {
        r->buf[r->len] = (uint8_t) (type >> 8);
        r->buf[r->len + 1] = (uint8_t) type;
        r->buf[r->len + 2] = (uint8_t) (length >> 8);
        r->buf[r->len + 3] = (uint8_t) length;
        memset(r->buf + r->len + 4, 0, actual - 4);
        r->len += actual;
}

static void append_mac(struct request *r, size_t digest) {
        r->buf[r->len + 3] = 42;
        for (size_t i = 0; i < digest; i++)
                r->buf[r->len + 4 + i] = (uint8_t) (i + 1);
        r->len += 4 + digest;
}

static enum server_verdict handle_at(const struct server_state *st, const struct server_client *c,
                                     const struct request *r, int64_t now) {
        memset(response, UNTOUCHED, sizeof(response));
        enum server_verdict v = server_handle(st, &rules, limiter, c, r->buf, r->len, RECEIVE_TS, now, response);
        assert_true((unsigned) v < _SERVER_VERDICT_MAX);
        if (!server_verdict_answers(v))
                for (size_t i = 0; i < sizeof(response); i++)
                        if (response[i] != UNTOUCHED) {
                                print_error("verdict %s wrote the response\n", server_verdict_to_string(v));
                                fail();
                        }
        return v;
}

static enum server_verdict handle(const struct server_client *c, const struct request *r) {
        return handle_at(&synchronized_state, c, r, SEC(1000));
}

static void assert_verdict_at(enum server_verdict got, enum server_verdict expected, const char *file, int line) {
        if (got == expected)
                return;
        print_error("verdict \"%s\", expected \"%s\"\n", server_verdict_to_string(got),
                    server_verdict_to_string(expected));
        _fail(file, line);
}
#define assert_verdict(got, expected) assert_verdict_at((got), (expected), __FILE__, __LINE__)

/* The response, read byte by byte. */
struct response {
        unsigned leap, version, mode, stratum;
        int8_t poll, precision;
        uint32_t root_delay, root_dispersion, refid;
        uint64_t reference, origin, receive, transmit;
};

static struct response read_response(void) {
        return (struct response) {
                .leap = response[0] >> 6,
                .version = (response[0] >> 3) & 7,
                .mode = response[0] & 7,
                .stratum = response[1],
                .poll = (int8_t) response[2],
                .precision = (int8_t) response[3],
                .root_delay = get_be32(response + 4),
                .root_dispersion = get_be32(response + 8),
                .refid = get_be32(response + 12),
                .reference = get_be64(response + 16),
                .origin = get_be64(response + 24),
                .receive = get_be64(response + 32),
                .transmit = get_be64(response + 40),
        };
}

static uint32_t refid_text(const char *code) {
        return (uint32_t) code[0] << 24 | (uint32_t) code[1] << 16 | (uint32_t) code[2] << 8 | (uint32_t) code[3];
}

/* 16.16 fixed point within one unit of the value. */
static void assert_short_near(uint32_t got, double seconds) {
        assert_double_near((double) got, seconds * 65536.0, 1.0);
}

static void assert_kod(const char *code, unsigned version) {
        struct response p = read_response();
        assert_int_equal(p.stratum, 0);
        assert_int_equal(p.refid, refid_text(code));
        assert_int_equal(p.mode, 4);
        assert_int_equal(p.version, version);
        assert_int_equal(p.leap, 3);
        assert_true(p.origin == REQUEST_TRANSMIT);
        assert_true(p.transmit == 0);
}

/* ---- the reply ---- */

static void test_reply_synchronized(void **state) {
        struct server_client c = client("192.0.2.10");
        struct request r = client_request();
        assert_verdict(handle(&c, &r), SERVER_REPLY);

        struct response p = read_response();
        assert_int_equal(p.mode, 4);
        assert_int_equal(p.version, 4);
        assert_int_equal(p.leap, NTP_LEAP_INSERT);
        assert_int_equal(p.stratum, 3);
        assert_int_equal(p.poll, 6);
        assert_int_equal(p.precision, -20);
        assert_short_near(p.root_delay, 0.0125);
        assert_short_near(p.root_dispersion, 0.25);
        assert_int_equal(p.refid, STATE_REFID);
        assert_true(p.reference == REFERENCE_TS);
        assert_true(p.origin == REQUEST_TRANSMIT);
        assert_true(p.receive == SERVED_RECEIVE_TS);
        /* Left for the daemon to write as late as it can. */
        assert_true(p.transmit == 0);

        uint8_t before[NTP_HEADER_SIZE];
        memcpy(before, response, sizeof(before));
        server_stamp_transmit(response, TRANSMIT_TS);
        assert_true(read_response().transmit == SERVED_TRANSMIT_TS);
        assert_memory_equal(response, before, 40);

        /* Nothing else of the request leaks into the reply: a request full of junk in the fields a
         * client leaves zero gets the same answer. */
        uint8_t first[NTP_HEADER_SIZE];
        memcpy(first, response, sizeof(first));
        struct request junk = client_request();
        memset(junk.buf + 1, 0x77, 39);
        junk.buf[2] = 6;
        assert_verdict(handle(&c, &junk), SERVER_REPLY);
        server_stamp_transmit(response, TRANSMIT_TS);
        assert_memory_equal(response, first, sizeof(first));
}

static void test_reply_leap_from_state(void **state) {
        static const enum ntp_leap leaps[] = { NTP_LEAP_NONE, NTP_LEAP_INSERT, NTP_LEAP_DELETE };
        struct server_client c = client("192.0.2.10");
        struct request r = client_request();
        for (size_t i = 0; i < ELEMENTSOF(leaps); i++) {
                struct server_state st = synchronized_state;
                st.leap = leaps[i];
                assert_verdict(handle_at(&st, &c, &r, SEC(1000) + SEC(64 * i)), SERVER_REPLY);
                assert_int_equal(read_response().leap, leaps[i]);
        }
}

static void test_reply_echoes_version(void **state) {
        struct server_client c = client("192.0.2.10");
        for (unsigned version = 1; version <= 4; version++) {
                struct request r = request(version, 3, 6);
                assert_verdict(handle(&c, &r), SERVER_REPLY);
                struct response p = read_response();
                assert_int_equal(p.version, version);
                assert_int_equal(p.mode, 4);
                assert_true(p.origin == REQUEST_TRANSMIT);
        }
}

static void test_reply_unsynchronized(void **state) {
        struct server_client c = client("192.0.2.10");
        struct request r = client_request();
        struct server_state st = synchronized_state;
        st.synchronized = false;
        assert_verdict(handle_at(&st, &c, &r, SEC(1000)), SERVER_REPLY);
        struct response p = read_response();
        assert_int_equal(p.leap, NTP_LEAP_UNSYNC);
        assert_int_equal(p.stratum, NTP_STRATUM_UNSYNC);
        assert_int_equal(p.mode, 4);
        /* A client must not take the stale reference for ours. */
        assert_int_equal(p.refid, 0);
        assert_true(p.origin == REQUEST_TRANSMIT);
        assert_true(p.receive == SERVED_RECEIVE_TS);

        /* With `local stratum 10`: served as a stratum 10 clock of its own. */
        st.local_stratum = 10;
        assert_verdict(handle_at(&st, &c, &r, SEC(1064)), SERVER_REPLY);
        p = read_response();
        assert_int_equal(p.leap, NTP_LEAP_NONE);
        assert_int_equal(p.stratum, 10);
        assert_int_equal(p.refid, refid_text("LOCL"));
        assert_true(p.origin == REQUEST_TRANSMIT);
        assert_true(p.receive == SERVED_RECEIVE_TS);

        /* Once synchronized, the local stratum no longer shows. */
        st.synchronized = true;
        assert_verdict(handle_at(&st, &c, &r, SEC(1128)), SERVER_REPLY);
        p = read_response();
        assert_int_equal(p.stratum, 3);
        assert_int_equal(p.refid, STATE_REFID);
}

static void test_reply_poll_clamped(void **state) {
        static const struct {
                int8_t asked, served;
        } cases[] = {
                { -128, 4 }, { -1, 4 }, { 0, 4 }, { 3, 4 }, { 4, 4 }, { 6, 6 },
                { 10, 10 }, { 17, 17 }, { 18, 17 }, { 127, 17 },
        };
        struct server_client c = client("192.0.2.10");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct request r = request(4, 3, cases[i].asked);
                assert_verdict(handle(&c, &r), SERVER_REPLY);
                if (read_response().poll != cases[i].served) {
                        print_error("poll %d served as %d, expected %d\n", cases[i].asked, read_response().poll,
                                    cases[i].served);
                        fail();
                }
        }
}

static void test_reply_ipv6_client(void **state) {
        struct server_client c = client("2001:db8::10");
        struct request r = client_request();
        assert_verdict(handle(&c, &r), SERVER_REPLY);
        assert_true(read_response().origin == REQUEST_TRANSMIT);
}

static void test_reply_with_extension_field(void **state) {
        /* An unknown extension field is no reason to refuse a request (RFC 7822). Without a MAC
         * the last one is at least 28 bytes (RFC 7822 7.5): a shorter rest reads as a MAC. */
        struct server_client c = client("192.0.2.10");
        struct request r = client_request();
        append_extension(&r, 0x0104, 28, 28);
        assert_verdict(handle(&c, &r), SERVER_REPLY);
        assert_int_equal(read_response().mode, 4);
        assert_true(read_response().origin == REQUEST_TRANSMIT);
        r = client_request();
        append_extension(&r, 0x0104, 16, 16);
        append_extension(&r, 0x0204, 36, 36);
        assert_verdict(handle(&c, &r), SERVER_REPLY);
        /* A lone 16-byte field is neither. */
        r = client_request();
        append_extension(&r, 0x0104, 16, 16);
        assert_verdict(handle(&c, &r), SERVER_DROP_MALFORMED);
}

/* ---- modes ---- */

static void test_symmetric_active(void **state) {
        struct server_client c = client("192.0.2.10");
        struct request r = request(4, 1, 6);
        assert_verdict(handle(&c, &r), SERVER_REPLY);
        struct response p = read_response();
        assert_int_equal(p.mode, 2);
        assert_int_equal(p.version, 4);
        assert_int_equal(p.stratum, 3);
        assert_true(p.origin == REQUEST_TRANSMIT);
        assert_true(p.receive == SERVED_RECEIVE_TS);

        static const char *const refusing[] = { "default nopeer", "default noepeer", "default nopeer noepeer" };
        for (size_t i = 0; i < ELEMENTSOF(refusing); i++) {
                restrict_set_init(&rules);
                add_rule(refusing[i]);
                assert_verdict(handle(&c, &r), SERVER_DROP_NOPEER);
                /* Clients are still served. */
                struct request client_r = client_request();
                assert_verdict(handle(&c, &client_r), SERVER_REPLY);
        }
}

static void test_modes_not_answered(void **state) {
        static const unsigned modes[] = { 2, 4, 5, 7 };
        static const char *const rule_sets[][3] = {
                { NULL },
                { "default kod limited nomodify notrap nopeer noquery", NULL },
                { "default noserve kod", NULL },
                { "default ignore", "192.0.2.0/24", NULL },
                { "127.0.0.1", "::1", NULL },
        };
        struct server_client clients[] = {
                client("192.0.2.10"),
                client_from("127.0.0.1", 40123, true),
                client_from("::1", 123, true),
                client("2001:db8::10"),
        };
        for (size_t s = 0; s < ELEMENTSOF(rule_sets); s++) {
                restrict_set_init(&rules);
                for (size_t k = 0; rule_sets[s][k]; k++)
                        add_rule(rule_sets[s][k]);
                for (size_t m = 0; m < ELEMENTSOF(modes); m++)
                        for (size_t i = 0; i < ELEMENTSOF(clients); i++)
                                for (unsigned version = 1; version <= 4; version++) {
                                        struct request r = request(version, modes[m], 6);
                                        enum server_verdict v = handle(&clients[i], &r);
                                        if (v == SERVER_DROP_MODE)
                                                continue;
                                        /* Only an ignore rule may drop it first. */
                                        assert_verdict(v, SERVER_DROP_IGNORE);
                                }
        }
        /* Under the defaults, it is the mode that refuses them. */
        restrict_set_init(&rules);
        for (size_t m = 0; m < ELEMENTSOF(modes); m++) {
                struct request r = request(4, modes[m], 6);
                assert_verdict(handle(&clients[1], &r), SERVER_DROP_MODE);
        }
}

static void test_mode7_never_answered(void **state) {
        /* ntpdc's requests: never answered, whatever the rules and however they are shaped. */
        static const char *const rule_sets[] = { NULL, "default", "default kod", "192.0.2.0/24", "127.0.0.1" };
        struct server_client clients[] = { client("192.0.2.10"), client_from("127.0.0.1", 123, true) };
        for (size_t s = 0; s < ELEMENTSOF(rule_sets); s++) {
                restrict_set_init(&rules);
                if (rule_sets[s])
                        add_rule(rule_sets[s]);
                for (size_t i = 0; i < ELEMENTSOF(clients); i++)
                        for (size_t len = 0; len <= 200; len += 4) {
                                struct request r = request(2, 7, 0);
                                r.len = len;
                                enum server_verdict v = handle(&clients[i], &r);
                                assert_true(!server_verdict_answers(v) && v != SERVER_CONTROL);
                        }
        }
}

/* ---- mode 6 ---- */

/* A mode 6 request as ntpq sends it: a 12-byte header (READSTAT, sequence 1, association 0, no
 * data), version 2 like classic ntpq. */
static struct request ntpq_request(void) {
        struct request r = { .len = 12 };
        r.buf[0] = 2 << 3 | 6;
        r.buf[1] = 1;  /* READSTAT */
        r.buf[3] = 1;  /* sequence */
        return r;
}

static void test_control_loopback_only_by_default(void **state) {
        struct request r = request(4, 6, 0);
        struct server_client local4 = client_from("127.0.0.1", 40123, true);
        struct server_client local6 = client_from("::1", 40123, true);
        struct server_client remote = client("192.0.2.10");
        struct server_client remote6 = client("2001:db8::10");

        assert_verdict(handle(&local4, &r), SERVER_CONTROL);
        assert_verdict(handle(&local6, &r), SERVER_CONTROL);
        assert_verdict(handle(&remote, &r), SERVER_DROP_NOQUERY);
        assert_verdict(handle(&remote6, &r), SERVER_DROP_NOQUERY);

        /* The defaults ntp.conf templates carry change nothing for loopback. */
        add_rule("default kod limited nomodify notrap nopeer");
        assert_verdict(handle(&local4, &r), SERVER_CONTROL);
        assert_verdict(handle(&remote, &r), SERVER_DROP_NOQUERY);
        /* noquery in the default refuses loopback too. */
        add_rule("default noquery");
        assert_verdict(handle(&local4, &r), SERVER_DROP_NOQUERY);
        /* ...unless a rule of its own lets it in, as ntp.conf's "restrict 127.0.0.1" does. */
        add_rule("127.0.0.1");
        assert_verdict(handle(&local4, &r), SERVER_CONTROL);
        add_rule("127.0.0.1 noquery");
        assert_verdict(handle(&local4, &r), SERVER_DROP_NOQUERY);
}

static void test_control_from_a_network_with_its_own_rule(void **state) {
        struct request r = request(4, 6, 0);
        struct server_client c = client("192.0.2.10");
        struct server_client other = client("198.51.100.1");
        add_rule("192.0.2.0/24 nomodify");
        assert_verdict(handle(&c, &r), SERVER_CONTROL);
        assert_verdict(handle(&other, &r), SERVER_DROP_NOQUERY);
        add_rule("192.0.2.0/24 nomodify noquery");
        assert_verdict(handle(&c, &r), SERVER_DROP_NOQUERY);
        /* A more specific rule without noquery inside it. */
        add_rule("192.0.2.10 nomodify");
        assert_verdict(handle(&c, &r), SERVER_CONTROL);
        /* An IPv6 network. */
        struct server_client c6 = client("2001:db8::10");
        add_rule("2001:db8::/32");
        assert_verdict(handle(&c6, &r), SERVER_CONTROL);
        add_rule("2001:db8::/32 noquery");
        assert_verdict(handle(&c6, &r), SERVER_DROP_NOQUERY);
}

static void test_control_as_ntpq_sends_it(void **state) {
        /* A real ntpq request is 12 bytes (more with data), not an NTP header: it must reach the
         * control protocol, not be dropped as a malformed mode 3 packet. */
        struct server_client local = client_from("127.0.0.1", 40123, true);
        struct server_client remote = client("192.0.2.10");
        struct request r = ntpq_request();
        assert_verdict(handle(&local, &r), SERVER_CONTROL);
        assert_verdict(handle(&remote, &r), SERVER_DROP_NOQUERY);

        /* READVAR with "offset,stratum" as data: 12 + 16 bytes, version 4 as NTPsec's ntpq sends. */
        r = ntpq_request();
        r.buf[0] = 4 << 3 | 6;
        r.buf[1] = 2;
        r.buf[11] = 14;
        memcpy(r.buf + 12, "offset,stratum\0\0", 16);
        r.len = 28;
        assert_verdict(handle(&local, &r), SERVER_CONTROL);

        /* 60 bytes of mode 6, version 4: its data is not an extension field. */
        r.buf[11] = 48;
        memset(r.buf + 12, 'x', 48);
        r.len = 60;
        assert_verdict(handle(&local, &r), SERVER_CONTROL);

        /* Shorter than a mode 6 header: nothing to answer. */
        r = ntpq_request();
        r.len = 11;
        enum server_verdict v = handle(&local, &r);
        assert_true(v != SERVER_CONTROL && !server_verdict_answers(v));
}

/* ---- restrict flags ---- */

static void test_ignore_drops_everything_unparsed(void **state) {
        struct server_client c = client("192.0.2.10");
        struct server_client local = client_from("127.0.0.1", 40123, true);
        add_rule("default ignore limited kod");
        struct request r = client_request();
        assert_verdict(handle(&c, &r), SERVER_DROP_IGNORE);
        assert_verdict(handle(&local, &r), SERVER_DROP_IGNORE);
        r = request(4, 6, 0);
        assert_verdict(handle(&local, &r), SERVER_DROP_IGNORE);
        r = request(4, 7, 0);
        assert_verdict(handle(&c, &r), SERVER_DROP_IGNORE);
        /* Malformed: short, bad version, bad extension. */
        r = client_request();
        r.len = 5;
        assert_verdict(handle(&c, &r), SERVER_DROP_IGNORE);
        r = request(0, 3, 6);
        assert_verdict(handle(&c, &r), SERVER_DROP_IGNORE);
        r = client_request();
        append_extension(&r, 1, 8, 32);
        assert_verdict(handle(&c, &r), SERVER_DROP_IGNORE);
        /* Not even looked at: no datagram at all, a length that would read past it. */
        memset(response, UNTOUCHED, sizeof(response));
        assert_verdict(server_handle(&synchronized_state, &rules, limiter, &c, NULL, NTP_HEADER_SIZE, RECEIVE_TS,
                                     SEC(1000), response),
                       SERVER_DROP_IGNORE);
        assert_int_equal(response[0], UNTOUCHED);
        /* Nor counted by the limiter. */
        assert_int_equal(ratelimit_entries(limiter), 0);

        /* "default" is both families; -4 and -6 each only their own. */
        struct server_client c6 = client("2001:db8::10");
        r = client_request();
        assert_verdict(handle(&c6, &r), SERVER_DROP_IGNORE);
        restrict_set_init(&rules);
        add_rule("-4 default ignore");
        assert_verdict(handle(&c6, &r), SERVER_REPLY);
        assert_verdict(handle(&c, &r), SERVER_DROP_IGNORE);
        restrict_set_init(&rules);
        add_rule("-6 default ignore");
        assert_verdict(handle(&c6, &r), SERVER_DROP_IGNORE);
        assert_verdict(handle(&c, &r), SERVER_REPLY);
}

static void test_unknown_family_ignored(void **state) {
        struct server_client c = client("192.0.2.10");
        struct request r = client_request();
        c.family = AF_UNIX;
        assert_verdict(handle(&c, &r), SERVER_DROP_IGNORE);
        c.family = AF_UNSPEC;
        assert_verdict(handle(&c, &r), SERVER_DROP_IGNORE);
        assert_int_equal(ratelimit_entries(limiter), 0);
}

static void test_malformed(void **state) {
        struct server_client c = client("192.0.2.10");
        struct server_client local = client_from("127.0.0.1", 40123, true);
        add_rule("default kod limited");
        struct request r;

        static const size_t short_lengths[] = { 0, 1, 4, 8, 12, 44, 47 };
        for (size_t i = 0; i < ELEMENTSOF(short_lengths); i++) {
                r = client_request();
                r.len = short_lengths[i];
                assert_verdict(handle(&c, &r), SERVER_DROP_MALFORMED);
        }
        /* Neither a multiple of 4 nor a MAC, too long. */
        r = client_request();
        r.len = 49;
        assert_verdict(handle(&c, &r), SERVER_DROP_MALFORMED);
        r.len = 52 + 4; /* 8 bytes after the header: neither an extension field nor a MAC */
        assert_verdict(handle(&c, &r), SERVER_DROP_MALFORMED);
        assert_verdict(server_handle(&synchronized_state, &rules, limiter, &c, (uint8_t[NTP_MAX_PACKET_SIZE + 4]) { 0x23 },
                                     NTP_MAX_PACKET_SIZE + 4, RECEIVE_TS, SEC(1000), response),
                       SERVER_DROP_MALFORMED);
        /* Versions 0, 5, 6, 7; reserved mode 0. */
        static const unsigned bad_versions[] = { 0, 5, 6, 7 };
        for (size_t i = 0; i < ELEMENTSOF(bad_versions); i++) {
                r = request(bad_versions[i], 3, 6);
                assert_verdict(handle(&c, &r), SERVER_DROP_MALFORMED);
                r = request(bad_versions[i], 6, 0);
                assert_verdict(handle(&local, &r), SERVER_DROP_MALFORMED);
        }
        r = request(4, 0, 6);
        assert_verdict(handle(&c, &r), SERVER_DROP_MALFORMED);
        /* Extension fields: too short a length, not a multiple of 4, past the end. */
        r = client_request();
        append_extension(&r, 1, 12, 32);
        assert_verdict(handle(&c, &r), SERVER_DROP_MALFORMED);
        r = client_request();
        append_extension(&r, 1, 30, 32);
        assert_verdict(handle(&c, &r), SERVER_DROP_MALFORMED);
        r = client_request();
        append_extension(&r, 1, 64, 32);
        assert_verdict(handle(&c, &r), SERVER_DROP_MALFORMED);
        r = client_request();
        append_extension(&r, 1, 0, 28);
        assert_verdict(handle(&c, &r), SERVER_DROP_MALFORMED);
        /* None of them got near the limiter. */
        assert_int_equal(ratelimit_entries(limiter), 0);
}

static void test_version_flag(void **state) {
        struct server_client c = client("192.0.2.10");
        add_rule("default version");
        for (unsigned version = 1; version <= 3; version++) {
                struct request r = request(version, 3, 6);
                assert_verdict(handle(&c, &r), SERVER_DROP_VERSION);
                r = request(version, 1, 6);
                assert_verdict(handle(&c, &r), SERVER_DROP_VERSION);
        }
        struct request r = client_request();
        assert_verdict(handle(&c, &r), SERVER_REPLY);
        assert_int_equal(read_response().version, 4);
        /* Without the flag, v3 is served. */
        restrict_set_init(&rules);
        r = request(3, 3, 6);
        assert_verdict(handle(&c, &r), SERVER_REPLY);
        assert_int_equal(read_response().version, 3);
}

static void test_ntpport(void **state) {
        struct request r = client_request();
        struct server_client from123 = client_from("192.0.2.10", 123, false);
        struct server_client ephemeral = client_from("192.0.2.10", 40123, false);

        /* A rule with ntpport applies only to clients sending from port 123. */
        add_rule("192.0.2.0/24 ignore ntpport");
        assert_verdict(handle(&from123, &r), SERVER_DROP_IGNORE);
        assert_verdict(handle(&ephemeral, &r), SERVER_REPLY);

        /* The other way round: ignore everyone but servers talking from 123 in that network. */
        restrict_set_init(&rules);
        add_rule("default ignore");
        add_rule("192.0.2.0/24 ntpport");
        assert_verdict(handle(&from123, &r), SERVER_REPLY);
        assert_verdict(handle(&ephemeral, &r), SERVER_DROP_IGNORE);

        /* When the ntpport rule does not apply, the next best one does. */
        restrict_set_init(&rules);
        add_rule("192.0.0.0/16 noserve");
        add_rule("192.0.2.0/24 ntpport");
        assert_verdict(handle(&from123, &r), SERVER_REPLY);
        assert_verdict(handle(&ephemeral, &r), SERVER_DROP_NOSERVE);
}

static void test_authenticated_requests(void **state) {
        struct server_client c = client("192.0.2.10");
        static const size_t digests[] = { 0, 16, 20 };
        for (unsigned version = 3; version <= 4; version++)
                for (size_t i = 0; i < ELEMENTSOF(digests); i++) {
                        struct request r = request(version, 3, 6);
                        append_mac(&r, digests[i]);
                        assert_verdict(handle(&c, &r), SERVER_DROP_AUTHENTICATED);
                        r = request(version, 1, 6);
                        append_mac(&r, digests[i]);
                        assert_verdict(handle(&c, &r), SERVER_DROP_AUTHENTICATED);
                }
        /* After an extension field. */
        struct request r = client_request();
        append_extension(&r, 0x0104, 16, 16);
        append_mac(&r, 20);
        assert_verdict(handle(&c, &r), SERVER_DROP_AUTHENTICATED);
}

static void test_noserve(void **state) {
        struct server_client c = client("192.0.2.10");
        struct request r = client_request();
        add_rule("default noserve");
        for (int i = 0; i < 5; i++)
                assert_verdict(handle_at(&synchronized_state, &c, &r, SEC(1000 + 10 * i)), SERVER_DROP_NOSERVE);
        r = request(4, 1, 6);
        assert_verdict(handle(&c, &r), SERVER_DROP_NOSERVE);

        /* With kod: DENY, at most once per `minimum` s for that client. */
        add_rule("default noserve kod");
        r = request(3, 3, 6);
        int64_t t = SEC(2000);
        assert_verdict(handle_at(&synchronized_state, &c, &r, t), SERVER_REPLY_KOD_DENY);
        assert_kod("DENY", 3);
        assert_verdict(handle_at(&synchronized_state, &c, &r, t + SEC(0.5)), SERVER_DROP_NOSERVE);
        assert_verdict(handle_at(&synchronized_state, &c, &r, t + SEC(1.9)), SERVER_DROP_NOSERVE);
        /* Another client gets its own. */
        struct server_client other = client("192.0.2.11");
        assert_verdict(handle_at(&synchronized_state, &other, &r, t + SEC(1.9)), SERVER_REPLY_KOD_DENY);
        assert_kod("DENY", 3);
        assert_verdict(handle_at(&synchronized_state, &c, &r, t + SEC(RATELIMIT_DEFAULT_MINIMUM)), SERVER_REPLY_KOD_DENY);
        assert_kod("DENY", 3);

        /* A noserve network inside an open default. */
        restrict_set_init(&rules);
        add_rule("192.0.2.0/24 noserve");
        r = client_request();
        assert_verdict(handle(&c, &r), SERVER_DROP_NOSERVE);
        struct server_client outside = client("198.51.100.1");
        assert_verdict(handle(&outside, &r), SERVER_REPLY);
}

static void test_noserve_kod_to_symmetric_peer(void **state) {
        /* A kiss to a symmetric active peer is its mode 2 answer, as the reply would be. */
        struct server_client c = client("192.0.2.10");
        struct request r = request(4, 1, 6);
        add_rule("default noserve kod");
        assert_verdict(handle(&c, &r), SERVER_REPLY_KOD_DENY);
        struct response p = read_response();
        assert_int_equal(p.stratum, 0);
        assert_int_equal(p.refid, refid_text("DENY"));
        assert_int_equal(p.mode, 2);
        assert_true(p.origin == REQUEST_TRANSMIT);
}

/* Sends n requests from c, `spacing` s apart from `start`; counts the verdicts. */
static void send_series(const struct server_client *c, const struct request *r, int64_t start, double spacing,
                        unsigned n, unsigned counts[_SERVER_VERDICT_MAX]) {
        memset(counts, 0, sizeof(unsigned) * _SERVER_VERDICT_MAX);
        for (unsigned i = 0; i < n; i++)
                counts[handle_at(&synchronized_state, c, r, start + SEC(spacing * i))]++;
}

static void test_limited_iburst_passes(void **state) {
        unsigned counts[_SERVER_VERDICT_MAX];
        struct server_client c = client("192.0.2.10");
        struct request r = client_request();
        add_rule("default kod limited nomodify notrap nopeer noquery");
        /* An iburst: 6 packets 2 s apart... */
        send_series(&c, &r, SEC(1000), 2.0, 6, counts);
        assert_int_equal(counts[SERVER_REPLY], 6);
        /* ...then polling at 64 s, for a day. */
        send_series(&c, &r, SEC(1000 + 10 + 64), 64.0, 1350, counts);
        assert_int_equal(counts[SERVER_REPLY], 1350);

        /* ntpd's iburst is 8 packets 2 s apart: served too. */
        struct server_client ntpd = client("192.0.2.20");
        send_series(&ntpd, &r, SEC(1000), 2.0, 8, counts);
        assert_int_equal(counts[SERVER_REPLY], 8);
}

static void test_limited_flood_silent(void **state) {
        unsigned counts[_SERVER_VERDICT_MAX];
        struct server_client c = client("192.0.2.10");
        struct request r = client_request();
        add_rule("default limited");
        /* One packet per second for ten minutes: the first is served, the rest are not, and
         * without kod nothing at all is sent back. */
        send_series(&c, &r, SEC(1000), 1.0, 600, counts);
        assert_int_equal(counts[SERVER_REPLY], 1);
        assert_int_equal(counts[SERVER_DROP_LIMITED], 599);
        assert_int_equal(counts[SERVER_REPLY_KOD_RATE], 0);

        /* Without limited, the same flood is served. */
        restrict_set_init(&rules);
        struct server_client other = client("192.0.2.11");
        send_series(&other, &r, SEC(1000), 1.0, 600, counts);
        assert_int_equal(counts[SERVER_REPLY], 600);
}

static void test_limited_kod_per_client(void **state) {
        struct server_client c = client("192.0.2.10");
        struct request r = request(3, 3, 6);
        int64_t last_kod = INT64_MIN;
        unsigned replies = 0, kods = 0;
        add_rule("default kod limited");
        /* Four packets per second for a minute. */
        for (unsigned i = 0; i < 240; i++) {
                int64_t now = SEC(1000) + SEC(0.25 * i);
                enum server_verdict v = handle_at(&synchronized_state, &c, &r, now);
                if (v == SERVER_REPLY)
                        replies++;
                else if (v == SERVER_REPLY_KOD_RATE) {
                        assert_kod("RATE", 3);
                        if (last_kod != INT64_MIN)
                                assert_true(now - last_kod >= SEC(RATELIMIT_DEFAULT_MINIMUM));
                        last_kod = now;
                        kods++;
                } else
                        assert_verdict(v, SERVER_DROP_LIMITED);
        }
        assert_int_equal(replies, 1);
        /* One kiss per 2 s: 30 in a minute, and the first limited request got one. */
        assert_int_equal(kods, 30);
}

static void test_limited_kod_global_budget(void **state) {
        enum { N = 3 * RATELIMIT_KOD_PER_SECOND };
        struct request r = client_request();
        unsigned kods = 0;
        add_rule("default kod limited");
        /* N clients each send twice 0.5 s apart: the first is served, the second limited. */
        for (unsigned i = 0; i < N; i++) {
                struct server_client c = client("10.0.0.0");
                c.address[2] = (uint8_t) (i >> 8);
                c.address[3] = (uint8_t) i;
                assert_verdict(handle_at(&synchronized_state, &c, &r, SEC(1000)), SERVER_REPLY);
        }
        for (unsigned i = 0; i < N; i++) {
                struct server_client c = client("10.0.0.0");
                c.address[2] = (uint8_t) (i >> 8);
                c.address[3] = (uint8_t) i;
                enum server_verdict v = handle_at(&synchronized_state, &c, &r, SEC(1000.5));
                if (v == SERVER_REPLY_KOD_RATE) {
                        assert_kod("RATE", 4);
                        kods++;
                } else
                        assert_verdict(v, SERVER_DROP_LIMITED);
        }
        assert_int_equal(kods, RATELIMIT_KOD_PER_SECOND);
}

static void test_limited_kod_to_symmetric_peer(void **state) {
        struct server_client c = client("192.0.2.10");
        struct request r = request(4, 1, 6);
        add_rule("default kod limited");
        assert_verdict(handle_at(&synchronized_state, &c, &r, SEC(1000)), SERVER_REPLY);
        assert_int_equal(read_response().mode, 2);
        assert_verdict(handle_at(&synchronized_state, &c, &r, SEC(1000.5)), SERVER_REPLY_KOD_RATE);
        struct response p = read_response();
        assert_int_equal(p.stratum, 0);
        assert_int_equal(p.refid, refid_text("RATE"));
        assert_int_equal(p.mode, 2);
}

static void test_limited_noserve_kod(void **state) {
        /* Both: while within the rate the client gets DENY, beyond it RATE, each rate limited. */
        struct server_client c = client("192.0.2.10");
        struct request r = client_request();
        add_rule("default noserve limited kod");
        assert_verdict(handle_at(&synchronized_state, &c, &r, SEC(1000)), SERVER_REPLY_KOD_DENY);
        assert_kod("DENY", 4);
        assert_verdict(handle_at(&synchronized_state, &c, &r, SEC(1000.5)), SERVER_DROP_LIMITED);
        assert_verdict(handle_at(&synchronized_state, &c, &r, SEC(1002.5)), SERVER_REPLY_KOD_DENY);
        assert_kod("DENY", 4);
}

/* ---- which rule ---- */

static void test_most_specific_rule_wins(void **state) {
        struct request r = client_request();
        add_rule("default ignore");
        add_rule("192.0.2.0/24");
        add_rule("192.0.2.128/25 noserve");
        add_rule("192.0.2.200 version");

        struct server_client in = client("192.0.2.10");
        struct server_client in25 = client("192.0.2.130");
        struct server_client host = client("192.0.2.200");
        struct server_client out = client("198.51.100.1");
        struct server_client out6 = client("2001:db8::1");
        assert_verdict(handle(&in, &r), SERVER_REPLY);
        assert_verdict(handle(&in25, &r), SERVER_DROP_NOSERVE);
        assert_verdict(handle(&host, &r), SERVER_REPLY);
        struct request v3 = request(3, 3, 6);
        assert_verdict(handle(&host, &v3), SERVER_DROP_VERSION);
        assert_verdict(handle(&out, &r), SERVER_DROP_IGNORE);
        assert_verdict(handle(&out6, &r), SERVER_DROP_IGNORE);
}

static void test_ipv4_mapped_clients(void **state) {
        struct request r = client_request();
        add_rule("default ignore");
        add_rule("192.0.2.0/24 kod");
        struct server_client mapped_in = client("::ffff:192.0.2.10");
        struct server_client mapped_out = client("::ffff:198.51.100.1");
        assert_int_equal(mapped_in.family, AF_INET6);
        assert_verdict(handle(&mapped_in, &r), SERVER_REPLY);
        assert_true(read_response().origin == REQUEST_TRANSMIT);
        assert_verdict(handle(&mapped_out, &r), SERVER_DROP_IGNORE);

        /* An IPv4 noserve rule applies to the mapped client too. */
        restrict_set_init(&rules);
        add_rule("192.0.2.0/24 noserve");
        assert_verdict(handle(&mapped_in, &r), SERVER_DROP_NOSERVE);
        /* As does the IPv4 default, not the IPv6 one. */
        restrict_set_init(&rules);
        add_rule("-4 default ignore");
        assert_verdict(handle(&mapped_in, &r), SERVER_DROP_IGNORE);
        restrict_set_init(&rules);
        add_rule("-6 default ignore");
        assert_verdict(handle(&mapped_in, &r), SERVER_REPLY);

        /* Mode 6 from a mapped loopback address is loopback. */
        restrict_set_init(&rules);
        struct server_client mapped_local = client_from("::ffff:127.0.0.1", 40123, true);
        struct request q = request(4, 6, 0);
        assert_verdict(handle(&mapped_local, &q), SERVER_CONTROL);
}

static void test_verdict_names(void **state) {
        for (int v = 0; v < _SERVER_VERDICT_MAX; v++) {
                const char *name = server_verdict_to_string((enum server_verdict) v);
                assert_non_null(name);
                assert_true(strlen(name) > 0);
                assert_string_not_equal(name, "unknown");
                for (int w = 0; w < v; w++)
                        assert_string_not_equal(name, server_verdict_to_string((enum server_verdict) w));
        }
        assert_string_equal(server_verdict_to_string(_SERVER_VERDICT_MAX), "unknown");
        assert_string_equal(server_verdict_to_string((enum server_verdict) -1), "unknown");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_reply_synchronized),
                T(test_reply_leap_from_state),
                T(test_reply_echoes_version),
                T(test_reply_unsynchronized),
                T(test_reply_poll_clamped),
                T(test_reply_ipv6_client),
                T(test_reply_with_extension_field),
                T(test_symmetric_active),
                T(test_modes_not_answered),
                T(test_mode7_never_answered),
                T(test_control_loopback_only_by_default),
                T(test_control_from_a_network_with_its_own_rule),
                T(test_control_as_ntpq_sends_it),
                T(test_ignore_drops_everything_unparsed),
                T(test_unknown_family_ignored),
                T(test_malformed),
                T(test_version_flag),
                T(test_ntpport),
                T(test_authenticated_requests),
                T(test_noserve),
                T(test_noserve_kod_to_symmetric_peer),
                T(test_limited_iburst_passes),
                T(test_limited_flood_silent),
                T(test_limited_kod_per_client),
                T(test_limited_kod_global_budget),
                T(test_limited_kod_to_symmetric_peer),
                T(test_limited_noserve_kod),
                T(test_most_specific_rule_wins),
                T(test_ipv4_mapped_clients),
                T(test_verdict_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
