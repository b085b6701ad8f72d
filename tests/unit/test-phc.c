/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for phc: the PHC against the system clock, on recorded readings. The table below is
 * 24 batches of 5 (system before, PHC, system after) readings one second apart, as
 * PTP_SYS_OFFSET_EXTENDED returns them: a PHC in TAI, 12.5 ppm fast against the system clock,
 * reading delays of 2.3-3.9 us, up to ±150 ns of asymmetry, every third batch with one
 * interrupted reading (>41 us), batch 11 slow as a whole (+60 us each) and batch 17 a glitch
 * (offset 30 us off). Truth: system = PHC + OFFSET + K (PHC - P0). */

#include <stdlib.h>
#include <string.h>

#include "core/phc.h"
#include "unit-test.h"

#define OFFSET_NS (-37000000000LL + 123456789LL)
#define P0_NS 1780000000000000000LL
#define K (-12.5e-6)
#define BATCHES 24
#define PER_BATCH 5
#define SLOW_BATCH 11
#define GLITCH_BATCH 17

static const struct phc_reading recorded[BATCHES][PER_BATCH] = {
        { /* 0 */
          { 1779999963123454543, 1779999999999999480, 1779999963123457803 },
          { 1779999963123458965, 1780000000000003680, 1779999963123461848 },
          { 1779999963123442488, 1780000000000007880, 1779999963123487147 },
          { 1779999963123467318, 1780000000000012080, 1779999963123470456 },
          { 1779999963123471713, 1780000000000016280, 1779999963123474500 },
        },
        { /* 1 */
          { 1779999964123440873, 1780000000999998041, 1779999964123443780 },
          { 1779999964123445115, 1780000001000002241, 1779999964123448101 },
          { 1779999964123448811, 1780000001000006441, 1779999964123452633 },
          { 1779999964123453796, 1780000001000010641, 1779999964123456141 },
          { 1779999964123457384, 1780000001000014841, 1779999964123460918 },
        },
        { /* 2 */
          { 1779999965123428701, 1780000001999998083, 1779999965123431316 },
          { 1779999965123432364, 1780000002000002283, 1779999965123435615 },
          { 1779999965123436508, 1780000002000006483, 1779999965123440034 },
          { 1779999965123441085, 1780000002000010683, 1779999965123443844 },
          { 1779999965123445170, 1780000002000014883, 1779999965123448210 },
        },
        { /* 3 */
          { 1779999966123417744, 1780000002999999721, 1779999966123420220 },
          { 1779999966123421488, 1780000003000003921, 1779999966123424800 },
          { 1779999966123406067, 1780000003000008121, 1779999966123448478 },
          { 1779999966123430014, 1780000003000012321, 1779999966123432914 },
          { 1779999966123434621, 1780000003000016521, 1779999966123437011 },
        },
        { /* 4 */
          { 1779999967123407690, 1780000004000001989, 1779999967123410161 },
          { 1779999967123411252, 1780000004000006189, 1779999967123414623 },
          { 1779999967123415688, 1780000004000010389, 1779999967123418468 },
          { 1779999967123420062, 1780000004000014589, 1779999967123422678 },
          { 1779999967123424105, 1780000004000018789, 1779999967123427028 },
        },
        { /* 5 */
          { 1779999968123392679, 1780000004999999887, 1779999968123395907 },
          { 1779999968123396962, 1780000005000004087, 1779999968123399598 },
          { 1779999968123400825, 1780000005000008287, 1779999968123404615 },
          { 1779999968123405070, 1780000005000012487, 1779999968123408281 },
          { 1779999968123409719, 1780000005000016687, 1779999968123412047 },
        },
        { /* 6 */
          { 1779999969123381295, 1780000006000000863, 1779999969123383846 },
          { 1779999969123385185, 1780000006000005063, 1779999969123388740 },
          { 1779999969123370536, 1780000006000009263, 1779999969123411722 },
          { 1779999969123393410, 1780000006000013463, 1779999969123397158 },
          { 1779999969123397848, 1780000006000017663, 1779999969123400979 },
        },
        { /* 7 */
          { 1779999970123365850, 1780000006999998135, 1779999970123369254 },
          { 1779999970123369745, 1780000007000002335, 1779999970123373395 },
          { 1779999970123374043, 1780000007000006535, 1779999970123377579 },
          { 1779999970123378275, 1780000007000010735, 1779999970123381552 },
          { 1779999970123382504, 1780000007000014935, 1779999970123386173 },
        },
        { /* 8 */
          { 1779999971123354344, 1780000007999998933, 1779999971123357299 },
          { 1779999971123358151, 1780000008000003133, 1779999971123361900 },
          { 1779999971123362506, 1780000008000007333, 1779999971123365915 },
          { 1779999971123367070, 1780000008000011533, 1779999971123369867 },
          { 1779999971123371096, 1780000008000015733, 1779999971123374203 },
        },
        { /* 9 */
          { 1779999972123344912, 1780000009000001763, 1779999972123347444 },
          { 1779999972123348268, 1780000009000005963, 1779999972123352135 },
          { 1779999972123332934, 1780000009000010163, 1779999972123376026 },
          { 1779999972123357172, 1780000009000014363, 1779999972123359836 },
          { 1779999972123361719, 1780000009000018563, 1779999972123364041 },
        },
        { /* 10 */
          { 1779999973123330632, 1780000010000000152, 1779999973123333432 },
          { 1779999973123334960, 1780000010000004352, 1779999973123337473 },
          { 1779999973123338869, 1780000010000008552, 1779999973123341717 },
          { 1779999973123343106, 1780000010000012752, 1779999973123346239 },
          { 1779999973123347090, 1780000010000016952, 1779999973123350219 },
        },
        { /* 11 */
          { 1779999974123288923, 1780000011000001619, 1779999974123352718 },
          { 1779999974123293504, 1780000011000005819, 1779999974123356747 },
          { 1779999974123298239, 1780000011000010019, 1779999974123360618 },
          { 1779999974123302376, 1780000011000014219, 1779999974123364738 },
          { 1779999974123306141, 1780000011000018419, 1779999974123369316 },
        },
        { /* 12 */
          { 1779999975123306867, 1780000012000001788, 1779999975123310196 },
          { 1779999975123311562, 1780000012000005988, 1779999975123314073 },
          { 1779999975123294869, 1780000012000010188, 1779999975123339276 },
          { 1779999975123319828, 1780000012000014388, 1779999975123322709 },
          { 1779999975123323689, 1780000012000018588, 1779999975123326922 },
        },
        { /* 13 */
          { 1779999976123291337, 1780000012999998578, 1779999976123294455 },
          { 1779999976123295872, 1780000013000002778, 1779999976123298429 },
          { 1779999976123299633, 1780000013000006978, 1779999976123302759 },
          { 1779999976123303839, 1780000013000011178, 1779999976123307165 },
          { 1779999976123308168, 1780000013000015378, 1779999976123311278 },
        },
        { /* 14 */
          { 1779999977123279337, 1780000013999999484, 1779999977123283003 },
          { 1779999977123284087, 1780000014000003684, 1779999977123286743 },
          { 1779999977123288242, 1780000014000007884, 1779999977123290969 },
          { 1779999977123292602, 1780000014000012084, 1779999977123294946 },
          { 1779999977123296469, 1780000014000016284, 1779999977123299392 },
        },
        { /* 15 */
          { 1779999978123267332, 1780000014999999208, 1779999978123269885 },
          { 1779999978123270772, 1780000015000003408, 1779999978123274611 },
          { 1779999978123254381, 1780000015000007608, 1779999978123299468 },
          { 1779999978123279309, 1780000015000011808, 1779999978123282703 },
          { 1779999978123283857, 1780000015000016008, 1779999978123286585 },
        },
        { /* 16 */
          { 1779999979123255460, 1780000016000000058, 1779999979123258033 },
          { 1779999979123259441, 1780000016000004258, 1779999979123262874 },
          { 1779999979123263412, 1780000016000008458, 1779999979123267275 },
          { 1779999979123267546, 1780000016000012658, 1779999979123271328 },
          { 1779999979123272352, 1780000016000016858, 1779999979123274771 },
        },
        { /* 17 */
          { 1779999980123211084, 1780000016999998329, 1779999980123214400 },
          { 1779999980123215122, 1780000017000002529, 1779999980123218473 },
          { 1779999980123219387, 1780000017000006729, 1779999980123222775 },
          { 1779999980123223930, 1780000017000010929, 1779999980123226434 },
          { 1779999980123227862, 1780000017000015129, 1779999980123230986 },
        },
        { /* 18 */
          { 1779999981123230211, 1780000017999999602, 1779999981123232643 },
          { 1779999981123234164, 1780000018000003802, 1779999981123236854 },
          { 1779999981123219388, 1780000018000008002, 1779999981123260495 },
          { 1779999981123242595, 1780000018000012202, 1779999981123245348 },
          { 1779999981123246683, 1780000018000016402, 1779999981123249792 },
        },
        { /* 19 */
          { 1779999982123216230, 1780000018999998227, 1779999982123219081 },
          { 1779999982123220292, 1780000019000002427, 1779999982123223383 },
          { 1779999982123224492, 1780000019000006627, 1779999982123227093 },
          { 1779999982123228295, 1780000019000010827, 1779999982123232011 },
          { 1779999982123232848, 1780000019000015027, 1779999982123235571 },
        },
        { /* 20 */
          { 1779999983123206101, 1780000020000001231, 1779999983123209687 },
          { 1779999983123210405, 1780000020000005431, 1779999983123214062 },
          { 1779999983123214880, 1780000020000009631, 1779999983123218232 },
          { 1779999983123218730, 1780000020000013831, 1779999983123222289 },
          { 1779999983123223356, 1780000020000018031, 1779999983123226103 },
        },
        { /* 21 */
          { 1779999984123192996, 1780000021000000377, 1779999984123196281 },
          { 1779999984123197492, 1780000021000004577, 1779999984123200071 },
          { 1779999984123181954, 1780000021000008777, 1779999984123224369 },
          { 1779999984123206061, 1780000021000012977, 1779999984123208749 },
          { 1779999984123210181, 1780000021000017177, 1779999984123212669 },
        },
        { /* 22 */
          { 1779999985123181438, 1780000022000000991, 1779999985123184325 },
          { 1779999985123185802, 1780000022000005191, 1779999985123188420 },
          { 1779999985123189930, 1780000022000009391, 1779999985123192610 },
          { 1779999985123193525, 1780000022000013591, 1779999985123197301 },
          { 1779999985123198124, 1780000022000017791, 1779999985123201129 },
        },
        { /* 23 */
          { 1779999986123168120, 1780000023000000323, 1779999986123171313 },
          { 1779999986123172581, 1780000023000004523, 1779999986123175253 },
          { 1779999986123176500, 1780000023000008723, 1779999986123179745 },
          { 1779999986123180886, 1780000023000012923, 1779999986123183252 },
          { 1779999986123185180, 1780000023000017123, 1779999986123187788 },
        },
};

static int64_t truth(int64_t phc_ns) {
        return phc_ns + OFFSET_NS + llround(K * (double) (phc_ns - P0_NS));
}

static double delay_of(const struct phc_reading *r) {
        return (double) (r->sys_after_ns - r->sys_before_ns);
}

/* Converts phc_ns and checks the result against the truth: within the tracker's own bound, and
 * that bound within max_bound_ns. */
static void assert_converts(const struct phc_tracker *t, int64_t phc_ns, double max_bound_ns) {
        int64_t sys;
        double bound;
        assert_true(phc_tracker_convert(t, phc_ns, &sys, &bound));
        double error = fabs((double) (sys - truth(phc_ns)));
        if (error > bound || bound > max_bound_ns) {
                print_error("PHC %lld: error %.0f ns, bound %.0f ns (at most %.0f)\n", (long long) phc_ns, error,
                            bound, max_bound_ns);
                fail();
        }
}

static void test_best_reading(void **state) {
        (void) state;
        for (size_t b = 0; b < BATCHES; b++) {
                int best = phc_best_reading(recorded[b], PER_BATCH);
                assert_int64_between(best, 0, PER_BATCH - 1);
                for (size_t i = 0; i < PER_BATCH; i++)
                        assert_true(delay_of(&recorded[b][best]) <= delay_of(&recorded[b][i]));
                if (b % 3 == 0)
                        assert_int_not_equal(best, 2); /* the interrupted reading */
        }
}

static enum phc_add_result expected_result(size_t batch) {
        return batch == SLOW_BATCH || batch == GLITCH_BATCH ? PHC_OUTLIER : PHC_ADDED;
}

/* The whole recording: outliers are left out, and from the third batch on every PHC timestamp up
 * to the next batch converts within its bound, the bound within 2.5 us and the error far below. */
static void test_recorded(void **state) {
        struct phc_tracker t;
        (void) state;
        phc_tracker_init(&t);
        for (size_t b = 0; b < BATCHES; b++) {
                assert_int_equal(phc_tracker_add(&t, recorded[b], PER_BATCH), expected_result(b));
                assert_true(phc_tracker_ready(&t) == (b >= PHC_MIN_SAMPLES - 1));
                if (!phc_tracker_ready(&t))
                        continue;
                for (int64_t later = 0; later <= 1000000000; later += 250000000)
                        assert_converts(&t, recorded[b][0].phc_ns + later, 2500);
        }
        assert_int_equal(t.n_samples, PHC_MAX_SAMPLES);
        assert_double_near(t.slope, K, 0.05e-6);
        assert_true(t.residual_ns < 200);

        /* Well inside the bound: the readings' asymmetry averages out. */
        int64_t sys, phc = recorded[BATCHES - 1][0].phc_ns + 500000000;
        double bound;
        assert_true(phc_tracker_convert(&t, phc, &sys, &bound));
        assert_true(fabs((double) (sys - truth(phc))) < 150);
}

static void test_not_ready(void **state) {
        struct phc_tracker t;
        int64_t sys = 7;
        double bound = 7;
        (void) state;
        phc_tracker_init(&t);
        for (size_t b = 0; b < PHC_MIN_SAMPLES - 1; b++) {
                assert_int_equal(phc_tracker_add(&t, recorded[b], PER_BATCH), PHC_ADDED);
                assert_false(phc_tracker_convert(&t, recorded[b][0].phc_ns, &sys, &bound));
        }
        assert_int_equal(sys, 7);
        assert_double_near(bound, 7, 0);
}

/* Readings the kernel should never give: refused, and the tracker stays as it was. */
static void test_inconsistent_readings(void **state) {
        struct phc_tracker t, before;
        const struct phc_reading bad[] = {
                { 1000, 5000, 999 },                                /* after before before */
                { 0, 5000, 20000000 },                              /* 20 ms: interrupted */
                { INT64_MIN, 0, INT64_MAX },                        /* overflowing delay */
                { INT64_MAX - 10, INT64_MIN, INT64_MAX },           /* overflowing offset */
        };
        (void) state;
        phc_tracker_init(&t);
        for (size_t b = 0; b < 4; b++)
                phc_tracker_add(&t, recorded[b], PER_BATCH);
        memcpy(&before, &t, sizeof(t)); /* the padding too, for the comparison */
        assert_int_equal(phc_best_reading(bad, ELEMENTSOF(bad)), -1);
        assert_int_equal(phc_tracker_add(&t, bad, ELEMENTSOF(bad)), PHC_NO_VALID_READING);
        assert_int_equal(phc_tracker_add(&t, bad, 0), PHC_NO_VALID_READING);
        assert_memory_equal(&t, &before, sizeof(t));
}

/* Batch b of the recording with the PHC stepped by step_ns. */
static void stepped_batch(size_t b, int64_t step_ns, struct phc_reading *ret) {
        for (size_t i = 0; i < PER_BATCH; i++) {
                ret[i] = recorded[b][i];
                ret[i].phc_ns += step_ns;
        }
}

/* A PHC set by 5 ms (phc2sys, a NIC reset): a few batches are refused as outliers, then the
 * tracker starts over and converts with the new offset. */
static void test_phc_step(void **state) {
        struct phc_tracker t;
        struct phc_reading batch[PER_BATCH];
        const int64_t step = 5000000;
        size_t b;
        (void) state;
        phc_tracker_init(&t);
        for (b = 0; b < 8; b++)
                assert_int_equal(phc_tracker_add(&t, recorded[b], PER_BATCH), PHC_ADDED);
        for (unsigned i = 1; i < PHC_MAX_REJECTED; i++, b++) {
                stepped_batch(b, step, batch);
                assert_int_equal(phc_tracker_add(&t, batch, PER_BATCH), PHC_OUTLIER);
        }
        stepped_batch(b++, step, batch);
        assert_int_equal(phc_tracker_add(&t, batch, PER_BATCH), PHC_RESET);
        assert_false(phc_tracker_ready(&t));
        while (!phc_tracker_ready(&t)) {
                stepped_batch(b++, step, batch);
                assert_int_equal(phc_tracker_add(&t, batch, PER_BATCH), PHC_ADDED);
        }
        /* The system time of a stepped PHC timestamp is the truth of the unstepped one. */
        int64_t sys;
        double bound;
        assert_true(phc_tracker_convert(&t, batch[0].phc_ns + 100000000, &sys, &bound));
        assert_true(fabs((double) (sys - truth(batch[0].phc_ns - step + 100000000))) <= bound);
}

/* A PHC that went back starts the tracker over at once. */
static void test_phc_back(void **state) {
        struct phc_tracker t;
        (void) state;
        phc_tracker_init(&t);
        for (size_t b = 4; b < 8; b++)
                assert_int_equal(phc_tracker_add(&t, recorded[b], PER_BATCH), PHC_ADDED);
        assert_int_equal(phc_tracker_add(&t, recorded[0], PER_BATCH), PHC_RESET);
        assert_int_equal(t.n_samples, 1);
}

static void test_extrapolation_limit(void **state) {
        struct phc_tracker t;
        int64_t sys;
        double bound;
        (void) state;
        phc_tracker_init(&t);
        for (size_t b = 0; b < 6; b++)
                phc_tracker_add(&t, recorded[b], PER_BATCH);
        int64_t newest = t.samples[t.n_samples - 1].phc_ns, oldest = t.samples[0].phc_ns;
        assert_converts(&t, newest + PHC_MAX_EXTRAPOLATION_NS, 5000);
        assert_false(phc_tracker_convert(&t, newest + PHC_MAX_EXTRAPOLATION_NS + 1, &sys, &bound));
        assert_false(phc_tracker_convert(&t, oldest - PHC_MAX_EXTRAPOLATION_NS - 1, &sys, &bound));
        assert_false(phc_tracker_convert(&t, INT64_MIN, &sys, &bound));
        assert_false(phc_tracker_convert(&t, INT64_MAX, &sys, &bound));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_best_reading),
                cmocka_unit_test(test_recorded),
                cmocka_unit_test(test_not_ready),
                cmocka_unit_test(test_inconsistent_readings),
                cmocka_unit_test(test_phc_step),
                cmocka_unit_test(test_phc_back),
                cmocka_unit_test(test_extrapolation_limit),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
