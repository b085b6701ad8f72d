/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the ntp.conf import (ntpsyncctl import-ntpconf) with any text: the input is ntp.conf,
 * and after a line "---" step-tickers; an includefile line reads ntp.conf again (so nesting and
 * its limit are exercised). Besides the sanitizers it checks what the import promises: an error
 * is one line that names a file, and whatever it produces parses with ntpsyncd's own parser
 * without a warning and holds what the import says it does. A failure there is a real bug. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "ctl-import.h"
#include "fuzz.h"

#define SEPARATOR "\n---\n"

static struct config config;

struct texts {
        const char *ntp_conf;
        size_t ntp_conf_len;
};

static int read_include(void *userdata, const char *path, char **ret_text, size_t *ret_len) {
        const struct texts *t = userdata;
        char *copy = malloc(t->ntp_conf_len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, t->ntp_conf, t->ntp_conf_len);
        copy[t->ntp_conf_len] = '\0';
        *ret_text = copy;
        *ret_len = t->ntp_conf_len;
        return 0;
}

static void check_result(const struct import_result *r) {
        struct import_error error;
        struct config_error parse_error;

        fuzz_check(r->text && strlen(r->text) == r->len);
        fuzz_check(import_validate("fuzz-output.conf", r->text, r->len, &error) == 0);
        config_init(&config);
        fuzz_check(config_parse(&config, "fuzz-output.conf", r->text, r->len, &parse_error) == 0);
        fuzz_check(config.n_warnings == 0);
        fuzz_check(config.n_servers == r->n_servers && config.n_restricts == r->n_restricts);
        fuzz_check(r->n_step_tickers_servers <= r->n_servers);
        fuzz_check(config.driftfile[0] == '\0'); /* ntpsyncd keeps its own */
        for (size_t i = 0; i < r->n_warnings; i++)
                fuzz_check(strchr(r->warnings[i], ':') && !strchr(r->warnings[i], '\n'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* memmem on a copy with a NUL after it: the input itself may hold NUL bytes anywhere. */
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        const char *separator = memmem(text, size, SEPARATOR, strlen(SEPARATOR));
        struct texts t = { .ntp_conf = text, .ntp_conf_len = separator ? (size_t) (separator - text) : size };
        struct import_input in = {
                .ntp_conf = { .path = "ntp.conf", .text = t.ntp_conf, .len = t.ntp_conf_len },
                .date = "2000-01-01",
                .read_include = read_include,
                .userdata = &t,
        };
        if (separator) {
                in.step_tickers.path = "step-tickers";
                in.step_tickers.text = separator + strlen(SEPARATOR);
                in.step_tickers.len = size - t.ntp_conf_len - strlen(SEPARATOR);
        }

        struct import_result result = { 0 };
        struct import_error error = { { 0 } };
        if (import_ntpconf(&in, &result, &error) == 0)
                check_result(&result);
        else
                fuzz_check(error.message[0] != '\0' && !strchr(error.message, '\n') && result.text == NULL);
        import_result_done(&result);
        free(text);
        return 0;
}
