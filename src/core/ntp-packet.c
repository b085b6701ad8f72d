/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "ntp-packet.h"
#include "unaligned.h"

static bool is_mac_length(size_t n) {
        /* Key id alone (crypto-NAK), or key id + MD5 (16) or SHA-1 (20) digest. */
        return n == 4 || n == 20 || n == 24;
}

/* Walks RFC 7822 extension fields after the header, up to what can only be a MAC. An extension
 * field is at least 16 bytes, a multiple of 4, and lies inside the packet. Returns in *ret_end
 * where the fields end. */
static enum ntp_parse_error walk_extensions(const uint8_t *buf, size_t len, size_t *ret_end, uint16_t *ret_n) {
        size_t pos = NTP_HEADER_SIZE;
        uint16_t n = 0;

        while (len - pos > NTP_MAC_MAX_SIZE) {
                size_t field_len = unaligned_read_be16(buf + pos + 2);
                if (field_len < NTP_EXT_MIN_SIZE || field_len % 4 != 0 || field_len > len - pos)
                        return NTP_PARSE_BAD_EXTENSION;
                pos += field_len;
                n++;
        }
        *ret_end = pos;
        *ret_n = n;
        return NTP_PARSE_OK;
}

enum ntp_parse_error ntp_packet_parse(const uint8_t *buf, size_t len, struct ntp_packet *ret) {
        if (!buf || len < NTP_HEADER_SIZE)
                return NTP_PARSE_TOO_SHORT;
        if (len > NTP_MAX_PACKET_SIZE)
                return NTP_PARSE_TOO_LONG;
        if (len % 4 != 0)
                return NTP_PARSE_BAD_LENGTH;

        struct ntp_packet p = {
                .leap = buf[0] >> 6,
                .version = (buf[0] >> 3) & 7,
                .mode = buf[0] & 7,
                .stratum = buf[1],
                .poll = (int8_t) buf[2],
                .precision = (int8_t) buf[3],
                .root_delay = unaligned_read_be32(buf + 4),
                .root_dispersion = unaligned_read_be32(buf + 8),
                .refid = unaligned_read_be32(buf + 12),
                .reference_ts = unaligned_read_be64(buf + 16),
                .origin_ts = unaligned_read_be64(buf + 24),
                .receive_ts = unaligned_read_be64(buf + 32),
                .transmit_ts = unaligned_read_be64(buf + 40),
        };

        if (p.version < 1 || p.version > 4)
                return NTP_PARSE_BAD_VERSION;
        if (p.mode == NTP_MODE_RESERVED)
                return NTP_PARSE_BAD_MODE;

        /* Versions before 4 have no extension fields. Whatever follows the header and the extension
         * fields must be nothing or a MAC. */
        size_t end = NTP_HEADER_SIZE;
        if (p.version == 4) {
                enum ntp_parse_error e = walk_extensions(buf, len, &end, &p.n_extensions);
                if (e != NTP_PARSE_OK)
                        return e;
        }
        size_t rest = len - end;
        if (rest != 0 && !is_mac_length(rest))
                return NTP_PARSE_BAD_LENGTH;
        p.mac_length = (uint16_t) rest;

        *ret = p;
        return NTP_PARSE_OK;
}

const char *ntp_parse_error_to_string(enum ntp_parse_error e) {
        switch (e) {
        case NTP_PARSE_OK: return "ok";
        case NTP_PARSE_TOO_SHORT: return "shorter than an NTP header";
        case NTP_PARSE_TOO_LONG: return "longer than any NTP packet";
        case NTP_PARSE_BAD_VERSION: return "unsupported version";
        case NTP_PARSE_BAD_MODE: return "reserved mode";
        case NTP_PARSE_BAD_EXTENSION: return "malformed extension field";
        case NTP_PARSE_BAD_LENGTH: return "length is neither extension fields nor a MAC";
        }
        return "unknown error";
}

size_t ntp_packet_write(const struct ntp_packet *p, uint8_t buf[static NTP_HEADER_SIZE]) {
        buf[0] = (uint8_t) ((p->leap & 3) << 6 | (p->version & 7) << 3 | (p->mode & 7));
        buf[1] = p->stratum;
        buf[2] = (uint8_t) p->poll;
        buf[3] = (uint8_t) p->precision;
        unaligned_write_be32(buf + 4, p->root_delay);
        unaligned_write_be32(buf + 8, p->root_dispersion);
        unaligned_write_be32(buf + 12, p->refid);
        unaligned_write_be64(buf + 16, p->reference_ts);
        unaligned_write_be64(buf + 24, p->origin_ts);
        unaligned_write_be64(buf + 32, p->receive_ts);
        unaligned_write_be64(buf + 40, p->transmit_ts);
        return NTP_HEADER_SIZE;
}

void ntp_refid_to_ascii(uint32_t refid, char ret[static 5]) {
        for (int i = 0; i < 4; i++) {
                unsigned char c = (unsigned char) (refid >> (24 - 8 * i));
                ret[i] = c >= 0x20 && c < 0x7f ? (char) c : (c == 0 ? '\0' : '?');
        }
        ret[4] = '\0';
}

uint32_t ntp_refid_from_ascii(const char *code) {
        uint32_t v = 0;
        size_t n = code ? strnlen(code, 4) : 0;
        for (size_t i = 0; i < 4; i++)
                v = v << 8 | (i < n ? (uint8_t) code[i] : 0);
        return v;
}

static bool refid_is_text(uint32_t refid) {
        for (int shift = 24; shift >= 0; shift -= 8) {
                unsigned char c = (unsigned char) (refid >> shift);
                if (c != 0 && (c < 0x20 || c >= 0x7f))
                        return false;
        }
        return refid != 0;
}

void ntp_refid_format(uint8_t stratum, uint32_t refid, char *buf, size_t size) {
        if (refid == 0 && (stratum == 0 || stratum >= NTP_STRATUM_UNSYNC)) {
                snprintf(buf, size, "INIT");
                return;
        }
        if (stratum <= 1 && refid_is_text(refid)) {
                char code[5];
                ntp_refid_to_ascii(refid, code);
                snprintf(buf, size, "%s", code);
        } else
                snprintf(buf, size, "%u.%u.%u.%u", refid >> 24, (refid >> 16) & 0xff, (refid >> 8) & 0xff, refid & 0xff);
}
