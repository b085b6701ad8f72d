/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the open-loop load generators (ntpload, ntsload) share: sockets, the receive path, and the
 * loop that sends at a rate whatever the server does. Each generator brings how a request is
 * built and how a reply is checked. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define LOAD_MAX_BATCH 256
#define LOAD_MAX_SOCKETS 1024
#define LOAD_RECV_BATCH 64
#define LOAD_RECV_BUF 1024
#define LOAD_CONTROL_SIZE 128

/* The generator's name in error messages. */
extern const char *load_program;

_Noreturn void load_die(const char *what);
_Noreturn void load_die_errno(const char *what, int negative_errno);

double load_mono(void);
/* The CPU time this process used, user and system: whether the generator had its core to spare. */
double load_cpu_seconds(void);
uint64_t load_be64(const uint8_t *p);
void load_put_be64(uint8_t *p, uint64_t v);

/* From the same address and port as server. */
bool load_same_address(const struct sockaddr_storage *from, const struct sockaddr_storage *server);

/* A non-blocking UDP socket of family bound to any port, with buffers of buffer bytes, watched by
 * epfd with index as its data; transparent: IP_TRANSPARENT and IP_PKTINFO (a source address per
 * datagram). */
int load_open_socket(int epfd, unsigned index, int family, int buffer, bool transparent);

/* sendmmsg without blocking: how many left; a full buffer counts as a stall, anything else as an
 * error. */
unsigned load_sendmmsg(int fd, struct mmsghdr *msgs, unsigned k, uint64_t *stalls, uint64_t *errors);

typedef void (*load_check_fn)(const uint8_t *p, size_t len, const struct sockaddr_storage *from, struct msghdr *m);
/* Sends up to k requests, numbered from first_seq, from fd; returns how many left. */
typedef unsigned (*load_send_fn)(int fd, uint64_t first_seq, unsigned k);

struct load_run {
        double rate, duration, wait;   /* requests per second; seconds of sending and of waiting after */
        unsigned batch, n_sockets;
        uint64_t max_seq;              /* never more requests than that */
        int family, buffer;
        bool transparent;
        load_send_fn send;
        load_check_fn check;
};

/* Opens the sockets, sends open loop at the rate for the duration while checking replies, then
 * waits for late ones. Sets *ret_sent; returns the seconds spent sending. */
double load_run(const struct load_run *run, uint64_t *ret_sent);
