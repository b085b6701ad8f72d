/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A connection goes through three stages: read the request until it is judged → write the
 * answer → drain what the client still sends until it closes (closing with unread bytes would
 * reset the connection, and the client could lose the answer). The deadline ends it in any
 * stage. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/http-request.h"
#include "log.h"
#include "metrics-http.h"
#include "metrics.h"
#include "net.h"

#define DEADLINE_ACCURACY_USEC 10000ULL
#define ACCEPTS_PER_WAKEUP 16
#define HEADER_MAX 256

enum http_stage {
        STAGE_READ,
        STAGE_WRITE,
        STAGE_DRAIN,
};

struct http_connection {
        metrics_http *server;
        struct http_connection *prev, *next;
        int fd;
        sd_event_source *io, *deadline;
        enum http_stage stage;
        uint8_t request[HTTP_REQUEST_MAX];
        size_t request_len;
        char *response;
        size_t response_len, response_sent;
};

struct metrics_http {
        manager *manager;
        struct metrics_http_sockets sockets;
        sd_event_source *listen_io[METRICS_HTTP_MAX_SOCKETS];
        struct http_connection *connections;
        unsigned n_connections;
};

static struct log_ratelimit refusal_log = LOG_RATELIMIT_INIT;

/* ---- listening ---- */

static void set_listening(metrics_http *h, bool on) {
        for (size_t i = 0; i < h->sockets.n_fds; i++)
                (void) sd_event_source_set_enabled(h->listen_io[i], on ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void connection_free(struct http_connection *c) {
        metrics_http *h = c->server;
        if (c->prev)
                c->prev->next = c->next;
        else
                h->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        /* Below the cap again: what waits in the backlog is accepted. */
        if (h->n_connections-- == METRICS_HTTP_MAX_CONNECTIONS)
                set_listening(h, true);
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->deadline);
        close(c->fd);
        free(c->response);
        free(c);
}

/* ---- the answer ---- */

static int build_response(struct http_connection *c, enum http_request_verdict v, bool head) {
        char *body = NULL, header[HEADER_MAX];
        size_t body_len = 0;
        const char *reason = http_request_verdict_reason(v);
        if (v == HTTP_REQUEST_METRICS) {
                int r = metrics_text(c->server->manager, &body, &body_len);
                if (r < 0)
                        return r;
        } else if (asprintf(&body, "%s\n", reason) >= 0)
                body_len = strlen(body);
        else
                return -ENOMEM;
        int n = snprintf(header, sizeof(header),
                         "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
                         http_request_verdict_status(v), reason,
                         v == HTTP_REQUEST_METRICS ? METRICS_CONTENT_TYPE : "text/plain; charset=utf-8", body_len,
                         v == HTTP_REQUEST_BAD_METHOD ? "Allow: GET, HEAD\r\n" : "");
        if (n < 0 || n >= HEADER_MAX) {
                free(body);
                return -EINVAL;
        }
        size_t sent_body = head ? 0 : body_len;
        c->response = malloc((size_t) n + sent_body);
        if (!c->response) {
                free(body);
                return -ENOMEM;
        }
        memcpy(c->response, header, (size_t) n);
        memcpy(c->response + n, body, sent_body);
        c->response_len = (size_t) n + sent_body;
        free(body);
        return 0;
}

static void log_refusal(enum http_request_verdict v) {
        unsigned suppressed;
        if (log_ratelimit_allow(&refusal_log, (unsigned long long) now_monotonic_ns() / 1000, &suppressed))
                log_debug("metrics: answered %u %s", http_request_verdict_status(v), http_request_verdict_reason(v));
}

/* ---- stages: each returns false when the connection was freed ---- */

static bool start_writing(struct http_connection *c, enum http_request_verdict v, bool head) {
        if (v != HTTP_REQUEST_METRICS)
                log_refusal(v);
        if (build_response(c, v, head) < 0 || sd_event_source_set_io_events(c->io, EPOLLOUT) < 0) {
                connection_free(c);
                return false;
        }
        c->stage = STAGE_WRITE;
        return true;
}

static bool read_request(struct http_connection *c) {
        ssize_t n = recv(c->fd, c->request + c->request_len, sizeof(c->request) - c->request_len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return true;
        if (n <= 0) {
                connection_free(c); /* gone before its request was complete */
                return false;
        }
        c->request_len += (size_t) n;
        struct http_request request = { .head = false };
        enum http_request_verdict v = http_request_parse(c->request, c->request_len, &request);
        if (v == HTTP_REQUEST_INCOMPLETE)
                return true;
        return start_writing(c, v, request.head);
}

static bool write_response(struct http_connection *c) {
        ssize_t n = send(c->fd, c->response + c->response_sent, c->response_len - c->response_sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return true;
        if (n < 0) {
                connection_free(c);
                return false;
        }
        c->response_sent += (size_t) n;
        if (c->response_sent < c->response_len)
                return true;
        if (shutdown(c->fd, SHUT_WR) < 0 || sd_event_source_set_io_events(c->io, EPOLLIN) < 0) {
                connection_free(c);
                return false;
        }
        c->stage = STAGE_DRAIN;
        return true;
}

static bool drain(struct http_connection *c) {
        char buf[512];
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return true;
        if (n <= 0) {
                connection_free(c);
                return false;
        }
        return true;
}

static int on_connection_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct http_connection *c = userdata;
        /* A stage that finishes moves on at once: the socket is likely ready for the next one. */
        if (c->stage == STAGE_READ && !read_request(c))
                return 0;
        if (c->stage == STAGE_WRITE && !write_response(c))
                return 0;
        if (c->stage == STAGE_DRAIN && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                (void) drain(c);
        return 0;
}

static int on_connection_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        connection_free(userdata);
        return 0;
}

/* ---- accepting ---- */

static int connection_start(metrics_http *h, int fd) {
        struct http_connection *c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return -ENOMEM;
        }
        *c = (struct http_connection) { .server = h, .fd = fd, .next = h->connections, .stage = STAGE_READ };
        if (h->connections)
                h->connections->prev = c;
        h->connections = c;
        if (++h->n_connections == METRICS_HTTP_MAX_CONNECTIONS)
                set_listening(h, false);
        int r = sd_event_add_io(h->manager->event, &c->io, fd, EPOLLIN, on_connection_io, c);
        if (r >= 0)
                r = sd_event_add_time_relative(h->manager->event, &c->deadline, CLOCK_MONOTONIC,
                                               METRICS_HTTP_TIMEOUT_USEC, DEADLINE_ACCURACY_USEC,
                                               on_connection_deadline, c);
        if (r < 0)
                connection_free(c);
        return r;
}

static int on_listen_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        metrics_http *h = userdata;
        for (int i = 0; i < ACCEPTS_PER_WAKEUP && h->n_connections < METRICS_HTTP_MAX_CONNECTIONS; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0)
                        break;
                (void) connection_start(h, cfd);
        }
        return 0;
}

void metrics_http_take_sockets(struct metrics_http_sockets *ret) {
        ret->n_fds = net_take_listening_sockets(METRICS_HTTP_FD_NAME, "metrics", ret->fds, METRICS_HTTP_MAX_SOCKETS);
}

int metrics_http_new(manager *m, const struct metrics_http_sockets *sockets, metrics_http **ret) {
        *ret = NULL;
        if (sockets->n_fds == 0)
                return 0;
        metrics_http *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        *h = (struct metrics_http) { .manager = m, .sockets = *sockets };
        for (size_t i = 0; i < h->sockets.n_fds; i++) {
                int r = sd_event_add_io(m->event, &h->listen_io[i], h->sockets.fds[i], EPOLLIN, on_listen_io, h);
                if (r < 0) {
                        metrics_http_free(h);
                        return log_error_errno(r, "metrics: cannot watch the listening socket");
                }
        }
        *ret = h;
        return 0;
}

metrics_http *metrics_http_free(metrics_http *h) {
        if (!h)
                return NULL;
        while (h->connections)
                connection_free(h->connections);
        for (size_t i = 0; i < h->sockets.n_fds; i++) {
                sd_event_source_disable_unref(h->listen_io[i]);
                close(h->sockets.fds[i]);
        }
        free(h);
        return NULL;
}
