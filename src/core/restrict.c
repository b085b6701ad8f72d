/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conf-words.h"
#include "printable.h"
#include "restrict.h"

struct flag_name {
        const char *name;
        uint32_t flag;
        bool has_effect;
};

static const struct flag_name flag_names[] = {
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

/* A rule given alone (a D-Bus argument) is a value: no quotes, no comment; a control character
 * stays in its word, for the address or flag check to refuse. */
static const struct conf_words_syntax rule_syntax = { .words_max = 32, .control_characters = true };

static size_t address_length(int family) {
        return family == AF_INET ? 4 : 16;
}

/* The mask of byte i of an address for a prefix of that many bits. */
static uint8_t prefix_mask(unsigned prefix, size_t i) {
        unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
        return bits >= 8 ? 0xff : (uint8_t) (0xff << (8 - bits));
}

static void apply_prefix(uint8_t *address, size_t len, unsigned prefix) {
        for (size_t i = 0; i < len; i++)
                address[i] &= prefix_mask(prefix, i);
}

/* A netmask must be contiguous ones: 255.255.255.0 is /24; 255.0.255.0 is refused. */
static int mask_to_prefix(const char *text, int family, unsigned *ret) {
        uint8_t m[16];
        size_t len = address_length(family);
        if (inet_pton(family, text, m) != 1)
                return -EINVAL;
        unsigned prefix = 0;
        bool zero_seen = false;
        for (size_t i = 0; i < len * 8; i++) {
                bool bit = m[i / 8] & (0x80 >> (i % 8));
                if (bit && zero_seen)
                        return -EINVAL;
                if (bit)
                        prefix++;
                else
                        zero_seen = true;
        }
        *ret = prefix;
        return 0;
}

static int parse_unsigned(const char *s, unsigned max, unsigned *ret) {
        unsigned v = 0;
        if (!*s || strlen(s) > 3)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (*s - '0');
        }
        if (v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Clients with IPv4-mapped IPv6 addresses are matched as IPv4, so a rule written that way is
 * stored as the IPv4 rule it means. */
static void unmap_ipv4(struct restrict_rule *r) {
        if (r->family != AF_INET6 || r->prefix < 96 || memcmp(r->address, v4_mapped_prefix, 12) != 0)
                return;
        memmove(r->address, r->address + 12, 4);
        memset(r->address + 4, 0, 12);
        r->family = AF_INET;
        r->prefix -= 96;
}

/* "ADDRESS", "ADDRESS/PREFIX"; the mask, if any, comes separately. */
static int parse_address(const char *word, struct restrict_rule *r, const char **ret_error) {
        char buf[INET6_ADDRSTRLEN + 8];
        if (strlen(word) >= sizeof(buf)) {
                *ret_error = "address too long";
                return -EINVAL;
        }
        strcpy(buf, word);

        char *slash = strchr(buf, '/');
        if (slash)
                *slash = '\0';
        if (inet_pton(AF_INET, buf, r->address) == 1)
                r->family = AF_INET;
        else if (inet_pton(AF_INET6, buf, r->address) == 1)
                r->family = AF_INET6;
        else {
                *ret_error = "not an IPv4 or IPv6 address (host names are not resolved in restrict rules)";
                return -EINVAL;
        }
        unsigned max = r->family == AF_INET ? 32 : 128;
        r->prefix = max;
        if (slash && parse_unsigned(slash + 1, max, &r->prefix) < 0) {
                *ret_error = "prefix length out of range";
                return -EINVAL;
        }
        return 0;
}

static const struct flag_name *find_flag(const char *word) {
        for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
                if (strcmp(word, flag_names[i].name) == 0)
                        return &flag_names[i];
        return NULL;
}

/* On error, *ret_error says what is wrong and *ret_word (if not NULL) with which word. */
static int parse_target(char *const *words, size_t n, size_t *i, struct restrict_rule *r, const char **ret_error,
                        const char **ret_word) {
        int forced_family = 0;

        if (*i < n && (strcmp(words[*i], "-4") == 0 || strcmp(words[*i], "-6") == 0)) {
                forced_family = words[*i][1] == '4' ? AF_INET : AF_INET6;
                (*i)++;
        }
        if (*i >= n) {
                *ret_error = "no address";
                return -EINVAL;
        }
        if (strcmp(words[*i], "default") == 0) {
                r->is_default = true;
                r->family = forced_family; /* AF_UNSPEC: both families, as ntpd does */
                r->prefix = 0;
                (*i)++;
                return 0;
        }
        *ret_word = words[*i];
        int k = parse_address(words[(*i)++], r, ret_error);
        if (k < 0)
                return k;
        if (forced_family && forced_family != r->family) {
                *ret_error = "-4/-6 does not match the address";
                return -EINVAL;
        }
        if (*i < n && strcmp(words[*i], "mask") == 0) {
                *ret_word = *i + 1 < n ? words[*i + 1] : NULL;
                if (*i + 1 >= n || mask_to_prefix(words[*i + 1], r->family, &r->prefix) < 0) {
                        *ret_error = "mask is not a contiguous netmask of the address's family";
                        return -EINVAL;
                }
                *i += 2;
        }
        unmap_ipv4(r);
        apply_prefix(r->address, address_length(r->family), r->prefix);
        return 0;
}

/* "what: 'word'" (the word made printable, cut at 40 characters), or what alone. */
static void say(char *buf, size_t size, const char *what, const char *word) {
        char shown[40 * 4 + 4];
        if (word)
                snprintf(buf, size, "%s: '%s'", what, printable(word, 40, 0, shown, sizeof(shown)));
        else
                snprintf(buf, size, "%s", what);
}

int restrict_rule_parse_words(char *const *words, size_t n, struct restrict_rule *ret, struct restrict_messages *messages) {
        struct restrict_messages dummy;
        struct restrict_rule r = { 0 };
        const char *error = NULL, *word = NULL;
        size_t i = 0;

        messages = messages ? messages : &dummy;
        *messages = (struct restrict_messages) {};
        int k = parse_target(words, n, &i, &r, &error, &word);
        if (k < 0) {
                say(messages->error, sizeof(messages->error), error, word);
                return k;
        }
        for (; i < n; i++) {
                const struct flag_name *f = find_flag(words[i]);
                if (!f) {
                        say(messages->error, sizeof(messages->error), "unknown restrict flag", words[i]);
                        return -EINVAL;
                }
                if (!f->has_effect)
                        say(messages->warning, sizeof(messages->warning), "flag accepted but has no effect", words[i]);
                r.flags |= f->flag;
        }
        *ret = r;
        return 0;
}

int restrict_rule_parse(const char *text, struct restrict_rule *ret, struct restrict_messages *messages) {
        struct conf_words words;
        struct conf_words_error error;

        if (messages)
                *messages = (struct restrict_messages) {};
        if (!text || strnlen(text, RESTRICT_TEXT_MAX * 4) >= RESTRICT_TEXT_MAX * 4) {
                if (messages)
                        say(messages->error, sizeof(messages->error), "rule missing or too long", NULL);
                return -EINVAL;
        }
        if (conf_words_split(text, &rule_syntax, &words, &error) < 0) {
                if (messages)
                        say(messages->error, sizeof(messages->error), conf_words_problem_to_string(error.problem), NULL);
                return -EINVAL;
        }
        return restrict_rule_parse_words(words.word, words.n, ret, messages);
}

static void format_flags(uint32_t flags, char *buf, size_t size) {
        size_t used = strlen(buf);
        for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
                if (!(flags & flag_names[i].flag))
                        continue;
                int k = snprintf(buf + used, size - used, " %s", flag_names[i].name);
                if (k < 0 || (size_t) k >= size - used)
                        return;
                used += (size_t) k;
        }
}

void restrict_rule_format(const struct restrict_rule *r, char *buf, size_t size) {
        if (size == 0)
                return;
        if (r->is_default)
                snprintf(buf, size, "%sdefault",
                         r->family == AF_INET6 ? "-6 " : r->family == AF_INET ? "-4 " : "");
        else {
                char a[INET6_ADDRSTRLEN];
                inet_ntop(r->family, r->address, a, sizeof(a));
                snprintf(buf, size, "%s/%u", a, r->prefix);
        }
        format_flags(r->flags, buf, size);
}

void restrict_set_init(struct restrict_set *s) {
        *s = (struct restrict_set) {
                .rules = {
                        { .family = AF_INET, .is_default = true },
                        { .family = AF_INET6, .is_default = true },
                },
                .n = 2,
        };
}

bool restrict_rule_same_target(const struct restrict_rule *a, const struct restrict_rule *b) {
        if (a->family != b->family || a->is_default != b->is_default)
                return false;
        return a->is_default || (a->prefix == b->prefix && memcmp(a->address, b->address, 16) == 0);
}

int restrict_set_add(struct restrict_set *s, const struct restrict_rule *r) {
        if (r->is_default && r->family == AF_UNSPEC) {
                s->rules[0].flags = r->flags;
                s->rules[1].flags = r->flags;
                return 0;
        }
        for (size_t i = 0; i < s->n; i++)
                if (restrict_rule_same_target(&s->rules[i], r)) {
                        s->rules[i] = *r;
                        return 0;
                }
        if (s->n >= RESTRICT_MAX_RULES)
                return -E2BIG;
        s->rules[s->n++] = *r;
        return 0;
}

int restrict_set_remove(struct restrict_set *s, const char *address) {
        struct restrict_rule r;
        if (restrict_rule_parse(address, &r, NULL) < 0 || r.flags != 0)
                return -EINVAL;
        if (r.is_default)
                return -EPERM;
        for (size_t i = 2; i < s->n; i++)
                if (restrict_rule_same_target(&s->rules[i], &r)) {
                        memmove(&s->rules[i], &s->rules[i + 1], (s->n - i - 1) * sizeof(s->rules[0]));
                        s->n--;
                        return 0;
                }
        return -ENOENT;
}

/* The rule's address is stored masked: the client's, masked byte by byte, must equal it. */
static bool rule_matches(const struct restrict_rule *r, int family, const uint8_t *address) {
        if (r->family != family)
                return false;
        if (r->is_default)
                return true;
        for (size_t i = 0; i < address_length(family); i++)
                if ((address[i] & prefix_mask(r->prefix, i)) != r->address[i])
                        return false;
        return true;
}

uint32_t restrict_set_lookup(const struct restrict_set *s, int family, const uint8_t *address, uint16_t port,
                             bool *ret_specific) {
        if (ret_specific)
                *ret_specific = false;
        if (family != AF_INET && family != AF_INET6)
                return RESTRICT_IGNORE; /* nothing we know how to answer */
        if (family == AF_INET6 && memcmp(address, v4_mapped_prefix, 12) == 0) {
                family = AF_INET;
                address += 12;
        }
        const struct restrict_rule *best = NULL;
        for (size_t i = 0; i < s->n; i++) {
                const struct restrict_rule *r = &s->rules[i];
                if (!rule_matches(r, family, address) || ((r->flags & RESTRICT_NTPPORT) && port != 123))
                        continue;
                if (!best || (!r->is_default && (best->is_default || r->prefix > best->prefix)))
                        best = r;
        }
        if (ret_specific)
                *ret_specific = best && !best->is_default;
        return best ? best->flags : 0;
}

uint32_t restrict_set_match(const struct restrict_set *s, int family, const uint8_t *address) {
        return restrict_set_lookup(s, family, address, 0, NULL);
}
