/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The NTS Key Establishment records (RFC 8915 §4): a message is a sequence of records, each a
 * critical bit and a 15-bit type, a 16-bit body length and the body, ended by an End of Message
 * record. Both sides: the client builds a request and parses the server's response; the server
 * parses the request and builds the response (or an error). TLS and the key export live in the
 * daemon; everything parsed here is untrusted and checked against its buffer and the limits. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nts.h"

#define NTS_KE_PORT 4460
#define NTS_KE_ALPN "ntske/1"
/* RFC 5705 exporter label for the C2S and S2C keys; the context is nts_ke_exporter_context(). */
#define NTS_KE_EXPORTER_LABEL "EXPORTER-network-time-security"
#define NTS_KE_EXPORTER_CONTEXT_SIZE 5

#define NTS_KE_RECORD_HEADER_SIZE 4
#define NTS_KE_CRITICAL 0x8000
/* A message larger than this is refused without reading further (chrony's limit too). */
#define NTS_KE_MAX_MESSAGE_SIZE 16384
#define NTS_KE_MAX_SERVER_NAME 255
/* AEAD algorithms a client offers at most. */
#define NTS_KE_MAX_AEADS 8

enum nts_ke_record_type {
        NTS_KE_RECORD_END_OF_MESSAGE = 0,
        NTS_KE_RECORD_NEXT_PROTOCOL = 1,
        NTS_KE_RECORD_ERROR = 2,
        NTS_KE_RECORD_WARNING = 3,
        NTS_KE_RECORD_AEAD = 4,
        NTS_KE_RECORD_NEW_COOKIE = 5,
        NTS_KE_RECORD_SERVER = 6,
        NTS_KE_RECORD_PORT = 7,
};

#define NTS_KE_PROTOCOL_NTPV4 0

/* The codes of an Error record. */
enum nts_ke_error_code {
        NTS_KE_ERROR_UNRECOGNIZED_CRITICAL = 0,
        NTS_KE_ERROR_BAD_REQUEST = 1,
        NTS_KE_ERROR_INTERNAL = 2,
};

/* Why a message was refused. The number in *ret_detail of the parsers says more for some:
 * the record type (UNKNOWN_CRITICAL, BAD_RECORD, DUPLICATE_RECORD, RECORD_TOO_LONG,
 * UNEXPECTED_RECORD, DATA_AFTER_END), the code (SERVER_ERROR, SERVER_WARNING), the algorithm
 * the server chose (UNOFFERED_AEAD); it is 0 for the others. */
enum nts_ke_reason {
        NTS_KE_OK = 0,
        NTS_KE_MESSAGE_TOO_LONG,
        NTS_KE_TRUNCATED,
        NTS_KE_MISSING_END,
        NTS_KE_DATA_AFTER_END,
        NTS_KE_BAD_RECORD,
        NTS_KE_RECORD_TOO_LONG,
        NTS_KE_DUPLICATE_RECORD,
        NTS_KE_UNKNOWN_CRITICAL,
        NTS_KE_UNEXPECTED_RECORD,
        NTS_KE_MISSING_NEXT_PROTOCOL,
        NTS_KE_NO_COMMON_PROTOCOL,
        NTS_KE_MISSING_AEAD,
        NTS_KE_NO_COMMON_AEAD,
        NTS_KE_UNOFFERED_AEAD,
        NTS_KE_SERVER_ERROR,
        NTS_KE_SERVER_WARNING,
        NTS_KE_NO_COOKIES,
        _NTS_KE_REASON_MAX,
};

/* One record, its body pointing into the message. */
struct nts_ke_record {
        bool critical;
        uint16_t type;
        uint16_t body_len;
        const uint8_t *body;
};

/* What a client asked for, as the server understood it. */
struct nts_ke_request {
        bool ntpv4;              /* NTPv4 among the next protocols; false: answer with an empty one */
        bool has_aead;           /* false: no algorithm in common, answer with an empty AEAD record */
        uint16_t aead;           /* the first of the client's algorithms the server supports */
        char server[NTS_KE_MAX_SERVER_NAME + 1]; /* the client's suggestion, "" for none */
        bool has_port;
        uint16_t port;
};

/* A server's answer: what the server builds, what the client parsed. */
struct nts_ke_response {
        bool ntpv4;              /* false: no protocol in common (only the server builds that) */
        bool has_aead;
        uint16_t aead;
        size_t n_cookies;
        struct nts_cookie cookies[NTS_MAX_COOKIES];
        char server[NTS_KE_MAX_SERVER_NAME + 1]; /* the NTP server to use, "" for the KE server */
        bool has_port;
        uint16_t port;           /* the NTP port to use, when has_port */
};

/* The record at *pos: returns 1 and advances *pos, 0 at the end of the buffer, -EBADMSG for a
 * record that runs past it. */
int nts_ke_record_next(const uint8_t *buf, size_t len, size_t *pos, struct nts_ke_record *ret);

/* Appends a record (body may be NULL when body_len is 0); bodies longer than 65535 bytes are
 * refused (the writer overflows). */
void nts_ke_record_append(struct nts_writer *w, bool critical, uint16_t type, const void *body, size_t body_len);

/* Appends a record whose body is one 16-bit number. */
void nts_ke_record_append_u16(struct nts_writer *w, bool critical, uint16_t type, uint16_t value);

/* For a reader of a TLS stream: 1 and the length up to and with the first End of Message record
 * once the message is complete, 0 while more is needed, -EMSGSIZE once it cannot end within
 * NTS_KE_MAX_MESSAGE_SIZE. */
int nts_ke_message_scan(const uint8_t *buf, size_t len, size_t *ret_len);

/* Client: Next Protocol NTPv4, the AEAD algorithms offered (1 to NTS_KE_MAX_AEADS, preferred
 * first), End of Message. -EINVAL for a bad list, -ENOBUFS when it does not fit. */
int nts_ke_request_build(const uint16_t *aeads, size_t n_aeads, uint8_t *buf, size_t size, size_t *ret_len);

/* Server: parses a client's request against the algorithms the server supports. On failure the
 * server answers nts_ke_error_build(nts_ke_reason_error_code(reason)); *ret_detail (optional) is
 * written on failure only, *ret on success only. */
enum nts_ke_reason nts_ke_request_parse(const uint8_t *buf, size_t len, const uint16_t *supported, size_t n_supported,
                                        struct nts_ke_request *ret, uint16_t *ret_detail);

/* Server: the answer to a parsed request: the next protocol, the algorithm and the cookies, the
 * NTP server and port when set, End of Message. -EINVAL for a response that breaks the rules
 * (cookies missing, too many or of a bad length, a bad server name, port 0). */
int nts_ke_response_build(const struct nts_ke_response *response, uint8_t *buf, size_t size, size_t *ret_len);

/* Server: an Error record and End of Message. */
int nts_ke_error_build(uint16_t code, uint8_t *buf, size_t size, size_t *ret_len);

/* Client: parses the server's response against the algorithms offered. Success means NTPv4 was
 * agreed, one offered algorithm chosen and at least one usable cookie received (cookies past the
 * eighth are dropped). *ret_detail (optional) is written on failure only, *ret on success only. */
enum nts_ke_reason nts_ke_response_parse(const uint8_t *buf, size_t len, const uint16_t *offered, size_t n_offered,
                                         struct nts_ke_response *ret, uint16_t *ret_detail);

/* An NTPv4 server name as a Server Negotiation record carries it: 1 to 255 bytes of printable
 * ASCII without spaces (an address or a host name). */
bool nts_ke_server_name_valid(const char *name, size_t len);

/* The RFC 5705 exporter context of a direction's key: next protocol NTPv4, the algorithm, and
 * 0 for client-to-server, 1 for server-to-client. */
void nts_ke_exporter_context(uint16_t aead, bool s2c, uint8_t ret[static NTS_KE_EXPORTER_CONTEXT_SIZE]);

const char *nts_ke_reason_to_string(enum nts_ke_reason reason);
const char *nts_ke_record_type_to_string(uint16_t type);
const char *nts_ke_error_code_to_string(uint16_t code);

/* The code of the Error record a server answers a refused request with. */
uint16_t nts_ke_reason_error_code(enum nts_ke_reason reason);

/* The reason with its detail, e.g. "server sent error 1 (bad request)"; returns buf. */
char *nts_ke_reason_format(enum nts_ke_reason reason, uint16_t detail, char *buf, size_t size);
