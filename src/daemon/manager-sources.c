/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Configured servers and pools: resolving their names, opening a socket per address, handing
 * each to the engine, and replacing pool members that stop being useful. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/unaligned.h"
#include "log.h"
#include "manager.h"

#define RETRY_MIN_USEC (2ULL * 1000000)
#define RETRY_MAX_USEC (512ULL * 1000000)
#define RECEIVE_BATCH 16

static struct log_ratelimit bad_packet_log = LOG_RATELIMIT_INIT;

static uint64_t now_usec(void) {
        return (uint64_t) now_monotonic_ns() / 1000;
}

static void log_rejected(const struct peer *p, enum response_result r, const uint8_t *packet, size_t len,
                         int64_t rx_ns) {
        unsigned suppressed = 0;
        if (!log_ratelimit_allow(&bad_packet_log, now_usec(), &suppressed))
                return;
        if (suppressed)
                log_debug("%u packet messages suppressed", suppressed);
        if (r != RESPONSE_BAD_TIMESTAMPS || len < NTP_HEADER_SIZE) {
                log_debug("source %s: packet ignored: %s", p->address_text, response_result_to_string(r));
                return;
        }
        /* Which side is off: the server's own two times, and ours against its transmit time. */
        ntp_ts t2 = unaligned_read_be64(packet + 32), t3 = unaligned_read_be64(packet + 40);
        log_debug("source %s: packet ignored: %s (server %+.9f s from receive to transmit, "
                  "received here %+.9f s after its transmit timestamp)",
                  p->address_text, response_result_to_string(r), ntp_ts_diff(t3, t2),
                  ntp_ts_diff(ntp_ts_from_unix_ns(rx_ns), t3));
}

static void log_kod(const struct peer *p, enum response_result r) {
        if (r == RESPONSE_KOD_DENY)
                log_warning("source %s: access denied by the server (kiss-o'-death), no longer polled", p->address_text);
        else if (r == RESPONSE_KOD_RATE)
                log_notice("source %s: asked to poll less often (kiss-o'-death RATE)", p->address_text);
}

static void receive_all(struct peer *p) {
        manager *m = p->manager;
        uint8_t buf[NTP_MAX_PACKET_SIZE + 1];

        for (int i = 0; i < RECEIVE_BATCH; i++) {
                int64_t rx_ns;
                ssize_t n = net_receive(p->fd, buf, sizeof(buf), &rx_ns);
                if (n == -EAGAIN || n == -EWOULDBLOCK)
                        return;
                if (n < 0) {
                        /* ICMP errors (port unreachable, ...) surface here: the poll just goes unanswered. */
                        log_debug("source %s: receive failed: %s", p->address_text, strerror((int) -n));
                        continue;
                }
                size_t len = (size_t) n;
                if (p->nts) {
                        if (peer_nts_check_response(p, buf, len) != PEER_NTS_ACCEPT)
                                continue;
                        len = NTP_HEADER_SIZE; /* the fields are checked; the engine judges the time */
                }
                enum response_result r = engine_receive(m->engine, p->engine_id, buf, len, rx_ns, now_monotonic_ns());
                if (response_result_is_kod(r))
                        log_kod(p, r);
                else if (r != RESPONSE_OK)
                        log_rejected(p, r, buf, len, rx_ns);
        }
}

static int on_peer_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct peer *p = userdata;
        manager *m = p->manager;
        int64_t tx_ns;

        if (revents & EPOLLERR)
                while (net_read_tx_timestamp(fd, &tx_ns) == 0)
                        engine_request_sent(m->engine, p->engine_id, tx_ns);
        /* Also on EPOLLERR: reading is what clears a pending socket error (an ICMP unreachable). */
        receive_all(p);
        manager_dispatch(m);
        return 0;
}

static void peer_free(struct peer *p) {
        if (!p)
                return;
        peer_nts_free(p);
        if (p->engine_id)
                engine_remove_source(p->manager->engine, p->engine_id);
        sd_event_source_disable_unref(p->io);
        if (p->fd >= 0)
                close(p->fd);
        free(p);
}

static bool address_in_use(const struct msource *s, const struct net_address *a) {
        for (size_t i = 0; i < s->n_peers; i++)
                if (s->peers[i]->address.len == a->len && memcmp(&s->peers[i]->address.sa, &a->sa, a->len) == 0)
                        return true;
        return false;
}

static int peer_add(struct msource *s, const struct net_address *a) {
        manager *m = s->manager;
        if (s->n_peers >= MANAGER_MAX_PEERS_PER_SOURCE)
                return -E2BIG;

        struct peer *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->manager = m;
        p->owner = s;
        p->address = *a;
        p->ntp_address = net_address_ntp_target(a);
        p->fd = -1;
        net_address_to_string(a, p->address_text, sizeof(p->address_text));

        int r = peer_reopen(p);
        if (r < 0 && !net_error_is_no_route(r)) {
                log_warning_errno(r, "source %s (%s): cannot open a socket", s->config.host, p->address_text);
                peer_free(p);
                return r;
        }
        /* No route yet: the source is there all the same (reach 0 in Sources, as ntpq -p shows it),
         * and each poll tries again. */
        if (r < 0)
                log_notice("source %s (%s): no route to it yet, polled once there is one", s->config.host,
                           p->address_text);

        struct engine_source_config ec = {
                .name = s->config.host,
                .refid = net_address_refid(a),
                /* A source added while running (SetServers, a pool replacement) starts with a
                 * burst, so that it counts at once. */
                .iburst = s->config.iburst || m->started,
                .prefer = s->config.prefer,
                .noselect = s->config.noselect,
                .xleave = s->config.xleave,
        };
        config_server_poll_range(&s->config, &ec.minpoll, &ec.maxpoll);
        int64_t id = engine_add_source(m->engine, &ec, now_monotonic_ns());
        if (id < 0) {
                peer_free(p);
                return (int) id;
        }
        p->engine_id = (uint32_t) id;
        if (s->config.nts && (r = peer_nts_new(p)) < 0) {
                peer_free(p);
                return r;
        }
        s->peers[s->n_peers++] = p;
        log_info("source %s: using %s", s->config.host, p->address_text);
        return 0;
}

static void peer_remove(struct msource *s, size_t i) {
        peer_free(s->peers[i]);
        memmove(&s->peers[i], &s->peers[i + 1], (s->n_peers - i - 1) * sizeof(s->peers[0]));
        s->n_peers--;
}

static size_t wanted_peers(const struct msource *s) {
        return s->config.pool ? s->config.maxsources : 1;
}

static void schedule_retry(struct msource *s);

static void on_resolved(void *userdata, int error, const struct net_address *addresses, size_t n) {
        struct msource *s = userdata;
        s->query = NULL;
        if (error < 0) {
                log_warning("source %s: %s, trying again later", s->config.host, resolve_strerror(error));
                schedule_retry(s);
                return;
        }
        for (size_t i = 0; i < n && s->n_peers < wanted_peers(s); i++)
                if (!address_in_use(s, &addresses[i]))
                        peer_add(s, &addresses[i]);
        if (s->n_peers == 0)
                schedule_retry(s);
        else
                s->retries = 0;
        manager_dispatch(s->manager);
}

static void start_resolving(struct msource *s) {
        if (s->query)
                return;
        int r = resolve_start(s->manager->resolver, s->config.host, on_resolved, s, &s->query);
        if (r < 0) {
                log_warning_errno(r, "source %s: cannot start resolving", s->config.host);
                schedule_retry(s);
        }
}

static int on_retry(sd_event_source *t, uint64_t usec, void *userdata) {
        struct msource *s = userdata;
        start_resolving(s);
        return 0;
}

static void schedule_retry(struct msource *s) {
        uint64_t delay = RETRY_MIN_USEC << (s->retries < 8 ? s->retries : 8);
        if (delay > RETRY_MAX_USEC)
                delay = RETRY_MAX_USEC;
        s->retries++;
        sd_event_source_disable_unref(s->retry_timer);
        s->retry_timer = NULL;
        (void) sd_event_add_time_relative(s->manager->event, &s->retry_timer, CLOCK_MONOTONIC, delay, 0, on_retry, s);
}

/* Now rather than after the backoff: the network just came (back). */
void msource_resolve_now(struct msource *s) {
        if (s->n_peers >= wanted_peers(s) || s->query)
                return;
        s->retry_timer = sd_event_source_disable_unref(s->retry_timer);
        s->retries = 0;
        start_resolving(s);
}

/* A new socket toward p->ntp_address: the first, one once there is a route, when the local address
 * the old one used is gone (a new socket picks a new one), or when NTS-KE named another NTP server
 * or port. The old socket stays when no new one can be had. */
int peer_reopen(struct peer *p) {
        bool tx;
        int fd = net_client_socket(&p->ntp_address, &tx);
        if (fd < 0)
                return fd;
        p->io = sd_event_source_disable_unref(p->io);
        if (p->fd >= 0)
                close(p->fd);
        p->fd = fd;
        return sd_event_add_io(p->manager->event, &p->io, p->fd, EPOLLIN, on_peer_io, p);
}

int msource_add(manager *m, const struct config_server *c) {
        struct msource **list = realloc(m->sources, (m->n_sources + 1) * sizeof(*list));
        if (!list)
                return -ENOMEM;
        m->sources = list;
        struct msource *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->manager = m;
        s->config = *c;
        m->sources[m->n_sources++] = s;
        start_resolving(s);
        return 0;
}

void msource_free(struct msource *s) {
        if (!s)
                return;
        resolve_cancel(s->query);
        sd_event_source_disable_unref(s->retry_timer);
        while (s->n_peers > 0)
                peer_remove(s, s->n_peers - 1);
        free(s);
}

struct peer *manager_find_peer(manager *m, uint32_t engine_id) {
        for (size_t i = 0; i < m->n_sources; i++)
                for (size_t j = 0; j < m->sources[i]->n_peers; j++)
                        if (m->sources[i]->peers[j]->engine_id == engine_id)
                                return m->sources[i]->peers[j];
        return NULL;
}

/* A pool member that stays unreachable, is a falseticker, or refused us makes room for another
 * address of the pool. */
static bool member_is_useless(manager *m, const struct peer *p) {
        struct engine_source_info info;
        if (engine_get_source(m->engine, p->engine_id, &info) < 0)
                return true;
        return info.state == SOURCE_STATE_UNREACHABLE || info.state == SOURCE_STATE_DENIED ||
               info.state == SOURCE_STATE_FALSETICKER;
}

static void refresh_pool(struct msource *s) {
        for (size_t i = s->n_peers; i-- > 0;)
                if (member_is_useless(s->manager, s->peers[i])) {
                        log_info("source %s: dropping %s, looking for a replacement", s->config.host,
                                 s->peers[i]->address_text);
                        peer_remove(s, i);
                }
        if (s->n_peers < wanted_peers(s))
                start_resolving(s);
}

void manager_refresh_pools(manager *m) {
        for (size_t i = 0; i < m->n_sources; i++)
                if (m->sources[i]->config.pool)
                        refresh_pool(m->sources[i]);
}

/* Logs each change of a peer's reachability once. */
void manager_log_reachability(manager *m) {
        for (size_t i = 0; i < m->n_sources; i++)
                for (size_t j = 0; j < m->sources[i]->n_peers; j++) {
                        struct peer *p = m->sources[i]->peers[j];
                        struct engine_source_info info;
                        if (engine_get_source(m->engine, p->engine_id, &info) < 0)
                                continue;
                        bool unreachable = info.state == SOURCE_STATE_UNREACHABLE;
                        if (unreachable && !p->unreachable)
                                log_notice("source %s: unreachable", p->address_text);
                        else if (!unreachable && p->unreachable)
                                log_notice("source %s: reachable again", p->address_text);
                        p->unreachable = unreachable;
                }
}
