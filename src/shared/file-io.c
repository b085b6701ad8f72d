/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-io.h"
#include "macro.h"

ssize_t read_small_file(const char *path, size_t max, bool follow, char **ret_text) {
        /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW));
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, 0) < 0)
                return -EINVAL;
        if ((size_t) st.st_size > max)
                return -EFBIG;
        _cleanup_free_ char *text = malloc(max + 1);
        if (!text)
                return -ENOMEM;
        size_t len = 0;
        for (;;) {
                ssize_t n = read(fd, text + len, max - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                len += (size_t) n;
                if (n == 0 || len == max)
                        break;
        }
        text[len] = '\0';
        *ret_text = TAKE_PTR(text);
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
        _cleanup_free_ char *copy = strdup(path), *tmp = NULL;
        if (!copy)
                return -ENOMEM;
        const char *dir = dirname(copy);
        if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, base_name(path)) < 0)
                return -ENOMEM;

        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, text, len);
        if (r == 0 && fchmod(fd, (mode_t) mode) < 0)
                r = -errno;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        return fsync_directory(dir);
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
