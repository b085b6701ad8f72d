/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ntpsync-sim: runs one scenario of the simulator, for one seed or a range of them. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "json-write.h"

#define EXIT_USAGE 2
#define MAX_SEEDS 100000

struct options {
        bool list;
        bool json;
        bool trace;
        const char *scenario;
        uint64_t seed_first, seed_last;
        bool seed_given, seeds_given;
};

/* The figures reported per run, in output order. */
enum figure {
        FIGURE_SYNC_TIME,
        FIGURE_RMS_OFFSET,
        FIGURE_MAX_OFFSET,
        FIGURE_RMS_FREQUENCY,
        FIGURE_STEPS,
        FIGURE_PACKETS,
        _FIGURE_MAX,
};

static const struct {
        const char *key;
        const char *label;
} figures[_FIGURE_MAX] = {
        [FIGURE_SYNC_TIME] = { "sync_time", "time to synchronize (s)" },
        [FIGURE_RMS_OFFSET] = { "rms_offset", "RMS offset (s)" },
        [FIGURE_MAX_OFFSET] = { "max_offset", "maximum offset (s)" },
        [FIGURE_RMS_FREQUENCY] = { "rms_freq_ppm", "RMS frequency error (ppm)" },
        [FIGURE_STEPS] = { "steps", "steps" },
        [FIGURE_PACKETS] = { "packets", "packets" },
};

/* Never synchronized sorts after every real time. */
static double figure_value(const struct sim_metrics *m, enum figure f) {
        switch (f) {
        case FIGURE_SYNC_TIME: return m->sync_time < 0 ? INFINITY : m->sync_time;
        case FIGURE_RMS_OFFSET: return m->rms_offset;
        case FIGURE_MAX_OFFSET: return m->max_offset;
        case FIGURE_RMS_FREQUENCY: return m->rms_frequency_ppm;
        case FIGURE_STEPS: return m->steps;
        case FIGURE_PACKETS: return (double) m->packets;
        default: return NAN;
        }
}

static void help(void) {
        printf("Usage: ntpsync-sim --list\n"
               "       ntpsync-sim --scenario NAME [--seed N | --seeds A-B] [--json | --trace]\n"
               "\n"
               "Runs the ntpsync engine in virtual time against a modelled clock, network and servers.\n"
               "\n"
               "  --list            name the scenarios\n"
               "  --scenario NAME   run this scenario\n"
               "  --seed N          seed of the run (default 1)\n"
               "  --seeds A-B       run seeds A to B, report minimum, median and maximum\n"
               "  --json            one JSON object instead of text\n"
               "  --trace           also print every per-second sample, tab-separated\n"
               "  --help            this text\n");
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "ntpsync-sim: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'ntpsync-sim --help'.\n");
        return -EINVAL;
}

static bool parse_u64(const char *s, uint64_t *ret) {
        char *end;

        if (!s || *s < '0' || *s > '9')
                return false;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return false;
        *ret = v;
        return true;
}

static int parse_seed_range(const char *arg, struct options *o) {
        const char *dash = strchr(arg, '-');
        char first[32];

        if (!dash || (size_t) (dash - arg) >= sizeof first)
                return usage_error("--seeds wants A-B, got '%s'", arg);
        memcpy(first, arg, (size_t) (dash - arg));
        first[dash - arg] = '\0';
        if (!parse_u64(first, &o->seed_first) || !parse_u64(dash + 1, &o->seed_last))
                return usage_error("--seeds wants two unsigned numbers A-B, got '%s'", arg);
        if (o->seed_first > o->seed_last)
                return usage_error("--seeds range '%s' is empty", arg);
        if (o->seed_last - o->seed_first >= MAX_SEEDS)
                return usage_error("--seeds range '%s' is too long", arg);
        return 0;
}

static int parse_options(int argc, char *argv[], struct options *o) {
        enum { OPT_SEEDS = 0x100 };
        static const struct option long_options[] = {
                { "list", no_argument, NULL, 'l' },
                { "scenario", required_argument, NULL, 's' },
                { "seed", required_argument, NULL, 'S' },
                { "seeds", required_argument, NULL, OPT_SEEDS },
                { "json", no_argument, NULL, 'j' },
                { "trace", no_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c, r;

        *o = (struct options) { .seed_first = 1, .seed_last = 1 };
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":", long_options, NULL)) >= 0) {
                switch (c) {
                case 'l':
                        o->list = true;
                        break;
                case 's':
                        o->scenario = optarg;
                        break;
                case 'S':
                        if (!parse_u64(optarg, &o->seed_first))
                                return usage_error("--seed wants an unsigned number, got '%s'", optarg);
                        o->seed_last = o->seed_first;
                        o->seed_given = true;
                        break;
                case OPT_SEEDS:
                        r = parse_seed_range(optarg, o);
                        if (r < 0)
                                return r;
                        o->seeds_given = true;
                        break;
                case 'j':
                        o->json = true;
                        break;
                case 't':
                        o->trace = true;
                        break;
                case 'h':
                        help();
                        exit(EXIT_SUCCESS);
                case ':':
                        return usage_error("option '%s' needs an argument", argv[optind - 1]);
                default:
                        return usage_error("unknown option '%s'", argv[optind - 1]);
                }
        }

        if (optind < argc)
                return usage_error("unexpected argument '%s'", argv[optind]);
        if (o->seed_given && o->seeds_given)
                return usage_error("--seed and --seeds exclude each other");
        if (o->trace && (o->json || o->seeds_given))
                return usage_error("--trace goes with a single run in text form");
        if (o->list && o->scenario)
                return usage_error("--list and --scenario exclude each other");
        if (!o->list && !o->scenario)
                return usage_error("nothing to do: give --list or --scenario NAME");
        return 0;
}

static void list_scenarios(void) {
        for (size_t i = 0; i < sim_n_scenarios; i++)
                printf("%-20s %s\n", sim_scenarios[i].name, sim_scenarios[i].description);
}

/* JSON has no infinity: a sync time that never came is -1. */
static void print_json_number(double v) {
        if (isinf(v) && v > 0)
                printf("-1");
        else if (!isfinite(v))
                printf("null");
        else
                printf("%.9g", v);
}

static void print_run_json(const char *name, uint64_t seed, const struct sim_metrics *m) {
        printf("{\"scenario\": ");
        json_write_string(stdout, name);
        printf(", \"seed\": %" PRIu64, seed);
        for (enum figure f = 0; f < _FIGURE_MAX; f++) {
                printf(", \"%s\": ", figures[f].key);
                print_json_number(figure_value(m, f));
        }
        printf(", \"synchronized\": %s, \"unsync_reason\": ", m->synchronized ? "true" : "false");
        if (m->unsync_reason)
                json_write_string(stdout, m->unsync_reason);
        else
                printf("null");
        printf(", \"kernel_synchronized\": %s, \"kernel_est_error\": ", m->kernel_synchronized ? "true" : "false");
        print_json_number(m->kernel_est_error);
        printf(", \"replies\": %" PRIu64 ", \"replies_rejected\": %" PRIu64, m->replies, m->replies_rejected);
        printf(", \"system_peer\": %d, \"final_offset\": ", m->system_peer);
        print_json_number(m->final_offset);
        printf(", \"max_correction\": ");
        print_json_number(m->max_correction);
        printf("}\n");
}

static void print_run_text(const struct sim_scenario *s, uint64_t seed, const struct sim_metrics *m) {
        printf("scenario %s, seed %" PRIu64 " (RMS and maximum over samples after %g s)\n", s->name, seed,
               s->metrics_after);
        if (m->sync_time < 0)
                printf("  %-27s never\n", figures[FIGURE_SYNC_TIME].label);
        else
                printf("  %-27s %g\n", figures[FIGURE_SYNC_TIME].label, m->sync_time);
        for (enum figure f = FIGURE_RMS_OFFSET; f < _FIGURE_MAX; f++)
                printf("  %-27s %.6g\n", figures[f].label, figure_value(m, f));
        printf("  %-27s %" PRIu64 " (%" PRIu64 " rejected)\n", "replies", m->replies, m->replies_rejected);
        printf("  %-27s %.6g\n", "final offset (s)", m->final_offset);
        printf("  %-27s %s%s%s\n", "engine synchronized", m->synchronized ? "yes" : "no",
               m->unsync_reason ? ": " : "", m->unsync_reason ? m->unsync_reason : "");
        printf("  %-27s %s\n", "kernel told synchronized", m->kernel_synchronized ? "yes" : "no");
        if (m->system_peer >= 0)
                printf("  %-27s server%d\n", "system peer", m->system_peer);
}

/* One line per sample: what the clock did, and what the engine said of itself and its sources. */
static void print_trace(const struct sim_result *r) {
        printf("# t\toffset\tfreq_ppm\tcorrection\tsync\tpackets");
        for (unsigned i = 0; i < r->n_servers; i++)
                printf("\ts%u:state/tally/reach/poll", i);
        printf("\n");
        for (size_t k = 0; k < r->n_samples; k++) {
                const struct sim_sample *s = &r->samples[k];
                printf("%g\t%.9f\t%.4f\t%.9f\t%d\t%" PRIu64, s->t, s->offset, s->frequency_error_ppm,
                       s->correction, s->synchronized, s->packets);
                for (unsigned i = 0; i < r->n_servers; i++) {
                        const struct sim_source_sample *src = sim_result_source(r, k, i);
                        printf("\t%s/%c/%03o/%d", engine_source_state_to_string(src->state), src->tally,
                               src->reach, src->poll);
                }
                printf("\n");
        }
}

static int compare_doubles(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

struct summary {
        double min, median, max;
};

static struct summary summarize(double *v, size_t n) {
        qsort(v, n, sizeof *v, compare_doubles);
        double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        return (struct summary) { v[0], median, v[n - 1] };
}

static void print_summary_text(const char *label, struct summary s) {
        printf("  %-27s", label);
        const double values[] = { s.min, s.median, s.max };
        for (size_t i = 0; i < 3; i++) {
                if (isinf(values[i]))
                        printf(" %12s", "never");
                else
                        printf(" %12.6g", values[i]);
        }
        printf("\n");
}

static int run_seeds(const struct sim_scenario *s, const struct options *o) {
        size_t n = (size_t) (o->seed_last - o->seed_first + 1);
        double *values = calloc(n * _FIGURE_MAX, sizeof *values);
        size_t synchronized = 0;

        if (!values) {
                fprintf(stderr, "ntpsync-sim: out of memory\n");
                return EXIT_FAILURE;
        }

        for (size_t i = 0; i < n; i++) {
                struct sim_result res;
                int r = sim_run(s, o->seed_first + i, &res);
                if (r < 0) {
                        fprintf(stderr, "ntpsync-sim: scenario %s, seed %" PRIu64 ": %s\n", s->name,
                                o->seed_first + i, sim_error_to_string(r));
                        free(values);
                        return EXIT_FAILURE;
                }
                for (enum figure f = 0; f < _FIGURE_MAX; f++)
                        values[f * n + i] = figure_value(&res.metrics, f);
                synchronized += res.metrics.synchronized;
                sim_result_done(&res);
        }

        if (o->json) {
                printf("{\"scenario\": ");
                json_write_string(stdout, s->name);
                printf(", \"seeds\": [%" PRIu64 ", %" PRIu64 "], \"runs\": %zu, \"synchronized_runs\": %zu",
                       o->seed_first, o->seed_last, n, synchronized);
                for (enum figure f = 0; f < _FIGURE_MAX; f++) {
                        struct summary sum = summarize(values + f * n, n);
                        printf(", \"%s\": {\"min\": ", figures[f].key);
                        print_json_number(sum.min);
                        printf(", \"median\": ");
                        print_json_number(sum.median);
                        printf(", \"max\": ");
                        print_json_number(sum.max);
                        printf("}");
                }
                printf("}\n");
        } else {
                printf("scenario %s, seeds %" PRIu64 "-%" PRIu64 ": %zu of %zu runs synchronized at the end "
                       "(RMS and maximum over samples after %g s)\n",
                       s->name, o->seed_first, o->seed_last, synchronized, n, s->metrics_after);
                printf("  %-27s %12s %12s %12s\n", "", "min", "median", "max");
                for (enum figure f = 0; f < _FIGURE_MAX; f++)
                        print_summary_text(figures[f].label, summarize(values + f * n, n));
        }
        free(values);
        return EXIT_SUCCESS;
}

static int run_one(const struct sim_scenario *s, const struct options *o) {
        struct sim_result res;
        int r = sim_run(s, o->seed_first, &res);

        if (r < 0) {
                fprintf(stderr, "ntpsync-sim: scenario %s, seed %" PRIu64 ": %s\n", s->name, o->seed_first,
                        sim_error_to_string(r));
                return EXIT_FAILURE;
        }
        if (o->trace)
                print_trace(&res);
        if (o->json)
                print_run_json(s->name, o->seed_first, &res.metrics);
        else
                print_run_text(s, o->seed_first, &res.metrics);
        sim_result_done(&res);
        return EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        struct options o;

        if (parse_options(argc, argv, &o) < 0)
                return EXIT_USAGE;
        if (o.list) {
                list_scenarios();
                return EXIT_SUCCESS;
        }

        const struct sim_scenario *s = sim_scenario_find(o.scenario);
        if (!s) {
                fprintf(stderr, "ntpsync-sim: no scenario named '%s'; --list names them\n", o.scenario);
                return EXIT_USAGE;
        }
        return o.seeds_given ? run_seeds(s, &o) : run_one(s, &o);
}
