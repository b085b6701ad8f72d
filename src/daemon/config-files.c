/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config-files.h"
#include "config.h"
#include "macro.h"
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

static const char *basename_of(const char *path) {
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

static int compare_basenames(const void *a, const void *b) {
        return strcmp(basename_of(*(char *const *) a), basename_of(*(char *const *) b));
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

/* ---- systemd-timesyncd's files ---- */

static const char *const timesyncd_dropin_dirs[] = {
        NTPSYNC_TIMESYNCD_CONF ".d",
        "/run/systemd/timesyncd.conf.d",
        "/usr/local/lib/systemd/timesyncd.conf.d",
        "/usr/lib/systemd/timesyncd.conf.d",
};

static void timesyncd_warn(struct timesyncd_servers *t, const char *path, const char *what) {
        if (t->n_warnings < TIMESYNCD_MAX_WARNINGS)
                snprintf(t->warnings[t->n_warnings++], CONFIG_MESSAGE_MAX, "%.300s: %.150s, ignoring it", path, what);
}

static void timesyncd_parse_file(const char *path, struct timesyncd_servers *t) {
        char *text = NULL;
        if (is_masked(path))
                return;
        ssize_t len = read_small_file(path, FILES_MAX_SIZE, true, &text);
        if (len == -ENOENT)
                return;
        if (len < 0) {
                timesyncd_warn(t, path, strerror((int) -len));
                return;
        }
        timesyncd_conf_parse(t, path, text, (size_t) len);
        free(text);
}

/* Whether name is in one of the directories before dirs[k]: that one hides it. */
static bool hidden_by_earlier(const char *const *dirs, size_t k, const char *name) {
        for (size_t i = 0; i < k; i++) {
                char *path = NULL;
                struct stat st;
                bool found = asprintf(&path, "%s/%s", dirs[i], name) >= 0 && lstat(path, &st) == 0;
                free(path);
                if (found)
                        return true;
        }
        return false;
}

/* The drop-in names of all dirs, each once (its first directory's), in lexical order. */
static void timesyncd_parse_dropins(const char *const *dirs, size_t n_dirs, struct timesyncd_servers *t) {
        char *chosen[MAX_DROPINS];
        size_t n_chosen = 0;
        struct config_error ignored;
        for (size_t k = 0; k < n_dirs; k++) {
                char **names = NULL;
                size_t n = 0;
                if (list_dropins(dirs[k], &names, &n, &ignored) < 0) {
                        timesyncd_warn(t, dirs[k], "cannot be read");
                        continue;
                }
                for (size_t i = 0; i < n && n_chosen < MAX_DROPINS; i++)
                        if (!hidden_by_earlier(dirs, k, names[i]) &&
                            asprintf(&chosen[n_chosen], "%s/%s", dirs[k], names[i]) >= 0)
                                n_chosen++;
                free_names(names, n);
        }
        qsort(chosen, n_chosen, sizeof(chosen[0]), compare_basenames);
        for (size_t i = 0; i < n_chosen; i++) {
                timesyncd_parse_file(chosen[i], t);
                free(chosen[i]);
        }
}

void timesyncd_conf_load(const char *main_path, struct timesyncd_servers *ret) {
        memset(ret, 0, sizeof(*ret));
        if (!main_path || !main_path[0])
                return;
        timesyncd_parse_file(main_path, ret);
        if (strcmp(main_path, NTPSYNC_TIMESYNCD_CONF) == 0) {
                timesyncd_parse_dropins(timesyncd_dropin_dirs, ELEMENTSOF(timesyncd_dropin_dirs), ret);
                return;
        }
        char *dir = NULL;
        if (asprintf(&dir, "%s.d", main_path) < 0)
                return;
        const char *dirs[] = { dir };
        timesyncd_parse_dropins(dirs, 1, ret);
        free(dir);
}
