/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One NTS key establishment as a client, driven by sd-event: connect → TLS handshake → request →
 * response → keys. Each stage is a step that either moves on, waits for the socket (in the
 * direction GnuTLS asks for), or ends the exchange; one timer bounds the whole of it. Ending
 * releases the connection first and calls done last, with a copy of the result on the stack:
 * the callback may free the client, and nothing here touches it afterwards. */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "macro.h"
#include "nts-ke-client.h"

/* Everything below TLS 1.3 off, on top of the system's defaults (and its crypto policy). */
#define TLS13_ONLY_PRIORITY "-VERS-ALL:+VERS-TLS1.3"
/* How late the deadline may fire: the exchange is bounded, not timed. */
#define DEADLINE_ACCURACY_USEC 10000ULL
#define REQUEST_MAX_SIZE 64

static const uint16_t offered_aeads[] = { NTS_AEAD_AES_SIV_CMAC_256 };

enum ke_stage {
        STAGE_CONNECT,
        STAGE_HANDSHAKE,
        STAGE_SEND,
        STAGE_RECEIVE,
        STAGE_ENDED,
};

/* What a step did: the exchange goes on to the next stage, waits for the socket, or has ended
 * (done was called: the client may be gone). */
enum step {
        STEP_NEXT,
        STEP_WAIT,
        STEP_ENDED,
};

struct nts_ke_client {
        sd_event *event;
        sd_event_source *io;
        sd_event_source *deadline;
        sd_event_source *early_end;  /* a failure found while starting, reported from the loop */
        int fd;
        gnutls_session_t session;
        gnutls_certificate_credentials_t credentials;
        enum ke_stage stage;
        char *host;                  /* without a trailing dot */
        struct net_address address;
        uint64_t timeout_usec;
        nts_ke_client_done_t done;
        void *userdata;
        uint8_t request[REQUEST_MAX_SIZE];
        size_t request_len;
        size_t request_sent;
        uint8_t response[NTS_KE_MAX_MESSAGE_SIZE];
        size_t response_len;
        struct nts_ke_client_result result;
};

static const char *const failure_words[_NTS_KE_FAILURE_MAX] = {
        [NTS_KE_FAILURE_NONE] = "none",
        [NTS_KE_FAILURE_CONNECT] = "connect",
        [NTS_KE_FAILURE_TIMEOUT] = "timeout",
        [NTS_KE_FAILURE_TLS] = "tls",
        [NTS_KE_FAILURE_CERTIFICATE] = "certificate",
        [NTS_KE_FAILURE_PROTOCOL] = "protocol",
        [NTS_KE_FAILURE_LOCAL] = "local",
};

const char *nts_ke_failure_to_string(enum nts_ke_failure f) {
        return f >= 0 && f < _NTS_KE_FAILURE_MAX ? failure_words[f] : "unknown";
}

static const char *stage_words(enum ke_stage stage) {
        switch (stage) {
        case STAGE_CONNECT:
                return "connecting";
        case STAGE_HANDSHAKE:
                return "in the TLS handshake";
        case STAGE_SEND:
                return "sending the request";
        case STAGE_RECEIVE:
                return "waiting for the response";
        default:
                return "after the end";
        }
}

static uint16_t address_port(const struct net_address *a) {
        return ntohs(a->sa.sa.sa_family == AF_INET6 ? a->sa.in6.sin6_port : a->sa.in.sin_port);
}

/* ---- the end ---- */

static void release_connection(nts_ke_client *c) {
        c->io = sd_event_source_disable_unref(c->io);
        c->deadline = sd_event_source_disable_unref(c->deadline);
        c->early_end = sd_event_source_disable_unref(c->early_end);
        if (c->session) {
                gnutls_deinit(c->session);
                c->session = NULL;
        }
        if (c->credentials) {
                gnutls_certificate_free_credentials(c->credentials);
                c->credentials = NULL;
        }
        if (c->fd >= 0) {
                close(c->fd);
                c->fd = -1;
        }
}

/* Calls done with what c->result says; c must not be touched once this returns. */
static enum step end_exchange(nts_ke_client *c) {
        struct nts_ke_client_result result = c->result;
        nts_ke_client_done_t done = c->done;
        void *userdata = c->userdata;

        release_connection(c);
        c->stage = STAGE_ENDED;
        nts_wipe(&c->result.keys, sizeof(c->result.keys));
        nts_wipe(c->response, c->response_len);
        done(c, &result, userdata);
        nts_wipe(&result, sizeof(result));
        return STEP_ENDED;
}

static void vset_failure(nts_ke_client *c, enum nts_ke_failure failure, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

static void vset_failure(nts_ke_client *c, enum nts_ke_failure failure, const char *fmt, va_list ap) {
        c->result.failure = failure;
        vsnprintf(c->result.reason, sizeof(c->result.reason), fmt, ap);
}

static void set_failure(nts_ke_client *c, enum nts_ke_failure failure, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void set_failure(nts_ke_client *c, enum nts_ke_failure failure, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vset_failure(c, failure, fmt, ap);
        va_end(ap);
}

/* Ends the exchange with this failure: c may be gone when it returns. */
static enum step fail(nts_ke_client *c, enum nts_ke_failure failure, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static enum step fail(nts_ke_client *c, enum nts_ke_failure failure, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vset_failure(c, failure, fmt, ap);
        va_end(ap);
        return end_exchange(c);
}

/* ---- waiting for the socket ---- */

static enum step wait_for(nts_ke_client *c, uint32_t events) {
        int r = sd_event_source_set_io_events(c->io, events);
        if (r < 0)
                return fail(c, NTS_KE_FAILURE_LOCAL, "cannot watch the connection: %s", strerror(-r));
        return STEP_WAIT;
}

/* The direction GnuTLS was blocked in: 1 writing, 0 reading. */
static enum step wait_for_tls(nts_ke_client *c) {
        return wait_for(c, gnutls_record_get_direction(c->session) ? EPOLLOUT : EPOLLIN);
}

/* ---- TLS errors in words ---- */

/* GnuTLS's words for a verification status ("The certificate is NOT trusted. The certificate
 * issuer is unknown."), without the trailing space. */
static void certificate_status_words(nts_ke_client *c, char *buf, size_t size) {
        gnutls_datum_t text = { 0 };
        unsigned status = gnutls_session_get_verify_cert_status(c->session);
        if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) < 0 || !text.data) {
                snprintf(buf, size, "verification failed (status 0x%x)", status);
                return;
        }
        snprintf(buf, size, "%s", (const char *) text.data);
        gnutls_free(text.data);
        size_t n = strlen(buf);
        while (n > 0 && buf[n - 1] == ' ')
                buf[--n] = '\0';
}

/* A fatal GnuTLS error while doing `what`: an alert, a certificate that did not verify, or
 * anything else GnuTLS has words for. */
static enum step fail_tls(nts_ke_client *c, int error, const char *what) {
        if (error == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
                char words[200];
                certificate_status_words(c, words, sizeof(words));
                return fail(c, NTS_KE_FAILURE_CERTIFICATE, "%s: %s", c->host, words);
        }
        if (error == GNUTLS_E_FATAL_ALERT_RECEIVED) {
                const char *alert = gnutls_alert_get_name(gnutls_alert_get(c->session));
                return fail(c, NTS_KE_FAILURE_TLS, "TLS alert from the server %s: %s", what,
                            alert ? alert : "(unknown)");
        }
        if (error == GNUTLS_E_PREMATURE_TERMINATION)
                return fail(c, NTS_KE_FAILURE_TLS, "the server closed the connection %s", what);
        return fail(c, NTS_KE_FAILURE_TLS, "TLS error %s: %s", what, gnutls_strerror(error));
}

/* Errors GnuTLS wants the call repeated after, at once or when the socket is ready. */
static bool tls_retry_now(int error) {
        return error == GNUTLS_E_INTERRUPTED || error == GNUTLS_E_WARNING_ALERT_RECEIVED;
}

/* ---- the steps ---- */

static enum step step_connect(nts_ke_client *c) {
        int error = 0;
        socklen_t len = sizeof(error);
        char address[INET6_ADDRSTRLEN];

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
                error = errno;
        if (error != 0) {
                net_address_to_string(&c->address, address, sizeof(address));
                return fail(c, NTS_KE_FAILURE_CONNECT, "%s port %u: %s", address, address_port(&c->address),
                            strerror(error));
        }
        c->stage = STAGE_HANDSHAKE;
        return STEP_NEXT;
}

static bool alpn_is_ntske(nts_ke_client *c, char *selected, size_t size) {
        gnutls_datum_t p = { 0 };
        if (gnutls_alpn_get_selected_protocol(c->session, &p) < 0) {
                snprintf(selected, size, "none");
                return false;
        }
        snprintf(selected, size, "\"%.*s\"", (int) (p.size < 64 ? p.size : 64), (const char *) p.data);
        return p.size == strlen(NTS_KE_ALPN) && memcmp(p.data, NTS_KE_ALPN, p.size) == 0;
}

static enum step step_handshake(nts_ke_client *c) {
        int r;
        do
                r = gnutls_handshake(c->session);
        while (r < 0 && tls_retry_now(r));
        if (r == GNUTLS_E_AGAIN)
                return wait_for_tls(c);
        if (r < 0)
                return fail_tls(c, r, "in the handshake");

        /* The priority allows nothing else; checked all the same, the protocol requires it. */
        gnutls_protocol_t version = gnutls_protocol_get_version(c->session);
        if (version != GNUTLS_TLS1_3)
                return fail(c, NTS_KE_FAILURE_TLS, "the server negotiated %s, not TLS 1.3",
                            gnutls_protocol_get_name(version) ?: "an unknown version");
        char selected[80];
        if (!alpn_is_ntske(c, selected, sizeof(selected)))
                return fail(c, NTS_KE_FAILURE_TLS, "the server did not select ALPN \"%s\" (selected: %s)", NTS_KE_ALPN,
                            selected);
        c->stage = STAGE_SEND;
        return STEP_NEXT;
}

static enum step step_send(nts_ke_client *c) {
        while (c->request_sent < c->request_len) {
                ssize_t n = gnutls_record_send(c->session, c->request + c->request_sent,
                                               c->request_len - c->request_sent);
                if (n == GNUTLS_E_AGAIN)
                        return wait_for_tls(c);
                if (n < 0 && tls_retry_now((int) n))
                        continue;
                if (n < 0)
                        return fail_tls(c, (int) n, "sending the request");
                c->request_sent += (size_t) n;
        }
        c->stage = STAGE_RECEIVE;
        return STEP_NEXT;
}

static enum step export_keys(nts_ke_client *c, uint16_t aead) {
        struct nts_keys *k = &c->result.keys;
        size_t key_len = nts_aead_key_length(aead);
        if (key_len == 0 || key_len > NTS_KEY_MAX_SIZE)
                return fail(c, NTS_KE_FAILURE_PROTOCOL, "no key length known for AEAD %u", aead);

        for (int s2c = 0; s2c <= 1; s2c++) {
                uint8_t context[NTS_KE_EXPORTER_CONTEXT_SIZE];
                nts_ke_exporter_context(aead, s2c, context);
                int r = gnutls_prf_rfc5705(c->session, strlen(NTS_KE_EXPORTER_LABEL), NTS_KE_EXPORTER_LABEL,
                                           sizeof(context), (const char *) context, key_len,
                                           (char *) (s2c ? k->s2c : k->c2s));
                if (r < 0)
                        return fail(c, NTS_KE_FAILURE_TLS, "cannot export the keys: %s", gnutls_strerror(r));
        }
        k->aead = aead;
        k->key_len = (uint16_t) key_len;
        return STEP_NEXT;
}

/* The complete message, len bytes long: the response and the keys, then the end. */
static enum step accept_response(nts_ke_client *c, size_t len) {
        struct nts_ke_response *response = &c->result.response;
        uint16_t detail = 0;
        char words[128];

        enum nts_ke_reason reason = nts_ke_response_parse(c->response, len, offered_aeads, ELEMENTSOF(offered_aeads),
                                                          response, &detail);
        if (reason != NTS_KE_OK)
                return fail(c, NTS_KE_FAILURE_PROTOCOL, "%s", nts_ke_reason_format(reason, detail, words, sizeof(words)));
        if (export_keys(c, response->aead) == STEP_ENDED)
                return STEP_ENDED;
        /* close_notify, once and without waiting: the keys are ours whatever the server does. */
        (void) gnutls_bye(c->session, GNUTLS_SHUT_WR);
        c->result.failure = NTS_KE_FAILURE_NONE;
        c->result.reason[0] = '\0';
        return end_exchange(c);
}

/* The server hung up before its End of Message: what the codec makes of the part received. */
static enum step fail_truncated(nts_ke_client *c) {
        uint16_t detail = 0;
        char words[128];
        struct nts_ke_response ignored;
        enum nts_ke_reason reason = nts_ke_response_parse(c->response, c->response_len, offered_aeads,
                                                          ELEMENTSOF(offered_aeads), &ignored, &detail);
        if (reason == NTS_KE_OK)
                reason = NTS_KE_MISSING_END;
        return fail(c, NTS_KE_FAILURE_PROTOCOL, "the server closed the connection after %zu bytes: %s", c->response_len,
                    nts_ke_reason_format(reason, detail, words, sizeof(words)));
}

static enum step step_receive(nts_ke_client *c) {
        for (;;) {
                size_t message_len = 0;
                int r = nts_ke_message_scan(c->response, c->response_len, &message_len);
                if (r > 0)
                        return accept_response(c, message_len);
                if (r < 0 || c->response_len >= sizeof(c->response))
                        return fail(c, NTS_KE_FAILURE_PROTOCOL, "the response is longer than %d bytes",
                                    NTS_KE_MAX_MESSAGE_SIZE);

                ssize_t n = gnutls_record_recv(c->session, c->response + c->response_len,
                                               sizeof(c->response) - c->response_len);
                if (n == GNUTLS_E_AGAIN)
                        return wait_for_tls(c);
                if (n < 0 && tls_retry_now((int) n))
                        continue;
                if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
                        return fail_truncated(c);
                if (n < 0)
                        return fail_tls(c, (int) n, "receiving the response");
                c->response_len += (size_t) n;
        }
}

/* Runs the steps until one waits or the exchange ends. */
static void advance(nts_ke_client *c) {
        for (;;) {
                enum step s;
                switch (c->stage) {
                case STAGE_CONNECT:
                        s = step_connect(c);
                        break;
                case STAGE_HANDSHAKE:
                        s = step_handshake(c);
                        break;
                case STAGE_SEND:
                        s = step_send(c);
                        break;
                case STAGE_RECEIVE:
                        s = step_receive(c);
                        break;
                default:
                        return;
                }
                if (s != STEP_NEXT)
                        return;
        }
}

/* ---- event sources ---- */

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        advance(userdata);
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        nts_ke_client *c = userdata;
        (void) fail(c, NTS_KE_FAILURE_TIMEOUT, "no complete exchange within %llu ms (%s)",
                    (unsigned long long) (c->timeout_usec / 1000), stage_words(c->stage));
        return 0;
}

static int on_early_end(sd_event_source *s, void *userdata) {
        (void) end_exchange(userdata);
        return 0;
}

/* A failure found while starting: reported from the loop, so that done never runs inside
 * nts_ke_client_start(). */
static int end_early(nts_ke_client *c) {
        return sd_event_add_defer(c->event, &c->early_end, on_early_end, c);
}

/* ---- setting up ---- */

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && streq(s + n - m, suffix);
}

static int load_trust_file(nts_ke_client *c, const char *path) {
        int r = gnutls_certificate_set_x509_trust_file(c->credentials, path, GNUTLS_X509_FMT_PEM);
        if (r < 0) {
                set_failure(c, NTS_KE_FAILURE_LOCAL, "cannot read trust anchors from %s: %s", path, gnutls_strerror(r));
                return -EIO;
        }
        return r;
}

/* Every *.pem and *.crt in the directory; the number of certificates. */
static int load_trust_directory(nts_ke_client *c, const char *dir) {
        DIR *d = opendir(dir);
        int total = 0;
        if (!d) {
                set_failure(c, NTS_KE_FAILURE_LOCAL, "cannot read trust anchors from %s: %s", dir, strerror(errno));
                return -errno;
        }
        for (struct dirent *e; (e = readdir(d));) {
                _cleanup_free_ char *path = NULL;
                if (e->d_name[0] == '.' || !(has_suffix(e->d_name, ".pem") || has_suffix(e->d_name, ".crt")))
                        continue;
                if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
                int r = load_trust_file(c, path);
                if (r < 0) {
                        closedir(d);
                        return r;
                }
                total += r;
        }
        closedir(d);
        return total;
}

static int load_trust(nts_ke_client *c, const char *ca) {
        struct stat st;
        int r;

        if (!ca) {
                r = gnutls_certificate_set_x509_system_trust(c->credentials);
                if (r < 0)
                        set_failure(c, NTS_KE_FAILURE_LOCAL, "cannot read the system's trust anchors: %s",
                                    gnutls_strerror(r));
                return r < 0 ? -EIO : 0;
        }
        if (stat(ca, &st) < 0) {
                set_failure(c, NTS_KE_FAILURE_LOCAL, "cannot read trust anchors from %s: %s", ca, strerror(errno));
                return -errno;
        }
        r = S_ISDIR(st.st_mode) ? load_trust_directory(c, ca) : load_trust_file(c, ca);
        if (r == 0) {
                set_failure(c, NTS_KE_FAILURE_LOCAL, "no certificate in %s", ca);
                return -ENOENT;
        }
        return r < 0 ? r : 0;
}

static bool is_address_literal(const char *host) {
        struct in6_addr a;
        return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
}

/* The session, before the connection exists: TLS 1.3 only, SNI, ALPN, the certificate check. */
static int setup_session(nts_ke_client *c, bool noval) {
        const gnutls_datum_t alpn = { .data = (unsigned char *) NTS_KE_ALPN, .size = strlen(NTS_KE_ALPN) };
        int r;

        /* NO_SIGNAL: a server that hangs up must not kill the daemon with SIGPIPE. */
        r = gnutls_init(&c->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL);
        if (r < 0) {
                c->session = NULL;
                return -ENOMEM;
        }
        r = gnutls_set_default_priority_append(c->session, TLS13_ONLY_PRIORITY, NULL, 0);
        if (r >= 0)
                r = gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE, c->credentials);
        if (r >= 0)
                r = gnutls_alpn_set_protocols(c->session, &alpn, 1, 0);
        /* SNI carries names only (RFC 6066 §3); the certificate check takes addresses too. */
        if (r >= 0 && !is_address_literal(c->host))
                r = gnutls_server_name_set(c->session, GNUTLS_NAME_DNS, c->host, strlen(c->host));
        if (r < 0)
                return -EIO;
        if (!noval)
                gnutls_session_set_verify_cert(c->session, c->host, 0);
        gnutls_transport_set_int(c->session, c->fd);
        return 0;
}

/* 0 with the connection on its way; 1 when it failed at once (c->result says why). */
static int start_connect(nts_ke_client *c) {
        char address[INET6_ADDRSTRLEN];

        c->fd = socket(c->address.sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (c->fd < 0) {
                set_failure(c, NTS_KE_FAILURE_LOCAL, "cannot open a TCP socket: %s", strerror(errno));
                return 1;
        }
        /* The request and the alerts are small: no waiting for more to send. */
        (void) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &(int) { 1 }, sizeof(int));
        if (connect(c->fd, &c->address.sa.sa, c->address.len) < 0 && errno != EINPROGRESS) {
                net_address_to_string(&c->address, address, sizeof(address));
                set_failure(c, NTS_KE_FAILURE_CONNECT, "%s port %u: %s", address, address_port(&c->address),
                            strerror(errno));
                return 1;
        }
        return 0;
}

static bool options_valid(const struct nts_ke_client_options *o) {
        int family = o->address.sa.sa.sa_family;
        return o->host && o->host[0] && strlen(o->host) <= NTS_KE_MAX_SERVER_NAME &&
               ((family == AF_INET && o->address.len == sizeof(struct sockaddr_in)) ||
                (family == AF_INET6 && o->address.len == sizeof(struct sockaddr_in6)));
}

/* A name as GnuTLS compares it: without the trailing dot of a fully qualified one. */
static char *host_without_dot(const char *host) {
        char *h = strdup(host);
        size_t n = h ? strlen(h) : 0;
        if (n > 1 && h[n - 1] == '.')
                h[n - 1] = '\0';
        return h;
}

DEFINE_POINTER_CLEANUP(nts_ke_client, nts_ke_client_free);

/* Credentials, session, connection: the early failures (trust anchors, connect) are kept for
 * the loop; what fails otherwise fails the start. */
static int prepare(nts_ke_client *c, const struct nts_ke_client_options *o) {
        int r;

        if (gnutls_certificate_allocate_credentials(&c->credentials) < 0) {
                c->credentials = NULL;
                return -ENOMEM;
        }
        if (!o->noval && load_trust(c, o->ca) < 0)
                return end_early(c);
        if (start_connect(c) > 0)
                return end_early(c);
        r = setup_session(c, o->noval);
        if (r < 0)
                return r;
        /* Connected when writable; the handshake takes over from there. */
        return sd_event_add_io(c->event, &c->io, c->fd, EPOLLOUT, on_io, c);
}

int nts_ke_client_start(sd_event *event, const struct nts_ke_client_options *o, nts_ke_client_done_t done,
                        void *userdata, nts_ke_client **ret) {
        _cleanup_(nts_ke_client_freep) nts_ke_client *c = NULL;
        int r;

        if (!event || !o || !done || !ret || !options_valid(o))
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->fd = -1;
        c->event = sd_event_ref(event);
        c->done = done;
        c->userdata = userdata;
        c->address = o->address;
        if (address_port(&c->address) == 0)
                net_address_set_port(&c->address, NTS_KE_PORT);
        c->timeout_usec = o->timeout_usec ? o->timeout_usec : NTS_KE_CLIENT_TIMEOUT_USEC;
        c->host = host_without_dot(o->host);
        if (!c->host)
                return -ENOMEM;
        r = nts_ke_request_build(offered_aeads, ELEMENTSOF(offered_aeads), c->request, sizeof(c->request),
                                 &c->request_len);
        if (r < 0)
                return r;

        r = sd_event_add_time_relative(event, &c->deadline, CLOCK_MONOTONIC, c->timeout_usec, DEADLINE_ACCURACY_USEC,
                                       on_deadline, c);
        if (r < 0)
                return r;
        r = prepare(c, o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

nts_ke_client *nts_ke_client_free(nts_ke_client *c) {
        if (!c)
                return NULL;
        release_connection(c);
        sd_event_unref(c->event);
        nts_wipe(&c->result, sizeof(c->result));
        nts_wipe(c->response, sizeof(c->response));
        free(c->host);
        free(c);
        return NULL;
}
