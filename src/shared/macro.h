/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers every part of ntpsync may use: cleanup attributes, array sizes, ownership. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

#define ELEMENTSOF(array) (sizeof(array) / sizeof((array)[0]))

/* Takes the pointer out of a variable that a cleanup attribute would free: ownership moves on. */
#define TAKE_PTR(p)                                      \
        ({                                               \
                __typeof__(p) _taken = (p);              \
                (p) = NULL;                              \
                _taken;                                  \
        })

/* The same for a file descriptor. */
#define TAKE_FD(fd)                                      \
        ({                                               \
                int _taken = (fd);                       \
                (fd) = -1;                               \
                _taken;                                  \
        })

/* Defines NAME##p(TYPE **), for _cleanup_(NAME##p), from TYPE *NAME(TYPE *) that frees. */
#define DEFINE_POINTER_CLEANUP(type, name)               \
        static inline void name##p(type **p) {           \
                if (*p)                                  \
                        (void) name(*p);                 \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}

/* Closes *fd when it is one; keeps errno, which the caller may still be reporting. */
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline int streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}
