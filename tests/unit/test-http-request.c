/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for http_request_parse() (src/core/http-request.c): what a scraper sends is served,
 * other paths and methods get 404 and 405, anything malformed 400, and a request is judged only
 * once its empty line is there, never beyond HTTP_REQUEST_MAX bytes. */

#include <string.h>

#include "core/http-request.h"
#include "unit-test.h"

static enum http_request_verdict parse_text(const char *text, struct http_request *ret) {
        return http_request_parse((const uint8_t *) text, strlen(text), ret);
}

static void assert_verdict(const char *text, enum http_request_verdict expected) {
        struct http_request r;
        enum http_request_verdict v = parse_text(text, &r);
        if (v != expected) {
                print_error("verdict %d, expected %d, for \"%s\"\n", v, expected, text);
                fail();
        }
}

static void test_scrapes(void **state) {
        struct http_request r = { .head = true };
        /* What Prometheus sends, abridged. */
        assert_int_equal(parse_text("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9123\r\nUser-Agent: Prometheus/2.42.0\r\n"
                                    "Accept: application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4\r\n"
                                    "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n",
                                    &r),
                         HTTP_REQUEST_METRICS);
        assert_false(r.head);
        assert_verdict("GET /metrics HTTP/1.0\r\n\r\n", HTTP_REQUEST_METRICS);
        assert_verdict("GET /metrics?name[]=x HTTP/1.1\r\nhost: localhost\r\n\r\n", HTTP_REQUEST_METRICS);
        /* A line may end in LF alone. */
        assert_verdict("GET /metrics HTTP/1.1\nHost: x\n\n", HTTP_REQUEST_METRICS);
        assert_int_equal(parse_text("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &r), HTTP_REQUEST_METRICS);
        assert_true(r.head);
}

static void test_incomplete(void **state) {
        assert_verdict("", HTTP_REQUEST_INCOMPLETE);
        assert_verdict("GET /metr", HTTP_REQUEST_INCOMPLETE);
        assert_verdict("GET /metrics HTTP/1.1\r\n", HTTP_REQUEST_INCOMPLETE);
        assert_verdict("GET /metrics HTTP/1.1\r\nHost: x\r\n", HTTP_REQUEST_INCOMPLETE);
        assert_verdict("GET /metrics HTTP/1.1\r\nHost: x\r\n\r", HTTP_REQUEST_INCOMPLETE);
}

static void test_not_found_and_bad_method(void **state) {
        assert_verdict("GET / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_REQUEST_NOT_FOUND);
        assert_verdict("GET /metrics/ HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_REQUEST_NOT_FOUND);
        assert_verdict("GET /Metrics HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_REQUEST_NOT_FOUND);
        assert_verdict("GET /metricsX HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_REQUEST_NOT_FOUND);
        assert_verdict("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", HTTP_REQUEST_BAD_METHOD);
        assert_verdict("get /metrics HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_REQUEST_BAD_METHOD);
        assert_verdict("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_REQUEST_BAD_METHOD);
}

static void test_malformed(void **state) {
        static const char *const bad[] = {
                "\r\n",
                "GET\r\n\r\n",
                "GET /metrics\r\n\r\n",
                "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /metrics  HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n",
                "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",
                "GET /metrics http/1.1\r\nHost: x\r\n\r\n",
                "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                "G(T /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                /* HTTP/1.1 needs one Host, never two */
                "GET /metrics HTTP/1.1\r\n\r\n",
                "GET /metrics HTTP/1.1\r\nHost: x\r\nHOST: y\r\n\r\n",
                "GET /metrics HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n",
                /* fields */
                "GET /metrics HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n",
                "GET /metrics HTTP/1.1\r\nHost: x\r\nName : v\r\n\r\n",
                "GET /metrics HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n",
                "GET /metrics HTTP/1.1\r\nHost: x\r\nA: v\r\n folded\r\n\r\n",
                "GET /metrics HTTP/1.1\r\nHost: x\r\nA: v\rw\r\n\r\n",
                "GET /metrics HTTP/1.1\r\nHost: x\r\nA: \x01\r\n\r\n",
                "GET /metr\177cs HTTP/1.1\r\nHost: x\r\n\r\n", /* DEL in the path */
                "GET /metrics HTTP/1.1\r\r\nHost: x\r\n\r\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_verdict(bad[i], HTTP_REQUEST_BAD);
        /* A NUL is no character of a request. */
        static const uint8_t nul[] = "GET /metrics HTTP/1.1\r\nHost: x\0y\r\n\r\n";
        struct http_request r;
        assert_int_equal(http_request_parse(nul, sizeof(nul) - 1, &r), HTTP_REQUEST_BAD);
}

/* The buffer is HTTP_REQUEST_MAX bytes: a request that does not end within it is refused. */
static void test_size_limit(void **state) {
        static uint8_t buf[HTTP_REQUEST_MAX + 64];
        struct http_request r;
        const char *start = "GET /metrics HTTP/1.1\r\nHost: x\r\nX: ";
        size_t n = strlen(start);
        memcpy(buf, start, n);
        memset(buf + n, 'a', sizeof(buf) - n);
        assert_int_equal(http_request_parse(buf, HTTP_REQUEST_MAX - 1, &r), HTTP_REQUEST_INCOMPLETE);
        assert_int_equal(http_request_parse(buf, HTTP_REQUEST_MAX, &r), HTTP_REQUEST_BAD);

        /* Ending exactly at the limit is fine; one byte more is not. */
        memcpy(buf + HTTP_REQUEST_MAX - 4, "\r\n\r\n", 4);
        assert_int_equal(http_request_parse(buf, HTTP_REQUEST_MAX, &r), HTTP_REQUEST_METRICS);
        memset(buf + n, 'a', sizeof(buf) - n);
        memcpy(buf + HTTP_REQUEST_MAX - 3, "\r\n\r\n", 4);
        assert_int_equal(http_request_parse(buf, HTTP_REQUEST_MAX + 1, &r), HTTP_REQUEST_BAD);
}

static void test_status_lines(void **state) {
        assert_int_equal(http_request_verdict_status(HTTP_REQUEST_METRICS), 200);
        assert_string_equal(http_request_verdict_reason(HTTP_REQUEST_METRICS), "OK");
        assert_int_equal(http_request_verdict_status(HTTP_REQUEST_NOT_FOUND), 404);
        assert_int_equal(http_request_verdict_status(HTTP_REQUEST_BAD_METHOD), 405);
        assert_int_equal(http_request_verdict_status(HTTP_REQUEST_BAD), 400);
        assert_null(http_request_verdict_reason(HTTP_REQUEST_INCOMPLETE));
        assert_null(http_request_verdict_reason(_HTTP_REQUEST_VERDICT_MAX));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scrapes),
                cmocka_unit_test(test_incomplete),
                cmocka_unit_test(test_not_found_and_bad_method),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_size_limit),
                cmocka_unit_test(test_status_lines),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
