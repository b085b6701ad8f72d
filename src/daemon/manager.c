/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "core/drift.h"
#include "file-io.h"
#include "log.h"
#include "firewall.h"
#include "hwts.h"
#include "manager.h"
#include "netwatch.h"
#include "ntpsync-messages.h"
#include "settings.h"

static uint64_t random_u64(void *userdata) {
        uint64_t v = 0;
        /* getrandom() from the kernel pool does not fail for 8 bytes once it is initialized. */
        while (getrandom(&v, sizeof(v), 0) != (ssize_t) sizeof(v))
                ;
        return v;
}

void manager_engine_config(const struct config *c, bool clock_control, struct engine_config *ret) {
        engine_config_init(ret);
        ret->step_threshold = c->step_threshold.value;
        ret->initial_step_threshold = c->step_threshold.value > 0 ? c->step_threshold.value : 0.128;
        ret->panic_threshold = c->panic_threshold.value;
        ret->stepout = c->stepout.value;
        ret->min_sources = c->min_sources.value;
        ret->min_distance = c->min_distance.value;
        ret->max_distance = c->max_distance.value;
        ret->clock_control = clock_control;
        ret->random_u64 = random_u64;
}

/* ---- drift file ---- */

static void load_drift(manager *m) {
        double kernel_ppm = 0;
        char *text = NULL;
        const char *error = NULL;

        if (m->clock->get_frequency(&kernel_ppm) < 0)
                kernel_ppm = 0;
        m->initial_frequency_ppm = kernel_ppm;
        m->frequency_known = false;

        ssize_t len = read_small_file(m->drift_path, DRIFT_FILE_MAX, false, &text);
        if (len == -ENOENT)
                return;
        double ppm;
        if (len < 0)
                log_warning_errno((int) len, "drift file %s unreadable, using the kernel's frequency %+.3f ppm",
                                  m->drift_path, kernel_ppm);
        else if (drift_parse(text, (size_t) len, &ppm, &error) < 0)
                log_warning("drift file %s: %s, using the kernel's frequency %+.3f ppm", m->drift_path, error, kernel_ppm);
        else {
                m->initial_frequency_ppm = ppm;
                m->frequency_known = true;
        }
        free(text);
}

void manager_save_drift(manager *m) {
        struct engine_status st;
        char text[64];

        if (!m->ever_synchronized)
                return;
        engine_get_status(m->engine, now_monotonic_ns(), &st);
        double ppm = m->initial_frequency_ppm + st.residual_frequency_ppm;
        if (!isfinite(ppm) || fabs(ppm) > DRIFT_MAX_PPM)
                return;
        size_t len = drift_format(ppm, text, sizeof(text));
        int r = write_file_atomic(m->drift_path, text, len, 0644);
        if (r < 0)
                log_warning_errno(r, "cannot write the drift file %s", m->drift_path);
}

static int on_drift_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager *m = userdata;
        manager_save_drift(m);
        sd_event_source_set_time_relative(s, MANAGER_DRIFT_SAVE_USEC);
        return 0;
}

/* A restart (a crash, a watchdog kill) must not grant a bad server the big initial step again. */
static bool initial_step_spent(const manager *m) {
        return m->synced_marker && access(m->synced_marker, F_OK) == 0;
}

static void mark_initial_step_spent(manager *m) {
        if (!m->synced_marker || m->backend != CLOCK_BACKEND_KERNEL || initial_step_spent(m))
                return;
        int r = write_file_atomic(m->synced_marker, "1\n", 2, 0644);
        if (r < 0)
                log_warning_errno(r, "Cannot write %s", m->synced_marker);
}

/* ---- carrying out the engine's actions ---- */

static void apply_clock_action(manager *m, const struct engine_action *a) {
        int r = 0;
        switch (a->kind) {
        case ENGINE_ACTION_SET_FREQUENCY:
                r = m->clock->set_frequency(a->frequency_ppm);
                break;
        case ENGINE_ACTION_SLEW:
                r = m->clock->slew(a->offset, a->time_constant);
                break;
        case ENGINE_ACTION_STEP:
                r = m->clock->step(a->offset);
                if (r >= 0 && m->backend == CLOCK_BACKEND_KERNEL)
                        hwts_clock_stepped();
                break;
        case ENGINE_ACTION_SET_STATUS: {
                struct clock_status s = {
                        .synchronized = a->synchronized,
                        .leap = a->leap,
                        .max_error = a->max_error,
                        .est_error = a->est_error,
                };
                r = m->clock->set_status(&s);
                break;
        }
        case ENGINE_ACTION_SEND:
                break;
        }
        if (r < 0)
                log_error_errno(r, "cannot adjust the clock");
}

static void send_request(manager *m, const struct engine_action *a) {
        struct peer *p = manager_find_peer(m, a->source_id);
        uint8_t nts_request[NTP_MAX_PACKET_SIZE];
        const uint8_t *packet = a->packet;
        size_t len = a->packet_len;
        int64_t t1;
        if (!p)
                return;
        if (p->nts) {
                /* No keys or cookies yet: the request stays unsent, as if lost. */
                if (peer_nts_wrap_request(p, a->packet, nts_request, sizeof(nts_request), &len) < 0)
                        return;
                packet = nts_request;
        }
        /* A source without a route when it was added gets its socket once there is one. */
        int r = p->fd < 0 ? peer_reopen(p) : 0;
        if (r >= 0)
                r = net_send(p->fd, packet, len, &t1);
        if (r < 0) {
                log_debug("source %s: send failed: %s", p->address_text, strerror(-r));
                return;
        }
        engine_request_sent(m->engine, a->source_id, t1);
}

static void rearm_engine_timer(manager *m) {
        int64_t next = engine_next_wakeup(m->engine);
        if (next == INT64_MAX) {
                sd_event_source_set_enabled(m->engine_timer, SD_EVENT_OFF);
                return;
        }
        uint64_t usec = next <= 0 ? 1 : (uint64_t) next / 1000;
        sd_event_source_set_time(m->engine_timer, usec);
        sd_event_source_set_enabled(m->engine_timer, SD_EVENT_ONESHOT);
}

/* ---- reporting ---- */

static const char *peer_text(manager *m, int64_t id, char *buf, size_t size) {
        struct peer *p = id >= 0 ? manager_find_peer(m, (uint32_t) id) : NULL;
        if (!p)
                snprintf(buf, size, "?");
        else
                snprintf(buf, size, "%s (%s)", p->owner->config.host, p->address_text);
        return buf;
}

static const char *would_text(enum discipline_decision decision) {
        switch (decision) {
        case DISCIPLINE_NONE:
                return "";
        case DISCIPLINE_STEP:
                return " (would step)";
        case DISCIPLINE_SLEW:
                return " (would slew)";
        default:
                return " (would do nothing: beyond a threshold)";
        }
}

static void format_status(manager *m, const struct engine_status *st, char *buf, size_t size) {
        char peer[320];
        if (!st->synchronized) {
                snprintf(buf, size, "Not synchronized: %s", st->unsync_reason ? st->unsync_reason : "unknown");
                return;
        }
        peer_text(m, st->system_peer, peer, sizeof(peer));
        if (m->backend == CLOCK_BACKEND_OBSERVE)
                snprintf(buf, size, "Observing %s, stratum %u, offset %+.9f s%s", peer, st->stratum - 1, st->offset,
                         would_text(st->last_decision));
        else
                snprintf(buf, size, "Synchronized to %s, stratum %u, offset %+.9f s, frequency %+.3f ppm", peer,
                         st->stratum - 1, st->offset, st->frequency_ppm);
}

static void log_transitions(manager *m, const struct engine_status *st) {
        char peer[320], f_server[400], f_offset[64], f_freq[64];
        const char *fields[] = { f_server, f_offset, f_freq, NULL };

        peer_text(m, st->system_peer, peer, sizeof(peer));
        snprintf(f_server, sizeof(f_server), "NTP_SERVER=%s", peer);
        snprintf(f_offset, sizeof(f_offset), "NTP_OFFSET=%.9f", st->offset);
        snprintf(f_freq, sizeof(f_freq), "NTP_FREQUENCY_PPM=%.3f", st->frequency_ppm);

        if (st->steps > m->steps_seen)
                log_struct(LOG_NOTICE, MESSAGE_ID_CLOCK_STEPPED, fields, "Clock stepped by %+.6f s toward %s",
                           st->offset, peer);
        m->steps_seen = st->steps;

        if (st->synchronized && !m->was_synchronized)
                log_struct(LOG_INFO, MESSAGE_ID_SYNCHRONIZED, fields, "%s %s, offset %+.6f s",
                           m->backend == CLOCK_BACKEND_OBSERVE ? "Observing" : "Synchronized to", peer, st->offset);
        else if (!st->synchronized && m->was_synchronized)
                log_struct(LOG_WARNING, MESSAGE_ID_SYNC_LOST, fields, "Lost synchronization: %s",
                           st->unsync_reason ? st->unsync_reason : "unknown");
        m->was_synchronized = st->synchronized;
        if (st->synchronized && !m->ever_synchronized)
                mark_initial_step_spent(m);
        m->ever_synchronized |= st->synchronized;
}

static void report(manager *m) {
        struct engine_status st;
        char status[512];

        engine_get_status(m->engine, now_monotonic_ns(), &st);
        manager_notify_changed(m);
        if (!m->query)
                log_transitions(m, &st);
        manager_log_reachability(m);
        format_status(m, &st, status, sizeof(status));
        if (m->query || strcmp(status, m->last_status) == 0)
                return;
        snprintf(m->last_status, sizeof(m->last_status), "%s", status);
        sd_notifyf(false, "STATUS=%s", status);
}

void manager_notify_changed(manager *m) {
        if (m->on_changed)
                m->on_changed(m->on_changed_userdata);
}

void manager_dispatch(manager *m) {
        struct engine_action a;
        while (engine_next_action(m->engine, &a)) {
                if (a.kind == ENGINE_ACTION_SEND)
                        send_request(m, &a);
                else
                        apply_clock_action(m, &a);
        }
        rearm_engine_timer(m);
        report(m);
        manager_serving_state_changed(m);
}

/* ---- timers and signals ---- */

static int on_engine_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager *m = userdata;
        engine_run(m->engine, now_monotonic_ns());
        manager_dispatch(m);
        return 0;
}

/* ---- the network ---- */

static bool socket_address_gone(const struct peer *p) {
        struct sockaddr_storage local;
        socklen_t len = sizeof(local);
        if (getsockname(p->fd, (struct sockaddr *) &local, &len) < 0)
                return false;
        return !netwatch_address_is_local((struct sockaddr *) &local);
}

static void reopen_orphaned_sockets(manager *m) {
        for (size_t i = 0; i < m->n_sources; i++)
                for (size_t j = 0; j < m->sources[i]->n_peers; j++) {
                        struct peer *p = m->sources[i]->peers[j];
                        bool unconnected = p->fd < 0;
                        if (!unconnected && !socket_address_gone(p))
                                continue;
                        if (peer_reopen(p) < 0)
                                log_debug("source %s: %s, no new one yet", p->address_text,
                                          unconnected ? "no route" : "local address gone");
                        else
                                log_info("source %s: %s", p->address_text,
                                         unconnected ? "route found, socket opened" : "local address gone, socket reopened");
                }
}

/* A source given as an address literal has its destination even when no socket could be opened. */
static bool literal_address(const char *host, struct net_address *ret) {
        memset(ret, 0, sizeof(*ret));
        if (inet_pton(AF_INET, host, &ret->sa.in.sin_addr) == 1) {
                ret->sa.in.sin_family = AF_INET;
                ret->len = sizeof(ret->sa.in);
                return true;
        }
        if (inet_pton(AF_INET6, host, &ret->sa.in6.sin6_addr) == 1) {
                ret->sa.in6.sin6_family = AF_INET6;
                ret->len = sizeof(ret->sa.in6);
                return true;
        }
        return false;
}

/* Online when a route leads to some source; while only names not yet resolved are known, when a
 * link is up. A socket whose local address is gone does not count. */
static bool evaluate_online(manager *m, const char **ret_reason) {
        bool any_destination = false;
        for (size_t i = 0; i < m->n_sources; i++) {
                struct msource *s = m->sources[i];
                struct net_address literal;
                for (size_t j = 0; j < s->n_peers; j++) {
                        any_destination = true;
                        if (!socket_address_gone(s->peers[j]) && netwatch_has_route(&s->peers[j]->address))
                                return true;
                }
                if (s->n_peers == 0 && literal_address(s->config.host, &literal)) {
                        any_destination = true;
                        if (netwatch_has_route(&literal))
                                return true;
                }
        }
        *ret_reason = netwatch_offline_reason();
        return !any_destination && strcmp(*ret_reason, "link down") != 0;
}

void manager_network_changed(manager *m) {
        const char *reason = NULL;
        int64_t now = now_monotonic_ns();

        /* Every time, not only when an address went: a socket that could not be reopened then
         * (no route at that moment) gets its chance when a route or address comes. */
        reopen_orphaned_sockets(m);
        bool online = evaluate_online(m, &reason);
        if (online != m->online)
                log_info(online ? "Network usable, polling the sources" : "No usable route to any source (%s), not polling",
                         reason);
        m->online = online;
        m->offline_reason = online ? NULL : reason;
        engine_set_online(m->engine, online, now);
        if (online) {
                for (size_t i = 0; i < m->n_sources; i++)
                        msource_resolve_now(m->sources[i]);
                engine_burst_unreachable(m->engine, now);
        }
        manager_dispatch(m);
}

static void on_network_change(void *userdata, const struct netwatch_change *change) {
        manager *m = userdata;
        if (change->links_changed)
                hwts_rescan();
        manager_network_changed(m);
}

static void start_netwatch(manager *m) {
        m->online = true;
        int r = netwatch_new(m->event, on_network_change, m, &m->netwatch);
        if (r < 0)
                log_warning_errno(r, "Cannot watch the network (netlink), assuming it is usable");
}

static bool has_pools(const manager *m) {
        for (size_t i = 0; i < m->n_sources; i++)
                if (m->sources[i]->config.pool)
                        return true;
        return false;
}

static int on_pool_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager *m = userdata;
        manager_refresh_pools(m);
        manager_dispatch(m);
        sd_event_source_set_time_relative(s, MANAGER_POOL_CHECK_USEC);
        return 0;
}

/* Pools are looked after every few minutes; without pools nothing needs to wake up for them. */
static void update_pool_timer(manager *m) {
        sd_event_source_set_enabled(m->pool_timer, has_pools(m) ? SD_EVENT_ON : SD_EVENT_OFF);
}

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata) {
        manager *m = userdata;
        sd_notify(false, "WATCHDOG=1");
        sd_event_source_set_time_relative(s, m->watchdog_usec / 2);
        return 0;
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        manager *m = userdata;
        sd_notify(false, "STOPPING=1");
        log_info("Stopping on signal %u", si->ssi_signo);
        manager_save_drift(m);
        return sd_event_exit(m->event, 0);
}

static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        manager_reload(userdata);
        return 0;
}

static int add_timers_and_signals(manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if ((r = sd_event_add_signal(m->event, NULL, SIGTERM, on_terminate, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGINT, on_terminate, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reload_signal, m)) < 0)
                return r;

        r = sd_event_add_time(m->event, &m->engine_timer, CLOCK_MONOTONIC, 1, 0, on_engine_timer, m);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &m->drift_timer, CLOCK_MONOTONIC, MANAGER_DRIFT_SAVE_USEC, 0,
                                       on_drift_timer, m);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &m->pool_timer, CLOCK_MONOTONIC, MANAGER_POOL_CHECK_USEC, 0,
                                       on_pool_timer, m);
        if (r < 0)
                return r;
        if (sd_watchdog_enabled(false, &m->watchdog_usec) > 0) {
                r = sd_event_add_time_relative(m->event, &m->watchdog_timer, CLOCK_MONOTONIC, m->watchdog_usec / 2,
                                               0, on_watchdog, m);
                if (r < 0)
                        return r;
        }
        sd_event_source_set_enabled(m->drift_timer, SD_EVENT_ON);
        if (m->watchdog_timer)
                sd_event_source_set_enabled(m->watchdog_timer, SD_EVENT_ON);
        return 0;
}

/* ---- life cycle ---- */

static int choose_backend(manager *m, enum clock_backend wanted) {
        m->backend = wanted;
        if (wanted == CLOCK_BACKEND_KERNEL && !clock_kernel_writable()) {
                log_warning("No permission to set the clock (CAP_SYS_TIME), observing only");
                m->backend = CLOCK_BACKEND_OBSERVE;
        }
        m->clock = clock_ops_for(m->backend);
        return 0;
}

/* The hosts of a query replace the configured servers, each measured with a burst. */
static int use_query_hosts(struct config *c, const struct manager_options *o) {
        if (o->n_query_hosts == 0) {
                for (size_t i = 0; i < c->n_servers; i++)
                        c->servers[i].iburst = true;
                return 0;
        }
        if (o->n_query_hosts > CONFIG_MAX_SERVERS)
                return log_error_errno(-E2BIG, "At most %d hosts can be queried", CONFIG_MAX_SERVERS);
        c->n_servers = 0;
        for (size_t i = 0; i < o->n_query_hosts; i++) {
                const char *error;
                struct config_server s;
                if (config_parse_server_spec(o->query_hosts[i], &s, &error) < 0)
                        return log_error_errno(-EINVAL, "%s: %s", o->query_hosts[i], error);
                s.iburst = true;
                if (o->query_nts)
                        s.nts = true;
                if (o->query_ca && strlen(o->query_ca) >= sizeof(s.ca))
                        return log_error_errno(-EINVAL, "--ca %s: path too long", o->query_ca);
                if (o->query_ca && !s.ca[0])
                        snprintf(s.ca, sizeof(s.ca), "%s", o->query_ca);
                c->servers[c->n_servers++] = s;
        }
        return 0;
}

static int load_configuration(manager *m, const struct manager_options *o) {
        struct config_error error;
        int r;

        if (o->no_config) {
                config_init(&m->config);
                return 0;
        }
        if (!m->query)
                settings_load_persisted(m->settings_path, &m->persisted);
        r = settings_build(m->config_path, m->timesyncd_path, m->settings_path, &m->persisted, &m->runtime, &m->config, &error);
        if (r < 0)
                return log_error_errno(-EINVAL, "%s", error.message);
        for (size_t i = 0; i < m->config.n_warnings; i++)
                log_warning("%s", m->config.warnings[i]);
        return 0;
}

static void build_restricts(struct restrict_set *set, const struct config *c) {
        restrict_set_init(set);
        for (size_t i = 0; i < c->n_restricts; i++)
                (void) restrict_set_add(set, &c->restricts[i].rule);
}

/* The paths of the files the daemon reads and writes. */
static int set_paths(manager *m, const struct manager_options *o) {
        m->config_path = strdup(o->config_path);
        if (o->timesyncd_conf && o->timesyncd_conf[0] && !(m->timesyncd_path = strdup(o->timesyncd_conf)))
                return -ENOMEM;
        m->state_dir = strdup(o->state_dir);
        if (!m->config_path || !m->state_dir || asprintf(&m->settings_path, "%s/" SETTINGS_FILE, o->state_dir) < 0)
                return -ENOMEM;
        if (o->runtime_dir && !m->query && asprintf(&m->synced_marker, "%s/synchronized", o->runtime_dir) < 0)
                return -ENOMEM;
        return 0;
}

/* The drift file (the configuration may name it), and what a previous run left half-written. */
static int set_drift_path(manager *m) {
        if (m->config.driftfile[0])
                m->drift_path = strdup(m->config.driftfile);
        else if (asprintf(&m->drift_path, "%s/drift", m->state_dir) < 0)
                m->drift_path = NULL;
        if (!m->drift_path)
                return -ENOMEM;
        if (!m->query) {
                remove_stale_temporaries(m->settings_path);
                remove_stale_temporaries(m->drift_path);
        }
        return 0;
}

/* The engine, started from the configuration and what the drift file and this boot tell. */
static int start_engine(manager *m) {
        struct engine_config ec;
        manager_engine_config(&m->config, m->backend == CLOCK_BACKEND_KERNEL, &ec);
        ec.initial_frequency_ppm = m->initial_frequency_ppm;
        ec.initial_frequency_known = m->frequency_known;
        if (initial_step_spent(m)) {
                log_info("The clock was synchronized earlier in this boot: no initial step, offsets beyond "
                         "the step threshold wait out the stepout");
                ec.allow_initial_step = false;
        }
        m->engine = engine_new(&ec);
        return m->engine ? 0 : -ENOMEM;
}

int manager_new(const struct manager_options *o, manager **ret) {
        _cleanup_(manager_freep) manager *m = calloc(1, sizeof(*m));
        int r;

        if (!m)
                return -ENOMEM;
        m->query = o->query;
        if ((r = set_paths(m, o)) < 0 || (r = load_configuration(m, o)) < 0 || (r = set_drift_path(m)) < 0)
                return r;
        build_restricts(&m->restricts, &m->config);
        if (m->query && (r = use_query_hosts(&m->config, o)) < 0)
                return r;
        choose_backend(m, m->query ? CLOCK_BACKEND_OBSERVE : o->backend);
        if (!m->query)
                load_drift(m);
        if (m->backend == CLOCK_BACKEND_KERNEL && m->frequency_known)
                m->clock->set_frequency(m->initial_frequency_ppm);
        if ((r = start_engine(m)) < 0 || (r = sd_event_default(&m->event)) < 0 ||
            (r = resolver_new(m->event, &m->resolver)) < 0 || (!m->query && (r = manager_serving_new(m)) < 0))
                return r;
        /* Before any thread exists: the firewall helper is forked and executed from here. */
        if (!m->query)
                (void) manager_firewall_new(m);
        *ret = TAKE_PTR(m);
        return 0;
}

manager *manager_free(manager *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_sources; i++)
                msource_free(m->sources[i]);
        free(m->sources);
        sd_event_source_disable_unref(m->engine_timer);
        sd_event_source_disable_unref(m->drift_timer);
        sd_event_source_disable_unref(m->pool_timer);
        sd_event_source_disable_unref(m->watchdog_timer);
        netwatch_free(m->netwatch);
        /* The hardware timestamping state is the daemon's, started by its own manager only: a
         * query's manager (D-Bus Query) must not stop it when it ends. */
        if (!m->query)
                hwts_stop();
        manager_firewall_free(m);
        manager_serving_free(m);
        resolver_free(m->resolver);
        engine_free(m->engine);
        sd_event_unref(m->event);
        free(m->config_path);
        free(m->timesyncd_path);
        free(m->state_dir);
        free(m->drift_path);
        free(m->settings_path);
        free(m->synced_marker);
        free(m);
        return NULL;
}

int manager_start(manager *m) {
        int r = m->query ? sd_event_add_time(m->event, &m->engine_timer, CLOCK_MONOTONIC, 1, 0, on_engine_timer, m)
                         : add_timers_and_signals(m);
        if (r < 0)
                return log_error_errno(r, "cannot set up the event loop");
        if (!m->query)
                hwts_start(m->event, &m->config); /* before any socket: they ask for what it finds */
        for (size_t i = 0; i < m->config.n_servers; i++)
                msource_add(m, &m->config.servers[i]);
        update_pool_timer(m);
        if (m->config.n_servers == 0)
                log_warning("No servers configured in %s", m->config_path);
        engine_run(m->engine, now_monotonic_ns());
        manager_dispatch(m);
        if (m->query)
                return 0;
        manager_serving_apply(m);
        start_netwatch(m);
        if (m->netwatch)
                manager_network_changed(m);
        m->started = true;
        log_info("Started, %zu sources configured, clock %s", m->config.n_servers, m->clock->name);
        /* READY=1 once the firewall the configuration asks for is in place (or soon after). */
        manager_firewall_start(m);
        return 0;
}

static bool same_source(const struct config_server *a, const struct config_server *b) {
        return a->pool == b->pool && strcasecmp(a->host, b->host) == 0 && a->iburst == b->iburst &&
               a->prefer == b->prefer && a->noselect == b->noselect && a->xleave == b->xleave && a->minpoll == b->minpoll &&
               a->maxpoll == b->maxpoll && a->maxsources == b->maxsources;
}

static bool config_has(const struct config *c, const struct config_server *s) {
        for (size_t i = 0; i < c->n_servers; i++)
                if (same_source(&c->servers[i], s))
                        return true;
        return false;
}

static bool manager_has(const manager *m, const struct config_server *s) {
        for (size_t i = 0; i < m->n_sources; i++)
                if (same_source(&m->sources[i]->config, s))
                        return true;
        return false;
}

/* Makes the running sources those of the configuration: unchanged ones keep their state. */
void manager_apply_servers(manager *m, const struct config *c) {
        for (size_t i = m->n_sources; i-- > 0;) {
                if (config_has(c, &m->sources[i]->config))
                        continue;
                log_info("source %s: removed", m->sources[i]->config.host);
                msource_free(m->sources[i]);
                memmove(&m->sources[i], &m->sources[i + 1], (m->n_sources - i - 1) * sizeof(m->sources[0]));
                m->n_sources--;
        }
        for (size_t i = 0; i < c->n_servers; i++)
                if (!manager_has(m, &c->servers[i]))
                        msource_add(m, &c->servers[i]);
}

void manager_apply_config(manager *m, const struct config *c) {
        manager_apply_servers(m, c);
        struct engine_config ec;
        manager_engine_config(c, m->backend == CLOCK_BACKEND_KERNEL, &ec);
        engine_reconfigure(m->engine, &ec);
        memcpy(&m->config, c, sizeof(*c));
        build_restricts(&m->restricts, &m->config);
        manager_serving_apply(m);
        manager_firewall_follow_config(m, false);
        update_pool_timer(m);
        engine_run(m->engine, now_monotonic_ns());
        manager_dispatch(m);
}

int manager_reload(manager *m) {
        struct config *c = malloc(sizeof(*c));
        struct config_error error;
        if (!c)
                return -ENOMEM;
        sd_notify(false, "RELOADING=1");
        int r = settings_build(m->config_path, m->timesyncd_path, m->settings_path, &m->persisted, &m->runtime, c, &error);
        if (r < 0) {
                log_error("%s, keeping the running configuration", error.message);
                free(c);
                sd_notify(false, "READY=1");
                return r;
        }
        for (size_t i = 0; i < c->n_warnings; i++)
                log_warning("%s", c->warnings[i]);
        manager_apply_config(m, c);
        free(c);
        /* A reload applies the firewall again, changed or not (as restarting ntpd did). */
        manager_firewall_follow_config(m, true);
        log_info("Configuration reloaded");
        sd_notify(false, "READY=1");
        return 0;
}
