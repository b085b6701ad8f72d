/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/utsname.h>

#include "config.h"
#include "control.h"
#include "core/mode6.h"

#define VERSION_TEXT "ntpsyncd " NTPSYNC_VERSION

static uint16_t association_id(uint32_t engine_id) {
        return (uint16_t) (engine_id % 65535u + 1u);
}

/* The kernel's names do not change while it runs: asked once, not for every request. */
static const struct utsname *system_names(void) {
        static struct utsname u;
        static bool known;
        if (!known) {
                if (uname(&u) < 0)
                        memset(&u, 0, sizeof(u));
                known = true;
        }
        return &u;
}

static void fill_system(manager *m, const struct engine_status *st, int64_t now_real, struct mode6_system *sys) {
        const struct utsname *u = system_names();
        int8_t min_poll, max_poll;
        config_poll_limits(&m->config, &min_poll, &max_poll);
        *sys = (struct mode6_system) {
                .leap = st->synchronized ? st->leap : NTP_LEAP_UNSYNC,
                .stratum = st->stratum,
                .precision = -20,
                .root_delay = st->root_delay,
                .root_dispersion = st->root_dispersion,
                .refid = st->synchronized ? st->refid : 0,
                .reference_time = st->last_update_mono >= 0 ? ntp_ts_from_unix_ns(st->last_update_real) : 0,
                .clock = ntp_ts_from_unix_ns(now_real),
                .system_peer = st->synchronized && st->system_peer >= 0 ? association_id((uint32_t) st->system_peer) : 0,
                .poll = st->poll,
                .min_poll = min_poll,
                .offset = st->offset,
                .frequency_ppm = m->initial_frequency_ppm + st->residual_frequency_ppm,
                .sys_jitter = st->jitter,
                .version = VERSION_TEXT,
                .processor = u->machine,
                .system = u->sysname,
                .release = u->release,
        };
}

/* real_minus_mono: the realtime of monotonic 0, from one reading of both clocks per request. */
static void fill_association(manager *m, const struct engine_source_info *s, int64_t real_minus_mono,
                             struct mode6_association *a) {
        struct peer *p = manager_find_peer(m, s->id);
        mode6_association_init(a);
        a->assoc_id = association_id(s->id);
        a->srcadr = p ? p->address_text : "0.0.0.0";
        a->srchost = s->name;
        a->leap = s->leap;
        a->stratum = s->stratum;
        a->precision = s->precision;
        a->root_delay = s->source_root_delay;
        a->root_dispersion = s->source_root_dispersion;
        a->refid = s->refid;
        a->reftime = s->reference_ts;
        a->rec = s->last_rx_mono >= 0 ? ntp_ts_from_unix_ns(s->last_rx_mono + real_minus_mono) : 0;
        a->xmt = s->transmit_ts;
        a->reach = s->reach;
        a->hpoll = s->poll;
        a->ppoll = s->poll;
        a->offset = s->offset;
        a->delay = s->delay;
        a->dispersion = s->dispersion;
        a->jitter = s->jitter;
        a->select = mode6_select_from_tally(s->tally);
        a->configured = p && !p->owner->config.pool;
}

size_t control_answer(manager *m, const uint8_t *request, size_t len,
                      void (*emit)(void *userdata, const uint8_t *datagram, size_t len), void *userdata) {
        struct engine_source_info info[ENGINE_MAX_SOURCES];
        struct mode6_association assoc[ENGINE_MAX_SOURCES];
        struct engine_status st;
        struct mode6_system sys;
        int64_t now_mono = now_monotonic_ns(), now_real = now_realtime_ns();

        engine_get_status(m->engine, now_mono, &st);
        fill_system(m, &st, now_real, &sys);
        size_t n = engine_get_sources(m->engine, info, ENGINE_MAX_SOURCES);
        for (size_t i = 0; i < n; i++)
                fill_association(m, &info[i], now_real - now_mono, &assoc[i]);
        return mode6_handle(request, len, &sys, assoc, n, emit, userdata);
}
