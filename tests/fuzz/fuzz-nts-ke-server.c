/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Fuzzes the server's parser of NTS-KE requests: any bytes, as a client's message. Besides the
 * sanitizers it checks the whole answer: a refused request gets an Error record with the code its
 * reason calls for, which the client reads as that error; an accepted one gets the response its
 * result calls for (eight cookies, or an empty Next Protocol or AEAD record when nothing is in
 * common), which the client accepts or refuses for exactly that reason. */

#include <string.h>

#include "fuzz.h"
#include "core/nts-ke.h"

static const uint16_t supported[] = { NTS_AEAD_AES_SIV_CMAC_256 };

static void check_request(const struct nts_ke_request *req) {
        fuzz_check(!req->has_aead || (req->ntpv4 && req->aead == NTS_AEAD_AES_SIV_CMAC_256));
        size_t server_len = strnlen(req->server, sizeof(req->server));
        fuzz_check(server_len < sizeof(req->server));
        fuzz_check(server_len == 0 || nts_ke_server_name_valid(req->server, server_len));
        fuzz_check(!req->has_port || req->port != 0);
}

static void answer_error(enum nts_ke_reason reason) {
        uint8_t buf[64];
        struct nts_ke_response resp;
        uint16_t code = nts_ke_reason_error_code(reason), got = 0xffff;
        size_t len;

        fuzz_check(code == NTS_KE_ERROR_UNRECOGNIZED_CRITICAL || code == NTS_KE_ERROR_BAD_REQUEST);
        fuzz_check(nts_ke_error_build(code, buf, sizeof(buf), &len) == 0);
        fuzz_check(nts_ke_response_parse(buf, len, supported, 1, &resp, &got) == NTS_KE_SERVER_ERROR);
        fuzz_check(got == code);
}

static void answer(const struct nts_ke_request *req) {
        static struct nts_ke_response resp, got;
        static uint8_t buf[4096];
        size_t len;

        memset(&resp, 0, sizeof(resp));
        resp.ntpv4 = req->ntpv4;
        resp.has_aead = req->has_aead;
        resp.aead = req->aead;
        resp.n_cookies = NTS_MAX_COOKIES;
        for (size_t i = 0; i < NTS_MAX_COOKIES; i++) {
                resp.cookies[i].len = 104;
                memset(resp.cookies[i].data, (int) i, 104);
        }
        fuzz_check(nts_ke_response_build(&resp, buf, sizeof(buf), &len) == 0);

        enum nts_ke_reason r = nts_ke_response_parse(buf, len, supported, 1, &got, NULL);
        if (!req->ntpv4)
                fuzz_check(r == NTS_KE_NO_COMMON_PROTOCOL);
        else if (!req->has_aead)
                fuzz_check(r == NTS_KE_NO_COMMON_AEAD);
        else
                fuzz_check(r == NTS_KE_OK && got.n_cookies == NTS_MAX_COOKIES && got.aead == req->aead);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct nts_ke_request req;
        uint16_t detail = 0;
        char text[128];

        memset(&req, 0x5a, sizeof(req));
        enum nts_ke_reason r = nts_ke_request_parse(data, size, supported, 1, &req, &detail);
        fuzz_check(r >= NTS_KE_OK && r < _NTS_KE_REASON_MAX);
        fuzz_check(strlen(nts_ke_reason_format(r, detail, text, sizeof(text))) < sizeof(text));
        if (r != NTS_KE_OK) {
                fuzz_check(req.server[0] == 0x5a);
                answer_error(r);
                return 0;
        }
        check_request(&req);
        answer(&req);
        return 0;
}
