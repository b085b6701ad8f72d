/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One NTS key establishment through nts-ke-client.c on an sd-event loop, and with --ntp one
 * NTS-authenticated NTP exchange with the first cookie (which proves the exported keys are the
 * server's). Prints one JSON line; the keys themselves never, only their length and a digest.
 *
 *   nts-ke-probe --host NAME [--address IP] [--port N] [--ca FILE|DIR] [--noval]
 *                [--timeout-ms N] [--ntp] [--ntp-bad-s2c]
 *
 * --ntp-bad-s2c: the NTP check with one bit of the S2C key flipped, which must fail: the check
 * cannot pass by accident.
 * Without --address the host name is resolved (the test namespace's hosts file). Exit status
 * 0 when the exchange (and the NTP check, when asked for) succeeded, 1 when not, 2 for bad
 * arguments. */

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "core/nts-ntp.h"
#include "json-write.h"
#include "macro.h"
#include "net.h"
#include "nts-gnutls.h"
#include "nts-ke-client.h"

#define NTP_ANSWER_TIMEOUT_MS 2000
#define NTP_PORT 123

struct probe_args {
        const char *host;
        const char *address;
        const char *ca;
        unsigned port;
        bool noval;
        bool ntp;
        bool bad_s2c;
        unsigned long timeout_ms;
};

struct probe {
        sd_event *event;
        struct nts_ke_client_result result;
        bool ended;
};

static void usage(FILE *f) {
        fprintf(f, "usage: nts-ke-probe --host NAME [--address IP] [--port N] [--ca FILE|DIR] [--noval]\n"
                   "                    [--timeout-ms N] [--ntp] [--ntp-bad-s2c]\n");
}

static int parse_args(int argc, char **argv, struct probe_args *a) {
        static const struct option options[] = {
                { "host", required_argument, NULL, 'h' },   { "address", required_argument, NULL, 'a' },
                { "port", required_argument, NULL, 'p' },   { "ca", required_argument, NULL, 'c' },
                { "noval", no_argument, NULL, 'n' },        { "timeout-ms", required_argument, NULL, 't' },
                { "ntp", no_argument, NULL, 'N' },          { "ntp-bad-s2c", no_argument, NULL, 'B' },
                {},
        };
        int o;
        while ((o = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (o) {
                case 'h':
                        a->host = optarg;
                        break;
                case 'a':
                        a->address = optarg;
                        break;
                case 'p':
                        a->port = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'c':
                        a->ca = optarg;
                        break;
                case 'n':
                        a->noval = true;
                        break;
                case 't':
                        a->timeout_ms = strtoul(optarg, NULL, 10);
                        break;
                case 'N':
                        a->ntp = true;
                        break;
                case 'B':
                        a->ntp = a->bad_s2c = true;
                        break;
                default:
                        return -EINVAL;
                }
        return a->host && optind == argc && a->port <= 65535 ? 0 : -EINVAL;
}

/* The address given, or the first the host name resolves to. */
static int target_address(const struct probe_args *a, struct net_address *ret) {
        if (a->address)
                return net_address_parse(a->address, ret);
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *list = NULL;
        if (getaddrinfo(a->host, NULL, &hints, &list) != 0 || !list)
                return -ENOENT;
        memcpy(&ret->sa, list->ai_addr, list->ai_addrlen);
        ret->len = list->ai_addrlen;
        freeaddrinfo(list);
        return 0;
}

static void on_done(nts_ke_client *c, const struct nts_ke_client_result *result, void *userdata) {
        struct probe *p = userdata;
        nts_ke_client_free(c);
        p->result = *result;
        p->ended = true;
        sd_event_exit(p->event, 0);
}

/* ---- the NTP check ---- */

/* Where the negotiated NTP server is: its address when the KE server named one, else the KE
 * server's; its port or 123. */
static struct net_address ntp_target(const struct net_address *ke, const struct nts_ke_response *r) {
        struct net_address a = *ke;
        if (r->server[0] && net_address_parse(r->server, &a) < 0)
                a = *ke;
        net_address_set_port(&a, r->has_port ? r->port : NTP_PORT);
        return a;
}

/* A plain connected UDP socket: no timestamps, nothing but the answer to read. */
static int udp_socket(const struct net_address *target) {
        int fd = socket(target->sa.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd < 0)
                return -errno;
        if (connect(fd, &target->sa.sa, target->len) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* One authenticated request with the first cookie; "verified" or why not into buf. */
static bool ntp_check(const struct net_address *ke, const struct nts_ke_client_result *ke_result, bool bad_s2c,
                      char *buf, size_t size) {
        uint8_t header[NTP_HEADER_SIZE] = { 0x23 }; /* leap 0, version 4, mode 3 (client) */
        uint8_t uid[NTS_UID_SIZE], nonce[NTS_NONCE_SIZE], packet[NTP_MAX_PACKET_SIZE];
        struct nts_aead aead = { 0 };
        struct nts_ntp_cookies cookies;
        _cleanup_close_ int fd = -1;
        size_t len;
        bool ok = false;

        struct nts_keys keys = ke_result->keys;
        if (bad_s2c)
                keys.s2c[0] ^= 0x01;
        struct net_address target = ntp_target(ke, &ke_result->response);
        if (nts_random_nonce(header + 40, 8) < 0 || nts_random_nonce(uid, sizeof(uid)) < 0 ||
            nts_random_nonce(nonce, sizeof(nonce)) < 0 || nts_gnutls_aead_new(&aead) < 0) {
                snprintf(buf, size, "no random bytes or AEAD");
                goto out;
        }
        struct nts_ntp_client_request request = {
                .uid = uid, .uid_len = sizeof(uid), .cookie = &ke_result->response.cookies[0], .nonce = nonce,
        };
        int r = nts_ntp_client_request_build(header, &request, &aead, &keys, packet, sizeof(packet), &len);
        if (r >= 0)
                r = fd = udp_socket(&target);
        if (r >= 0 && send(fd, packet, len, 0) != (ssize_t) len)
                r = -errno;
        if (r < 0) {
                snprintf(buf, size, "cannot send: %s", strerror(-r));
                goto out;
        }
        /* Answers to someone else's request (there are none here) would be skipped by the uid check. */
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, NTP_ANSWER_TIMEOUT_MS) <= 0) {
                snprintf(buf, size, "no answer within %d ms", NTP_ANSWER_TIMEOUT_MS);
                goto out;
        }
        ssize_t n = recv(fd, packet, sizeof(packet), 0);
        if (n < NTP_HEADER_SIZE) {
                snprintf(buf, size, "no answer: %s", n < 0 ? strerror(errno) : "too short");
                goto out;
        }
        if (memcmp(packet + 24, header + 40, 8) != 0) {
                snprintf(buf, size, "the answer's origin timestamp is not our transmit timestamp");
                goto out;
        }
        enum nts_ntp_reason reason = nts_ntp_client_response_verify(packet, (size_t) n, uid, sizeof(uid), &aead,
                                                                    &keys, &cookies);
        ok = reason == NTS_NTP_OK;
        if (ok)
                snprintf(buf, size, "verified");
        else
                snprintf(buf, size, "%s", nts_ntp_reason_to_string(reason));
out:
        nts_wipe(&keys, sizeof(keys));
        nts_gnutls_aead_free(&aead);
        return ok;
}

/* ---- output ---- */

/* The first 8 bytes of SHA-256 over both keys, in hex: tells keys apart without showing them. */
static void keys_digest(const struct nts_keys *k, char *hex, size_t size) {
        uint8_t both[2 * NTS_KEY_MAX_SIZE], digest[32];
        memcpy(both, k->c2s, k->key_len);
        memcpy(both + k->key_len, k->s2c, k->key_len);
        if (gnutls_hash_fast(GNUTLS_DIG_SHA256, both, 2 * (size_t) k->key_len, digest) < 0)
                memset(digest, 0, sizeof(digest));
        nts_wipe(both, sizeof(both));
        for (size_t i = 0; i < 8 && 2 * i + 2 < size; i++)
                snprintf(hex + 2 * i, size - 2 * i, "%02x", digest[i]);
}

static void print_result(const struct nts_ke_client_result *r, unsigned long elapsed_ms, const char *ntp) {
        const struct nts_ke_response *resp = &r->response;
        bool ok = r->failure == NTS_KE_FAILURE_NONE;
        char digest[17] = "";

        printf("{\"failure\": ");
        json_write_string(stdout, nts_ke_failure_to_string(r->failure));
        printf(", \"reason\": ");
        json_write_string(stdout, r->reason);
        printf(", \"elapsed_ms\": %lu", elapsed_ms);
        if (ok) {
                keys_digest(&r->keys, digest, sizeof(digest));
                printf(", \"aead\": %u, \"cookies\": %zu, \"cookie_lengths\": [", resp->aead, resp->n_cookies);
                for (size_t i = 0; i < resp->n_cookies; i++)
                        printf("%s%u", i ? ", " : "", resp->cookies[i].len);
                printf("], \"server\": ");
                json_write_string(stdout, resp->server);
                if (resp->has_port)
                        printf(", \"port\": %u", resp->port);
                else
                        printf(", \"port\": null");
                printf(", \"key_length\": %u, \"keys_digest\": \"%s\", \"keys_differ\": %s", r->keys.key_len, digest,
                       memcmp(r->keys.c2s, r->keys.s2c, r->keys.key_len) != 0 ? "true" : "false");
        }
        if (ntp) {
                printf(", \"ntp\": ");
                json_write_string(stdout, ntp);
        }
        printf("}\n");
}

int main(int argc, char **argv) {
        struct probe_args a = { 0 };
        struct nts_ke_client_options o = { 0 };
        struct probe p = { 0 };
        nts_ke_client *c = NULL;
        char ntp[128] = "";
        int r;

        if (parse_args(argc, argv, &a) < 0) {
                usage(stderr);
                return 2;
        }
        r = target_address(&a, &o.address);
        if (r < 0) {
                fprintf(stderr, "nts-ke-probe: cannot find an address for %s: %s\n", a.host, strerror(-r));
                return 2;
        }
        if (a.port)
                net_address_set_port(&o.address, (uint16_t) a.port);
        o.host = a.host;
        o.ca = a.ca;
        o.noval = a.noval;
        o.timeout_usec = a.timeout_ms * 1000ULL;

        r = sd_event_new(&p.event);
        if (r >= 0)
                r = nts_ke_client_start(p.event, &o, on_done, &p, &c);
        if (r < 0) {
                fprintf(stderr, "nts-ke-probe: cannot start: %s\n", strerror(-r));
                sd_event_unref(p.event);
                return 1;
        }
        int64_t t0 = now_monotonic_ns();
        r = sd_event_loop(p.event);
        unsigned long elapsed_ms = (unsigned long) ((now_monotonic_ns() - t0) / 1000000);
        sd_event_unref(p.event);
        if (r < 0 || !p.ended) {
                fprintf(stderr, "nts-ke-probe: the loop ended without a result: %s\n", strerror(-r));
                return 1;
        }

        bool ok = p.result.failure == NTS_KE_FAILURE_NONE;
        if (ok && a.ntp)
                ok = ntp_check(&o.address, &p.result, a.bad_s2c, ntp, sizeof(ntp));
        print_result(&p.result, elapsed_ms, a.ntp && p.result.failure == NTS_KE_FAILURE_NONE ? ntp : NULL);
        nts_wipe(&p.result.keys, sizeof(p.result.keys));
        return ok ? 0 : 1;
}
