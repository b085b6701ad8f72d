/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs LLVMFuzzerTestOneInput once over every file named on the command line, or found in a
 * directory named there: the seed corpus as a regression test, for builds without libFuzzer.
 * Each input gets a buffer of exactly its size, so that a sanitizer sees any read past its end. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int read_file(const char *path, uint8_t **ret_data, size_t *ret_size) {
        FILE *f = fopen(path, "rbe");
        struct stat st;
        uint8_t *data;
        size_t size;

        if (!f)
                return -errno;
        if (fstat(fileno(f), &st) < 0) {
                int r = -errno;
                fclose(f);
                return r;
        }
        size = (size_t) st.st_size;
        data = malloc(size > 0 ? size : 1);
        if (!data) {
                fclose(f);
                return -ENOMEM;
        }
        if (fread(data, 1, size, f) != size) {
                free(data);
                fclose(f);
                return -EIO;
        }
        fclose(f);
        *ret_data = data;
        *ret_size = size;
        return 0;
}

static int run_file(const char *path) {
        uint8_t *data = NULL;
        size_t size = 0;
        int r = read_file(path, &data, &size);

        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        return 0;
}

static int skip_hidden(const struct dirent *de) {
        return de->d_name[0] != '.';
}

/* Returns how many inputs ran, or a negative errno. */
static int run_directory(const char *dir) {
        struct dirent **entries;
        int n = scandir(dir, &entries, skip_hidden, alphasort);
        int ran = 0, r = 0;

        if (n < 0) {
                r = -errno;
                fprintf(stderr, "%s: %s\n", dir, strerror(-r));
                return r;
        }
        for (int i = 0; i < n; i++) {
                char path[4096];

                snprintf(path, sizeof(path), "%s/%s", dir, entries[i]->d_name);
                if (r >= 0)
                        r = run_file(path);
                if (r >= 0)
                        ran++;
                free(entries[i]);
        }
        free(entries);
        return r < 0 ? r : ran;
}

static int run_path(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0) {
                int r = -errno;
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        if (S_ISDIR(st.st_mode))
                return run_directory(path);
        return run_file(path) < 0 ? -EIO : 1;
}

int main(int argc, char *argv[]) {
        int total = 0;

        for (int i = 1; i < argc; i++) {
                int r = run_path(argv[i]);

                if (r < 0)
                        return EXIT_FAILURE;
                total += r;
        }
        printf("%s: ran %d inputs\n", argv[0], total);
        /* A corpus that went missing must not pass as a test that ran nothing. */
        return total > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
