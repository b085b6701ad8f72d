/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ntsload: an open-loop NTS load generator, and the checker of what comes back; ntpload with
 * authentication (RFC 8915).
 *
 * First one NTS key establishment (src/daemon/nts-ke-client.c: TLS 1.3, the certificate checked
 * against --ca and --host) gives the C2S and S2C keys and eight cookies. Then, like ntpload, one
 * thread sends authenticated requests at the target rate whatever the server does (sendmmsg
 * batches from several sockets, that is several source ports) and reads and checks the replies
 * between batches. Every request is built before the first one leaves (the core's
 * nts_ntp_client_request_build), so that sending costs a server no more than a plain NTP flood
 * would and the generator is not what limits the rate; only the replies are verified as they come.
 *
 * A reply counts only when it came from the server's address and port, is a version 4 server
 * reply, carries the Unique Identifier of a request that was sent and not answered before, its
 * origin timestamp is that request's transmit timestamp, and its authenticator opens with the S2C
 * key (nts_ntp_client_response_verify: also at least one new cookie, encrypted); NTS NAKs and
 * other kiss-o'-death replies are counted apart.
 *
 * With --ke-only no NTP is sent: key establishments are repeated, --parallel at a time, for
 * --duration seconds, and the ones completed (keys exported, cookies received) are counted.
 *
 * Prints one JSON object on stdout. Never touches the clock. */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "core/nts-ntp.h"
#include "load-common.h"
#include "net.h"
#include "nts-gnutls.h"
#include "nts-ke-client.h"

#define NTP_PORT 123
#define MAX_PARALLEL 256
/* Requests are all built in advance: this bounds the memory they take (about 250 bytes each). */
#define MAX_REQUESTS (8u << 20)
/* The Unique Identifier: the request's token (8 bytes) and bytes that are the same for the run. */
#define UID_TOKEN_SIZE 8

struct options {
        const char *host, *server, *ca;
        uint16_t ke_port, port;
        double rate, duration, wait;
        unsigned n_sockets, batch;
        int buffer;
        bool ke_only, noval;
        unsigned parallel;
};

struct stats {
        uint64_t sent, send_errors, send_stalls, received;
        uint64_t replies, unsynchronized, naks, kods;
        uint64_t invalid, unmatched, duplicates, wrong_sender, bad_origin, auth_failed;
};

static struct options opt = {
        .ke_port = 0, .port = 0, .rate = 1000, .duration = 5, .wait = 0.5,
        .n_sockets = 16, .batch = 32, .buffer = 4 * 1024 * 1024, .parallel = 8,
};

static struct stats st;

static void usage(FILE *f) {
        fprintf(f,
                "Usage: ntsload --host NAME --server ADDR [--ca FILE] [options]\n"
                "  -H, --host NAME          the server's name in its certificate (and SNI)\n"
                "  -s, --server ADDR        its address (IPv4 or IPv6 literal), for NTS-KE and NTP\n"
                "  -c, --ca FILE|DIR        trust anchors (the system's)\n"
                "  -k, --ke-port N          NTS-KE port (4460)\n"
                "  -p, --port N             NTP port (what NTS-KE negotiated, else 123)\n"
                "  -r, --rate PPS           authenticated requests per second, open loop (1000)\n"
                "  -d, --duration S         seconds of sending, or of key establishments (5)\n"
                "  -w, --wait S             seconds to wait for late replies afterwards (0.5)\n"
                "  -P, --sockets N          sending sockets, i.e. source ports (16)\n"
                "  -b, --batch N            datagrams per sendmmsg (32)\n"
                "  -B, --buffer BYTES       socket buffers (4 MiB)\n"
                "  -K, --ke-only            repeat key establishments instead, for --duration\n"
                "  -j, --parallel N         key establishments under way at a time (8)\n"
                "  -N, --noval              no certificate checks (a lighter generator for --ke-only)\n"
                "Prints a JSON object with what was sent, answered and lost (or established).\n");
}

static void parse_options(int argc, char **argv) {
        static const struct option longopts[] = {
                { "host", required_argument, NULL, 'H' },    { "server", required_argument, NULL, 's' },
                { "ca", required_argument, NULL, 'c' },      { "ke-port", required_argument, NULL, 'k' },
                { "port", required_argument, NULL, 'p' },    { "rate", required_argument, NULL, 'r' },
                { "duration", required_argument, NULL, 'd' }, { "wait", required_argument, NULL, 'w' },
                { "sockets", required_argument, NULL, 'P' }, { "batch", required_argument, NULL, 'b' },
                { "buffer", required_argument, NULL, 'B' },  { "ke-only", no_argument, NULL, 'K' },
                { "parallel", required_argument, NULL, 'j' }, { "noval", no_argument, NULL, 'N' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;
        while ((c = getopt_long(argc, argv, "H:s:c:k:p:r:d:w:P:b:B:Kj:Nh", longopts, NULL)) >= 0) {
                switch (c) {
                case 'H': opt.host = optarg; break;
                case 's': opt.server = optarg; break;
                case 'c': opt.ca = optarg; break;
                case 'k': opt.ke_port = (uint16_t) atoi(optarg); break;
                case 'p': opt.port = (uint16_t) atoi(optarg); break;
                case 'r': opt.rate = atof(optarg); break;
                case 'd': opt.duration = atof(optarg); break;
                case 'w': opt.wait = atof(optarg); break;
                case 'P': opt.n_sockets = (unsigned) atoi(optarg); break;
                case 'b': opt.batch = (unsigned) atoi(optarg); break;
                case 'B': opt.buffer = atoi(optarg); break;
                case 'K': opt.ke_only = true; break;
                case 'j': opt.parallel = (unsigned) atoi(optarg); break;
                case 'N': opt.noval = true; break;
                case 'h': usage(stdout); exit(0);
                default: usage(stderr); exit(2);
                }
        }
        if (!opt.host || !opt.server || optind < argc || !(opt.rate > 0) || !(opt.duration > 0) || opt.wait < 0 ||
            opt.n_sockets < 1 || opt.n_sockets > LOAD_MAX_SOCKETS || opt.batch < 1 || opt.batch > LOAD_MAX_BATCH ||
            opt.parallel < 1 || opt.parallel > MAX_PARALLEL ||
            (!opt.ke_only && opt.rate * opt.duration > MAX_REQUESTS - LOAD_MAX_BATCH)) {
                usage(stderr);
                exit(2);
        }
}

/* ---- key establishment ---- */

static struct nts_ke_client_options ke_options(void) {
        struct nts_ke_client_options o = { .host = opt.host, .ca = opt.ca, .noval = opt.noval };
        if (net_address_parse(opt.server, &o.address) < 0) {
                fprintf(stderr, "ntsload: not an address: %s\n", opt.server);
                exit(2);
        }
        if (opt.ke_port)
                net_address_set_port(&o.address, opt.ke_port);
        return o;
}

struct one_ke {
        sd_event *event;
        struct nts_ke_client_result result;
};

static void one_ke_done(nts_ke_client *c, const struct nts_ke_client_result *result, void *userdata) {
        struct one_ke *k = userdata;
        nts_ke_client_free(c);
        k->result = *result;
        sd_event_exit(k->event, 0);
}

/* One key establishment on a loop of its own: the keys and cookies, or the program ends. */
static void establish_keys(struct nts_ke_client_result *ret) {
        struct nts_ke_client_options o = ke_options();
        struct one_ke k = { .result.failure = NTS_KE_FAILURE_LOCAL };
        nts_ke_client *c;
        int r = sd_event_new(&k.event);
        if (r < 0)
                load_die_errno("sd_event_new", r);
        r = nts_ke_client_start(k.event, &o, one_ke_done, &k, &c);
        if (r < 0)
                load_die_errno("nts_ke_client_start", r);
        r = sd_event_loop(k.event);
        sd_event_unref(k.event);
        if (r < 0)
                load_die_errno("sd_event_loop", r);
        if (k.result.failure != NTS_KE_FAILURE_NONE) {
                fprintf(stderr, "ntsload: NTS-KE with %s failed: %s: %s\n", opt.server,
                        nts_ke_failure_to_string(k.result.failure), k.result.reason);
                exit(1);
        }
        *ret = k.result;
}

/* ---- --ke-only: key establishments one after the other, --parallel at a time ---- */

struct ke_flood;

/* Where one exchange runs; a finished exchange makes room for the next one in its slot. */
struct ke_slot {
        struct ke_flood *flood;
        nts_ke_client *client;
};

struct ke_flood {
        sd_event *event;
        struct nts_ke_client_options options;
        struct ke_slot slots[MAX_PARALLEL];
        double end;
        uint64_t started, completed, failed;
        uint64_t by_failure[_NTS_KE_FAILURE_MAX];
        char first_failure[300];
};

static void ke_flood_done(nts_ke_client *c, const struct nts_ke_client_result *result, void *userdata);

static void ke_flood_start(struct ke_slot *slot) {
        int r = nts_ke_client_start(slot->flood->event, &slot->flood->options, ke_flood_done, slot, &slot->client);
        if (r < 0)
                load_die_errno("nts_ke_client_start", r);
        slot->flood->started++;
}

static void ke_flood_done(nts_ke_client *c, const struct nts_ke_client_result *result, void *userdata) {
        struct ke_slot *slot = userdata;
        struct ke_flood *f = slot->flood;
        slot->client = nts_ke_client_free(c);
        if (load_mono() > f->end)
                return; /* late: the time is up and the loop about to end */
        if (result->failure == NTS_KE_FAILURE_NONE) {
                f->completed++;
        } else {
                f->failed++;
                f->by_failure[result->failure]++;
                if (!f->first_failure[0])
                        snprintf(f->first_failure, sizeof(f->first_failure), "%s: %s",
                                 nts_ke_failure_to_string(result->failure), result->reason);
        }
        ke_flood_start(slot);
}

static int ke_flood_time_up(sd_event_source *s, uint64_t usec, void *userdata) {
        struct ke_flood *f = userdata;
        return sd_event_exit(f->event, 0);
}

static int run_ke_only(void) {
        static struct ke_flood f;
        f.options = ke_options();
        int r = sd_event_new(&f.event);
        if (r < 0)
                load_die_errno("sd_event_new", r);
        r = sd_event_add_time_relative(f.event, NULL, CLOCK_MONOTONIC, (uint64_t) (opt.duration * 1e6), 1000,
                                       ke_flood_time_up, &f);
        if (r < 0)
                load_die_errno("sd_event_add_time_relative", r);
        f.end = load_mono() + opt.duration;
        for (unsigned i = 0; i < opt.parallel; i++) {
                f.slots[i].flood = &f;
                ke_flood_start(&f.slots[i]);
        }
        r = sd_event_loop(f.event);
        if (r < 0)
                load_die_errno("sd_event_loop", r);
        /* Exchanges still under way when the time was up are not counted either way. */
        for (unsigned i = 0; i < opt.parallel; i++)
                f.slots[i].client = nts_ke_client_free(f.slots[i].client);
        sd_event_unref(f.event);

        printf("{\"mode\":\"ke-only\",\"server\":\"%s\",\"parallel\":%u,\"duration\":%.3f,\"started\":%" PRIu64
               ",\"completed\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"failures\":{",
               opt.server, opt.parallel, opt.duration, f.started, f.completed, f.failed);
        for (int i = NTS_KE_FAILURE_NONE + 1, first = 1; i < _NTS_KE_FAILURE_MAX; i++)
                if (f.by_failure[i]) {
                        printf("%s\"%s\":%" PRIu64, first ? "" : ",", nts_ke_failure_to_string(i), f.by_failure[i]);
                        first = 0;
                }
        /* The reason is GnuTLS's or the codec's words: no quotes or backslashes to escape in them,
         * but be safe. */
        for (char *p = f.first_failure; *p; p++)
                if (*p == '"' || *p == '\\' || (unsigned char) *p < 0x20)
                        *p = ' ';
        printf("},\"first_failure\":\"%s\",\"handshakes_per_second\":%.1f,\"cpu_seconds\":%.3f}\n", f.first_failure,
               (double) f.completed / opt.duration, load_cpu_seconds());
        return 0;
}

/* ---- the AEAD, keyed once per direction ---- */

/* The core's request builder and reply verifier key the AEAD on every call; AES-SIV key setup
 * costs as much as sealing a request. This AEAD keeps one GnuTLS instance per direction, keyed
 * once, and set_key only picks the one whose key it is given. */
struct keyed_aead {
        struct nts_aead c2s, s2c;
        const struct nts_aead *current;
        struct nts_keys keys;
};

static struct keyed_aead keyed;
static struct nts_aead_ops keyed_ops;

static int keyed_set_key(void *ctx, const uint8_t *key, size_t key_len) {
        struct keyed_aead *k = ctx;
        if (key_len != k->keys.key_len)
                return -EINVAL;
        if (memcmp(key, k->keys.c2s, key_len) == 0)
                k->current = &k->c2s;
        else if (memcmp(key, k->keys.s2c, key_len) == 0)
                k->current = &k->s2c;
        else
                return -EINVAL;
        return 0;
}

static int keyed_seal(void *ctx, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                      const uint8_t *plain, size_t plain_len, uint8_t *out) {
        struct keyed_aead *k = ctx;
        return k->current->ops->seal(k->current->ctx, nonce, nonce_len, ad, ad_len, plain, plain_len, out);
}

static int keyed_open(void *ctx, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad, size_t ad_len,
                      const uint8_t *cipher, size_t cipher_len, uint8_t *out) {
        struct keyed_aead *k = ctx;
        return k->current->ops->open(k->current->ctx, nonce, nonce_len, ad, ad_len, cipher, cipher_len, out);
}

static struct nts_aead keyed_aead_new(const struct nts_keys *keys) {
        int r;
        keyed.keys = *keys;
        if ((r = nts_gnutls_aead_new(&keyed.c2s)) < 0 || (r = nts_gnutls_aead_new(&keyed.s2c)) < 0)
                load_die_errno("AES-SIV-CMAC", r);
        if (keys->aead != keyed.c2s.ops->id)
                load_die_errno("the negotiated AEAD is not AES-SIV-CMAC-256", -EPROTO);
        if ((r = nts_aead_set_key(&keyed.c2s, keys->c2s, keys->key_len)) < 0 ||
            (r = nts_aead_set_key(&keyed.s2c, keys->s2c, keys->key_len)) < 0)
                load_die_errno("AES-SIV-CMAC key", r);
        keyed_ops = *keyed.c2s.ops;
        keyed_ops.set_key = keyed_set_key;
        keyed_ops.seal = keyed_seal;
        keyed_ops.open = keyed_open;
        keyed.current = &keyed.c2s;
        return (struct nts_aead) { .ops = &keyed_ops, .ctx = &keyed };
}

/* ---- requests ---- */

static struct nts_aead aead;
static struct nts_keys keys;
static uint64_t key;                     /* tokens are sequence numbers XOR this */
static uint8_t uid_rest[NTS_UID_SIZE - UID_TOKEN_SIZE];
static uint8_t nonce_rest[NTS_NONCE_SIZE - 8];
static uint8_t *requests;                /* all of them, stride bytes apart */
static uint16_t *request_len;
static size_t stride;
static uint64_t max_seq;
static uint8_t *answered;                /* bitmap by sequence number */
static struct sockaddr_storage server_addr;
static socklen_t server_len;

static uint64_t token(uint64_t seq) {
        return seq ^ key;
}

/* A request's Unique Identifier: its token, then the run's random bytes. Here it only needs to be
 * unique, not unpredictable, for matching a reply to its request; a real client draws random ones
 * (RFC 8915 §5.3), so that nobody off the path can forge a reply that matches. */
static void request_uid(uint64_t seq, uint8_t uid[static NTS_UID_SIZE]) {
        load_put_be64(uid, token(seq));
        memcpy(uid + UID_TOKEN_SIZE, uid_rest, sizeof(uid_rest));
}

static void build_request(uint64_t seq, const struct nts_ke_response *ke) {
        uint8_t header[NTP_HEADER_SIZE] = { 0x23, 0, 6, (uint8_t) -20 }; /* version 4, mode 3, poll, precision */
        uint8_t uid[NTS_UID_SIZE], nonce[NTS_NONCE_SIZE];
        size_t len;

        load_put_be64(header + 40, token(seq)); /* the transmit timestamp the reply's origin must echo */
        request_uid(seq, uid);
        /* A counter for a nonce: a real client draws a random one each time; here it only has to
         * be unique under one key for one run, and AES-SIV stays secure even if it were not. */
        load_put_be64(nonce, seq);
        memcpy(nonce + 8, nonce_rest, sizeof(nonce_rest));
        /* Each cookie is sent over and over, in turn: a benchmark shortcut that a server without
         * per-client state cannot tell from fresh cookies. A real client never reuses a cookie
         * (RFC 8915 §5.7: that would make its requests linkable). No placeholders: one cookie
         * back per reply, and replies exactly as long as requests. */
        struct nts_ntp_client_request request = {
                .uid = uid, .uid_len = sizeof(uid),
                .cookie = &ke->cookies[seq % ke->n_cookies],
                .nonce = nonce,
        };
        int r = nts_ntp_client_request_build(header, &request, &aead, &keys, requests + seq * stride, stride, &len);
        if (r < 0)
                load_die_errno("nts_ntp_client_request_build", r);
        request_len[seq] = (uint16_t) len;
}

/* Builds every request the run may send. */
static void build_requests(const struct nts_ke_response *ke) {
        size_t longest = 0;
        for (size_t i = 0; i < ke->n_cookies; i++)
                if (ke->cookies[i].len > longest)
                        longest = ke->cookies[i].len;
        /* header, uid, cookie, authenticator with nonce and tag, rounded up for alignment */
        stride = (NTP_HEADER_SIZE + 4 + NTS_UID_SIZE + 4 + longest + 3 + 8 + NTS_NONCE_SIZE + NTS_TAG_MAX_SIZE + 15) & ~(size_t) 15;
        max_seq = (uint64_t) ceil(opt.rate * opt.duration) + LOAD_MAX_BATCH;
        requests = malloc(max_seq * stride);
        request_len = calloc(max_seq, sizeof(*request_len));
        answered = calloc(max_seq / 8 + 1, 1);
        if (!requests || !request_len || !answered)
                load_die("malloc");
        for (uint64_t seq = 0; seq < max_seq; seq++)
                build_request(seq, ke);
}

/* ---- sending and receiving ---- */

static void parse_server(const struct nts_ke_response *ke) {
        struct net_address a;
        if (net_address_parse(opt.server, &a) < 0) {
                fprintf(stderr, "ntsload: not an address: %s\n", opt.server);
                exit(2);
        }
        /* The port NTS-KE negotiated; another NTP server than the KE server is not followed: the
         * benchmark loads the server it was pointed at. */
        net_address_set_port(&a, opt.port ? opt.port : ke->has_port ? ke->port : NTP_PORT);
        memcpy(&server_addr, &a.sa.storage, sizeof(server_addr));
        server_len = a.len;
}

/* The sequence number of the request whose Unique Identifier the reply echoes; false when it
 * echoes none of ours. The authenticator check comes later: this only finds the request. */
static bool reply_seq(const uint8_t *p, size_t len, uint64_t *ret) {
        size_t pos = NTP_HEADER_SIZE;
        struct nts_ef ef;
        while (nts_ntp_ef_next(p, len, &pos, &ef) > 0) {
                if (ef.type != NTS_EF_UNIQUE_IDENTIFIER)
                        continue;
                if (ef.body_len != NTS_UID_SIZE || memcmp(ef.body + UID_TOKEN_SIZE, uid_rest, sizeof(uid_rest)) != 0)
                        return false;
                *ret = token(load_be64(ef.body)); /* the XOR undoes itself */
                return true;
        }
        return false;
}

static void mark_answered(uint64_t seq) {
        answered[seq >> 3] |= (uint8_t) (1u << (seq & 7));
}

static void check_reply(const uint8_t *p, size_t len, const struct sockaddr_storage *from, struct msghdr *m) {
        (void) m;
        st.received++;
        if (!load_same_address(from, &server_addr)) {
                st.wrong_sender++;
                return;
        }
        if (len < NTP_HEADER_SIZE || (p[0] & 7) != 4 || ((p[0] >> 3) & 7) != 4) {
                st.invalid++;
                return;
        }
        uint64_t seq;
        if (!reply_seq(p, len, &seq) || seq >= st.sent) {
                st.unmatched++;
                return;
        }
        if (answered[seq >> 3] & (1u << (seq & 7))) {
                st.duplicates++;
                return;
        }
        if (load_be64(p + 24) != token(seq)) {
                st.bad_origin++;
                return;
        }
        uint8_t uid[NTS_UID_SIZE];
        struct nts_ntp_cookies cookies;
        request_uid(seq, uid);
        enum nts_ntp_reason reason = nts_ntp_client_response_verify(p, len, uid, sizeof(uid), &aead, &keys, &cookies);
        if (reason == NTS_NTP_NAK) {
                mark_answered(seq);
                st.naks++;
                return;
        }
        if (reason != NTS_NTP_OK) {
                st.auth_failed++;
                return;
        }
        mark_answered(seq);
        if (p[1] == NTP_STRATUM_KOD) {
                st.kods++;
                return;
        }
        uint64_t rx = load_be64(p + 32), tx = load_be64(p + 40);
        /* Both timestamps set, the transmit one not before the receive one (modulo 2^64, for the era). */
        if (rx == 0 || tx == 0 || (int64_t) (tx - rx) < 0) {
                st.invalid++;
                return;
        }
        if (p[1] > 15 || (p[0] >> 6) == 3)
                st.unsynchronized++;
        else
                st.replies++;
}

struct sender {
        struct mmsghdr msgs[LOAD_MAX_BATCH];
        struct iovec iov[LOAD_MAX_BATCH];
};

static struct sender snd;

/* Sends up to k of the built requests from socket fd; returns how many left. */
static unsigned send_batch(int fd, uint64_t first_seq, unsigned k) {
        for (unsigned i = 0; i < k; i++) {
                uint64_t seq = first_seq + i;
                snd.iov[i] = (struct iovec) { requests + seq * stride, request_len[seq] };
                snd.msgs[i].msg_hdr = (struct msghdr) {
                        .msg_name = &server_addr, .msg_namelen = server_len,
                        .msg_iov = &snd.iov[i], .msg_iovlen = 1,
                };
        }
        return load_sendmmsg(fd, snd.msgs, k, &st.send_stalls, &st.send_errors);
}

static void print_stats(double sending, double ke_seconds, size_t cookie_len, double cpu) {
        uint64_t answered_total = st.replies + st.unsynchronized + st.naks + st.kods;
        printf("{\"mode\":\"ntp\",\"server\":\"%s\",\"ke_seconds\":%.3f,\"cookie_length\":%zu,\"request_length\":%u,"
               "\"target_rate\":%.0f,\"duration\":%.3f,\"sockets\":%u,"
               "\"sent\":%" PRIu64 ",\"achieved_rate\":%.0f,\"send_errors\":%" PRIu64 ",\"send_stalls\":%" PRIu64 ","
               "\"received\":%" PRIu64 ",\"replies\":%" PRIu64 ",\"unsynchronized\":%" PRIu64 ",\"naks\":%" PRIu64 ","
               "\"kods\":%" PRIu64 ",\"invalid\":%" PRIu64 ",\"unmatched\":%" PRIu64 ",\"duplicates\":%" PRIu64 ","
               "\"wrong_sender\":%" PRIu64 ",\"bad_origin\":%" PRIu64 ",\"auth_failed\":%" PRIu64 ","
               "\"loss\":%.6f,\"replies_per_second\":%.0f,\"cpu_seconds\":%.3f}\n",
               opt.server, ke_seconds, cookie_len, (unsigned) request_len[0], opt.rate, sending, opt.n_sockets, st.sent,
               st.sent / sending, st.send_errors, st.send_stalls, st.received, st.replies, st.unsynchronized, st.naks,
               st.kods, st.invalid, st.unmatched, st.duplicates, st.wrong_sender, st.bad_origin, st.auth_failed,
               st.sent ? 1.0 - (double) answered_total / (double) st.sent : 0.0,
               (double) (st.replies + st.unsynchronized) / sending, cpu);
}

static int run_ntp(void) {
        double ke_start = load_mono();
        struct nts_ke_client_result ke;
        establish_keys(&ke);
        double ke_seconds = load_mono() - ke_start;

        keys = ke.keys;
        aead = keyed_aead_new(&keys);
        if (getrandom(&key, sizeof(key), 0) != sizeof(key) ||
            getrandom(uid_rest, sizeof(uid_rest), 0) != sizeof(uid_rest) ||
            getrandom(nonce_rest, sizeof(nonce_rest), 0) != sizeof(nonce_rest))
                load_die("getrandom");
        key |= UINT64_C(1) << 63; /* never an all-zero transmit timestamp */
        parse_server(&ke.response);
        build_requests(&ke.response);

        struct load_run run = {
                .rate = opt.rate, .duration = opt.duration, .wait = opt.wait,
                .batch = opt.batch, .n_sockets = opt.n_sockets, .max_seq = max_seq,
                .family = server_addr.ss_family, .buffer = opt.buffer,
                .send = send_batch, .check = check_reply,
        };
        double cpu_start = load_cpu_seconds(); /* of sending and receiving only, not of building */
        double sending = load_run(&run, &st.sent);
        print_stats(sending, ke_seconds, ke.response.cookies[0].len, load_cpu_seconds() - cpu_start);
        nts_wipe(&keys, sizeof(keys));
        return 0;
}

int main(int argc, char **argv) {
        load_program = "ntsload";
        parse_options(argc, argv);
        return opt.ke_only ? run_ke_only() : run_ntp();
}
