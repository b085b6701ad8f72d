/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* firewall-probe: runs the firewall module (src/daemon/firewall.c) as the daemon would, with
 * requests from the command line, and prints one JSON object per command on stdout.
 *
 *   firewall-probe [--bus] COMMAND [OPTIONS] [COMMAND [OPTIONS]]...
 *
 *   --bus                      open the system bus (DBUS_SYSTEM_BUS_ADDRESS) for firewalld, on
 *                              the event loop
 *   --bus-later                the same, but given with firewall_set_bus() after firewall_new()
 *   apply [--client on|off] [--server on|off] [--nts-ke on|off] [--ignore PREFIX]... [--restrict RULE]...
 *                              firewall_apply(); PREFIX becomes the rule "PREFIX ignore", RULE is
 *                              any restrict rule ("default ignore", "192.0.2.0/24 nomodify");
 *                              --nts-ke on: NTS is served (TCP 4460 follows --server)
 *   read                       firewall_refresh_sync(), then the state (firewall_get_state())
 *   state                      the state as it is, without reading anything
 *   apply-async [OPTIONS]      firewall_apply_async() (options as apply), then runs the event loop
 *                              until it is answered; prints the answer and the state
 *   run MS                     runs the event loop for MS milliseconds (signals, read-backs);
 *                              prints how often the state changed
 *   remove                     firewall_remove()
 *   compile [--ignore P]... [--restrict R]...   firewall_compile_ignored() only
 *   drop-privileges            firewall_drop_privileges()
 *   caps                       this process's CapEff/CapPrm/CapBnd and NoNewPrivs
 *   pause                      prints {"command": "pause"} and waits for a line on stdin
 *
 * Exit status: 0 when every command returned >= 0, 1 otherwise, 2 on bad usage. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "firewall.h"
#include "log.h"
#include "core/restrict.h"
#include "json-write.h"

static void print_result(const char *command, int r, const struct firewall *f) {
        printf("{\"command\": ");
        json_write_string(stdout, command);
        printf(", \"result\": %d, \"error\": ", r);
        json_write_string(stdout, r < 0 ? (firewall_last_error(f)[0] ? firewall_last_error(f) : strerror(-r)) : "");
        printf(", \"backend\": ");
        json_write_string(stdout, firewall_backend_to_string(firewall_backend(f)));
        printf("}\n");
}

static void print_bool(const char *name, bool b) {
        printf(", \"%s\": %s", name, b ? "true" : "false");
}

static void print_state(const char *command, int r, const struct firewall *f) {
        const struct firewall_state *s = firewall_get_state(f);
        if (r < 0) {
                print_result(command, r, f);
                return;
        }
        printf("{\"command\": ");
        json_write_string(stdout, command);
        printf(", \"result\": %d, \"backend\": ", r);
        json_write_string(stdout, s->backend_name);
        printf(", \"client_state\": ");
        json_write_string(stdout, firewall_direction_state_to_string(s->client_state));
        printf(", \"server_state\": ");
        json_write_string(stdout, firewall_direction_state_to_string(s->server_state));
        printf(", \"state_reason\": ");
        json_write_string(stdout, s->state_reason);
        print_bool("known", s->known);
        print_bool("installed", s->installed);
        print_bool("client", s->client);
        print_bool("server", s->server);
        print_bool("nts_ke", s->nts_ke);
        print_bool("conntrack", s->conntrack);
        print_bool("permanent", s->permanent);
        printf(", \"ignored\": %u, \"ignored_packets\": %llu, \"helper_pid\": %d, \"zone\": ", s->n_ignored,
               (unsigned long long) s->ignored_packets, (int) s->helper_pid);
        json_write_string(stdout, s->zone);
        printf(", \"warning\": ");
        json_write_string(stdout, s->warning);
        printf(", \"reason\": ");
        json_write_string(stdout, s->reason);
        printf("}\n");
}

static int print_caps(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        if (!f)
                return -errno;
        printf("{\"command\": \"caps\", \"result\": 0");
        while (fgets(line, sizeof(line), f)) {
                char key[64], value[128];
                if (sscanf(line, "%63[^:]:%*[ \t]%127s", key, value) != 2)
                        continue;
                if (strcmp(key, "CapEff") && strcmp(key, "CapPrm") && strcmp(key, "CapBnd") && strcmp(key, "CapAmb") &&
                    strcmp(key, "CapInh") && strcmp(key, "NoNewPrivs"))
                        continue;
                printf(", ");
                json_write_string(stdout, key);
                printf(": ");
                json_write_string(stdout, value);
        }
        fclose(f);
        printf("}\n");
        return 0;
}

static void print_ranges(const struct firewall_range *r, size_t n, int result) {
        printf("{\"command\": \"compile\", \"result\": %d, \"ranges\": [", result);
        for (size_t i = 0; i < n; i++) {
                char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
                inet_ntop(r[i].family, r[i].start, a, sizeof(a));
                inet_ntop(r[i].family, r[i].end, b, sizeof(b));
                printf("%s[\"%s\", \"%s\"]", i ? ", " : "", a, b);
        }
        printf("]}\n");
}

static bool is_command(const char *s) {
        static const char *const commands[] = { "apply", "apply-async", "read", "state", "run", "remove", "compile",
                                               "drop-privileges", "caps", "pause", NULL };
        for (size_t i = 0; commands[i]; i++)
                if (strcmp(s, commands[i]) == 0)
                        return true;
        return false;
}

static int parse_on_off(const char *s, bool *ret) {
        if (s && strcmp(s, "on") == 0)
                *ret = true;
        else if (s && strcmp(s, "off") == 0)
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

/* Options of apply/compile from argv[*i] on, up to the next command. */
static int parse_request(int argc, char *argv[], int *i, struct firewall_request *req, struct restrict_set *set) {
        restrict_set_init(set);
        req->restricts = set;
        while (*i < argc && !is_command(argv[*i])) {
                const char *opt = argv[(*i)++];
                const char *arg = *i < argc ? argv[(*i)++] : NULL;
                char text[160];
                if (!arg) {
                        fprintf(stderr, "%s needs an argument\n", opt);
                        return -EINVAL;
                }
                if (strcmp(opt, "--client") == 0) {
                        if (parse_on_off(arg, &req->client) < 0)
                                return -EINVAL;
                } else if (strcmp(opt, "--server") == 0) {
                        if (parse_on_off(arg, &req->server) < 0)
                                return -EINVAL;
                } else if (strcmp(opt, "--nts-ke") == 0) {
                        if (parse_on_off(arg, &req->nts_ke) < 0)
                                return -EINVAL;
                } else if (strcmp(opt, "--ignore") == 0 || strcmp(opt, "--restrict") == 0) {
                        struct restrict_rule rule;
                        struct restrict_messages messages;
                        snprintf(text, sizeof(text), "%s%s", arg, strcmp(opt, "--ignore") == 0 ? " ignore" : "");
                        if (restrict_rule_parse(text, &rule, &messages) < 0 || restrict_set_add(set, &rule) < 0) {
                                fprintf(stderr, "bad restrict rule '%s': %s\n", text, messages.error[0] ? messages.error : "set full");
                                return -EINVAL;
                        }
                } else {
                        fprintf(stderr, "unknown option %s\n", opt);
                        return -EINVAL;
                }
        }
        return 0;
}

struct answer {
        bool done;
        int r;
        char why[1024];
};

static void on_applied(void *userdata, int r, const char *why) {
        struct answer *a = userdata;
        a->done = true;
        a->r = r;
        snprintf(a->why, sizeof(a->why), "%s", why);
}

static void on_changed(struct firewall *f, void *userdata) {
        unsigned *changes = userdata;
        (*changes)++;
}

/* Runs the loop until *done or for at most usec. */
static void run_loop(sd_event *e, const bool *done, uint64_t usec) {
        uint64_t start = 0, now = 0;
        (void) sd_event_now(e, CLOCK_MONOTONIC, &start);
        while (!(done && *done)) {
                (void) sd_event_now(e, CLOCK_MONOTONIC, &now);
                if (now - start >= usec)
                        break;
                if (sd_event_run(e, usec - (now - start)) < 0)
                        break;
        }
}

static int apply_async(sd_event *e, struct firewall *f, const struct firewall_request *req) {
        struct answer a = {};
        int r = firewall_apply_async(f, req, 0, on_applied, &a);
        if (r < 0) {
                print_result("apply-async", r, f);
                return r;
        }
        run_loop(e, &a.done, 120ULL * 1000000);
        printf("{\"command\": \"apply-async\", \"result\": %d, \"error\": ", a.done ? a.r : -ETIME);
        json_write_string(stdout, a.done ? a.why : "no answer within 120 s");
        printf("}\n");
        print_state("state", 0, f);
        return a.done ? a.r : -ETIME;
}

int main(int argc, char *argv[]) {
        sd_event *e = NULL;
        sd_bus *bus = NULL;
        struct firewall *f = NULL;
        struct restrict_set *set = malloc(sizeof(*set));
        int i = 1, status = 0, r;

        log_setup();
        log_set_max_level(LOG_DEBUG);
        if (!set || sd_event_default(&e) < 0)
                return 1;
        bool later = false;
        if (i < argc && (strcmp(argv[i], "--bus") == 0 || strcmp(argv[i], "--bus-later") == 0)) {
                later = strcmp(argv[i], "--bus-later") == 0;
                i++;
                r = sd_bus_open_system(&bus);
                if (r >= 0)
                        r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL);
                if (r < 0) {
                        fprintf(stderr, "cannot open the system bus: %s\n", strerror(-r));
                        return 1;
                }
        }
        r = firewall_new(e, later ? NULL : bus, &f);
        if (r < 0) {
                fprintf(stderr, "firewall_new: %s\n", strerror(-r));
                return 1;
        }
        unsigned changes = 0;
        firewall_set_change_callback(f, on_changed, &changes);
        if (later)
                (void) firewall_set_bus(f, bus);
        while (i < argc) {
                const char *cmd = argv[i++];
                struct firewall_request req = { .client = true, .server = false };
                if (strcmp(cmd, "apply") == 0) {
                        if (parse_request(argc, argv, &i, &req, set) < 0) {
                                status = 2;
                                break;
                        }
                        r = firewall_apply(f, &req);
                        print_result(cmd, r, f);
                } else if (strcmp(cmd, "apply-async") == 0) {
                        if (parse_request(argc, argv, &i, &req, set) < 0) {
                                status = 2;
                                break;
                        }
                        r = apply_async(e, f, &req);
                } else if (strcmp(cmd, "run") == 0) {
                        unsigned long ms = i < argc ? strtoul(argv[i++], NULL, 10) : 0;
                        unsigned before = changes;
                        run_loop(e, NULL, (uint64_t) ms * 1000);
                        printf("{\"command\": \"run\", \"result\": 0, \"changes\": %u}\n", changes - before);
                        r = 0;
                } else if (strcmp(cmd, "state") == 0) {
                        print_state(cmd, 0, f);
                        r = 0;
                } else if (strcmp(cmd, "compile") == 0) {
                        struct firewall_range ranges[64];
                        size_t n = 0;
                        if (parse_request(argc, argv, &i, &req, set) < 0) {
                                status = 2;
                                break;
                        }
                        r = firewall_compile_ignored(set, ranges, 64, &n);
                        print_ranges(ranges, r < 0 ? 0 : n, r);
                } else if (strcmp(cmd, "read") == 0) {
                        r = firewall_refresh_sync(f);
                        print_state(cmd, r, f);
                } else if (strcmp(cmd, "remove") == 0) {
                        r = firewall_remove(f);
                        print_result(cmd, r, f);
                } else if (strcmp(cmd, "drop-privileges") == 0) {
                        r = firewall_drop_privileges();
                        print_result(cmd, r, f);
                } else if (strcmp(cmd, "caps") == 0)
                        r = print_caps();
                else if (strcmp(cmd, "pause") == 0) {
                        char line[16];
                        printf("{\"command\": \"pause\", \"result\": 0}\n");
                        fflush(stdout);
                        r = fgets(line, sizeof(line), stdin) ? 0 : 0;
                }
                else {
                        fprintf(stderr, "unknown command %s\n", cmd);
                        status = 2;
                        break;
                }
                fflush(stdout);
                if (r < 0 && status == 0)
                        status = 1;
        }
        firewall_free(f);
        sd_bus_flush_close_unref(bus);
        sd_event_unref(e);
        free(set);
        return status;
}
