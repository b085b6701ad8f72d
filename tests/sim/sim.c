/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* ---- the network ---- */

bool sim_path_transit(const struct sim_path *p, struct sim_rng *rng, double *ret_delay) {
        if (p->loss > 0 && sim_rng_uniform(rng) < p->loss)
                return false;
        double delay = p->delay;
        if (p->jitter_mean > 0)
                delay += sim_rng_exponential(rng, p->jitter_mean);
        *ret_delay = delay;
        return true;
}

/* ---- metrics ---- */

static bool sample_in_sync(const struct sim_sample *s) {
        return fabs(s->offset) < SIM_SYNC_MAX_OFFSET && fabs(s->frequency_error_ppm) < SIM_SYNC_MAX_FREQUENCY;
}

static double sync_time_of(const struct sim_sample *samples, size_t n) {
        size_t first_good = 0;

        for (size_t i = 0; i < n; i++)
                if (!sample_in_sync(&samples[i]))
                        first_good = i + 1;
        return first_good < n ? samples[first_good].t : -1;
}

void sim_metrics_from_samples(const struct sim_sample *samples, size_t n, double after,
                              struct sim_metrics *ret) {
        double sum_offset2 = 0, max_offset = 0, sum_freq2 = 0;
        size_t count = 0;

        for (size_t i = 0; i < n; i++) {
                if (!(samples[i].t > after))
                        continue;
                double a = fabs(samples[i].offset);
                sum_offset2 += a * a;
                max_offset = fmax(max_offset, a);
                sum_freq2 += samples[i].frequency_error_ppm * samples[i].frequency_error_ppm;
                count++;
        }

        ret->sync_time = sync_time_of(samples, n);
        ret->rms_offset = count > 0 ? sqrt(sum_offset2 / count) : 0;
        ret->max_offset = max_offset;
        ret->rms_frequency_ppm = count > 0 ? sqrt(sum_freq2 / count) : 0;
}

/* ---- packets in flight: a binary heap ordered by arrival time, then by sending order ---- */

enum packet_kind {
        PACKET_REQUEST,              /* arrives at the server */
        PACKET_REPLY,                /* arrives at the client */
};

struct packet_event {
        int64_t t_ns;
        uint64_t seq;
        enum packet_kind kind;
        unsigned server;
        uint8_t buf[NTP_HEADER_SIZE];
        size_t len;
};

struct packet_queue {
        struct packet_event *v;
        size_t n, allocated;
        uint64_t next_seq;
};

static bool packet_before(const struct packet_event *a, const struct packet_event *b) {
        return a->t_ns < b->t_ns || (a->t_ns == b->t_ns && a->seq < b->seq);
}

static void packet_swap(struct packet_event *a, struct packet_event *b) {
        struct packet_event t = *a;
        *a = *b;
        *b = t;
}

static int queue_push(struct packet_queue *q, struct packet_event ev) {
        if (q->n == q->allocated) {
                size_t allocated = q->allocated ? q->allocated * 2 : 64;
                struct packet_event *v = realloc(q->v, allocated * sizeof *v);
                if (!v)
                        return -ENOMEM;
                q->v = v;
                q->allocated = allocated;
        }

        ev.seq = q->next_seq++;
        size_t i = q->n++;
        q->v[i] = ev;
        while (i > 0 && packet_before(&q->v[i], &q->v[(i - 1) / 2])) {
                packet_swap(&q->v[i], &q->v[(i - 1) / 2]);
                i = (i - 1) / 2;
        }
        return 0;
}

static struct packet_event queue_pop(struct packet_queue *q) {
        struct packet_event top = q->v[0];

        q->v[0] = q->v[--q->n];
        for (size_t i = 0;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                if (l < q->n && packet_before(&q->v[l], &q->v[m]))
                        m = l;
                if (r < q->n && packet_before(&q->v[r], &q->v[m]))
                        m = r;
                if (m == i)
                        break;
                packet_swap(&q->v[i], &q->v[m]);
                i = m;
        }
        return top;
}

static int64_t queue_next_time(const struct packet_queue *q) {
        return q->n > 0 ? q->v[0].t_ns : INT64_MAX;
}

/* ---- the run ---- */

/* An engine asking to run again at the very instant it just ran, this many times, is stuck. */
#define MAX_RUNS_AT_ONE_INSTANT 1000

/* What an interleaving server remembers of its client (one per server in a scenario). */
struct server_state {
        bool known;
        ntp_ts last_rx;              /* its receive timestamp of the last request */
        int64_t last_departure_ns;   /* when its reply really left, by its clock */
};

struct simulation {
        const struct sim_scenario *scenario;
        struct server_state servers[SIM_MAX_SERVERS];
        int64_t start_unix_ns;
        int64_t now_ns;
        struct sim_rng network_rng, clock_rng, engine_rng;
        struct sim_clock clock;
        engine *engine;
        uint32_t source_ids[SIM_MAX_SERVERS];
        struct packet_queue queue;
        unsigned steps;
        uint64_t packets, replies, replies_rejected;
        struct engine_action last_status; /* the kernel status is only recorded */
        unsigned status_updates;
        double last_sample_offset, last_sample_steps;
        struct sim_result *result;
};

static int64_t seconds_to_ns_rounded(double s) {
        return llround(s * 1e9);
}

static int server_of_source(const struct simulation *sim, uint32_t id) {
        for (unsigned i = 0; i < sim->scenario->n_servers; i++)
                if (sim->source_ids[i] == id)
                        return (int) i;
        return -1;
}

static int64_t local_now_ns(const struct simulation *sim) {
        return sim_clock_read_ns(&sim->clock, sim->start_unix_ns);
}

static int send_request(struct simulation *sim, const struct engine_action *a) {
        int server = server_of_source(sim, a->source_id);

        sim->packets++;
        engine_request_sent(sim->engine, a->source_id, local_now_ns(sim));
        if (server < 0 || a->packet_len > NTP_HEADER_SIZE)
                return 0;

        double delay;
        if (!sim_path_transit(&sim->scenario->servers[server].to_server, &sim->network_rng, &delay))
                return 0;

        struct packet_event ev = {
                .t_ns = sim->now_ns + seconds_to_ns_rounded(delay),
                .kind = PACKET_REQUEST,
                .server = (unsigned) server,
                .len = a->packet_len,
        };
        memcpy(ev.buf, a->packet, a->packet_len);
        return queue_push(&sim->queue, ev);
}

static int carry_out_actions(struct simulation *sim) {
        struct engine_action a;

        while (engine_next_action(sim->engine, &a)) {
                switch (a.kind) {
                case ENGINE_ACTION_SEND: {
                        int r = send_request(sim, &a);
                        if (r < 0)
                                return r;
                        break;
                }
                case ENGINE_ACTION_SET_FREQUENCY:
                        sim_clock_set_frequency(&sim->clock, a.frequency_ppm);
                        break;
                case ENGINE_ACTION_SLEW:
                        sim_clock_slew(&sim->clock, a.offset, a.time_constant);
                        break;
                case ENGINE_ACTION_STEP:
                        sim_clock_step(&sim->clock, a.offset);
                        sim->steps++;
                        break;
                case ENGINE_ACTION_SET_STATUS:
                        sim->last_status = a;
                        sim->status_updates++;
                        break;
                }
        }
        return 0;
}

static bool server_is_down(const struct sim_server *s, double t) {
        return t >= s->down_from && t < s->down_until;
}

/* An interleaved request names, as its origin, the receive timestamp of the request before it. */
static bool answers_interleaved(const struct sim_server *server, const struct server_state *state,
                                const struct ntp_packet *req) {
        return server->interleaved && state->known && req->origin_ts == state->last_rx &&
               req->receive_ts != req->transmit_ts;
}

static int64_t transmit_delay_ns(struct simulation *sim, const struct sim_server *server) {
        double span = server->tx_delay_max - server->tx_delay_min;
        if (server->tx_delay_max <= 0)
                return 0;
        return seconds_to_ns_rounded(server->tx_delay_min + span * sim_rng_uniform(&sim->network_rng));
}

static int answer_request(struct simulation *sim, const struct packet_event *req_ev) {
        const struct sim_server *server = &sim->scenario->servers[req_ev->server];
        struct server_state *state = &sim->servers[req_ev->server];
        struct ntp_packet req;

        if (server_is_down(server, ns_to_seconds(sim->now_ns)))
                return 0;
        if (ntp_packet_parse(req_ev->buf, req_ev->len, &req) != NTP_PARSE_OK || req.mode != NTP_MODE_CLIENT)
                return 0;

        int64_t server_ns = sim->start_unix_ns + sim->now_ns + seconds_to_ns_rounded(server->offset);
        int64_t processing_ns = seconds_to_ns_rounded(SIM_SERVER_PROCESSING);
        int64_t leaves_after_ns = processing_ns + transmit_delay_ns(sim, server);
        bool interleaved = answers_interleaved(server, state, &req);
        struct ntp_packet reply = {
                .leap = NTP_LEAP_NONE,
                .version = req.version,
                .mode = NTP_MODE_SERVER,
                .stratum = 1,
                .poll = req.poll,
                .precision = -20,
                .root_delay = 0,
                .root_dispersion = ntp_short_from_seconds(1e-5),
                .refid = ntp_refid_from_ascii("GPS"),
                .reference_ts = ntp_ts_from_unix_ns(server_ns - 8 * NS_PER_SEC),
                .origin_ts = interleaved ? req.receive_ts : req.transmit_ts,
                .receive_ts = ntp_ts_from_unix_ns(server_ns),
                .transmit_ts = interleaved ? ntp_ts_from_unix_ns(state->last_departure_ns)
                                           : ntp_ts_from_unix_ns(server_ns + processing_ns),
        };
        *state = (struct server_state) {
                .known = true,
                .last_rx = reply.receive_ts,
                .last_departure_ns = server_ns + leaves_after_ns,
        };

        double delay;
        if (!sim_path_transit(&server->to_client, &sim->network_rng, &delay))
                return 0;

        struct packet_event ev = {
                .t_ns = sim->now_ns + leaves_after_ns + seconds_to_ns_rounded(delay),
                .kind = PACKET_REPLY,
                .server = req_ev->server,
        };
        ev.len = ntp_packet_write(&reply, ev.buf);
        return queue_push(&sim->queue, ev);
}

static int deliver_packet(struct simulation *sim, const struct packet_event *ev) {
        if (ev->kind == PACKET_REQUEST)
                return answer_request(sim, ev);

        enum response_result r = engine_receive(sim->engine, sim->source_ids[ev->server], ev->buf, ev->len,
                                                local_now_ns(sim), sim->now_ns);
        sim->replies++;
        if (r != RESPONSE_OK)
                sim->replies_rejected++;
        return carry_out_actions(sim);
}

static void take_sample(struct simulation *sim, size_t index) {
        struct sim_result *res = sim->result;
        struct sim_sample *s = &res->samples[index];
        struct engine_status status;

        engine_get_status(sim->engine, sim->now_ns, &status);

        /* The rate over the last second, without steps: what an outside observer sees the clock do. */
        double rate = index == 0 ? sim_clock_rate(&sim->clock)
                                 : (sim->clock.offset - sim->last_sample_offset) -
                                   (sim->clock.steps_total - sim->last_sample_steps);
        sim->last_sample_offset = sim->clock.offset;
        sim->last_sample_steps = sim->clock.steps_total;

        *s = (struct sim_sample) {
                .t = ns_to_seconds(sim->now_ns),
                .offset = sim->clock.offset,
                .frequency_error_ppm = rate * 1e6,
                .correction = sim->clock.offset - sim->clock.free_offset,
                .synchronized = status.synchronized,
                .packets = sim->packets,
        };

        for (unsigned i = 0; i < res->n_servers; i++) {
                struct engine_source_info info;
                struct sim_source_sample *ss = &res->source_samples[index * res->n_servers + i];

                if (engine_get_source(sim->engine, sim->source_ids[i], &info) < 0) {
                        *ss = (struct sim_source_sample) { .state = SOURCE_STATE_NEW, .tally = '?' };
                        continue;
                }
                *ss = (struct sim_source_sample) {
                        .state = info.state,
                        .reach = info.reach,
                        .poll = info.poll,
                        .tally = info.tally,
                };
        }
}

static int64_t engine_wakeup_time(const struct simulation *sim) {
        int64_t w = engine_next_wakeup(sim->engine);

        if (w < 0)
                return INT64_MAX; /* nothing scheduled */
        return w < sim->now_ns ? sim->now_ns : w;
}

/* The event loop: packets in flight, engine wakeups and the once-a-second samples, in time order. */
static int run_events(struct simulation *sim, size_t n_samples) {
        size_t next_sample = 0;
        unsigned runs_at_this_instant = 0;
        int64_t last_run_ns = -1;

        while (next_sample < n_samples) {
                int64_t t_sample = (int64_t) next_sample * NS_PER_SEC;
                int64_t t_packet = queue_next_time(&sim->queue);
                int64_t t_wakeup = engine_wakeup_time(sim);
                int64_t t = t_sample;
                if (t_packet < t)
                        t = t_packet;
                if (t_wakeup < t)
                        t = t_wakeup;

                sim_clock_advance(&sim->clock, t);
                sim->now_ns = t;

                if (t_packet == t) {
                        struct packet_event ev = queue_pop(&sim->queue);
                        int r = deliver_packet(sim, &ev);
                        if (r < 0)
                                return r;
                } else if (t_wakeup == t) {
                        runs_at_this_instant = t == last_run_ns ? runs_at_this_instant + 1 : 0;
                        if (runs_at_this_instant >= MAX_RUNS_AT_ONE_INSTANT)
                                return -ELOOP;
                        last_run_ns = t;
                        engine_run(sim->engine, t);
                        int r = carry_out_actions(sim);
                        if (r < 0)
                                return r;
                } else
                        take_sample(sim, next_sample++);
        }
        return 0;
}

static int add_servers(struct simulation *sim) {
        const struct sim_scenario *s = sim->scenario;

        for (unsigned i = 0; i < s->n_servers; i++) {
                char name[32];
                snprintf(name, sizeof name, "server%u", i);
                struct engine_source_config sc = {
                        .name = name,
                        .refid = UINT32_C(0xc0000201) + i, /* 192.0.2.1, .2, ... */
                        .iburst = s->iburst,
                        .xleave = s->xleave,
                };
                int64_t id = engine_add_source(sim->engine, &sc, 0);
                if (id < 0)
                        return (int) id;
                sim->source_ids[i] = (uint32_t) id;
        }
        return 0;
}

static void finish_metrics(struct simulation *sim) {
        struct sim_result *res = sim->result;
        struct sim_metrics *m = &res->metrics;
        struct engine_status status;

        sim_metrics_from_samples(res->samples, res->n_samples, sim->scenario->metrics_after, m);
        m->steps = sim->steps;
        m->packets = sim->packets;
        m->replies = sim->replies;
        m->replies_rejected = sim->replies_rejected;
        m->kernel_synchronized = sim->status_updates > 0 && sim->last_status.synchronized;
        m->kernel_est_error = sim->status_updates > 0 ? sim->last_status.est_error : 16;
        m->status_updates = sim->status_updates;
        m->final_offset = res->n_samples > 0 ? res->samples[res->n_samples - 1].offset : 0;
        m->max_correction = 0;
        for (size_t i = 0; i < res->n_samples; i++)
                m->max_correction = fmax(m->max_correction, fabs(res->samples[i].correction));

        engine_get_status(sim->engine, sim->now_ns, &status);
        m->synchronized = status.synchronized;
        m->unsync_reason = status.synchronized ? NULL : status.unsync_reason;
        m->system_peer = status.system_peer >= 0 ? server_of_source(sim, (uint32_t) status.system_peer) : -1;
}

static int simulation_start(struct simulation *sim, const struct sim_scenario *s, uint64_t seed,
                            struct sim_result *res) {
        struct engine_config config;
        uint64_t seeds = seed;

        *sim = (struct simulation) {
                .scenario = s,
                .start_unix_ns = s->start_unix * NS_PER_SEC,
                .result = res,
        };
        /* Separate streams, so that what the engine draws does not change the network's luck. */
        sim_rng_seed(&sim->network_rng, sim_splitmix64(&seeds));
        sim_rng_seed(&sim->clock_rng, sim_splitmix64(&seeds));
        sim_rng_seed(&sim->engine_rng, sim_splitmix64(&seeds));

        engine_config_init(&config);
        config.random_u64 = sim_rng_engine_u64;
        config.random_userdata = &sim->engine_rng;
        if (s->initial_step_threshold > 0)
                config.initial_step_threshold = s->initial_step_threshold;
        if (s->drift_file) {
                config.initial_frequency_ppm = -s->clock.frequency_error_ppm;
                config.initial_frequency_known = true;
        }

        struct sim_clock_config clock = s->clock;
        clock.initial_setting_ppm = config.initial_frequency_ppm;
        sim_clock_init(&sim->clock, &clock, &sim->clock_rng);

        sim->engine = engine_new(&config);
        if (!sim->engine)
                return -ENOMEM;
        return add_servers(sim);
}

int sim_run(const struct sim_scenario *s, uint64_t seed, struct sim_result *ret) {
        struct simulation sim;
        struct sim_result res = {
                .n_samples = (size_t) floor(s->duration) + 1,
                .n_servers = s->n_servers,
        };
        int r;

        if (s->n_servers > SIM_MAX_SERVERS || !(s->duration >= 0))
                return -EINVAL;

        res.samples = calloc(res.n_samples, sizeof *res.samples);
        res.source_samples = calloc(res.n_samples * (s->n_servers ? s->n_servers : 1), sizeof *res.source_samples);
        if (!res.samples || !res.source_samples) {
                sim_result_done(&res);
                return -ENOMEM;
        }

        r = simulation_start(&sim, s, seed, &res);
        if (r >= 0)
                r = run_events(&sim, res.n_samples);
        if (r >= 0)
                finish_metrics(&sim);

        if (sim.engine)
                engine_free(sim.engine);
        free(sim.queue.v);
        if (r < 0) {
                sim_result_done(&res);
                return r;
        }
        *ret = res;
        return 0;
}

void sim_result_done(struct sim_result *r) {
        free(r->samples);
        free(r->source_samples);
        r->samples = NULL;
        r->source_samples = NULL;
        r->n_samples = 0;
}

const char *sim_error_to_string(int r) {
        if (r == -ELOOP)
                return "the engine keeps asking to be woken at the instant it just ran (a busy loop)";
        return strerror(-r);
}
