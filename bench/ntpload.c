/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ntpload: an open-loop NTP client load generator, and the checker of what comes back.
 *
 * One thread on one core: requests leave at the target rate whatever the server does (batches
 * of sendmmsg from several sockets, that is several source ports), and between batches the
 * replies are read (recvmmsg) and checked. Every request carries a token as its transmit
 * timestamp (a sequence number XOR a random key); a reply counts only when its origin timestamp
 * is the token of a request that was sent and not answered before, it came from the server's
 * address and port, and its header is that of a server reply (mode 4, or 2 to mode 1; the
 * request's version; receive and transmit timestamps set). Kiss-o'-death replies (stratum 0)
 * are counted by code.
 *
 * With --sources PREFIX/LEN (IPv4) each request leaves from another address of the prefix, in
 * turn: the sockets have IP_TRANSPARENT and the source is given per datagram (IP_PKTINFO), so the
 * prefix needs no addresses on any interface, only a route back: `ip route add local PREFIX dev
 * lo` on this side and a route to it on the server's. Replies are then also counted per source.
 *
 * Prints one JSON object on stdout. Needs CAP_NET_ADMIN for --sources and for socket buffers
 * above the system maximum. Never touches the clock. */

#include <arpa/inet.h>
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

#include "load-common.h"

#define NTP_HEADER 48
#define MAX_SOURCES (1u << 20)

struct options {
        const char *server;
        uint16_t port;
        double rate, duration, wait;
        unsigned n_sockets, batch;
        const char *sources;
        unsigned n_sources;
        unsigned version, mode;
        int buffer;
};

struct stats {
        uint64_t sent, send_errors, send_stalls;
        uint64_t replies, unsynchronized, kods, kod_rate, kod_deny, kod_other;
        uint64_t invalid, unmatched, duplicates, wrong_destination, wrong_sender;
        uint64_t received;
};

static struct options opt = {
        .port = 123, .rate = 1000, .duration = 5, .wait = 0.5,
        .n_sockets = 16, .batch = 32, .version = 4, .mode = 3,
        .buffer = 4 * 1024 * 1024,
};

static struct stats st;
static uint64_t key;
static uint8_t *answered;         /* bitmap by sequence number */
static uint64_t max_seq;
static uint32_t *src_addrs;       /* network order */
static uint32_t *src_replies, *src_kods;
static unsigned n_src;
static struct sockaddr_storage server_addr;
static socklen_t server_len;
static int family;

static void usage(FILE *f) {
        fprintf(f,
                "Usage: ntpload --server ADDR [options]\n"
                "  -s, --server ADDR        NTP server (IPv4 or IPv6 literal)\n"
                "  -p, --port N             its port (123)\n"
                "  -r, --rate PPS           requests per second, open loop (1000)\n"
                "  -d, --duration S         seconds of sending (5)\n"
                "  -w, --wait S             seconds to wait for late replies afterwards (0.5)\n"
                "  -P, --sockets N          sending sockets, i.e. source ports (16)\n"
                "  -b, --batch N            datagrams per sendmmsg (32)\n"
                "  -S, --sources PREFIX/LEN IPv4 source addresses, in turn (IP_TRANSPARENT; the\n"
                "                           prefix must be routed back as local)\n"
                "  -n, --count N            how many addresses of the prefix (all, at most 2^20)\n"
                "  -V, --version N          NTP version of the requests (4)\n"
                "  -m, --mode N             mode of the requests (3; 1: symmetric active)\n"
                "  -B, --buffer BYTES       socket buffers (4 MiB)\n"
                "Prints a JSON object with what was sent, answered and lost.\n");
}

static void parse_options(int argc, char **argv) {
        static const struct option longopts[] = {
                { "server", required_argument, NULL, 's' }, { "port", required_argument, NULL, 'p' },
                { "rate", required_argument, NULL, 'r' },   { "duration", required_argument, NULL, 'd' },
                { "wait", required_argument, NULL, 'w' },   { "sockets", required_argument, NULL, 'P' },
                { "batch", required_argument, NULL, 'b' },  { "sources", required_argument, NULL, 'S' },
                { "count", required_argument, NULL, 'n' },  { "version", required_argument, NULL, 'V' },
                { "mode", required_argument, NULL, 'm' },   { "buffer", required_argument, NULL, 'B' },
                { "help", no_argument, NULL, 'h' },         {}
        };
        int c;
        while ((c = getopt_long(argc, argv, "s:p:r:d:w:P:b:S:n:V:m:B:h", longopts, NULL)) >= 0) {
                switch (c) {
                case 's': opt.server = optarg; break;
                case 'p': opt.port = (uint16_t) atoi(optarg); break;
                case 'r': opt.rate = atof(optarg); break;
                case 'd': opt.duration = atof(optarg); break;
                case 'w': opt.wait = atof(optarg); break;
                case 'P': opt.n_sockets = (unsigned) atoi(optarg); break;
                case 'b': opt.batch = (unsigned) atoi(optarg); break;
                case 'S': opt.sources = optarg; break;
                case 'n': opt.n_sources = (unsigned) atoi(optarg); break;
                case 'V': opt.version = (unsigned) atoi(optarg); break;
                case 'm': opt.mode = (unsigned) atoi(optarg); break;
                case 'B': opt.buffer = atoi(optarg); break;
                case 'h': usage(stdout); exit(0);
                default: usage(stderr); exit(2);
                }
        }
        if (!opt.server || optind < argc || !(opt.rate > 0) || !(opt.duration > 0) || opt.wait < 0 ||
            opt.n_sockets < 1 || opt.n_sockets > LOAD_MAX_SOCKETS || opt.batch < 1 || opt.batch > LOAD_MAX_BATCH ||
            opt.version > 7 || opt.mode > 7 || opt.rate * opt.duration > 4e9) {
                usage(stderr);
                exit(2);
        }
}

static void parse_server(void) {
        memset(&server_addr, 0, sizeof(server_addr));
        struct sockaddr_in *a4 = (struct sockaddr_in *) &server_addr;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &server_addr;
        if (inet_pton(AF_INET, opt.server, &a4->sin_addr) == 1) {
                family = a4->sin_family = AF_INET;
                a4->sin_port = htons(opt.port);
                server_len = sizeof(*a4);
        } else if (inet_pton(AF_INET6, opt.server, &a6->sin6_addr) == 1) {
                family = a6->sin6_family = AF_INET6;
                a6->sin6_port = htons(opt.port);
                server_len = sizeof(*a6);
        } else {
                fprintf(stderr, "ntpload: not an address: %s\n", opt.server);
                exit(2);
        }
}

static void parse_sources(void) {
        if (!opt.sources) {
                n_src = 1;
                return;
        }
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", opt.sources);
        char *slash = strchr(buf, '/');
        struct in_addr base;
        int len = slash ? atoi(slash + 1) : 32;
        if (slash)
                *slash = '\0';
        if (family != AF_INET || inet_pton(AF_INET, buf, &base) != 1 || len < 12 || len > 32) {
                fprintf(stderr, "ntpload: --sources takes an IPv4 PREFIX/LEN (12..32) with an IPv4 server\n");
                exit(2);
        }
        uint64_t size = (uint64_t) 1 << (32 - len);
        n_src = opt.n_sources && opt.n_sources < size ? opt.n_sources : (unsigned) (size < MAX_SOURCES ? size : MAX_SOURCES);
        src_addrs = calloc(n_src, sizeof(*src_addrs));
        src_replies = calloc(n_src, sizeof(*src_replies));
        src_kods = calloc(n_src, sizeof(*src_kods));
        if (!src_addrs || !src_replies || !src_kods)
                load_die("calloc");
        uint32_t first = ntohl(base.s_addr) & (len == 32 ? 0xffffffffu : ~(0xffffffffu >> len));
        /* Skip the network's first address (.0 of a /24 and the like) when there is room. */
        unsigned skip = size > n_src ? 1 : 0;
        for (unsigned i = 0; i < n_src; i++)
                src_addrs[i] = htonl(first + skip + i);
}

static bool destination(struct msghdr *m, uint32_t *ret) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
                if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                        struct in_pktinfo pi;
                        memcpy(&pi, CMSG_DATA(c), sizeof(pi));
                        *ret = pi.ipi_addr.s_addr;
                        return true;
                }
        return false;
}

static void check_reply(const uint8_t *p, size_t len, const struct sockaddr_storage *from, struct msghdr *m) {
        st.received++;
        if (!load_same_address(from, &server_addr)) {
                st.wrong_sender++;
                return;
        }
        unsigned expect_mode = opt.mode == 1 ? 2 : 4;
        if (len < NTP_HEADER || (p[0] & 7) != expect_mode || ((p[0] >> 3) & 7) != opt.version) {
                st.invalid++;
                return;
        }
        uint64_t seq = load_be64(p + 24) ^ key;
        if (seq >= st.sent) {
                st.unmatched++;
                return;
        }
        if (answered[seq >> 3] & (1u << (seq & 7))) {
                st.duplicates++;
                return;
        }
        unsigned src = (unsigned) (seq % n_src);
        if (opt.sources) {
                uint32_t dst;
                if (!destination(m, &dst) || dst != src_addrs[src]) {
                        st.wrong_destination++;
                        return;
                }
        }
        uint8_t stratum = p[1];
        if (stratum == 0) {
                answered[seq >> 3] |= (uint8_t) (1u << (seq & 7));
                st.kods++;
                if (memcmp(p + 12, "RATE", 4) == 0)
                        st.kod_rate++;
                else if (memcmp(p + 12, "DENY", 4) == 0)
                        st.kod_deny++;
                else
                        st.kod_other++;
                if (src_kods)
                        src_kods[src]++;
                return;
        }
        uint64_t rx = load_be64(p + 32), tx = load_be64(p + 40);
        /* A server reply has both timestamps, the transmit one not before the receive one (the
         * difference taken modulo 2^64, as the era may roll over between them). */
        if (rx == 0 || tx == 0 || (int64_t) (tx - rx) < 0) {
                st.invalid++;
                return;
        }
        answered[seq >> 3] |= (uint8_t) (1u << (seq & 7));
        if (stratum > 15 || (p[0] >> 6) == 3)
                st.unsynchronized++;
        else
                st.replies++;
        if (src_replies)
                src_replies[src]++;
}

struct sender {
        struct mmsghdr msgs[LOAD_MAX_BATCH];
        struct iovec iov[LOAD_MAX_BATCH];
        uint8_t bufs[LOAD_MAX_BATCH][NTP_HEADER];
        char control[LOAD_MAX_BATCH][CMSG_SPACE(sizeof(struct in_pktinfo))] __attribute__((aligned(__alignof__(struct cmsghdr))));
};

static struct sender snd;

/* The source address of request seq, given per datagram (IP_PKTINFO). */
static void set_source(struct msghdr *m, char *control, uint64_t seq) {
        struct cmsghdr *c = (struct cmsghdr *) control;
        struct in_pktinfo pi = { 0 };
        pi.ipi_spec_dst.s_addr = src_addrs[seq % n_src];
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        m->msg_control = c;
        m->msg_controllen = CMSG_SPACE(sizeof(pi));
}

static unsigned send_batch(int fd, uint64_t first_seq, unsigned k) {
        for (unsigned i = 0; i < k; i++) {
                uint64_t seq = first_seq + i;
                uint8_t *b = snd.bufs[i];
                memset(b, 0, NTP_HEADER);
                b[0] = (uint8_t) ((opt.version << 3) | opt.mode);
                b[2] = 6;            /* poll */
                b[3] = (uint8_t) -20; /* precision */
                load_put_be64(b + 40, seq ^ key);
                snd.iov[i] = (struct iovec) { b, NTP_HEADER };
                snd.msgs[i].msg_hdr = (struct msghdr) {
                        .msg_name = &server_addr, .msg_namelen = server_len,
                        .msg_iov = &snd.iov[i], .msg_iovlen = 1,
                };
                if (opt.sources)
                        set_source(&snd.msgs[i].msg_hdr, snd.control[i], seq);
        }
        return load_sendmmsg(fd, snd.msgs, k, &st.send_stalls, &st.send_errors);
}

int main(int argc, char **argv) {
        load_program = "ntpload";
        parse_options(argc, argv);
        parse_server();
        parse_sources();
        if (getrandom(&key, sizeof(key), 0) != sizeof(key))
                load_die("getrandom");
        key |= UINT64_C(1) << 63; /* never an all-zero token */

        max_seq = (uint64_t) ceil(opt.rate * opt.duration) + LOAD_MAX_BATCH;
        answered = calloc(max_seq / 8 + 1, 1);
        if (!answered)
                load_die("calloc");
        struct load_run run = {
                .rate = opt.rate, .duration = opt.duration, .wait = opt.wait,
                .batch = opt.batch, .n_sockets = opt.n_sockets, .max_seq = max_seq,
                .family = family, .buffer = opt.buffer, .transparent = opt.sources != NULL,
                .send = send_batch, .check = check_reply,
        };
        double sending = load_run(&run, &st.sent);

        uint64_t answered_total = st.replies + st.unsynchronized + st.kods;
        unsigned sources_answered = 0;
        uint32_t max_replies = 0, max_kods = 0;
        for (unsigned i = 0; src_replies && i < n_src; i++) {
                if (src_replies[i] || src_kods[i])
                        sources_answered++;
                if (src_replies[i] > max_replies)
                        max_replies = src_replies[i];
                if (src_kods[i] > max_kods)
                        max_kods = src_kods[i];
        }
        if (!src_replies) {
                sources_answered = answered_total > 0;
                max_replies = (uint32_t) (st.replies + st.unsynchronized);
                max_kods = (uint32_t) st.kods;
        }
        printf("{\"server\":\"%s\",\"target_rate\":%.0f,\"duration\":%.3f,\"sockets\":%u,\"sources\":%u,"
               "\"sent\":%" PRIu64 ",\"achieved_rate\":%.0f,\"send_errors\":%" PRIu64 ",\"send_stalls\":%" PRIu64 ","
               "\"received\":%" PRIu64 ",\"replies\":%" PRIu64 ",\"unsynchronized\":%" PRIu64 ",\"kods\":%" PRIu64 ","
               "\"kod_rate\":%" PRIu64 ",\"kod_deny\":%" PRIu64 ",\"kod_other\":%" PRIu64 ",\"invalid\":%" PRIu64 ","
               "\"unmatched\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"wrong_destination\":%" PRIu64 ","
               "\"wrong_sender\":%" PRIu64 ",\"loss\":%.6f,\"replies_per_second\":%.0f,"
               "\"sources_answered\":%u,\"max_replies_per_source\":%" PRIu32 ",\"max_kods_per_source\":%" PRIu32 "}\n",
               opt.server, opt.rate, sending, opt.n_sockets, n_src, st.sent, st.sent / sending, st.send_errors,
               st.send_stalls, st.received, st.replies, st.unsynchronized, st.kods, st.kod_rate, st.kod_deny,
               st.kod_other, st.invalid, st.unmatched, st.duplicates, st.wrong_destination, st.wrong_sender,
               st.sent ? 1.0 - (double) answered_total / (double) st.sent : 0.0,
               (double) (st.replies + st.unsynchronized) / sending, sources_answered, max_replies, max_kods);
        return 0;
}
