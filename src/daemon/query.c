/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "log.h"
#include "core/poll.h"
#include "query.h"
#include "json-write.h"

#define QUERY_CHECK_USEC 250000ULL
#define QUERY_TIMEOUT_USEC (15ULL * 1000000)

struct query {
        manager *manager;
        uint64_t deadline_usec;
        sd_event_source *check;
        query_callback callback;     /* NULL: the command line's query, which ends the loop */
        void *userdata;
        char *host;
};

/* An NTS source whose key establishment failed has nothing more to give. */
static bool nts_failed(manager *m, uint32_t id) {
        struct peer *p = manager_find_peer(m, id);
        struct peer_nts_info n = { .nts = false };
        if (p)
                peer_nts_get_info(p, &n);
        return n.nts && n.state == PEER_NTS_FAILED;
}

static bool all_measured(manager *m) {
        struct engine_source_info info[ENGINE_MAX_SOURCES];
        struct engine_status st;
        size_t n = engine_get_sources(m->engine, info, ENGINE_MAX_SOURCES);
        bool pending_names = false;

        bool all_failed = m->n_sources > 0;
        for (size_t i = 0; i < m->n_sources; i++) {
                pending_names |= m->sources[i]->n_peers == 0 && m->sources[i]->retries == 0;
                all_failed &= m->sources[i]->n_peers == 0 && m->sources[i]->retries > 0;
        }
        /* No name resolved, no socket could be opened (no route): nothing to wait for. */
        if (all_failed)
                return true;
        if (n == 0 || pending_names)
                return false;
        engine_get_status(m->engine, now_monotonic_ns(), &st);
        for (size_t i = 0; i < n; i++) {
                bool done = info[i].samples >= POLL_BURST_COUNT || info[i].state == SOURCE_STATE_DENIED ||
                            (st.synchronized && info[i].samples >= 4) || nts_failed(m, info[i].id);
                if (!done)
                        return false;
        }
        return true;
}

static void query_free(struct query *q) {
        sd_event_source_disable_unref(q->check);
        manager_free(q->manager);
        free(q->host);
        free(q);
}

static void finish_async(struct query *q) {
        struct engine_source_info info[ENGINE_MAX_SOURCES];
        struct engine_status st;
        struct query_result result = { .host = q->host, .reason = "no reply" };
        manager *m = q->manager;

        size_t n = engine_get_sources(m->engine, info, ENGINE_MAX_SOURCES);
        engine_get_status(m->engine, now_monotonic_ns(), &st);
        if (n > 0 && st.synchronized) {
                result.found = true;
                result.offset = st.offset;
                result.delay = info[0].delay;
                result.stratum = info[0].stratum;
                ntp_refid_format(info[0].stratum, info[0].refid, result.refid, sizeof(result.refid));
        } else if (n == 0)
                result.reason = "the name could not be resolved";
        else if (st.unsync_reason)
                result.reason = st.unsync_reason;
        q->callback(&result, q->userdata);
        query_free(q);
}

static int on_check(sd_event_source *s, uint64_t usec, void *userdata) {
        struct query *q = userdata;
        if (usec < q->deadline_usec && !all_measured(q->manager)) {
                sd_event_source_set_time_relative(s, QUERY_CHECK_USEC);
                return 0;
        }
        if (!q->callback)
                return sd_event_exit(q->manager->event, 0);
        finish_async(q);
        return 0;
}

static int arm_check(struct query *q) {
        uint64_t now;
        sd_event_now(q->manager->event, CLOCK_MONOTONIC, &now);
        q->deadline_usec = now + QUERY_TIMEOUT_USEC;
        int r = sd_event_add_time_relative(q->manager->event, &q->check, CLOCK_MONOTONIC, QUERY_CHECK_USEC, 0,
                                           on_check, q);
        if (r >= 0)
                r = sd_event_source_set_enabled(q->check, SD_EVENT_ON);
        return r;
}

int query_start_async(sd_event *event, const char *host, query_callback cb, void *userdata) {
        char *hosts[] = { (char *) host };
        struct manager_options o = {
                .config_path = "/dev/null",
                .state_dir = "/nonexistent",
                .query = true,
                .no_config = true,
                .query_hosts = hosts,
                .n_query_hosts = 1,
        };
        struct query *q = calloc(1, sizeof(*q));
        if (!q || !(q->host = strdup(host))) {
                free(q);
                return -ENOMEM;
        }
        q->callback = cb;
        q->userdata = userdata;
        int r = manager_new(&o, &q->manager);
        if (r >= 0)
                r = manager_start(q->manager);
        if (r >= 0)
                r = arm_check(q);
        if (r < 0)
                query_free(q);
        return r;
}

/* How the source was authenticated; for NTS, its key state and why it failed. */
static void print_authentication_json(const struct peer *p) {
        struct peer_nts_info n = { .nts = false };
        if (p)
                peer_nts_get_info(p, &n);
        printf(", \"authentication\": \"%s\"", n.nts ? "nts" : "none");
        if (!n.nts)
                return;
        printf(", \"nts_state\": ");
        json_write_string(stdout, peer_nts_state_to_string(n.state));
        printf(", \"nts_reason\": ");
        json_write_string(stdout, n.reason);
        printf(", \"nts_cookies\": %zu, \"nts_rejected\": %" PRIu64, n.cookies, n.rejected);
}

static void print_source_json(manager *m, const struct engine_source_info *s, bool first) {
        struct peer *p = manager_find_peer(m, s->id);
        char refid[32], tally[2] = { s->tally, 0 };
        ntp_refid_format(s->stratum, s->refid, refid, sizeof(refid));
        printf("%s{\"host\": ", first ? "" : ", ");
        json_write_string(stdout, s->name);
        printf(", \"address\": ");
        json_write_string(stdout, p ? p->address_text : "");
        printf(", \"stratum\": %u, \"refid\": ", s->stratum);
        json_write_string(stdout, refid);
        if (s->samples > 0)
                printf(", \"offset\": %.9f, \"delay\": %.9f, \"jitter\": %.9f", s->offset, s->delay, s->jitter);
        else
                printf(", \"offset\": null, \"delay\": null, \"jitter\": null");
        printf(", \"samples\": %u, \"tally\": ", s->samples);
        json_write_string(stdout, tally);
        printf(", \"state\": ");
        json_write_string(stdout, engine_source_state_to_string(s->state));
        print_authentication_json(p);
        printf("}");
}

static void print_json(manager *m, const struct engine_source_info *info, size_t n, const struct engine_status *st) {
        printf("{\"sources\": [");
        for (size_t i = 0; i < n; i++)
                print_source_json(m, &info[i], i == 0);
        printf("], \"offset\": ");
        if (st->synchronized)
                printf("%.9f", st->offset);
        else
                printf("null");
        printf(", \"synchronized\": %s}\n", st->synchronized ? "true" : "false");
}

static void print_text(manager *m, const struct engine_source_info *info, size_t n, const struct engine_status *st) {
        for (size_t i = 0; i < n; i++) {
                const struct engine_source_info *s = &info[i];
                struct peer *p = manager_find_peer(m, s->id);
                char refid[32];
                ntp_refid_format(s->stratum, s->refid, refid, sizeof(refid));
                struct peer_nts_info nts = { .nts = false };
                if (p)
                        peer_nts_get_info(p, &nts);
                if (nts.nts && nts.state == PEER_NTS_FAILED) {
                        printf("%c%s %s: NTS failed: %s\n", s->tally, s->name, p->address_text, nts.reason);
                        continue;
                }
                if (s->samples == 0) {
                        printf("%c%s %s: no reply\n", s->tally, s->name, p ? p->address_text : "");
                        continue;
                }
                printf("%c%s %s stratum %u refid %s offset %+.9f s delay %.6f s jitter %.6f s%s\n", s->tally, s->name,
                       p ? p->address_text : "", s->stratum, refid, s->offset, s->delay, s->jitter,
                       nts.nts ? " NTS" : "");
        }
        if (st->synchronized)
                printf("offset %+.9f s\n", st->offset);
        else
                printf("no offset: %s\n", st->unsync_reason ? st->unsync_reason : "no usable source");
}

int query_run(const struct manager_options *o, bool json) {
        struct manager_options qo = *o;
        manager *m = NULL;
        qo.query = true;
        if (log_get_max_level() < LOG_DEBUG)
                log_set_max_level(LOG_WARNING);

        if (manager_new(&qo, &m) < 0 || manager_start(m) < 0) {
                manager_free(m);
                return 2;
        }
        struct query q = { .manager = m };
        if (arm_check(&q) < 0) {
                manager_free(m);
                return 2;
        }
        sd_event_loop(m->event);

        struct engine_source_info info[ENGINE_MAX_SOURCES];
        struct engine_status st;
        size_t n = engine_get_sources(m->engine, info, ENGINE_MAX_SOURCES);
        engine_get_status(m->engine, now_monotonic_ns(), &st);
        if (json)
                print_json(m, info, n, &st);
        else
                print_text(m, info, n, &st);
        fflush(stdout);
        sd_event_source_disable_unref(q.check);
        manager_free(m);
        return st.synchronized ? 0 : 1;
}
