/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the server's cookie keys (src/daemon/nts-server-keys.c): a fresh key saved 0600
 * in the state directory, cookies that open again after a reload and after a rotation, the
 * schedule (weekly, two older keys kept) on a fake clock, a bad file replaced by a fresh key, and
 * the rotation timer on a real event loop. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nts-gnutls.h"
#include "nts-server-keys.h"
#include "unit-test.h"

#define T0 1700000000ULL
#define WEEK (7 * 24 * 3600ULL)

static uint64_t fake_now;

static uint64_t fake_clock(void *userdata) {
        return fake_now;
}

struct fixture {
        char dir[64];
        char path[128];
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-nts-server-keys.XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->path, sizeof(f->path), "%s/" NTS_SERVER_KEYS_FILE, f->dir);
        fake_now = T0;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        unlink(f->path);
        rmdir(f->dir);
        free(f);
        return 0;
}

static nts_server_keys *keys_new(const struct fixture *f) {
        struct nts_server_keys_options o = { .state_dir = f ? f->dir : NULL, .clock = fake_clock };
        nts_server_keys *k = NULL;
        assert_int_equal(nts_server_keys_new(&o, &k), 0);
        assert_non_null(k);
        return k;
}

static struct nts_keys session_keys(uint8_t fill) {
        struct nts_keys keys = { .aead = NTS_AEAD_AES_SIV_CMAC_256, .key_len = 32 };
        memset(keys.c2s, fill, 32);
        memset(keys.s2c, fill ^ 0xff, 32);
        return keys;
}

static void assert_cookie_opens(nts_server_keys *k, const struct nts_cookie *c, const struct nts_keys *expected) {
        struct nts_keys got;
        assert_int_equal(nts_server_keys_open_cookie(k, c->data, c->len, &got), 0);
        assert_int_equal(got.aead, expected->aead);
        assert_int_equal(got.key_len, expected->key_len);
        assert_memory_equal(got.c2s, expected->c2s, 32);
        assert_memory_equal(got.s2c, expected->s2c, 32);
}

static void test_fresh_key_saved(void **state) {
        struct fixture *f = *state;
        nts_server_keys *k = keys_new(f);
        struct stat st;
        assert_int_equal(nts_server_keys_count(k), 1);
        assert_int_equal(nts_server_keys_current_id(k), 1);
        assert_string_equal(nts_server_keys_path(k), f->path);
        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        nts_server_keys_free(k);
}

static void test_cookies_survive_a_restart(void **state) {
        struct fixture *f = *state;
        struct nts_keys keys = session_keys(0x11);
        struct nts_cookie c;
        nts_server_keys *k = keys_new(f);
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &c), 0);
        assert_cookie_opens(k, &c, &keys);
        nts_server_keys_free(k);

        fake_now += 3600;
        k = keys_new(f);
        assert_int_equal(nts_server_keys_current_id(k), 1); /* loaded, not a fresh one */
        assert_cookie_opens(k, &c, &keys);
        nts_server_keys_free(k);
}

static void test_rotation_saved(void **state) {
        struct fixture *f = *state;
        struct nts_keys keys = session_keys(0x22);
        struct nts_cookie before, after;
        nts_server_keys *k = keys_new(f);
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &before), 0);
        fake_now += 10;
        assert_int_equal(nts_server_keys_rotate(k), 0);
        assert_int_equal(nts_server_keys_current_id(k), 2);
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &after), 0);
        assert_memory_not_equal(before.data, after.data, 4); /* another key id */
        nts_server_keys_free(k);

        /* Restarted after the rotation: both cookies still open. */
        k = keys_new(f);
        assert_int_equal(nts_server_keys_count(k), 2);
        assert_int_equal(nts_server_keys_current_id(k), 2);
        assert_cookie_opens(k, &before, &keys);
        assert_cookie_opens(k, &after, &keys);
        nts_server_keys_free(k);
}

/* Weekly: a cookie of the first key opens for three weeks (current, then two older), then not. */
static void test_schedule(void **state) {
        struct fixture *f = *state;
        struct nts_keys keys = session_keys(0x33), got;
        struct nts_cookie first, c;
        nts_server_keys *k = keys_new(f);
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &first), 0);

        fake_now = T0 + WEEK - 1;
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &c), 0);
        assert_int_equal(nts_server_keys_current_id(k), 1);
        fake_now = T0 + WEEK;
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &c), 0); /* due: rotated on the way */
        assert_int_equal(nts_server_keys_current_id(k), 2);
        assert_cookie_opens(k, &first, &keys);
        fake_now = T0 + 2 * WEEK;
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &c), 0);
        assert_int_equal(nts_server_keys_current_id(k), 3);
        fake_now = T0 + 3 * WEEK - 1;
        assert_cookie_opens(k, &first, &keys);
        fake_now = T0 + 3 * WEEK;
        assert_int_equal(nts_server_keys_open_cookie(k, first.data, first.len, &got), -ENOKEY);
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &c), 0);
        assert_int_equal(nts_server_keys_current_id(k), 4);
        assert_int_equal(nts_server_keys_count(k), 3); /* the current and two older */
        nts_server_keys_free(k);
}

/* A key that no longer opens after a restart either: the expiry holds across the file. */
static void test_expired_after_restart(void **state) {
        struct fixture *f = *state;
        struct nts_keys keys = session_keys(0x44), got;
        struct nts_cookie c;
        nts_server_keys *k = keys_new(f);
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &c), 0);
        nts_server_keys_free(k);
        fake_now = T0 + 4 * WEEK;
        k = keys_new(f);
        assert_int_equal(nts_server_keys_open_cookie(k, c.data, c.len, &got), -ENOKEY);
        assert_int_equal(nts_server_keys_count(k), 1);
        assert_int_equal(nts_server_keys_current_id(k), 2); /* ids go on counting */
        nts_server_keys_free(k);
}

static void write_file(const char *path, const void *data, size_t len) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        close(fd);
}

static void test_bad_file(void **state) {
        struct fixture *f = *state;
        struct nts_keys keys = session_keys(0x55), got;
        struct nts_cookie c;
        nts_server_keys *k = keys_new(f);
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &c), 0);
        nts_server_keys_free(k);

        /* Damaged: one byte changed, the checksum catches it. */
        uint8_t buf[4096];
        int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        ssize_t len = read(fd, buf, sizeof(buf));
        close(fd);
        assert_true(len > 16);
        buf[len / 2] ^= 1;
        write_file(f->path, buf, (size_t) len);
        k = keys_new(f);
        assert_int_equal(nts_server_keys_count(k), 1);
        assert_int_equal(nts_server_keys_open_cookie(k, c.data, c.len, &got), -EBADMSG);
        uint32_t fresh = nts_server_keys_current_id(k);
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &c), 0);
        nts_server_keys_free(k);

        /* The fresh key was saved over the bad file. */
        k = keys_new(f);
        assert_int_equal(nts_server_keys_current_id(k), fresh);
        assert_cookie_opens(k, &c, &keys);
        nts_server_keys_free(k);

        /* Not a key file at all, and an empty one. */
        write_file(f->path, "hello, world\n", 13);
        k = keys_new(f);
        assert_int_equal(nts_server_keys_count(k), 1);
        nts_server_keys_free(k);
        write_file(f->path, "", 0);
        k = keys_new(f);
        assert_int_equal(nts_server_keys_count(k), 1);
        nts_server_keys_free(k);
}

static void test_no_state_dir(void **state) {
        struct nts_keys keys = session_keys(0x66);
        struct nts_cookie c;
        nts_server_keys *k = keys_new(NULL);
        assert_null(nts_server_keys_path(k));
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &c), 0);
        assert_cookie_opens(k, &c, &keys);
        nts_server_keys_free(k);
}

static void test_unwritable_state_dir(void **state) {
        struct nts_keys keys = session_keys(0x77);
        struct nts_cookie c;
        struct nts_server_keys_options o = { .state_dir = "/nonexistent/ntpsync-test", .clock = fake_clock };
        nts_server_keys *k = NULL;
        assert_int_equal(nts_server_keys_new(&o, &k), 0); /* logged, served all the same */
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &c), 0);
        assert_cookie_opens(k, &c, &keys);
        nts_server_keys_free(k);
}

static void test_garbage_cookies(void **state) {
        struct nts_keys keys = session_keys(0x88), got;
        struct nts_cookie c;
        nts_server_keys *k = keys_new(NULL);
        assert_int_equal(nts_server_keys_make_cookie(k, &keys, &c), 0);
        c.data[c.len - 1] ^= 0x80;
        assert_int_equal(nts_server_keys_open_cookie(k, c.data, c.len, &got), -EBADMSG);
        c.data[0] ^= 0x80; /* another key id */
        assert_int_equal(nts_server_keys_open_cookie(k, c.data, c.len, &got), -ENOKEY);
        assert_true(nts_server_keys_open_cookie(k, c.data, 3, &got) < 0);
        nts_server_keys_free(k);
}

/* The timer on a real loop and the real clock: a one-second interval rotates within two. */
static void test_timer_rotates_and_saves(void **state) {
        struct fixture *f = *state;
        sd_event *e = NULL;
        assert_int_equal(sd_event_new(&e), 0);
        struct nts_server_keys_options o = { .event = e, .state_dir = f->dir, .schedule = { .interval = 1, .keep = 2 } };
        nts_server_keys *k = NULL;
        assert_int_equal(nts_server_keys_new(&o, &k), 0);
        uint32_t first = nts_server_keys_current_id(k);
        for (int i = 0; i < 60 && nts_server_keys_current_id(k) < first + 2; i++)
                assert_true(sd_event_run(e, 100000) >= 0);
        assert_true(nts_server_keys_current_id(k) >= first + 2);
        uint32_t now_current = nts_server_keys_current_id(k);
        nts_server_keys_free(k);

        /* What the timer made was saved: loaded again with the id it had (no fresh key: the
         * interval is long now). */
        o = (struct nts_server_keys_options) { .state_dir = f->dir, .schedule = { .interval = 3600, .keep = 2 } };
        assert_int_equal(nts_server_keys_new(&o, &k), 0);
        assert_int_equal(nts_server_keys_current_id(k), now_current);
        nts_server_keys_free(k);
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_fresh_key_saved, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cookies_survive_a_restart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rotation_saved, setup, teardown),
                cmocka_unit_test_setup_teardown(test_schedule, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expired_after_restart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_file, setup, teardown),
                cmocka_unit_test(test_no_state_dir),
                cmocka_unit_test(test_unwritable_state_dir),
                cmocka_unit_test(test_garbage_cookies),
                cmocka_unit_test_setup_teardown(test_timer_rotates_and_saves, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
