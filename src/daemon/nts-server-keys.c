/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The server's cookie keys: the core's key ring, a file in the state directory, a timer. The
 * ring is saved after every rotation, so a cookie handed out before a restart still opens after
 * it, and a client keeps its cookies across both. */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file-io.h"
#include "log.h"
#include "nts-gnutls.h"
#include "nts-server-keys.h"

/* The timer may fire this late: a rotation is a matter of days (a hundredth of the interval
 * for the short ones of tests). */
#define ROTATION_ACCURACY_MAX_USEC (60ULL * 1000000)
#define USEC_PER_SEC 1000000ULL

/* Serving threads make and open cookies while the main loop rotates: the ring and the AEAD are
 * behind one mutex (held for one cookie; a rotation is weekly). */
struct nts_server_keys {
        pthread_mutex_t lock;
        pid_t loop_thread;           /* the one that runs event: the timer is its alone */
        sd_event *event;
        sd_event_source *timer;
        char *path;
        struct nts_key_schedule schedule;
        struct nts_key_ring ring;
        struct nts_aead aead;        /* seals and opens cookies: keyed with a ring key each time */
        nts_server_keys_clock_t clock;
        void *clock_userdata;
};

static uint64_t realtime_seconds(void *userdata) {
        struct timespec ts;
        (void) userdata;
        clock_gettime(CLOCK_REALTIME, &ts);
        return ts.tv_sec > 0 ? (uint64_t) ts.tv_sec : 0;
}

static uint64_t now_seconds(const nts_server_keys *k) {
        return k->clock(k->clock_userdata);
}

/* ---- the file ---- */

static void save_ring(nts_server_keys *k) {
        uint8_t buf[NTS_STATE_MAX_SIZE];
        size_t len;

        if (!k->path)
                return;
        int r = nts_key_ring_save(&k->ring, buf, sizeof(buf), &len);
        if (r >= 0)
                r = write_file_atomic(k->path, (const char *) buf, len, 0600);
        nts_wipe(buf, sizeof(buf));
        if (r < 0)
                log_warning_errno(r, "NTS: cookies will not outlive a restart, cannot save the server keys to %s",
                                  k->path);
}

/* The ring as saved, or nothing (and a line that says why) for a missing or bad file. */
static void load_ring(nts_server_keys *k) {
        _cleanup_free_ char *text = NULL;
        const char *error = NULL;

        if (!k->path)
                return;
        ssize_t len = read_small_file(k->path, NTS_STATE_MAX_SIZE, false, &text);
        if (len == -ENOENT) {
                log_info("NTS: no server keys in %s yet, making a fresh key", k->path);
                return;
        }
        if (len < 0) {
                log_warning_errno((int) len, "NTS: making a fresh key, cannot read the server keys from %s", k->path);
                return;
        }
        int r = nts_key_ring_load((const uint8_t *) text, (size_t) len, &k->ring, &error);
        nts_wipe(text, (size_t) len);
        if (r < 0) {
                log_warning("NTS: server keys file %s is unusable (%s), making a fresh key; "
                            "cookies handed out before are no longer accepted", k->path, error ? error : "invalid");
                k->ring = (struct nts_key_ring) {};
                return;
        }
        log_info("NTS: %zu server key(s) loaded from %s", k->ring.n, k->path);
}

/* ---- rotation ---- */

static int on_rotation_due(sd_event_source *s, uint64_t usec, void *userdata);

static uint64_t rotation_accuracy(const nts_server_keys *k) {
        uint64_t usec = k->schedule.interval * (USEC_PER_SEC / 100);
        return usec < ROTATION_ACCURACY_MAX_USEC ? usec : ROTATION_ACCURACY_MAX_USEC;
}

static void arm_timer(nts_server_keys *k) {
        /* A serving thread that found the key due leaves the timer to the loop's thread, whose
         * timer fires soon and finds the new key current. */
        if (!k->event || gettid() != k->loop_thread)
                return;
        uint64_t now = now_seconds(k);
        uint64_t next = nts_key_ring_next_rotation(&k->ring, &k->schedule, now);
        uint64_t usec = next > UINT64_MAX / USEC_PER_SEC ? UINT64_MAX - 1 : next * USEC_PER_SEC;
        int r;

        if (k->timer)
                r = sd_event_source_set_time(k->timer, usec) < 0 ? -EIO
                    : sd_event_source_set_enabled(k->timer, SD_EVENT_ONESHOT);
        else
                r = sd_event_add_time(k->event, &k->timer, CLOCK_REALTIME, usec, rotation_accuracy(k),
                                      on_rotation_due, k);
        if (r < 0)
                log_warning_errno(r, "NTS: keys rotate only when a cookie is made, no rotation timer");
}

static int rotate(nts_server_keys *k) {
        uint8_t key[NTS_KEY_MAX_SIZE];
        size_t key_len = k->aead.ops->key_len;

        int r = nts_random_key(key, key_len);
        if (r >= 0)
                r = nts_key_ring_rotate(&k->ring, &k->schedule, now_seconds(k), k->aead.ops->id, key, key_len);
        nts_wipe(key, sizeof(key));
        if (r < 0)
                return log_error_errno(r, "NTS: cannot make a new server key");
        log_debug("NTS: server key %u is current now, %zu kept", k->ring.last_id, k->ring.n);
        save_ring(k);
        arm_timer(k);
        return 0;
}

int nts_server_keys_rotate(nts_server_keys *k) {
        pthread_mutex_lock(&k->lock);
        int r = rotate(k);
        pthread_mutex_unlock(&k->lock);
        return r;
}

static int on_rotation_due(sd_event_source *s, uint64_t usec, void *userdata) {
        nts_server_keys *k = userdata;
        (void) s;
        (void) usec;
        pthread_mutex_lock(&k->lock);
        /* Early (the clock was set back): only the timer moves. */
        if (nts_key_ring_current(&k->ring, &k->schedule, now_seconds(k)))
                arm_timer(k);
        else
                (void) rotate(k);
        pthread_mutex_unlock(&k->lock);
        return 0;
}

/* The key for new cookies: the current one, or a fresh one when it is due (also for a loaded key
 * of an algorithm we no longer seal with). */
static const struct nts_server_key *current_key(nts_server_keys *k) {
        const struct nts_server_key *key = nts_key_ring_current(&k->ring, &k->schedule, now_seconds(k));
        if (key && key->aead == k->aead.ops->id)
                return key;
        if (rotate(k) < 0)
                return NULL;
        return nts_key_ring_current(&k->ring, &k->schedule, now_seconds(k));
}

/* ---- cookies ---- */

int nts_server_keys_make_cookie(nts_server_keys *k, const struct nts_keys *keys, struct nts_cookie *ret) {
        uint8_t nonce[NTS_NONCE_SIZE];
        int r = nts_random_nonce(nonce, sizeof(nonce));
        if (r < 0)
                return r;
        pthread_mutex_lock(&k->lock);
        const struct nts_server_key *key = current_key(k);
        r = key ? nts_cookie_encode(&k->aead, key, nonce, keys, ret) : -ENOKEY;
        pthread_mutex_unlock(&k->lock);
        return r;
}

static const struct nts_server_key *lookup_key(void *userdata, uint32_t key_id) {
        nts_server_keys *k = userdata;
        return nts_key_ring_lookup(&k->ring, &k->schedule, key_id, now_seconds(k));
}

int nts_server_keys_open_cookie(void *userdata, const uint8_t *cookie, size_t len, struct nts_keys *ret_keys) {
        nts_server_keys *k = userdata;
        pthread_mutex_lock(&k->lock);
        int r = nts_cookie_decode(&k->aead, cookie, len, lookup_key, k, ret_keys);
        pthread_mutex_unlock(&k->lock);
        return r;
}

uint32_t nts_server_keys_current_id(const nts_server_keys *k) {
        return k->ring.n > 0 ? k->ring.keys[k->ring.n - 1].id : 0;
}

size_t nts_server_keys_count(const nts_server_keys *k) {
        return k->ring.n;
}

const char *nts_server_keys_path(const nts_server_keys *k) {
        return k->path;
}

/* ---- life cycle ---- */

static void apply_options(nts_server_keys *k, const struct nts_server_keys_options *o) {
        k->event = o->event ? sd_event_ref(o->event) : NULL;
        k->schedule = o->schedule;
        if (k->schedule.interval == 0)
                k->schedule = (struct nts_key_schedule) { NTS_KEY_ROTATION_DEFAULT, NTS_KEY_KEEP_DEFAULT };
        if (k->schedule.keep > NTS_KEY_RING_SIZE - 1)
                k->schedule.keep = NTS_KEY_RING_SIZE - 1;
        k->clock = o->clock ? o->clock : realtime_seconds;
        k->clock_userdata = o->clock_userdata;
}

int nts_server_keys_new(const struct nts_server_keys_options *o, nts_server_keys **ret) {
        _cleanup_(nts_server_keys_freep) nts_server_keys *k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        pthread_mutex_init(&k->lock, NULL);
        k->loop_thread = gettid();
        apply_options(k, o);
        int r = nts_gnutls_aead_new(&k->aead);
        if (r < 0)
                return r;
        if (o->state_dir && asprintf(&k->path, "%s/" NTS_SERVER_KEYS_FILE, o->state_dir) < 0) {
                k->path = NULL;
                return -ENOMEM;
        }
        if (k->path)
                remove_stale_temporaries(k->path);

        load_ring(k);
        nts_key_ring_expire(&k->ring, &k->schedule, now_seconds(k));
        /* A fresh key when none is current; otherwise just the timer for the next one. */
        if (!current_key(k))
                return -EIO;
        arm_timer(k);
        *ret = TAKE_PTR(k);
        return 0;
}

nts_server_keys *nts_server_keys_free(nts_server_keys *k) {
        if (!k)
                return NULL;
        sd_event_source_disable_unref(k->timer);
        sd_event_unref(k->event);
        nts_gnutls_aead_free(&k->aead);
        nts_wipe(&k->ring, sizeof(k->ring));
        free(k->path);
        pthread_mutex_destroy(&k->lock);
        free(k);
        return NULL;
}
