/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict where a mistake could be read two ways (RFC 9112 §2.2, §3, §5): single spaces in the
 * request line, no line folding, no control characters, one Host; lenient where it costs
 * nothing: a line may end in LF alone, and an unknown header field is skipped. */

#include <string.h>
#include <strings.h>

#include "http-request.h"

struct line {
        const uint8_t *text;
        size_t len;                  /* without the CRLF or LF */
};

static const struct {
        unsigned status;
        const char *reason;
} verdict_status[_HTTP_REQUEST_VERDICT_MAX] = {
        [HTTP_REQUEST_METRICS] = { 200, "OK" },
        [HTTP_REQUEST_NOT_FOUND] = { 404, "Not Found" },
        [HTTP_REQUEST_BAD_METHOD] = { 405, "Method Not Allowed" },
        [HTTP_REQUEST_BAD] = { 400, "Bad Request" },
};

unsigned http_request_verdict_status(enum http_request_verdict v) {
        return (unsigned) v < _HTTP_REQUEST_VERDICT_MAX ? verdict_status[v].status : 0;
}

const char *http_request_verdict_reason(enum http_request_verdict v) {
        return (unsigned) v < _HTTP_REQUEST_VERDICT_MAX ? verdict_status[v].reason : NULL;
}

/* The next line from *pos; false when no line feed ends one yet. */
static bool next_line(const uint8_t *buf, size_t len, size_t *pos, struct line *ret) {
        const uint8_t *start = buf + *pos;
        const uint8_t *lf = memchr(start, '\n', len - *pos);
        if (!lf)
                return false;
        size_t n = (size_t) (lf - start);
        if (n > 0 && start[n - 1] == '\r')
                n--;
        *ret = (struct line) { start, n };
        *pos += (size_t) (lf - start) + 1;
        return true;
}

/* RFC 9110 §5.6.2 */
static bool is_tchar(uint8_t c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const uint8_t *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_tchar(s[i]))
                        return false;
        return true;
}

static bool is_visible(const uint8_t *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x21 || s[i] > 0x7e)
                        return false;
        return n > 0;
}

/* A field value: visible characters, spaces, tabs and obs-text; no control characters. */
static bool is_field_value(const uint8_t *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
                        return false;
        return true;
}

static bool equals(const uint8_t *s, size_t n, const char *word) {
        return n == strlen(word) && memcmp(s, word, n) == 0;
}

struct request_line {
        struct line method, target;
        bool http11;
};

static bool parse_request_line(const struct line *l, struct request_line *ret) {
        const uint8_t *sp1 = memchr(l->text, ' ', l->len);
        if (!sp1)
                return false;
        size_t rest = l->len - (size_t) (sp1 + 1 - l->text);
        const uint8_t *sp2 = memchr(sp1 + 1, ' ', rest);
        if (!sp2)
                return false;
        ret->method = (struct line) { l->text, (size_t) (sp1 - l->text) };
        ret->target = (struct line) { sp1 + 1, (size_t) (sp2 - sp1 - 1) };
        struct line version = { sp2 + 1, l->len - (size_t) (sp2 + 1 - l->text) };
        ret->http11 = equals(version.text, version.len, "HTTP/1.1");
        return is_token(ret->method.text, ret->method.len) && is_visible(ret->target.text, ret->target.len) &&
               (ret->http11 || equals(version.text, version.len, "HTTP/1.0"));
}

/* "name: value"; counts the Host fields. */
static bool parse_field(const struct line *l, unsigned *hosts) {
        const uint8_t *colon = memchr(l->text, ':', l->len);
        if (!colon)
                return false;
        size_t name_len = (size_t) (colon - l->text);
        if (!is_token(l->text, name_len))
                return false; /* also a folded line, which starts with white space */
        if (name_len == 4 && strncasecmp((const char *) l->text, "host", 4) == 0)
                (*hosts)++;
        return is_field_value(colon + 1, l->len - name_len - 1);
}

static enum http_request_verdict judge_target(const struct line *target) {
        if (target->text[0] != '/')
                return HTTP_REQUEST_BAD; /* absolute-form and authority-form are for proxies */
        const uint8_t *query = memchr(target->text, '?', target->len);
        size_t path_len = query ? (size_t) (query - target->text) : target->len;
        return equals(target->text, path_len, HTTP_METRICS_PATH) ? HTTP_REQUEST_METRICS : HTTP_REQUEST_NOT_FOUND;
}

enum http_request_verdict http_request_parse(const uint8_t *buf, size_t len, struct http_request *ret) {
        size_t pos = 0;
        struct line l;
        struct request_line request;
        unsigned hosts = 0;

        if (!next_line(buf, len, &pos, &l))
                return len < HTTP_REQUEST_MAX ? HTTP_REQUEST_INCOMPLETE : HTTP_REQUEST_BAD;
        if (pos > HTTP_REQUEST_MAX || !parse_request_line(&l, &request))
                return HTTP_REQUEST_BAD;
        for (;;) {
                if (!next_line(buf, len, &pos, &l))
                        return len < HTTP_REQUEST_MAX ? HTTP_REQUEST_INCOMPLETE : HTTP_REQUEST_BAD;
                if (pos > HTTP_REQUEST_MAX)
                        return HTTP_REQUEST_BAD;
                if (l.len == 0)
                        break;
                if (!parse_field(&l, &hosts))
                        return HTTP_REQUEST_BAD;
        }
        /* RFC 9112 §3.2: exactly one Host in HTTP/1.1, never two. */
        if (hosts > 1 || (request.http11 && hosts == 0))
                return HTTP_REQUEST_BAD;

        bool head = equals(request.method.text, request.method.len, "HEAD");
        if (!head && !equals(request.method.text, request.method.len, "GET"))
                return HTTP_REQUEST_BAD_METHOD;
        enum http_request_verdict v = judge_target(&request.target);
        if (v != HTTP_REQUEST_BAD)
                *ret = (struct http_request) { .head = head };
        return v;
}
