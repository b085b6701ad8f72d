/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the daemon's files: read_small_file() (no symlinks, no FIFOs or directories,
 * a size limit), write_file_atomic() (content, mode, symlinks replaced not followed, no
 * temporary files left, old file kept on failure, never partial when killed at any moment), and
 * config_load() (main file and drop-ins in lexical order, all or nothing). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config-files.h"
#include "file-io.h"
#include "unit-test.h"

#define PATH_SIZE 4096
#define SENTINEL_TEXT ((char *) (uintptr_t) 0x1234)

/* ---- a temporary directory per test ---- */

static int setup_tmpdir(void **state) {
        char template[] = "/tmp/ntpsync-test-files-XXXXXX";
        if (!mkdtemp(template))
                return -1;
        if (chmod(template, 0755) < 0)
                return -1;
        *state = strdup(template);
        return *state ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        if (type == FTW_D || type == FTW_DP || type == FTW_DNR)
                chmod(path, 0700);
        return remove(path) < 0 ? -1 : 0;
}

static int make_writable(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        if (type == FTW_D || type == FTW_DNR)
                chmod(path, 0700);
        return 0;
}

static int teardown_tmpdir(void **state) {
        char *dir = *state;
        nftw(dir, make_writable, 16, FTW_PHYS);
        int r = nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(dir);
        return r;
}

static void join(char *buf, const char *dir, const char *name) {
        int n = snprintf(buf, PATH_SIZE, "%s/%s", dir, name);
        assert_true(n > 0 && n < PATH_SIZE);
}

static void write_plain(const char *path, const char *text, size_t len) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, len), (ssize_t) len);
        assert_int_equal(close(fd), 0);
}

/* The whole file, read without read_small_file(); NULL when missing. *ret_len gets the length. */
static char *read_plain(const char *path, size_t *ret_len) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                assert_int_equal(errno, ENOENT);
                return NULL;
        }
        size_t size = 4096, len = 0;
        char *text = malloc(size + 1);
        assert_non_null(text);
        for (;;) {
                if (len == size) {
                        size *= 2;
                        text = realloc(text, size + 1);
                        assert_non_null(text);
                }
                ssize_t n = read(fd, text + len, size - len);
                assert_true(n >= 0);
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        close(fd);
        text[len] = '\0';
        *ret_len = len;
        return text;
}

static void assert_file(const char *path, const char *expected) {
        size_t len;
        char *text = read_plain(path, &len);
        if (!text) {
                print_error("%s is missing\n", path);
                fail();
        }
        assert_int_equal(len, strlen(expected));
        assert_string_equal(text, expected);
        free(text);
}

/* The names in dir (without . and ..), sorted and joined with spaces. */
static void list_dir(const char *dir, char *buf, size_t size) {
        struct dirent **entries;
        int n = scandir(dir, &entries, NULL, alphasort);
        assert_true(n >= 0);
        buf[0] = '\0';
        for (int i = 0; i < n; i++) {
                const char *name = entries[i]->d_name;
                if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
                        if (buf[0])
                                strncat(buf, " ", size - strlen(buf) - 1);
                        strncat(buf, name, size - strlen(buf) - 1);
                }
                free(entries[i]);
        }
        free(entries);
}

/* ---- read_small_file ---- */

/* read_small_file() (limit max) gives back exactly the len bytes of expected, NUL-terminated. */
static void assert_reads(const char *path, size_t max, const char *expected, size_t len) {
        char *text = NULL;

        assert_int_equal(read_small_file(path, max, false, &text), len);
        assert_non_null(text);
        assert_memory_equal(text, expected, len);
        assert_int_equal(text[len], '\0');
        free(text);
}

static void test_read_regular_file(void **state) {
        const char *dir = *state;
        char path[PATH_SIZE];

        join(path, dir, "state");
        write_plain(path, "hello\nworld", 11);
        assert_reads(path, 100, "hello\nworld", 11);
        /* Exactly the limit is fine. */
        assert_reads(path, 11, "hello\nworld", 11);

        /* Empty. */
        write_plain(path, "", 0);
        assert_reads(path, 100, "", 0);

        /* Binary content comes back whole, NULs included. */
        write_plain(path, "a\0b\0c", 5);
        assert_reads(path, 100, "a\0b\0c", 5);
}

static void test_read_limit(void **state) {
        const char *dir = *state;
        char path[PATH_SIZE];
        char *text = SENTINEL_TEXT;

        join(path, dir, "big");
        write_plain(path, "0123456789", 10);
        assert_int_equal(read_small_file(path, 9, false, &text), -EFBIG);
        assert_ptr_equal(text, SENTINEL_TEXT);
        assert_int_equal(read_small_file(path, 0, false, &text), -EFBIG);
        assert_ptr_equal(text, SENTINEL_TEXT);

        /* Just above the limit the daemon uses for configuration files. */
        char *big = malloc(FILES_MAX_SIZE + 1);
        assert_non_null(big);
        memset(big, '#', FILES_MAX_SIZE + 1);
        write_plain(path, big, FILES_MAX_SIZE + 1);
        assert_int_equal(read_small_file(path, FILES_MAX_SIZE, false, &text), -EFBIG);
        assert_ptr_equal(text, SENTINEL_TEXT);
        write_plain(path, big, FILES_MAX_SIZE);
        assert_reads(path, FILES_MAX_SIZE, big, FILES_MAX_SIZE);
        free(big);
}

static void test_read_missing(void **state) {
        const char *dir = *state;
        char path[PATH_SIZE];
        char *text = SENTINEL_TEXT;

        join(path, dir, "missing");
        assert_int_equal(read_small_file(path, 100, false, &text), -ENOENT);
        assert_ptr_equal(text, SENTINEL_TEXT);
}

static void test_read_refuses_symlinks(void **state) {
        const char *dir = *state;
        char target[PATH_SIZE], link[PATH_SIZE];
        char *text = SENTINEL_TEXT;

        join(target, dir, "target");
        join(link, dir, "link");
        write_plain(target, "secret", 6);
        assert_int_equal(symlink(target, link), 0);
        assert_int_equal(read_small_file(link, 100, false, &text), -ELOOP);
        assert_ptr_equal(text, SENTINEL_TEXT);

        /* Relative and dangling symlinks too. */
        join(link, dir, "relative");
        assert_int_equal(symlink("target", link), 0);
        assert_int_equal(read_small_file(link, 100, false, &text), -ELOOP);
        join(link, dir, "dangling");
        assert_int_equal(symlink("nowhere", link), 0);
        assert_true(read_small_file(link, 100, false, &text) < 0);
        assert_ptr_equal(text, SENTINEL_TEXT);

        /* The target itself is fine. */
        assert_reads(target, 100, "secret", 6);
}

static void test_read_refuses_directory(void **state) {
        const char *dir = *state;
        char *text = SENTINEL_TEXT;

        assert_true(read_small_file(dir, 100, false, &text) < 0);
        assert_ptr_equal(text, SENTINEL_TEXT);
        assert_true(read_small_file("/dev/null", 100, false, &text) < 0);
        assert_ptr_equal(text, SENTINEL_TEXT);
}

static void test_read_refuses_fifo(void **state) {
        const char *dir = *state;
        char path[PATH_SIZE];

        join(path, dir, "fifo");
        assert_int_equal(mkfifo(path, 0644), 0);

        /* In a child with a deadline: opening a FIFO for reading without O_NONBLOCK waits for a
         * writer, which would hang the daemon at startup on a FIFO at the drift file's path. */
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char *text = SENTINEL_TEXT;
                alarm(3);
                ssize_t r = read_small_file(path, 100, false, &text);
                _exit(r < 0 && text == SENTINEL_TEXT ? 0 : 1);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status)) {
                print_error("read_small_file() blocked on a FIFO (killed by signal %d)\n", WTERMSIG(status));
                fail();
        }
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- write_file_atomic ---- */

static void assert_mode(const char *path, mode_t mode) {
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, mode);
}

static void test_write_content_and_mode(void **state) {
        const char *dir = *state;
        char path[PATH_SIZE];

        join(path, dir, "drift");
        assert_int_equal(write_file_atomic(path, "12.345\n", 7, 0644), 0);
        assert_file(path, "12.345\n");
        assert_mode(path, 0644);

        /* Replaced: a shorter text leaves nothing of the longer one; the mode changes. */
        assert_int_equal(write_file_atomic(path, "1\n", 2, 0600), 0);
        assert_file(path, "1\n");
        assert_mode(path, 0600);

        assert_int_equal(write_file_atomic(path, "", 0, 0640), 0);
        assert_file(path, "");
        assert_mode(path, 0640);

        /* Only len bytes. */
        assert_int_equal(write_file_atomic(path, "abcdef", 3, 0644), 0);
        assert_file(path, "abc");

        /* A file with content that was there before is replaced, not rewritten in place: a
         * hard link to the old file keeps the old content. */
        char other[PATH_SIZE];
        join(other, dir, "old-drift");
        assert_int_equal(link(path, other), 0);
        assert_int_equal(write_file_atomic(path, "new", 3, 0644), 0);
        assert_file(path, "new");
        assert_file(other, "abc");

        /* A missing directory. */
        join(path, dir, "missing/drift");
        assert_int_equal(write_file_atomic(path, "x", 1, 0644), -ENOENT);
}

static void test_write_relative_path(void **state) {
        const char *dir = *state;
        char cwd[PATH_SIZE], path[PATH_SIZE];

        assert_non_null(getcwd(cwd, sizeof(cwd)));
        assert_int_equal(chdir(dir), 0);
        int r = write_file_atomic("plain", "relative\n", 9, 0644);
        assert_int_equal(chdir(cwd), 0);
        assert_int_equal(r, 0);
        join(path, dir, "plain");
        assert_file(path, "relative\n");
        list_dir(dir, cwd, sizeof(cwd));
        assert_string_equal(cwd, "plain");
}

static void test_write_replaces_symlink(void **state) {
        const char *dir = *state;
        char path[PATH_SIZE], target[PATH_SIZE], subdir[PATH_SIZE], names[PATH_SIZE];

        /* A symlink to a file elsewhere: the link is replaced, the target untouched. */
        join(subdir, dir, "elsewhere");
        assert_int_equal(mkdir(subdir, 0755), 0);
        join(target, subdir, "passwd");
        write_plain(target, "root:x:0:0\n", 11);
        assert_int_equal(chmod(target, 0600), 0);
        join(path, dir, "drift");
        assert_int_equal(symlink(target, path), 0);

        assert_int_equal(write_file_atomic(path, "1.0\n", 4, 0644), 0);
        assert_mode(path, 0644);
        assert_file(path, "1.0\n");
        assert_file(target, "root:x:0:0\n");
        assert_mode(target, 0600);
        list_dir(subdir, names, sizeof(names));
        assert_string_equal(names, "passwd");

        /* A dangling symlink: replaced; nothing created where it pointed. */
        join(path, dir, "state");
        join(target, subdir, "created");
        assert_int_equal(symlink(target, path), 0);
        assert_int_equal(write_file_atomic(path, "2.0\n", 4, 0644), 0);
        assert_file(path, "2.0\n");
        assert_int_equal(access(target, F_OK), -1);
        assert_int_equal(errno, ENOENT);
}

static void test_write_leaves_no_temporary_files(void **state) {
        const char *dir = *state;
        char path[PATH_SIZE], names[PATH_SIZE];

        join(path, dir, "drift");
        for (int i = 0; i < 20; i++) {
                char text[32];
                int n = snprintf(text, sizeof(text), "%d.000\n", i);
                assert_int_equal(write_file_atomic(path, text, (size_t) n, 0644), 0);
                assert_file(path, text);
        }
        list_dir(dir, names, sizeof(names));
        assert_string_equal(names, "drift");

        /* A failed rename (a non-empty directory at the path) leaves nothing behind either. */
        char blocker[PATH_SIZE], inside[PATH_SIZE];
        join(blocker, dir, "blocked");
        assert_int_equal(mkdir(blocker, 0755), 0);
        join(inside, blocker, "keep");
        write_plain(inside, "kept", 4);
        assert_true(write_file_atomic(blocker, "x", 1, 0644) < 0);
        assert_file(inside, "kept");
        list_dir(dir, names, sizeof(names));
        assert_string_equal(names, "blocked drift");
}

static void test_write_unwritable_directory(void **state) {
        const char *dir = *state;
        char ro[PATH_SIZE], path[PATH_SIZE], names[PATH_SIZE];

        join(ro, dir, "ro");
        assert_int_equal(mkdir(ro, 0755), 0);
        join(path, ro, "drift");
        write_plain(path, "old\n", 4);
        assert_int_equal(chmod(ro, 0555), 0);

        /* root writes anyway: try it as nobody, in a child. */
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (geteuid() == 0 &&
                    (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
                        _exit(100);
                int r = write_file_atomic(path, "new\n", 4, 0644);
                _exit(r < 0 ? -r : 0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 100)
                skip();
        /* An error, and which one. */
        assert_int_equal(WEXITSTATUS(status), EACCES);
        assert_file(path, "old\n");
        assert_mode(path, 0644);
        list_dir(ro, names, sizeof(names));
        assert_string_equal(names, "drift");
}

/* ---- killed at any moment ---- */

#define CRASH_ROUNDS 50
#define CONTENT_A_SIZE (64 * 1024)
#define CONTENT_B_SIZE (96 * 1024)

static uint64_t rng_state = UINT64_C(0x853c49e6748fea9b);

static uint64_t rng_next(void) {
        /* xorshift64*: deterministic across runs */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * UINT64_C(2685821657736338717);
}

static int64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fill(char *buf, size_t size, char letter) {
        /* Not one repeated byte: every 16 bytes say which content and where they belong. */
        for (size_t i = 0; i < size; i += 16)
                snprintf(buf + i, size - i < 16 ? size - i : 16, "%c%014zx", letter, i);
        memset(buf + size - 1, '\n', 1);
}

static void test_write_killed_at_any_moment(void **state) {
        const char *dir = *state;
        char path[PATH_SIZE];
        char *a = malloc(CONTENT_A_SIZE), *b = malloc(CONTENT_B_SIZE);
        unsigned seen_a = 0, seen_b = 0;

        assert_non_null(a);
        assert_non_null(b);
        fill(a, CONTENT_A_SIZE, 'A');
        fill(b, CONTENT_B_SIZE, 'B');
        join(path, dir, "drift");

        /* The first complete write, timed: the kills land within a few writes' time. */
        int64_t t0 = now_ns();
        assert_int_equal(write_file_atomic(path, a, CONTENT_A_SIZE, 0644), 0);
        assert_int_equal(write_file_atomic(path, a, CONTENT_A_SIZE, 0644), 0);
        int64_t one_write = (now_ns() - t0) / 2;
        if (one_write < 20000)
                one_write = 20000;

        for (int round = 0; round < CRASH_ROUNDS; round++) {
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        for (;;) {
                                if (write_file_atomic(path, b, CONTENT_B_SIZE, 0644) < 0)
                                        _exit(1);
                                if (write_file_atomic(path, a, CONTENT_A_SIZE, 0644) < 0)
                                        _exit(1);
                        }
                }
                int64_t delay = (int64_t) (rng_next() % (uint64_t) (4 * one_write));
                struct timespec ts = { .tv_sec = delay / 1000000000, .tv_nsec = delay % 1000000000 };
                nanosleep(&ts, NULL);
                assert_int_equal(kill(pid, SIGKILL), 0);
                int status;
                assert_int_equal(waitpid(pid, &status, 0), pid);
                if (!WIFSIGNALED(status)) {
                        print_error("round %d: the writer failed instead of being killed\n", round);
                        fail();
                }

                size_t len;
                char *text = read_plain(path, &len);
                if (!text) {
                        print_error("round %d: the file is missing after a kill %lld ns in\n", round, (long long) delay);
                        fail();
                }
                if (len == CONTENT_A_SIZE && memcmp(text, a, len) == 0)
                        seen_a++;
                else if (len == CONTENT_B_SIZE && memcmp(text, b, len) == 0)
                        seen_b++;
                else {
                        print_error("round %d: the file is neither A nor B (%zu bytes) after a kill %lld ns in\n",
                                    round, len, (long long) delay);
                        free(text);
                        fail();
                }
                free(text);
        }
        /* The kills did land both between and during writes. */
        print_message("killed %d times: %u times A, %u times B (one write takes ~%lld us)\n", CRASH_ROUNDS, seen_a,
                      seen_b, (long long) one_write / 1000);
        assert_true(seen_b > 0);
        free(a);
        free(b);
}

/* ---- config_load ---- */

static void make_dropin_dir(const char *dir, char *ret_main, char *ret_dropins) {
        join(ret_main, dir, "ntpsyncd.conf");
        join(ret_dropins, dir, "ntpsyncd.conf.d");
        assert_int_equal(mkdir(ret_dropins, 0755), 0);
}

static void write_in(const char *dir, const char *name, const char *text) {
        char path[PATH_SIZE];
        join(path, dir, name);
        write_plain(path, text, strlen(text));
}

static void test_load_main_and_dropins_in_order(void **state) {
        const char *dir = *state;
        char main_path[PATH_SIZE], dropins[PATH_SIZE], origin[PATH_SIZE];
        struct config_error error;
        struct config *c = malloc(sizeof(*c));
        assert_non_null(c);

        make_dropin_dir(dir, main_path, dropins);
        write_in(dir, "ntpsyncd.conf", "server main.example.org\ntinker step 0.1\n");
        /* Created out of order; read in lexical order. */
        write_in(dropins, "20-c.conf", "tinker step 0.3\nserver c.example.org\n");
        write_in(dropins, "10-a.conf", "tinker step 0.2\nserver a.example.org\nserve on\n");
        write_in(dropins, "2-b.conf", "server b.example.org\n");
        /* Not drop-ins: ignored, though not valid configuration. */
        write_in(dropins, "README", "this is not configuration\n");
        write_in(dropins, "30-d.conf.bak", "bogus\n");
        write_in(dropins, "40-e.conf~", "bogus\n");
        write_in(dropins, "50-f.conf.disabled", "bogus\n");
        write_in(dropins, "conf", "bogus\n");
        char sub[PATH_SIZE];
        join(sub, dropins, "sub");
        assert_int_equal(mkdir(sub, 0755), 0);

        config_init(c);
        if (config_load(main_path, c, &error) != 0) {
                print_error("refused: %s\n", error.message);
                fail();
        }
        assert_int_equal(c->n_servers, 4);
        assert_string_equal(c->servers[0].host, "main.example.org");
        assert_string_equal(c->servers[1].host, "a.example.org");
        assert_string_equal(c->servers[2].host, "b.example.org");
        assert_string_equal(c->servers[3].host, "c.example.org");
        assert_double_near(c->step_threshold.value, 0.3, 0);
        assert_true(c->serve.value);

        assert_string_equal(c->servers[0].origin.file, main_path);
        assert_int_equal(c->servers[0].origin.line, 1);
        join(origin, dropins, "20-c.conf");
        assert_string_equal(c->step_threshold.origin.file, origin);
        assert_int_equal(c->step_threshold.origin.line, 1);
        assert_string_equal(c->servers[3].origin.file, origin);
        assert_int_equal(c->servers[3].origin.line, 2);
        join(origin, dropins, "10-a.conf");
        assert_string_equal(c->serve.origin.file, origin);
        assert_int_equal(c->serve.origin.line, 3);
        free(c);
}

static void test_load_replaces_what_was_there(void **state) {
        const char *dir = *state;
        char main_path[PATH_SIZE], dropins[PATH_SIZE];
        struct config_error error;
        struct config *c = malloc(sizeof(*c));
        assert_non_null(c);

        make_dropin_dir(dir, main_path, dropins);
        write_in(dir, "ntpsyncd.conf", "server new.example.org\n");
        /* Whatever the caller's struct held is not merged in. */
        config_init(c);
        c->n_servers = 1;
        snprintf(c->servers[0].host, sizeof(c->servers[0].host), "old.example.org");
        c->serve.value = true;
        assert_int_equal(config_load(main_path, c, &error), 0);
        assert_int_equal(c->n_servers, 1);
        assert_string_equal(c->servers[0].host, "new.example.org");
        assert_false(c->serve.value);
        free(c);
}

static void assert_load_refused(const char *main_path, const char *message_prefix) {
        struct config_error error;
        struct config *c = malloc(sizeof(*c)), *before = malloc(sizeof(*before));
        assert_non_null(c);
        assert_non_null(before);

        /* The caller's running configuration. */
        config_init(c);
        const char *running = "server running.example.org\ntinker step 0.7\n";
        assert_int_equal(config_parse(c, "running.conf", running, strlen(running), &error), 0);
        memcpy(before, c, sizeof(*c));

        memset(&error, 0, sizeof(error));
        int r = config_load(main_path, c, &error);
        assert_true(r < 0);
        if (strncmp(error.message, message_prefix, strlen(message_prefix)) != 0) {
                print_error("error \"%s\", expected \"%s...\"\n", error.message, message_prefix);
                fail();
        }
        assert_memory_equal(c, before, sizeof(*c));
        free(c);
        free(before);
}

static void test_load_bad_dropin_refuses_everything(void **state) {
        const char *dir = *state;
        char main_path[PATH_SIZE], dropins[PATH_SIZE], prefix[PATH_SIZE];

        make_dropin_dir(dir, main_path, dropins);
        write_in(dir, "ntpsyncd.conf", "server main.example.org\n");
        write_in(dropins, "10-a.conf", "server a.example.org\n");
        write_in(dropins, "30-bad.conf", "tinker step 0.5\nlocal stratum 99\n");
        write_in(dropins, "50-z.conf", "server z.example.org\n");
        join(prefix, dropins, "30-bad.conf:2: local stratum");
        assert_load_refused(main_path, prefix);
}

static void test_load_bad_main_file(void **state) {
        const char *dir = *state;
        char main_path[PATH_SIZE], dropins[PATH_SIZE], prefix[PATH_SIZE + 64];

        make_dropin_dir(dir, main_path, dropins);
        write_in(dir, "ntpsyncd.conf", "server main.example.org\n\n\nbogus\n");
        write_in(dropins, "10-a.conf", "server a.example.org\n");
        snprintf(prefix, sizeof(prefix), "%s:4: unknown directive", main_path);
        assert_load_refused(main_path, prefix);

        /* Unreadable: a directory where the file should be. */
        assert_int_equal(unlink(main_path), 0);
        assert_int_equal(mkdir(main_path, 0755), 0);
        snprintf(prefix, sizeof(prefix), "%s: ", main_path);
        assert_load_refused(main_path, prefix);
}

static void test_load_missing_main_file(void **state) {
        const char *dir = *state;
        char main_path[PATH_SIZE], dropins[PATH_SIZE];
        struct config_error error;
        struct config *c = malloc(sizeof(*c)), *defaults = malloc(sizeof(*defaults));
        assert_non_null(c);
        assert_non_null(defaults);

        /* Neither the file nor the directory: the defaults. */
        join(main_path, dir, "ntpsyncd.conf");
        memset(c, 0x5a, sizeof(*c));
        config_init(defaults);
        assert_int_equal(config_load(main_path, c, &error), 0);
        assert_memory_equal(c, defaults, sizeof(*c));

        /* No main file, but drop-ins: they count. */
        make_dropin_dir(dir, main_path, dropins);
        write_in(dropins, "10-a.conf", "server a.example.org\n");
        assert_int_equal(config_load(main_path, c, &error), 0);
        assert_int_equal(c->n_servers, 1);
        free(c);
        free(defaults);
}

static void test_load_many_dropins(void **state) {
        const char *dir = *state;
        char main_path[PATH_SIZE], dropins[PATH_SIZE];
        struct config_error error;
        struct config *c = malloc(sizeof(*c));
        assert_non_null(c);

        /* One restrict rule more than a configuration holds, one per drop-in: every drop-in
         * must be read (or too many refused), so the load must fail; silently reading only some
         * of them would not. */
        make_dropin_dir(dir, main_path, dropins);
        for (int i = 0; i <= CONFIG_MAX_RESTRICTS; i++) {
                char name[32], text[64];
                snprintf(name, sizeof(name), "%03d.conf", i);
                snprintf(text, sizeof(text), "restrict 10.0.%d.0/24 nomodify\n", i);
                write_in(dropins, name, text);
        }
        config_init(c);
        int r = config_load(main_path, c, &error);
        if (r >= 0) {
                print_error("%d drop-ins with a restrict rule each loaded as %zu rules\n", CONFIG_MAX_RESTRICTS + 1,
                            c->n_restricts);
                free(c);
                fail();
        }
        free(c);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_tmpdir, teardown_tmpdir)
        const struct CMUnitTest tests[] = {
                T(test_read_regular_file),
                T(test_read_limit),
                T(test_read_missing),
                T(test_read_refuses_symlinks),
                T(test_read_refuses_directory),
                T(test_read_refuses_fifo),
                T(test_write_content_and_mode),
                T(test_write_relative_path),
                T(test_write_replaces_symlink),
                T(test_write_leaves_no_temporary_files),
                T(test_write_unwritable_directory),
                T(test_write_killed_at_any_moment),
                T(test_load_main_and_dropins_in_order),
                T(test_load_replaces_what_was_there),
                T(test_load_bad_dropin_refuses_everything),
                T(test_load_bad_main_file),
                T(test_load_missing_main_file),
                T(test_load_many_dropins),
        };
#undef T

        return cmocka_run_group_tests(tests, NULL, NULL);
}
