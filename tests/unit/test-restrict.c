/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for restrict: the rule syntax (flags, defaults, masks, prefixes, what is refused),
 * the canonical text of a rule, and the rule set (defaults, add/replace/remove, most specific
 * match, IPv4-mapped IPv6, a full set). */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/restrict.h"
#include "unit-test.h"

static const struct {
        const char *name;
        uint32_t flag;
        bool has_effect;
} flags[] = {
        { "ignore", RESTRICT_IGNORE, true },
        { "noserve", RESTRICT_NOSERVE, true },
        { "noquery", RESTRICT_NOQUERY, true },
        { "nomodify", RESTRICT_NOMODIFY, true },
        { "notrap", RESTRICT_NOTRAP, true },
        { "nopeer", RESTRICT_NOPEER, true },
        { "kod", RESTRICT_KOD, true },
        { "limited", RESTRICT_LIMITED, true },
        { "lowpriotrap", RESTRICT_LOWPRIOTRAP, false },
        { "version", RESTRICT_VERSION, true },
        { "ntpport", RESTRICT_NTPPORT, true },
        { "noepeer", RESTRICT_NOEPEER, true },
        { "nomrulist", RESTRICT_NOMRULIST, false },
        { "notrust", RESTRICT_NOTRUST, false },
};

static struct restrict_rule parse_ok(const char *text) {
        struct restrict_rule r;
        struct restrict_messages messages;
        memset(&r, 0xaa, sizeof(r));
        if (restrict_rule_parse(text, &r, &messages) != 0) {
                print_error("\"%s\" refused: %s\n", text, messages.error);
                fail();
        }
        return r;
}

/* Refused with an error text containing what, and *ret untouched. */
static void assert_refused(const char *text, const char *what) {
        struct restrict_rule r, before;
        struct restrict_messages messages;
        const char *error = messages.error;
        memset(&r, 0x5a, sizeof(r));
        before = r;
        int k = restrict_rule_parse(text, &r, &messages);
        if (k >= 0) {
                print_error("\"%s\" accepted\n", text ? text : "(null)");
                fail();
        }
        assert_int_equal(k, -EINVAL);
        if (!strstr(error, what)) {
                print_error("\"%s\": error \"%s\" does not say \"%s\"\n", text ? text : "(null)", error, what);
                fail();
        }
        assert_memory_equal(&r, &before, sizeof(r));
}

static void assert_address(const struct restrict_rule *r, int family, const char *address, unsigned prefix) {
        uint8_t a[16] = { 0 };
        assert_int_equal(inet_pton(family, address, a), 1);
        assert_int_equal(r->family, family);
        assert_false(r->is_default);
        assert_int_equal(r->prefix, prefix);
        assert_memory_equal(r->address, a, family == AF_INET ? 4 : 16);
}

/* ---- parsing ---- */

static void test_every_flag(void **state) {
        uint32_t all = 0;
        char text[512] = "192.0.2.1";

        for (size_t i = 0; i < ELEMENTSOF(flags); i++) {
                char one[64];
                struct restrict_rule r;
                struct restrict_messages messages;
                char named[64];
                snprintf(one, sizeof(one), "192.0.2.1 %s", flags[i].name);
                strcpy(messages.warning, "stale");
                assert_int_equal(restrict_rule_parse(one, &r, &messages), 0);
                assert_int_equal(r.flags, flags[i].flag);
                assert_string_equal(messages.error, "");
                if (flags[i].has_effect)
                        assert_string_equal(messages.warning, "");
                else {
                        snprintf(named, sizeof(named), "flag accepted but has no effect: '%s'", flags[i].name);
                        assert_string_equal(messages.warning, named);
                }
                all |= flags[i].flag;
                strcat(text, " ");
                strcat(text, flags[i].name);
        }
        struct restrict_rule r = parse_ok(text);
        assert_int_equal(r.flags, all);
        /* A flag given twice is the same flag. */
        r = parse_ok("192.0.2.1 kod kod nomodify");
        assert_int_equal(r.flags, RESTRICT_KOD | RESTRICT_NOMODIFY);
        /* No flags: everything allowed. */
        r = parse_ok("127.0.0.1");
        assert_int_equal(r.flags, 0);
}

static void test_unknown_flag(void **state) {
        assert_refused("192.0.2.1 nomodify frobnicate", "unknown restrict flag: 'frobnicate'");
        assert_refused("default KOD", "unknown restrict flag");
        assert_refused("default kod,nomodify", "unknown restrict flag");
        /* The key of ntpd's "restrict ... mask" only follows an address. */
        assert_refused("default mask 255.255.255.0", "unknown restrict flag");
}

static void test_default(void **state) {
        struct restrict_rule r = parse_ok("default kod limited nomodify notrap nopeer noquery");
        assert_true(r.is_default);
        assert_int_equal(r.family, AF_UNSPEC);
        assert_int_equal(r.prefix, 0);
        assert_int_equal(r.flags, RESTRICT_KOD | RESTRICT_LIMITED | RESTRICT_NOMODIFY | RESTRICT_NOTRAP |
                                          RESTRICT_NOPEER | RESTRICT_NOQUERY);

        r = parse_ok("-4 default noquery");
        assert_true(r.is_default);
        assert_int_equal(r.family, AF_INET);
        assert_int_equal(r.flags, RESTRICT_NOQUERY);

        r = parse_ok("-6 default");
        assert_true(r.is_default);
        assert_int_equal(r.family, AF_INET6);
        assert_int_equal(r.flags, 0);

        r = parse_ok("\tdefault \t ignore  ");
        assert_true(r.is_default);
        assert_int_equal(r.flags, RESTRICT_IGNORE);
}

static void test_missing_or_empty(void **state) {
        assert_refused(NULL, "missing");
        assert_refused("", "no address");
        assert_refused("   ", "no address");
        assert_refused("-4", "no address");
        assert_refused("-6", "no address");
}

static void test_address_and_mask(void **state) {
        struct restrict_rule r = parse_ok("192.0.2.77 mask 255.255.255.0 nomodify");
        assert_address(&r, AF_INET, "192.0.2.0", 24);
        assert_int_equal(r.flags, RESTRICT_NOMODIFY);

        r = parse_ok("192.0.2.77 mask 255.255.255.255");
        assert_address(&r, AF_INET, "192.0.2.77", 32);
        r = parse_ok("192.0.2.77 mask 0.0.0.0");
        assert_address(&r, AF_INET, "0.0.0.0", 0);
        r = parse_ok("198.51.100.200 mask 255.255.255.128");
        assert_address(&r, AF_INET, "198.51.100.128", 25);
        r = parse_ok("198.51.100.200 mask 255.254.0.0");
        assert_address(&r, AF_INET, "198.50.0.0", 15);
        r = parse_ok("2001:db8:1234::1 mask ffff:ffff::");
        assert_address(&r, AF_INET6, "2001:db8::", 32);
        r = parse_ok("-4 192.0.2.1 mask 255.255.0.0 kod");
        assert_address(&r, AF_INET, "192.0.0.0", 16);

        /* Not contiguous ones. */
        assert_refused("192.0.2.0 mask 255.0.255.0", "contiguous netmask of the address's family: '255.0.255.0'");
        assert_refused("192.0.2.0 mask 255.255.255.1", "contiguous");
        assert_refused("192.0.2.0 mask 0.255.255.255", "contiguous");
        assert_refused("2001:db8:: mask ffff:0:ffff::", "contiguous");
        /* Missing, of the other family, or no mask at all. */
        assert_refused("192.0.2.0 mask", "mask");
        assert_refused("192.0.2.0 mask ffff:ffff::", "mask");
        assert_refused("2001:db8:: mask 255.255.0.0", "mask");
        assert_refused("192.0.2.0 mask 24", "mask");
        assert_refused("192.0.2.0 mask /24", "mask");
}

static void test_cidr_prefixes(void **state) {
        struct restrict_rule r = parse_ok("192.0.2.77/24 ignore");
        assert_address(&r, AF_INET, "192.0.2.0", 24);
        assert_int_equal(r.flags, RESTRICT_IGNORE);
        r = parse_ok("192.0.2.77/0");
        assert_address(&r, AF_INET, "0.0.0.0", 0);
        r = parse_ok("192.0.2.77/32");
        assert_address(&r, AF_INET, "192.0.2.77", 32);
        r = parse_ok("192.0.2.77");
        assert_address(&r, AF_INET, "192.0.2.77", 32);
        r = parse_ok("192.0.2.77/31");
        assert_address(&r, AF_INET, "192.0.2.76", 31);
        r = parse_ok("192.0.2.255/1");
        assert_address(&r, AF_INET, "128.0.0.0", 1);
        assert_refused("192.0.2.0/33", "prefix length out of range: '192.0.2.0/33'");
        assert_refused("192.0.2.0/-1", "prefix");
        assert_refused("192.0.2.0/", "prefix");
        assert_refused("192.0.2.0/24x", "prefix");
        assert_refused("192.0.2.0/1000", "prefix");
        assert_refused("192.0.2.0/99999999999", "prefix");

        r = parse_ok("2001:db8::/32 ignore");
        assert_address(&r, AF_INET6, "2001:db8::", 32);
        r = parse_ok("2001:db8::1/128");
        assert_address(&r, AF_INET6, "2001:db8::1", 128);
        r = parse_ok("2001:db8::1");
        assert_address(&r, AF_INET6, "2001:db8::1", 128);
        r = parse_ok("2001:db8:ffff:ffff::1/0");
        assert_address(&r, AF_INET6, "::", 0);
        r = parse_ok("2001:db8:abcd:ef01::1/61");
        assert_address(&r, AF_INET6, "2001:db8:abcd:ef00::", 61);
        r = parse_ok("::1");
        assert_address(&r, AF_INET6, "::1", 128);
        assert_refused("2001:db8::/129", "prefix");
        assert_refused("2001:db8::/", "prefix");
}

static void test_host_names_refused(void **state) {
        assert_refused("ntp.example.org nomodify", "host names");
        assert_refused("localhost", "host names");
        assert_refused("192.0.2", "host names");
        assert_refused("192.0.2.256", "host names");
        assert_refused("fe80::1%eth0", "host names");
        assert_refused("[2001:db8::1]", "host names");
        assert_refused("nomodify", "host names");
}

static void test_family_option_must_match(void **state) {
        assert_refused("-4 2001:db8::1", "-4/-6");
        assert_refused("-4 2001:db8::/32 ignore", "-4/-6");
        assert_refused("-6 192.0.2.1", "-4/-6");
        struct restrict_rule r = parse_ok("-4 192.0.2.1");
        assert_address(&r, AF_INET, "192.0.2.1", 32);
        r = parse_ok("-6 2001:db8::1");
        assert_address(&r, AF_INET6, "2001:db8::1", 128);
}

static void test_too_long_or_too_many_words(void **state) {
        char text[2048];

        /* 33 words */
        snprintf(text, sizeof(text), "192.0.2.1");
        for (int i = 0; i < 32; i++)
                strcat(text, " kod");
        assert_refused(text, "too many words");
        /* 32 words are fine */
        snprintf(text, sizeof(text), "192.0.2.1");
        for (int i = 0; i < 31; i++)
                strcat(text, " kod");
        assert_int_equal(parse_ok(text).flags, RESTRICT_KOD);

        memset(text, ' ', sizeof(text) - 1);
        text[sizeof(text) - 1] = '\0';
        memcpy(text, "default", 7);
        assert_refused(text, "too long");
        /* An overlong address word is refused, not copied past its buffer. */
        memset(text, '1', 200);
        text[200] = '\0';
        assert_refused(text, "");
}

static void test_words(void **state) {
        struct restrict_rule r = parse_ok("default\vkod\f");
        assert_true(r.is_default);
        assert_int_equal(r.flags, RESTRICT_KOD);
        /* A rule is one value, not a file's line: no quotes, no comment, no second line. */
        assert_refused("\"default\" kod", "not an IPv4 or IPv6 address");
        assert_refused("default # kod", "unknown restrict flag");
        assert_refused("default\nkod", "not an IPv4 or IPv6 address");

        /* A restrict line's words after its keyword. */
        char address[] = "192.0.2.0", mask[] = "mask", netmask[] = "255.255.255.0", flag[] = "kod";
        char *words[] = { address, mask, netmask, flag };
        struct restrict_messages messages;
        assert_int_equal(restrict_rule_parse_words(words, ELEMENTSOF(words), &r, &messages), 0);
        assert_int_equal(r.prefix, 24);
        assert_int_equal(r.flags, RESTRICT_KOD);
        assert_string_equal(messages.warning, "");
        assert_int_equal(restrict_rule_parse_words(words, 0, &r, &messages), -EINVAL);
        assert_string_equal(messages.error, "no address");
        assert_int_equal(restrict_rule_parse_words(words, 0, &r, NULL), -EINVAL);
}

/* ---- canonical text ---- */

static void assert_format(const char *text, const char *expected) {
        char buf[RESTRICT_TEXT_MAX * 4];
        struct restrict_rule r = parse_ok(text), again;
        restrict_rule_format(&r, buf, sizeof(buf));
        if (strcmp(buf, expected) != 0) {
                print_error("\"%s\" formats as \"%s\", expected \"%s\"\n", text, buf, expected);
                fail();
        }
        again = parse_ok(buf);
        assert_int_equal(again.family, r.family);
        assert_int_equal(again.is_default, r.is_default);
        assert_int_equal(again.prefix, r.prefix);
        assert_int_equal(again.flags, r.flags);
        assert_memory_equal(again.address, r.address, sizeof(r.address));
}

static void test_format_round_trip(void **state) {
        assert_format("default kod limited nomodify notrap nopeer noquery",
                      "default noquery nomodify notrap nopeer kod limited");
        assert_format("-4 default noquery", "-4 default noquery");
        assert_format("-6 default ignore", "-6 default ignore");
        assert_format("default", "default");
        assert_format("192.0.2.77 mask 255.255.255.0 nomodify", "192.0.2.0/24 nomodify");
        assert_format("2001:db8::/32 ignore", "2001:db8::/32 ignore");
        assert_format("127.0.0.1", "127.0.0.1/32");
        assert_format("::1 noquery", "::1/128 noquery");
        assert_format("-4 0.0.0.0/0 kod", "0.0.0.0/0 kod");
        assert_format("2001:db8:abcd:ef01::1/61 notrust lowpriotrap nomrulist",
                      "2001:db8:abcd:ef00::/61 lowpriotrap nomrulist notrust");

        /* Every flag at once, on the longest address text. */
        char text[512] = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127";
        for (size_t i = 0; i < ELEMENTSOF(flags); i++) {
                strcat(text, " ");
                strcat(text, flags[i].name);
        }
        assert_format(text, text);
}

static void test_format_small_buffers(void **state) {
        struct restrict_rule r = parse_ok("2001:db8:abcd:ef01::1/61 ignore noserve noquery nomodify kod limited");
        char full[RESTRICT_TEXT_MAX * 4];
        restrict_rule_format(&r, full, sizeof(full));

        for (size_t size = 1; size <= strlen(full) + 1; size++) {
                char buf[RESTRICT_TEXT_MAX * 4];
                memset(buf, 'X', sizeof(buf));
                restrict_rule_format(&r, buf, size);
                /* NUL-terminated within size, nothing written beyond, a prefix of the full text. */
                assert_non_null(memchr(buf, '\0', size));
                assert_int_equal(buf[size], 'X');
                assert_true(strncmp(full, buf, strlen(buf)) == 0);
        }
}

/* ---- the rule set ---- */

static void add(struct restrict_set *s, const char *text) {
        struct restrict_rule r = parse_ok(text);
        assert_int_equal(restrict_set_add(s, &r), 0);
}

/* A client address as text into its bytes; returns its family. */
static int client_address(const char *address, uint8_t ret[static 16]) {
        if (inet_pton(AF_INET, address, ret) == 1)
                return AF_INET;
        assert_int_equal(inet_pton(AF_INET6, address, ret), 1);
        return AF_INET6;
}

static uint32_t match(const struct restrict_set *s, const char *address) {
        uint8_t a[16];
        int family = client_address(address, a);
        return restrict_set_match(s, family, a);
}

static void test_set_defaults(void **state) {
        struct restrict_set s;
        restrict_set_init(&s);
        assert_int_equal(s.n, 2);
        assert_true(s.rules[0].is_default);
        assert_int_equal(s.rules[0].family, AF_INET);
        assert_true(s.rules[1].is_default);
        assert_int_equal(s.rules[1].family, AF_INET6);
        /* Allow everything, as ntpd starts. */
        assert_int_equal(match(&s, "192.0.2.1"), 0);
        assert_int_equal(match(&s, "2001:db8::1"), 0);

        /* Not removable, in any spelling. */
        assert_int_equal(restrict_set_remove(&s, "default"), -EPERM);
        assert_int_equal(restrict_set_remove(&s, "-4 default"), -EPERM);
        assert_int_equal(restrict_set_remove(&s, "-6 default"), -EPERM);
        assert_int_equal(s.n, 2);

        /* Changeable, each family on its own. */
        add(&s, "-4 default kod");
        add(&s, "-6 default ignore");
        assert_int_equal(s.n, 2);
        assert_int_equal(match(&s, "192.0.2.1"), RESTRICT_KOD);
        assert_int_equal(match(&s, "2001:db8::1"), RESTRICT_IGNORE);
        assert_int_equal(s.rules[0].family, AF_INET);
        assert_int_equal(s.rules[1].family, AF_INET6);
}

static void test_set_default_of_both_families(void **state) {
        struct restrict_set s;
        restrict_set_init(&s);
        add(&s, "-6 default ignore");
        add(&s, "default limited kod");
        assert_int_equal(s.n, 2);
        assert_int_equal(match(&s, "192.0.2.1"), RESTRICT_LIMITED | RESTRICT_KOD);
        assert_int_equal(match(&s, "2001:db8::1"), RESTRICT_LIMITED | RESTRICT_KOD);
        assert_int_equal(match(&s, "::ffff:192.0.2.1"), RESTRICT_LIMITED | RESTRICT_KOD);
        /* The defaults keep their families. */
        assert_true(s.rules[0].is_default);
        assert_int_equal(s.rules[0].family, AF_INET);
        assert_true(s.rules[1].is_default);
        assert_int_equal(s.rules[1].family, AF_INET6);
        /* Still not removable. */
        assert_int_equal(restrict_set_remove(&s, "default"), -EPERM);
}

static void test_set_add_replaces_same_target(void **state) {
        struct restrict_set s;
        restrict_set_init(&s);
        add(&s, "192.0.2.0/24 nomodify");
        add(&s, "192.0.2.0/25 kod");
        assert_int_equal(s.n, 4);
        /* The same network, another spelling: replaced, not added. */
        add(&s, "192.0.2.99 mask 255.255.255.0 noquery");
        assert_int_equal(s.n, 4);
        assert_int_equal(match(&s, "192.0.2.200"), RESTRICT_NOQUERY);
        assert_int_equal(match(&s, "192.0.2.1"), RESTRICT_KOD);
        /* Written as IPv4-mapped IPv6 it is still the same IPv4 network: replaced. */
        add(&s, "::ffff:192.0.2.0/120 ignore");
        assert_int_equal(s.n, 4);
        assert_int_equal(match(&s, "192.0.2.200"), RESTRICT_IGNORE);
        add(&s, "2001:db8::1 noquery");
        add(&s, "2001:db8:0::1/128 ignore");
        assert_int_equal(s.n, 5);
        assert_int_equal(match(&s, "2001:db8::1"), RESTRICT_IGNORE);
}

static void test_set_remove(void **state) {
        struct restrict_set s;
        restrict_set_init(&s);
        add(&s, "192.0.2.0/24 nomodify");
        add(&s, "198.51.100.0/24 kod");
        add(&s, "::1 noquery");
        add(&s, "2001:db8::/32 ignore");
        assert_int_equal(s.n, 6);

        assert_int_equal(restrict_set_remove(&s, "192.0.2.0/24"), 0);
        assert_int_equal(s.n, 5);
        assert_int_equal(match(&s, "192.0.2.1"), 0);
        assert_int_equal(restrict_set_remove(&s, "192.0.2.0/24"), -ENOENT);
        /* The other rules stay, in order. */
        assert_int_equal(match(&s, "198.51.100.7"), RESTRICT_KOD);
        assert_int_equal(match(&s, "::1"), RESTRICT_NOQUERY);
        assert_int_equal(match(&s, "2001:db8::5"), RESTRICT_IGNORE);

        /* By mask, and by an address with host bits that masks to the same network. */
        add(&s, "192.0.2.0/24 nomodify");
        assert_int_equal(restrict_set_remove(&s, "192.0.2.0 mask 255.255.255.0"), 0);
        add(&s, "192.0.2.0/24 nomodify");
        assert_int_equal(restrict_set_remove(&s, "192.0.2.17/24"), 0);
        assert_int_equal(s.n, 5);

        /* A /24 is not the /25 or the host. */
        add(&s, "192.0.2.0/24 nomodify");
        assert_int_equal(restrict_set_remove(&s, "192.0.2.0/25"), -ENOENT);
        assert_int_equal(restrict_set_remove(&s, "192.0.2.0"), -ENOENT);
        assert_int_equal(s.n, 6);
        /* The IPv4-mapped spelling names the same rule. */
        assert_int_equal(restrict_set_remove(&s, "::ffff:192.0.2.0/120"), 0);
        assert_int_equal(s.n, 5);
        add(&s, "192.0.2.0/24 nomodify");

        /* IPv6, with and without the prefix. */
        assert_int_equal(restrict_set_remove(&s, "::1"), 0);
        assert_int_equal(restrict_set_remove(&s, "2001:db8::/32"), 0);
        assert_int_equal(restrict_set_remove(&s, "2001:db8::/32"), -ENOENT);
        assert_int_equal(s.n, 4);

        /* Unparsable, or carrying flags. */
        assert_int_equal(restrict_set_remove(&s, "bogus"), -EINVAL);
        assert_int_equal(restrict_set_remove(&s, ""), -EINVAL);
        assert_int_equal(restrict_set_remove(&s, NULL), -EINVAL);
        assert_int_equal(restrict_set_remove(&s, "192.0.2.0/33"), -EINVAL);
        assert_int_equal(restrict_set_remove(&s, "192.0.2.0/24 nomodify"), -EINVAL);
        assert_int_equal(restrict_set_remove(&s, "ntp.example.org"), -EINVAL);
        assert_int_equal(s.n, 4);
        assert_int_equal(match(&s, "192.0.2.1"), RESTRICT_NOMODIFY);
}

static void test_set_most_specific_wins(void **state) {
        /* The same rules in both orders: the result must not depend on the order. */
        static const char *const rules[] = {
                "default kod",
                "198.18.0.0/16 nomodify",
                "198.18.5.0 mask 255.255.255.0 noquery",
                "198.18.5.7 ignore",
        };
        for (int order = 0; order < 2; order++) {
                struct restrict_set s;
                restrict_set_init(&s);
                for (size_t i = 0; i < ELEMENTSOF(rules); i++)
                        add(&s, rules[order == 0 ? i : ELEMENTSOF(rules) - 1 - i]);
                assert_int_equal(match(&s, "198.18.5.7"), RESTRICT_IGNORE);
                assert_int_equal(match(&s, "198.18.5.8"), RESTRICT_NOQUERY);
                assert_int_equal(match(&s, "198.18.5.255"), RESTRICT_NOQUERY);
                assert_int_equal(match(&s, "198.18.6.1"), RESTRICT_NOMODIFY);
                assert_int_equal(match(&s, "198.18.255.255"), RESTRICT_NOMODIFY);
                assert_int_equal(match(&s, "198.19.5.7"), RESTRICT_KOD);
                assert_int_equal(match(&s, "192.0.2.1"), RESTRICT_KOD);
                assert_int_equal(match(&s, "2001:db8::1"), RESTRICT_KOD);
        }
}

static void test_set_ipv4_mapped_matched_as_ipv4(void **state) {
        struct restrict_set s;
        restrict_set_init(&s);
        add(&s, "-4 default kod");
        add(&s, "-6 default ignore");
        add(&s, "198.18.5.0/24 noquery");
        add(&s, "::/0 nomodify"); /* an IPv6 rule that would catch everything IPv6 */
        assert_int_equal(match(&s, "::ffff:198.18.5.8"), RESTRICT_NOQUERY);
        assert_int_equal(match(&s, "::ffff:192.0.2.1"), RESTRICT_KOD);
        /* Not mapped: IPv6 rules. */
        assert_int_equal(match(&s, "::198.18.5.8"), RESTRICT_NOMODIFY);
        assert_int_equal(match(&s, "64:ff9b::198.18.5.8"), RESTRICT_NOMODIFY);
}

static void test_set_rule_written_as_ipv4_mapped(void **state) {
        /* Clients on a dual-stack socket arrive as ::ffff:a.b.c.d and are matched as IPv4. A rule
         * written in that form must then apply to them too (or be refused); it must not be accepted
         * and silently never match, least of all an "ignore". */
        struct restrict_set s;
        struct restrict_rule r;
        restrict_set_init(&s);
        if (restrict_rule_parse("::ffff:192.0.2.1 ignore", &r, NULL) < 0)
                return;
        assert_int_equal(restrict_set_add(&s, &r), 0);
        assert_int_equal(match(&s, "::ffff:192.0.2.1"), RESTRICT_IGNORE);
        assert_int_equal(match(&s, "192.0.2.1"), RESTRICT_IGNORE);
}

static void test_set_ipv6_rules(void **state) {
        struct restrict_set s;
        restrict_set_init(&s);
        add(&s, "-6 default kod");
        add(&s, "2001:db8::/32 noquery");
        add(&s, "2001:db8:1::/48 ignore");
        add(&s, "2001:db8:1:2::5 nomodify");
        add(&s, "192.0.2.0/24 limited");
        assert_int_equal(match(&s, "2001:db8::1"), RESTRICT_NOQUERY);
        assert_int_equal(match(&s, "2001:db8:1::1"), RESTRICT_IGNORE);
        assert_int_equal(match(&s, "2001:db8:1:2::5"), RESTRICT_NOMODIFY);
        assert_int_equal(match(&s, "2001:db8:1:2::6"), RESTRICT_IGNORE);
        assert_int_equal(match(&s, "2001:db9::1"), RESTRICT_KOD);
        /* An IPv4 rule never matches an IPv6 address with the same leading bytes. */
        assert_int_equal(match(&s, "c000:200::1"), RESTRICT_KOD);
        assert_int_equal(match(&s, "192.0.2.1"), RESTRICT_LIMITED);
        assert_int_equal(match(&s, "192.0.3.1"), 0);
}

static void test_set_full(void **state) {
        struct restrict_set s;
        char text[64];
        restrict_set_init(&s);
        for (int i = 0; i < RESTRICT_MAX_RULES - 2; i++) {
                snprintf(text, sizeof(text), "10.%d.%d.0/24 kod", i / 256, i % 256);
                add(&s, text);
        }
        assert_int_equal(s.n, RESTRICT_MAX_RULES);

        struct restrict_rule r = parse_ok("192.0.2.1 ignore");
        assert_int_equal(restrict_set_add(&s, &r), -E2BIG);
        assert_int_equal(s.n, RESTRICT_MAX_RULES);
        assert_int_equal(match(&s, "192.0.2.1"), 0);

        /* Replacing and changing the defaults still work when full. */
        add(&s, "10.0.7.0/24 noquery");
        assert_int_equal(s.n, RESTRICT_MAX_RULES);
        assert_int_equal(match(&s, "10.0.7.1"), RESTRICT_NOQUERY);
        add(&s, "default limited");
        add(&s, "-6 default ignore");
        assert_int_equal(match(&s, "192.0.2.1"), RESTRICT_LIMITED);
        assert_int_equal(match(&s, "2001:db8::1"), RESTRICT_IGNORE);
        assert_int_equal(match(&s, "10.0.253.1"), RESTRICT_KOD);

        /* Removing the last rule makes room again. */
        assert_int_equal(restrict_set_remove(&s, "10.0.253.0/24"), 0);
        assert_int_equal(restrict_set_add(&s, &r), 0);
        assert_int_equal(match(&s, "192.0.2.1"), RESTRICT_IGNORE);
}

/* ---- lookup: port, ntpport, the specific flag, unknown families ---- */

static uint32_t lookup(const struct restrict_set *s, const char *address, uint16_t port, bool *ret_specific) {
        uint8_t a[16];
        int family = client_address(address, a);
        return restrict_set_lookup(s, family, a, port, ret_specific);
}

static void test_lookup_specific(void **state) {
        struct restrict_set s;
        bool specific = true;
        restrict_set_init(&s);
        /* Only the defaults: not specific, for either family. */
        assert_int_equal(lookup(&s, "192.0.2.1", 40000, &specific), 0);
        assert_false(specific);
        specific = true;
        assert_int_equal(lookup(&s, "2001:db8::1", 40000, &specific), 0);
        assert_false(specific);

        add(&s, "default noquery");
        add(&s, "192.0.2.0/24 nomodify");
        add(&s, "2001:db8::/32");
        specific = false;
        assert_int_equal(lookup(&s, "192.0.2.1", 40000, &specific), RESTRICT_NOMODIFY);
        assert_true(specific);
        /* A rule without flags is still a specific rule. */
        specific = false;
        assert_int_equal(lookup(&s, "2001:db8::1", 40000, &specific), 0);
        assert_true(specific);
        specific = true;
        assert_int_equal(lookup(&s, "198.51.100.1", 40000, &specific), RESTRICT_NOQUERY);
        assert_false(specific);
        /* An IPv4-mapped client matched by the IPv4 rule is specific too. */
        specific = false;
        assert_int_equal(lookup(&s, "::ffff:192.0.2.1", 40000, &specific), RESTRICT_NOMODIFY);
        assert_true(specific);
        specific = true;
        assert_int_equal(lookup(&s, "::ffff:198.51.100.1", 40000, &specific), RESTRICT_NOQUERY);
        assert_false(specific);
        /* A /0 that is not the default is specific. */
        add(&s, "0.0.0.0/0 kod");
        specific = false;
        assert_int_equal(lookup(&s, "198.51.100.1", 40000, &specific), RESTRICT_KOD);
        assert_true(specific);
        /* ret_specific may be NULL. */
        assert_int_equal(lookup(&s, "192.0.2.1", 40000, NULL), RESTRICT_NOMODIFY);
}

static void test_lookup_ntpport(void **state) {
        struct restrict_set s;
        bool specific;
        restrict_set_init(&s);
        add(&s, "default kod");
        add(&s, "192.0.2.0/24 ntpport noquery");
        add(&s, "192.0.2.7 ntpport ignore");
        add(&s, "2001:db8::/32 ntpport nomodify");

        /* From port 123: the ntpport rules apply, the most specific first. */
        assert_int_equal(lookup(&s, "192.0.2.1", 123, &specific), RESTRICT_NTPPORT | RESTRICT_NOQUERY);
        assert_true(specific);
        assert_int_equal(lookup(&s, "192.0.2.7", 123, &specific), RESTRICT_NTPPORT | RESTRICT_IGNORE);
        assert_true(specific);
        assert_int_equal(lookup(&s, "2001:db8::1", 123, &specific), RESTRICT_NTPPORT | RESTRICT_NOMODIFY);
        assert_true(specific);
        /* From any other port, as if they were not there. */
        static const uint16_t others[] = { 0, 122, 124, 1023, 40000, 65535 };
        for (size_t i = 0; i < ELEMENTSOF(others); i++) {
                specific = true;
                assert_int_equal(lookup(&s, "192.0.2.1", others[i], &specific), RESTRICT_KOD);
                assert_false(specific);
                assert_int_equal(lookup(&s, "192.0.2.7", others[i], NULL), RESTRICT_KOD);
                assert_int_equal(lookup(&s, "2001:db8::1", others[i], NULL), RESTRICT_KOD);
        }
        /* restrict_set_match() is a lookup from a port that does not matter: ntpport rules do not
         * match. */
        assert_int_equal(match(&s, "192.0.2.7"), RESTRICT_KOD);

        /* A less specific rule without ntpport still catches the other ports. */
        add(&s, "192.0.0.0/16 limited");
        assert_int_equal(lookup(&s, "192.0.2.7", 40000, &specific), RESTRICT_LIMITED);
        assert_true(specific);
        assert_int_equal(lookup(&s, "192.0.2.7", 123, &specific), RESTRICT_NTPPORT | RESTRICT_IGNORE);

        /* A default with ntpport: only port 123 gets it, the others get no flags at all. */
        restrict_set_init(&s);
        add(&s, "-4 default ntpport noserve");
        assert_int_equal(lookup(&s, "192.0.2.1", 123, &specific), RESTRICT_NTPPORT | RESTRICT_NOSERVE);
        assert_false(specific);
        assert_int_equal(lookup(&s, "192.0.2.1", 40000, &specific), 0);
        assert_false(specific);
}

static void test_lookup_unknown_family(void **state) {
        static const int families[] = { AF_UNSPEC, AF_UNIX, AF_PACKET, AF_NETLINK, -1, 1000 };
        struct restrict_set s;
        uint8_t a[16] = { 192, 0, 2, 1 };
        restrict_set_init(&s);
        add(&s, "192.0.2.0/24");
        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                bool specific = true;
                assert_int_equal(restrict_set_lookup(&s, families[i], a, 123, &specific), RESTRICT_IGNORE);
                assert_false(specific);
                assert_int_equal(restrict_set_match(&s, families[i], a), RESTRICT_IGNORE);
        }
        /* Even with every default allowing everything and nothing but defaults. */
        restrict_set_init(&s);
        assert_int_equal(restrict_set_match(&s, AF_UNSPEC, a), RESTRICT_IGNORE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_flag),
                cmocka_unit_test(test_unknown_flag),
                cmocka_unit_test(test_default),
                cmocka_unit_test(test_missing_or_empty),
                cmocka_unit_test(test_address_and_mask),
                cmocka_unit_test(test_cidr_prefixes),
                cmocka_unit_test(test_host_names_refused),
                cmocka_unit_test(test_family_option_must_match),
                cmocka_unit_test(test_too_long_or_too_many_words),
                cmocka_unit_test(test_words),
                cmocka_unit_test(test_format_round_trip),
                cmocka_unit_test(test_format_small_buffers),
                cmocka_unit_test(test_set_defaults),
                cmocka_unit_test(test_set_default_of_both_families),
                cmocka_unit_test(test_set_add_replaces_same_target),
                cmocka_unit_test(test_set_remove),
                cmocka_unit_test(test_set_most_specific_wins),
                cmocka_unit_test(test_set_ipv4_mapped_matched_as_ipv4),
                cmocka_unit_test(test_set_rule_written_as_ipv4_mapped),
                cmocka_unit_test(test_set_ipv6_rules),
                cmocka_unit_test(test_set_full),
                cmocka_unit_test(test_lookup_specific),
                cmocka_unit_test(test_lookup_ntpport),
                cmocka_unit_test(test_lookup_unknown_family),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
