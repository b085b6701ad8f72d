/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Access rules in ntpd's `restrict` syntax (without the keyword):
 *
 *     default kod limited nomodify notrap nopeer noquery
 *     -6 default noquery
 *     192.0.2.0 mask 255.255.255.0 nomodify
 *     2001:db8::/32 ignore
 *     127.0.0.1
 *
 * A rule set always holds a default for IPv4 and one for IPv6; they can be changed, not removed.
 * The most specific matching rule wins. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESTRICT_MAX_RULES 512
#define RESTRICT_TEXT_MAX 128

enum restrict_flag {
        RESTRICT_IGNORE = 1u << 0,
        RESTRICT_NOSERVE = 1u << 1,
        RESTRICT_NOQUERY = 1u << 2,
        RESTRICT_NOMODIFY = 1u << 3,
        RESTRICT_NOTRAP = 1u << 4,
        RESTRICT_NOPEER = 1u << 5,
        RESTRICT_KOD = 1u << 6,
        RESTRICT_LIMITED = 1u << 7,
        RESTRICT_LOWPRIOTRAP = 1u << 8,
        RESTRICT_VERSION = 1u << 9,
        RESTRICT_NTPPORT = 1u << 10,
        RESTRICT_NOEPEER = 1u << 11,
        RESTRICT_NOMRULIST = 1u << 12,
        RESTRICT_NOTRUST = 1u << 13,
};

struct restrict_rule {
        int family;                  /* AF_INET or AF_INET6; AF_UNSPEC for a default of both */
        uint8_t address[16];         /* network byte order, masked */
        unsigned prefix;             /* bits */
        bool is_default;
        uint32_t flags;
};

struct restrict_set {
        struct restrict_rule rules[RESTRICT_MAX_RULES]; /* [0] IPv4 default, [1] IPv6 default */
        size_t n;
};

/* What the parser has to say about a rule, naming the word concerned: "unknown restrict flag:
 * 'frobnicate'". Empty strings: nothing. */
struct restrict_messages {
        char error[256];
        char warning[256];           /* a flag accepted without effect */
};

/* Parses one rule. On error returns a negative errno and, when messages is given, says in it what
 * is wrong; it also gets a warning for a flag accepted without effect. */
int restrict_rule_parse(const char *text, struct restrict_rule *ret, struct restrict_messages *messages);

/* The same for a rule already split into words (conf-words.h), as a restrict line's after its keyword. */
int restrict_rule_parse_words(char *const *words, size_t n, struct restrict_rule *ret, struct restrict_messages *messages);

/* The canonical text of a rule: "default …", "-6 default …", "192.0.2.0/24 …". */
void restrict_rule_format(const struct restrict_rule *r, char *buf, size_t size);

/* Whether two rules are for the same addresses (a later one replaces the earlier). */
bool restrict_rule_same_target(const struct restrict_rule *a, const struct restrict_rule *b);

/* Two defaults that allow everything, as ntpd starts. */
void restrict_set_init(struct restrict_set *s);

/* Adds a rule, replacing one for the same address and prefix (a default replaces its default).
 * -E2BIG when full. */
int restrict_set_add(struct restrict_set *s, const struct restrict_rule *r);

/* Removes the rule for that address ("192.0.2.0/24", "192.0.2.0 mask 255.255.255.0", "::1").
 * A default cannot be removed: -EPERM. Unknown: -ENOENT. Unparsable: -EINVAL. */
int restrict_set_remove(struct restrict_set *s, const char *address);

/* Flags for a client address (family AF_INET with 4 bytes or AF_INET6 with 16; IPv4-mapped IPv6
 * addresses are matched as IPv4) and source port: a rule with `ntpport` matches only clients
 * sending from port 123. *ret_specific (may be NULL) tells whether a rule other than a default
 * matched. */
uint32_t restrict_set_lookup(const struct restrict_set *s, int family, const uint8_t *address, uint16_t port,
                             bool *ret_specific);

/* restrict_set_lookup() for a client whose port does not matter (`ntpport` rules do not match). */
uint32_t restrict_set_match(const struct restrict_set *s, int family, const uint8_t *address);
