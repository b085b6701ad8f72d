/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "strv.h"

char **strv_free(char **l) {
        for (char **s = l; s && *s; s++)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}
