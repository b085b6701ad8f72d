/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the configuration parser, the restrict rule parser and the D-Bus server spec parser
 * with any text. Besides the sanitizers it checks what they promise: an error names FILE:LINE,
 * what was accepted stays within the model's bounds, and a canonical form parses back to the
 * same thing. */

#include <string.h>
#include <sys/socket.h>

#include "core/config.h"
#include "fuzz.h"

static struct config config;

static void check_server_round_trip(const struct config_server *s) {
        char text[CONFIG_MAX_LINE];
        struct config_server again;
        const char *error;

        fuzz_check(config_host_is_valid(s->host));
        config_server_format(s, text, sizeof(text));
        fuzz_check(config_parse_server_spec(text, &again, &error) == 0);
        fuzz_check(strcmp(again.host, s->host) == 0 && again.pool == s->pool && again.iburst == s->iburst);
        fuzz_check(again.minpoll == s->minpoll && again.maxpoll == s->maxpoll);
}

static void check_restrict_round_trip(const struct restrict_rule *r) {
        char text[RESTRICT_TEXT_MAX * 4];
        struct restrict_rule again;

        restrict_rule_format(r, text, sizeof(text));
        fuzz_check(restrict_rule_parse(text, &again, NULL) == 0);
        fuzz_check(again.family == r->family && again.prefix == r->prefix && again.flags == r->flags);
        fuzz_check(memcmp(again.address, r->address, sizeof(r->address)) == 0);
}

static void check_config(const struct config *c) {
        fuzz_check(c->n_servers <= CONFIG_MAX_SERVERS && c->n_restricts <= CONFIG_MAX_RESTRICTS);
        for (size_t i = 0; i < c->n_servers; i++)
                check_server_round_trip(&c->servers[i]);
        for (size_t i = 0; i < c->n_restricts; i++)
                check_restrict_round_trip(&c->restricts[i].rule);
        fuzz_check(c->step_threshold.value >= 0 && c->panic_threshold.value >= 0);
        fuzz_check(c->min_sources.value >= 1);
}

/* The first line of the input, NUL-terminated, as a single spec or rule. */
static void fuzz_single_line(const uint8_t *data, size_t size) {
        char line[CONFIG_MAX_LINE];
        size_t n = 0;
        while (n < size && n < sizeof(line) - 1 && data[n] != '\n' && data[n] != '\0')
                n++;
        memcpy(line, data, n);
        line[n] = '\0';

        struct config_server s;
        if (config_parse_server_spec(line, &s, NULL) == 0)
                check_server_round_trip(&s);
        struct restrict_rule r;
        struct restrict_messages messages;
        if (restrict_rule_parse(line, &r, &messages) == 0)
                check_restrict_round_trip(&r);
        else /* a refusal always says why */
                fuzz_check(messages.error[0] != '\0' && strnlen(messages.error, sizeof(messages.error)) < sizeof(messages.error));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config_error error;

        config_init(&config);
        if (config_parse(&config, "fuzz.conf", (const char *) data, size, &error) == 0)
                check_config(&config);
        else
                fuzz_check(strncmp(error.message, "fuzz.conf:", 10) == 0);
        fuzz_single_line(data, size);
        return 0;
}
