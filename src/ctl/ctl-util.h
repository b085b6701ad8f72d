#pragma once

/* Small helpers shared by the ntpsyncctl sources. */

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

#define ELEMENTSOF(array) (sizeof(array) / sizeof((array)[0]))

/* What ntpsyncctl exits with; documented in --help. */
enum ctl_exit_status {
        CTL_EXIT_SUCCESS = 0,
        CTL_EXIT_FAILED = 1,       /* the daemon refused, or another failure */
        CTL_EXIT_USAGE = 2,        /* a bad command line */
        CTL_EXIT_UNREACHABLE = 3,  /* the daemon is not on the bus, or the bus is not there */
        CTL_EXIT_DENIED = 4,       /* not authorized */
};

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline char **strv_free(char **l) {
        if (l)
                for (char **s = l; *s; s++)
                        free(*s);
        free(l);
        return NULL;
}
