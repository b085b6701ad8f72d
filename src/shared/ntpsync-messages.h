/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The journal's MESSAGE_ID= of the events an administrator may want to find again
 * (`journalctl MESSAGE_ID=…`), defined here once, as systemd's sd-messages.h does. New ids come
 * from `systemd-id128 new`; an id, once released, never changes. ntpsyncd(8) lists them. */

#define MESSAGE_ID_SYNCHRONIZED "a8d1f7b2c3e44f6a9b0c1d2e3f405162"
#define MESSAGE_ID_CLOCK_STEPPED "b9e2a8c3d4f54a7b8c1d2e3f40516273"
#define MESSAGE_ID_SYNC_LOST "cae3b9d4e5a64b8c9d2e3f4051627384"
#define MESSAGE_ID_FIREWALL "c848c91927bb4e5bbf4919bf806e36ce"
