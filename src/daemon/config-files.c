/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config-files.h"
#include "file-io.h"

#define MAX_DROPINS 128

static bool is_masked(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3); /* /dev/null */
}

static int parse_file(const char *path, struct config *c, struct config_error *ret_error, bool missing_ok) {
        char *text = NULL;
        if (is_masked(path))
                return 0;
        ssize_t len = read_small_file(path, FILES_MAX_SIZE, true, &text);
        if (len == -ENOENT && missing_ok)
                return 0;
        if (len < 0) {
                snprintf(ret_error->message, sizeof(ret_error->message), "%.400s: cannot read: %s", path, strerror((int) -len));
                return (int) len;
        }
        int r = config_parse(c, path, text, (size_t) len, ret_error);
        free(text);
        return r;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool is_dropin_name(const char *name) {
        size_t n = strlen(name);
        return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

static void free_names(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* The *.conf names in dir, sorted. A missing directory has none. */
static int list_dropins(const char *dir_path, char ***ret_names, size_t *ret_n, struct config_error *ret_error) {
        char **names = NULL;
        size_t n = 0;
        DIR *d = opendir(dir_path);
        if (!d) {
                if (errno == ENOENT) {
                        *ret_names = NULL;
                        *ret_n = 0;
                        return 0;
                }
                int r = -errno;
                snprintf(ret_error->message, sizeof(ret_error->message), "%.400s: cannot read: %s", dir_path, strerror(-r));
                return r;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (!is_dropin_name(de->d_name))
                        continue;
                char **more = n < MAX_DROPINS ? realloc(names, (n + 1) * sizeof(*names)) : NULL;
                char *name = more ? strdup(de->d_name) : NULL;
                if (more)
                        names = more;
                if (!name) {
                        closedir(d);
                        free_names(names, n);
                        snprintf(ret_error->message, sizeof(ret_error->message), "%.400s: %s", dir_path,
                                 n >= MAX_DROPINS ? "more than 128 drop-ins" : "out of memory");
                        return n >= MAX_DROPINS ? -E2BIG : -ENOMEM;
                }
                names[n++] = name;
        }
        closedir(d);
        if (n > 0)
                qsort(names, n, sizeof(names[0]), compare_names);
        *ret_names = names;
        *ret_n = n;
        return 0;
}

static int parse_dropins(const char *main_path, struct config *c, struct config_error *ret_error) {
        char *dir_path = NULL, **names = NULL;
        size_t n = 0;

        if (asprintf(&dir_path, "%s.d", main_path) < 0)
                return -ENOMEM;
        int r = list_dropins(dir_path, &names, &n, ret_error);
        for (size_t i = 0; r == 0 && i < n; i++) {
                char *path = NULL;
                if (asprintf(&path, "%s/%s", dir_path, names[i]) < 0)
                        r = -ENOMEM;
                else
                        r = parse_file(path, c, ret_error, false);
                free(path);
        }
        free_names(names, n);
        free(dir_path);
        return r;
}

int config_load(const char *main_path, struct config *ret, struct config_error *ret_error) {
        struct config *c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        config_init(c);
        int r = parse_file(main_path, c, ret_error, true);
        if (r == 0)
                r = parse_dropins(main_path, c, ret_error);
        if (r == 0)
                memcpy(ret, c, sizeof(*c));
        free(c);
        return r;
}
