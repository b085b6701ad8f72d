/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nts-ke.h"
#include "unaligned.h"

/* A record handler of one side: checks and takes one record other than End of Message. */
typedef enum nts_ke_reason (*record_handler)(void *state, const struct nts_ke_record *r, uint16_t *ret_detail);

/* What the two sides keep while parsing: the records seen once already. */
struct seen {
        bool protocol, aead, server, port;
};

struct request_state {
        const uint16_t *supported;
        size_t n_supported;
        struct nts_ke_request request;
        struct seen seen;
};

struct response_state {
        const uint16_t *offered;
        size_t n_offered;
        struct nts_ke_response response;
        struct seen seen;
};

int nts_ke_record_next(const uint8_t *buf, size_t len, size_t *pos, struct nts_ke_record *ret) {
        if (*pos >= len)
                return 0;
        if (len - *pos < NTS_KE_RECORD_HEADER_SIZE)
                return -EBADMSG;

        const uint8_t *p = buf + *pos;
        uint16_t body_len = unaligned_read_be16(p + 2);
        if (body_len > len - *pos - NTS_KE_RECORD_HEADER_SIZE)
                return -EBADMSG;

        *ret = (struct nts_ke_record) {
                .critical = p[0] & 0x80,
                .type = unaligned_read_be16(p) & ~NTS_KE_CRITICAL,
                .body_len = body_len,
                .body = p + NTS_KE_RECORD_HEADER_SIZE,
        };
        *pos += NTS_KE_RECORD_HEADER_SIZE + body_len;
        return 1;
}

void nts_ke_record_append(struct nts_writer *w, bool critical, uint16_t type, const void *body, size_t body_len) {
        if (body_len > UINT16_MAX || type >= NTS_KE_CRITICAL) {
                w->overflow = true;
                return;
        }
        nts_writer_put_u16(w, (uint16_t) (type | (critical ? NTS_KE_CRITICAL : 0)));
        nts_writer_put_u16(w, (uint16_t) body_len);
        nts_writer_put(w, body, body_len);
}

void nts_ke_record_append_u16(struct nts_writer *w, bool critical, uint16_t type, uint16_t value) {
        uint8_t body[2];

        unaligned_write_be16(body, value);
        nts_ke_record_append(w, critical, type, body, sizeof(body));
}

static void append_end(struct nts_writer *w) {
        nts_ke_record_append(w, true, NTS_KE_RECORD_END_OF_MESSAGE, NULL, 0);
}

static int writer_finish(const struct nts_writer *w, size_t *ret_len) {
        if (w->overflow)
                return -ENOBUFS;
        *ret_len = w->len;
        return 0;
}

int nts_ke_message_scan(const uint8_t *buf, size_t len, size_t *ret_len) {
        size_t pos = 0;
        struct nts_ke_record r;

        while (nts_ke_record_next(buf, len, &pos, &r) > 0) {
                if (pos > NTS_KE_MAX_MESSAGE_SIZE)
                        return -EMSGSIZE;
                if (r.type == NTS_KE_RECORD_END_OF_MESSAGE) {
                        *ret_len = pos;
                        return 1;
                }
        }
        /* A partial record whose header is in already says how far the message goes at least. */
        if (len - pos >= NTS_KE_RECORD_HEADER_SIZE &&
            pos + NTS_KE_RECORD_HEADER_SIZE + unaligned_read_be16(buf + pos + 2) > NTS_KE_MAX_MESSAGE_SIZE)
                return -EMSGSIZE;
        return len >= NTS_KE_MAX_MESSAGE_SIZE ? -EMSGSIZE : 0;
}

static bool reason_names_record(enum nts_ke_reason reason) {
        switch (reason) {
        case NTS_KE_DATA_AFTER_END:
        case NTS_KE_BAD_RECORD:
        case NTS_KE_RECORD_TOO_LONG:
        case NTS_KE_DUPLICATE_RECORD:
        case NTS_KE_UNKNOWN_CRITICAL:
        case NTS_KE_UNEXPECTED_RECORD:
                return true;
        default:
                return false;
        }
}

/* The detail a refusal reports: only for the reasons that have one. */
static uint16_t reason_detail(enum nts_ke_reason reason, uint16_t detail) {
        switch (reason) {
        case NTS_KE_SERVER_ERROR:
        case NTS_KE_SERVER_WARNING:
        case NTS_KE_UNOFFERED_AEAD:
                return detail;
        default:
                return reason_names_record(reason) ? detail : 0;
        }
}

/* The records common to both directions: End of Message, and its place at the end. */
static enum nts_ke_reason walk_message(const uint8_t *buf, size_t len, record_handler handle, void *state,
                                       uint16_t *ret_detail) {
        struct nts_ke_record r;
        size_t pos = 0;
        bool ended = false;
        int k;

        if (len > NTS_KE_MAX_MESSAGE_SIZE)
                return NTS_KE_MESSAGE_TOO_LONG;

        while ((k = nts_ke_record_next(buf, len, &pos, &r)) > 0) {
                *ret_detail = r.type;
                if (ended)
                        return NTS_KE_DATA_AFTER_END;
                if (r.type == NTS_KE_RECORD_END_OF_MESSAGE) {
                        if (!r.critical || r.body_len != 0)
                                return NTS_KE_BAD_RECORD;
                        ended = true;
                        continue;
                }
                enum nts_ke_reason reason = handle(state, &r, ret_detail);
                if (reason != NTS_KE_OK)
                        return reason;
        }
        if (k < 0)
                return NTS_KE_TRUNCATED;
        return ended ? NTS_KE_OK : NTS_KE_MISSING_END;
}

bool nts_ke_server_name_valid(const char *name, size_t len) {
        if (len == 0 || len > NTS_KE_MAX_SERVER_NAME)
                return false;
        for (size_t i = 0; i < len; i++)
                if (name[i] <= ' ' || name[i] > '~')
                        return false;
        return true;
}

/* The NTPv4 Server Negotiation record: an address or host name, printable ASCII without spaces. */
static enum nts_ke_reason take_server(const struct nts_ke_record *r, bool *seen, char ret[static NTS_KE_MAX_SERVER_NAME + 1]) {
        if (*seen)
                return NTS_KE_DUPLICATE_RECORD;
        if (r->body_len > NTS_KE_MAX_SERVER_NAME)
                return NTS_KE_RECORD_TOO_LONG;
        if (!nts_ke_server_name_valid((const char *) r->body, r->body_len))
                return NTS_KE_BAD_RECORD;
        memcpy(ret, r->body, r->body_len);
        ret[r->body_len] = '\0';
        *seen = true;
        return NTS_KE_OK;
}

static enum nts_ke_reason take_port(const struct nts_ke_record *r, bool *seen, uint16_t *ret) {
        if (*seen)
                return NTS_KE_DUPLICATE_RECORD;
        if (r->body_len != 2 || unaligned_read_be16(r->body) == 0)
                return NTS_KE_BAD_RECORD;
        *ret = unaligned_read_be16(r->body);
        *seen = true;
        return NTS_KE_OK;
}

/* What both directions treat alike: the server and port (a suggestion from a client, the answer
 * from a server), and records nobody knows, ignored unless critical. */
static enum nts_ke_reason take_common(const struct nts_ke_record *r, struct seen *seen,
                                      char server[static NTS_KE_MAX_SERVER_NAME + 1], uint16_t *port) {
        switch (r->type) {
        case NTS_KE_RECORD_SERVER:
                return take_server(r, &seen->server, server);
        case NTS_KE_RECORD_PORT:
                return take_port(r, &seen->port, port);
        default:
                return r->critical ? NTS_KE_UNKNOWN_CRITICAL : NTS_KE_OK;
        }
}

/* After the walk: the records a message cannot do without. */
static enum nts_ke_reason check_required(enum nts_ke_reason reason, const struct seen *seen, bool aead_required) {
        if (reason != NTS_KE_OK)
                return reason;
        if (!seen->protocol)
                return NTS_KE_MISSING_NEXT_PROTOCOL;
        if (aead_required && !seen->aead)
                return NTS_KE_MISSING_AEAD;
        return NTS_KE_OK;
}

/* A list of 16-bit values: at least one, whole. */
static bool is_u16_list(const struct nts_ke_record *r) {
        return r->body_len > 0 && r->body_len % 2 == 0;
}

static bool contains(const uint16_t *list, size_t n, uint16_t value) {
        for (size_t i = 0; i < n; i++)
                if (list[i] == value)
                        return true;
        return false;
}

int nts_ke_request_build(const uint16_t *aeads, size_t n_aeads, uint8_t *buf, size_t size, size_t *ret_len) {
        uint8_t body[2 * NTS_KE_MAX_AEADS];
        struct nts_writer w = { .buf = buf, .size = size };

        if (n_aeads == 0 || n_aeads > NTS_KE_MAX_AEADS)
                return -EINVAL;
        for (size_t i = 0; i < n_aeads; i++)
                unaligned_write_be16(body + 2 * i, aeads[i]);

        nts_ke_record_append_u16(&w, true, NTS_KE_RECORD_NEXT_PROTOCOL, NTS_KE_PROTOCOL_NTPV4);
        nts_ke_record_append(&w, true, NTS_KE_RECORD_AEAD, body, 2 * n_aeads);
        append_end(&w);
        return writer_finish(&w, ret_len);
}

static enum nts_ke_reason request_next_protocol(struct request_state *s, const struct nts_ke_record *r) {
        if (s->seen.protocol)
                return NTS_KE_DUPLICATE_RECORD;
        if (!r->critical || !is_u16_list(r))
                return NTS_KE_BAD_RECORD;
        s->seen.protocol = true;
        for (size_t i = 0; i < r->body_len; i += 2)
                if (unaligned_read_be16(r->body + i) == NTS_KE_PROTOCOL_NTPV4)
                        s->request.ntpv4 = true;
        return NTS_KE_OK;
}

/* Takes the first of the client's algorithms (its order is its preference) that we support. */
static enum nts_ke_reason request_aead(struct request_state *s, const struct nts_ke_record *r) {
        if (s->seen.aead)
                return NTS_KE_DUPLICATE_RECORD;
        if (!is_u16_list(r))
                return NTS_KE_BAD_RECORD;
        s->seen.aead = true;
        for (size_t i = 0; i < r->body_len && !s->request.has_aead; i += 2) {
                uint16_t aead = unaligned_read_be16(r->body + i);
                if (contains(s->supported, s->n_supported, aead)) {
                        s->request.aead = aead;
                        s->request.has_aead = true;
                }
        }
        return NTS_KE_OK;
}

static enum nts_ke_reason request_record(void *state, const struct nts_ke_record *r, uint16_t *ret_detail) {
        struct request_state *s = state;

        switch (r->type) {
        case NTS_KE_RECORD_NEXT_PROTOCOL:
                return request_next_protocol(s, r);
        case NTS_KE_RECORD_AEAD:
                return request_aead(s, r);
        case NTS_KE_RECORD_ERROR:
        case NTS_KE_RECORD_WARNING:
        case NTS_KE_RECORD_NEW_COOKIE:
                return NTS_KE_UNEXPECTED_RECORD;
        default:
                return take_common(r, &s->seen, s->request.server, &s->request.port);
        }
}

enum nts_ke_reason nts_ke_request_parse(const uint8_t *buf, size_t len, const uint16_t *supported, size_t n_supported,
                                        struct nts_ke_request *ret, uint16_t *ret_detail) {
        struct request_state s = { .supported = supported, .n_supported = n_supported };
        uint16_t detail = 0;

        enum nts_ke_reason reason = walk_message(buf, len, request_record, &s, &detail);
        /* A client that does not ask for NTPv4 has no algorithm to offer for it. */
        reason = check_required(reason, &s.seen, s.request.ntpv4);
        if (reason != NTS_KE_OK) {
                if (ret_detail)
                        *ret_detail = reason_detail(reason, detail);
                return reason;
        }
        /* Without NTPv4 there is nothing to agree an algorithm for. */
        if (!s.request.ntpv4)
                s.request.has_aead = false;
        s.request.has_port = s.seen.port;
        *ret = s.request;
        return NTS_KE_OK;
}

static bool response_valid(const struct nts_ke_response *r) {
        if (!r->ntpv4 || !r->has_aead)
                return true;  /* a refusal carries nothing else */
        if (r->n_cookies == 0 || r->n_cookies > NTS_MAX_COOKIES)
                return false;
        for (size_t i = 0; i < r->n_cookies; i++)
                if (!nts_cookie_length_valid(r->cookies[i].len))
                        return false;
        size_t server_len = strnlen(r->server, sizeof(r->server));
        if (server_len == sizeof(r->server) || (server_len > 0 && !nts_ke_server_name_valid(r->server, server_len)))
                return false;
        return !r->has_port || r->port != 0;
}

/* No protocol in common: an empty Next Protocol record; no algorithm: an empty AEAD record. */
int nts_ke_response_build(const struct nts_ke_response *r, uint8_t *buf, size_t size, size_t *ret_len) {
        struct nts_writer w = { .buf = buf, .size = size };

        if (!response_valid(r))
                return -EINVAL;

        if (!r->ntpv4)
                nts_ke_record_append(&w, true, NTS_KE_RECORD_NEXT_PROTOCOL, NULL, 0);
        else if (!r->has_aead) {
                nts_ke_record_append_u16(&w, true, NTS_KE_RECORD_NEXT_PROTOCOL, NTS_KE_PROTOCOL_NTPV4);
                nts_ke_record_append(&w, true, NTS_KE_RECORD_AEAD, NULL, 0);
        } else {
                nts_ke_record_append_u16(&w, true, NTS_KE_RECORD_NEXT_PROTOCOL, NTS_KE_PROTOCOL_NTPV4);
                nts_ke_record_append_u16(&w, true, NTS_KE_RECORD_AEAD, r->aead);
                for (size_t i = 0; i < r->n_cookies; i++)
                        nts_ke_record_append(&w, false, NTS_KE_RECORD_NEW_COOKIE, r->cookies[i].data, r->cookies[i].len);
                if (r->server[0])
                        nts_ke_record_append(&w, true, NTS_KE_RECORD_SERVER, r->server, strlen(r->server));
                if (r->has_port)
                        nts_ke_record_append_u16(&w, true, NTS_KE_RECORD_PORT, r->port);
        }
        append_end(&w);
        return writer_finish(&w, ret_len);
}

int nts_ke_error_build(uint16_t code, uint8_t *buf, size_t size, size_t *ret_len) {
        struct nts_writer w = { .buf = buf, .size = size };

        nts_ke_record_append_u16(&w, true, NTS_KE_RECORD_ERROR, code);
        append_end(&w);
        return writer_finish(&w, ret_len);
}

/* The server names exactly one protocol, which must be NTPv4; an empty record says none. */
static enum nts_ke_reason response_next_protocol(struct response_state *s, const struct nts_ke_record *r) {
        if (s->seen.protocol)
                return NTS_KE_DUPLICATE_RECORD;
        if (!r->critical || r->body_len % 2 != 0 || r->body_len > 2)
                return NTS_KE_BAD_RECORD;
        s->seen.protocol = true;
        if (r->body_len == 0 || unaligned_read_be16(r->body) != NTS_KE_PROTOCOL_NTPV4)
                return NTS_KE_NO_COMMON_PROTOCOL;
        s->response.ntpv4 = true;
        return NTS_KE_OK;
}

static enum nts_ke_reason response_aead(struct response_state *s, const struct nts_ke_record *r, uint16_t *ret_detail) {
        if (s->seen.aead)
                return NTS_KE_DUPLICATE_RECORD;
        if (r->body_len == 0)
                return NTS_KE_NO_COMMON_AEAD;
        if (r->body_len != 2)
                return NTS_KE_BAD_RECORD;
        s->seen.aead = true;
        *ret_detail = unaligned_read_be16(r->body);
        if (!contains(s->offered, s->n_offered, *ret_detail))
                return NTS_KE_UNOFFERED_AEAD;
        s->response.aead = *ret_detail;
        s->response.has_aead = true;
        return NTS_KE_OK;
}

/* Cookies beyond the eighth are dropped: the server should not send them, and we cannot use them. */
static enum nts_ke_reason response_cookie(struct response_state *s, const struct nts_ke_record *r) {
        if (r->body_len > NTS_COOKIE_MAX_SIZE)
                return NTS_KE_RECORD_TOO_LONG;
        if (!nts_cookie_length_valid(r->body_len))
                return NTS_KE_BAD_RECORD;
        if (s->response.n_cookies == NTS_MAX_COOKIES)
                return NTS_KE_OK;

        struct nts_cookie *c = &s->response.cookies[s->response.n_cookies++];
        c->len = r->body_len;
        memcpy(c->data, r->body, r->body_len);
        return NTS_KE_OK;
}

/* An Error or Warning record: a 16-bit code. No warning codes are defined, and an unknown one
 * counts as an error (RFC 8915 §4.1.4). */
static enum nts_ke_reason response_code(const struct nts_ke_record *r, enum nts_ke_reason reason, uint16_t *ret_detail) {
        if (r->body_len != 2)
                return NTS_KE_BAD_RECORD;
        *ret_detail = unaligned_read_be16(r->body);
        return reason;
}

static enum nts_ke_reason response_record(void *state, const struct nts_ke_record *r, uint16_t *ret_detail) {
        struct response_state *s = state;

        switch (r->type) {
        case NTS_KE_RECORD_NEXT_PROTOCOL:
                return response_next_protocol(s, r);
        case NTS_KE_RECORD_ERROR:
                return response_code(r, NTS_KE_SERVER_ERROR, ret_detail);
        case NTS_KE_RECORD_WARNING:
                return response_code(r, NTS_KE_SERVER_WARNING, ret_detail);
        case NTS_KE_RECORD_AEAD:
                return response_aead(s, r, ret_detail);
        case NTS_KE_RECORD_NEW_COOKIE:
                return response_cookie(s, r);
        default:
                return take_common(r, &s->seen, s->response.server, &s->response.port);
        }
}

enum nts_ke_reason nts_ke_response_parse(const uint8_t *buf, size_t len, const uint16_t *offered, size_t n_offered,
                                         struct nts_ke_response *ret, uint16_t *ret_detail) {
        /* Large (eight cookies): kept off the caller's struct until it is known to be good. */
        struct response_state s = { .offered = offered, .n_offered = n_offered };
        uint16_t detail = 0;

        enum nts_ke_reason reason = check_required(walk_message(buf, len, response_record, &s, &detail), &s.seen, true);
        if (reason == NTS_KE_OK && s.response.n_cookies == 0)
                reason = NTS_KE_NO_COOKIES;
        if (reason != NTS_KE_OK) {
                if (ret_detail)
                        *ret_detail = reason_detail(reason, detail);
                nts_wipe(&s.response, sizeof(s.response));
                return reason;
        }
        s.response.has_port = s.seen.port;
        *ret = s.response;
        nts_wipe(&s.response, sizeof(s.response));
        return NTS_KE_OK;
}

void nts_ke_exporter_context(uint16_t aead, bool s2c, uint8_t ret[static NTS_KE_EXPORTER_CONTEXT_SIZE]) {
        unaligned_write_be16(ret, NTS_KE_PROTOCOL_NTPV4);
        unaligned_write_be16(ret + 2, aead);
        ret[4] = s2c ? 1 : 0;
}

static const char *const reason_strings[_NTS_KE_REASON_MAX] = {
        [NTS_KE_OK] = "ok",
        [NTS_KE_MESSAGE_TOO_LONG] = "message too long",
        [NTS_KE_TRUNCATED] = "truncated record",
        [NTS_KE_MISSING_END] = "missing end of message",
        [NTS_KE_DATA_AFTER_END] = "data after end of message",
        [NTS_KE_BAD_RECORD] = "malformed record",
        [NTS_KE_RECORD_TOO_LONG] = "record too long",
        [NTS_KE_DUPLICATE_RECORD] = "duplicate record",
        [NTS_KE_UNKNOWN_CRITICAL] = "unknown critical record",
        [NTS_KE_UNEXPECTED_RECORD] = "record not allowed in this message",
        [NTS_KE_MISSING_NEXT_PROTOCOL] = "missing next protocol negotiation",
        [NTS_KE_NO_COMMON_PROTOCOL] = "no common next protocol",
        [NTS_KE_MISSING_AEAD] = "missing AEAD algorithm negotiation",
        [NTS_KE_NO_COMMON_AEAD] = "no common AEAD",
        [NTS_KE_UNOFFERED_AEAD] = "server chose an AEAD that was not offered",
        [NTS_KE_SERVER_ERROR] = "server sent an error",
        [NTS_KE_SERVER_WARNING] = "server sent a warning",
        [NTS_KE_NO_COOKIES] = "no cookies",
};

const char *nts_ke_reason_to_string(enum nts_ke_reason reason) {
        if ((unsigned) reason >= _NTS_KE_REASON_MAX)
                return "unknown reason";
        return reason_strings[reason];
}

const char *nts_ke_record_type_to_string(uint16_t type) {
        switch (type) {
        case NTS_KE_RECORD_END_OF_MESSAGE: return "End of Message";
        case NTS_KE_RECORD_NEXT_PROTOCOL: return "NTS Next Protocol Negotiation";
        case NTS_KE_RECORD_ERROR: return "Error";
        case NTS_KE_RECORD_WARNING: return "Warning";
        case NTS_KE_RECORD_AEAD: return "AEAD Algorithm Negotiation";
        case NTS_KE_RECORD_NEW_COOKIE: return "New Cookie for NTPv4";
        case NTS_KE_RECORD_SERVER: return "NTPv4 Server Negotiation";
        case NTS_KE_RECORD_PORT: return "NTPv4 Port Negotiation";
        default: return NULL;
        }
}

const char *nts_ke_error_code_to_string(uint16_t code) {
        switch (code) {
        case NTS_KE_ERROR_UNRECOGNIZED_CRITICAL: return "unrecognized critical record";
        case NTS_KE_ERROR_BAD_REQUEST: return "bad request";
        case NTS_KE_ERROR_INTERNAL: return "internal server error";
        default: return "unknown error code";
        }
}

uint16_t nts_ke_reason_error_code(enum nts_ke_reason reason) {
        return reason == NTS_KE_UNKNOWN_CRITICAL ? NTS_KE_ERROR_UNRECOGNIZED_CRITICAL : NTS_KE_ERROR_BAD_REQUEST;
}

char *nts_ke_reason_format(enum nts_ke_reason reason, uint16_t detail, char *buf, size_t size) {
        const char *text = nts_ke_reason_to_string(reason);

        if (size == 0)
                return buf;
        if (reason == NTS_KE_SERVER_ERROR)
                snprintf(buf, size, "server sent error %u (%s)", detail, nts_ke_error_code_to_string(detail));
        else if (reason == NTS_KE_SERVER_WARNING)
                snprintf(buf, size, "server sent warning %u", detail);
        else if (reason == NTS_KE_UNOFFERED_AEAD)
                snprintf(buf, size, "%s (%u)", text, detail);
        else if (reason_names_record(reason) && nts_ke_record_type_to_string(detail))
                snprintf(buf, size, "%s (%s)", text, nts_ke_record_type_to_string(detail));
        else if (reason_names_record(reason))
                snprintf(buf, size, "%s (type %u)", text, detail);
        else
                snprintf(buf, size, "%s", text);
        return buf;
}
