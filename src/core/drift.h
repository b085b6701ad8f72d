/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The drift file: one number, the frequency correction in ppm, as ntpd writes it. */

#include <stddef.h>

#define DRIFT_MAX_PPM 500.0
#define DRIFT_FILE_MAX 4096

/* Parses the text of a drift file. Empty, garbage, NaN, infinities and values beyond ±500 ppm
 * are refused with -EINVAL and a static text in *ret_error. */
int drift_parse(const char *text, size_t len, double *ret_ppm, const char **ret_error);

/* The file's text for a frequency, newline included; returns its length. */
size_t drift_format(double ppm, char *buf, size_t size);
