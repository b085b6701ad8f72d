/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The import's restrict lines: ntpd's rules as written, less what ntpsyncd does not have, each
 * checked with ntpsyncd's own rule parser. See ctl-import-internal.h. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/config.h"
#include "ctl-import-internal.h"
#include "ctl-util.h"
#include "core/restrict.h"

static bool is_address(const char *w) {
        char buf[INET6_ADDRSTRLEN + 8];
        uint8_t a[16];
        if (strlen(w) >= sizeof(buf))
                return false;
        strcpy(buf, w);
        char *slash = strchr(buf, '/');
        if (slash)
                *slash = '\0';
        return inet_pton(AF_INET, buf, a) == 1 || inet_pton(AF_INET6, buf, a) == 1;
}

enum flag_kind {
        FLAG_CARRIED,
        FLAG_WITHOUT_EFFECT,
        FLAG_UNKNOWN,
};

/* What ntpsyncd's restrict parser makes of one flag: its bit, and whether it has an effect. */
static enum flag_kind classify_restrict_flag(const char *flag, uint32_t *ret_bit) {
        char text[64];
        struct restrict_rule rule;
        struct restrict_messages messages;

        if (!import_is_plain_word(flag) || strlen(flag) > 32)
                return FLAG_UNKNOWN;
        snprintf(text, sizeof(text), "default %s", flag);
        if (restrict_rule_parse(text, &rule, &messages) < 0 || rule.flags == 0 ||
            (rule.flags & (rule.flags - 1)) != 0)
                return FLAG_UNKNOWN;
        *ret_bit = rule.flags;
        return messages.warning[0] ? FLAG_WITHOUT_EFFECT : FLAG_CARRIED;
}

static const char *restrict_flag_reason(const char *flag, enum flag_kind kind) {
        if (streq(flag, "notrust"))
                return "ntpd then served only authenticated clients; ntpsyncd has no authentication, "
                       "add noserve to keep them out";
        if (streq(flag, "mssntp"))
                return "ntpsyncd has no MS-SNTP signing";
        return kind == FLAG_WITHOUT_EFFECT ? "it has no effect in ntpsyncd" : "ntpsyncd does not know this flag";
}

struct text_buffer {
        char *buf;
        size_t size, used;
};

__attribute__((format(printf, 2, 3)))
static int buffer_append(struct text_buffer *t, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->used, t->size - t->used, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= t->size - t->used)
                return -ENOBUFS;
        t->used += (size_t) n;
        return 0;
}

/* One flag at words[*i]: carried into rule once, or left out with a warning. ntpd's flags with a
 * value (ippeerlimit N, serverresponse fuzz) take it along. */
static int read_restrict_flag(struct importer *imp, char **words, size_t n, size_t *i, uint32_t *flags,
                              struct text_buffer *rule) {
        char name[DISPLAY_SIZE];
        const char *w = words[*i];
        uint32_t bit = 0;
        enum flag_kind kind = classify_restrict_flag(w, &bit);

        if (kind == FLAG_CARRIED) {
                if (*flags & bit)
                        return 0;
                *flags |= bit;
                return buffer_append(rule, " %s", w) < 0 ? importer_fail(imp, "restrict rule too long") : 0;
        }
        if ((streq(w, "ippeerlimit") || streq(w, "serverresponse")) && *i + 1 < n)
                (*i)++;
        import_display(w, name, sizeof(name));
        return importer_warn(imp, WARN_PART_DROPPED, restrict_flag_reason(w, kind), "restrict flag '%s'", name);
}

/* [-4|-6] default|ADDRESS[/PREFIX] [mask MASK], copied into rule as written. Returns 1 when the
 * line is left out with a warning. */
static int read_restrict_target(struct importer *imp, char **words, size_t n, size_t *i, struct text_buffer *rule) {
        if (*i < n && (streq(words[*i], "-4") || streq(words[*i], "-6")))
                (void) buffer_append(rule, " %s", words[(*i)++]);
        if (*i >= n)
                return importer_fail(imp, "restrict needs an address or default");
        const char *target = words[(*i)++];
        if (streq(target, "source")) {
                int r = importer_warn(imp, WARN_LINES_IGNORED,
                                      "ntpsyncd makes no rules for the servers it uses itself", "'restrict source'");
                return r < 0 ? r : 1;
        }
        if (!streq(target, "default") && !is_address(target)) {
                char shown[DISPLAY_SIZE];
                if (config_host_is_valid(target)) {
                        int r = importer_warn(imp, WARN_LINES_IGNORED,
                                              "ntpsyncd takes addresses only; write the address",
                                              "'restrict' with a host name");
                        return r < 0 ? r : 1;
                }
                import_display(target, shown, sizeof(shown));
                return importer_fail(imp, "restrict: '%s' is not an address", shown);
        }
        if (buffer_append(rule, " %s", target) < 0)
                return importer_fail(imp, "restrict rule too long");
        if (*i < n && streq(words[*i], "mask")) {
                if (*i + 1 >= n || !import_is_plain_word(words[*i + 1]) ||
                    buffer_append(rule, " mask %s", words[*i + 1]) < 0)
                        return importer_fail(imp, "restrict: mask needs a netmask");
                *i += 2;
        }
        return 0;
}

static void note_default_rule(struct importer *imp, const struct restrict_rule *r) {
        bool denies = (r->flags & (RESTRICT_IGNORE | RESTRICT_NOSERVE)) != 0;
        if (r->family != AF_INET6)
                imp->default_denies[0] = denies;
        if (r->family != AF_INET)
                imp->default_denies[1] = denies;
}

bool importer_ntpd_served(const struct importer *imp) {
        return !imp->default_denies[0] || !imp->default_denies[1];
}

static int add_restrict(struct importer *imp, const char *rule) {
        if (imp->n_restricts >= CONFIG_MAX_RESTRICTS)
                return importer_warn(imp, WARN_LINES_IGNORED, "ntpsyncd takes no more",
                                     "restrict rules beyond the %dth", CONFIG_MAX_RESTRICTS);
        char *text = strdup(rule);
        if (!text)
                return importer_out_of_memory(imp);
        imp->restricts[imp->n_restricts++] = (struct text_item) { .text = text, .origin = imp->at };
        return 0;
}

int importer_handle_restrict(struct importer *imp, char **words, size_t n) {
        char buf[RESTRICT_TEXT_MAX * 4] = "";
        struct text_buffer rule = { .buf = buf, .size = sizeof(buf) };
        struct restrict_rule parsed;
        struct restrict_messages messages;
        uint32_t flags = 0;
        size_t i = 1;

        int r = read_restrict_target(imp, words, n, &i, &rule);
        if (r != 0)
                return r < 0 ? r : 0;
        for (; i < n; i++)
                if ((r = read_restrict_flag(imp, words, n, &i, &flags, &rule)) < 0)
                        return r;
        /* The text starts with a space; ntpsyncd's parser says whether the address and mask hold. */
        if (restrict_rule_parse(buf + 1, &parsed, &messages) < 0)
                return importer_fail(imp, "restrict: %s", messages.error);
        if (parsed.is_default)
                note_default_rule(imp, &parsed);
        return add_restrict(imp, buf + 1);
}

