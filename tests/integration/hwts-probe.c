/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What ntpsyncd's hardware timestamping discovery (src/daemon/hwts.c) finds for each interface
 * named on the command line, one line each, for test-hwts.py to hold against `ethtool -T`:
 *
 *     NAME so_timestamping=0xHEX phc=N tx_types=0xHEX rx_filters=0xHEX usable=yes|no
 *     NAME error=ERRNO-NAME
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hwts.h"

static const char *errno_name(int e) {
        return e == ENODEV ? "ENODEV" : e == EOPNOTSUPP ? "EOPNOTSUPP" : strerror(e);
}

int main(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++) {
                struct hwts_info info;
                int r = hwts_query(argv[i], &info);
                if (r < 0)
                        printf("%s error=%s\n", argv[i], errno_name(-r));
                else
                        printf("%s so_timestamping=0x%x phc=%d tx_types=0x%x rx_filters=0x%x usable=%s\n", argv[i],
                               info.so_timestamping, info.phc_index, info.tx_types, info.rx_filters,
                               hwts_info_usable(&info) ? "yes" : "no");
        }
        return 0;
}
