/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mode6.h"
#include "unaligned.h"

/* Header: LI/VN/mode, R/E/M/opcode, sequence, status, association id, offset, count. */
#define RESPONSE_BIT 0x80
#define ERROR_BIT 0x40
#define MORE_BIT 0x20
#define OPCODE_MASK 0x1f
#define CONTROL_MODE 6
#define MIN_VERSION 1
#define MAX_VERSION 4

/* A trailing MAC is a key id and a digest of at least 128 bits; shorter trailing bytes are padding. */
#define MIN_MAC_SIZE 20
#define MAX_REQUEST_SIZE 1024

#define SOURCE_NTP 6                 /* system status word: clock source is an NTP server */
#define PEER_CONFIGURED 0x80
#define PEER_REACHABLE 0x10

#define MAX_LINE 72                  /* ntpd breaks lines before this column */
#define MAX_ITEM (64 + MODE6_MAX_STRING + 8)
#define TEXT_MAX (MODE6_MAX_DATA * MODE6_MAX_FRAGMENTS)
#define MAX_WANTED (MODE6_MAX_DATA / 2 + 1)
#define MAX_NAME 64
#define MAX_MAGNITUDE 1e15           /* formatted values are kept to a sane number of digits */

struct request {
        uint8_t version;
        uint8_t opcode;
        uint16_t sequence;
        uint16_t assoc_id;
        const uint8_t *data;
        size_t count;
        bool authenticated;
};

struct responder {
        const struct request *request;
        uint8_t leap;
        mode6_emit_func emit;
        void *userdata;
        size_t sent;
};

/* The data of a response as it is built: ntpd's "name=value, name=value,\r\n..." text, or binary. */
struct text {
        char data[TEXT_MAX];
        size_t used;
        size_t line_length;
        bool full;
};

static size_t padded_to_4(size_t n) {
        return (n + 3) & ~(size_t) 3;
}

/* ---- requests ---- */

static bool header_is_request(const uint8_t *buf) {
        uint8_t version = (buf[0] >> 3) & 7;

        return (buf[0] & 7) == CONTROL_MODE &&
               version >= MIN_VERSION && version <= MAX_VERSION &&
               (buf[1] & (RESPONSE_BIT | ERROR_BIT | MORE_BIT)) == 0 &&
               unaligned_read_be16(buf + 8) == 0;
}

/* False for anything that gets no answer at all. */
static bool parse_request(const uint8_t *buf, size_t len, struct request *ret) {
        if (!buf || len < MODE6_HEADER_SIZE || len > MAX_REQUEST_SIZE || len % 4 != 0)
                return false;
        if (!header_is_request(buf))
                return false;

        size_t count = unaligned_read_be16(buf + 10);
        if (count > MODE6_MAX_DATA || count > len - MODE6_HEADER_SIZE)
                return false;

        size_t trailing = len - padded_to_4(MODE6_HEADER_SIZE + count);
        *ret = (struct request) {
                .version = (buf[0] >> 3) & 7,
                .opcode = buf[1] & OPCODE_MASK,
                .sequence = unaligned_read_be16(buf + 2),
                .assoc_id = unaligned_read_be16(buf + 6),
                .data = buf + MODE6_HEADER_SIZE,
                .count = count,
                .authenticated = trailing >= MIN_MAC_SIZE,
        };
        return true;
}

/* ---- responses ---- */

static void send_datagram(struct responder *r, uint8_t flags, uint16_t status, uint16_t offset,
                          const void *data, size_t count) {
        uint8_t datagram[MODE6_MAX_DATAGRAM] = {};
        const struct request *q = r->request;

        datagram[0] = (uint8_t) ((r->leap & 3) << 6 | q->version << 3 | CONTROL_MODE);
        datagram[1] = (uint8_t) (RESPONSE_BIT | flags | q->opcode);
        unaligned_write_be16(datagram + 2, q->sequence);
        unaligned_write_be16(datagram + 4, status);
        unaligned_write_be16(datagram + 6, q->assoc_id);
        unaligned_write_be16(datagram + 8, offset);
        unaligned_write_be16(datagram + 10, (uint16_t) count);
        if (count > 0)
                memcpy(datagram + MODE6_HEADER_SIZE, data, count);
        r->emit(r->userdata, datagram, padded_to_4(MODE6_HEADER_SIZE + count));
        r->sent++;
}

static void send_error(struct responder *r, enum mode6_error error) {
        send_datagram(r, ERROR_BIT, (uint16_t) (error << 8), 0, NULL, 0);
}

/* Fragments of at most MODE6_MAX_DATA bytes, the More bit on all but the last; at least one. */
static void send_data(struct responder *r, uint16_t status, const char *data, size_t size) {
        size_t offset = 0;

        do {
                size_t count = size - offset < MODE6_MAX_DATA ? size - offset : MODE6_MAX_DATA;
                bool more = offset + count < size;

                send_datagram(r, more ? MORE_BIT : 0, status, (uint16_t) offset, data + offset, count);
                offset += count;
        } while (offset < size);
}

/* ---- the text of a response ---- */

/* Appends one "name=value" item after ntpd's separator: ", ", or ",\r\n" when the line would
 * reach MAX_LINE. Room for the final "\r\n" is always kept; once an item does not fit, the text
 * stays as it is. */
static void text_put_item(struct text *t, const char *item, size_t len) {
        size_t separator = t->used > 0 ? 3 : 0;

        if (t->full || t->used + separator + len + 2 > sizeof(t->data)) {
                t->full = true;
                return;
        }
        if (t->used > 0) {
                t->data[t->used++] = ',';
                t->line_length++;
                if (len + t->line_length + 1 >= MAX_LINE) {
                        t->data[t->used++] = '\r';
                        t->data[t->used++] = '\n';
                        t->line_length = 0;
                } else {
                        t->data[t->used++] = ' ';
                        t->line_length++;
                }
        }
        memcpy(t->data + t->used, item, len);
        t->used += len;
        t->line_length += len;
}

static void text_finish(struct text *t) {
        if (t->used == 0)
                return;
        t->data[t->used++] = '\r';
        t->data[t->used++] = '\n';
}

static bool is_graphic(unsigned char c) {
        return c > 0x20 && c < 0x7f;
}

/* Copies a value so that it cannot break ntpq's parsing: printable ASCII only, no double quote,
 * and for an unquoted value no space, comma or '='. */
static void copy_value(char *dst, size_t size, const char *src, bool quoted) {
        size_t n = 0;

        for (; src && src[n] && n + 1 < size && n < MODE6_MAX_STRING; n++) {
                unsigned char c = (unsigned char) src[n];
                bool ok = quoted ? (c == ' ' || is_graphic(c)) && c != '"'
                                 : is_graphic(c) && c != ',' && c != '"' && c != '=';
                dst[n] = ok ? (char) c : '?';
        }
        dst[n] = '\0';
}

static void put_formatted(struct text *t, const char *name, const char *value) {
        char item[MAX_ITEM];
        int n = snprintf(item, sizeof(item), "%s=%s", name, value);

        if (n > 0)
                text_put_item(t, item, (size_t) n < sizeof(item) ? (size_t) n : sizeof(item) - 1);
}

static void put_string(struct text *t, const char *name, const char *value) {
        char clean[MODE6_MAX_STRING + 1], quoted[MODE6_MAX_STRING + 3];

        copy_value(clean, sizeof(clean), value, true);
        snprintf(quoted, sizeof(quoted), "\"%s\"", clean);
        put_formatted(t, name, quoted);
}

static void put_word(struct text *t, const char *name, const char *value) {
        char clean[MODE6_MAX_STRING + 1];

        copy_value(clean, sizeof(clean), value, false);
        put_formatted(t, name, clean);
}

static void put_uint(struct text *t, const char *name, unsigned long value) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%lu", value);
        put_formatted(t, name, buf);
}

static void put_int(struct text *t, const char *name, long value) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%ld", value);
        put_formatted(t, name, buf);
}

static void put_hex(struct text *t, const char *name, unsigned long value) {
        char buf[32];

        snprintf(buf, sizeof(buf), "0x%lx", value);
        put_formatted(t, name, buf);
}

static double sane(double value) {
        if (isnan(value))
                return 0;
        return fmax(-MAX_MAGNITUDE, fmin(MAX_MAGNITUDE, value));
}

static void put_fixed(struct text *t, const char *name, double value, int decimals) {
        char buf[64];

        snprintf(buf, sizeof(buf), "%.*f", decimals, sane(value));
        put_formatted(t, name, buf);
}

/* Seconds as milliseconds with three decimals, as ntpd's ctl_putdbl(). */
static void put_ms(struct text *t, const char *name, double seconds) {
        put_fixed(t, name, seconds * 1e3, 3);
}

/* Six decimals, as ntpd's ctl_putdbl6() for the system offset and jitters. */
static void put_ms6(struct text *t, const char *name, double seconds) {
        put_fixed(t, name, seconds * 1e3, 6);
}

static void put_timestamp(struct text *t, const char *name, ntp_ts ts) {
        char buf[32];

        snprintf(buf, sizeof(buf), "0x%08x.%08x", (unsigned) (ts >> 32), (unsigned) (ts & 0xffffffffu));
        put_formatted(t, name, buf);
}

/* A refid is an IPv4 address (or the hash of an IPv6 one) at stratum 2-15, otherwise up to four
 * ASCII characters such as "GPS", "INIT", "RATE". */
static void put_refid(struct text *t, const char *name, uint32_t refid, uint8_t stratum) {
        char buf[16];

        if (stratum > 1 && stratum < 16) {
                snprintf(buf, sizeof(buf), "%u.%u.%u.%u", refid >> 24, (refid >> 16) & 0xff,
                         (refid >> 8) & 0xff, refid & 0xff);
        } else {
                size_t n = 0;
                for (; n < 4; n++) {
                        unsigned char c = (unsigned char) (refid >> (24 - 8 * n));
                        if (c == '\0')
                                break;
                        buf[n] = is_graphic(c) && c != ',' && c != '"' && c != '=' ? (char) c : '.';
                }
                buf[n] = '\0';
        }
        put_formatted(t, name, buf);
}

static bool is_set(const char *s) {
        return s && s[0] != '\0';
}

/* ---- variables ---- */

struct view {
        const struct mode6_system *sys;
        const struct mode6_association *assoc;
        size_t n_assoc;
};

static const struct mode6_association *find_association(const struct view *v, uint16_t id) {
        if (id == 0)
                return NULL;
        for (size_t i = 0; i < v->n_assoc; i++)
                if (v->assoc[i].assoc_id == id)
                        return &v->assoc[i];
        return NULL;
}

struct variable {
        const char *name;
        bool by_default;             /* sent when the request names no variables */
};

enum system_variable {
        SYS_VERSION,
        SYS_PROCESSOR,
        SYS_SYSTEM,
        SYS_RELEASE,
        SYS_LEAP,
        SYS_STRATUM,
        SYS_PRECISION,
        SYS_ROOTDELAY,
        SYS_ROOTDISP,
        SYS_ROOTDIST,
        SYS_REFID,
        SYS_REFTIME,
        SYS_CLOCK,
        SYS_PEER,
        SYS_TC,
        SYS_MINTC,
        SYS_OFFSET,
        SYS_FREQUENCY,
        SYS_SYS_JITTER,
        SYS_CLK_JITTER,
        SYS_CLK_WANDER,
        SYS_PEERADR,
        SYS_PEERMODE,
        SYS_AUTHDELAY,
        _SYS_MAX,
};

/* In the order ntpd sends them by default; the last few only when asked for (ntpq sysinfo). */
static const struct variable system_variables[_SYS_MAX] = {
        [SYS_VERSION] = { "version", true },
        [SYS_PROCESSOR] = { "processor", true },
        [SYS_SYSTEM] = { "system", true },
        [SYS_RELEASE] = { "release", true },
        [SYS_LEAP] = { "leap", true },
        [SYS_STRATUM] = { "stratum", true },
        [SYS_PRECISION] = { "precision", true },
        [SYS_ROOTDELAY] = { "rootdelay", true },
        [SYS_ROOTDISP] = { "rootdisp", true },
        [SYS_ROOTDIST] = { "rootdist", true },
        [SYS_REFID] = { "refid", true },
        [SYS_REFTIME] = { "reftime", true },
        [SYS_CLOCK] = { "clock", true },
        [SYS_PEER] = { "peer", true },
        [SYS_TC] = { "tc", true },
        [SYS_MINTC] = { "mintc", true },
        [SYS_OFFSET] = { "offset", true },
        [SYS_FREQUENCY] = { "frequency", true },
        [SYS_SYS_JITTER] = { "sys_jitter", true },
        [SYS_CLK_JITTER] = { "clk_jitter", true },
        [SYS_CLK_WANDER] = { "clk_wander", true },
        [SYS_PEERADR] = { "peeradr", false },
        [SYS_PEERMODE] = { "peermode", false },
        [SYS_AUTHDELAY] = { "authdelay", false },
};

static void put_optional_string(struct text *t, const char *name, const char *value) {
        if (is_set(value))
                put_string(t, name, value);
}

/* The system peer's address and port as ntpd writes them: "192.0.2.1:123", "[2001:db8::1]:123". */
static void put_peer_address(struct text *t, const char *name, const struct mode6_association *peer) {
        char clean[MODE6_MAX_STRING + 1], buf[MODE6_MAX_STRING + 16];

        if (!peer || !is_set(peer->srcadr)) {
                put_string(t, name, "0.0.0.0:0");
                return;
        }
        copy_value(clean, sizeof(clean), peer->srcadr, false);
        snprintf(buf, sizeof(buf), strchr(clean, ':') ? "[%s]:%u" : "%s:%u", clean, peer->srcport);
        put_string(t, name, buf);
}

static void put_system_variable(struct text *t, enum system_variable id, const struct view *v) {
        const struct mode6_system *s = v->sys;
        const struct mode6_association *peer = find_association(v, s->system_peer);
        const char *name = system_variables[id].name;

        switch (id) {
        case SYS_VERSION: put_optional_string(t, name, s->version); break;
        case SYS_PROCESSOR: put_optional_string(t, name, s->processor); break;
        case SYS_SYSTEM: put_optional_string(t, name, s->system); break;
        case SYS_RELEASE: put_optional_string(t, name, s->release); break;
        case SYS_LEAP: put_uint(t, name, s->leap & 3); break;
        case SYS_STRATUM: put_uint(t, name, s->stratum); break;
        case SYS_PRECISION: put_int(t, name, s->precision); break;
        case SYS_ROOTDELAY: put_ms(t, name, s->root_delay); break;
        case SYS_ROOTDISP: put_ms(t, name, s->root_dispersion); break;
        case SYS_ROOTDIST: put_ms(t, name, s->root_delay / 2 + s->root_dispersion); break;
        case SYS_REFID: put_refid(t, name, s->refid, s->stratum); break;
        case SYS_REFTIME: put_timestamp(t, name, s->reference_time); break;
        case SYS_CLOCK: put_timestamp(t, name, s->clock); break;
        case SYS_PEER: put_uint(t, name, s->system_peer); break;
        case SYS_TC: put_int(t, name, s->poll); break;
        case SYS_MINTC: put_int(t, name, s->min_poll); break;
        case SYS_OFFSET: put_ms6(t, name, s->offset); break;
        case SYS_FREQUENCY: put_fixed(t, name, s->frequency_ppm, 3); break;
        case SYS_SYS_JITTER: put_ms6(t, name, s->sys_jitter); break;
        case SYS_CLK_JITTER: put_ms6(t, name, s->clk_jitter); break;
        case SYS_CLK_WANDER: put_fixed(t, name, s->clk_wander_ppm, 6); break;
        case SYS_PEERADR: put_peer_address(t, name, peer); break;
        case SYS_PEERMODE: put_uint(t, name, peer ? peer->hmode : 0); break;
        case SYS_AUTHDELAY: put_ms(t, name, 0); break;
        case _SYS_MAX: break;
        }
}

enum peer_variable {
        PEER_SRCADR,
        PEER_SRCPORT,
        PEER_SRCHOST,
        PEER_DSTADR,
        PEER_DSTPORT,
        PEER_LEAP,
        PEER_STRATUM,
        PEER_PRECISION,
        PEER_ROOTDELAY,
        PEER_ROOTDISP,
        PEER_REFID,
        PEER_REFTIME,
        PEER_REC,                    /* after reftime: ntpq -p takes "when" from the last of the two */
        PEER_REACH,
        PEER_UNREACH,
        PEER_HMODE,
        PEER_PMODE,
        PEER_HPOLL,
        PEER_PPOLL,
        PEER_FLASH,
        PEER_KEYID,
        PEER_OFFSET,
        PEER_DELAY,
        PEER_DISPERSION,
        PEER_JITTER,
        PEER_XMT,
        _PEER_MAX,
};

static const struct variable peer_variables[_PEER_MAX] = {
        [PEER_SRCADR] = { "srcadr", true },
        [PEER_SRCPORT] = { "srcport", true },
        [PEER_SRCHOST] = { "srchost", true },
        [PEER_DSTADR] = { "dstadr", true },
        [PEER_DSTPORT] = { "dstport", true },
        [PEER_LEAP] = { "leap", true },
        [PEER_STRATUM] = { "stratum", true },
        [PEER_PRECISION] = { "precision", true },
        [PEER_ROOTDELAY] = { "rootdelay", true },
        [PEER_ROOTDISP] = { "rootdisp", true },
        [PEER_REFID] = { "refid", true },
        [PEER_REFTIME] = { "reftime", true },
        [PEER_REC] = { "rec", true },
        [PEER_REACH] = { "reach", true },
        [PEER_UNREACH] = { "unreach", true },
        [PEER_HMODE] = { "hmode", true },
        [PEER_PMODE] = { "pmode", true },
        [PEER_HPOLL] = { "hpoll", true },
        [PEER_PPOLL] = { "ppoll", true },
        [PEER_FLASH] = { "flash", true },
        [PEER_KEYID] = { "keyid", true },
        [PEER_OFFSET] = { "offset", true },
        [PEER_DELAY] = { "delay", true },
        [PEER_DISPERSION] = { "dispersion", true },
        [PEER_JITTER] = { "jitter", true },
        [PEER_XMT] = { "xmt", true },
};

static void put_peer_variable(struct text *t, enum peer_variable id, const struct mode6_association *a) {
        const char *name = peer_variables[id].name;

        switch (id) {
        case PEER_SRCADR: put_word(t, name, is_set(a->srcadr) ? a->srcadr : "0.0.0.0"); break;
        case PEER_SRCPORT: put_uint(t, name, a->srcport); break;
        case PEER_SRCHOST: put_optional_string(t, name, a->srchost); break;
        case PEER_DSTADR: put_word(t, name, is_set(a->dstadr) ? a->dstadr : "0.0.0.0"); break;
        case PEER_DSTPORT: put_uint(t, name, a->dstport); break;
        case PEER_LEAP: put_uint(t, name, a->leap & 3); break;
        case PEER_STRATUM: put_uint(t, name, a->stratum); break;
        case PEER_PRECISION: put_int(t, name, a->precision); break;
        case PEER_ROOTDELAY: put_ms(t, name, a->root_delay); break;
        case PEER_ROOTDISP: put_ms(t, name, a->root_dispersion); break;
        case PEER_REFID: put_refid(t, name, a->refid, a->stratum); break;
        case PEER_REFTIME: put_timestamp(t, name, a->reftime); break;
        case PEER_REC: put_timestamp(t, name, a->rec); break;
        case PEER_REACH: put_hex(t, name, a->reach); break;
        case PEER_UNREACH: put_uint(t, name, a->unreach); break;
        case PEER_HMODE: put_uint(t, name, a->hmode); break;
        case PEER_PMODE: put_uint(t, name, a->pmode); break;
        case PEER_HPOLL: put_int(t, name, a->hpoll); break;
        case PEER_PPOLL: put_int(t, name, a->ppoll); break;
        case PEER_FLASH: put_hex(t, name, a->flash); break;
        case PEER_KEYID: put_uint(t, name, 0); break;
        case PEER_OFFSET: put_ms(t, name, a->offset); break;
        case PEER_DELAY: put_ms(t, name, a->delay); break;
        case PEER_DISPERSION: put_ms(t, name, a->dispersion); break;
        case PEER_JITTER: put_ms(t, name, a->jitter); break;
        case PEER_XMT: put_timestamp(t, name, a->xmt); break;
        case _PEER_MAX: break;
        }
}

/* ---- the variables a request asks for ---- */

static bool is_name_separator(uint8_t c) {
        return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

static int find_variable(const struct variable table[], size_t n, const uint8_t *name, size_t len) {
        for (size_t i = 0; i < n; i++)
                if (strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0)
                        return (int) i;
        return -1;
}

/* The request data is a list of names separated by commas, each perhaps with "=value" (ignored:
 * nothing is written). Fills ret_ids in request order; false when a name is unknown. */
static bool parse_wanted(const uint8_t *data, size_t count, const struct variable table[], size_t n_table,
                         uint8_t ret_ids[static MAX_WANTED], size_t *ret_n) {
        size_t pos = 0, n = 0;

        for (;;) {
                while (pos < count && is_name_separator(data[pos]))
                        pos++;
                if (pos >= count)
                        break;

                size_t start = pos;
                while (pos < count && data[pos] != ',' && data[pos] != '=')
                        pos++;
                size_t end = pos;
                while (end > start && is_name_separator(data[end - 1]))
                        end--;
                while (pos < count && data[pos] != ',')
                        pos++;

                int id = end - start <= MAX_NAME ? find_variable(table, n_table, data + start, end - start) : -1;
                if (id < 0 || n >= MAX_WANTED)
                        return false;
                ret_ids[n++] = (uint8_t) id;
        }
        *ret_n = n;
        return true;
}

/* ---- status words ---- */

uint16_t mode6_system_status(const struct mode6_system *sys) {
        unsigned source = sys->system_peer != 0 ? SOURCE_NTP : 0;

        return (uint16_t) ((sys->leap & 3) << 14 | source << 8 | (sys->event_count & 0xf) << 4 |
                           (sys->last_event & 0xf));
}

uint16_t mode6_peer_status(const struct mode6_association *a) {
        unsigned flags = (unsigned) (a->select & 7);

        if (a->configured)
                flags |= PEER_CONFIGURED;
        if (a->reach != 0)
                flags |= PEER_REACHABLE;
        return (uint16_t) (flags << 8 | (a->event_count & 0xf) << 4 | (a->last_event & 0xf));
}

/* ---- the opcodes ---- */

static void answer_system_variables(struct responder *r, const struct view *v) {
        const struct request *q = r->request;
        uint8_t wanted[MAX_WANTED];
        size_t n_wanted = 0;
        struct text t = {};

        if (!parse_wanted(q->data, q->count, system_variables, _SYS_MAX, wanted, &n_wanted)) {
                send_error(r, MODE6_ERR_UNKNOWNVAR);
                return;
        }
        if (n_wanted == 0)
                for (size_t i = 0; i < _SYS_MAX; i++)
                        if (system_variables[i].by_default)
                                put_system_variable(&t, (enum system_variable) i, v);
        for (size_t i = 0; i < n_wanted; i++)
                put_system_variable(&t, (enum system_variable) wanted[i], v);
        text_finish(&t);
        send_data(r, mode6_system_status(v->sys), t.data, t.used);
}

static void answer_peer_variables(struct responder *r, const struct view *v) {
        const struct request *q = r->request;
        const struct mode6_association *a = find_association(v, q->assoc_id);
        uint8_t wanted[MAX_WANTED];
        size_t n_wanted = 0;
        struct text t = {};

        if (!a) {
                send_error(r, MODE6_ERR_BADASSOC);
                return;
        }
        if (!parse_wanted(q->data, q->count, peer_variables, _PEER_MAX, wanted, &n_wanted)) {
                send_error(r, MODE6_ERR_UNKNOWNVAR);
                return;
        }
        if (n_wanted == 0)
                for (size_t i = 0; i < _PEER_MAX; i++)
                        if (peer_variables[i].by_default)
                                put_peer_variable(&t, (enum peer_variable) i, a);
        for (size_t i = 0; i < n_wanted; i++)
                put_peer_variable(&t, (enum peer_variable) wanted[i], a);
        text_finish(&t);
        send_data(r, mode6_peer_status(a), t.data, t.used);
}

static void answer_read_variables(struct responder *r, const struct view *v) {
        if (r->request->assoc_id == 0)
                answer_system_variables(r, v);
        else
                answer_peer_variables(r, v);
}

/* Association 0: the system status word and an (association id, peer status word) pair for each
 * association. Any other association: its variables, as ntpd does. */
static void answer_read_status(struct responder *r, const struct view *v) {
        struct text t = {};

        if (r->request->assoc_id != 0) {
                answer_peer_variables(r, v);
                return;
        }
        for (size_t i = 0; i < v->n_assoc && t.used + 4 <= sizeof(t.data); i++) {
                const struct mode6_association *a = &v->assoc[i];
                uint8_t *p = (uint8_t *) t.data + t.used;

                if (a->assoc_id == 0)
                        continue;
                unaligned_write_be16(p, a->assoc_id);
                unaligned_write_be16(p + 2, mode6_peer_status(a));
                t.used += 4;
        }
        send_data(r, mode6_system_status(v->sys), t.data, t.used);
}

/* No data, only the status word of the system or of the association. */
static void answer_unspecified(struct responder *r, const struct view *v) {
        const struct mode6_association *a;

        if (r->request->assoc_id == 0) {
                send_data(r, mode6_system_status(v->sys), "", 0);
                return;
        }
        a = find_association(v, r->request->assoc_id);
        if (!a)
                send_error(r, MODE6_ERR_BADASSOC);
        else
                send_data(r, mode6_peer_status(a), "", 0);
}

static bool opcode_is_refused(uint8_t opcode) {
        switch (opcode) {
        case MODE6_OP_WRITEVAR:
        case MODE6_OP_WRITECLOCK:
        case MODE6_OP_SETTRAP:
        case MODE6_OP_UNSETTRAP:
        case MODE6_OP_CONFIGURE:
        case MODE6_OP_SAVECONFIG:
        case MODE6_OP_READ_MRU:
        case MODE6_OP_READ_ORDLIST_A:
        case MODE6_OP_REQ_NONCE:
                return true;
        default:
                return false;
        }
}

static void answer(struct responder *r, const struct view *v) {
        uint8_t opcode = r->request->opcode;

        /* No keys here: an authenticated request cannot be verified, so it is not served. */
        if (r->request->authenticated || opcode_is_refused(opcode)) {
                send_error(r, MODE6_ERR_PERMISSION);
                return;
        }
        switch (opcode) {
        case MODE6_OP_UNSPEC:
                answer_unspecified(r, v);
                break;
        case MODE6_OP_READSTAT:
                answer_read_status(r, v);
                break;
        case MODE6_OP_READVAR:
                answer_read_variables(r, v);
                break;
        case MODE6_OP_READCLOCK:
                /* No reference clocks: no association has clock variables (as NTPsec without refclocks). */
                send_error(r, MODE6_ERR_BADASSOC);
                break;
        default:
                send_error(r, MODE6_ERR_BADOP);
                break;
        }
}

size_t mode6_handle(const uint8_t *request, size_t len, const struct mode6_system *sys,
                    const struct mode6_association *assoc, size_t n_assoc, mode6_emit_func emit,
                    void *userdata) {
        struct request q;

        if (!sys || !emit || (n_assoc > 0 && !assoc))
                return 0;
        if (!parse_request(request, len, &q))
                return 0;

        struct responder r = {
                .request = &q,
                .leap = sys->leap,
                .emit = emit,
                .userdata = userdata,
        };
        struct view v = {
                .sys = sys,
                .assoc = assoc,
                .n_assoc = n_assoc,
        };
        answer(&r, &v);
        return r.sent;
}

void mode6_association_init(struct mode6_association *a) {
        *a = (struct mode6_association) {
                .srcport = 123,
                .dstport = 123,
                .hmode = 3,
                .pmode = 4,
                .configured = true,
        };
}

enum mode6_select mode6_select_from_tally(char tally) {
        switch (tally) {
        case 'x': return MODE6_SEL_FALSETICK;
        case '.': return MODE6_SEL_EXCESS;
        case '-': return MODE6_SEL_OUTLIER;
        case '+': return MODE6_SEL_CANDIDATE;
        case '#': return MODE6_SEL_BACKUP;
        case '*': return MODE6_SEL_SYSPEER;
        case 'o': return MODE6_SEL_PPS;
        default: return MODE6_SEL_REJECT;
        }
}
