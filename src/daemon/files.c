#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files.h"

#define MAX_DROPINS 128

ssize_t read_small_file(const char *path, size_t max, bool follow, char **ret_text) {
        /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW));
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, 0) < 0) {
                close(fd);
                return -EINVAL;
        }
        if ((size_t) st.st_size > max) {
                close(fd);
                return -EFBIG;
        }
        char *text = malloc(max + 1);
        if (!text) {
                close(fd);
                return -ENOMEM;
        }
        size_t len = 0;
        for (;;) {
                ssize_t n = read(fd, text + len, max - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;
                        free(text);
                        close(fd);
                        return r;
                }
                len += (size_t) n;
                if (n == 0 || len == max)
                        break;
        }
        close(fd);
        text[len] = '\0';
        *ret_text = text;
        return (ssize_t) len;
}

static int write_all(int fd, const char *text, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, text, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                text += n;
                len -= (size_t) n;
        }
        return 0;
}

static const char *base_name(const char *path) {
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

static int fsync_directory(const char *dir) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = fsync(fd) < 0 ? -errno : 0;
        close(fd);
        return r;
}

int write_file_atomic(const char *path, const char *text, size_t len, int mode) {
        char *copy = strdup(path), *tmp = NULL;
        if (!copy)
                return -ENOMEM;
        const char *dir = dirname(copy);
        if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, base_name(path)) < 0) {
                free(copy);
                return -ENOMEM;
        }

        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                free(tmp);
                free(copy);
                return r;
        }
        int r = write_all(fd, text, len);
        if (r == 0 && fchmod(fd, (mode_t) mode) < 0)
                r = -errno;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        else
                r = fsync_directory(dir);
        free(tmp);
        free(copy);
        return r;
}

static bool is_masked(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3); /* /dev/null */
}

void remove_stale_temporaries(const char *path) {
        char *copy = strdup(path);
        if (!copy)
                return;
        const char *base = base_name(path);
        DIR *d = opendir(dirname(copy));
        size_t base_len = strlen(base);
        for (struct dirent *de; d && (de = readdir(d));) {
                const char *n = de->d_name;
                /* ".BASE." and the six characters mkostemp() chose */
                if (n[0] == '.' && strlen(n) == base_len + 8 && strncmp(n + 1, base, base_len) == 0 &&
                    n[base_len + 1] == '.')
                        (void) unlinkat(dirfd(d), n, 0);
        }
        if (d)
                closedir(d);
        free(copy);
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
