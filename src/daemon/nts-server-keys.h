/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The keys that seal the cookies ntpsyncd hands out to its NTS clients (RFC 8915 §6): kept in
 * the state directory (STATE_DIR/nts-server-keys, mode 0600) so that cookies survive a restart,
 * rotated on a timer (weekly, the two older keys still accepted, as chrony does) and saved after
 * every rotation. The ring and its schedule are the core's (core/nts-cookie.h); key ages are
 * CLOCK_REALTIME seconds. */

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "core/nts-cookie.h"
#include "core/nts.h"
#include "macro.h"

#define NTS_SERVER_KEYS_FILE "nts-server-keys"

typedef struct nts_server_keys nts_server_keys;

/* Seconds on the clock the key ages are measured with. */
typedef uint64_t (*nts_server_keys_clock_t)(void *userdata);

struct nts_server_keys_options {
        sd_event *event;             /* for the rotation timer; NULL: rotated only when found due */
        const char *state_dir;       /* where the keys are kept; NULL: nowhere (lost at exit) */
        struct nts_key_schedule schedule; /* interval 0: NTS_KEY_ROTATION_DEFAULT, NTS_KEY_KEEP_DEFAULT */
        nts_server_keys_clock_t clock;    /* NULL: CLOCK_REALTIME (tests pass their own) */
        void *clock_userdata;
};

/* Loads the keys from the state directory; a missing or bad file gives a fresh key (logged with
 * the file's name). Fails only for a lack of memory or of random bytes. */
int nts_server_keys_new(const struct nts_server_keys_options *o, nts_server_keys **ret);
nts_server_keys *nts_server_keys_free(nts_server_keys *k);
DEFINE_POINTER_CLEANUP(nts_server_keys, nts_server_keys_free);

/* Seals a session's keys into a new cookie with the current key (rotating first when due). */
int nts_server_keys_make_cookie(nts_server_keys *k, const struct nts_keys *keys, struct nts_cookie *ret);

/* Opens a cookie of ours (nts_ntp_cookie_open_t, userdata the nts_server_keys): -ENOKEY when the
 * key that sealed it is no longer kept, -EBADMSG when it does not open. */
int nts_server_keys_open_cookie(void *userdata, const uint8_t *cookie, size_t len, struct nts_keys *ret_keys);

/* Makes a fresh key current now and saves the ring; the timer is armed for the next rotation. */
int nts_server_keys_rotate(nts_server_keys *k);

/* The id of the key new cookies are sealed with, and how many keys are kept. */
uint32_t nts_server_keys_current_id(const nts_server_keys *k);
size_t nts_server_keys_count(const nts_server_keys *k);
/* The file the keys are kept in, NULL for none. */
const char *nts_server_keys_path(const nts_server_keys *k);
