/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What an operator graphs, in the Prometheus text exposition format 0.0.4: served by the metrics
 * socket (metrics-http.c) and by Metrics() on D-Bus. The names follow chrony_exporter
 * (chrony_tracking_*, chrony_sources_*, chrony_serverstats_*) and node_exporter's timex
 * collector (node_timex_sync_status, node_timex_frequency_adjustment_ratio) with the prefix
 * ntpsync_, so that their dashboards fit with the prefix changed.
 *
 * Two steps: metrics_snapshot_take() copies the state out of the manager and its adapters;
 * metrics_format() is pure and turns a snapshot into text. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/engine.h"
#include "firewall.h"
#include "manager.h"
#include "ntp-server.h"
#include "nts-ke-server.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_source {
        struct engine_source_info info;
        char address[64];            /* "" when it has none */
        struct peer_nts_info nts;    /* nts false: plain NTP */
};

struct metrics_snapshot {
        const char *version;
        int64_t now_mono;            /* for the ages of the samples */
        struct engine_status status;
        double frequency_ppm;        /* what the clock runs with: the starting value and what was learned */
        char reference_id[32];       /* "" when not synchronized */
        const char *system_peer_name; /* NULL: none */
        const char *system_peer_address;
        bool online;
        struct metrics_source *sources;
        size_t n_sources;

        bool serving;
        struct ntp_server_counters served;
        uint64_t received_by_thread[NTP_SERVER_MAX_THREADS]; /* how the kernel spread the datagrams */
        size_t n_threads;
        bool nts_ke_running;
        unsigned nts_ke_active;
        struct nts_ke_server_counters nts_ke;
        struct firewall_state firewall;
};

/* Writes the whole exposition; its text depends on nothing but s. */
void metrics_format(const struct metrics_snapshot *s, FILE *f);

/* The state now; sources is allocated: metrics_snapshot_done() frees it. */
int metrics_snapshot_take(manager *m, struct metrics_snapshot *ret);
void metrics_snapshot_done(struct metrics_snapshot *s);

/* Both steps: the text in *ret_text (NUL-terminated, freed by the caller), its length in *ret_len. */
int metrics_text(manager *m, char **ret_text, size_t *ret_len);
