/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for metrics_format() (src/daemon/metrics.c): the text exposition format 0.0.4 line
 * by line (a comment, or `name{labels} value`, each sample after its family's HELP and TYPE),
 * the values taken from a snapshot, label values escaped, and values not known yet left out. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "unit-test.h"

static struct metrics_source sources[2];
static struct metrics_snapshot snapshot;

static int setup(void **state) {
        sources[0] = (struct metrics_source) {
                .info = { .id = 1, .name = "ntp.example.com", .state = SOURCE_STATE_OK, .tally = '*', .stratum = 2,
                          .poll = 6, .reach = 0377, .last_rx_mono = 5000000000, .offset = 0.0125, .delay = 0.002,
                          .jitter = 0.0005, .samples = 8 },
                .address = "192.0.2.1",
        };
        sources[1] = (struct metrics_source) {
                .info = { .id = 2, .name = "we\"ird\\name\nhere", .state = SOURCE_STATE_NEW, .tally = ' ', .poll = 6,
                          .last_rx_mono = -1 },
                .address = "2001:db8::1",
                .nts = { .nts = true, .state = PEER_NTS_KE_PENDING, .cookies = 3, .rejected = 7 },
        };
        snapshot = (struct metrics_snapshot) {
                .version = "1.2",
                .now_mono = 7500000000,
                .status = { .synchronized = true, .stratum = 3, .offset = 0.0125, .jitter = 0.00025,
                            .residual_frequency_ppm = 0.5, .root_delay = 0.004, .root_dispersion = 0.01, .poll = 6,
                            .last_update_mono = 5000000000, .last_update_real = 1700000000000000000, .steps = 1,
                            .packets_sent = 42, .n_selected = 1, .leap = NTP_LEAP_NONE },
                .frequency_ppm = -12.5,
                .reference_id = "192.0.2.1",
                .system_peer_name = "ntp.example.com",
                .system_peer_address = "192.0.2.1",
                .online = true,
                .sources = sources,
                .n_sources = 2,
                .serving = true,
                .served = { .received = 100, .sent = 90, .send_errors = 1, .nts_answered = 4, .basic = 70,
                            .interleaved = 10, .tx_timestamps = 77 },
                .nts_ke = { .connections = 6, .successes = 5 },
                .firewall = { .backend_name = "nftables", .client_state = FIREWALL_OPEN,
                              .server_state = FIREWALL_CLOSED, .ignored_packets = 9 },
        };
        snapshot.served.verdicts[SERVER_REPLY] = 80;
        snapshot.served.verdicts[SERVER_REPLY_KOD_RATE] = 2;
        snapshot.served.verdicts[SERVER_REPLY_KOD_DENY] = 3;
        snapshot.served.verdicts[SERVER_DROP_LIMITED] = 5;
        snapshot.served.verdicts[SERVER_DROP_IGNORE] = 4;
        snapshot.served.verdicts[SERVER_DROP_NOQUERY] = 1;
        snapshot.served.verdicts[SERVER_CONTROL] = 6;
        snapshot.nts_ke.failures[NTS_KE_SERVER_FAILURE_TLS] = 1;
        return 0;
}

static char *format(void) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        assert_non_null(f);
        metrics_format(&snapshot, f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(strlen(text), len);
        return text;
}

/* ---- the format, line by line ---- */

static bool is_name_char(char c, bool first) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

static const char *skip_name(const char *p) {
        if (!is_name_char(*p, true))
                return NULL;
        while (is_name_char(*p, false))
                p++;
        return p;
}

/* label="value" pairs, values with only \\, \" and \n escapes. */
static const char *skip_labels(const char *p) {
        if (*p != '{')
                return p;
        p++;
        while (*p != '}') {
                p = skip_name(p);
                if (!p || *p++ != '=' || *p++ != '"')
                        return NULL;
                for (; *p != '"'; p++) {
                        if (*p == '\0' || *p == '\n')
                                return NULL;
                        if (*p == '\\' && !strchr("\\\"n", *++p))
                                return NULL;
                }
                p++;
                if (*p == ',')
                        p++;
                else if (*p != '}')
                        return NULL;
        }
        return p + 1;
}

static bool is_value(const char *p) {
        if (strcmp(p, "NaN") == 0 || strcmp(p, "+Inf") == 0 || strcmp(p, "-Inf") == 0)
                return true;
        char *end;
        (void) strtod(p, &end);
        return end != p && *end == '\0';
}

/* The family a sample line belongs to: its name, which must have had HELP and TYPE. */
static void check_sample(const char *line, const char *family) {
        const char *p = skip_name(line);
        if (!p || (size_t) (p - line) != strlen(family) || strncmp(line, family, strlen(family)) != 0) {
                print_error("sample of no family (last: %s): %s\n", family, line);
                fail();
        }
        p = skip_labels(p);
        if (!p || *p != ' ' || !is_value(p + 1)) {
                print_error("not `name{labels} value`: %s\n", line);
                fail();
        }
}

static void check_comment(const char *line, char *family, size_t size, bool *typed) {
        char name[128], type[32];
        if (sscanf(line, "# HELP %127s ", name) == 1) {
                assert_true(strcmp(name, family) != 0); /* each family once */
                snprintf(family, size, "%s", name);
                *typed = false;
                return;
        }
        assert_int_equal(sscanf(line, "# TYPE %127s %31s", name, type), 2);
        assert_string_equal(name, family);
        assert_true(strcmp(type, "gauge") == 0 || strcmp(type, "counter") == 0);
        if (strcmp(type, "counter") == 0)
                assert_non_null(strstr(name, "_total"));
        *typed = true;
}

static void test_every_line_is_a_comment_or_a_sample(void **state) {
        char *text = format(), family[128] = "";
        bool typed = false;
        size_t samples = 0;
        assert_true(text[strlen(text) - 1] == '\n');
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                if (line[0] == '#') {
                        check_comment(line, family, sizeof(family), &typed);
                        continue;
                }
                assert_true(typed);
                check_sample(line, family);
                samples++;
        }
        assert_true(samples > 40);
        free(text);
}

/* ---- values ---- */

static void assert_line(const char *text, const char *line) {
        const char *p = text;
        size_t n = strlen(line);
        while ((p = strstr(p, line)) && !((p == text || p[-1] == '\n') && p[n] == '\n'))
                p++;
        if (!p) {
                print_error("no line \"%s\" in:\n%s", line, text);
                fail();
        }
}

static void assert_no_family(const char *text, const char *name) {
        char help[160];
        snprintf(help, sizeof(help), "# HELP %s ", name);
        if (strstr(text, help)) {
                print_error("%s is there:\n%s", name, text);
                fail();
        }
}

static void test_tracking(void **state) {
        char *text = format();
        assert_line(text, "ntpsync_build_info{version=\"1.2\"} 1");
        assert_line(text, "ntpsync_tracking_info{tracking_refid=\"192.0.2.1\",tracking_address=\"192.0.2.1\","
                          "tracking_name=\"ntp.example.com\"} 1");
        assert_line(text, "ntpsync_tracking_sync_status 1");
        assert_line(text, "ntpsync_tracking_stratum 3");
        assert_line(text, "ntpsync_tracking_leap_status 0");
        assert_line(text, "ntpsync_tracking_last_offset_seconds 0.0125");
        assert_line(text, "ntpsync_tracking_jitter_seconds 0.00025");
        assert_line(text, "ntpsync_tracking_reference_timestamp_seconds 1700000000");
        assert_line(text, "ntpsync_tracking_frequency_ppms -12.5");
        assert_line(text, "ntpsync_tracking_frequency_adjustment_ratio 0.9999875");
        assert_line(text, "ntpsync_tracking_residual_frequency_ppms 0.5");
        assert_line(text, "ntpsync_tracking_root_delay_seconds 0.004");
        assert_line(text, "ntpsync_tracking_root_dispersion_seconds 0.01");
        assert_line(text, "ntpsync_tracking_update_interval_seconds 64");
        assert_line(text, "ntpsync_tracking_clock_steps_total 1");
        assert_line(text, "ntpsync_client_requests_sent_total 42");
        assert_line(text, "ntpsync_network_online 1");
        free(text);
}

static void test_not_synchronized(void **state) {
        snapshot.status.synchronized = false;
        snapshot.status.last_update_mono = -1;
        snapshot.status.stratum = 16;
        snapshot.reference_id[0] = '\0';
        snapshot.system_peer_name = snapshot.system_peer_address = NULL;
        char *text = format();
        assert_line(text, "ntpsync_tracking_sync_status 0");
        assert_line(text, "ntpsync_tracking_leap_status 3");
        assert_line(text, "ntpsync_tracking_info{tracking_refid=\"\",tracking_address=\"\",tracking_name=\"\"} 1");
        /* Never updated: no offset to show, rather than a 0 that looks like a perfect clock. */
        assert_no_family(text, "ntpsync_tracking_last_offset_seconds");
        assert_no_family(text, "ntpsync_tracking_jitter_seconds");
        free(text);
}

static void test_sources(void **state) {
        char *text = format();
        const char *a = "{source_address=\"192.0.2.1\",source_name=\"ntp.example.com\"}";
        char line[256];
#define ASSERT_SOURCE(name, value)                                  \
        do {                                                        \
                snprintf(line, sizeof(line), "%s%s %s", name, a, value); \
                assert_line(text, line);                            \
        } while (0)
        ASSERT_SOURCE("ntpsync_sources_last_sample_offset_seconds", "0.0125");
        ASSERT_SOURCE("ntpsync_sources_delay_seconds", "0.002");
        ASSERT_SOURCE("ntpsync_sources_jitter_seconds", "0.0005");
        ASSERT_SOURCE("ntpsync_sources_last_sample_age_seconds", "2.5");
        ASSERT_SOURCE("ntpsync_sources_polling_interval_seconds", "64");
        ASSERT_SOURCE("ntpsync_sources_reachability_register", "255");
        ASSERT_SOURCE("ntpsync_sources_stratum", "2");
#undef ASSERT_SOURCE
        assert_line(text, "ntpsync_sources_tally_info{source_address=\"192.0.2.1\",source_name=\"ntp.example.com\","
                          "tally=\"*\"} 1");
        assert_line(text, "ntpsync_sources_state_info{source_address=\"192.0.2.1\",source_name=\"ntp.example.com\","
                          "source_state=\"ok\"} 1");
        free(text);
}

static void test_label_values_escaped(void **state) {
        char *text = format();
        const char *b = "{source_address=\"2001:db8::1\",source_name=\"we\\\"ird\\\\name\\nhere\"}";
        char line[256];
        snprintf(line, sizeof(line), "ntpsync_sources_reachability_register%s 0", b);
        assert_line(text, line);
        snprintf(line, sizeof(line), "ntpsync_sources_nts_cookies%s 3", b);
        assert_line(text, line);
        snprintf(line, sizeof(line), "ntpsync_sources_nts_rejected_total%s 7", b);
        assert_line(text, line);
        /* No sample yet: no offset, delay, jitter, age or stratum for it; no NTS lines for the plain source. */
        snprintf(line, sizeof(line), "ntpsync_sources_last_sample_offset_seconds%s", b);
        assert_null(strstr(text, line));
        snprintf(line, sizeof(line), "ntpsync_sources_last_sample_age_seconds%s", b);
        assert_null(strstr(text, line));
        assert_null(strstr(text, "ntpsync_sources_nts_cookies{source_address=\"192.0.2.1\""));
        free(text);
}

static void test_serving_counters(void **state) {
        char *text = format();
        assert_line(text, "ntpsync_serving_enabled 1");
        assert_line(text, "ntpsync_serverstats_ntp_packets_received_total 100");
        assert_line(text, "ntpsync_serverstats_ntp_requests_served_total 80");
        assert_line(text, "ntpsync_serverstats_ntp_packets_sent_total 90");
        assert_line(text, "ntpsync_serverstats_ntp_send_errors_total 1");
        assert_line(text, "ntpsync_serverstats_ntp_packets_dropped_restrict_total 5");
        /* Dropped over the limit, and the RATE kisses. */
        assert_line(text, "ntpsync_serverstats_ntp_packets_rate_limited_total 7");
        assert_line(text, "ntpsync_serverstats_ntp_packets_kod_sent_total 5");
        assert_line(text, "ntpsync_serverstats_command_packets_received_total 6");
        assert_line(text, "ntpsync_serverstats_ntp_basic_responses_total 70");
        assert_line(text, "ntpsync_serverstats_ntp_interleaved_responses_total 10");
        assert_line(text, "ntpsync_serverstats_ntp_kernel_tx_timestamps_total 77");
        assert_line(text, "ntpsync_nts_ntp_packets_authenticated_total 4");
        assert_line(text, "ntpsync_nts_ke_connections_accepted_total 6");
        assert_line(text, "ntpsync_nts_ke_established_total 5");
        assert_line(text, "ntpsync_nts_ke_failures_total{reason=\"tls\"} 1");
        assert_line(text, "ntpsync_nts_ke_failures_total{reason=\"busy\"} 0");
        free(text);
}

static void test_firewall(void **state) {
        char *text = format();
        assert_line(text, "ntpsync_firewall_backend_info{backend=\"nftables\"} 1");
        assert_line(text, "ntpsync_firewall_state_info{direction=\"client\",state=\"open\"} 1");
        assert_line(text, "ntpsync_firewall_state_info{direction=\"server\",state=\"closed\"} 1");
        assert_line(text, "ntpsync_firewall_ignored_packets_total 9");
        free(text);
}

static void test_special_numbers(void **state) {
        snapshot.status.offset = NAN;
        snapshot.status.jitter = INFINITY;
        snapshot.frequency_ppm = 0.1;
        char *text = format();
        assert_line(text, "ntpsync_tracking_last_offset_seconds NaN");
        assert_line(text, "ntpsync_tracking_jitter_seconds +Inf");
        /* As short as reads back exactly: not 0.10000000000000001. */
        assert_line(text, "ntpsync_tracking_frequency_ppms 0.1");
        free(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_every_line_is_a_comment_or_a_sample, setup),
                cmocka_unit_test_setup(test_tracking, setup),
                cmocka_unit_test_setup(test_not_synchronized, setup),
                cmocka_unit_test_setup(test_sources, setup),
                cmocka_unit_test_setup(test_label_values_escaped, setup),
                cmocka_unit_test_setup(test_serving_counters, setup),
                cmocka_unit_test_setup(test_firewall, setup),
                cmocka_unit_test_setup(test_special_numbers, setup),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
