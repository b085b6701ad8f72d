/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The metrics' snapshot, copied out of the manager, the NTP server, the NTS-KE service and the
 * firewall module; nothing here waits on anything. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "metrics.h"

static void take_sources(manager *m, struct metrics_snapshot *s, struct engine_source_info *info, size_t n) {
        for (size_t i = 0; i < n; i++) {
                struct metrics_source *src = &s->sources[i];
                const struct peer *p = manager_find_peer(m, info[i].id);
                *src = (struct metrics_source) { .info = info[i], .nts = { .nts = false } };
                if (p) {
                        snprintf(src->address, sizeof(src->address), "%s", p->address_text);
                        peer_nts_get_info(p, &src->nts);
                }
        }
        s->n_sources = n;
}

static void take_tracking(manager *m, struct metrics_snapshot *s) {
        engine_get_status(m->engine, s->now_mono, &s->status);
        /* As the Frequency property says it: the drift file's (or the kernel's) value and what was learned. */
        s->frequency_ppm = m->initial_frequency_ppm + s->status.residual_frequency_ppm;
        if (s->status.synchronized)
                ntp_refid_format(s->status.stratum, s->status.refid, s->reference_id, sizeof(s->reference_id));
        const struct peer *p = s->status.system_peer >= 0 ? manager_find_peer(m, (uint32_t) s->status.system_peer) : NULL;
        if (p && s->status.synchronized) {
                s->system_peer_name = p->owner->config.host;
                s->system_peer_address = p->address_text;
        }
        s->online = m->online;
}

static void take_serving(manager *m, struct metrics_snapshot *s) {
        s->serving = manager_serving_now(m);
        if (m->server) {
                ntp_server_get_counters(m->server, &s->served);
                s->n_threads = m->server->n_workers;
                for (size_t i = 0; i < s->n_threads; i++)
                        s->received_by_thread[i] = ntp_server_worker_received(m->server, i);
        }
        if (m->nts_ke_server) {
                s->nts_ke_running = nts_ke_server_running(m->nts_ke_server);
                s->nts_ke_active = nts_ke_server_active_connections(m->nts_ke_server);
                s->nts_ke = *nts_ke_server_get_counters(m->nts_ke_server);
        }
        s->firewall = *manager_firewall_state(m);
}

int metrics_snapshot_take(manager *m, struct metrics_snapshot *ret) {
        struct engine_source_info *info = calloc(ENGINE_MAX_SOURCES, sizeof(*info));
        struct metrics_source *sources = calloc(ENGINE_MAX_SOURCES, sizeof(*sources));
        if (!info || !sources) {
                free(info);
                free(sources);
                return -ENOMEM;
        }
        *ret = (struct metrics_snapshot) { .version = NTPSYNC_VERSION, .now_mono = now_monotonic_ns(), .sources = sources };
        take_sources(m, ret, info, engine_get_sources(m->engine, info, ENGINE_MAX_SOURCES));
        free(info);
        take_tracking(m, ret);
        take_serving(m, ret);
        return 0;
}

void metrics_snapshot_done(struct metrics_snapshot *s) {
        free(s->sources);
        s->sources = NULL;
        s->n_sources = 0;
}

int metrics_text(manager *m, char **ret_text, size_t *ret_len) {
        struct metrics_snapshot s;
        char *text = NULL;
        size_t len = 0;
        int r = metrics_snapshot_take(m, &s);
        if (r < 0)
                return r;
        FILE *f = open_memstream(&text, &len);
        if (!f) {
                metrics_snapshot_done(&s);
                return -ENOMEM;
        }
        metrics_format(&s, f);
        metrics_snapshot_done(&s);
        bool failed = ferror(f) != 0;
        if (fclose(f) != 0 || failed) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_len = len;
        return 0;
}
