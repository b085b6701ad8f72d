/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LD_PRELOAD shim for bench/serve-throughput.sh: gives every UDP socket a server binds to port
 * 123 receive and send buffers of NTPSYNC_BENCH_SOCKBUF bytes (SO_*BUFFORCE, which needs
 * CAP_NET_ADMIN; SO_*BUF up to the system maximum otherwise). chronyd and NTPsec ntpd have no
 * setting for their socket buffers; ntpsyncd sizes its own (8 MiB), so without this the
 * comparison would be one of buffer sizes as much as of servers. */

#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
        static int (*real_bind)(int, const struct sockaddr *, socklen_t);
        if (!real_bind)
                real_bind = (int (*)(int, const struct sockaddr *, socklen_t)) dlsym(RTLD_NEXT, "bind");
        int r = real_bind(fd, addr, len);
        const char *size_text = getenv("NTPSYNC_BENCH_SOCKBUF");
        if (r < 0 || !size_text || !addr)
                return r;
        int type = 0, size = atoi(size_text);
        socklen_t tl = sizeof(type);
        unsigned port = 0;
        if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
                port = ntohs(((const struct sockaddr_in *) addr)->sin_port);
        else if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
                port = ntohs(((const struct sockaddr_in6 *) addr)->sin6_port);
        if (port != 123 || size <= 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_DGRAM)
                return r;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        return r;
}
