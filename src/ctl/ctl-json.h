/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* JSON output for --json: one value per command, on one line. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <systemd/sd-bus.h>

#include "json-write.h"

/* A JSON array of strings; NULL is the empty array. */
void json_write_strv(FILE *f, char *const *l);

/* Nanoseconds as an exact decimal number of seconds, e.g. -0.001234567: a JSON number, and
 * what the text output shows too. */
void write_seconds(FILE *f, int64_t ns);
void write_seconds_unsigned(FILE *f, uint64_t ns);

/* Converts the next complete value of a message (a basic type, variant, array, dictionary or
 * structure) to JSON. Dictionaries become objects; a structure "(sa{sv})" — a name and its
 * attributes — becomes one object with a "name" member; other structures become arrays. */
int json_write_message_value(FILE *f, sd_bus_message *m);
