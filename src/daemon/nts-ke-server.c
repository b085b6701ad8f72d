/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The NTS-KE service on the event loop. A connection goes through stages: TLS handshake →
 * receive the request → send the answer → close_notify → drain until the client closes (so that
 * closing never resets a connection whose answer the client has not read yet). Each stage either
 * moves on, waits for the socket in the direction GnuTLS asks for, or ends the connection; a timer
 * bounds the whole of it. The credentials are shared by reference: a reload gives new connections
 * the new ones while those under way keep theirs. */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "core/nts-ke.h"
#include "file-io.h"
#include "log.h"
#include "net.h"
#include "nts-ke-server.h"

/* Everything below TLS 1.3 off, on top of the system's defaults (and its crypto policy). */
#define TLS13_ONLY_PRIORITY "-VERS-ALL:+VERS-TLS1.3"
#define DEADLINE_ACCURACY_USEC 10000ULL
#define LISTEN_BACKLOG 128
#define ACCEPTS_PER_WAKEUP 16
/* The answer: eight cookies of at most NTS_COOKIE_MAX_SIZE bytes and a few records. */
#define RESPONSE_MAX_SIZE (NTS_KE_SERVER_COOKIES * (NTS_KE_RECORD_HEADER_SIZE + NTS_COOKIE_MAX_SIZE) + 64)
#define PEM_MAX_SIZE (256 * 1024)

static const uint16_t supported_aeads[] = { NTS_AEAD_AES_SIV_CMAC_256 };

static struct log_ratelimit busy_log = LOG_RATELIMIT_INIT;
static struct log_ratelimit failure_log = LOG_RATELIMIT_INIT;

enum ke_stage {
        STAGE_HANDSHAKE,
        STAGE_RECEIVE,
        STAGE_SEND,
        STAGE_SHUTDOWN,
        STAGE_DRAIN,
};

enum step {
        STEP_NEXT,
        STEP_WAIT,
        STEP_ENDED,                  /* the connection was freed */
};

struct ke_credentials {
        unsigned n_ref;
        gnutls_certificate_credentials_t creds;
};

struct ke_connection {
        nts_ke_server *server;
        struct ke_connection *prev, *next;
        int fd;
        gnutls_session_t session;
        struct ke_credentials *credentials;
        sd_event_source *io;
        sd_event_source *deadline;
        enum ke_stage stage;
        char peer[64];
        uint8_t request[NTS_KE_MAX_MESSAGE_SIZE];
        size_t request_len;
        uint8_t response[RESPONSE_MAX_SIZE];
        size_t response_len;
        size_t response_sent;
        bool refused;                /* the answer is a refusal, counted as `refusal` once sent */
        enum nts_ke_server_failure refusal;
};

struct nts_ke_server {
        sd_event *event;
        struct nts_ke_server_options options;
        int fds[NTS_KE_SERVER_MAX_SOCKETS];
        bool owned[NTS_KE_SERVER_MAX_SOCKETS]; /* bound here, not from systemd */
        sd_event_source *listen_io[NTS_KE_SERVER_MAX_SOCKETS];
        size_t n_fds;
        bool activated;
        bool running;
        struct ke_credentials *credentials; /* NULL: none loaded, no service */
        nts_server_keys *keys;
        struct ke_connection *connections;
        unsigned n_connections;
        struct nts_ke_server_counters counters;
};

static const char *const failure_words[_NTS_KE_SERVER_FAILURE_MAX] = {
        [NTS_KE_SERVER_FAILURE_BUSY] = "busy",
        [NTS_KE_SERVER_FAILURE_TLS] = "tls",
        [NTS_KE_SERVER_FAILURE_TIMEOUT] = "timeout",
        [NTS_KE_SERVER_FAILURE_CLOSED] = "closed",
        [NTS_KE_SERVER_FAILURE_BAD_REQUEST] = "bad-request",
        [NTS_KE_SERVER_FAILURE_UNSUPPORTED] = "unsupported",
        [NTS_KE_SERVER_FAILURE_INTERNAL] = "internal",
        [NTS_KE_SERVER_FAILURE_REFUSED] = "refused",
};

const char *nts_ke_server_failure_to_string(enum nts_ke_server_failure f) {
        return (unsigned) f < _NTS_KE_SERVER_FAILURE_MAX ? failure_words[f] : "unknown";
}

static uint64_t now_usec(void) {
        return (uint64_t) now_monotonic_ns() / 1000;
}

/* ---- credentials ---- */

static struct ke_credentials *credentials_unref(struct ke_credentials *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        gnutls_certificate_free_credentials(c->creds);
        free(c);
        return NULL;
}

static struct ke_credentials *credentials_ref(struct ke_credentials *c) {
        c->n_ref++;
        return c;
}

struct pem_file {
        char *text;
        size_t len;
};

static void pem_file_done(struct pem_file *f) {
        if (f->text)
                nts_wipe(f->text, f->len);
        free(f->text);
}

static int read_pem(const char *what, const char *path, struct pem_file *ret) {
        char *text = NULL;
        /* Certificates are often symlinks (a certbot live/ directory): followed. */
        ssize_t len = read_small_file(path, PEM_MAX_SIZE, true, &text);
        if (len < 0)
                return log_error_errno((int) len, "NTS-KE: no service, cannot read the %s %s", what, path);
        *ret = (struct pem_file) { text, (size_t) len };
        return 0;
}

/* Which of the two files GnuTLS refused: the chain is tried alone. */
static int explain_refusal(int error, const char *cert_path, const char *key_path, const struct pem_file *cert) {
        if (error == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
                log_error("NTS-KE: no service, the key %s does not belong to the certificate %s", key_path, cert_path);
                return -EINVAL;
        }
        gnutls_x509_crt_t *list = NULL;
        unsigned n = 0;
        gnutls_datum_t d = { .data = (unsigned char *) cert->text, .size = (unsigned) cert->len };
        int r = gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0);
        if (r >= 0) {
                for (unsigned i = 0; i < n; i++)
                        gnutls_x509_crt_deinit(list[i]);
                gnutls_free(list);
                log_error("NTS-KE: no service, the key %s is not a usable PEM private key: %s", key_path,
                          gnutls_strerror(error));
        } else
                log_error("NTS-KE: no service, the certificate %s is not a usable PEM certificate chain: %s", cert_path,
                          gnutls_strerror(r));
        return -EINVAL;
}

static int make_credentials(const char *cert_path, const char *key_path, struct ke_credentials **ret) {
        struct pem_file cert = {}, key = {};
        struct ke_credentials *c = NULL;
        int r = read_pem("certificate", cert_path, &cert);
        if (r >= 0)
                r = read_pem("key", key_path, &key);
        if (r >= 0 && !(c = calloc(1, sizeof(*c))))
                r = -ENOMEM;
        if (r >= 0 && gnutls_certificate_allocate_credentials(&c->creds) < 0)
                r = -ENOMEM;
        if (r >= 0) {
                gnutls_datum_t cd = { .data = (unsigned char *) cert.text, .size = (unsigned) cert.len };
                gnutls_datum_t kd = { .data = (unsigned char *) key.text, .size = (unsigned) key.len };
                int g = gnutls_certificate_set_x509_key_mem2(c->creds, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
                if (g < 0)
                        r = explain_refusal(g, cert_path, key_path, &cert);
        }
        pem_file_done(&cert);
        pem_file_done(&key);
        if (r < 0) {
                if (c && c->creds)
                        gnutls_certificate_free_credentials(c->creds);
                free(c);
                return r;
        }
        c->n_ref = 1;
        *ret = c;
        return 0;
}

int nts_ke_server_load_credentials(nts_ke_server *s, const char *cert_path, const char *key_path) {
        struct ke_credentials *c = NULL;
        s->credentials = credentials_unref(s->credentials);
        if (!cert_path || !cert_path[0] || !key_path || !key_path[0]) {
                log_error("NTS-KE: no service, `nts cert` and `nts key` are both needed");
                return -ENOKEY;
        }
        int r = make_credentials(cert_path, key_path, &c);
        if (r < 0)
                return r;
        s->credentials = c;
        log_info("NTS-KE: certificate %s and key %s loaded", cert_path, key_path);
        return 0;
}

/* ---- connections: the end ---- */

static void connection_free(struct ke_connection *c) {
        nts_ke_server *s = c->server;
        if (c->prev)
                c->prev->next = c->next;
        else
                s->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_connections--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->deadline);
        if (c->session)
                gnutls_deinit(c->session);
        credentials_unref(c->credentials);
        if (c->fd >= 0)
                close(c->fd);
        /* The request and answer held no keys, but the exporter's output went through here. */
        nts_wipe(c, sizeof(*c));
        free(c);
}

static enum step fail(struct ke_connection *c, enum nts_ke_server_failure f, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static enum step fail(struct ke_connection *c, enum nts_ke_server_failure f, const char *fmt, ...) {
        char why[256];
        unsigned suppressed;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        c->server->counters.failures[f]++;
        /* A client's failure is its own business: debug, and at most a few lines a minute. */
        if (log_ratelimit_allow(&failure_log, now_usec(), &suppressed))
                log_debug("NTS-KE: %s: %s", c->peer, why);
        connection_free(c);
        return STEP_ENDED;
}

static enum step tls_failure(struct ke_connection *c, const char *what, int error) {
        if (error == GNUTLS_E_WARNING_ALERT_RECEIVED || error == GNUTLS_E_FATAL_ALERT_RECEIVED)
                return fail(c, NTS_KE_SERVER_FAILURE_TLS, "%s: alert %s", what,
                            gnutls_alert_get_name(gnutls_alert_get(c->session)) ?: "unknown");
        if (c->stage == STAGE_RECEIVE && (error == GNUTLS_E_PREMATURE_TERMINATION || error == GNUTLS_E_PULL_ERROR))
                return fail(c, NTS_KE_SERVER_FAILURE_CLOSED, "%s: %s", what, gnutls_strerror(error));
        return fail(c, NTS_KE_SERVER_FAILURE_TLS, "%s: %s", what, gnutls_strerror(error));
}

static int on_connection_io(sd_event_source *source, int fd, uint32_t revents, void *userdata);

static enum step wait_for(struct ke_connection *c, uint32_t events) {
        int r = sd_event_source_set_io_events(c->io, events);
        if (r < 0)
                return fail(c, NTS_KE_SERVER_FAILURE_INTERNAL, "cannot wait for the socket: %s", strerror(-r));
        return STEP_WAIT;
}

static enum step wait_for_tls(struct ke_connection *c) {
        return wait_for(c, gnutls_record_get_direction(c->session) ? EPOLLOUT : EPOLLIN);
}

/* ---- connections: the stages ---- */

static enum step step_handshake(struct ke_connection *c) {
        int r = gnutls_handshake(c->session);
        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
                return wait_for_tls(c);
        if (r < 0)
                return tls_failure(c, "handshake", r);
        if (gnutls_protocol_get_version(c->session) != GNUTLS_TLS1_3)
                return fail(c, NTS_KE_SERVER_FAILURE_TLS, "not TLS 1.3");
        gnutls_datum_t p = { 0 };
        if (gnutls_alpn_get_selected_protocol(c->session, &p) < 0 || p.size != strlen(NTS_KE_ALPN) ||
            memcmp(p.data, NTS_KE_ALPN, p.size) != 0)
                return fail(c, NTS_KE_SERVER_FAILURE_TLS, "no ALPN " NTS_KE_ALPN);
        c->stage = STAGE_RECEIVE;
        return STEP_NEXT;
}

/* The C2S and S2C keys of this session for an algorithm (RFC 8915 §5.1). */
static int export_keys(struct ke_connection *c, uint16_t aead, struct nts_keys *ret) {
        size_t key_len = nts_aead_key_length(aead);
        struct nts_keys keys = { .aead = aead, .key_len = (uint16_t) key_len };
        uint8_t context[NTS_KE_EXPORTER_CONTEXT_SIZE];
        for (int s2c = 0; s2c <= 1; s2c++) {
                nts_ke_exporter_context(aead, s2c, context);
                int r = gnutls_prf_rfc5705(c->session, strlen(NTS_KE_EXPORTER_LABEL), NTS_KE_EXPORTER_LABEL,
                                           sizeof(context), (const char *) context, key_len,
                                           (char *) (s2c ? keys.s2c : keys.c2s));
                if (r < 0) {
                        nts_wipe(&keys, sizeof(keys));
                        return -EIO;
                }
        }
        *ret = keys;
        nts_wipe(&keys, sizeof(keys));
        return 0;
}

static int make_cookies(struct ke_connection *c, const struct nts_keys *keys, struct nts_ke_response *response) {
        for (size_t i = 0; i < NTS_KE_SERVER_COOKIES; i++) {
                int r = nts_server_keys_make_cookie(c->server->keys, keys, &response->cookies[i]);
                if (r < 0)
                        return r;
        }
        response->n_cookies = NTS_KE_SERVER_COOKIES;
        return 0;
}

/* Keys and cookies for a request the codec accepted; or the refusal it asks for. */
static enum step answer_request(struct ke_connection *c, const struct nts_ke_request *request) {
        struct nts_ke_response response = { .ntpv4 = request->ntpv4, .has_aead = request->has_aead,
                                             .aead = request->aead };
        struct nts_keys keys = {};
        int r = 0;
        c->refused = !response.ntpv4 || !response.has_aead;
        c->refusal = NTS_KE_SERVER_FAILURE_UNSUPPORTED;
        if (!c->refused) {
                r = export_keys(c, request->aead, &keys);
                if (r >= 0)
                        r = make_cookies(c, &keys, &response);
                nts_wipe(&keys, sizeof(keys));
        }
        if (r >= 0)
                r = nts_ke_response_build(&response, c->response, sizeof(c->response), &c->response_len);
        nts_wipe(&response, sizeof(response));
        if (r < 0)
                return fail(c, NTS_KE_SERVER_FAILURE_INTERNAL, "cannot make keys and cookies: %s", strerror(-r));
        c->stage = STAGE_SEND;
        return STEP_NEXT;
}

static enum step answer_error(struct ke_connection *c, enum nts_ke_reason reason) {
        uint16_t code = nts_ke_reason_error_code(reason);
        if (nts_ke_error_build(code, c->response, sizeof(c->response), &c->response_len) < 0)
                return fail(c, NTS_KE_SERVER_FAILURE_INTERNAL, "cannot build an error record");
        c->refused = true;
        c->refusal = NTS_KE_SERVER_FAILURE_BAD_REQUEST;
        c->stage = STAGE_SEND;
        return STEP_NEXT;
}

static enum step handle_request(struct ke_connection *c, size_t len) {
        struct nts_ke_request request;
        uint16_t detail = 0;
        char why[128];
        enum nts_ke_reason reason = nts_ke_request_parse(c->request, len, supported_aeads, ELEMENTSOF(supported_aeads),
                                                         &request, &detail);
        if (reason != NTS_KE_OK) {
                log_debug("NTS-KE: %s: request refused: %s", c->peer, nts_ke_reason_format(reason, detail, why, sizeof(why)));
                return answer_error(c, reason);
        }
        return answer_request(c, &request);
}

static enum step step_receive(struct ke_connection *c) {
        for (;;) {
                size_t len;
                int k = nts_ke_message_scan(c->request, c->request_len, &len);
                if (k > 0)
                        return handle_request(c, len);
                if (k < 0 || c->request_len == sizeof(c->request))
                        return answer_error(c, NTS_KE_MESSAGE_TOO_LONG);
                ssize_t n = gnutls_record_recv(c->session, c->request + c->request_len,
                                               sizeof(c->request) - c->request_len);
                if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                        return wait_for(c, EPOLLIN);
                if (n == 0)
                        return fail(c, NTS_KE_SERVER_FAILURE_CLOSED, "closed before the request was complete");
                if (n < 0)
                        return tls_failure(c, "receiving the request", (int) n);
                c->request_len += (size_t) n;
        }
}

static enum step step_send(struct ke_connection *c) {
        while (c->response_sent < c->response_len) {
                ssize_t n = gnutls_record_send(c->session, c->response + c->response_sent,
                                               c->response_len - c->response_sent);
                if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                        return wait_for_tls(c);
                if (n < 0)
                        return tls_failure(c, "sending the answer", (int) n);
                c->response_sent += (size_t) n;
        }
        /* What the client heard counts: keys and cookies, or a refusal. */
        if (c->refused)
                c->server->counters.failures[c->refusal]++;
        else {
                c->server->counters.successes++;
                log_debug("NTS-KE: %s: keys and %d cookies sent", c->peer, NTS_KE_SERVER_COOKIES);
        }
        c->stage = STAGE_SHUTDOWN;
        return STEP_NEXT;
}

static enum step step_shutdown(struct ke_connection *c) {
        int r = gnutls_bye(c->session, GNUTLS_SHUT_WR);
        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
                return wait_for_tls(c);
        (void) shutdown(c->fd, SHUT_WR);
        c->stage = STAGE_DRAIN;
        return STEP_NEXT;
}

/* Until the client closes its side: closing with its bytes unread would reset the connection,
 * and a reset can discard the answer before the client read it. */
static enum step step_drain(struct ke_connection *c) {
        uint8_t buf[512];
        for (;;) {
                ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n > 0)
                        continue;
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return wait_for(c, EPOLLIN);
                connection_free(c);
                return STEP_ENDED;
        }
}

static enum step run_stage(struct ke_connection *c) {
        switch (c->stage) {
        case STAGE_HANDSHAKE:
                return step_handshake(c);
        case STAGE_RECEIVE:
                return step_receive(c);
        case STAGE_SEND:
                return step_send(c);
        case STAGE_SHUTDOWN:
                return step_shutdown(c);
        case STAGE_DRAIN:
                return step_drain(c);
        }
        return fail(c, NTS_KE_SERVER_FAILURE_INTERNAL, "unknown stage");
}

static void advance(struct ke_connection *c) {
        while (run_stage(c) == STEP_NEXT)
                ;
}

static int on_connection_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        advance(userdata);
        return 0;
}

static int on_connection_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        struct ke_connection *c = userdata;
        /* Draining: the answer went out already, the client just did not close. */
        if (c->stage == STAGE_DRAIN || c->stage == STAGE_SHUTDOWN) {
                connection_free(c);
                return 0;
        }
        (void) fail(c, NTS_KE_SERVER_FAILURE_TIMEOUT, "no request within %.1f s",
                    (double) c->server->options.timeout_usec / 1e6);
        return 0;
}

/* ---- connections: the start ---- */

static void peer_name(int fd, char *buf, size_t size) {
        struct net_address a = {};
        socklen_t len = sizeof(a.sa);
        if (getpeername(fd, &a.sa.sa, &len) < 0) {
                snprintf(buf, size, "?");
                return;
        }
        a.len = len;
        /* A dual-stack socket sees IPv4 clients as ::ffff:a.b.c.d: shown as they are known. */
        if (a.sa.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a.sa.in6.sin6_addr)) {
                struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = a.sa.in6.sin6_port };
                memcpy(&in.sin_addr, a.sa.in6.sin6_addr.s6_addr + 12, 4);
                a.sa.in = in;
                a.len = sizeof(in);
        }
        net_address_to_string(&a, buf, size);
}

static int setup_session(struct ke_connection *c) {
        const gnutls_datum_t alpn = { .data = (unsigned char *) NTS_KE_ALPN, .size = strlen(NTS_KE_ALPN) };
        /* NO_SIGNAL: a client that hangs up mid-handshake must not kill the daemon with SIGPIPE. */
        int r = gnutls_init(&c->session, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL);
        if (r < 0) {
                c->session = NULL;
                return -ENOMEM;
        }
        r = gnutls_set_default_priority_append(c->session, TLS13_ONLY_PRIORITY, NULL, 0);
        if (r >= 0)
                r = gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE, c->credentials->creds);
        /* Mandatory: a client that offers ALPN without ntske/1 is refused in the handshake. */
        if (r >= 0)
                r = gnutls_alpn_set_protocols(c->session, &alpn, 1, GNUTLS_ALPN_MANDATORY);
        if (r < 0)
                return -EIO;
        gnutls_certificate_server_set_request(c->session, GNUTLS_CERT_IGNORE);
        gnutls_transport_set_int(c->session, c->fd);
        return 0;
}

static int connection_start(nts_ke_server *s, int fd) {
        struct ke_connection *c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return -ENOMEM;
        }
        c->server = s;
        c->fd = fd;
        /* The exchange is a few small records each way: no waiting for more to fill a segment. */
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int) { 1 }, sizeof(int));
        c->credentials = credentials_ref(s->credentials);
        c->stage = STAGE_HANDSHAKE;
        c->next = s->connections;
        if (c->next)
                c->next->prev = c;
        s->connections = c;
        s->n_connections++;
        peer_name(fd, c->peer, sizeof(c->peer));

        int r = setup_session(c);
        if (r >= 0)
                r = sd_event_add_io(s->event, &c->io, fd, EPOLLIN, on_connection_io, c);
        if (r >= 0)
                r = sd_event_add_time_relative(s->event, &c->deadline, CLOCK_MONOTONIC, s->options.timeout_usec,
                                               DEADLINE_ACCURACY_USEC, on_connection_deadline, c);
        if (r < 0) {
                (void) fail(c, NTS_KE_SERVER_FAILURE_INTERNAL, "cannot start the session: %s", strerror(-r));
                return r;
        }
        advance(c);
        return 0;
}

static void refuse_busy(nts_ke_server *s, int fd) {
        unsigned suppressed;
        close(fd);
        s->counters.failures[NTS_KE_SERVER_FAILURE_BUSY]++;
        if (log_ratelimit_allow(&busy_log, now_usec(), &suppressed))
                log_warning("NTS-KE: %u connections at a time, closing new ones at once (%llu so far)",
                            s->n_connections, (unsigned long long) s->counters.failures[NTS_KE_SERVER_FAILURE_BUSY]);
}

/* Whether the restrict rules keep this client from being served: ignore and noserve cover key
 * establishment as they cover NTP. */
static bool refused_by_rules(const nts_ke_server *s, const struct sockaddr_storage *ss) {
        const uint8_t *address;
        if (!s->options.restricts)
                return false;
        if (ss->ss_family == AF_INET)
                address = (const uint8_t *) &((const struct sockaddr_in *) ss)->sin_addr;
        else if (ss->ss_family == AF_INET6)
                address = ((const struct sockaddr_in6 *) ss)->sin6_addr.s6_addr;
        else
                return true;
        return restrict_set_match(s->options.restricts, ss->ss_family, address) & (RESTRICT_IGNORE | RESTRICT_NOSERVE);
}

static int on_listen_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        nts_ke_server *s = userdata;
        for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
                struct sockaddr_storage peer;
                socklen_t peer_len = sizeof(peer);
                int cfd = accept4(fd, (struct sockaddr *) &peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                                log_debug_errno(-errno, "NTS-KE: accept");
                        break;
                }
                s->counters.connections++;
                if (!s->credentials || !s->keys)
                        close(cfd);
                else if (refused_by_rules(s, &peer)) {
                        close(cfd);
                        s->counters.failures[NTS_KE_SERVER_FAILURE_REFUSED]++;
                } else if (s->n_connections >= s->options.max_connections)
                        refuse_busy(s, cfd);
                else
                        (void) connection_start(s, cfd);
        }
        return 0;
}

/* ---- listening ---- */

static int bind_stream(int family, uint16_t port) {
        int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0)
                return -errno;
        int on = 1, off = 0;
        /* A restart must not wait for the old connections' TIME_WAIT. */
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        union sockaddr_union a = {};
        socklen_t len;
        if (family == AF_INET6) {
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
                a.in6 = (struct sockaddr_in6) { .sin6_family = AF_INET6, .sin6_port = htons(port),
                                                .sin6_addr = IN6ADDR_ANY_INIT };
                len = sizeof(a.in6);
        } else {
                a.in = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons(port),
                                              .sin_addr.s_addr = htonl(INADDR_ANY) };
                len = sizeof(a.in);
        }
        if (bind(fd, &a.sa, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* [::]:4460 taking IPv4 too; a plain IPv4 socket where IPv6 is off. */
static int bind_wildcard(uint16_t port) {
        int fd = bind_stream(AF_INET6, port);
        return fd >= 0 ? fd : bind_stream(AF_INET, port);
}

/* The environment stays: the NTP server takes the datagram sockets after us, and clears it. */
static void take_activated_sockets(nts_ke_server *s) {
        s->n_fds = net_take_listening_sockets(NTS_KE_SERVER_FD_NAME, "NTS-KE", s->fds, NTS_KE_SERVER_MAX_SOCKETS);
        for (size_t i = 0; i < s->n_fds; i++)
                s->owned[i] = false;
        s->activated = s->n_fds > 0;
}

static int open_sockets(nts_ke_server *s) {
        if (!s->activated) {
                int fd = bind_wildcard(s->options.port);
                if (fd < 0)
                        return log_error_errno(fd, "NTS-KE: no service, cannot bind TCP port %u", s->options.port);
                s->owned[s->n_fds] = true;
                s->fds[s->n_fds++] = fd;
        }
        for (size_t i = 0; i < s->n_fds; i++) {
                int r = sd_event_add_io(s->event, &s->listen_io[i], s->fds[i], EPOLLIN, on_listen_io, s);
                if (r < 0)
                        return log_error_errno(r, "NTS-KE: no service, cannot watch the listening socket");
        }
        return 0;
}

/* systemd's sockets stay, unwatched: they are where the next start listens. */
static void close_sockets(nts_ke_server *s) {
        size_t kept = 0;
        for (size_t i = 0; i < s->n_fds; i++) {
                s->listen_io[i] = sd_event_source_disable_unref(s->listen_io[i]);
                if (s->owned[i])
                        close(s->fds[i]);
                else
                        s->fds[kept++] = s->fds[i];
        }
        s->n_fds = kept;
}

int nts_ke_server_start(nts_ke_server *s, nts_server_keys *keys) {
        if (!s->credentials)
                return -ENOKEY;
        s->keys = keys;
        if (s->running)
                return 0;
        int r = open_sockets(s);
        if (r < 0) {
                close_sockets(s);
                s->keys = NULL;
                return r;
        }
        s->running = true;
        if (s->activated)
                log_info("NTS-KE: serving on %zu socket(s) from systemd", s->n_fds);
        else
                log_info("NTS-KE: serving on TCP port %u", s->options.port);
        return 0;
}

void nts_ke_server_stop(nts_ke_server *s) {
        while (s->connections)
                connection_free(s->connections);
        close_sockets(s);
        s->keys = NULL;
        if (s->running)
                log_info("NTS-KE: no longer serving");
        s->running = false;
}

bool nts_ke_server_running(const nts_ke_server *s) {
        return s->running;
}

bool nts_ke_server_activated(const nts_ke_server *s) {
        return s->activated;
}

unsigned nts_ke_server_active_connections(const nts_ke_server *s) {
        return s->n_connections;
}

const struct nts_ke_server_counters *nts_ke_server_get_counters(const nts_ke_server *s) {
        return &s->counters;
}

/* ---- life cycle ---- */

int nts_ke_server_new(sd_event *event, const struct nts_ke_server_options *o, nts_ke_server **ret) {
        nts_ke_server *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        if (o)
                s->options = *o;
        if (s->options.port == 0)
                s->options.port = NTS_KE_PORT;
        if (s->options.timeout_usec == 0)
                s->options.timeout_usec = NTS_KE_SERVER_TIMEOUT_USEC;
        if (s->options.max_connections == 0)
                s->options.max_connections = NTS_KE_SERVER_MAX_CONNECTIONS;
        take_activated_sockets(s);
        *ret = s;
        return 0;
}

nts_ke_server *nts_ke_server_free(nts_ke_server *s) {
        if (!s)
                return NULL;
        nts_ke_server_stop(s);
        for (size_t i = 0; i < s->n_fds; i++)
                close(s->fds[i]);
        credentials_unref(s->credentials);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
