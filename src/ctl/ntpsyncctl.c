/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ntpsyncctl: a thin client of ntpsyncd's org.ntpsync1.Manager D-Bus interface. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl-bus.h"
#include "ctl-format.h"
#include "ctl-help.h"
#include "ctl-import-files.h"
#include "ctl-json.h"
#include "ctl-properties.h"
#include "ctl-util.h"
#include "ctl-wait.h"


struct ctl {
        struct ctl_bus bus;
        bool json;
        bool runtime;           /* changes last until ntpsyncd restarts */
        struct import_options import;
        const char *import_option; /* one given, to refuse it for other commands */
        uint64_t timeout_usec;  /* wait-sync */
        const char *timeout_option;
        const char *nts_certificate; /* nts enable; NULL keeps the configured one */
        const char *nts_key;
        const char *nts_option;
};

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("ntpsyncctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'ntpsyncctl --help'.\n", stderr);
        return CTL_EXIT_USAGE;
}

/* Changes that always persist must not look as if --runtime applied to them. */
static int refuse_runtime(const struct ctl *ctl, const char *command) {
        if (ctl->runtime)
                return usage_error("--runtime does not apply to '%s'", command);
        return CTL_EXIT_SUCCESS;
}

/* The arguments joined by single spaces: one spec, rule or address. NULL when out of memory. */
static char *join_arguments(int argc, char **argv) {
        size_t len = 1;
        for (int i = 0; i < argc; i++)
                len += strlen(argv[i]) + 1;
        char *joined = malloc(len), *p = joined;
        if (!joined)
                return NULL;
        for (int i = 0; i < argc; i++)
                p = stpcpy(stpcpy(p, i > 0 ? " " : ""), argv[i]);
        *p = '\0';
        return joined;
}

static int out_of_memory(void) {
        fputs("Out of memory.\n", stderr);
        return CTL_EXIT_FAILED;
}

static int append_failed(const char *what, int r) {
        fprintf(stderr, "Failed to %s: %s\n", what, strerror(-r));
        return CTL_EXIT_FAILED;
}

/* Calls a method that changes something: it may need authorization. */
static int call_change(struct ctl *ctl, const char *member, const char *what, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;

        int status = manager_method_new(&ctl->bus, member, what, &m);
        if (status != 0)
                return status;
        va_start(ap, types);
        int r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return append_failed(what, r);
        return manager_method_call(&ctl->bus, m, true, CALL_TIMEOUT_DEFAULT_USEC, what, NULL);
}

/* SetServers and SetRestrictRules: a list and the runtime flag. */
static int call_change_list(struct ctl *ctl, const char *member, const char *what, char **list) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        int status = manager_method_new(&ctl->bus, member, what, &m);
        if (status != 0)
                return status;
        int r = sd_bus_message_append_strv(m, list);
        if (r >= 0)
                r = sd_bus_message_append(m, "b", (int) ctl->runtime);
        if (r < 0)
                return append_failed(what, r);
        return manager_method_call(&ctl->bus, m, true, CALL_TIMEOUT_DEFAULT_USEC, what, NULL);
}

/* A method with one string, joined from the arguments, and the runtime flag. */
static int call_change_joined(struct ctl *ctl, const char *member, const char *what, int argc, char **argv) {
        _cleanup_(freep) char *joined = join_arguments(argc, argv);
        if (!joined)
                return out_of_memory();
        return call_change(ctl, member, what, "sb", joined, (int) ctl->runtime);
}

/* One GetAll call, parsed. */
static int read_properties(struct ctl *ctl, struct manager_properties *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

        int status = manager_get_all_properties(&ctl->bus, &reply);
        if (status != 0)
                return status;
        int r = manager_properties_parse(reply, ret);
        if (r < 0) {
                fprintf(stderr, "Failed to parse the properties of ntpsyncd: %s\n", strerror(-r));
                return CTL_EXIT_FAILED;
        }
        return CTL_EXIT_SUCCESS;
}

/* Prints the value of one property of a GetAll reply as JSON; "null" if the reply lacks it. */
static int print_property_json(sd_bus_message *reply, const char *name) {
        int r = manager_properties_seek(reply, name);
        if (r == 0)
                fputs("null", stdout);
        if (r > 0)
                r = json_write_message_value(stdout, reply);
        if (r < 0) {
                fprintf(stderr, "Failed to convert property %s to JSON: %s\n", name, strerror(-r));
                return CTL_EXIT_FAILED;
        }
        return CTL_EXIT_SUCCESS;
}

/* {"NAME":VALUE,...} of some properties, from one GetAll call; null for those it lacks. */
static int print_properties_json(struct ctl *ctl, const char *const *names) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

        int status = manager_get_all_properties(&ctl->bus, &reply);
        if (status != 0)
                return status;
        fputc('{', stdout);
        for (size_t i = 0; status == 0 && names[i]; i++) {
                if (i > 0)
                        fputc(',', stdout);
                json_write_string(stdout, names[i]);
                fputc(':', stdout);
                status = print_property_json(reply, names[i]);
        }
        fputs("}\n", stdout);
        return status;
}

static int print_all_properties_json(sd_bus_message *reply) {
        int r = json_write_message_value(stdout, reply);
        if (r < 0) {
                fprintf(stderr, "Failed to convert the properties to JSON: %s\n", strerror(-r));
                return CTL_EXIT_FAILED;
        }
        fputc('\n', stdout);
        return CTL_EXIT_SUCCESS;
}

static int verb_status(struct ctl *ctl, int argc, char **argv) {
        if (argc > 1)
                return usage_error("'status' takes no arguments");

        if (ctl->json) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                int status = manager_get_all_properties(&ctl->bus, &reply);
                return status != 0 ? status : print_all_properties_json(reply);
        }

        _cleanup_(manager_properties_done) struct manager_properties p = {};
        int status = read_properties(ctl, &p);
        if (status != 0)
                return status;
        print_status(stdout, &p);
        return CTL_EXIT_SUCCESS;
}

static int verb_sources(struct ctl *ctl, int argc, char **argv) {
        if (argc > 1)
                return usage_error("'sources' takes no arguments");

        if (ctl->json) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                int status = manager_get_all_properties(&ctl->bus, &reply);
                if (status == 0)
                        status = print_property_json(reply, "Sources");
                if (status == 0)
                        fputc('\n', stdout);
                return status;
        }

        _cleanup_(manager_properties_done) struct manager_properties p = {};
        int status = read_properties(ctl, &p);
        if (status != 0)
                return status;
        print_sources_table(stdout, &p.sources);
        return CTL_EXIT_SUCCESS;
}

static void print_list(const struct ctl *ctl, char **list) {
        if (ctl->json) {
                json_write_strv(stdout, list);
                fputc('\n', stdout);
                return;
        }
        for (size_t i = 0; list && list[i]; i++)
                printf("%s\n", list[i]);
}

static int show_list_property(struct ctl *ctl, enum manager_property which) {
        _cleanup_(manager_properties_done) struct manager_properties p = {};
        int status = read_properties(ctl, &p);
        if (status != 0)
                return status;
        print_list(ctl, which == PROPERTY_SERVERS ? p.servers : p.restrict_rules);
        return CTL_EXIT_SUCCESS;
}

static int verb_servers(struct ctl *ctl, int argc, char **argv) {
        const char *sub = argc > 1 ? argv[1] : "list";

        if (streq(sub, "list")) {
                if (argc > 2)
                        return usage_error("'servers list' takes no arguments");
                return show_list_property(ctl, PROPERTY_SERVERS);
        }
        if (streq(sub, "set")) {
                if (argc < 3)
                        return usage_error("'servers set' needs at least one SPEC");
                return call_change_list(ctl, "SetServers", "set servers", argv + 2);
        }
        if (streq(sub, "add")) {
                if (argc < 3)
                        return usage_error("'servers add' needs a SPEC");
                return call_change_joined(ctl, "AddServer", "add server", argc - 2, argv + 2);
        }
        if (streq(sub, "remove")) {
                if (argc != 3)
                        return usage_error("'servers remove' needs exactly one HOST");
                return call_change(ctl, "RemoveServer", "remove server", "sb", argv[2], (int) ctl->runtime);
        }
        return usage_error("unknown command 'servers %s'", sub);
}

static int verb_restrict(struct ctl *ctl, int argc, char **argv) {
        const char *sub = argc > 1 ? argv[1] : "list";

        if (streq(sub, "list")) {
                if (argc > 2)
                        return usage_error("'restrict list' takes no arguments");
                return show_list_property(ctl, PROPERTY_RESTRICT_RULES);
        }
        if (streq(sub, "set")) {
                if (argc < 3)
                        return usage_error("'restrict set' needs at least one RULE");
                return call_change_list(ctl, "SetRestrictRules", "set restrict rules", argv + 2);
        }
        if (streq(sub, "add")) {
                if (argc < 3)
                        return usage_error("'restrict add' needs a RULE");
                return call_change_joined(ctl, "AddRestrict", "add restrict rule", argc - 2, argv + 2);
        }
        if (streq(sub, "remove")) {
                if (argc < 3)
                        return usage_error("'restrict remove' needs an ADDRESS");
                return call_change_joined(ctl, "RemoveRestrict", "remove restrict rule", argc - 2, argv + 2);
        }
        return usage_error("unknown command 'restrict %s'", sub);
}

static int show_firewall(struct ctl *ctl) {
        static const char *const names[] = { "FirewallClientState", "FirewallServerState", "FirewallReason",
                                             "FirewallClient", "FirewallServer", "FirewallBackend", "FirewallWarning",
                                             NULL };
        _cleanup_(manager_properties_done) struct manager_properties p = {};

        if (ctl->json)
                return print_properties_json(ctl, names);
        int status = read_properties(ctl, &p);
        if (status != 0)
                return status;
        print_firewall(stdout, &p);
        return CTL_EXIT_SUCCESS;
}

/* SetFirewall sets both flags: the one not named keeps its current value. */
static int change_firewall(struct ctl *ctl, bool enable, const char *direction) {
        _cleanup_(manager_properties_done) struct manager_properties p = {};

        if (!streq(direction, "client") && !streq(direction, "server"))
                return usage_error("expected 'client' or 'server', not '%s'", direction);
        int status = read_properties(ctl, &p);
        if (status != 0)
                return status;
        if (!p.present[PROPERTY_FIREWALL_CLIENT] || !p.present[PROPERTY_FIREWALL_SERVER]) {
                fputs("Failed to set firewall: ntpsyncd did not tell the current firewall state.\n", stderr);
                return CTL_EXIT_FAILED;
        }
        /* The other direction's flag is kept: while it is unknown, there is nothing to keep. */
        const char *other = streq(direction, "client") ? p.firewall_server_state : p.firewall_client_state;
        if (other && streq(other, "unknown")) {
                fprintf(stderr, "Failed to set firewall: the %s state is unknown (%s); try again once it is known.\n",
                        streq(direction, "client") ? "server" : "client",
                        p.firewall_reason && p.firewall_reason[0] ? p.firewall_reason : "no reason given");
                return CTL_EXIT_FAILED;
        }
        bool client = streq(direction, "client") ? enable : p.firewall_client;
        bool server = streq(direction, "server") ? enable : p.firewall_server;
        return call_change(ctl, "SetFirewall", "set firewall", "bb", (int) client, (int) server);
}

static int verb_firewall(struct ctl *ctl, int argc, char **argv) {
        const char *sub = argc > 1 ? argv[1] : "show";

        if (streq(sub, "show")) {
                if (argc > 2)
                        return usage_error("'firewall show' takes no arguments");
                return show_firewall(ctl);
        }
        if (streq(sub, "enable") || streq(sub, "disable")) {
                if (argc != 3)
                        return usage_error("'firewall %s' needs 'client' or 'server'", sub);
                int status = refuse_runtime(ctl, "firewall");
                if (status != 0)
                        return status;
                return change_firewall(ctl, streq(sub, "enable"), argv[2]);
        }
        return usage_error("unknown command 'firewall %s'", sub);
}

static int show_server_mode(struct ctl *ctl) {
        static const char *const names[] = { "ServerMode", NULL };
        _cleanup_(manager_properties_done) struct manager_properties p = {};

        if (ctl->json)
                return print_properties_json(ctl, names);
        int status = read_properties(ctl, &p);
        if (status != 0)
                return status;
        if (!p.present[PROPERTY_SERVER_MODE]) {
                fputs("Failed to show the server mode: ntpsyncd did not tell it.\n", stderr);
                return CTL_EXIT_FAILED;
        }
        printf("%s\n", p.server_mode ? "on" : "off");
        return CTL_EXIT_SUCCESS;
}

static int verb_server_mode(struct ctl *ctl, int argc, char **argv) {
        if (argc == 1)
                return show_server_mode(ctl);
        if (argc != 2 || (!streq(argv[1], "on") && !streq(argv[1], "off")))
                return usage_error("'server-mode' takes 'on' or 'off'");
        return call_change(ctl, "SetServerMode", "set server mode", "bb", (int) streq(argv[1], "on"),
                           (int) ctl->runtime);
}

static int show_nts(struct ctl *ctl) {
        static const char *const names[] = { "NtsServing", "NtsCertificate", "NtsKey", NULL };
        _cleanup_(manager_properties_done) struct manager_properties p = {};

        if (ctl->json)
                return print_properties_json(ctl, names);
        int status = read_properties(ctl, &p);
        if (status != 0)
                return status;
        if (!p.present[PROPERTY_NTS_SERVING]) {
                fputs("Failed to show NTS: ntpsyncd did not tell it; it may be a version without NTS.\n", stderr);
                return CTL_EXIT_FAILED;
        }
        print_nts(stdout, &p);
        return CTL_EXIT_SUCCESS;
}

/* ntpsyncd reads the files itself, from its own working directory: a relative path is made
 * absolute here. NULL is "", which keeps the configured file. *ret is NULL when out of memory. */
static int nts_path_argument(const char *path, char **ret) {
        if (!path || path[0] == '/') {
                *ret = strdup(path ? path : "");
                return *ret ? 0 : -ENOMEM;
        }
        _cleanup_(freep) char *cwd = getcwd(NULL, 0);
        if (!cwd)
                return -errno;
        if (asprintf(ret, "%s/%s", cwd, path) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int change_nts(struct ctl *ctl, bool enable) {
        _cleanup_(freep) char *certificate = NULL, *key = NULL;

        int r = nts_path_argument(ctl->nts_certificate, &certificate);
        if (r >= 0)
                r = nts_path_argument(ctl->nts_key, &key);
        if (r < 0) {
                fprintf(stderr, "Failed to make the path of the certificate or key absolute: %s\n", strerror(-r));
                return CTL_EXIT_FAILED;
        }
        return call_change(ctl, "SetNts", enable ? "enable NTS" : "disable NTS", "bssb", (int) enable, certificate,
                           key, (int) ctl->runtime);
}

static int verb_nts(struct ctl *ctl, int argc, char **argv) {
        const char *sub = argc > 1 ? argv[1] : "show";

        if (ctl->nts_option && !streq(sub, "enable"))
                return usage_error("%s applies to 'nts enable' only", ctl->nts_option);
        if (streq(sub, "show")) {
                if (argc > 2)
                        return usage_error("'nts show' takes no arguments");
                return show_nts(ctl);
        }
        if (streq(sub, "enable") || streq(sub, "disable")) {
                if (argc > 2)
                        return usage_error("'nts %s' takes no arguments; the files are given with --cert and --key",
                                           sub);
                return change_nts(ctl, streq(sub, "enable"));
        }
        return usage_error("unknown command 'nts %s'", sub);
}

static void print_query_json(int64_t offset, uint64_t delay, uint8_t stratum, const char *refid) {
        fputs("{\"offset\":", stdout);
        write_seconds(stdout, offset);
        fputs(",\"delay\":", stdout);
        write_seconds_unsigned(stdout, delay);
        printf(",\"stratum\":%u,\"refid\":", (unsigned) stratum);
        json_write_string(stdout, refid);
        fputs("}\n", stdout);
}

static int verb_query(struct ctl *ctl, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(freep) char *what = NULL;
        const char *refid;
        int64_t offset;
        uint64_t delay;
        uint8_t stratum;

        if (argc != 2)
                return usage_error("'query' needs exactly one HOST");
        if (asprintf(&what, "query %s", argv[1]) < 0) {
                what = NULL;
                return out_of_memory();
        }
        int status = manager_method_new(&ctl->bus, "Query", what, &m);
        if (status != 0)
                return status;
        int r = sd_bus_message_append(m, "s", argv[1]);
        if (r < 0)
                return append_failed(what, r);
        status = manager_method_call(&ctl->bus, m, false, CALL_TIMEOUT_QUERY_USEC, what, &reply);
        if (status != 0)
                return status;
        r = sd_bus_message_read(reply, "xtys", &offset, &delay, &stratum, &refid);
        if (r < 0) {
                fprintf(stderr, "Failed to parse the result of the query: %s\n", strerror(-r));
                return CTL_EXIT_FAILED;
        }
        if (ctl->json)
                print_query_json(offset, delay, stratum, refid);
        else
                print_query_result(stdout, argv[1], offset, delay, stratum, refid);
        return CTL_EXIT_SUCCESS;
}

/* The same text as the metrics socket's GET /metrics, as it came. */
static int verb_metrics(struct ctl *ctl, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *what = "read the metrics", *text;

        if (argc > 1)
                return usage_error("'metrics' takes no arguments");
        if (ctl->json)
                return usage_error("--json does not apply to 'metrics'");
        int status = refuse_runtime(ctl, "metrics");
        if (status == 0)
                status = manager_method_new(&ctl->bus, "Metrics", what, &m);
        if (status == 0)
                status = manager_method_call(&ctl->bus, m, false, CALL_TIMEOUT_DEFAULT_USEC, what, &reply);
        if (status != 0)
                return status;
        int r = sd_bus_message_read(reply, "s", &text);
        if (r < 0) {
                fprintf(stderr, "Failed to parse the metrics: %s\n", strerror(-r));
                return CTL_EXIT_FAILED;
        }
        fputs(text, stdout);
        return CTL_EXIT_SUCCESS;
}

static int verb_burst(struct ctl *ctl, int argc, char **argv) {
        if (argc > 1)
                return usage_error("'burst' takes no arguments");
        int status = refuse_runtime(ctl, "burst");
        return status != 0 ? status : call_change(ctl, "Burst", "start a burst", "");
}

static int verb_import_ntpconf(struct ctl *ctl, int argc, char **argv) {
        if (argc > 3)
                return usage_error("'import-ntpconf' takes at most NTP_CONF and STEP_TICKERS");
        if (ctl->json)
                return usage_error("--json does not apply to 'import-ntpconf'");
        int status = refuse_runtime(ctl, "import-ntpconf");
        if (status != 0)
                return status;
        if (argc > 1)
                ctl->import.ntp_conf = argv[1];
        if (argc > 2)
                ctl->import.step_tickers = argv[2];
        return import_run(&ctl->import);
}

static int verb_reload(struct ctl *ctl, int argc, char **argv) {
        if (argc > 1)
                return usage_error("'reload' takes no arguments");
        int status = refuse_runtime(ctl, "reload");
        return status != 0 ? status : call_change(ctl, "Reload", "reload the configuration", "");
}

static int verb_wait_sync(struct ctl *ctl, int argc, char **argv) {
        if (argc > 1)
                return usage_error("'wait-sync' takes no arguments");
        return ctl_wait_sync(&ctl->bus, ctl->timeout_usec);
}

struct verb {
        const char *name;
        int (*run)(struct ctl *ctl, int argc, char **argv);
};

static const struct verb verbs[] = {
        { "status", verb_status },
        { "sources", verb_sources },
        { "servers", verb_servers },
        { "restrict", verb_restrict },
        { "firewall", verb_firewall },
        { "server-mode", verb_server_mode },
        { "nts", verb_nts },
        { "query", verb_query },
        { "metrics", verb_metrics },
        { "burst", verb_burst },
        { "reload", verb_reload },
        { "import-ntpconf", verb_import_ntpconf },
        { "wait-sync", verb_wait_sync },
};

static int dispatch(struct ctl *ctl, int argc, char **argv) {
        static char *default_command[] = { (char *) "status", NULL };

        if (argc == 0) {
                argc = 1;
                argv = default_command;
        }
        if (ctl->import_option && !streq(argv[0], "import-ntpconf"))
                return usage_error("%s applies to 'import-ntpconf' only", ctl->import_option);
        if (ctl->timeout_option && !streq(argv[0], "wait-sync"))
                return usage_error("%s applies to 'wait-sync' only", ctl->timeout_option);
        if (ctl->nts_option && !streq(argv[0], "nts"))
                return usage_error("%s applies to 'nts enable' only", ctl->nts_option);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[0]))
                        return verbs[i].run(ctl, argc, argv);
        return usage_error("unknown command '%s'", argv[0]);
}

enum option {
        OPTION_NONE,
        OPTION_HELP,
        OPTION_VERSION,
        OPTION_JSON,
        OPTION_RUNTIME,
        OPTION_NO_ASK_PASSWORD,
        OPTION_OUTPUT,
        OPTION_FORCE,
        OPTION_STATE_DIR,
        OPTION_TIMEOUT,
        OPTION_CERT,
        OPTION_KEY,
};

static bool option_takes_value(enum option option) {
        switch (option) {
        case OPTION_OUTPUT:
        case OPTION_STATE_DIR:
        case OPTION_TIMEOUT:
        case OPTION_CERT:
        case OPTION_KEY:
                return true;
        default:
                return false;
        }
}

/* "--name" or "--name=VALUE"; *ret_value is VALUE, or NULL without '='. */
static enum option lookup_option(const char *arg, const char **ret_value) {
        static const struct {
                const char *name;
                enum option option;
        } options[] = {
                { "-h", OPTION_HELP },
                { "--help", OPTION_HELP },
                { "--version", OPTION_VERSION },
                { "--json", OPTION_JSON },
                { "--runtime", OPTION_RUNTIME },
                { "--no-ask-password", OPTION_NO_ASK_PASSWORD },
                { "--output", OPTION_OUTPUT },
                { "--force", OPTION_FORCE },
                { "--state-dir", OPTION_STATE_DIR },
                { "--timeout", OPTION_TIMEOUT },
                { "--cert", OPTION_CERT },
                { "--key", OPTION_KEY },
        };
        const char *equals = arg[1] == '-' ? strchr(arg, '=') : NULL;
        size_t len = equals ? (size_t) (equals - arg) : strlen(arg);

        *ret_value = equals ? equals + 1 : NULL;
        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                if (strlen(options[i].name) == len && strncmp(options[i].name, arg, len) == 0)
                        return options[i].option;
        return OPTION_NONE;
}

/* The value of an option that takes one: after '=' or the next argument. NULL if there is none. */
static const char *option_value(const char *inline_value, int argc, char *argv[], int *i) {
        if (inline_value)
                return inline_value;
        return *i + 1 < argc ? argv[++*i] : NULL;
}

/* Options may come before or after the command. After the command, an argument with one dash
 * other than -h is an argument ("restrict add -6 default ignore"); "--" ends the options. */
static bool is_positional(const char *arg, bool after_command) {
        if (arg[0] != '-' || arg[1] == '\0')
                return true;
        return after_command && arg[1] != '-' && !streq(arg, "-h");
}

/* Moves the command and its arguments to the front of argv and counts them in *ret_argc.
 * Returns -1 to go on with them, else the exit status. */
static int parse_options(int argc, char *argv[], struct ctl *ctl, int *ret_argc) {
        bool ask_password = true, options_ended = false;
        int n = 0;

        for (int i = 1; i < argc; i++) {
                const char *arg = argv[i], *value;

                if (options_ended || is_positional(arg, n > 0)) {
                        argv[n++] = argv[i];
                        continue;
                }
                enum option option = lookup_option(arg, &value);
                if (value && !option_takes_value(option) && option != OPTION_NONE)
                        return usage_error("option '%.*s' takes no value", (int) (value - arg - 1), arg);
                switch (option) {
                case OPTION_HELP:
                        ctl_help();
                        return CTL_EXIT_SUCCESS;
                case OPTION_VERSION:
                        printf("ntpsyncctl " NTPSYNC_VERSION "\n");
                        return CTL_EXIT_SUCCESS;
                case OPTION_JSON:
                        ctl->json = true;
                        break;
                case OPTION_RUNTIME:
                        ctl->runtime = true;
                        break;
                case OPTION_NO_ASK_PASSWORD:
                        ask_password = false;
                        break;
                case OPTION_OUTPUT:
                case OPTION_STATE_DIR:
                        value = option_value(value, argc, argv, &i);
                        if (!value || !value[0])
                                return usage_error("%s needs a value", arg);
                        if (option == OPTION_OUTPUT)
                                ctl->import.output = value;
                        else
                                ctl->import.state_dir = value;
                        ctl->import_option = arg;
                        break;
                case OPTION_FORCE:
                        ctl->import.force = true;
                        ctl->import_option = arg;
                        break;
                case OPTION_TIMEOUT:
                        value = option_value(value, argc, argv, &i);
                        if (!value || ctl_parse_timeout(value, &ctl->timeout_usec) < 0)
                                return usage_error("%s needs a number of seconds or 'infinity'", arg);
                        ctl->timeout_option = arg;
                        break;
                case OPTION_CERT:
                case OPTION_KEY:
                        value = option_value(value, argc, argv, &i);
                        if (!value || !value[0])
                                return usage_error("%s needs a file name", arg);
                        if (option == OPTION_CERT)
                                ctl->nts_certificate = value;
                        else
                                ctl->nts_key = value;
                        ctl->nts_option = arg;
                        break;
                case OPTION_NONE:
                        if (!streq(arg, "--"))
                                return usage_error("unknown option '%s'", arg);
                        options_ended = true;
                }
        }

        argv[n] = NULL;
        /* Someone to ask is at the terminal on stdin. */
        ctl->bus.ask_password = ask_password && isatty(STDIN_FILENO);
        *ret_argc = n;
        return -1;
}

static int finish_output(int status) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "Failed to write the output.\n");
                return status == CTL_EXIT_SUCCESS ? CTL_EXIT_FAILED : status;
        }
        return status;
}

int main(int argc, char *argv[]) {
        struct ctl ctl = {
                .import = {
                        .ntp_conf = IMPORT_DEFAULT_NTP_CONF,
                        .step_tickers = IMPORT_DEFAULT_STEP_TICKERS,
                        .output = IMPORT_DEFAULT_OUTPUT,
                        .state_dir = IMPORT_DEFAULT_STATE_DIR,
                },
                .timeout_usec = WAIT_FOREVER,
        };

        int n_args = 0;

        int status = parse_options(argc, argv, &ctl, &n_args);
        if (status < 0) {
                status = dispatch(&ctl, n_args, argv);
                ctl_bus_done(&ctl.bus);
        }
        return finish_output(status);
}
