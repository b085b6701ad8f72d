/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The files of `ntpsyncctl import-ntpconf`. See ctl-import-files.h. The reading and the atomic
 * writing are the daemon's own (files.c), so that both treat files alike. */

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctl-import-files.h"
#include "ctl-import.h"
#include "ctl-util.h"
#include "core/drift.h"
#include "file-io.h"

#define NOTE_MAX 1024

static const char *read_error_text(int r) {
        if (r == -EFBIG)
                return "too large";
        if (r == -EINVAL)
                return "not a regular file";
        return strerror(-r);
}

static int report_unreadable(const char *path, int r) {
        if (r == -EFBIG)
                fprintf(stderr, "ntpsyncctl: %s: larger than %d bytes, refusing it\n", path, IMPORT_FILE_MAX);
        else
                fprintf(stderr, "ntpsyncctl: %s: cannot read: %s\n", path, read_error_text(r));
        return CTL_EXIT_FAILED;
}

/* The whole file, NUL-terminated; missing_ok: -ENOENT leaves *ret_text NULL and returns 0. */
static int read_input(const char *path, bool missing_ok, char **ret_text, size_t *ret_len) {
        ssize_t len = read_small_file(path, IMPORT_FILE_MAX, true, ret_text);
        if (len == -ENOENT && missing_ok) {
                *ret_text = NULL;
                *ret_len = 0;
                return 0;
        }
        if (len < 0)
                return (int) len;
        *ret_len = (size_t) len;
        return 0;
}

static int read_include(void *userdata, const char *path, char **ret_text, size_t *ret_len) {
        return read_input(path, false, ret_text, ret_len);
}

/* The date in the header: today, in UTC. */
static void format_today(char *buf, size_t size) {
        time_t now = time(NULL);
        struct tm tm;
        if (!gmtime_r(&now, &tm) || strftime(buf, size, "%Y-%m-%d", &tm) == 0)
                snprintf(buf, size, "(unknown date)");
}

/* conf.d may not exist yet: it is made (not its parents); the file replaces a symlink rather
 * than writing through it (write_file_atomic() renames over it). */
static int write_output(const char *path, const char *text, size_t len) {
        _cleanup_(freep) char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        if (mkdir(dirname(copy), 0755) < 0 && errno != EEXIST)
                return -errno;
        return write_file_atomic(path, text, len, 0644);
}

/* ntpd's frequency goes to ntpsyncd's drift file when that does not exist yet, so that ntpsyncd
 * starts with a known frequency. What happened is said in note; only a failed write is an error. */
static int carry_drift(const char *ntpd_path, const char *state_dir, char *note, size_t size) {
        _cleanup_(freep) char *text = NULL, *target = NULL;
        char drift[64];
        const char *error;
        double ppm;
        struct stat st;

        ssize_t len = read_small_file(ntpd_path, DRIFT_FILE_MAX, true, &text);
        if (len < 0) {
                snprintf(note, size, "ntpd's frequency was not carried over: %s: %s", ntpd_path,
                         read_error_text((int) len));
                return 0;
        }
        if (drift_parse(text, (size_t) len, &ppm, &error) < 0) {
                snprintf(note, size, "ntpd's frequency was not carried over: %s: %s", ntpd_path, error);
                return 0;
        }
        if (asprintf(&target, "%s/drift", state_dir) < 0) {
                target = NULL;
                return -ENOMEM;
        }
        if (lstat(target, &st) == 0) {
                snprintf(note, size, "ntpd's frequency (%+.3f ppm, %s) was not carried over: %s exists already", ppm,
                         ntpd_path, target);
                return 0;
        }
        if (stat(state_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                snprintf(note, size, "ntpd's frequency (%+.3f ppm, %s) was not carried over: there is no %s (is "
                         "ntpsyncd installed?)", ppm, ntpd_path, state_dir);
                return 0;
        }
        int r = write_file_atomic(target, drift, drift_format(ppm, drift, sizeof(drift)), 0644);
        if (r < 0) {
                fprintf(stderr, "ntpsyncctl: cannot write %s: %s\n", target, strerror(-r));
                return r;
        }
        snprintf(note, size, "Carried ntpd's frequency (%+.3f ppm) over from %s to %s.", ppm, ntpd_path, target);
        return 0;
}

static bool output_exists(const char *path) {
        struct stat st;
        return lstat(path, &st) == 0;
}

/* Reads both inputs and translates them; on failure says why and returns the exit status. */
static int translate(const struct import_options *o, struct import_result *ret) {
        _cleanup_(freep) char *ntp_conf = NULL, *step_tickers = NULL;
        struct import_input in = { .read_include = read_include };
        struct import_error error;
        char today[32];

        int r = read_input(o->ntp_conf, false, &ntp_conf, &in.ntp_conf.len);
        if (r < 0)
                return report_unreadable(o->ntp_conf, r);
        r = read_input(o->step_tickers, true, &step_tickers, &in.step_tickers.len);
        if (r < 0)
                return report_unreadable(o->step_tickers, r);
        format_today(today, sizeof(today));
        in.ntp_conf.path = o->ntp_conf;
        in.ntp_conf.text = ntp_conf;
        in.step_tickers.path = o->step_tickers;
        in.step_tickers.text = step_tickers;
        in.date = today;
        if (import_ntpconf(&in, ret, &error) < 0) {
                fprintf(stderr, "ntpsyncctl: %s\n", error.message);
                return CTL_EXIT_FAILED;
        }
        /* Checked before anything is written: what ntpsyncd would refuse must never reach it. */
        if (import_validate(o->output, ret->text, ret->len, &error) < 0) {
                fprintf(stderr, "ntpsyncctl: bug: the imported configuration does not parse: %s\n", error.message);
                import_result_done(ret);
                return CTL_EXIT_FAILED;
        }
        return CTL_EXIT_SUCCESS;
}

static void print_summary(const struct import_options *o, const struct import_result *r, const char *drift_note) {
        printf("Wrote %s: %zu servers and pools (%zu from step-tickers), %zu restrict rules, %zu warnings. "
               "ntpsyncd reads it when it starts; if it is running, run 'ntpsyncctl reload'.\n",
               o->output, r->n_servers, r->n_step_tickers_servers, r->n_restricts, r->n_warnings);
        if (drift_note[0])
                printf("%s\n", drift_note);
        if (r->ntpd_served)
                printf("Note: ntpd answered NTP clients by default; ntpsyncd does once ntpsyncd.socket is "
                       "enabled ('systemctl enable --now ntpsyncd.socket'), or with 'serve on'.\n");
}

/* --output -: the configuration on stdout, nothing written; the drift file neither. */
static int print_configuration(const struct import_result *r) {
        fwrite(r->text, 1, r->len, stdout);
        if (r->ntpd_driftfile)
                fprintf(stderr, "ntpsyncctl: with --output -, ntpd's frequency in %s is not carried over\n",
                        r->ntpd_driftfile);
        return CTL_EXIT_SUCCESS;
}

static int write_everything(const struct import_options *o, const struct import_result *r) {
        char drift_note[NOTE_MAX] = "";

        int k = write_output(o->output, r->text, r->len);
        if (k < 0) {
                fprintf(stderr, "ntpsyncctl: cannot write %s: %s\n", o->output, strerror(-k));
                return CTL_EXIT_FAILED;
        }
        if (r->ntpd_driftfile && carry_drift(r->ntpd_driftfile, o->state_dir, drift_note, sizeof(drift_note)) < 0) {
                fprintf(stderr, "ntpsyncctl: %s was written, but ntpd's frequency was not carried over\n", o->output);
                return CTL_EXIT_FAILED;
        }
        print_summary(o, r, drift_note);
        return CTL_EXIT_SUCCESS;
}

int import_run(const struct import_options *o) {
        struct import_result result;
        bool to_stdout = streq(o->output, IMPORT_OUTPUT_STDOUT);

        if (!to_stdout && !o->force && output_exists(o->output)) {
                fprintf(stderr, "ntpsyncctl: %s exists already; --force replaces it\n", o->output);
                return CTL_EXIT_USAGE;
        }
        int status = translate(o, &result);
        if (status != CTL_EXIT_SUCCESS)
                return status;
        for (size_t i = 0; i < result.n_warnings; i++)
                fprintf(stderr, "ntpsyncctl: %s\n", result.warnings[i]);
        status = to_stdout ? print_configuration(&result) : write_everything(o, &result);
        import_result_done(&result);
        return status;
}
