/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolve.h"

struct resolve_query {
        resolver *resolver;
        char *host;
        resolve_callback callback;
        void *userdata;
        atomic_bool cancelled;
        int error;
        struct net_address addresses[RESOLVE_MAX_ADDRESSES];
        size_t n;
};

struct resolver {
        sd_event_source *io;
        int pipe_read, pipe_write;
        unsigned pending;
        bool freeing;
};

static void query_free(resolve_query *q) {
        free(q->host);
        free(q);
}

static int map_gai_error(int e) {
        switch (e) {
        case EAI_NONAME:
#ifdef EAI_NODATA
        case EAI_NODATA:
#endif
                return -ENOENT;
        case EAI_AGAIN:
                return -EAGAIN;
        case EAI_MEMORY:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

static void collect(resolve_query *q, const struct addrinfo *list) {
        for (const struct addrinfo *ai = list; ai && q->n < RESOLVE_MAX_ADDRESSES; ai = ai->ai_next) {
                if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addrlen > sizeof(union sockaddr_union))
                        continue;
                bool duplicate = false;
                for (size_t i = 0; i < q->n; i++)
                        duplicate |= q->addresses[i].len == ai->ai_addrlen &&
                                     memcmp(&q->addresses[i].sa, ai->ai_addr, ai->ai_addrlen) == 0;
                if (duplicate)
                        continue;
                memcpy(&q->addresses[q->n].sa, ai->ai_addr, ai->ai_addrlen);
                q->addresses[q->n].len = ai->ai_addrlen;
                q->n++;
        }
}

static void *resolve_thread(void *p) {
        resolve_query *q = p;
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };
        struct addrinfo *list = NULL;

        int e = getaddrinfo(q->host, NULL, &hints, &list);
        if (e != 0)
                q->error = map_gai_error(e);
        else {
                collect(q, list);
                freeaddrinfo(list);
                if (q->n == 0)
                        q->error = -ENOENT;
        }
        /* A pointer is less than PIPE_BUF: the write is atomic. */
        ssize_t n = write(q->resolver->pipe_write, &q, sizeof(q));
        (void) n;
        return NULL;
}

static void maybe_release(resolver *r) {
        if (!r->freeing || r->pending > 0)
                return;
        sd_event_source_disable_unref(r->io);
        close(r->pipe_read);
        close(r->pipe_write);
        free(r);
}

static int on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        resolver *r = userdata;
        resolve_query *q;

        while (read(fd, &q, sizeof(q)) == (ssize_t) sizeof(q)) {
                r->pending--;
                if (!atomic_load(&q->cancelled) && !r->freeing)
                        q->callback(q->userdata, q->error, q->addresses, q->n);
                query_free(q);
        }
        maybe_release(r);
        return 0;
}

int resolver_new(sd_event *event, resolver **ret) {
        resolver *r = calloc(1, sizeof(*r));
        int fds[2];
        if (!r)
                return -ENOMEM;
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
                free(r);
                return -errno;
        }
        r->pipe_read = fds[0];
        r->pipe_write = fds[1];
        int k = sd_event_add_io(event, &r->io, r->pipe_read, EPOLLIN, on_pipe, r);
        if (k < 0) {
                close(fds[0]);
                close(fds[1]);
                free(r);
                return k;
        }
        *ret = r;
        return 0;
}

resolver *resolver_free(resolver *r) {
        if (!r)
                return NULL;
        /* Threads still running will write to the pipe: keep it until they have. */
        r->freeing = true;
        maybe_release(r);
        return NULL;
}

int resolve_start(resolver *r, const char *host, resolve_callback cb, void *userdata, resolve_query **ret) {
        if (r->pending >= RESOLVE_MAX_PENDING)
                return -EBUSY;
        resolve_query *q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->host = strdup(host);
        if (!q->host) {
                free(q);
                return -ENOMEM;
        }
        q->resolver = r;
        q->callback = cb;
        q->userdata = userdata;
        atomic_init(&q->cancelled, false);

        pthread_attr_t attr;
        pthread_t thread;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        int e = pthread_create(&thread, &attr, resolve_thread, q);
        pthread_attr_destroy(&attr);
        if (e != 0) {
                query_free(q);
                return -e;
        }
        r->pending++;
        if (ret)
                *ret = q;
        return 0;
}

void resolve_cancel(resolve_query *q) {
        if (q)
                atomic_store(&q->cancelled, true);
}

const char *resolve_strerror(int error) {
        switch (error) {
        case -ENOENT: return "no such host";
        case -EAGAIN: return "temporary failure in name resolution";
        case -ENOMEM: return "out of memory";
        default: return "name resolution failed";
        }
}
