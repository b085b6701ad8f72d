/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Fuzzes the client's parser of NTS-KE responses: any bytes, as the server's message. Besides the
 * sanitizers it checks what an accepted response promises: NTPv4, an offered algorithm, one to
 * eight cookies of usable lengths, a valid server name or none, a port other than 0; that it is a
 * complete message to the stream reader; that the server's builder writes it back into a message
 * that parses to the same; and that a refusal has a reason and leaves the output untouched. */

#include <string.h>

#include "fuzz.h"
#include "core/nts-ke.h"

static const uint16_t offered[] = { NTS_AEAD_AES_SIV_CMAC_256, NTS_AEAD_AES_128_GCM_SIV };

static void check_valid(const struct nts_ke_response *r) {
        fuzz_check(r->ntpv4 && r->has_aead);
        fuzz_check(r->aead == offered[0] || r->aead == offered[1]);
        fuzz_check(r->n_cookies >= 1 && r->n_cookies <= NTS_MAX_COOKIES);
        for (size_t i = 0; i < r->n_cookies; i++)
                fuzz_check(nts_cookie_length_valid(r->cookies[i].len));
        size_t server_len = strnlen(r->server, sizeof(r->server));
        fuzz_check(server_len < sizeof(r->server));
        fuzz_check(server_len == 0 || nts_ke_server_name_valid(r->server, server_len));
        fuzz_check(!r->has_port || r->port != 0);
}

static void check_same(const struct nts_ke_response *a, const struct nts_ke_response *b) {
        fuzz_check(a->aead == b->aead && a->n_cookies == b->n_cookies);
        for (size_t i = 0; i < a->n_cookies; i++) {
                fuzz_check(a->cookies[i].len == b->cookies[i].len);
                fuzz_check(memcmp(a->cookies[i].data, b->cookies[i].data, a->cookies[i].len) == 0);
        }
        fuzz_check(strcmp(a->server, b->server) == 0);
        fuzz_check(a->has_port == b->has_port && (!a->has_port || a->port == b->port));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct nts_ke_response got, again;
        static uint8_t rebuilt[NTS_KE_MAX_MESSAGE_SIZE];
        uint16_t detail = 0;
        char text[128];
        size_t len;

        memset(&got, 0x5a, sizeof(got));
        enum nts_ke_reason r = nts_ke_response_parse(data, size, offered, 2, &got, &detail);
        fuzz_check(r >= NTS_KE_OK && r < _NTS_KE_REASON_MAX);
        fuzz_check(strlen(nts_ke_reason_format(r, detail, text, sizeof(text))) < sizeof(text));
        if (r != NTS_KE_OK) {
                fuzz_check(got.n_cookies == (size_t) 0x5a5a5a5a5a5a5a5au && got.server[0] == 0x5a);
                return 0;
        }

        check_valid(&got);
        fuzz_check(nts_ke_message_scan(data, size, &len) == 1 && len == size);
        fuzz_check(nts_ke_response_build(&got, rebuilt, sizeof(rebuilt), &len) == 0);
        fuzz_check(len <= size);  /* only unknown records, extra cookies and critical bits were dropped */
        fuzz_check(nts_ke_response_parse(rebuilt, len, offered, 2, &again, NULL) == NTS_KE_OK);
        check_same(&got, &again);
        return 0;
}
