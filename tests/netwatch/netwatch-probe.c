/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A test probe for src/daemon/netwatch: runs the watcher on sd-event and prints one JSON line on
 * stdout when it starts ("ready") and one per callback ("change"), with what the change says and
 * the answers of the query API for the addresses given on the command line. Used by
 * tests/netwatch/test-netwatch.py inside network namespaces that test creates.
 *
 * Usage: netwatch-probe [--debounce-ms N] [--debug] [--local ADDRESS]... [DESTINATION]...
 *   DESTINATION  an IPv4 or IPv6 address: "has_route" tells netwatch_has_route() for each
 *   --local      an address: "local" tells netwatch_address_is_local() for each
 * Runs until SIGTERM or SIGINT, then frees everything and exits 0. */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "netwatch.h"

#define MAX_ADDRESSES 16

struct probe {
        struct net_address destinations[MAX_ADDRESSES];
        size_t n_destinations;
        struct net_address locals[MAX_ADDRESSES];
        size_t n_locals;
        unsigned callbacks;
};

static bool parse_address(const char *text, struct net_address *ret) {
        memset(ret, 0, sizeof(*ret));
        if (inet_pton(AF_INET, text, &ret->sa.in.sin_addr) == 1) {
                ret->sa.in.sin_family = AF_INET;
                ret->len = sizeof(ret->sa.in);
                return true;
        }
        if (inet_pton(AF_INET6, text, &ret->sa.in6.sin6_addr) == 1) {
                ret->sa.in6.sin6_family = AF_INET6;
                ret->len = sizeof(ret->sa.in6);
                return true;
        }
        return false;
}

static long long monotonic_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *json_bool(bool b) {
        return b ? "true" : "false";
}

static void print_address_list(const char *name, const struct net_address *list, size_t n) {
        char text[INET6_ADDRSTRLEN];
        printf("\"%s\":[", name);
        for (size_t i = 0; i < n; i++) {
                net_address_to_string(&list[i], text, sizeof(text));
                printf("%s\"%s\"", i ? "," : "", text);
        }
        printf("]");
}

/* The query API's answers now: has_route, local, reason. */
static void print_state(const struct probe *p) {
        char text[INET6_ADDRSTRLEN];
        printf("\"has_route\":{");
        for (size_t i = 0; i < p->n_destinations; i++) {
                net_address_to_string(&p->destinations[i], text, sizeof(text));
                printf("%s\"%s\":%s", i ? "," : "", text, json_bool(netwatch_has_route(&p->destinations[i])));
        }
        printf("},\"local\":{");
        for (size_t i = 0; i < p->n_locals; i++) {
                net_address_to_string(&p->locals[i], text, sizeof(text));
                printf("%s\"%s\":%s", i ? "," : "", text, json_bool(netwatch_address_is_local(&p->locals[i].sa.sa)));
        }
        printf("},\"reason\":\"%s\",\"t_ms\":%lld", netwatch_offline_reason(), monotonic_ms());
}

static void print_change(const struct netwatch_change *c) {
        const struct netwatch_counts *n = &c->counts;
        printf("\"links_changed\":%s,\"addresses_added\":%s,\"addresses_removed\":%s,\"routes_changed\":%s,"
               "\"overrun\":%s,\"removed_incomplete\":%s,",
               json_bool(c->links_changed), json_bool(c->addresses_added), json_bool(c->addresses_removed),
               json_bool(c->routes_changed), json_bool(c->overrun), json_bool(c->removed_incomplete));
        printf("\"counts\":{\"links_up\":%u,\"links_down\":%u,\"addresses_added\":%u,\"addresses_removed\":%u,"
               "\"routes_added\":%u,\"routes_removed\":%u},",
               n->links_up, n->links_down, n->addresses_added, n->addresses_removed, n->routes_added, n->routes_removed);
        print_address_list("removed", c->removed, c->n_removed);
        printf(",");
}

static void on_change(void *userdata, const struct netwatch_change *change) {
        struct probe *p = userdata;
        p->callbacks++;
        printf("{\"event\":\"change\",\"n\":%u,", p->callbacks);
        print_change(change);
        print_state(p);
        printf("}\n");
        fflush(stdout);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int usage(void) {
        fprintf(stderr, "usage: netwatch-probe [--debounce-ms N] [--debug] [--local ADDRESS]... [DESTINATION]...\n");
        return 2;
}

static int parse_arguments(int argc, char **argv, struct probe *p, long *ret_debounce_ms) {
        static const struct option options[] = {
                { "debounce-ms", required_argument, NULL, 'd' },
                { "debug", no_argument, NULL, 'D' },
                { "local", required_argument, NULL, 'l' },
                {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'd':
                        *ret_debounce_ms = strtol(optarg, NULL, 10);
                        if (*ret_debounce_ms <= 0)
                                return -EINVAL;
                        break;
                case 'D':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'l':
                        if (p->n_locals >= MAX_ADDRESSES || !parse_address(optarg, &p->locals[p->n_locals++]))
                                return -EINVAL;
                        break;
                default:
                        return -EINVAL;
                }
        }
        for (int i = optind; i < argc; i++)
                if (p->n_destinations >= MAX_ADDRESSES || !parse_address(argv[i], &p->destinations[p->n_destinations++]))
                        return -EINVAL;
        return 0;
}

static int run(struct probe *p, long debounce_ms) {
        sd_event *e = NULL;
        struct netwatch *w = NULL;
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if ((r = sd_event_new(&e)) < 0 || (r = sd_event_add_signal(e, NULL, SIGTERM, on_signal, NULL)) < 0 ||
            (r = sd_event_add_signal(e, NULL, SIGINT, on_signal, NULL)) < 0 || (r = netwatch_new(e, on_change, p, &w)) < 0) {
                log_error_errno(r, "netwatch-probe: cannot start");
                goto finish;
        }
        if (debounce_ms > 0)
                netwatch_set_debounce(w, (uint64_t) debounce_ms * 1000);
        printf("{\"event\":\"ready\",");
        print_state(p);
        printf("}\n");
        fflush(stdout);
        r = sd_event_loop(e);
finish:
        netwatch_free(w);
        sd_event_unref(e);
        return r;
}

int main(int argc, char **argv) {
        struct probe p = { 0 };
        long debounce_ms = 0;

        log_setup();
        if (parse_arguments(argc, argv, &p, &debounce_ms) < 0)
                return usage();
        return run(&p, debounce_ms) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
