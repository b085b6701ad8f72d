/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Hardware timestamping (`hwtimestamp IFACE|*`): which interfaces timestamp NTP packets in the
 * NIC, their PTP hardware clocks (PHC) read against the system clock on a timer, and the
 * conversion of a raw hardware timestamp to system time through the PHC of the interface the
 * packet came in on or left from (core/phc.h). One set per process, like the kernel state it
 * mirrors. The conversion may be called from any thread. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "core/config.h"
#include "core/phc.h"

/* What ETHTOOL_GET_TS_INFO says of an interface (ethtool -T). */
struct hwts_info {
        unsigned so_timestamping;    /* SOF_TIMESTAMPING_* the interface can give */
        int phc_index;               /* -1: none */
        uint32_t tx_types;           /* bit HWTSTAMP_TX_* */
        uint32_t rx_filters;         /* bit HWTSTAMP_FILTER_* */
};

/* Asks the kernel about interface `name`; -ENODEV when there is none, -EOPNOTSUPP when the
 * driver does not answer (the kernel then reports software timestamping only). */
int hwts_query(const char *name, struct hwts_info *ret);

/* Whether info allows what ntpsyncd needs: raw hardware RX and TX timestamps, TX on, a PHC. */
bool hwts_info_usable(const struct hwts_info *info);

/* Sets up the interfaces c's hwtimestamp lines name (each interface for "*"), logging for each
 * what it will use, and starts reading their PHCs. Nothing without hwtimestamp lines. */
void hwts_start(sd_event *e, const struct config *c);

/* Takes up interfaces that appeared since (netwatch saw links change). */
void hwts_rescan(void);

/* The system clock was stepped: every PHC fit starts over. */
void hwts_clock_stepped(void);

void hwts_stop(void);

/* An interface whose PHC fit comes ready-made, without a device or a timer: for tests of the
 * packet path where no NIC timestamps in hardware. */
int hwts_add_measured(const char *name, int ifindex, const struct phc_tracker *t);

/* Whether some interface timestamps in hardware: sockets then ask for hardware timestamps. */
bool hwts_in_use(void);

/* A raw hardware timestamp of interface ifindex as system time (realtime ns); false when the
 * interface has no PHC in use or its fit is not ready. */
bool hwts_convert(int ifindex, const struct timespec *raw, int64_t *ret_ns);
