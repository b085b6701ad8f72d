/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

/* s as a JSON string: quotes, backslashes and control characters escaped; NULL is "". */
void json_write_string(FILE *f, const char *s);
