/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "clock.h"
#include "log.h"

#define PPM_SCALE 65536.0            /* timex.freq is ppm in 16.16 fixed point */
#define MAX_ERROR_USEC 16000000L     /* the kernel's NTP_PHASE_LIMIT cap for maxerror */

static int adjtime_checked(struct timex *t) {
        int r = clock_adjtime(CLOCK_REALTIME, t);
        return r < 0 ? -errno : 0;
}

static int kernel_get_frequency(double *ret_ppm) {
        struct timex t = { 0 };
        int r = adjtime_checked(&t);
        if (r < 0)
                return r;
        *ret_ppm = (double) t.freq / PPM_SCALE;
        return 0;
}

static int kernel_set_frequency(double ppm) {
        struct timex t = {
                .modes = ADJ_FREQUENCY,
                .freq = (long) llround(ppm * PPM_SCALE),
        };
        return adjtime_checked(&t);
}

/* ADJ_OFFSET in PLL mode with the frequency held: the kernel slews the offset away by itself,
 * 1/2^(2 + tc) of the remainder each second, and leaves the frequency to us. */
static int kernel_slew(double offset, int time_constant) {
        struct timex t = {
                .modes = ADJ_OFFSET | ADJ_STATUS | ADJ_NANO | ADJ_TIMECONST,
                .offset = (long) llround(offset * 1e9),
                .status = STA_PLL | STA_FREQHOLD,
                .constant = time_constant,
        };
        struct timex current = { 0 };
        int r = adjtime_checked(&current);
        if (r < 0)
                return r;
        /* Keep the bits that are not ours to change (leap, unsync). */
        t.status |= current.status & (STA_INS | STA_DEL | STA_UNSYNC);
        return adjtime_checked(&t);
}

static int kernel_step(double offset) {
        double whole = floor(offset);
        struct timex t = {
                .modes = ADJ_SETOFFSET | ADJ_NANO,
                .time = {
                        .tv_sec = (time_t) whole,
                        .tv_usec = (long) llround((offset - whole) * 1e9), /* ns with ADJ_NANO */
                },
        };
        if (t.time.tv_usec >= 1000000000L) {
                t.time.tv_sec++;
                t.time.tv_usec -= 1000000000L;
        }
        return adjtime_checked(&t);
}

static long clamp_error_usec(double seconds) {
        double us = seconds * 1e6;
        return us > MAX_ERROR_USEC || !isfinite(us) ? MAX_ERROR_USEC : us < 0 ? 0 : (long) us;
}

/* Clearing STA_UNSYNC and keeping maxerror current is what lets the kernel's 11-minute mode
 * write the RTC, and what timedated reads as "synchronized". */
static int kernel_set_status(const struct clock_status *s) {
        struct timex current = { 0 };
        int r = adjtime_checked(&current);
        if (r < 0)
                return r;
        int status = current.status & ~(STA_UNSYNC | STA_INS | STA_DEL);
        if (!s->synchronized)
                status |= STA_UNSYNC;
        if (s->leap == NTP_LEAP_INSERT)
                status |= STA_INS;
        else if (s->leap == NTP_LEAP_DELETE)
                status |= STA_DEL;
        struct timex t = {
                .modes = ADJ_STATUS | ADJ_MAXERROR | ADJ_ESTERROR,
                .status = status,
                .maxerror = clamp_error_usec(s->max_error),
                .esterror = clamp_error_usec(s->est_error),
        };
        return adjtime_checked(&t);
}

static int observe_set_frequency(double ppm) {
        log_debug("observe: would set the frequency to %+.3f ppm", ppm);
        return 0;
}

static int observe_slew(double offset, int time_constant) {
        log_debug("observe: would slew %+.9f s (time constant %d)", offset, time_constant);
        return 0;
}

static int observe_step(double offset) {
        log_info("observe: would step the clock by %+.9f s", offset);
        return 0;
}

static int observe_set_status(const struct clock_status *s) {
        return 0;
}

static const struct clock_ops kernel_ops = {
        .name = "kernel",
        .get_frequency = kernel_get_frequency,
        .set_frequency = kernel_set_frequency,
        .slew = kernel_slew,
        .step = kernel_step,
        .set_status = kernel_set_status,
};

static const struct clock_ops observe_ops = {
        .name = "observe",
        .get_frequency = kernel_get_frequency,
        .set_frequency = observe_set_frequency,
        .slew = observe_slew,
        .step = observe_step,
        .set_status = observe_set_status,
};

const struct clock_ops *clock_ops_for(enum clock_backend b) {
        return b == CLOCK_BACKEND_KERNEL ? &kernel_ops : &observe_ops;
}

const char *clock_backend_to_string(enum clock_backend b) {
        return clock_ops_for(b)->name;
}

int clock_backend_from_string(const char *s, enum clock_backend *ret) {
        if (strcmp(s, "kernel") == 0)
                *ret = CLOCK_BACKEND_KERNEL;
        else if (strcmp(s, "observe") == 0)
                *ret = CLOCK_BACKEND_OBSERVE;
        else
                return -EINVAL;
        return 0;
}

bool clock_kernel_writable(void) {
        struct timex current = { 0 };
        if (adjtime_checked(&current) < 0)
                return false;
        /* Writing back the status it already has changes nothing, but needs CAP_SYS_TIME. */
        struct timex t = { .modes = ADJ_STATUS, .status = current.status };
        return adjtime_checked(&t) == 0;
}
