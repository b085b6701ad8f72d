/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for mode6: request checks, every refused opcode, READSTAT, READVAR (system, one
 * association, selected variables), the text format, fragmentation, and bad input. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mode6.h"
#include "unit-test.h"

#define MAX_CAPTURED 64
#define TS(seconds, fraction) ((ntp_ts) (seconds) << 32 | (uint32_t) (fraction))

struct captured {
        uint8_t datagram[MAX_CAPTURED][MODE6_MAX_DATAGRAM + 64];
        size_t len[MAX_CAPTURED];
        size_t n;
};

struct response_header {
        uint8_t leap, version, mode;
        bool response, error, more;
        uint8_t opcode;
        uint16_t sequence, status, assoc_id, offset, count;
};

static const struct mode6_system a_system = {
        .leap = 0,
        .stratum = 2,
        .precision = -23,
        .root_delay = 0.0123,
        .root_dispersion = 0.0456,
        .refid = 0xc0000201,
        .reference_time = TS(0xeb2b1f00, 0x80000000),
        .clock = TS(0xeb2b1f40, 0x40000000),
        .system_peer = 101,
        .poll = 6,
        .min_poll = 3,
        .offset = 0.000123456789,
        .frequency_ppm = -12.3456,
        .sys_jitter = 0.0000789,
        .clk_jitter = 0.0000123,
        .clk_wander_ppm = 0.004567,
        .version = "ntpsyncd 0.1",
};

static struct mode6_association make_association(uint16_t id, const char *address, uint32_t refid,
                                                 enum mode6_select select) {
        struct mode6_association a;

        mode6_association_init(&a);
        a.assoc_id = id;
        a.srcadr = address;
        a.dstadr = "192.0.2.100";
        a.dstport = 123;
        a.stratum = 1;
        a.precision = -20;
        a.root_delay = 0.0;
        a.root_dispersion = 0.0005;
        a.refid = refid;
        a.reftime = TS(0xeb2b1f30, 0);
        a.rec = TS(0xeb2b1f38, 0);
        a.xmt = TS(0xeb2b1f37, 0xffff0000);
        a.reach = 0xff;
        a.hpoll = 6;
        a.ppoll = 6;
        a.offset = 0.0012345;
        a.delay = 0.0254321;
        a.dispersion = 0.0009876;
        a.jitter = 0.0001234;
        a.select = select;
        return a;
}

static void associations(struct mode6_association ret[static 3]) {
        ret[0] = make_association(101, "192.0.2.1", 0x47505300 /* "GPS" */, MODE6_SEL_SYSPEER);
        ret[1] = make_association(102, "192.0.2.2", 0x50505300 /* "PPS" */, MODE6_SEL_CANDIDATE);
        ret[2] = make_association(103, "2001:db8::3", 0xc0000205, MODE6_SEL_FALSETICK);
        ret[2].stratum = 3;
        ret[2].reach = 0x0f;
        ret[2].configured = false;
        ret[2].srchost = "ntp3.example.org";
}

static void capture(void *userdata, const uint8_t *datagram, size_t len) {
        struct captured *c = userdata;

        assert_true(c->n < MAX_CAPTURED);
        assert_true(len <= sizeof(c->datagram[0]));
        memcpy(c->datagram[c->n], datagram, len);
        c->len[c->n++] = len;
}

static size_t build_request(uint8_t *buf, size_t size, uint8_t version, uint8_t opcode, uint16_t sequence,
                            uint16_t assoc_id, const char *data) {
        size_t count = data ? strlen(data) : 0;
        size_t len = (12 + count + 3) & ~(size_t) 3;

        assert_true(len <= size);
        memset(buf, 0, size);
        buf[0] = (uint8_t) (version << 3 | 6);
        buf[1] = opcode;
        buf[2] = (uint8_t) (sequence >> 8);
        buf[3] = (uint8_t) sequence;
        buf[6] = (uint8_t) (assoc_id >> 8);
        buf[7] = (uint8_t) assoc_id;
        buf[10] = (uint8_t) (count >> 8);
        buf[11] = (uint8_t) count;
        if (count > 0)
                memcpy(buf + 12, data, count);
        return len;
}

/* Hands mode6_handle() a copy of exactly len bytes, so that the sanitizers see any overread. */
static size_t handle_exact(const uint8_t *request, size_t len, const struct mode6_system *sys,
                           const struct mode6_association *assoc, size_t n_assoc, struct captured *c) {
        uint8_t *copy = malloc(len > 0 ? len : 1);
        size_t n;

        assert_non_null(copy);
        memcpy(copy, request, len);
        memset(c, 0, sizeof(*c));
        n = mode6_handle(copy, len, sys, assoc, n_assoc, capture, c);
        free(copy);
        assert_int_equal(n, c->n);
        return n;
}

static size_t ask(uint8_t opcode, uint16_t assoc_id, const char *data, const struct mode6_system *sys,
                  const struct mode6_association *assoc, size_t n_assoc, struct captured *c) {
        uint8_t request[512];
        size_t len = build_request(request, sizeof(request), 2, opcode, 4242, assoc_id, data);

        return handle_exact(request, len, sys, assoc, n_assoc, c);
}

static struct response_header header_of(const struct captured *c, size_t i) {
        const uint8_t *d = c->datagram[i];

        assert_true(c->len[i] >= 12);
        return (struct response_header) {
                .leap = d[0] >> 6,
                .version = (d[0] >> 3) & 7,
                .mode = d[0] & 7,
                .response = d[1] & 0x80,
                .error = d[1] & 0x40,
                .more = d[1] & 0x20,
                .opcode = d[1] & 0x1f,
                .sequence = (uint16_t) (d[2] << 8 | d[3]),
                .status = (uint16_t) (d[4] << 8 | d[5]),
                .assoc_id = (uint16_t) (d[6] << 8 | d[7]),
                .offset = (uint16_t) (d[8] << 8 | d[9]),
                .count = (uint16_t) (d[10] << 8 | d[11]),
        };
}

/* Checks what every response must be (R bit, mode 6, padding, fragment offsets and More bits) and
 * returns the data of all fragments in order, NUL-terminated. */
static char *reassemble(const struct captured *c, size_t *ret_len) {
        char *data = calloc(MODE6_MAX_DATA * MAX_CAPTURED + 1, 1);
        size_t used = 0;

        assert_non_null(data);
        assert_true(c->n >= 1);
        for (size_t i = 0; i < c->n; i++) {
                struct response_header h = header_of(c, i);

                assert_true(h.response);
                assert_int_equal(h.mode, 6);
                assert_int_equal(c->len[i] % 4, 0);
                assert_true(c->len[i] <= MODE6_MAX_DATAGRAM);
                assert_int_equal(c->len[i], (12 + h.count + 3) & ~3u);
                assert_int_equal(h.offset, used);
                assert_int_equal(h.more, i + 1 < c->n);
                if (h.more)
                        assert_int_equal(h.count, MODE6_MAX_DATA);
                for (size_t p = 12 + h.count; p < c->len[i]; p++)
                        assert_int_equal(c->datagram[i][p], 0);
                memcpy(data + used, c->datagram[i] + 12, h.count);
                used += h.count;
        }
        if (ret_len)
                *ret_len = used;
        return data;
}

static void assert_error(const struct captured *c, uint8_t opcode, enum mode6_error error) {
        struct response_header h;

        assert_int_equal(c->n, 1);
        assert_int_equal(c->len[0], 12);
        h = header_of(c, 0);
        assert_true(h.response);
        assert_true(h.error);
        assert_false(h.more);
        assert_int_equal(h.opcode, opcode);
        assert_int_equal(h.status, error << 8);
        assert_int_equal(h.count, 0);
        assert_int_equal(h.sequence, 4242);
}

static void assert_contains(const char *text, const char *part) {
        if (!strstr(text, part)) {
                print_error("\"%s\" not in:\n%s\n", part, text);
                fail();
        }
}

/* ---- READSTAT ---- */

static void test_readstat_lists_associations(void **state) {
        struct mode6_association assoc[3];
        struct captured c;
        struct response_header h;
        size_t len;
        uint8_t *data;

        associations(assoc);
        assert_int_equal(ask(MODE6_OP_READSTAT, 0, NULL, &a_system, assoc, 3, &c), 1);
        h = header_of(&c, 0);
        assert_false(h.error);
        assert_int_equal(h.opcode, MODE6_OP_READSTAT);
        assert_int_equal(h.status, 0x0600); /* leap none, source NTP, no events */
        data = (uint8_t *) reassemble(&c, &len);
        assert_int_equal(len, 12);
        static const uint8_t expected[] = {
                0, 101, 0x96, 0x00, /* configured, reachable, sys.peer */
                0, 102, 0x94, 0x00, /* configured, reachable, candidate */
                0, 103, 0x11, 0x00, /* reachable, falseticker */
        };
        assert_memory_equal(data, expected, sizeof(expected));
        free(data);
}

static void test_readstat_without_associations(void **state) {
        struct captured c;
        struct mode6_system unsynchronized = a_system;

        unsynchronized.leap = 3;
        unsynchronized.system_peer = 0;
        assert_int_equal(ask(MODE6_OP_READSTAT, 0, NULL, &unsynchronized, NULL, 0, &c), 1);
        assert_int_equal(c.len[0], 12);
        assert_int_equal(header_of(&c, 0).status, 0xc000);
        assert_int_equal(header_of(&c, 0).leap, 3);
        assert_int_equal(header_of(&c, 0).count, 0);
}

static void test_readstat_many_associations_fragments(void **state) {
        static struct mode6_association assoc[300];
        struct captured c;
        size_t len;
        uint8_t *data;

        for (size_t i = 0; i < 300; i++)
                assoc[i] = make_association((uint16_t) (i + 1), "192.0.2.1", 0, MODE6_SEL_REJECT);
        assert_int_equal(ask(MODE6_OP_READSTAT, 0, NULL, &a_system, assoc, 300, &c), 3);
        data = (uint8_t *) reassemble(&c, &len);
        assert_int_equal(len, 1200);
        for (size_t i = 0; i < 300; i++) {
                assert_int_equal(data[4 * i] << 8 | data[4 * i + 1], i + 1);
                assert_int_equal(data[4 * i + 2], 0x90);
        }
        free(data);
}

static void test_readstat_of_an_association_gives_its_variables(void **state) {
        struct mode6_association assoc[3];
        struct captured c;
        char *text;

        associations(assoc);
        ask(MODE6_OP_READSTAT, 102, NULL, &a_system, assoc, 3, &c);
        assert_int_equal(header_of(&c, 0).status, 0x9400);
        text = reassemble(&c, NULL);
        assert_contains(text, "srcadr=192.0.2.2, ");
        free(text);
}

/* ---- READVAR ---- */

static void test_readvar_system_default(void **state) {
        struct captured c;
        char *text;

        assert_int_equal(ask(MODE6_OP_READVAR, 0, NULL, &a_system, NULL, 0, &c), 1);
        assert_int_equal(header_of(&c, 0).status, 0x0600);
        assert_int_equal(header_of(&c, 0).opcode, MODE6_OP_READVAR);
        text = reassemble(&c, NULL);
        assert_string_equal(text,
                "version=\"ntpsyncd 0.1\", leap=0, stratum=2, precision=-23,\r\n"
                "rootdelay=12.300, rootdisp=45.600, rootdist=51.750, refid=192.0.2.1,\r\n"
                "reftime=0xeb2b1f00.80000000, clock=0xeb2b1f40.40000000, peer=101, tc=6,\r\n"
                "mintc=3, offset=0.123457, frequency=-12.346, sys_jitter=0.078900,\r\n"
                "clk_jitter=0.012300, clk_wander=0.004567\r\n");
        free(text);
}

static void test_readvar_system_uname_fields(void **state) {
        struct mode6_system s = a_system;
        struct captured c;
        char *text;

        s.processor = "x86_64";
        s.system = "Linux";
        s.release = "6.1.0";
        ask(MODE6_OP_READVAR, 0, NULL, &s, NULL, 0, &c);
        text = reassemble(&c, NULL);
        assert_contains(text, "version=\"ntpsyncd 0.1\", processor=\"x86_64\", system=\"Linux\",");
        assert_contains(text, "release=\"6.1.0\"");
        free(text);
}

static void test_readvar_system_selected(void **state) {
        struct captured c;
        char *text;

        ask(MODE6_OP_READVAR, 0, "stratum,offset", &a_system, NULL, 0, &c);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "stratum=2, offset=0.123457\r\n");
        free(text);

        /* Request order, blanks and empty items ignored, an "=value" ignored. */
        ask(MODE6_OP_READVAR, 0, " refid , ,leap=3,version", &a_system, NULL, 0, &c);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "refid=192.0.2.1, leap=0, version=\"ntpsyncd 0.1\"\r\n");
        free(text);
}

/* What ntpq's sysinfo asks for besides the defaults. */
static void test_readvar_system_peer_variables(void **state) {
        struct mode6_association assoc[3];
        struct mode6_system s = a_system;
        struct captured c;
        char *text;

        associations(assoc);
        ask(MODE6_OP_READVAR, 0, "peeradr,peermode,authdelay", &s, assoc, 3, &c);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "peeradr=\"192.0.2.1:123\", peermode=3, authdelay=0.000\r\n");
        free(text);

        s.system_peer = 103;
        ask(MODE6_OP_READVAR, 0, "peeradr", &s, assoc, 3, &c);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "peeradr=\"[2001:db8::3]:123\"\r\n");
        free(text);

        s.system_peer = 0;
        ask(MODE6_OP_READVAR, 0, "peeradr,peermode", &s, assoc, 3, &c);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "peeradr=\"0.0.0.0:0\", peermode=0\r\n");
        free(text);
}

static void test_readvar_system_unknown_variable(void **state) {
        struct captured c;

        ask(MODE6_OP_READVAR, 0, "stratum,nosuchvar", &a_system, NULL, 0, &c);
        assert_error(&c, MODE6_OP_READVAR, MODE6_ERR_UNKNOWNVAR);
        ask(MODE6_OP_READVAR, 0, "stratu", &a_system, NULL, 0, &c);
        assert_error(&c, MODE6_OP_READVAR, MODE6_ERR_UNKNOWNVAR);
        ask(MODE6_OP_READVAR, 0, "srcadr", &a_system, NULL, 0, &c);
        assert_error(&c, MODE6_OP_READVAR, MODE6_ERR_UNKNOWNVAR);
}

static void test_readvar_association_default(void **state) {
        struct mode6_association assoc[3];
        struct captured c;
        char *text;

        associations(assoc);
        assert_int_equal(ask(MODE6_OP_READVAR, 101, NULL, &a_system, assoc, 3, &c), 1);
        assert_int_equal(header_of(&c, 0).assoc_id, 101);
        assert_int_equal(header_of(&c, 0).status, 0x9600);
        text = reassemble(&c, NULL);
        assert_string_equal(text,
                "srcadr=192.0.2.1, srcport=123, dstadr=192.0.2.100, dstport=123, leap=0,\r\n"
                "stratum=1, precision=-20, rootdelay=0.000, rootdisp=0.500, refid=GPS,\r\n"
                "reftime=0xeb2b1f30.00000000, rec=0xeb2b1f38.00000000, reach=0xff,\r\n"
                "unreach=0, hmode=3, pmode=4, hpoll=6, ppoll=6, flash=0x0, keyid=0,\r\n"
                "offset=1.234, delay=25.432, dispersion=0.988, jitter=0.123,\r\n"
                "xmt=0xeb2b1f37.ffff0000\r\n");
        free(text);
}

static void test_readvar_association_ipv6_and_host(void **state) {
        struct mode6_association assoc[3];
        struct captured c;
        char *text;

        associations(assoc);
        ask(MODE6_OP_READVAR, 103, NULL, &a_system, assoc, 3, &c);
        assert_int_equal(header_of(&c, 0).status, 0x1100);
        text = reassemble(&c, NULL);
        assert_contains(text, "srcadr=2001:db8::3, srcport=123, srchost=\"ntp3.example.org\",");
        assert_contains(text, "refid=192.0.2.5");
        assert_contains(text, "reach=0xf,");
        free(text);
}

static void test_readvar_association_selected(void **state) {
        struct mode6_association assoc[3];
        struct captured c;
        char *text;

        associations(assoc);
        ask(MODE6_OP_READVAR, 102, "offset, reach,refid", &a_system, assoc, 3, &c);
        assert_int_equal(header_of(&c, 0).status, 0x9400);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "offset=1.234, reach=0xff, refid=PPS\r\n");
        free(text);

        ask(MODE6_OP_READVAR, 102, "offset,version", &a_system, assoc, 3, &c);
        assert_error(&c, MODE6_OP_READVAR, MODE6_ERR_UNKNOWNVAR);
}

static void test_readvar_unknown_association(void **state) {
        struct mode6_association assoc[3];
        struct captured c;

        associations(assoc);
        ask(MODE6_OP_READVAR, 7, NULL, &a_system, assoc, 3, &c);
        assert_error(&c, MODE6_OP_READVAR, MODE6_ERR_BADASSOC);
        assert_int_equal(header_of(&c, 0).assoc_id, 7);
        ask(MODE6_OP_READSTAT, 7, NULL, &a_system, assoc, 3, &c);
        assert_error(&c, MODE6_OP_READSTAT, MODE6_ERR_BADASSOC);
        ask(MODE6_OP_READVAR, 1, NULL, &a_system, NULL, 0, &c);
        assert_error(&c, MODE6_OP_READVAR, MODE6_ERR_BADASSOC);
}

/* ---- formats ---- */

static void test_refids(void **state) {
        struct mode6_association a = make_association(1, "192.0.2.1", 0x494e4954 /* INIT */, MODE6_SEL_REJECT);
        struct captured c;
        char *text;

        a.stratum = 16;
        ask(MODE6_OP_READVAR, 1, "refid", &a_system, &a, 1, &c);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "refid=INIT\r\n");
        free(text);

        a.stratum = 0;
        a.refid = 0x52415445; /* RATE */
        ask(MODE6_OP_READVAR, 1, "refid", &a_system, &a, 1, &c);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "refid=RATE\r\n");
        free(text);

        /* Unprintable and separator bytes never reach ntpq's parser. */
        a.refid = 0x2c220a41;
        ask(MODE6_OP_READVAR, 1, "refid", &a_system, &a, 1, &c);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "refid=...A\r\n");
        free(text);

        a.stratum = 15;
        a.refid = 0x0a000001;
        ask(MODE6_OP_READVAR, 1, "refid", &a_system, &a, 1, &c);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "refid=10.0.0.1\r\n");
        free(text);
}

static void test_strings_are_sanitized(void **state) {
        struct mode6_system s = a_system;
        struct mode6_association a = make_association(1, "192.0.2.1, x=\"y\"", 0, MODE6_SEL_REJECT);
        struct captured c;
        char *text;

        s.version = "bad \"quote\"\r\n";
        ask(MODE6_OP_READVAR, 0, "version", &s, NULL, 0, &c);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "version=\"bad ?quote???\"\r\n");
        free(text);

        ask(MODE6_OP_READVAR, 1, "srcadr", &s, &a, 1, &c);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "srcadr=192.0.2.1??x??y?\r\n");
        free(text);
}

static void test_odd_numbers(void **state) {
        struct mode6_system s = a_system;
        struct captured c;
        char *text;

        s.offset = NAN;
        s.root_delay = 1e300;
        s.sys_jitter = -INFINITY;
        ask(MODE6_OP_READVAR, 0, "offset,rootdelay,sys_jitter", &s, NULL, 0, &c);
        text = reassemble(&c, NULL);
        assert_string_equal(text, "offset=0.000000, rootdelay=1000000000000000.000,\r\n"
                                  "sys_jitter=-1000000000000000.000000\r\n");
        free(text);
}

/* ntpd breaks lines so that an item does not run past column 72. */
static void test_line_breaks(void **state) {
        struct mode6_association assoc[3];
        struct captured c;
        char *text;

        associations(assoc);
        ask(MODE6_OP_READVAR, 103, NULL, &a_system, assoc, 3, &c);
        text = reassemble(&c, NULL);
        for (char *line = text, *end; (end = strstr(line, "\r\n")); line = end + 2) {
                assert_true(end - line < 72);
                assert_true(end == line || end[-1] == ',' || end[2] == '\0');
        }
        free(text);
}

/* ---- fragmentation ---- */

static void test_long_association_variables_fragment(void **state) {
        struct mode6_association a = make_association(9, "192.0.2.9", 0xc0000209, MODE6_SEL_CANDIDATE);
        char host[MODE6_MAX_STRING + 1];
        struct captured c;
        size_t len;
        char *text;

        memset(host, 'h', sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        a.stratum = 2;
        a.srchost = host;
        assert_int_equal(ask(MODE6_OP_READVAR, 9, NULL, &a_system, &a, 1, &c), 2);
        text = reassemble(&c, &len);
        assert_true(len > MODE6_MAX_DATA);
        assert_int_equal(header_of(&c, 0).status, header_of(&c, 1).status);
        assert_int_equal(header_of(&c, 1).offset, MODE6_MAX_DATA);
        assert_contains(text, host);
        assert_contains(text, "srchost=\"hhh");
        assert_string_equal(text + len - strlen("xmt=0xeb2b1f37.ffff0000\r\n"), "xmt=0xeb2b1f37.ffff0000\r\n");
        assert_int_equal(strlen(text), len);
        free(text);
}

static void test_long_system_variables_fragment(void **state) {
        char long_text[4][MODE6_MAX_STRING + 50];
        struct mode6_system s = a_system;
        struct captured c;
        size_t len;
        char *text;

        for (size_t i = 0; i < 4; i++) {
                memset(long_text[i], (int) ('a' + i), sizeof(long_text[i]) - 1);
                long_text[i][sizeof(long_text[i]) - 1] = '\0';
        }
        s.version = long_text[0];
        s.processor = long_text[1];
        s.system = long_text[2];
        s.release = long_text[3];
        assert_int_equal(ask(MODE6_OP_READVAR, 0, NULL, &s, NULL, 0, &c), 3);
        text = reassemble(&c, &len);
        assert_int_equal(strlen(text), len);
        /* Each string is cut to MODE6_MAX_STRING characters. */
        for (size_t i = 0; i < 4; i++) {
                char cut[MODE6_MAX_STRING + 3];

                snprintf(cut, sizeof(cut), "\"%.*s\"", MODE6_MAX_STRING, long_text[i]);
                assert_contains(text, cut);
        }
        assert_contains(text, "clk_wander=0.004567\r\n");
        assert_string_equal(text + len - 2, "\r\n");
        free(text);
}

/* ---- refused requests ---- */

static void test_refused_opcodes(void **state) {
        static const uint8_t permission[] = {
                MODE6_OP_WRITEVAR, MODE6_OP_WRITECLOCK, MODE6_OP_SETTRAP, MODE6_OP_CONFIGURE,
                MODE6_OP_SAVECONFIG, MODE6_OP_READ_MRU, MODE6_OP_READ_ORDLIST_A, MODE6_OP_REQ_NONCE,
                MODE6_OP_UNSETTRAP,
        };
        struct mode6_association assoc[3];
        struct captured c;

        associations(assoc);
        for (size_t i = 0; i < ELEMENTSOF(permission); i++) {
                ask(permission[i], 0, "leap=3", &a_system, assoc, 3, &c);
                assert_error(&c, permission[i], MODE6_ERR_PERMISSION);
                ask(permission[i], 101, "stratum=1", &a_system, assoc, 3, &c);
                assert_error(&c, permission[i], MODE6_ERR_PERMISSION);
        }
        ask(MODE6_OP_ASYNCMSG, 0, NULL, &a_system, assoc, 3, &c);
        assert_error(&c, MODE6_OP_ASYNCMSG, MODE6_ERR_BADOP);
        for (uint8_t op = 13; op < 31; op++) {
                ask(op, 0, NULL, &a_system, assoc, 3, &c);
                assert_error(&c, op, MODE6_ERR_BADOP);
        }
        ask(MODE6_OP_READCLOCK, 0, NULL, &a_system, assoc, 3, &c);
        assert_error(&c, MODE6_OP_READCLOCK, MODE6_ERR_BADASSOC);
        ask(MODE6_OP_READCLOCK, 101, NULL, &a_system, assoc, 3, &c);
        assert_error(&c, MODE6_OP_READCLOCK, MODE6_ERR_BADASSOC);
}

static void test_authenticated_request_refused(void **state) {
        uint8_t request[128];
        struct captured c;
        size_t len = build_request(request, sizeof(request), 2, MODE6_OP_READVAR, 4242, 0, "stratum");

        /* Padded to 8 octets, then a key id and an MD5 digest, as ntpq -a sends. */
        len = (len + 7) & ~(size_t) 7;
        request[len + 3] = 1;
        len += 4 + 16;
        assert_int_equal(handle_exact(request, len, &a_system, NULL, 0, &c), 1);
        assert_error(&c, MODE6_OP_READVAR, MODE6_ERR_PERMISSION);

        /* A few words of padding are not a MAC. */
        len = build_request(request, sizeof(request), 2, MODE6_OP_READVAR, 4242, 0, "stratum") + 8;
        assert_int_equal(handle_exact(request, len, &a_system, NULL, 0, &c), 1);
        assert_false(header_of(&c, 0).error);
}

/* ---- headers ---- */

static void test_header_echoed(void **state) {
        struct mode6_association assoc[3];
        struct mode6_system s = a_system;
        uint8_t request[64];
        struct captured c;
        struct response_header h;

        associations(assoc);
        s.leap = 1;
        for (uint8_t version = 1; version <= 4; version++) {
                size_t len = build_request(request, sizeof(request), version, MODE6_OP_READVAR, 0xbeef, 102, "leap");

                assert_int_equal(handle_exact(request, len, &s, assoc, 3, &c), 1);
                h = header_of(&c, 0);
                assert_int_equal(h.version, version);
                assert_int_equal(h.leap, 1);
                assert_int_equal(h.sequence, 0xbeef);
                assert_int_equal(h.assoc_id, 102);
                assert_int_equal(h.offset, 0);
                assert_false(h.error);
        }
}

static void test_unspecified_opcode(void **state) {
        struct mode6_association assoc[3];
        struct captured c;

        associations(assoc);
        assert_int_equal(ask(MODE6_OP_UNSPEC, 0, NULL, &a_system, assoc, 3, &c), 1);
        assert_int_equal(c.len[0], 12);
        assert_int_equal(header_of(&c, 0).status, 0x0600);
        ask(MODE6_OP_UNSPEC, 101, NULL, &a_system, assoc, 3, &c);
        assert_int_equal(header_of(&c, 0).status, 0x9600);
        ask(MODE6_OP_UNSPEC, 99, NULL, &a_system, assoc, 3, &c);
        assert_error(&c, MODE6_OP_UNSPEC, MODE6_ERR_BADASSOC);
}

/* ---- bad input ---- */

static void assert_ignored(const uint8_t *request, size_t len) {
        struct mode6_association assoc[3];
        struct captured c;

        associations(assoc);
        assert_int_equal(handle_exact(request, len, &a_system, assoc, 3, &c), 0);
}

static void test_bad_input_ignored(void **state) {
        uint8_t good[64], bad[64];
        uint8_t big[1100] = {};
        size_t len = build_request(good, sizeof(good), 2, MODE6_OP_READVAR, 1, 0, "stratum");
        struct captured c;

        for (size_t n = 0; n < 12; n++)
                assert_ignored(good, n);
        assert_ignored(good, len - 1);                            /* not a multiple of 4 */

        static const uint8_t rem_bits[] = { 0x80, 0x40, 0x20 };   /* response, error, more */
        for (size_t i = 0; i < ELEMENTSOF(rem_bits); i++) {
                memcpy(bad, good, len);
                bad[1] |= rem_bits[i];
                assert_ignored(bad, len);
        }
        memcpy(bad, good, len);
        bad[9] = 4;                                               /* nonzero offset */
        assert_ignored(bad, len);
        static const uint8_t versions[] = { 0, 5, 6, 7 };
        for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
                memcpy(bad, good, len);
                bad[0] = (uint8_t) (versions[i] << 3 | 6);
                assert_ignored(bad, len);
        }
        for (uint8_t mode = 0; mode < 8; mode++) {
                if (mode == 6)
                        continue;
                memcpy(bad, good, len);
                bad[0] = (uint8_t) (2 << 3 | mode);
                assert_ignored(bad, len);
        }
        memcpy(bad, good, len);
        bad[11] = (uint8_t) (len - 12 + 1);                       /* count past the datagram */
        assert_ignored(bad, len);
        bad[10] = 0xff;                                           /* absurd count */
        bad[11] = 0xff;
        assert_ignored(bad, len);

        memcpy(big, good, 12);
        big[10] = (MODE6_MAX_DATA + 4) >> 8;                      /* more than ntpd accepts */
        big[11] = (MODE6_MAX_DATA + 4) & 0xff;
        assert_ignored(big, 12 + MODE6_MAX_DATA + 4);
        big[10] = big[11] = 0;
        assert_ignored(big, sizeof(big));                         /* absurdly long */

        assert_int_equal(mode6_handle(NULL, 12, &a_system, NULL, 0, capture, &c), 0);
        assert_int_equal(mode6_handle(good, len, NULL, NULL, 0, capture, &c), 0);
        assert_int_equal(mode6_handle(good, len, &a_system, NULL, 3, capture, &c), 0);
        assert_int_equal(mode6_handle(good, len, &a_system, NULL, 0, NULL, &c), 0);

        /* And the good one is answered. */
        assert_int_equal(handle_exact(good, len, &a_system, NULL, 0, &c), 1);
}

/* ---- helpers ---- */

static void test_status_words(void **state) {
        struct mode6_system s = a_system;
        struct mode6_association a;

        s.leap = 2;
        s.event_count = 3;
        s.last_event = 5;
        assert_int_equal(mode6_system_status(&s), 0x8635);
        s.system_peer = 0;
        assert_int_equal(mode6_system_status(&s), 0x8035);

        mode6_association_init(&a);
        assert_int_equal(a.hmode, 3);
        assert_int_equal(a.pmode, 4);
        assert_int_equal(a.srcport, 123);
        assert_true(a.configured);
        assert_int_equal(mode6_peer_status(&a), 0x8000);
        a.reach = 1;
        a.select = MODE6_SEL_BACKUP;
        a.event_count = 1;
        a.last_event = 0xa;
        assert_int_equal(mode6_peer_status(&a), 0x951a);
}

static void test_select_from_tally(void **state) {
        static const char tallies[] = " x.-+#*o";

        for (size_t i = 0; i < 8; i++)
                assert_int_equal(mode6_select_from_tally(tallies[i]), i);
        assert_int_equal(mode6_select_from_tally('?'), MODE6_SEL_REJECT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_readstat_lists_associations),
                cmocka_unit_test(test_readstat_without_associations),
                cmocka_unit_test(test_readstat_many_associations_fragments),
                cmocka_unit_test(test_readstat_of_an_association_gives_its_variables),
                cmocka_unit_test(test_readvar_system_default),
                cmocka_unit_test(test_readvar_system_uname_fields),
                cmocka_unit_test(test_readvar_system_selected),
                cmocka_unit_test(test_readvar_system_peer_variables),
                cmocka_unit_test(test_readvar_system_unknown_variable),
                cmocka_unit_test(test_readvar_association_default),
                cmocka_unit_test(test_readvar_association_ipv6_and_host),
                cmocka_unit_test(test_readvar_association_selected),
                cmocka_unit_test(test_readvar_unknown_association),
                cmocka_unit_test(test_refids),
                cmocka_unit_test(test_strings_are_sanitized),
                cmocka_unit_test(test_odd_numbers),
                cmocka_unit_test(test_line_breaks),
                cmocka_unit_test(test_long_association_variables_fragment),
                cmocka_unit_test(test_long_system_variables_fragment),
                cmocka_unit_test(test_refused_opcodes),
                cmocka_unit_test(test_authenticated_request_refused),
                cmocka_unit_test(test_header_echoed),
                cmocka_unit_test(test_unspecified_opcode),
                cmocka_unit_test(test_bad_input_ignored),
                cmocka_unit_test(test_status_words),
                cmocka_unit_test(test_select_from_tally),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
