/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* UDP sockets toward one NTP server: connected (the kernel drops datagrams from anyone else),
 * bound to a random ephemeral port (RFC 9109), with kernel receive timestamps and, where the
 * kernel gives them, transmit timestamps. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

union sockaddr_union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
        struct sockaddr_storage storage;
};

struct net_address {
        union sockaddr_union sa;
        socklen_t len;
};

/* "192.0.2.1" or "2001:db8::1" (no port). */
void net_address_to_string(const struct net_address *a, char *buf, size_t size);
/* The reverse, for an address literal (port 0); -EINVAL for anything else, a name included. */
int net_address_parse(const char *text, struct net_address *ret);
void net_address_set_port(struct net_address *a, uint16_t port);
/* The refid an address gets when it is our system peer: the IPv4 address, or the first four
 * bytes of the MD5 of an IPv6 address as RFC 5905 says (here: a simple stable hash). */
uint32_t net_address_refid(const struct net_address *a);

/* a, with port 123 when it has none: where net_client_socket() connects. */
struct net_address net_address_ntp_target(const struct net_address *a);

/* Opens a non-blocking socket connected to a (port 123 unless a has one). */
int net_client_socket(const struct net_address *a, bool *ret_tx_timestamps);
/* Whether net_client_socket() failed for want of a route or of an address to send from: a state
 * of the network, which can change. */
bool net_error_is_no_route(int r);

/* Sends buf; *ret_t1_ns is the realtime just before. */
int net_send(int fd, const void *buf, size_t len, int64_t *ret_t1_ns);

/* Receives one datagram with its kernel receive timestamp (realtime ns; the time of the call
 * when the kernel gave none). Returns the length, -EAGAIN when there is nothing. */
ssize_t net_receive(int fd, void *buf, size_t size, int64_t *ret_rx_ns);

/* The time of a received or transmitted packet from its control messages: the raw hardware
 * timestamp converted through the PHC of its interface (hwts.h) where there is one, else the
 * software one. False when there is neither. */
bool net_timestamp_from_cmsg(struct msghdr *m, int64_t *ret_ns);

/* The address and interface each datagram came to (IP_PKTINFO, IPV6_RECVPKTINFO). */
void net_enable_packet_info(int fd, int family);

/* For a socket that only receives timestamps (serving): hardware ones too when some interface
 * has them, with the interface of each packet. */
void net_enable_receive_hardware_timestamps(int fd, int family);

/* Reads one transmit timestamp from the error queue (the hardware one where the interface has it
 * and, when both come, after the software one); -EAGAIN when none. */
int net_read_tx_timestamp(int fd, int64_t *ret_tx_ns);

/* The listening stream sockets systemd passed under `name` (FileDescriptorName=), made
 * non-blocking, into fds (at most max); returns how many. Sockets of other names are left for
 * their owners, and the environment stays. `what` begins the warning about a socket of that name
 * that cannot be used. */
size_t net_take_listening_sockets(const char *name, const char *what, int *fds, size_t max);

int64_t now_realtime_ns(void);
int64_t now_monotonic_ns(void);
