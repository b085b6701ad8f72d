/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A test responder: answers NTP mode 6 requests on a UDP port with src/core/mode6 over a fixed
 * view of three associations, so that tests/mode6/test-ntpq.py can check what a real ntpq shows.
 * Times are kept relative to the real clock at each request: association 101 last heard from 37 s
 * ago, 102 300 s ago, 103 never.
 *
 * Usage: mode6-responder PORT [ADDRESS]      (ADDRESS defaults to 127.0.0.1)
 * Prints "ready" once the socket is bound; runs until killed. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/mode6.h"
#include "core/ntp-time.h"

struct reply_to {
        int fd;
        const struct sockaddr *address;
        socklen_t address_len;
};

static struct utsname uname_buf;

static ntp_ts seconds_ago(int64_t now_ns, int64_t seconds) {
        return ntp_ts_from_unix_ns(now_ns - seconds * NS_PER_SEC);
}

static void fill_system(struct mode6_system *s, int64_t now_ns) {
        *s = (struct mode6_system) {
                .leap = 0,
                .stratum = 2,
                .precision = -23,
                .root_delay = 0.025432,
                .root_dispersion = 0.001500,
                .refid = 0xc0000201,                 /* 192.0.2.1, the system peer */
                .reference_time = seconds_ago(now_ns, 37),
                .clock = ntp_ts_from_unix_ns(now_ns),
                .system_peer = 101,
                .poll = 6,
                .min_poll = 3,
                .offset = 0.001234567,
                .frequency_ppm = -12.345,
                .sys_jitter = 0.000123,
                .clk_jitter = 0.000045,
                .clk_wander_ppm = 0.002,
                .version = "ntpsyncd 0.1",
                .processor = uname_buf.machine,
                .system = uname_buf.sysname,
                .release = uname_buf.release,
        };
}

static void fill_associations(struct mode6_association a[static 3], int64_t now_ns) {
        for (size_t i = 0; i < 3; i++) {
                mode6_association_init(&a[i]);
                a[i].dstadr = "127.0.0.1";
                a[i].precision = -20;
        }

        a[0].assoc_id = 101;
        a[0].srcadr = "192.0.2.1";
        a[0].stratum = 1;
        a[0].refid = 0x47505300;                     /* "GPS" */
        a[0].reftime = seconds_ago(now_ns, 40);
        a[0].rec = seconds_ago(now_ns, 37);
        a[0].xmt = seconds_ago(now_ns, 37);
        a[0].reach = 0xff;
        a[0].hpoll = a[0].ppoll = 6;
        a[0].root_dispersion = 0.000500;
        a[0].delay = 0.025432;
        a[0].offset = 0.001234;
        a[0].jitter = 0.000123;
        a[0].dispersion = 0.000950;
        a[0].select = MODE6_SEL_SYSPEER;

        a[1].assoc_id = 102;
        a[1].srcadr = "192.0.2.2";
        a[1].stratum = 2;
        a[1].refid = 0xc00002c8;                     /* 192.0.2.200 */
        a[1].reftime = seconds_ago(now_ns, 500);
        a[1].rec = seconds_ago(now_ns, 300);
        a[1].xmt = seconds_ago(now_ns, 300);
        a[1].reach = 0x7f;
        a[1].hpoll = a[1].ppoll = 10;
        a[1].root_delay = 0.012;
        a[1].root_dispersion = 0.020;
        a[1].delay = 0.048100;
        a[1].offset = -0.002500;
        a[1].jitter = 0.000456;
        a[1].dispersion = 0.003;
        a[1].select = MODE6_SEL_CANDIDATE;

        a[2].assoc_id = 103;
        a[2].srcadr = "2001:db8::3";
        a[2].srchost = "ntp3.example.org";
        a[2].dstadr = "::1";
        a[2].stratum = 16;
        a[2].refid = 0x494e4954;                     /* "INIT" */
        a[2].leap = 3;
        a[2].hpoll = a[2].ppoll = 6;
        a[2].unreach = 5;
        a[2].dispersion = 16.0;
        a[2].select = MODE6_SEL_REJECT;
}

static void send_reply(void *userdata, const uint8_t *datagram, size_t len) {
        const struct reply_to *to = userdata;

        if (sendto(to->fd, datagram, len, 0, to->address, to->address_len) < 0)
                fprintf(stderr, "mode6-responder: sendto: %s\n", strerror(errno));
}

static int64_t now_unix_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static void answer_one(int fd) {
        uint8_t request[2048];
        struct sockaddr_storage from;
        socklen_t from_len = sizeof(from);
        ssize_t n = recvfrom(fd, request, sizeof(request), 0, (struct sockaddr *) &from, &from_len);

        if (n < 0) {
                if (errno != EINTR)
                        fprintf(stderr, "mode6-responder: recvfrom: %s\n", strerror(errno));
                return;
        }

        int64_t now = now_unix_ns();
        struct mode6_system sys;
        struct mode6_association assoc[3];
        struct reply_to to = { fd, (struct sockaddr *) &from, from_len };

        fill_system(&sys, now);
        fill_associations(assoc, now);
        mode6_handle(request, (size_t) n, &sys, assoc, 3, send_reply, &to);
}

static int open_socket(const char *address, const char *port_text) {
        struct sockaddr_in sin = { .sin_family = AF_INET };
        char *end;
        long port = strtol(port_text, &end, 10);
        int fd;

        if (*port_text == '\0' || *end != '\0' || port <= 0 || port > 65535 ||
            inet_pton(AF_INET, address, &sin.sin_addr) != 1) {
                fprintf(stderr, "mode6-responder: bad address or port: %s %s\n", address, port_text);
                return -1;
        }
        sin.sin_port = htons((uint16_t) port);
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sin, sizeof(sin)) < 0) {
                fprintf(stderr, "mode6-responder: %s:%ld: %s\n", address, port, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        return fd;
}

int main(int argc, char *argv[]) {
        int fd;

        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: %s PORT [ADDRESS]\n", argv[0]);
                return EXIT_FAILURE;
        }
        fd = open_socket(argc == 3 ? argv[2] : "127.0.0.1", argv[1]);
        if (fd < 0)
                return EXIT_FAILURE;
        uname(&uname_buf);
        printf("ready\n");
        fflush(stdout);
        for (;;)
                answer_one(fd);
}
