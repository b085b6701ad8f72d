/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for select: intersection (falsetickers), clustering (outliers), the system peer,
 * the combined offset and the leap vote. */

#include <string.h>

#include "core/select.h"
#include "unit-test.h"

static struct select_candidate candidate(uint32_t id, double offset, double root_distance) {
        return (struct select_candidate) {
                .id = id,
                .offset = offset,
                .frequency = 1e-6,
                .frequency_sd = 1e-6,
                .root_distance = root_distance,
                .jitter = 1e-4,
                .stratum = 2,
                .leap = NTP_LEAP_NONE,
                .tally = TALLY_REJECTED,
        };
}

static struct select_result untouched_result(void) {
        struct select_result r;

        memset(&r, 0x5a, sizeof(r));
        return r;
}

static void assert_tallies(const struct select_candidate *c, size_t n, const char *expected) {
        assert_int_equal(strlen(expected), n);
        for (size_t i = 0; i < n; i++) {
                if ((char) c[i].tally == expected[i])
                        continue;
                print_error("candidate %zu tallied '%c', expected '%c'\n", i, (char) c[i].tally, expected[i]);
                fail();
        }
}

static void test_no_candidates(void **state) {
        struct select_result r = untouched_result(), before = r;

        assert_int_equal(select_sources(NULL, 0, 1, 0, &r), SELECT_NO_CANDIDATES);
        assert_memory_equal(&r, &before, sizeof(r));
}

static void test_single_source_is_the_peer(void **state) {
        struct select_candidate c[] = { candidate(7, 0.25, 0.01) };
        struct select_result r;

        assert_int_equal(select_sources(c, 1, 1, 0, &r), SELECT_OK);
        assert_tallies(c, 1, "*");
        assert_int_equal(r.system_peer, 0);
        assert_int_equal(r.n_survivors, 1);
        assert_double_near(r.offset, 0.25, 1e-15);
        assert_int_equal(r.leap, NTP_LEAP_NONE);
}

static void test_falsetickers_are_voted_out(void **state) {
        struct select_candidate c[] = {
                candidate(1, 0.5, 0.01),     /* false */
                candidate(2, 0.001, 0.01),
                candidate(3, -0.7, 0.01),    /* false */
                candidate(4, -0.001, 0.01),
                candidate(5, 0.0005, 0.01),
        };
        struct select_result r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_OK);
        assert_int_equal(c[0].tally, TALLY_FALSETICKER);
        assert_int_equal(c[2].tally, TALLY_FALSETICKER);
        assert_true(r.system_peer == 1 || r.system_peer == 3 || r.system_peer == 4);
        assert_int_equal(c[r.system_peer].tally, TALLY_SYSTEM_PEER);
        for (size_t i = 1; i < ELEMENTSOF(c); i += 1)
                if (i != 2 && i != r.system_peer)
                        assert_int_equal(c[i].tally, TALLY_CANDIDATE);
        assert_int_equal(r.n_survivors, 3);
        assert_double_near(r.offset, 0.000167, 0.002);
        /* Not even a little pulled toward the falsetickers. */
        assert_true(r.offset > -0.001 && r.offset < 0.001);
}

static void test_two_true_three_wrong_all_disagreeing_is_no_majority(void **state) {
        struct select_candidate c[] = {
                candidate(1, 0.0, 0.01),
                candidate(2, 0.001, 0.01),
                candidate(3, 1.0, 0.01),
                candidate(4, 2.0, 0.01),
                candidate(5, -3.0, 0.01),
        };
        struct select_result r = untouched_result(), before = r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_NO_MAJORITY);
        assert_memory_equal(&r, &before, sizeof(r));
        for (size_t i = 0; i < ELEMENTSOF(c); i++)
                assert_true(c[i].tally == TALLY_FALSETICKER || c[i].tally == TALLY_REJECTED);
}

static void test_two_disagreeing_sources_is_no_majority(void **state) {
        struct select_candidate c[] = {
                candidate(1, 0.0, 0.01),
                candidate(2, 0.5, 0.01),
        };
        struct select_result r = untouched_result(), before = r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_NO_MAJORITY);
        assert_memory_equal(&r, &before, sizeof(r));
        assert_tallies(c, 2, "xx");
}

static void test_fewer_survivors_than_min_sources(void **state) {
        struct select_candidate c[] = {
                candidate(1, 0.0, 0.01),
                candidate(2, 0.001, 0.01),
                candidate(3, 0.002, 0.01),
                candidate(4, 5.0, 0.01),
        };
        struct select_result r = untouched_result(), before = r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 4, 0, &r), SELECT_TOO_FEW);
        assert_memory_equal(&r, &before, sizeof(r));
        assert_tallies(c, 4, "   x");

        /* The same with min_sources 3 selects. */
        assert_int_equal(select_sources(c, ELEMENTSOF(c), 3, 0, &r), SELECT_OK);
        assert_int_equal(r.n_survivors, 3);
        assert_int_equal(c[3].tally, TALLY_FALSETICKER);
}

static void test_prefer_peer_chosen_and_followed_alone(void **state) {
        struct select_candidate c[] = {
                candidate(1, 0.001, 0.01),
                candidate(2, 0.002, 0.01),
                candidate(3, 0.004, 0.02),
        };
        c[2].stratum = 5;              /* by merit it would be the last choice */
        c[2].prefer = true;
        c[2].frequency = 3e-6;
        c[2].frequency_sd = 2e-6;
        struct select_result r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_OK);
        assert_int_equal(r.system_peer, 2);
        assert_tallies(c, 3, "++*");
        assert_double_near(r.offset, 0.004, 0);
        assert_double_near(r.frequency, 3e-6, 0);
        assert_double_near(r.frequency_sd, 2e-6, 0);
}

static void test_prefer_falseticker_is_not_chosen(void **state) {
        struct select_candidate c[] = {
                candidate(1, 0.001, 0.01),
                candidate(2, 0.9, 0.01),
                candidate(3, 0.002, 0.01),
                candidate(4, 0.0, 0.01),
        };
        c[1].prefer = true;
        c[1].stratum = 1;
        struct select_result r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_OK);
        assert_int_equal(c[1].tally, TALLY_FALSETICKER);
        assert_true(r.system_peer != 1);
        assert_true(fabs(r.offset - 0.001) < 0.002);
}

static void test_peer_by_stratum_and_distance(void **state) {
        struct select_candidate c[] = {
                candidate(1, 0.001, 0.01),
                candidate(2, 0.002, 0.05),
                candidate(3, 0.0015, 0.02),
        };
        c[0].stratum = 3;
        c[1].stratum = 1;
        c[2].stratum = 1;
        struct select_result r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_OK);
        assert_int_equal(r.system_peer, 2); /* the lowest stratum, then the shortest distance */
}

/* Weighted by root distance, also when tos mindist widens every interval (it must not flatten the
 * weights of LAN sources). */
static void test_combined_offset_weighted_by_root_distance(void **state) {
        static const struct { double scale, min_distance; } cases[] = { { 1, 0 }, { 1e-4, 0.001 } };
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                double f = cases[k].scale;
                struct select_candidate c[] = {
                        candidate(1, 0.010 * f, 0.1 * f),
                        candidate(2, 0.020 * f, 0.2 * f),
                        candidate(3, 0.015 * f, 0.4 * f),
                };
                for (size_t i = 0; i < ELEMENTSOF(c); i++)
                        c[i].jitter = 0.1; /* no clustering */
                struct select_result r;

                assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, cases[k].min_distance, &r), SELECT_OK);
                double w1 = 1 / 0.1, w2 = 1 / 0.2, w3 = 1 / 0.4;
                assert_double_near(r.offset, f * (w1 * 0.010 + w2 * 0.020 + w3 * 0.015) / (w1 + w2 + w3), 1e-15);
        }
}

static void test_clustering_drops_the_outlier(void **state) {
        /* All intervals overlap; one offset is much further from the rest than their jitter. */
        struct select_candidate c[] = {
                candidate(1, 0.0, 0.1),
                candidate(2, 0.001, 0.1),
                candidate(3, 0.05, 0.1),
                candidate(4, -0.001, 0.1),
                candidate(5, 0.0005, 0.1),
        };
        for (size_t i = 0; i < ELEMENTSOF(c); i++)
                c[i].jitter = 0.005;
        struct select_result r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_OK);
        assert_int_equal(c[2].tally, TALLY_OUTLIER);
        assert_int_equal(r.n_survivors, 4);
        assert_true(r.system_peer != 2);
        for (size_t i = 0; i < ELEMENTSOF(c); i++)
                if (i != 2)
                        assert_true(c[i].tally == TALLY_CANDIDATE || c[i].tally == TALLY_SYSTEM_PEER);
        assert_true(fabs(r.offset) < 0.001);
}

static void test_clustering_never_below_three(void **state) {
        struct select_candidate c[] = {
                candidate(1, -0.04, 0.1),
                candidate(2, 0.0, 0.1),
                candidate(3, 0.04, 0.1),
        };
        for (size_t i = 0; i < ELEMENTSOF(c); i++)
                c[i].jitter = 1e-6;
        struct select_result r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_OK);
        assert_int_equal(r.n_survivors, 3);
        for (size_t i = 0; i < ELEMENTSOF(c); i++)
                assert_true(c[i].tally != TALLY_OUTLIER);

        struct select_candidate d[] = {
                candidate(1, -0.04, 0.1),
                candidate(2, 0.0, 0.1),
                candidate(3, 0.04, 0.1),
                candidate(4, 0.08, 0.1),
                candidate(5, 0.001, 0.1),
        };
        for (size_t i = 0; i < ELEMENTSOF(d); i++)
                d[i].jitter = 1e-6;
        assert_int_equal(select_sources(d, ELEMENTSOF(d), 1, 0, &r), SELECT_OK);
        assert_int_equal(r.n_survivors, SELECT_MIN_CLUSTER);
        unsigned outliers = 0;
        for (size_t i = 0; i < ELEMENTSOF(d); i++)
                outliers += d[i].tally == TALLY_OUTLIER;
        assert_int_equal(outliers, 2);
        assert_int_equal(d[3].tally, TALLY_OUTLIER); /* the furthest out goes first */
}

static void test_selection_jitter_in_the_result(void **state) {
        struct select_candidate c[] = {
                candidate(1, 0.0, 0.1),
                candidate(2, 0.003, 0.1),
                candidate(3, -0.004, 0.1),
        };
        for (size_t i = 0; i < ELEMENTSOF(c); i++)
                c[i].jitter = 0.01;
        c[0].stratum = 1;
        struct select_result r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_OK);
        assert_int_equal(r.system_peer, 0);
        double spread = sqrt((0.003 * 0.003 + 0.004 * 0.004) / 2);
        assert_double_near(r.jitter, sqrt(spread * spread + 0.01 * 0.01), 1e-12);
}

static void test_leap_vote_needs_a_majority(void **state) {
        struct select_candidate c[3];
        struct select_result r;

        for (unsigned inserts = 0; inserts <= 3; inserts++) {
                for (size_t i = 0; i < 3; i++) {
                        c[i] = candidate((uint32_t) i, 0.001 * (double) i, 0.01);
                        c[i].leap = i < inserts ? NTP_LEAP_INSERT : NTP_LEAP_NONE;
                }
                assert_int_equal(select_sources(c, 3, 1, 0, &r), SELECT_OK);
                assert_int_equal(r.leap, inserts >= 2 ? NTP_LEAP_INSERT : NTP_LEAP_NONE);
        }

        /* Half is not a majority. */
        struct select_candidate d[4];
        for (size_t i = 0; i < 4; i++) {
                d[i] = candidate((uint32_t) i, 0.001 * (double) i, 0.01);
                d[i].jitter = 0.01; /* all four survive clustering */
                d[i].leap = i < 2 ? NTP_LEAP_DELETE : NTP_LEAP_NONE;
        }
        assert_int_equal(select_sources(d, 4, 1, 0, &r), SELECT_OK);
        assert_int_equal(r.n_survivors, 4);
        assert_int_equal(r.leap, NTP_LEAP_NONE);
        d[2].leap = NTP_LEAP_DELETE;
        assert_int_equal(select_sources(d, 4, 1, 0, &r), SELECT_OK);
        assert_int_equal(r.leap, NTP_LEAP_DELETE);
}

static void test_leap_vote_ignores_falsetickers(void **state) {
        struct select_candidate c[] = {
                candidate(1, 0.0, 0.01),
                candidate(2, 0.001, 0.01),
                candidate(3, 0.002, 0.01),
                candidate(4, 3.0, 0.01),
                candidate(5, -3.0, 0.01),
        };
        c[0].leap = NTP_LEAP_INSERT;
        c[3].leap = NTP_LEAP_INSERT;
        c[4].leap = NTP_LEAP_INSERT;
        struct select_result r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_OK);
        assert_int_equal(r.n_survivors, 3);
        assert_int_equal(r.leap, NTP_LEAP_NONE);
}

static void test_touching_intervals_intersect(void **state) {
        /* [-2, 0] ends where [0, 2] begins; [0.5, 1.5] lies inside the second. A majority of two
         * needs the touching point to count for both. */
        struct select_candidate c[] = {
                candidate(1, -1.0, 1.0),
                candidate(2, 1.0, 1.0),
                candidate(3, 1.0, 0.5),
        };
        struct select_result r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_OK);
        assert_int_equal(r.n_survivors, 3);
        for (size_t i = 0; i < ELEMENTSOF(c); i++)
                assert_true(c[i].tally != TALLY_FALSETICKER);
}

static void test_separated_interval_is_a_falseticker(void **state) {
        /* The same, with a gap of a nanosecond: the first is now out. */
        struct select_candidate c[] = {
                candidate(1, -1.0 - 1e-9, 1.0),
                candidate(2, 1.0, 1.0),
                candidate(3, 1.0, 0.5),
        };
        struct select_result r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_OK);
        assert_int_equal(c[0].tally, TALLY_FALSETICKER);
        assert_int_equal(r.n_survivors, 2);
}

/* Three LAN truechimers a few microseconds apart with root distances narrower than that, and a
 * falseticker 1.6 s away (numbers measured against chronyd on veth): without a floor under the
 * intervals no majority agrees; with ntpd's 1 ms the three agree and the odd one is out. */
static void test_min_distance_keeps_lan_truechimers_together(void **state) {
        struct select_candidate c[] = {
                candidate(1, 1.999998136, 0.000010230),
                candidate(2, 0.399997833, 0.000006559),
                candidate(3, 0.399999977, 0.000041786),
                candidate(4, 0.400004495, 0.000056554),
        };
        struct select_result r;

        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0, &r), SELECT_NO_MAJORITY);
        assert_int_equal(select_sources(c, ELEMENTSOF(c), 1, 0.001, &r), SELECT_OK);
        assert_int_equal(c[0].tally, TALLY_FALSETICKER);
        assert_int_equal(r.n_survivors, 3);
        assert_double_near(r.offset, 0.4, 1e-5);
}

static void test_failure_strings(void **state) {
        assert_string_equal(select_failure_to_string(SELECT_OK), "ok");
        assert_non_null(strstr(select_failure_to_string(SELECT_NO_MAJORITY), "majority"));
        assert_non_null(select_failure_to_string((enum select_failure) 99));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_candidates),
                cmocka_unit_test(test_single_source_is_the_peer),
                cmocka_unit_test(test_falsetickers_are_voted_out),
                cmocka_unit_test(test_two_true_three_wrong_all_disagreeing_is_no_majority),
                cmocka_unit_test(test_two_disagreeing_sources_is_no_majority),
                cmocka_unit_test(test_fewer_survivors_than_min_sources),
                cmocka_unit_test(test_prefer_peer_chosen_and_followed_alone),
                cmocka_unit_test(test_prefer_falseticker_is_not_chosen),
                cmocka_unit_test(test_peer_by_stratum_and_distance),
                cmocka_unit_test(test_combined_offset_weighted_by_root_distance),
                cmocka_unit_test(test_clustering_drops_the_outlier),
                cmocka_unit_test(test_clustering_never_below_three),
                cmocka_unit_test(test_selection_jitter_in_the_result),
                cmocka_unit_test(test_leap_vote_needs_a_majority),
                cmocka_unit_test(test_leap_vote_ignores_falsetickers),
                cmocka_unit_test(test_touching_intervals_intersect),
                cmocka_unit_test(test_separated_interval_is_a_falseticker),
                cmocka_unit_test(test_min_distance_keeps_lan_truechimers_together),
                cmocka_unit_test(test_failure_strings),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
