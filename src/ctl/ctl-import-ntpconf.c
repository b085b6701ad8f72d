/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The import of ntp.conf: which directive goes where, and the ones without a file of their own
 * (tinker, tos, driftfile, fudge, includefile). See ctl-import-internal.h. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "ctl-import-internal.h"
#include "ctl-util.h"

#define VALIDATE_NAME "(import)"

/* ---- tinker and tos ---- */

/* Whether ntpsyncd's parser takes "KEYWORD VARIABLE VALUE" without a warning; if not, why. */
static bool ntpsyncd_takes(struct importer *imp, const char *keyword, const char *variable, const char *value,
                           char *why, size_t size) {
        char line[IMPORT_LINE_MAX + 1];
        struct config_error error;

        if (!import_is_plain_word(value)) {
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
                return importer_out_of_memory(imp);
        imp->settings = more;
        if (asprintf(&more[imp->n_settings].text, "%s %s %s", keyword, variable, value) < 0)
                return importer_out_of_memory(imp);
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
                return importer_fail(imp, "%s takes pairs of a variable and a value", words[0]);
        for (size_t i = 1; i < n; i += 2) {
                int r;
                import_display(words[i], variable, sizeof(variable));
                if (!is_one_of(words[i], carried))
                        r = importer_warn(imp, WARN_PART_DROPPED, setting_reason(words[0], words[i]), "'%s %s'",
                                          words[0], variable);
                else if (!ntpsyncd_takes(imp, words[0], words[i], words[i + 1], why, sizeof(why)))
                        r = importer_warn(imp, WARN_PART_DROPPED, why, "'%s %s' with this value", words[0], variable);
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
        static const char *const carried[] = { "minsane", "mindist", "maxdist", NULL };
        return handle_pairs(imp, words, n, carried);
}

/* ---- driftfile, fudge, includefile ---- */

/* Not pointed at: ntpsyncd keeps its own drift file in its state directory (the one place its
 * unit lets it write); ctl-import-files.c carries the frequency over. */
static int handle_driftfile(struct importer *imp, char **words, size_t n) {
        if (n < 2 || words[1][0] == '\0')
                return importer_fail(imp, "driftfile needs a file name");
        free(imp->driftfile);
        imp->driftfile = strdup(words[1]);
        if (!imp->driftfile)
                return importer_out_of_memory(imp);
        imp->driftfile_origin = imp->at;
        return 0;
}

/* fudge 127.127.T.U ...: belongs to the reference clock's warning; the local clock's stratum is
 * what 'local stratum' would take. */
static int handle_fudge(struct importer *imp, char **words, size_t n) {
        unsigned driver = 0;
        if (n < 2 || !import_is_refclock_address(words[1], &driver) || driver != REFCLOCK_LOCAL_DRIVER)
                return importer_warn_refclock(imp, 0);
        for (size_t i = 2; i + 1 < n; i += 2) {
                long stratum = strtol(words[i + 1], NULL, 10);
                if (streq(words[i], "stratum") && stratum >= 1 && stratum <= 15)
                        imp->local_clock_stratum = (unsigned) stratum;
        }
        return importer_warn_refclock(imp, REFCLOCK_LOCAL_DRIVER);
}

static int handle_refclock(struct importer *imp, char **words, size_t n) {
        return importer_warn_refclock(imp, 0);
}

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
                return importer_fail(imp, "includefile takes one file name");
        if (imp->depth >= IMPORT_INCLUDE_DEPTH_MAX)
                return importer_fail(imp, "includefile nested more than %d deep", IMPORT_INCLUDE_DEPTH_MAX);
        if (++imp->n_includes > IMPORT_INCLUDES_MAX)
                return importer_fail(imp, "more than %d includefile lines", IMPORT_INCLUDES_MAX);
        if (!imp->in->read_include)
                return importer_fail(imp, "includefile is not followed here");
        _cleanup_(freep) char *path = include_path(imp->at.file, words[1]);
        if (!path)
                return importer_out_of_memory(imp);
        import_display(path, shown, sizeof(shown));
        int r = imp->in->read_include(imp->in->userdata, path, &text, &len);
        if (r < 0)
                return importer_fail(imp, "includefile %s: %s", shown, strerror(-r));
        imp->depth++;
        r = importer_read_lines(imp, path, text, len, importer_handle_ntp_conf_line);
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
        { "server", importer_handle_server, NULL },
        { "pool", importer_handle_server, NULL },
        { "peer", importer_handle_server, NULL },
        { "restrict", importer_handle_restrict, NULL },
        { "tinker", handle_tinker, NULL },
        { "tos", handle_tos, NULL },
        { "driftfile", handle_driftfile, NULL },
        { "includefile", handle_includefile, NULL },
        { "fudge", handle_fudge, NULL },
        { "refclock", handle_refclock, NULL },
        { "nts", importer_handle_nts, NULL },
        { "keys", NULL, NO_KEYS },
        { "trustedkey", NULL, NO_KEYS },
        { "requestkey", NULL, NO_KEYS },
        { "controlkey", NULL, NO_KEYS },
        { "crypto", NULL, NO_AUTOKEY },
        { "revoke", NULL, NO_AUTOKEY },
        { "automax", NULL, NO_AUTOKEY },
        { "ident", NULL, NO_AUTOKEY },
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

int importer_handle_ntp_conf_line(struct importer *imp, char **words, size_t n) {
        char name[DISPLAY_SIZE];
        const struct directive *d = find_directive(words[0]);

        if (d && d->handle)
                return d->handle(imp, words, n);
        import_display(words[0], name, sizeof(name));
        return importer_warn(imp, WARN_LINES_IGNORED, d ? d->reason : "not an ntpd directive ntpsyncctl knows",
                             "'%s'", name);
}

