/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The NTS side of a peer of an `nts` server line (RFC 8915 §5): its key establishment (retried
 * with a back-off), its keys and cookies (kept in the state directory across restarts), and the
 * fields its requests carry and its responses must prove. Nothing that fails here ever reaches the
 * engine: an NTS source is never used unauthenticated. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/nts-cookie.h"
#include "core/nts-ntp.h"
#include "file-io.h"
#include "log.h"
#include "manager.h"
#include "nts-gnutls.h"
#include "nts-ke-client.h"

#define KE_RETRY_MIN_USEC (8ULL * 1000000)
#define KE_RETRY_MAX_USEC (1024ULL * 1000000)
/* Responses that fail to authenticate in a row before the keys are taken to be bad. */
#define AUTH_FAILURES_BEFORE_KE 4

struct peer_nts {
        struct peer *peer;
        enum peer_nts_state state;
        char reason[320];            /* FAILED: why the last key establishment failed */
        nts_ke_client *ke;
        sd_event_source *ke_retry;
        unsigned ke_failures;        /* in a row, for the back-off */
        uint64_t ke_time;            /* realtime seconds of the last successful key establishment */
        char ntp_server[NTS_KE_MAX_SERVER_NAME + 1]; /* what the KE server named, "" for itself */
        uint16_t ntp_port;           /* likewise, 0 for 123 */
        struct nts_aead aead;
        struct nts_keys keys;
        struct nts_cookie_jar jar;
        uint8_t uid[NTS_UID_SIZE];   /* of the request in flight */
        bool uid_pending;
        unsigned auth_failures;
        uint64_t rejected;           /* responses dropped */
        enum nts_ntp_reason last_rejection;
        char *state_path;            /* NULL: nothing kept (a query) */
};

static const char *const state_words[_PEER_NTS_STATE_MAX] = {
        [PEER_NTS_KE_PENDING] = "ke-pending",
        [PEER_NTS_ESTABLISHED] = "established",
        [PEER_NTS_FAILED] = "failed",
};

const char *peer_nts_state_to_string(enum peer_nts_state s) {
        return s >= 0 && s < _PEER_NTS_STATE_MAX ? state_words[s] : "unknown";
}

static const char *peer_name(const struct peer *p) {
        return p->owner->config.host;
}

/* ---- the state file ---- */

static void save_state(struct peer_nts *n) {
        if (!n->state_path || n->state != PEER_NTS_ESTABLISHED)
                return;
        struct nts_client_state st = { .keys = n->keys, .jar = n->jar, .ke_time = n->ke_time, .port = n->ntp_port };
        memcpy(st.server, n->ntp_server, sizeof(st.server));
        uint8_t buf[NTS_STATE_MAX_SIZE];
        size_t len;
        int r = nts_client_state_save(&st, buf, sizeof(buf), &len);
        if (r >= 0)
                r = write_file_atomic(n->state_path, (const char *) buf, len, 0600);
        if (r < 0)
                log_warning_errno(r, "source %s: cannot keep the NTS cookies in %s, ignoring", peer_name(n->peer),
                                  n->state_path);
        nts_wipe(&st, sizeof(st));
        nts_wipe(buf, sizeof(buf));
}

static void forget_state(struct peer_nts *n) {
        if (n->state_path)
                (void) unlink(n->state_path);
}

/* Keys and cookies from an earlier run: no key establishment needed while they last. */
static bool load_state(struct peer_nts *n) {
        char *text = NULL;
        if (!n->state_path)
                return false;
        ssize_t len = read_small_file(n->state_path, NTS_STATE_MAX_SIZE, false, &text);
        if (len < 0) {
                if (len != -ENOENT)
                        log_warning_errno((int) len, "source %s: cannot read %s, ignoring", peer_name(n->peer),
                                          n->state_path);
                return false;
        }
        struct nts_client_state st;
        const char *error = NULL;
        int r = nts_client_state_load((const uint8_t *) text, (size_t) len, &st, &error);
        nts_wipe(text, (size_t) len);
        free(text);
        if (r < 0 || st.keys.aead != n->aead.ops->id || nts_cookie_jar_count(&st.jar) == 0) {
                log_warning("source %s: %s: %s; a new key establishment instead", peer_name(n->peer), n->state_path,
                            r < 0 ? error : "no usable cookies");
                nts_wipe(&st, sizeof(st));
                return false;
        }
        n->keys = st.keys;
        n->jar = st.jar;
        n->ke_time = st.ke_time;
        memcpy(n->ntp_server, st.server, sizeof(n->ntp_server));
        n->ntp_port = st.port;
        nts_wipe(&st, sizeof(st));
        log_info("source %s: NTS keys and %zu cookies from %s", peer_name(n->peer), nts_cookie_jar_count(&n->jar),
                 n->state_path);
        return true;
}

/* ---- key establishment ---- */

static void start_ke(struct peer_nts *n);

static int on_ke_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct peer_nts *n = userdata;
        n->ke_retry = sd_event_source_disable_unref(n->ke_retry);
        start_ke(n);
        return 0;
}

static void schedule_ke_retry(struct peer_nts *n) {
        uint64_t delay = KE_RETRY_MIN_USEC << (n->ke_failures < 8 ? n->ke_failures : 8);
        if (delay > KE_RETRY_MAX_USEC)
                delay = KE_RETRY_MAX_USEC;
        n->ke_failures++;
        n->ke_retry = sd_event_source_disable_unref(n->ke_retry);
        (void) sd_event_add_time_relative(n->peer->manager->event, &n->ke_retry, CLOCK_MONOTONIC, delay, 0,
                                          on_ke_retry, n);
}

/* The NTP server and port the KE server named (n->ntp_server, n->ntp_port), when it named an
 * address or a port: the peer's socket goes there. */
static void use_negotiated_server(struct peer_nts *n) {
        struct peer *p = n->peer;
        struct net_address target = net_address_ntp_target(&p->address);
        if (n->ntp_server[0] && net_address_parse(n->ntp_server, &target) < 0 &&
            strcasecmp(n->ntp_server, peer_name(p)) != 0)
                log_notice("source %s: the KE server names NTP server %s; asking %s instead (only addresses and its "
                           "own name are followed)", peer_name(p), n->ntp_server, p->address_text);
        net_address_set_port(&target, n->ntp_port ? n->ntp_port : 123);
        if (target.len == p->ntp_address.len && memcmp(&target.sa, &p->ntp_address.sa, target.len) == 0)
                return;
        p->ntp_address = target;
        char text[64];
        net_address_to_string(&target, text, sizeof(text));
        int r = peer_reopen(p);
        if (r < 0)
                log_warning_errno(r, "source %s: cannot reach NTP server %s, which the KE server named", peer_name(p),
                                  text);
        else
                log_info("source %s: NTP to %s port %u, as the KE server says", peer_name(p), text,
                         n->ntp_port ? n->ntp_port : 123);
}

static void ke_done(nts_ke_client *c, const struct nts_ke_client_result *result, void *userdata) {
        struct peer_nts *n = userdata;
        n->ke = nts_ke_client_free(c);
        if (result->failure != NTS_KE_FAILURE_NONE) {
                n->state = PEER_NTS_FAILED;
                snprintf(n->reason, sizeof(n->reason), "%s: %s", nts_ke_failure_to_string(result->failure),
                         result->reason);
                log_warning("source %s (%s): NTS key establishment failed: %s; not used until one succeeds",
                            peer_name(n->peer), n->peer->address_text, n->reason);
                schedule_ke_retry(n);
                manager_notify_changed(n->peer->manager);
                return;
        }
        n->keys = result->keys;
        nts_cookie_jar_clear(&n->jar);
        nts_cookie_jar_put_all(&n->jar, result->response.cookies, result->response.n_cookies);
        n->state = PEER_NTS_ESTABLISHED;
        n->reason[0] = '\0';
        n->ke_failures = 0;
        n->auth_failures = 0;
        n->ke_time = (uint64_t) (now_realtime_ns() / 1000000000);
        log_info("source %s (%s): NTS key establishment done: AEAD %u, %zu cookies", peer_name(n->peer),
                 n->peer->address_text, n->keys.aead, nts_cookie_jar_count(&n->jar));
        snprintf(n->ntp_server, sizeof(n->ntp_server), "%s", result->response.server);
        n->ntp_port = result->response.has_port ? result->response.port : 0;
        use_negotiated_server(n);
        save_state(n);
        /* The polls missed while waiting for keys: at once, not at the next interval. */
        engine_poll_source_now(n->peer->manager->engine, n->peer->engine_id, now_monotonic_ns());
        manager_dispatch(n->peer->manager);
}

static void start_ke(struct peer_nts *n) {
        struct peer *p = n->peer;
        const struct config_server *c = &p->owner->config;
        if (n->ke || n->ke_retry)
                return;
        struct nts_ke_client_options o = {
                .host = c->host,
                .address = p->address,
                .ca = c->ca[0] ? c->ca : p->manager->config.nts_ca[0] ? p->manager->config.nts_ca : NULL,
                .noval = c->noval,
        };
        net_address_set_port(&o.address, c->port ? c->port : NTS_KE_PORT);
        if (n->state != PEER_NTS_FAILED)
                n->state = PEER_NTS_KE_PENDING;
        n->uid_pending = false;
        int r = nts_ke_client_start(p->manager->event, &o, ke_done, n, &n->ke);
        if (r < 0) {
                n->state = PEER_NTS_FAILED;
                snprintf(n->reason, sizeof(n->reason), "local: %s", strerror(-r));
                schedule_ke_retry(n);
        }
}

/* The keys are gone or no good: forget them and the cookies, and establish new ones. */
static void restart_ke(struct peer_nts *n, const char *why) {
        log_notice("source %s (%s): %s; a new NTS key establishment", peer_name(n->peer), n->peer->address_text, why);
        nts_cookie_jar_clear(&n->jar);
        nts_wipe(&n->keys, sizeof(n->keys));
        n->state = PEER_NTS_KE_PENDING;
        n->auth_failures = 0;
        forget_state(n);
        start_ke(n);
        manager_notify_changed(n->peer->manager);
}

/* ---- the peer's NTS life ---- */

static struct log_ratelimit dropped_log = LOG_RATELIMIT_INIT;

/* Said once per packet, within a budget: anyone on the path can send packets to drop. */
static void log_dropped(const struct peer *p, enum nts_ntp_reason r) {
        unsigned suppressed = 0;
        if (!log_ratelimit_allow(&dropped_log, (uint64_t) now_monotonic_ns() / 1000, &suppressed))
                return;
        if (suppressed)
                log_debug("%u messages about dropped NTS responses suppressed", suppressed);
        log_debug("source %s: NTS response dropped: %s", p->address_text, nts_ntp_reason_to_string(r));
}

static char *state_path_of(const struct peer *p) {
        char *path = NULL;
        if (p->manager->query || !p->manager->state_dir)
                return NULL;
        if (asprintf(&path, "%s/nts-%s-%s", p->manager->state_dir, peer_name(p), p->address_text) < 0)
                return NULL;
        return path;
}

int peer_nts_new(struct peer *p) {
        struct peer_nts *n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->peer = p;
        int r = nts_gnutls_aead_new(&n->aead);
        if (r < 0) {
                free(n);
                return r;
        }
        n->state_path = state_path_of(p);
        p->nts = n;
        if (p->owner->config.noval)
                log_warning("source %s: NTS certificate checks are OFF (noval): anyone on the path can pose as it",
                            peer_name(p));
        if (load_state(n)) {
                n->state = PEER_NTS_ESTABLISHED;
                use_negotiated_server(n);
        } else
                start_ke(n);
        return 0;
}

void peer_nts_free(struct peer *p) {
        struct peer_nts *n = p ? p->nts : NULL;
        if (!n)
                return;
        save_state(n);
        nts_ke_client_free(n->ke);
        sd_event_source_disable_unref(n->ke_retry);
        nts_gnutls_aead_free(&n->aead);
        nts_wipe(&n->keys, sizeof(n->keys));
        nts_wipe(&n->jar, sizeof(n->jar));
        free(n->state_path);
        free(n);
        p->nts = NULL;
}

int peer_nts_wrap_request(struct peer *p, const uint8_t *header, uint8_t *buf, size_t size, size_t *ret_len) {
        struct peer_nts *n = p->nts;
        struct nts_cookie cookie;
        if (n->state != PEER_NTS_ESTABLISHED || nts_cookie_jar_take(&n->jar, &cookie) < 0) {
                if (n->state == PEER_NTS_ESTABLISHED)
                        restart_ke(n, "no cookies left");
                else
                        start_ke(n);
                return -EAGAIN;
        }
        uint8_t nonce[NTS_NONCE_SIZE];
        int r = nts_random_nonce(n->uid, sizeof(n->uid));
        if (r >= 0)
                r = nts_random_nonce(nonce, sizeof(nonce));
        if (r >= 0)
                r = nts_aead_set_key(&n->aead, n->keys.c2s, n->keys.key_len);
        struct nts_ntp_client_request req = {
                .uid = n->uid,
                .uid_len = sizeof(n->uid),
                .cookie = &cookie,
                .n_placeholders = nts_cookie_jar_placeholders(&n->jar, cookie.len),
                .nonce = nonce,
        };
        if (r >= 0)
                r = nts_ntp_client_request_build(header, &req, &n->aead, &n->keys, buf, size, ret_len);
        nts_wipe(&cookie, sizeof(cookie));
        n->uid_pending = r >= 0;
        return r;
}

enum peer_nts_verdict peer_nts_check_response(struct peer *p, const uint8_t *buf, size_t len) {
        struct peer_nts *n = p->nts;
        struct nts_ntp_cookies fresh;
        /* No request in flight (its answer came already: this is a copy) or no keys: nothing matches. */
        enum nts_ntp_reason r = !n->uid_pending || n->state != PEER_NTS_ESTABLISHED ? NTS_NTP_UID_MISMATCH
                                : nts_aead_set_key(&n->aead, n->keys.s2c, n->keys.key_len) < 0
                                        ? NTS_NTP_AUTH_FAILED
                                        : nts_ntp_client_response_verify(buf, len, n->uid, sizeof(n->uid), &n->aead,
                                                                         &n->keys, &fresh);
        if (r == NTS_NTP_NAK) {
                n->uid_pending = false;
                restart_ke(n, "the server answered with an NTS NAK");
                return PEER_NTS_NAK;
        }
        if (r != NTS_NTP_OK) {
                n->rejected++;
                n->last_rejection = r;
                log_dropped(p, r);
                if (r == NTS_NTP_AUTH_FAILED && ++n->auth_failures >= AUTH_FAILURES_BEFORE_KE)
                        restart_ke(n, "responses keep failing authentication");
                return PEER_NTS_DROP;
        }
        /* One response per request: a copy of this one no longer matches (a replay). */
        n->uid_pending = false;
        n->auth_failures = 0;
        nts_cookie_jar_put_all(&n->jar, fresh.cookies, fresh.n);
        nts_wipe(&fresh, sizeof(fresh));
        return PEER_NTS_ACCEPT;
}

void peer_nts_get_info(const struct peer *p, struct peer_nts_info *ret) {
        const struct peer_nts *n = p->nts;
        if (!n) {
                *ret = (struct peer_nts_info) { .nts = false };
                return;
        }
        *ret = (struct peer_nts_info) {
                .nts = true,
                .state = n->state,
                .reason = n->reason,
                .cookies = nts_cookie_jar_count(&n->jar),
                .ke_time = n->ke_time,
                .rejected = n->rejected,
                .last_rejection = n->rejected ? nts_ntp_reason_to_string(n->last_rejection) : "",
        };
}
