/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the metrics endpoint's request parser: a verdict for any bytes, "read on" only below the
 * size limit, a verdict that bytes arriving later never change, and the metrics served only to
 * a request that asked for them. */

#include <stdlib.h>
#include <string.h>

#include "core/http-request.h"
#include "fuzz.h"

static bool starts_with(const uint8_t *data, size_t size, const char *prefix) {
        size_t n = strlen(prefix);
        return size >= n && memcmp(data, prefix, n) == 0;
}

static bool has_empty_line(const uint8_t *data, size_t size) {
        for (size_t i = 0; i + 1 < size; i++)
                if (data[i] == '\n' && (data[i + 1] == '\n' || (i + 2 < size && data[i + 1] == '\r' && data[i + 2] == '\n')))
                        return true;
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* A copy of exactly size bytes: a read beyond it is the sanitizer's to catch. */
        uint8_t *copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);

        struct http_request r = { .head = false };
        enum http_request_verdict v = http_request_parse(copy, size, &r);
        fuzz_check((unsigned) v < _HTTP_REQUEST_VERDICT_MAX);
        fuzz_check(v != HTTP_REQUEST_INCOMPLETE || size < HTTP_REQUEST_MAX);
        if (v != HTTP_REQUEST_INCOMPLETE) {
                fuzz_check(http_request_verdict_status(v) >= 200 && http_request_verdict_reason(v));
        }
        if (v == HTTP_REQUEST_METRICS || v == HTTP_REQUEST_NOT_FOUND || v == HTTP_REQUEST_BAD_METHOD)
                fuzz_check(has_empty_line(copy, size));
        if (v == HTTP_REQUEST_METRICS) {
                fuzz_check(starts_with(copy, size, "GET /metrics") || starts_with(copy, size, "HEAD /metrics"));
                fuzz_check(r.head == starts_with(copy, size, "HEAD "));
        }

        /* Judged on a prefix already: the rest changes nothing. */
        for (size_t k = 0; k < size; k += 1 + size / 16) {
                struct http_request early;
                enum http_request_verdict w = http_request_parse(copy, k, &early);
                fuzz_check(w == HTTP_REQUEST_INCOMPLETE || w == v);
        }
        free(copy);
        return 0;
}
