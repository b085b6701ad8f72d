/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Text output for people. */

#include <stdint.h>
#include <stdio.h>

#include "ctl-properties.h"

/* "status": one line per property the daemon gave, "Label: value". */
void print_status(FILE *f, const struct manager_properties *p);

/* "sources": the table that ntpq -p prints. */
void print_sources_table(FILE *f, const struct source_list *sources);

/* "nts": whether NTS is served, and with which certificate and key. */
void print_nts(FILE *f, const struct manager_properties *p);

/* How a source's packets are authenticated, for people: "NTS, 7 cookies", "NTS: key establishment
 * pending", "NTS failed: REASON"; "" for a source without NTS. */
void format_source_authentication(char *buf, size_t size, const struct source_entry *e);

/* "firewall": client, server, backend. */
void print_firewall(FILE *f, const struct manager_properties *p);

/* "query HOST": what Query returned. */
void print_query_result(FILE *f, const char *host, int64_t offset_ns, uint64_t delay_ns, uint8_t stratum,
                        const char *refid);

/* An interval the way ntpq -p shows "when" and "poll": seconds up to 2048, then minutes (m),
 * hours (h), days (d); "-" for SOURCE_WHEN_NEVER. */
void format_interval(char *buf, size_t size, uint64_t seconds);
