/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Serving threads beside the main one: each with its own sockets (or worker 0's), batch buffers,
 * counters and epoll loop; and the queue that carries the mode 6 queries they receive to the
 * main thread, which alone may call into the manager. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "ntp-server.h"

#define CONTROL_BUFFER 256

struct ntp_server_control_request {
        int fd;
        uint8_t datagram[NTP_MAX_PACKET_SIZE];
        size_t len;
        struct sockaddr_storage address;
        socklen_t address_len;
        char control[CONTROL_BUFFER];
        size_t control_len;
};

/* ---- a worker ---- */

struct ntp_server_worker *ntp_server_worker_new(struct ntp_server *s, unsigned index) {
        struct ntp_server_worker *w = calloc(1, sizeof(*w));
        if (!w)
                return NULL;
        *w = (struct ntp_server_worker) {
                .server = s,
                .index = index,
                .flood_log = LOG_RATELIMIT_INIT,
                .epoll_fd = -1,
                .stop_fd = -1,
        };
        w->batch = ntp_server_batch_new();
        w->nts = malloc(sizeof(*w->nts));
        if (!w->batch || !w->nts || ntp_server_nts_init(w->nts, NULL) < 0) {
                free(w->nts);
                w->nts = NULL;
                return ntp_server_worker_free(w);
        }
        return w;
}

struct ntp_server_worker *ntp_server_worker_free(struct ntp_server_worker *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < w->n_fds; i++)
                if (w->owned[i])
                        close(w->fds[i]);
        if (w->epoll_fd >= 0)
                close(w->epoll_fd);
        if (w->stop_fd >= 0)
                close(w->stop_fd);
        if (w->nts)
                ntp_server_nts_done(w->nts);
        free(w->nts);
        free(w->batch);
        free(w);
        return NULL;
}

static void *worker_main(void *userdata) {
        struct ntp_server_worker *w = userdata;
        struct epoll_event events[NTP_SERVER_MAX_SOCKETS + 1];

        for (;;) {
                int n = epoll_wait(w->epoll_fd, events, NTP_SERVER_MAX_SOCKETS + 1, -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        log_error_errno(-errno, "Serving thread %u stops, cannot wait for datagrams", w->index);
                        return NULL;
                }
                for (int i = 0; i < n; i++) {
                        int fd = events[i].data.fd;
                        if (fd == w->stop_fd)
                                return NULL;
                        ntp_server_worker_wakeup(w, fd, events[i].events);
                }
        }
}

/* Its own socket beside each of worker 0's serving ones; worker 0's itself when it cannot have
 * one (the kernel then hands each datagram to one of the threads reading it). */
static int open_worker_sockets(struct ntp_server_worker *w) {
        struct ntp_server *s = w->server;
        for (size_t i = 0; i < s->n_fds; i++) {
                if (!s->serving_socket[i])
                        continue;
                int fd = ntp_server_bind_like(s->fds[i]);
                bool owned = fd >= 0;
                if (!owned) {
                        if (w->index == 1)
                                log_info("Serving threads read the main thread's socket, cannot bind their own: %s",
                                         strerror(-fd));
                        fd = s->fds[i];
                }
                /* Exclusive: a datagram on a shared socket wakes one thread, not all. */
                struct epoll_event e = { .events = EPOLLIN | (owned ? 0 : EPOLLEXCLUSIVE), .data.fd = fd };
                if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &e) < 0) {
                        int r = -errno;
                        if (owned)
                                close(fd);
                        return r;
                }
                w->owned[w->n_fds] = owned;
                w->fds[w->n_fds++] = fd;
        }
        return w->n_fds > 0 ? 0 : -ENOENT;
}

static int start_thread(struct ntp_server_worker *w) {
        char name[16];
        sigset_t all, saved;
        w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->epoll_fd < 0 || w->stop_fd < 0)
                return -errno;
        struct epoll_event e = { .events = EPOLLIN, .data.fd = w->stop_fd };
        if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->stop_fd, &e) < 0)
                return -errno;
        int r = open_worker_sockets(w);
        if (r < 0)
                return r;
        /* Signals are the main loop's (signalfd): none for the workers. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = -pthread_create(&w->thread, NULL, worker_main, w);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                return r;
        w->running = true;
        snprintf(name, sizeof(name), "ntpsyncd-srv%u", w->index);
        (void) pthread_setname_np(w->thread, name);
        return 0;
}

int ntp_server_workers_start(struct ntp_server *s, unsigned n) {
        int r = 0;
        while (s->n_workers < n && s->n_workers < NTP_SERVER_MAX_THREADS) {
                struct ntp_server_worker *w = ntp_server_worker_new(s, (unsigned) s->n_workers);
                r = w ? start_thread(w) : -ENOMEM;
                if (r < 0) {
                        ntp_server_worker_free(w);
                        break;
                }
                s->workers[s->n_workers++] = w;
        }
        if (r < 0)
                log_warning_errno(r, "Serving on %zu thread(s) rather than %u", s->n_workers, n);
        else
                log_info("Serving on %zu threads", s->n_workers);
        return r;
}

static void add_into(uint64_t *sum, const uint64_t *c, size_t n) {
        for (size_t i = 0; i < n; i++)
                sum[i] += c[i];
}

void ntp_server_workers_stop(struct ntp_server *s) {
        while (s->n_workers > 1) {
                struct ntp_server_worker *w = s->workers[--s->n_workers];
                uint64_t one = 1;
                if (w->running) {
                        (void) !write(w->stop_fd, &one, sizeof(one));
                        pthread_join(w->thread, NULL);
                }
                /* Joined: its counters are ours to read plainly. */
                _Static_assert(sizeof(struct ntp_server_counters) % sizeof(uint64_t) == 0, "counters are all uint64_t");
                add_into((uint64_t *) &s->stopped_counters, (const uint64_t *) &w->counters,
                         sizeof(w->counters) / sizeof(uint64_t));
                s->workers[s->n_workers] = NULL;
                ntp_server_worker_free(w);
        }
        /* What they handed over and the main thread has not answered: their sockets close now. */
        pthread_mutex_lock(&s->control.lock);
        s->control.n = 0;
        pthread_mutex_unlock(&s->control.lock);
}

/* ---- mode 6 queries for the main thread ---- */

bool ntp_server_control_queue_push(struct ntp_server_worker *w, int fd, const struct msghdr *m, size_t len) {
        struct ntp_server_control_queue *q = &w->server->control;
        uint64_t one = 1;
        bool queued = false;

        pthread_mutex_lock(&q->lock);
        if (q->n < NTP_SERVER_CONTROL_QUEUE && len <= NTP_MAX_PACKET_SIZE && m->msg_namelen <= sizeof(struct sockaddr_storage) &&
            m->msg_controllen <= CONTROL_BUFFER) {
                struct ntp_server_control_request *r = &q->requests[q->n++];
                r->fd = fd;
                r->len = len;
                memcpy(r->datagram, m->msg_iov[0].iov_base, len);
                r->address_len = m->msg_namelen;
                memcpy(&r->address, m->msg_name, m->msg_namelen);
                r->control_len = m->msg_controllen;
                memcpy(r->control, m->msg_control, m->msg_controllen);
                queued = true;
        }
        pthread_mutex_unlock(&q->lock);
        if (queued)
                (void) !write(q->event_fd, &one, sizeof(one));
        return queued;
}

static void answer_request(struct ntp_server *s, struct ntp_server_control_request *r) {
        struct iovec iov = { r->datagram, r->len };
        struct msghdr m = {
                .msg_name = &r->address,
                .msg_namelen = r->address_len,
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = r->control,
                .msg_controllen = r->control_len,
        };
        ntp_server_answer_control(s->workers[0], r->fd, &m, r->len);
}

static int on_control_queued(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct ntp_server *s = userdata;
        struct ntp_server_control_queue *q = &s->control;
        uint64_t count;
        (void) !read(fd, &count, sizeof(count));
        /* One at a time, the lock not held while the manager answers. */
        for (;;) {
                struct ntp_server_control_request r;
                pthread_mutex_lock(&q->lock);
                bool any = q->n > 0;
                if (any) {
                        r = q->requests[0];
                        memmove(q->requests, q->requests + 1, --q->n * sizeof(q->requests[0]));
                }
                pthread_mutex_unlock(&q->lock);
                if (!any)
                        return 0;
                answer_request(s, &r);
        }
}

int ntp_server_control_queue_init(struct ntp_server *s) {
        struct ntp_server_control_queue *q = &s->control;
        pthread_mutex_init(&q->lock, NULL);
        q->requests = calloc(NTP_SERVER_CONTROL_QUEUE, sizeof(q->requests[0]));
        q->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!q->requests || q->event_fd < 0)
                return -ENOMEM;
        return sd_event_add_io(s->manager->event, &q->io, q->event_fd, EPOLLIN, on_control_queued, s);
}

void ntp_server_control_queue_done(struct ntp_server *s) {
        struct ntp_server_control_queue *q = &s->control;
        q->io = sd_event_source_disable_unref(q->io);
        if (q->event_fd >= 0)
                close(q->event_fd);
        q->event_fd = -1;
        free(q->requests);
        q->requests = NULL;
        pthread_mutex_destroy(&q->lock);
}
