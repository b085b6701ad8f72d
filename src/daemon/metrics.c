/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The exposition (Prometheus text format 0.0.4): each family's # HELP and # TYPE, then its
 * samples, `name{label="value",...} value`. Label values are escaped (\\, \", \n), HELP texts
 * too (\\, \n); numbers are written as short as they read back exactly. A value that is not
 * known yet (an offset before the first sample) is left out rather than shown as 0. */

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "core/poll.h"
#include "metrics.h"

struct label {
        const char *name, *value;
};

#define SOURCE_LABELS 2              /* source_address, source_name; then the family's own */

/* ---- writing ---- */

static void write_escaped(FILE *f, const char *s, bool quote) {
        for (; s && *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else if (quote && *s == '"')
                        fputs("\\\"", f);
                else
                        fputc(*s, f);
        }
}

static void write_number(FILE *f, double v) {
        if (isnan(v)) {
                fputs("NaN", f);
                return;
        }
        if (isinf(v)) {
                fputs(v > 0 ? "+Inf" : "-Inf", f);
                return;
        }
        char text[32];
        for (int digits = 15; digits <= 17; digits++) {
                snprintf(text, sizeof(text), "%.*g", digits, v);
                if (strtod(text, NULL) == v)
                        break;
        }
        fputs(text, f);
}

static void write_family(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s ", name);
        write_escaped(f, help, false);
        fprintf(f, "\n# TYPE %s %s\n", name, type);
}

static void write_sample_name(FILE *f, const char *name, const struct label *labels, size_t n) {
        fputs(name, f);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "%s%s=\"", i == 0 ? "{" : ",", labels[i].name);
                write_escaped(f, labels[i].value, true);
                fputc('"', f);
        }
        fputs(n > 0 ? "} " : " ", f);
}

static void write_sample(FILE *f, const char *name, const struct label *labels, size_t n, double v) {
        write_sample_name(f, name, labels, n);
        write_number(f, v);
        fputc('\n', f);
}

static void write_count(FILE *f, const char *name, const struct label *labels, size_t n, uint64_t v) {
        write_sample_name(f, name, labels, n);
        fprintf(f, "%" PRIu64 "\n", v);
}

static void gauge(FILE *f, const char *name, const char *help, double v) {
        write_family(f, name, "gauge", help);
        write_sample(f, name, NULL, 0, v);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v) {
        write_family(f, name, "counter", help);
        write_count(f, name, NULL, 0, v);
}

static void info(FILE *f, const char *name, const char *help, const struct label *labels, size_t n) {
        write_family(f, name, "gauge", help);
        write_sample(f, name, labels, n, 1);
}

/* ---- tracking: the clock as a whole ---- */

static bool updated(const struct metrics_snapshot *s) {
        return s->status.last_update_mono >= 0;
}

static void write_tracking_identity(FILE *f, const struct metrics_snapshot *s) {
        const struct label build[] = { { "version", s->version } };
        info(f, "ntpsync_build_info", "The version of ntpsyncd.", build, ELEMENTSOF(build));
        const struct label tracking[] = {
                { "tracking_refid", s->reference_id },
                { "tracking_address", s->system_peer_address ? s->system_peer_address : "" },
                { "tracking_name", s->system_peer_name ? s->system_peer_name : "" },
        };
        info(f, "ntpsync_tracking_info", "The reference ID and the source the clock follows (empty: none).",
             tracking, ELEMENTSOF(tracking));
        gauge(f, "ntpsync_tracking_sync_status", "1 when the clock is synchronized, as node_timex_sync_status.",
              s->status.synchronized);
        gauge(f, "ntpsync_tracking_stratum", "The stratum served, 16 when not synchronized.", s->status.stratum);
        gauge(f, "ntpsync_tracking_leap_status",
              "The leap indicator: 0 none, 1 a second inserted, 2 one deleted at the end of the day, 3 not synchronized.",
              s->status.synchronized ? (double) s->status.leap : NTP_LEAP_UNSYNC);
        gauge(f, "ntpsync_network_online", "1 when a route to a source exists.", s->online);
}

static void write_tracking_offsets(FILE *f, const struct metrics_snapshot *s) {
        if (updated(s)) {
                gauge(f, "ntpsync_tracking_last_offset_seconds",
                      "The combined offset of the last clock update; positive: the clock is behind.", s->status.offset);
                gauge(f, "ntpsync_tracking_jitter_seconds",
                      "The jitter of the combined offset (ntpq's sys_jitter).", s->status.jitter);
                gauge(f, "ntpsync_tracking_reference_timestamp_seconds",
                      "When the clock was last updated, seconds since the epoch.", (double) s->status.last_update_real / 1e9);
        }
        gauge(f, "ntpsync_tracking_frequency_ppms",
              "The frequency correction in ppm; positive makes the clock run faster.", s->frequency_ppm);
        gauge(f, "ntpsync_tracking_frequency_adjustment_ratio",
              "The frequency correction as a ratio, as node_timex_frequency_adjustment_ratio.", 1 + s->frequency_ppm / 1e6);
        gauge(f, "ntpsync_tracking_residual_frequency_ppms", "The frequency error still estimated, in ppm.",
              s->status.residual_frequency_ppm);
        gauge(f, "ntpsync_tracking_root_delay_seconds", "The root delay served.", s->status.root_delay);
        gauge(f, "ntpsync_tracking_root_dispersion_seconds", "The root dispersion served.", s->status.root_dispersion);
        gauge(f, "ntpsync_tracking_update_interval_seconds", "The system poll interval.", poll_seconds(s->status.poll));
        gauge(f, "ntpsync_tracking_selected_sources", "Sources that survived the last selection.", s->status.n_selected);
        counter(f, "ntpsync_tracking_clock_steps_total", "Clock steps (observing: steps that would have been taken).",
                s->status.steps);
        counter(f, "ntpsync_client_requests_sent_total", "NTP requests sent to the sources.", s->status.packets_sent);
}

/* ---- sources: one sample per source ---- */

struct source_value {
        const char *name, *type, *help;
        /* false: the source has no such value (yet) */
        bool (*get)(const struct metrics_snapshot *s, const struct metrics_source *src, double *ret);
};

static bool has_sample(const struct metrics_source *src) {
        return src->info.samples > 0;
}

static bool get_offset(const struct metrics_snapshot *s, const struct metrics_source *src, double *ret) {
        *ret = src->info.offset;
        return has_sample(src);
}

static bool get_delay(const struct metrics_snapshot *s, const struct metrics_source *src, double *ret) {
        *ret = src->info.delay;
        return has_sample(src);
}

static bool get_jitter(const struct metrics_snapshot *s, const struct metrics_source *src, double *ret) {
        *ret = src->info.jitter;
        return has_sample(src);
}

static bool get_age(const struct metrics_snapshot *s, const struct metrics_source *src, double *ret) {
        *ret = (double) (s->now_mono - src->info.last_rx_mono) / 1e9;
        return src->info.last_rx_mono >= 0;
}

static bool get_poll(const struct metrics_snapshot *s, const struct metrics_source *src, double *ret) {
        *ret = poll_seconds(src->info.poll);
        return true;
}

static bool get_reach(const struct metrics_snapshot *s, const struct metrics_source *src, double *ret) {
        *ret = src->info.reach;
        return true;
}

static bool get_stratum(const struct metrics_snapshot *s, const struct metrics_source *src, double *ret) {
        *ret = src->info.stratum;
        return has_sample(src);
}

static bool get_cookies(const struct metrics_snapshot *s, const struct metrics_source *src, double *ret) {
        *ret = (double) src->nts.cookies;
        return src->nts.nts;
}

static bool get_rejected(const struct metrics_snapshot *s, const struct metrics_source *src, double *ret) {
        *ret = (double) src->nts.rejected;
        return src->nts.nts;
}

static const struct source_value source_values[] = {
        { "ntpsync_sources_last_sample_offset_seconds", "gauge",
          "The source's offset, from its clock filter; positive: the local clock is behind.", get_offset },
        { "ntpsync_sources_delay_seconds", "gauge", "The round-trip delay to the source.", get_delay },
        { "ntpsync_sources_jitter_seconds", "gauge", "The source's jitter.", get_jitter },
        { "ntpsync_sources_last_sample_age_seconds", "gauge", "Seconds since the source's last reply.", get_age },
        { "ntpsync_sources_polling_interval_seconds", "gauge", "The source's poll interval.", get_poll },
        { "ntpsync_sources_reachability_register", "gauge",
          "The reach register, 8 bits, the newest poll in bit 0 (ntpq's reach, in decimal).", get_reach },
        { "ntpsync_sources_stratum", "gauge", "The stratum of the source's last reply.", get_stratum },
        { "ntpsync_sources_nts_cookies", "gauge", "NTS cookies in hand for the source.", get_cookies },
        { "ntpsync_sources_nts_rejected_total", "counter",
          "Responses of an NTS source dropped because they did not authenticate.", get_rejected },
};

struct source_info {
        const char *name, *help, *label;
        const char *(*get)(const struct metrics_source *src, char *buf); /* NULL: left out */
};

static const char *get_state(const struct metrics_source *src, char *buf) {
        return engine_source_state_to_string(src->info.state);
}

static const char *get_tally(const struct metrics_source *src, char *buf) {
        buf[0] = src->info.tally;
        buf[1] = '\0';
        return buf;
}

static const char *get_nts_state(const struct metrics_source *src, char *buf) {
        return src->nts.nts ? peer_nts_state_to_string(src->nts.state) : NULL;
}

static const struct source_info source_infos[] = {
        { "ntpsync_sources_state_info", "The source's state (new, ok, unreachable, denied, falseticker, too far).",
          "source_state", get_state },
        { "ntpsync_sources_tally_info",
          "The source's tally code as ntpq -p shows it: * system peer, + combined, - outlier, x falseticker, # too far, space unused.",
          "tally", get_tally },
        { "ntpsync_sources_nts_state_info", "An NTS source's key establishment state.", "nts_state", get_nts_state },
};

static void source_labels(const struct metrics_source *src, struct label labels[SOURCE_LABELS + 1]) {
        labels[0] = (struct label) { "source_address", src->address };
        labels[1] = (struct label) { "source_name", src->info.name };
}

static bool any_source_value(const struct metrics_snapshot *s, const struct source_value *v) {
        double ignored;
        for (size_t i = 0; i < s->n_sources; i++)
                if (v->get(s, &s->sources[i], &ignored))
                        return true;
        return false;
}

static void write_source_value(FILE *f, const struct metrics_snapshot *s, const struct source_value *v) {
        struct label labels[SOURCE_LABELS + 1];
        double value;
        if (!any_source_value(s, v))
                return;
        write_family(f, v->name, v->type, v->help);
        for (size_t i = 0; i < s->n_sources; i++)
                if (v->get(s, &s->sources[i], &value)) {
                        source_labels(&s->sources[i], labels);
                        write_sample(f, v->name, labels, SOURCE_LABELS, value);
                }
}

static void write_source_info(FILE *f, const struct metrics_snapshot *s, const struct source_info *v) {
        struct label labels[SOURCE_LABELS + 1];
        char buf[2];
        bool written = false;
        for (size_t i = 0; i < s->n_sources; i++) {
                const char *value = v->get(&s->sources[i], buf);
                if (!value)
                        continue;
                if (!written)
                        write_family(f, v->name, "gauge", v->help);
                written = true;
                source_labels(&s->sources[i], labels);
                labels[SOURCE_LABELS] = (struct label) { v->label, value };
                write_sample(f, v->name, labels, SOURCE_LABELS + 1, 1);
        }
}

static void write_sources(FILE *f, const struct metrics_snapshot *s) {
        for (size_t i = 0; i < ELEMENTSOF(source_values); i++)
                write_source_value(f, s, &source_values[i]);
        for (size_t i = 0; i < ELEMENTSOF(source_infos); i++)
                write_source_info(f, s, &source_infos[i]);
}

/* ---- serving ---- */

static uint64_t verdicts(const struct ntp_server_counters *c, const enum server_verdict *list, size_t n) {
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++)
                sum += c->verdicts[list[i]];
        return sum;
}

static void write_thread_counts(FILE *f, const struct metrics_snapshot *s) {
        const char *name = "ntpsync_serverstats_thread_ntp_packets_received_total";
        write_family(f, name, "counter", "Datagrams received on the NTP sockets, by serving thread (0: the main one).");
        for (size_t i = 0; i < s->n_threads; i++) {
                char number[24];
                snprintf(number, sizeof(number), "%zu", i);
                const struct label thread[] = { { "thread", number } };
                write_count(f, name, thread, 1, s->received_by_thread[i]);
        }
}

static void write_serving(FILE *f, const struct metrics_snapshot *s) {
        const struct ntp_server_counters *c = &s->served;
        static const enum server_verdict restricted[] = { SERVER_DROP_IGNORE, SERVER_DROP_VERSION, SERVER_DROP_NOSERVE,
                                                          SERVER_DROP_NOPEER, SERVER_DROP_NOQUERY };
        static const enum server_verdict limited[] = { SERVER_DROP_LIMITED, SERVER_REPLY_KOD_RATE };
        static const enum server_verdict kods[] = { SERVER_REPLY_KOD_RATE, SERVER_REPLY_KOD_DENY };

        gauge(f, "ntpsync_serving_enabled", "1 when time is served to NTP clients (ServerMode).", s->serving);
        counter(f, "ntpsync_serverstats_ntp_packets_received_total", "Datagrams received on the NTP sockets.", c->received);
        counter(f, "ntpsync_serverstats_ntp_requests_served_total", "Client requests answered with the time.",
                c->verdicts[SERVER_REPLY]);
        counter(f, "ntpsync_serverstats_ntp_packets_sent_total", "Datagrams sent: answers, kisses-o'-death, mode 6.",
                c->sent);
        counter(f, "ntpsync_serverstats_ntp_send_errors_total", "Answers that could not be sent.", c->send_errors);
        counter(f, "ntpsync_serverstats_ntp_packets_dropped_restrict_total",
                "Requests refused by restrict rules (ignore, noserve, nopeer, noquery, version) and, while not serving, "
                "every request but mode 6.",
                verdicts(c, restricted, ELEMENTSOF(restricted)));
        counter(f, "ntpsync_serverstats_ntp_packets_rate_limited_total",
                "Requests over the rate limit (limited): dropped, or answered with a RATE kiss-o'-death.",
                verdicts(c, limited, ELEMENTSOF(limited)));
        counter(f, "ntpsync_serverstats_ntp_packets_kod_sent_total", "Kiss-o'-death answers sent (RATE and DENY).",
                verdicts(c, kods, ELEMENTSOF(kods)));
        counter(f, "ntpsync_serverstats_ntp_packets_malformed_total", "Datagrams that are no NTP request.",
                c->verdicts[SERVER_DROP_MALFORMED]);
        counter(f, "ntpsync_serverstats_command_packets_received_total", "Mode 6 (ntpq) requests the rules allow.",
                c->verdicts[SERVER_CONTROL]);
        counter(f, "ntpsync_serverstats_ntp_basic_responses_total", "Requests answered with the time in basic mode.",
                c->basic);
        counter(f, "ntpsync_serverstats_ntp_interleaved_responses_total",
                "Requests answered in interleaved mode, with the previous answer's transmit timestamp.", c->interleaved);
        counter(f, "ntpsync_serverstats_ntp_kernel_tx_timestamps_total",
                "Kernel transmit timestamps of answers read back from the error queue.", c->tx_timestamps);
        write_thread_counts(f, s);
}

/* ---- NTS served ---- */

static void write_nts(FILE *f, const struct metrics_snapshot *s) {
        gauge(f, "ntpsync_nts_ke_running", "1 when the NTS-KE service runs.", s->nts_ke_running);
        counter(f, "ntpsync_nts_ntp_packets_authenticated_total", "NTS requests answered authenticated, with cookies.",
                s->served.nts_answered);
        counter(f, "ntpsync_nts_ntp_packets_nak_sent_total", "NTS requests answered with an NTS NAK.",
                s->served.nts_naked);
        counter(f, "ntpsync_nts_ntp_packets_dropped_total", "NTS requests dropped as malformed.", s->served.nts_dropped);
        counter(f, "ntpsync_nts_ke_connections_accepted_total", "NTS-KE connections accepted.", s->nts_ke.connections);
        gauge(f, "ntpsync_nts_ke_connections_active", "NTS-KE connections under way.", s->nts_ke_active);
        counter(f, "ntpsync_nts_ke_established_total", "NTS key establishments answered with keys and cookies.",
                s->nts_ke.successes);
        write_family(f, "ntpsync_nts_ke_failures_total", "counter", "NTS-KE connections that failed, by reason.");
        for (int r = 0; r < _NTS_KE_SERVER_FAILURE_MAX; r++) {
                const struct label reason[] = { { "reason", nts_ke_server_failure_to_string(r) } };
                write_count(f, "ntpsync_nts_ke_failures_total", reason, 1, s->nts_ke.failures[r]);
        }
}

/* ---- the firewall ---- */

static void write_firewall(FILE *f, const struct metrics_snapshot *s) {
        const struct firewall_state *fw = &s->firewall;
        const struct label backend[] = { { "backend", fw->backend_name ? fw->backend_name : "none" } };
        info(f, "ntpsync_firewall_backend_info", "The firewall backend: firewalld, nftables or none.", backend, 1);
        write_family(f, "ntpsync_firewall_state_info", "gauge",
                     "The firewall state of NTP client and service traffic: unmanaged, open, closed, failed, unknown.");
        const struct label client[] = { { "direction", "client" },
                                        { "state", firewall_direction_state_to_string(fw->client_state) } };
        const struct label server[] = { { "direction", "server" },
                                        { "state", firewall_direction_state_to_string(fw->server_state) } };
        write_sample(f, "ntpsync_firewall_state_info", client, 2, 1);
        write_sample(f, "ntpsync_firewall_state_info", server, 2, 1);
        counter(f, "ntpsync_firewall_ignored_packets_total",
                "nftables: packets the kernel dropped for restrict ignore (from 0 again after each apply).",
                fw->ignored_packets);
}

void metrics_format(const struct metrics_snapshot *s, FILE *f) {
        write_tracking_identity(f, s);
        write_tracking_offsets(f, s);
        write_sources(f, s);
        write_serving(f, s);
        write_nts(f, s);
        write_firewall(f, s);
}
