/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "bus.h"
#include "file-io.h"
#include "firewall.h"
#include "log.h"
#include "manager.h"
#include "metrics-http.h"
#include "query.h"
#include "settings.h"

#define DEFAULT_CONFIG NTPSYNC_CONFIG_FILE
#define DEFAULT_STATE_DIR NTPSYNC_STATE_DIR
#define DEFAULT_RUNTIME_DIR NTPSYNC_RUNTIME_DIR

static void help(void) {
        printf("Usage: ntpsyncd [OPTIONS]\n"
               "       ntpsyncd --query [--json] [--nts [--ca FILE]] [HOST...]\n"
               "       ntpsyncd --check-config\n"
               "\n"
               "Keeps the system clock synchronized to NTP servers.\n"
               "\n"
               "  --config FILE        configuration file (default " DEFAULT_CONFIG ", and FILE.d/*.conf)\n"
               "  --timesyncd-conf FILE\n"
               "                       systemd-timesyncd's configuration, whose NTP= and FallbackNTP=\n"
               "                       servers are used too (default " NTPSYNC_TIMESYNCD_CONF " and its\n"
               "                       drop-ins; \"\" reads none)\n"
               "  --state-dir DIR      where the drift file and persisted settings live\n"
               "                       (default " DEFAULT_STATE_DIR ")\n"
               "  --runtime-dir DIR    what must not outlive a boot: whether the clock was already\n"
               "                       synchronized (default " DEFAULT_RUNTIME_DIR ")\n"
               "  --clock BACKEND      kernel: discipline the system clock (default);\n"
               "                       observe: only measure and say what would be done\n"
               "  --check-config       validate the configuration, print it with the origin of\n"
               "                       each setting, and exit\n"
               "  --query              measure the offset to HOSTs (or the configured servers)\n"
               "                       with a short burst, print it, and exit; never touches the clock\n"
               "  --json               with --query: one JSON object\n"
               "  --nts                with --query: authenticate the HOSTs with NTS (RFC 8915);\n"
               "                       a host whose key establishment fails gives no offset\n"
               "  --ca FILE            with --nts: trust anchors (PEM file or directory) instead\n"
               "                       of the system's\n"
               "  --debug              log debug messages\n"
               "  --help               this text\n"
               "  --version            the version\n");
}

static void print_line(void *userdata, const char *line) {
        printf("%s\n", line);
}

/* The files and what D-Bus persisted, each setting with where it came from. */
static int check_config(const char *path, const char *timesyncd_path, const char *state_dir) {
        struct config *c = malloc(sizeof(*c));
        struct config_overrides *persisted = calloc(1, sizeof(*persisted)), *none = calloc(1, sizeof(*none));
        struct config_error error;
        char *settings_path = NULL;
        int r = 1;

        if (!c || !persisted || !none || asprintf(&settings_path, "%s/" SETTINGS_FILE, state_dir) < 0)
                goto finish;
        settings_load_persisted(settings_path, persisted);
        if (settings_build(path, timesyncd_path, settings_path, persisted, none, c, &error) < 0) {
                fprintf(stderr, "%s\n", error.message);
                goto finish;
        }
        for (size_t i = 0; i < c->n_warnings; i++)
                fprintf(stderr, "warning: %s\n", c->warnings[i]);
        config_dump(c, print_line, NULL);
        r = 0;
finish:
        free(settings_path);
        free(none);
        free(persisted);
        free(c);
        return r;
}

static int run_daemon(const struct manager_options *o) {
        manager *m = NULL;
        metrics_http *metrics = NULL;
        struct metrics_http_sockets metrics_sockets;
        /* Before the manager: its NTP server takes the datagram sockets and clears the environment. */
        metrics_http_take_sockets(&metrics_sockets);
        int r = manager_new(o, &m);
        if (r < 0)
                return 1;
        if (metrics_http_new(m, &metrics_sockets, &metrics) < 0)
                log_warning("Running without the metrics socket");
        /* Time is kept without the bus too (early boot, containers, dbus-daemon restarting): it
         * only lacks the API until the bus is there. */
        struct bus *bus = NULL;
        if (bus_open(m, &bus) < 0)
                log_warning("Running without the D-Bus API");
        /* CAP_NET_ADMIN stays with the firewall helper; the process that parses packets lets it go. */
        (void) firewall_drop_privileges();
        r = manager_start(m);
        if (r >= 0)
                r = sd_event_loop(m->event);
        metrics_http_free(metrics);
        bus_free(bus);
        manager_free(m);
        return r < 0 ? 1 : 0;
}

enum {
        ARG_CONFIG = 0x100,
        ARG_TIMESYNCD_CONF,
        ARG_STATE_DIR,
        ARG_RUNTIME_DIR,
        ARG_CLOCK,
        ARG_CHECK_CONFIG,
        ARG_QUERY,
        ARG_JSON,
        ARG_NTS,
        ARG_CA,
        ARG_DEBUG,
        ARG_VERSION,
};

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config", required_argument, NULL, ARG_CONFIG },
                { "timesyncd-conf", required_argument, NULL, ARG_TIMESYNCD_CONF },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "clock", required_argument, NULL, ARG_CLOCK },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "query", no_argument, NULL, ARG_QUERY },
                { "json", no_argument, NULL, ARG_JSON },
                { "nts", no_argument, NULL, ARG_NTS },
                { "ca", required_argument, NULL, ARG_CA },
                { "debug", no_argument, NULL, ARG_DEBUG },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        struct manager_options o = {
                .config_path = DEFAULT_CONFIG,
                .timesyncd_conf = NTPSYNC_TIMESYNCD_CONF,
                .state_dir = DEFAULT_STATE_DIR,
                .runtime_dir = DEFAULT_RUNTIME_DIR,
                .backend = CLOCK_BACKEND_KERNEL,
        };
        bool do_check = false, do_query = false, json = false;
        int c;

        log_setup();
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case ARG_CONFIG: o.config_path = optarg; break;
                case ARG_TIMESYNCD_CONF: o.timesyncd_conf = optarg; break;
                case ARG_STATE_DIR: o.state_dir = optarg; break;
                case ARG_RUNTIME_DIR: o.runtime_dir = optarg; break;
                case ARG_CLOCK:
                        if (clock_backend_from_string(optarg, &o.backend) < 0) {
                                fprintf(stderr, "--clock takes kernel or observe, not \"%s\"\n", optarg);
                                return 2;
                        }
                        break;
                case ARG_CHECK_CONFIG: do_check = true; break;
                case ARG_QUERY: do_query = true; break;
                case ARG_JSON: json = true; break;
                case ARG_NTS: o.query_nts = true; break;
                case ARG_CA: o.query_ca = optarg; break;
                case ARG_DEBUG: log_set_max_level(LOG_DEBUG); break;
                case 'h': help(); return 0;
                case ARG_VERSION: printf("ntpsyncd " NTPSYNC_VERSION "\n"); return 0;
                default: return 2;
                }
        }
        if (json && !do_query) {
                fprintf(stderr, "--json goes with --query\n");
                return 2;
        }
        if ((o.query_nts && !do_query) || (o.query_ca && !o.query_nts)) {
                fprintf(stderr, "--nts goes with --query, --ca with --nts\n");
                return 2;
        }
        if (o.query_ca && !config_path_is_valid(o.query_ca)) {
                fprintf(stderr, "--ca takes an absolute path, not \"%s\"\n", o.query_ca);
                return 2;
        }
        if (optind < argc && !do_query) {
                fprintf(stderr, "Unexpected argument \"%s\" (hosts go with --query)\n", argv[optind]);
                return 2;
        }
        if (do_check)
                return check_config(o.config_path, o.timesyncd_conf, o.state_dir);
        if (do_query) {
                o.query_hosts = argv + optind;
                o.n_query_hosts = (size_t) (argc - optind);
                return query_run(&o, json);
        }
        return run_daemon(&o);
}
