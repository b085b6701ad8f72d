/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The NTP packet (RFC 5905 §7.3) with extension fields (RFC 7822) and an optional trailing MAC.
 * Parsing never trusts a length it has not checked against the buffer. */

#include <stddef.h>
#include <stdint.h>

#include "ntp-time.h"

#define NTP_HEADER_SIZE 48
#define NTP_MAX_PACKET_SIZE 1024
#define NTP_EXT_MIN_SIZE 16
#define NTP_MAC_MAX_SIZE 24 /* key id + up to 160-bit digest */

enum ntp_leap {
        NTP_LEAP_NONE = 0,
        NTP_LEAP_INSERT = 1,
        NTP_LEAP_DELETE = 2,
        NTP_LEAP_UNSYNC = 3,
};

enum ntp_mode {
        NTP_MODE_RESERVED = 0,
        NTP_MODE_SYMMETRIC_ACTIVE = 1,
        NTP_MODE_SYMMETRIC_PASSIVE = 2,
        NTP_MODE_CLIENT = 3,
        NTP_MODE_SERVER = 4,
        NTP_MODE_BROADCAST = 5,
        NTP_MODE_CONTROL = 6,
        NTP_MODE_PRIVATE = 7,
};

#define NTP_STRATUM_KOD 0
#define NTP_STRATUM_UNSYNC 16

struct ntp_packet {
        uint8_t leap;
        uint8_t version;
        uint8_t mode;
        uint8_t stratum;
        int8_t poll;
        int8_t precision;
        ntp_short root_delay;
        ntp_short root_dispersion;
        uint32_t refid;          /* host byte order; KoD codes and IPv4 refids read as big-endian text */
        ntp_ts reference_ts;
        ntp_ts origin_ts;
        ntp_ts receive_ts;
        ntp_ts transmit_ts;
        uint16_t n_extensions;   /* extension fields walked and found well-formed */
        uint16_t mac_length;     /* 0, or the length of the trailing MAC (key id included) */
};

enum ntp_parse_error {
        NTP_PARSE_OK = 0,
        NTP_PARSE_TOO_SHORT,
        NTP_PARSE_TOO_LONG,
        NTP_PARSE_BAD_VERSION,
        NTP_PARSE_BAD_MODE,
        NTP_PARSE_BAD_EXTENSION,
        NTP_PARSE_BAD_LENGTH,
};

/* Fills *ret only on success. */
enum ntp_parse_error ntp_packet_parse(const uint8_t *buf, size_t len, struct ntp_packet *ret);
const char *ntp_parse_error_to_string(enum ntp_parse_error e);

/* Writes the 48-byte header; returns NTP_HEADER_SIZE. */
size_t ntp_packet_write(const struct ntp_packet *p, uint8_t buf[static NTP_HEADER_SIZE]);

/* Four ASCII characters of a refid (KoD code, reference clock name), '?' for anything unprintable. */
void ntp_refid_to_ascii(uint32_t refid, char ret[static 5]);
uint32_t ntp_refid_from_ascii(const char *code);

/* A refid as ntpq shows it: the ASCII code of a stratum 0/1 reference, "INIT" for a source not
 * heard from yet, else a dotted quad. */
void ntp_refid_format(uint8_t stratum, uint32_t refid, char *buf, size_t size);
