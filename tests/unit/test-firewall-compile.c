/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the firewall's rule compiler (src/daemon/firewall-compile.c): restrict rules and
 * the asked directions in, the directions and the client ranges to drop out. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "firewall-compile.h"
#include "unit-test.h"

/* A set from rule texts, after the two allow-all defaults. */
static void set_of(struct restrict_set *s, const char *const *rules, size_t n) {
        restrict_set_init(s);
        for (size_t i = 0; i < n; i++) {
                struct restrict_rule r;
                struct restrict_messages messages;
                if (restrict_rule_parse(rules[i], &r, &messages) < 0)
                        fail_msg("%s: %s", rules[i], messages.error);
                assert_int_equal(restrict_set_add(s, &r), 0);
        }
}

static struct firewall_want compile(const struct firewall_request *req) {
        struct firewall_want w = { .ranges = calloc(FIREWALL_MAX_RANGES, sizeof(struct firewall_range)) };
        assert_non_null(w.ranges);
        assert_int_equal(firewall_compile(req, &w), 0);
        return w;
}

/* "start-end" of range i, as text. */
static const char *range_text(const struct firewall_want *w, size_t i) {
        static char text[2 * INET6_ADDRSTRLEN + 2];
        char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
        const struct firewall_range *r = &w->ranges[i];
        inet_ntop(r->family, r->start, a, sizeof(a));
        inet_ntop(r->family, r->end, b, sizeof(b));
        snprintf(text, sizeof(text), "%s-%s", a, b);
        return text;
}

static void test_directions_pass_through(void **state) {
        for (int c = 0; c < 2; c++)
                for (int s = 0; s < 2; s++) {
                        struct firewall_want w = compile(&(struct firewall_request) { .client = c, .server = s });
                        assert_int_equal(w.client, c);
                        assert_int_equal(w.server, s);
                        assert_int_equal(w.n_ranges, 0);
                        assert_int_equal(w.compile_error, 0);
                        free(w.ranges);
                }
}

/* NTS-KE's port goes through as asked, on or off, whatever server says (the backends decide
 * what it means without server). */
static void test_nts_ke_in_and_out(void **state) {
        for (int n = 0; n < 2; n++)
                for (int s = 0; s < 2; s++) {
                        struct firewall_want w = compile(&(struct firewall_request) { .server = s, .nts_ke = n });
                        assert_int_equal(w.nts_ke, n);
                        assert_int_equal(w.server, s);
                        assert_false(w.client);
                        free(w.ranges);
                }
}

static void test_no_ignore_no_ranges(void **state) {
        struct restrict_set s;
        set_of(&s, (const char *const[]) { "default kod limited nomodify noquery", "192.0.2.0/24 noserve" }, 2);
        struct firewall_want w = compile(&(struct firewall_request) { .server = true, .restricts = &s });
        assert_int_equal(w.n_ranges, 0);
        free(w.ranges);
}

/* A more specific rule without ignore cuts a hole; IPv4 comes before IPv6. */
static void test_ignore_with_hole(void **state) {
        struct restrict_set s;
        set_of(&s, (const char *const[]) { "198.51.100.0/24 ignore", "198.51.100.128/25 nomodify",
                                           "2001:db8::/32 ignore" }, 3);
        struct firewall_want w = compile(&(struct firewall_request) { .server = true, .restricts = &s });
        assert_int_equal(w.compile_error, 0);
        assert_int_equal(w.n_ranges, 2);
        assert_int_equal(w.ranges[0].family, AF_INET);
        assert_string_equal(range_text(&w, 0), "198.51.100.0-198.51.100.127");
        assert_int_equal(w.ranges[1].family, AF_INET6);
        assert_string_equal(range_text(&w, 1), "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
        free(w.ranges);
}

/* `default ignore` drops everything but the exceptions, in sorted disjoint pieces. */
static void test_default_ignore(void **state) {
        struct restrict_set s;
        set_of(&s, (const char *const[]) { "-4 default ignore", "192.0.2.1", "10.0.0.0/8 nomodify" }, 3);
        struct firewall_want w = compile(&(struct firewall_request) { .server = true, .restricts = &s });
        assert_int_equal(w.n_ranges, 3);
        assert_string_equal(range_text(&w, 0), "0.0.0.0-9.255.255.255");
        assert_string_equal(range_text(&w, 1), "11.0.0.0-192.0.2.0");
        assert_string_equal(range_text(&w, 2), "192.0.2.2-255.255.255.255");
        free(w.ranges);
}

/* More ranges than there is room for: -E2BIG. */
static void test_too_many_ranges(void **state) {
        struct restrict_set s;
        set_of(&s, (const char *const[]) { "192.0.2.0/28 ignore", "192.0.2.64/28 ignore", "192.0.2.128/28 ignore",
                                           "2001:db8::/48 ignore", "2001:db8:2::/48 ignore" }, 5);
        struct firewall_range few[5];
        size_t n = 0;
        assert_int_equal(firewall_compile_ignored(&s, few, 4, &n), -E2BIG);
        assert_int_equal(firewall_compile_ignored(&s, few, 5, &n), 0);
        assert_int_equal(n, 5);
}

/* Ranges that do not compile are kept as the error for the backend to refuse with; the
 * directions still compile. */
static void test_error_kept(void **state) {
        static struct restrict_set s;
        set_of(&s, (const char *const[]) { "198.51.100.0/24 ignore" }, 1);
        s.n = RESTRICT_MAX_RULES + 1;
        struct firewall_want w = compile(&(struct firewall_request) { .client = true, .restricts = &s });
        assert_int_equal(w.compile_error, -EINVAL);
        assert_int_equal(w.n_ranges, 0);
        assert_true(w.client);
        free(w.ranges);
}

static void test_want_equal(void **state) {
        struct restrict_set s;
        set_of(&s, (const char *const[]) { "198.51.100.0/24 ignore" }, 1);
        struct firewall_want a = compile(&(struct firewall_request) { .server = true, .restricts = &s });
        struct firewall_want b = compile(&(struct firewall_request) { .server = true, .restricts = &s });
        assert_true(firewall_want_equal(&a, &b));
        b.client = true;
        assert_false(firewall_want_equal(&a, &b));
        free(b.ranges);
        /* `nts enable` alone changes the request: applied again. */
        b = compile(&(struct firewall_request) { .server = true, .nts_ke = true, .restricts = &s });
        assert_false(firewall_want_equal(&a, &b));
        struct firewall_want c = compile(&(struct firewall_request) { .server = true, .nts_ke = true, .restricts = &s });
        assert_true(firewall_want_equal(&b, &c));
        free(b.ranges);
        free(c.ranges);
        set_of(&s, (const char *const[]) { "198.51.100.0/25 ignore" }, 1);
        b = compile(&(struct firewall_request) { .server = true, .restricts = &s });
        assert_false(firewall_want_equal(&a, &b));
        free(a.ranges);
        free(b.ranges);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_directions_pass_through),
                cmocka_unit_test(test_nts_ke_in_and_out),
                cmocka_unit_test(test_no_ignore_no_ranges),
                cmocka_unit_test(test_ignore_with_hole),
                cmocka_unit_test(test_default_ignore),
                cmocka_unit_test(test_too_many_ranges),
                cmocka_unit_test(test_error_kept),
                cmocka_unit_test(test_want_equal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
