/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the engine reports: its status and its sources, as copies. */

#include <errno.h>

#include "engine-internal.h"
#include "ntp-time.h"

void engine_get_status(engine *e, int64_t now_mono, struct engine_status *ret) {
        double since = e->last_update_mono >= 0 ? ns_to_seconds(now_mono - e->last_update_mono) : 0;
        *ret = (struct engine_status) {
                .synchronized = e->synchronized,
                .unsync_reason = e->synchronized ? NULL : e->unsync_reason,
                .stratum = e->synchronized ? e->stratum : NTP_STRATUM_UNSYNC,
                .refid = e->synchronized ? e->refid : 0,
                .system_peer = e->system_peer,
                .offset = e->offset,
                .frequency_ppm = e->discipline.frequency_ppm,
                .residual_frequency_ppm = e->residual_frequency * 1e6,
                .root_delay = e->root_delay,
                .root_dispersion = e->root_dispersion + PHI * since,
                .leap = e->leap,
                .poll = e->poll,
                .last_update_mono = e->last_update_mono,
                .last_update_real = e->last_update_real,
                .jitter = e->jitter,
                .steps = e->discipline.steps,
                .packets_sent = e->packets_sent,
                .n_selected = e->n_selected,
                .last_decision = e->last_decision,
        };
}

static void source_info(const struct source *s, struct engine_source_info *ret) {
        *ret = (struct engine_source_info) {
                .id = s->id,
                .name = s->name,
                .state = s->state,
                .tally = (char) s->tally,
                .stratum = s->stratum,
                .refid = s->refid,
                .leap = s->leap,
                .precision = s->precision,
                .source_root_delay = s->root_delay,
                .source_root_dispersion = s->root_dispersion,
                .reference_ts = s->reference_ts,
                .transmit_ts = s->transmit_ts,
                .poll = s->poll.poll,
                .reach = s->poll.reach,
                .last_rx_mono = s->last_rx_mono,
                .offset = s->has_estimate ? s->offset : s->last_offset,
                .delay = s->last_delay,
                .jitter = s->has_estimate ? s->estimate.jitter : 0,
                .dispersion = s->has_estimate ? s->estimate.offset_sd : 0,
                .root_distance = s->root_distance,
                .frequency_ppm = s->has_estimate ? s->estimate.frequency * 1e6 : 0,
                .samples = s->filter.n,
                .last_result = s->last_result,
                .prefer = s->config.prefer,
                .noselect = s->config.noselect,
                .iburst = s->config.iburst,
                .xleave = s->config.xleave,
                .interleaved = s->interleaved,
        };
}

size_t engine_get_sources(engine *e, struct engine_source_info *ret, size_t max) {
        size_t n = e->n_sources < max ? e->n_sources : max;
        for (size_t i = 0; i < n; i++)
                source_info(e->sources[i], &ret[i]);
        return n;
}

int engine_get_source(engine *e, uint32_t id, struct engine_source_info *ret) {
        struct source *s = engine_find_source(e, id);
        if (!s)
                return -ENOENT;
        source_info(s, ret);
        return 0;
}

const char *engine_source_state_to_string(enum engine_source_state s) {
        switch (s) {
        case SOURCE_STATE_NEW: return "new";
        case SOURCE_STATE_OK: return "ok";
        case SOURCE_STATE_UNREACHABLE: return "unreachable";
        case SOURCE_STATE_DENIED: return "denied";
        case SOURCE_STATE_FALSETICKER: return "falseticker";
        case SOURCE_STATE_TOO_FAR: return "too far";
        }
        return "unknown";
}
