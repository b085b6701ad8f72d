/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Fuzzes the loaders of the NTS state files: the first byte chooses the file (bit 0 clear: a
 * client's keys and cookies, set: the server's keys), the rest is its contents. Besides the
 * sanitizers it checks that a refused file has an error text and loads nothing, and that what
 * loads is valid and saves back to the very same bytes (the format has one spelling). */

#include <string.h>

#include "fuzz.h"
#include "core/nts-cookie.h"

static void check_client(const uint8_t *data, size_t size) {
        static struct nts_client_state state;
        static uint8_t saved[NTS_STATE_MAX_SIZE];
        const char *error = NULL;
        size_t len;

        memset(&state, 0x5a, sizeof(state));
        if (nts_client_state_load(data, size, &state, &error) < 0) {
                fuzz_check(error != NULL && state.port == 0x5a5a);
                return;
        }
        fuzz_check(state.keys.key_len > 0 && state.keys.key_len == nts_aead_key_length(state.keys.aead));
        fuzz_check(nts_cookie_jar_count(&state.jar) <= NTS_MAX_COOKIES);
        fuzz_check(nts_client_state_save(&state, saved, sizeof(saved), &len) == 0);
        fuzz_check(len == size && memcmp(saved, data, size) == 0);
}

static void check_keys(const uint8_t *data, size_t size) {
        static struct nts_key_ring ring;
        static uint8_t saved[NTS_STATE_MAX_SIZE];
        const char *error = NULL;
        size_t len;

        memset(&ring, 0x5a, sizeof(ring));
        if (nts_key_ring_load(data, size, &ring, &error) < 0) {
                fuzz_check(error != NULL && ring.n == (size_t) 0x5a5a5a5a5a5a5a5au);
                return;
        }
        fuzz_check(ring.n <= NTS_KEY_RING_SIZE);
        for (size_t i = 0; i < ring.n; i++) {
                fuzz_check(ring.keys[i].key_len == nts_aead_key_length(ring.keys[i].aead));
                fuzz_check(ring.keys[i].id <= ring.last_id && (i == 0 || ring.keys[i - 1].id < ring.keys[i].id));
        }
        fuzz_check(nts_key_ring_save(&ring, saved, sizeof(saved), &len) == 0);
        fuzz_check(len == size && memcmp(saved, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        if (data[0] & 1)
                check_keys(data + 1, size - 1);
        else
                check_client(data + 1, size - 1);
        return 0;
}
