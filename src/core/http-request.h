/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The request of the metrics endpoint (RFC 9112, the part a scraper uses): a request line and
 * header fields, read until the empty line, then judged. Pure; the bytes are untrusted. Only
 * GET (and HEAD) of /metrics are served; there is never a body to read, and every connection
 * ends after one answer. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The request line and header fields together; a longer request is refused. */
#define HTTP_REQUEST_MAX 4096
#define HTTP_METRICS_PATH "/metrics"

enum http_request_verdict {
        HTTP_REQUEST_INCOMPLETE,     /* no empty line yet: read on */
        HTTP_REQUEST_METRICS,        /* 200: GET or HEAD /metrics */
        HTTP_REQUEST_NOT_FOUND,      /* 404: another path */
        HTTP_REQUEST_BAD_METHOD,     /* 405: a method other than GET or HEAD */
        HTTP_REQUEST_BAD,            /* 400: not HTTP/1.0 or 1.1, malformed, or longer than HTTP_REQUEST_MAX */
        _HTTP_REQUEST_VERDICT_MAX,
};

struct http_request {
        bool head;                   /* HEAD: the status and header fields alone */
};

/* Judges the bytes received so far (buf[0..len)); *ret is written for every verdict but
 * HTTP_REQUEST_INCOMPLETE and HTTP_REQUEST_BAD. */
enum http_request_verdict http_request_parse(const uint8_t *buf, size_t len, struct http_request *ret);

/* The status line's code and reason for a verdict ("200", "OK"); NULL for INCOMPLETE. */
unsigned http_request_verdict_status(enum http_request_verdict v);
const char *http_request_verdict_reason(enum http_request_verdict v);
