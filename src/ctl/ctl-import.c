/* ntp.conf and step-tickers → ntpsyncd configuration. See ctl-import.h. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config.h"
#include "ctl-import.h"
#include "ctl-util.h"
#include "poll.h"
#include "restrict.h"

#define DISPLAY_MAX 200               /* a path or word shown in a message or comment, escaped */
#define DISPLAY_SIZE (DISPLAY_MAX + 16) /* a buffer that holds all display() writes */
#define DIRECTIVE_WIDTH 47            /* where the origin comment starts */
#define REFCLOCK_LOCAL_DRIVER 1       /* 127.127.1.u: ntpd's undisciplined local clock */
#define VALIDATE_NAME "(import)"
#define LOCAL_CLOCK "ntpd's local clock (server 127.127.1.0, fudge)"

/* ---- the model of what will be written ---- */

struct origin {
        const char *file;             /* one of importer.files */
        unsigned line;
};

struct server_item {
        struct config_server server;
        struct origin origin;
        const char *note;             /* how it changed on the way, for the comment */
};

struct text_item {
        char *text;
        struct origin origin;
};

enum warning_kind {
        WARN_LINES_IGNORED,           /* "X is not carried over (why); N lines ignored" */
        WARN_PART_DROPPED,            /* an option, flag or variable: "...; N lines affected" */
        WARN_CHANGED,                 /* carried over differently: "X (why); N lines affected" */
};

struct warning {
        enum warning_kind kind;
        char *subject;                /* "'keys'", "server option 'burst'"; also the key */
        char *reason;
        bool local_clock;             /* the reason names the local clock's fudge stratum */
        struct origin first, last;    /* last: to count each line once */
        unsigned n_lines;
};

struct importer {
        const struct import_input *in;
        struct import_error *error;
        struct origin at;             /* the line being read */
        unsigned depth, n_includes;
        char **files;                 /* every file read, once, in order */
        size_t n_files;
        struct server_item servers[CONFIG_MAX_SERVERS];
        size_t n_servers, n_step_tickers_servers;
        struct text_item restricts[CONFIG_MAX_RESTRICTS];
        size_t n_restricts;
        struct text_item *settings;   /* tinker and tos, one variable a line */
        size_t n_settings;
        struct warning *warnings;
        size_t n_warnings;
        char *driftfile;
        struct origin driftfile_origin;
        bool step_tickers_read;
        unsigned local_clock_stratum; /* from fudge 127.127.1.u stratum N; 0: none */
        bool default_denies[2];       /* IPv4, IPv6: ntpd's default restrict rule denies time service */
        struct config *scratch;       /* for asking ntpsyncd's parser about one line */
};

typedef int (*line_handler)(struct importer *imp, char **words, size_t n);

/* ---- text for people ---- */

/* s with control characters and non-ASCII bytes as \xNN, shortened to about DISPLAY_MAX
 * characters: file names and words from the input go into messages and comments this way, so
 * that they cannot break a line or a terminal. */
static void display(const char *s, char *buf, size_t size) {
        size_t used = 0;
        for (; *s && used + 8 < size && used < DISPLAY_MAX; s++) {
                unsigned char ch = (unsigned char) *s;
                if (ch < 0x20 || ch >= 0x7f)
                        used += (size_t) snprintf(buf + used, size - used, "\\x%02x", ch);
                else
                        buf[used++] = (char) ch;
        }
        if (*s && used + 4 < size)
                used += (size_t) snprintf(buf + used, size - used, "...");
        buf[used] = '\0';
}

__attribute__((format(printf, 3, 4)))
static int fail_with(struct importer *imp, bool with_line, const char *fmt, ...) {
        char what[IMPORT_MESSAGE_MAX / 2], file[DISPLAY_SIZE];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        display(imp->at.file, file, sizeof(file));
        if (with_line)
                snprintf(imp->error->message, sizeof(imp->error->message), "%s:%u: %s", file, imp->at.line, what);
        else
                snprintf(imp->error->message, sizeof(imp->error->message), "%s: %s", file, what);
        return -EINVAL;
}

#define fail(imp, ...) fail_with((imp), true, __VA_ARGS__)

static int out_of_memory(struct importer *imp) {
        snprintf(imp->error->message, sizeof(imp->error->message), "out of memory");
        return -ENOMEM;
}

static struct warning *find_warning(struct importer *imp, const char *subject) {
        for (size_t i = 0; i < imp->n_warnings; i++)
                if (streq(imp->warnings[i].subject, subject))
                        return &imp->warnings[i];
        return NULL;
}

static int add_warning(struct importer *imp, enum warning_kind kind, const char *subject, const char *reason) {
        struct warning *more = realloc(imp->warnings, (imp->n_warnings + 1) * sizeof(*more));
        if (!more)
                return out_of_memory(imp);
        imp->warnings = more;
        struct warning *w = &more[imp->n_warnings];
        *w = (struct warning) { .kind = kind, .first = imp->at, .last = imp->at, .n_lines = 1 };
        w->subject = strdup(subject);
        w->reason = strdup(reason);
        if (!w->subject || !w->reason) {
                free(w->subject);
                free(w->reason);
                return out_of_memory(imp);
        }
        imp->n_warnings++;
        return 0;
}

/* One warning per subject: the first line that used it, and how many lines did. */
__attribute__((format(printf, 4, 5)))
static int warn(struct importer *imp, enum warning_kind kind, const char *reason, const char *subject_fmt, ...) {
        char subject[DISPLAY_MAX * 3];
        va_list ap;

        va_start(ap, subject_fmt);
        vsnprintf(subject, sizeof(subject), subject_fmt, ap);
        va_end(ap);
        struct warning *w = find_warning(imp, subject);
        if (!w)
                return add_warning(imp, kind, subject, reason);
        if (w->last.file != imp->at.file || w->last.line != imp->at.line) {
                w->n_lines++;
                w->last = imp->at;
        }
        return 0;
}

/* ---- words ---- */

static bool is_blank(char ch) {
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* A word that reads back as itself in ntpsyncd's dialect: no blanks (from quotes), no comment. */
static bool is_plain_word(const char *w) {
        return w[0] != '\0' && !strpbrk(w, " \t\r\v\f#\"");
}

/* Splits line in place: blanks separate words, '#' starts a comment, "..." quotes a word that
 * may hold blanks or '#'. Returns the number of words, or -EINVAL and a static text. */
static int split_words(char *line, char **words, size_t max, const char **ret_error) {
        size_t n = 0;
        bool last_quoted = false;
        char *p = line;

        for (;;) {
                while (is_blank(*p))
                        p++;
                if (*p == '\0' || *p == '#')
                        break;
                if (n == max) {
                        *ret_error = "too many words";
                        return -EINVAL;
                }
                last_quoted = *p == '"';
                if (last_quoted) {
                        char *end = strchr(p + 1, '"');
                        if (!end) {
                                *ret_error = "unterminated quoted string";
                                return -EINVAL;
                        }
                        *end = '\0';
                        words[n++] = p + 1;
                        p = end + 1;
                        continue;
                }
                words[n++] = p;
                while (*p && !is_blank(*p) && *p != '#')
                        p++;
                char ended_by = *p;
                *p = '\0';
                if (ended_by == '#' || ended_by == '\0')
                        break;
                p++;
        }
        /* ntp.conf has no continuation lines: say so rather than import half a directive. */
        if (n > 0 && !last_quoted && words[n - 1][strlen(words[n - 1]) - 1] == '\\') {
                *ret_error = "line ends in a backslash (ntp.conf has no continuation lines)";
                return -EINVAL;
        }
        return (int) n;
}

/* ---- files and lines ---- */

/* The file's path as kept for origins: each file once. NULL when out of memory. */
static const char *remember_file(struct importer *imp, const char *path) {
        for (size_t i = 0; i < imp->n_files; i++)
                if (streq(imp->files[i], path))
                        return imp->files[i];
        char **more = realloc(imp->files, (imp->n_files + 1) * sizeof(*more));
        if (!more)
                return NULL;
        imp->files = more;
        more[imp->n_files] = strdup(path);
        return more[imp->n_files] ? more[imp->n_files++] : NULL;
}

static int read_line(struct importer *imp, const char *start, size_t len, line_handler handle) {
        char line[IMPORT_LINE_MAX + 1];
        char *words[IMPORT_WORDS_MAX];
        const char *error = NULL;

        if (imp->at.line > IMPORT_LINES_MAX)
                return fail(imp, "more than %d lines", IMPORT_LINES_MAX);
        if (memchr(start, '\0', len))
                return fail(imp, "NUL byte in line");
        if (len > 0 && start[len - 1] == '\r') /* CRLF */
                len--;
        if (len > IMPORT_LINE_MAX)
                return fail(imp, "line longer than %d characters", IMPORT_LINE_MAX);
        memcpy(line, start, len);
        line[len] = '\0';
        int n = split_words(line, words, IMPORT_WORDS_MAX, &error);
        if (n < 0)
                return fail(imp, "%s", error);
        return n == 0 ? 0 : handle(imp, words, (size_t) n);
}

/* Hands each line of a file's text, split into words, to handle. */
static int read_lines(struct importer *imp, const char *path, const char *text, size_t len, line_handler handle) {
        struct origin outer = imp->at;
        int r = 0;

        imp->at = (struct origin) { .file = remember_file(imp, path) };
        if (!imp->at.file)
                r = out_of_memory(imp);
        else if (len > IMPORT_FILE_MAX)
                r = fail_with(imp, false, "larger than %d bytes", IMPORT_FILE_MAX);
        for (size_t pos = 0; r == 0 && pos < len;) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t line_len = (nl ? (size_t) (nl - text) : len) - pos;
                imp->at.line++;
                r = read_line(imp, text + pos, line_len, handle);
                pos += line_len + (nl ? 1 : 0);
        }
        imp->at = outer;
        return r;
}

/* ---- servers ---- */

/* 127.127.T.U names ntpd's reference clock driver T, unit U: *ret_driver is T. */
static bool is_refclock_address(const char *host, unsigned *ret_driver) {
        uint8_t a[4];
        if (inet_pton(AF_INET, host, a) != 1 || a[0] != 127 || a[1] != 127)
                return false;
        *ret_driver = a[2];
        return true;
}

static int warn_refclock(struct importer *imp, unsigned driver) {
        if (driver != REFCLOCK_LOCAL_DRIVER)
                return warn(imp, WARN_LINES_IGNORED, "ntpsyncd has no reference clock drivers",
                            "a reference clock (server 127.127.T.U, fudge, refclock)");
        int r = warn(imp, WARN_LINES_IGNORED, "ntpsyncd has no local-clock driver", LOCAL_CLOCK);
        if (r == 0)
                find_warning(imp, LOCAL_CLOCK)->local_clock = true;
        return r;
}

static const char *const server_option_reasons[][3] = {
        /* name, "value" if it takes one, why ntpsyncd does without */
        { "burst", NULL, "ntpsyncd sends bursts only at start and on recovery, with iburst" },
        { "true", NULL, "ntpsyncd never exempts a source from selection" },
        { "preempt", NULL, "ntpsyncd keeps every configured source" },
        { "key", "value", "ntpsyncd has no symmetric-key authentication" },
        { "autokey", NULL, "ntpsyncd has no Autokey" },
        { "nts", NULL, "ntpsyncd has no NTS" },
        { "version", "value", "ntpsyncd speaks NTPv4" },
        { "xleave", NULL, "ntpsyncd has no interleaved mode" },
        { "mode", "value", "ntpsyncd has no reference clock drivers" },
        { "ttl", "value", "ntpsyncd has no manycast or broadcast" },
        { "bias", "value", "ntpsyncd has no per-source offset correction" },
        { "-4", NULL, "ntpsyncd uses the addresses of either family that the name has" },
        { "-6", NULL, "ntpsyncd uses the addresses of either family that the name has" },
};

static const char *const *find_server_option(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(server_option_reasons); i++)
                if (streq(server_option_reasons[i][0], name))
                        return server_option_reasons[i];
        return NULL;
}

/* ntpd clamps minpoll and maxpoll into 3..17 as ntpsyncd's parser wants them; so do we. */
static int read_poll_option(struct importer *imp, const char *name, const char *value, int8_t *ret) {
        char *end = NULL;
        errno = 0;
        long v = value ? strtol(value, &end, 10) : 0;
        if (!value || errno != 0 || end == value || *end != '\0')
                return fail(imp, "%s takes a number", name);
        if (v < POLL_LIMIT_MIN || v > POLL_LIMIT_MAX) {
                v = v < POLL_LIMIT_MIN ? POLL_LIMIT_MIN : POLL_LIMIT_MAX;
                int r = warn(imp, WARN_CHANGED, "as ntpd does", "server option '%s' is clamped into 3..17", name);
                if (r < 0)
                        return r;
        }
        *ret = (int8_t) v;
        return 0;
}

static int read_dropped_server_option(struct importer *imp, char **words, size_t n, size_t *i) {
        char name[DISPLAY_SIZE];
        const char *const *known = find_server_option(words[*i]);

        display(words[*i], name, sizeof(name));
        if (known && known[1]) {
                if (*i + 1 >= n)
                        return fail(imp, "server option %s takes a value", name);
                (*i)++;
        }
        return warn(imp, WARN_PART_DROPPED, known ? known[2] : "ntpd has no such server option",
                    "server option '%s'", name);
}

static int read_server_options(struct importer *imp, char **words, size_t n, struct config_server *s) {
        for (size_t i = 0; i < n; i++) {
                const char *w = words[i];
                int r = 0;

                if (streq(w, "iburst"))
                        s->iburst = true;
                else if (streq(w, "prefer"))
                        s->prefer = true;
                else if (streq(w, "noselect"))
                        s->noselect = true;
                else if (streq(w, "minpoll") || streq(w, "maxpoll")) {
                        r = read_poll_option(imp, w, i + 1 < n ? words[i + 1] : NULL,
                                             streq(w, "minpoll") ? &s->minpoll : &s->maxpoll);
                        i++;
                } else
                        r = read_dropped_server_option(imp, words, n, &i);
                if (r < 0)
                        return r;
        }
        if (s->minpoll && s->maxpoll && s->minpoll > s->maxpoll) {
                s->minpoll = s->maxpoll = 0;
                return warn(imp, WARN_CHANGED, "minpoll was above maxpoll; ntpsyncd's defaults apply",
                            "server options 'minpoll' and 'maxpoll'");
        }
        return 0;
}

static struct server_item *find_server(struct importer *imp, const char *host, bool any_kind, bool pool) {
        for (size_t i = 0; i < imp->n_servers; i++) {
                struct config_server *s = &imp->servers[i].server;
                if ((any_kind || s->pool == pool) && strcasecmp(s->host, host) == 0)
                        return &imp->servers[i];
        }
        return NULL;
}

/* ntpsyncd's parser refuses a host named twice, and takes at most CONFIG_MAX_SERVERS. */
static int add_server(struct importer *imp, const struct config_server *s, const char *note) {
        if (find_server(imp, s->host, false, s->pool))
                return warn(imp, WARN_LINES_IGNORED, "ntpsyncd takes each once; the first is kept",
                            "a server or pool named again");
        if (imp->n_servers >= CONFIG_MAX_SERVERS)
                return warn(imp, WARN_LINES_IGNORED, "ntpsyncd takes no more",
                            "servers and pools beyond the %dth", CONFIG_MAX_SERVERS);
        imp->servers[imp->n_servers++] = (struct server_item) { .server = *s, .origin = imp->at, .note = note };
        return 0;
}

/* server|pool|peer [-4|-6] HOST [options] */
static int handle_server(struct importer *imp, char **words, size_t n) {
        struct config_server s = { .pool = streq(words[0], "pool") };
        bool peer = streq(words[0], "peer");
        size_t i = 1;
        unsigned driver;
        int r;

        for (; i < n && (streq(words[i], "-4") || streq(words[i], "-6")); i++)
                if ((r = read_dropped_server_option(imp, words, n, &i)) < 0)
                        return r;
        if (i >= n)
                return fail(imp, "%s needs a host name or address", words[0]);
        if (is_refclock_address(words[i], &driver))
                return warn_refclock(imp, driver);
        if (!config_host_is_valid(words[i])) {
                char host[DISPLAY_SIZE];
                display(words[i], host, sizeof(host));
                return fail(imp, "%s: '%s' is not a valid host name or address", words[0], host);
        }
        snprintf(s.host, sizeof(s.host), "%s", words[i]);
        if (s.pool)
                s.maxsources = CONFIG_POOL_DEFAULT_SOURCES;
        if ((r = read_server_options(imp, words + i + 1, n - i - 1, &s)) < 0)
                return r;
        if (peer && (r = warn(imp, WARN_CHANGED, "ntpsyncd has no symmetric mode; it polls the peer as a server",
                              "'peer' is carried over as 'server'")) < 0)
                return r;
        return add_server(imp, &s, peer ? "was: peer" : NULL);
}

/* ---- restrict ---- */

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
        const char *error, *warning;

        if (!is_plain_word(flag) || strlen(flag) > 32)
                return FLAG_UNKNOWN;
        snprintf(text, sizeof(text), "default %s", flag);
        if (restrict_rule_parse(text, &rule, &error, &warning) < 0 || rule.flags == 0 ||
            (rule.flags & (rule.flags - 1)) != 0)
                return FLAG_UNKNOWN;
        *ret_bit = rule.flags;
        return warning ? FLAG_WITHOUT_EFFECT : FLAG_CARRIED;
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
                return buffer_append(rule, " %s", w) < 0 ? fail(imp, "restrict rule too long") : 0;
        }
        if ((streq(w, "ippeerlimit") || streq(w, "serverresponse")) && *i + 1 < n)
                (*i)++;
        display(w, name, sizeof(name));
        return warn(imp, WARN_PART_DROPPED, restrict_flag_reason(w, kind), "restrict flag '%s'", name);
}

/* [-4|-6] default|ADDRESS[/PREFIX] [mask MASK], copied into rule as written. Returns 1 when the
 * line is left out with a warning. */
static int read_restrict_target(struct importer *imp, char **words, size_t n, size_t *i, struct text_buffer *rule) {
        if (*i < n && (streq(words[*i], "-4") || streq(words[*i], "-6")))
                (void) buffer_append(rule, " %s", words[(*i)++]);
        if (*i >= n)
                return fail(imp, "restrict needs an address or default");
        const char *target = words[(*i)++];
        if (streq(target, "source")) {
                int r = warn(imp, WARN_LINES_IGNORED, "ntpsyncd makes no rules for the servers it uses itself",
                             "'restrict source'");
                return r < 0 ? r : 1;
        }
        if (!streq(target, "default") && !is_address(target)) {
                char shown[DISPLAY_SIZE];
                if (config_host_is_valid(target)) {
                        int r = warn(imp, WARN_LINES_IGNORED, "ntpsyncd takes addresses only; write the address",
                                     "'restrict' with a host name");
                        return r < 0 ? r : 1;
                }
                display(target, shown, sizeof(shown));
                return fail(imp, "restrict: '%s' is not an address", shown);
        }
        if (buffer_append(rule, " %s", target) < 0)
                return fail(imp, "restrict rule too long");
        if (*i < n && streq(words[*i], "mask")) {
                if (*i + 1 >= n || !is_plain_word(words[*i + 1]) ||
                    buffer_append(rule, " mask %s", words[*i + 1]) < 0)
                        return fail(imp, "restrict: mask needs a netmask");
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

/* Whether ntpd's default rules let clients of either family get time from it. */
static bool ntpd_served(const struct importer *imp) {
        return !imp->default_denies[0] || !imp->default_denies[1];
}

static int add_restrict(struct importer *imp, const char *rule) {
        if (imp->n_restricts >= CONFIG_MAX_RESTRICTS)
                return warn(imp, WARN_LINES_IGNORED, "ntpsyncd takes no more", "restrict rules beyond the %dth",
                            CONFIG_MAX_RESTRICTS);
        char *text = strdup(rule);
        if (!text)
                return out_of_memory(imp);
        imp->restricts[imp->n_restricts++] = (struct text_item) { .text = text, .origin = imp->at };
        return 0;
}

static int handle_restrict(struct importer *imp, char **words, size_t n) {
        char buf[RESTRICT_TEXT_MAX * 4] = "";
        struct text_buffer rule = { .buf = buf, .size = sizeof(buf) };
        struct restrict_rule parsed;
        const char *error, *warning;
        uint32_t flags = 0;
        size_t i = 1;

        int r = read_restrict_target(imp, words, n, &i, &rule);
        if (r != 0)
                return r < 0 ? r : 0;
        for (; i < n; i++)
                if ((r = read_restrict_flag(imp, words, n, &i, &flags, &rule)) < 0)
                        return r;
        /* The text starts with a space; ntpsyncd's parser says whether the address and mask hold. */
        if (restrict_rule_parse(buf + 1, &parsed, &error, &warning) < 0)
                return fail(imp, "restrict: %s", error);
        if (parsed.is_default)
                note_default_rule(imp, &parsed);
        return add_restrict(imp, buf + 1);
}

/* ---- tinker and tos ---- */

/* Whether ntpsyncd's parser takes "KEYWORD VARIABLE VALUE" without a warning; if not, why. */
static bool ntpsyncd_takes(struct importer *imp, const char *keyword, const char *variable, const char *value,
                           char *why, size_t size) {
        char line[IMPORT_LINE_MAX + 1];
        struct config_error error;

        if (!is_plain_word(value)) {
                snprintf(why, size, "the value is not a plain number");
                return false;
        }
        int n = snprintf(line, sizeof(line), "%s %s %s", keyword, variable, value);
        if (n < 0 || (size_t) n >= sizeof(line)) {
                snprintf(why, size, "the value is too long");
                return false;
        }
        config_init(imp->scratch);
        if (config_parse(imp->scratch, VALIDATE_NAME, line, (size_t) n, &error) < 0 || imp->scratch->n_warnings > 0) {
                const char *message = imp->scratch->n_warnings > 0 ? imp->scratch->warnings[0] : error.message;
                const char *colon = strstr(message, ": "); /* after "(import):1" */
                snprintf(why, size, "ntpsyncd: %.400s", colon ? colon + 2 : message);
                return false;
        }
        return true;
}

static const char *const setting_reasons[][2] = {
        { "tos orphan", "ntpsyncd has no orphan mode; 'local stratum N' is the nearest equivalent" },
        { "tos maxclock", "ntpsyncd takes the number of pool servers from the pool line's maxsources" },
        { "tinker stepback", "ntpsyncd has one step threshold for both directions (tinker step)" },
        { "tinker stepfwd", "ntpsyncd has one step threshold for both directions (tinker step)" },
};

static const char *setting_reason(const char *keyword, const char *variable) {
        for (size_t i = 0; i < ELEMENTSOF(setting_reasons); i++) {
                size_t k = strlen(keyword);
                const char *name = setting_reasons[i][0];
                if (strncmp(name, keyword, k) == 0 && name[k] == ' ' && streq(name + k + 1, variable))
                        return setting_reasons[i][1];
        }
        return "ntpsyncd has no such setting";
}

static int add_setting(struct importer *imp, const char *keyword, const char *variable, const char *value) {
        struct text_item *more = realloc(imp->settings, (imp->n_settings + 1) * sizeof(*more));
        if (!more)
                return out_of_memory(imp);
        imp->settings = more;
        if (asprintf(&more[imp->n_settings].text, "%s %s %s", keyword, variable, value) < 0)
                return out_of_memory(imp);
        more[imp->n_settings++].origin = imp->at;
        return 0;
}

static bool is_one_of(const char *w, const char *const *names) {
        for (; *names; names++)
                if (streq(w, *names))
                        return true;
        return false;
}

/* tinker and tos: pairs of a variable and a value. The ones ntpsyncd has become one line each. */
static int handle_pairs(struct importer *imp, char **words, size_t n, const char *const *carried) {
        char why[CONFIG_MESSAGE_MAX], variable[DISPLAY_SIZE];

        if (n < 3 || n % 2 == 0)
                return fail(imp, "%s takes pairs of a variable and a value", words[0]);
        for (size_t i = 1; i < n; i += 2) {
                int r;
                display(words[i], variable, sizeof(variable));
                if (!is_one_of(words[i], carried))
                        r = warn(imp, WARN_PART_DROPPED, setting_reason(words[0], words[i]), "'%s %s'", words[0],
                                 variable);
                else if (!ntpsyncd_takes(imp, words[0], words[i], words[i + 1], why, sizeof(why)))
                        r = warn(imp, WARN_PART_DROPPED, why, "'%s %s' with this value", words[0], variable);
                else
                        r = add_setting(imp, words[0], words[i], words[i + 1]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int handle_tinker(struct importer *imp, char **words, size_t n) {
        static const char *const carried[] = { "step", "panic", "stepout", NULL };
        return handle_pairs(imp, words, n, carried);
}

static int handle_tos(struct importer *imp, char **words, size_t n) {
        static const char *const carried[] = { "minsane", NULL };
        return handle_pairs(imp, words, n, carried);
}

/* ---- driftfile, fudge, includefile ---- */

/* Not pointed at: ntpsyncd keeps its own drift file in its state directory (the one place its
 * unit lets it write); ctl-import-files.c carries the frequency over. */
static int handle_driftfile(struct importer *imp, char **words, size_t n) {
        if (n < 2 || words[1][0] == '\0')
                return fail(imp, "driftfile needs a file name");
        free(imp->driftfile);
        imp->driftfile = strdup(words[1]);
        if (!imp->driftfile)
                return out_of_memory(imp);
        imp->driftfile_origin = imp->at;
        return 0;
}

/* fudge 127.127.T.U ...: belongs to the reference clock's warning; the local clock's stratum is
 * what 'local stratum' would take. */
static int handle_fudge(struct importer *imp, char **words, size_t n) {
        unsigned driver = 0;
        if (n < 2 || !is_refclock_address(words[1], &driver) || driver != REFCLOCK_LOCAL_DRIVER)
                return warn_refclock(imp, 0);
        for (size_t i = 2; i + 1 < n; i += 2) {
                long stratum = strtol(words[i + 1], NULL, 10);
                if (streq(words[i], "stratum") && stratum >= 1 && stratum <= 15)
                        imp->local_clock_stratum = (unsigned) stratum;
        }
        return warn_refclock(imp, REFCLOCK_LOCAL_DRIVER);
}

static int handle_refclock(struct importer *imp, char **words, size_t n) {
        return warn_refclock(imp, 0);
}

static int handle_ntp_conf_line(struct importer *imp, char **words, size_t n);

/* A relative includefile is taken from the including file's directory. NULL when out of memory. */
static char *include_path(const char *including, const char *name) {
        const char *slash = strrchr(including, '/');
        char *path;
        if (name[0] == '/' || !slash)
                return strdup(name);
        if (asprintf(&path, "%.*s/%s", (int) (slash - including), including, name) < 0)
                return NULL;
        return path;
}

/* Followed, IMPORT_INCLUDE_DEPTH_MAX deep at most, so that the whole configuration comes over. */
static int handle_includefile(struct importer *imp, char **words, size_t n) {
        char shown[DISPLAY_SIZE];
        char *text = NULL;
        size_t len = 0;

        if (n != 2 || words[1][0] == '\0')
                return fail(imp, "includefile takes one file name");
        if (imp->depth >= IMPORT_INCLUDE_DEPTH_MAX)
                return fail(imp, "includefile nested more than %d deep", IMPORT_INCLUDE_DEPTH_MAX);
        if (++imp->n_includes > IMPORT_INCLUDES_MAX)
                return fail(imp, "more than %d includefile lines", IMPORT_INCLUDES_MAX);
        if (!imp->in->read_include)
                return fail(imp, "includefile is not followed here");
        _cleanup_(freep) char *path = include_path(imp->at.file, words[1]);
        if (!path)
                return out_of_memory(imp);
        display(path, shown, sizeof(shown));
        int r = imp->in->read_include(imp->in->userdata, path, &text, &len);
        if (r < 0)
                return fail(imp, "includefile %s: %s", shown, strerror(-r));
        imp->depth++;
        r = read_lines(imp, path, text, len, handle_ntp_conf_line);
        imp->depth--;
        free(text);
        return r;
}

/* ---- the directives ---- */

#define NO_KEYS "ntpsyncd has no symmetric-key authentication"
#define NO_AUTOKEY "ntpsyncd has no Autokey"
#define NO_BROADCAST "ntpsyncd has no broadcast, multicast or manycast modes"
#define NO_STATISTICS "ntpsyncd writes no statistics files; 'ntpsyncctl status' and the journal show its state"
#define JOURNAL "ntpsyncd logs to the journal"
#define NO_SYSTEM_FLAGS "ntpsyncd has no system flags to switch"
#define OWN_SOCKETS "ntpsyncd chooses its sockets itself; 'serve on' answers clients on UDP port 123"
#define LEAP_FROM_SOURCES "ntpsyncd takes leap second announcements from its sources"
#define NO_EQUIVALENT "ntpsyncd has no equivalent"

struct directive {
        const char *name;
        line_handler handle;          /* NULL: not carried over, for reason */
        const char *reason;
};

static const struct directive directives[] = {
        { "server", handle_server, NULL },
        { "pool", handle_server, NULL },
        { "peer", handle_server, NULL },
        { "restrict", handle_restrict, NULL },
        { "tinker", handle_tinker, NULL },
        { "tos", handle_tos, NULL },
        { "driftfile", handle_driftfile, NULL },
        { "includefile", handle_includefile, NULL },
        { "fudge", handle_fudge, NULL },
        { "refclock", handle_refclock, NULL },
        { "keys", NULL, NO_KEYS },
        { "trustedkey", NULL, NO_KEYS },
        { "requestkey", NULL, NO_KEYS },
        { "controlkey", NULL, NO_KEYS },
        { "crypto", NULL, NO_AUTOKEY },
        { "revoke", NULL, NO_AUTOKEY },
        { "automax", NULL, NO_AUTOKEY },
        { "ident", NULL, NO_AUTOKEY },
        { "nts", NULL, "ntpsyncd has no NTS" },
        { "broadcast", NULL, NO_BROADCAST },
        { "broadcastclient", NULL, NO_BROADCAST },
        { "broadcastdelay", NULL, NO_BROADCAST },
        { "manycastclient", NULL, NO_BROADCAST },
        { "manycastserver", NULL, NO_BROADCAST },
        { "multicastclient", NULL, NO_BROADCAST },
        { "statsdir", NULL, NO_STATISTICS },
        { "statistics", NULL, NO_STATISTICS },
        { "filegen", NULL, NO_STATISTICS },
        { "logfile", NULL, JOURNAL },
        { "logconfig", NULL, JOURNAL },
        { "enable", NULL, NO_SYSTEM_FLAGS },
        { "disable", NULL, NO_SYSTEM_FLAGS },
        { "interface", NULL, OWN_SOCKETS },
        { "nic", NULL, OWN_SOCKETS },
        { "leapfile", NULL, LEAP_FROM_SOURCES },
        { "leapsmearinterval", NULL, LEAP_FROM_SOURCES },
        { "includedir", NULL, "only includefile is followed; import those files one by one" },
        { "discard", NULL, "ntpsyncd's rate limits are built in" },
        { "mru", NULL, "ntpsyncd's client list is built in" },
        { "rlimit", NULL, "systemd sets ntpsyncd's resource limits" },
        { "pidfile", NULL, "systemd keeps track of ntpsyncd" },
        { "saveconfigdir", NULL, NO_EQUIVALENT },
        { "setvar", NULL, NO_EQUIVALENT },
        { "trap", NULL, NO_EQUIVALENT },
        { "ttl", NULL, NO_BROADCAST },
        { "phone", NULL, "ntpsyncd has no reference clock drivers" },
        { "calldelay", NULL, NO_EQUIVALENT },
        { "mdnstries", NULL, NO_EQUIVALENT },
        { "dscp", NULL, NO_EQUIVALENT },
        { "unpeer", NULL, NO_EQUIVALENT },
        { "tick", NULL, NO_EQUIVALENT },
};

static const struct directive *find_directive(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(directives); i++)
                if (streq(directives[i].name, name))
                        return &directives[i];
        return NULL;
}

static int handle_ntp_conf_line(struct importer *imp, char **words, size_t n) {
        char name[DISPLAY_SIZE];
        const struct directive *d = find_directive(words[0]);

        if (d && d->handle)
                return d->handle(imp, words, n);
        display(words[0], name, sizeof(name));
        return warn(imp, WARN_LINES_IGNORED, d ? d->reason : "not an ntpd directive ntpsyncctl knows", "'%s'", name);
}

/* ---- step-tickers ---- */

/* One host a word. A host that is a server or pool already gets iburst, which is what ntpsyncd
 * has instead of ntpdate's step at boot; another becomes "server HOST iburst". */
static int add_step_ticker(struct importer *imp, const char *host) {
        unsigned driver;
        if (is_refclock_address(host, &driver))
                return warn_refclock(imp, driver);
        if (!config_host_is_valid(host)) {
                char shown[DISPLAY_SIZE];
                display(host, shown, sizeof(shown));
                return fail(imp, "'%s' is not a valid host name or address", shown);
        }
        struct server_item *known = find_server(imp, host, true, false);
        if (known) {
                if (!known->server.iburst)
                        known->note = "iburst: in step-tickers";
                known->server.iburst = true;
                return 0;
        }
        struct config_server s = { .iburst = true };
        snprintf(s.host, sizeof(s.host), "%s", host);
        size_t before = imp->n_servers;
        int r = add_server(imp, &s, NULL);
        imp->n_step_tickers_servers += imp->n_servers - before;
        return r;
}

static int handle_step_tickers_line(struct importer *imp, char **words, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int r = add_step_ticker(imp, words[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- writing it out ---- */

/* "DIRECTIVE   # FILE:LINE (note)"; the comment goes on a line of its own before a directive
 * too long to share its line within ntpsyncd's line length. */
static void write_line(FILE *f, const char *directive, const struct origin *o, const char *note) {
        char file[DISPLAY_SIZE], comment[DISPLAY_MAX + 96];
        display(o->file, file, sizeof(file));
        snprintf(comment, sizeof(comment), "# %s:%u%s%s%s", file, o->line, note ? " (" : "", note ? note : "",
                 note ? ")" : "");
        size_t width = strlen(directive) > DIRECTIVE_WIDTH ? strlen(directive) : DIRECTIVE_WIDTH;
        if (width + 1 + strlen(comment) > CONFIG_MAX_LINE - 1)
                fprintf(f, "%s\n%s\n", comment, directive);
        else
                fprintf(f, "%-*s %s\n", DIRECTIVE_WIDTH, directive, comment);
}

static void write_header(const struct importer *imp, FILE *f) {
        char file[DISPLAY_SIZE], date[DISPLAY_SIZE];
        display(imp->in->date ? imp->in->date : "", date, sizeof(date));
        fprintf(f, "# ntpsyncd configuration, imported from ntpd's by 'ntpsyncctl import-ntpconf'%s%s from:\n",
                date[0] ? " on " : "", date);
        for (size_t i = 0; i < imp->n_files; i++) {
                display(imp->files[i], file, sizeof(file));
                fprintf(f, "#   %s\n", file);
        }
        if (!imp->step_tickers_read) {
                display(imp->in->step_tickers.path ? imp->in->step_tickers.path : "step-tickers", file, sizeof(file));
                fprintf(f, "#   (%s: none)\n", file);
        }
        fprintf(f, "# Each setting names the file and line it came from. ntpsyncd reads this file when it\n"
                   "# starts and on 'ntpsyncctl reload'; changes made over D-Bus take precedence.\n");
}

static void write_servers(const struct importer *imp, FILE *f) {
        char line[CONFIG_MAX_LINE];
        if (imp->n_servers == 0)
                return;
        fprintf(f, "\n# Servers and pools\n");
        for (size_t i = 0; i < imp->n_servers; i++) {
                config_server_format(&imp->servers[i].server, line, sizeof(line));
                write_line(f, line, &imp->servers[i].origin, imp->servers[i].note);
        }
}

static void write_items(FILE *f, const char *title, const struct text_item *items, size_t n, const char *prefix) {
        char line[CONFIG_MAX_LINE];
        if (n == 0)
                return;
        fprintf(f, "\n# %s\n", title);
        for (size_t i = 0; i < n; i++) {
                snprintf(line, sizeof(line), "%s%s", prefix, items[i].text);
                write_line(f, line, &items[i].origin, NULL);
        }
}

static void write_notes(const struct importer *imp, FILE *f) {
        char shown[DISPLAY_SIZE], file[DISPLAY_SIZE];

        fprintf(f, "\n# Notes\n");
        if (imp->driftfile) {
                display(imp->driftfile, shown, sizeof(shown));
                display(imp->driftfile_origin.file, file, sizeof(file));
                fprintf(f, "# driftfile %s (%s:%u) is not used:\n"
                           "# ntpsyncd keeps its own drift file in its state directory, and the import\n"
                           "# carries ntpd's frequency over to it once.\n",
                        shown, file, imp->driftfile_origin.line);
        }
        if (imp->step_tickers_read) {
                display(imp->in->step_tickers.path, file, sizeof(file));
                fprintf(f, "# %s: ntpsyncd steps the clock at start by itself, after its initial\n"
                           "# burst (iburst); the hosts listed there are servers above, with iburst.\n", file);
        }
        if (ntpd_served(imp))
                fprintf(f, "# ntpd answered NTP clients as far as the restrict rules let it; ntpsyncd answers\n"
                           "# them once ntpsyncd.socket is enabled (systemctl enable --now ntpsyncd.socket;\n"
                           "# it binds UDP port 123 for ntpsyncd), or with 'serve on' here.\n");
}

static int write_configuration(const struct importer *imp, char **ret_text, size_t *ret_len) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        write_header(imp, f);
        write_servers(imp, f);
        write_items(f, "Access rules", imp->restricts, imp->n_restricts, "restrict ");
        write_items(f, "Clock discipline and selection", imp->settings, imp->n_settings, "");
        write_notes(imp, f);
        if (fclose(f) != 0 || !text) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_len = len;
        return 0;
}

/* ---- warnings out ---- */

static char *format_warning(const struct importer *imp, const struct warning *w) {
        char file[DISPLAY_SIZE], reason[CONFIG_MESSAGE_MAX];
        char *message;

        display(w->first.file, file, sizeof(file));
        if (w->local_clock && imp->local_clock_stratum)
                snprintf(reason, sizeof(reason), "%s; 'local stratum %u' is the nearest equivalent", w->reason,
                         imp->local_clock_stratum);
        else if (w->local_clock)
                snprintf(reason, sizeof(reason), "%s; 'local stratum N' is the nearest equivalent", w->reason);
        else
                snprintf(reason, sizeof(reason), "%s", w->reason);
        int r = asprintf(&message, "%s:%u: %s%s (%s); %u line%s %s", file, w->first.line, w->subject,
                         w->kind == WARN_CHANGED ? "" : " is not carried over", reason, w->n_lines,
                         w->n_lines == 1 ? "" : "s", w->kind == WARN_LINES_IGNORED ? "ignored" : "affected");
        return r < 0 ? NULL : message;
}

static int format_warnings(const struct importer *imp, char ***ret, size_t *ret_n) {
        char **list = calloc(imp->n_warnings + 1, sizeof(*list));
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < imp->n_warnings; i++)
                if (!(list[i] = format_warning(imp, &imp->warnings[i]))) {
                        strv_free(list);
                        return -ENOMEM;
                }
        *ret = list;
        *ret_n = imp->n_warnings;
        return 0;
}

/* ---- the whole ---- */

static void importer_done(struct importer *imp) {
        for (size_t i = 0; i < imp->n_files; i++)
                free(imp->files[i]);
        free(imp->files);
        for (size_t i = 0; i < imp->n_restricts; i++)
                free(imp->restricts[i].text);
        for (size_t i = 0; i < imp->n_settings; i++)
                free(imp->settings[i].text);
        free(imp->settings);
        for (size_t i = 0; i < imp->n_warnings; i++) {
                free(imp->warnings[i].subject);
                free(imp->warnings[i].reason);
        }
        free(imp->warnings);
        free(imp->driftfile);
        free(imp->scratch);
        free(imp);
}

static int read_inputs(struct importer *imp) {
        const struct import_input *in = imp->in;
        int r = read_lines(imp, in->ntp_conf.path, in->ntp_conf.text, in->ntp_conf.len, handle_ntp_conf_line);
        if (r < 0 || !in->step_tickers.text)
                return r;
        imp->step_tickers_read = true;
        return read_lines(imp, in->step_tickers.path, in->step_tickers.text, in->step_tickers.len,
                          handle_step_tickers_line);
}

static int build_result(struct importer *imp, struct import_result *ret) {
        struct import_result r = {
                .n_servers = imp->n_servers,
                .n_step_tickers_servers = imp->n_step_tickers_servers,
                .n_restricts = imp->n_restricts,
                .ntpd_served = ntpd_served(imp),
        };
        if (write_configuration(imp, &r.text, &r.len) < 0 || format_warnings(imp, &r.warnings, &r.n_warnings) < 0 ||
            (imp->driftfile && !(r.ntpd_driftfile = strdup(imp->driftfile)))) {
                import_result_done(&r);
                return out_of_memory(imp);
        }
        *ret = r;
        return 0;
}

int import_ntpconf(const struct import_input *in, struct import_result *ret, struct import_error *ret_error) {
        struct importer *imp = calloc(1, sizeof(*imp));
        if (!imp) {
                snprintf(ret_error->message, sizeof(ret_error->message), "out of memory");
                return -ENOMEM;
        }
        *imp = (struct importer) { .in = in, .error = ret_error, .scratch = malloc(sizeof(struct config)) };
        int r = imp->scratch ? read_inputs(imp) : out_of_memory(imp);
        if (r == 0)
                r = build_result(imp, ret);
        importer_done(imp);
        return r;
}

void import_result_done(struct import_result *r) {
        free(r->text);
        strv_free(r->warnings);
        free(r->ntpd_driftfile);
        *r = (struct import_result) {};
}

int import_validate(const char *name, const char *text, size_t len, struct import_error *ret_error) {
        struct config *c = malloc(sizeof(*c));
        struct config_error error;
        int r = -EINVAL;

        if (!c) {
                snprintf(ret_error->message, sizeof(ret_error->message), "out of memory");
                return -ENOMEM;
        }
        config_init(c);
        if (config_parse(c, name, text, len, &error) < 0)
                snprintf(ret_error->message, sizeof(ret_error->message), "%s", error.message);
        else if (c->n_warnings > 0)
                snprintf(ret_error->message, sizeof(ret_error->message), "%s", c->warnings[0]);
        else
                r = 0;
        free(c);
        return r;
}
