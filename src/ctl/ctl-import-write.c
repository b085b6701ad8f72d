/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The import's result as text: the ntpsyncd configuration, and the warnings. See
 * ctl-import-internal.h. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "ctl-import-internal.h"
#include "ctl-util.h"

#define DIRECTIVE_WIDTH 47            /* where the origin comment starts */

/* ---- the configuration ---- */

/* "DIRECTIVE   # FILE:LINE (note)"; the comment goes on a line of its own before a directive
 * too long to share its line within ntpsyncd's line length. */
static void write_line(FILE *f, const char *directive, const struct origin *o, const char *note) {
        char file[DISPLAY_SIZE], comment[DISPLAY_MAX + 96];
        import_display(o->file, file, sizeof(file));
        snprintf(comment, sizeof(comment), "# %s:%u%s%s%s", file, o->line, note ? " (" : "", note ? note : "",
                 note ? ")" : "");
        size_t width = strlen(directive) > DIRECTIVE_WIDTH ? strlen(directive) : DIRECTIVE_WIDTH;
        if (width + 1 + strlen(comment) > CONFIG_MAX_LINE - 1)
                fprintf(f, "%s\n%s\n", comment, directive);
        else
                fprintf(f, "%-*s %s\n", DIRECTIVE_WIDTH, directive, comment);
}

static void write_header(const struct importer *imp, FILE *f) {
        char file[DISPLAY_SIZE], date[DISPLAY_SIZE];
        import_display(imp->in->date ? imp->in->date : "", date, sizeof(date));
        fprintf(f, "# ntpsyncd configuration, imported from ntpd's by 'ntpsyncctl import-ntpconf'%s%s from:\n",
                date[0] ? " on " : "", date);
        for (size_t i = 0; i < imp->n_files; i++) {
                import_display(imp->files[i], file, sizeof(file));
                fprintf(f, "#   %s\n", file);
        }
        if (!imp->step_tickers_read) {
                import_display(imp->in->step_tickers.path ? imp->in->step_tickers.path : "step-tickers", file,
                               sizeof(file));
                fprintf(f, "#   (%s: none)\n", file);
        }
        fprintf(f, "# Each setting names the file and line it came from. ntpsyncd reads this file when it\n"
                   "# starts and on 'ntpsyncctl reload'; changes made over D-Bus take precedence.\n");
}

static void write_servers(const struct importer *imp, FILE *f) {
        char line[CONFIG_MAX_LINE];
        if (imp->n_servers == 0)
                return;
        fprintf(f, "\n# Servers and pools\n");
        for (size_t i = 0; i < imp->n_servers; i++) {
                config_server_format(&imp->servers[i].server, line, sizeof(line));
                write_line(f, line, &imp->servers[i].origin, imp->servers[i].note);
        }
}

static void write_items(FILE *f, const char *title, const struct text_item *items, size_t n, const char *prefix) {
        char line[CONFIG_MAX_LINE];
        if (n == 0)
                return;
        fprintf(f, "\n# %s\n", title);
        for (size_t i = 0; i < n; i++) {
                snprintf(line, sizeof(line), "%s%s", prefix, items[i].text);
                write_line(f, line, &items[i].origin, NULL);
        }
}

static void write_nts_path(FILE *f, const char *name, const struct nts_path *p) {
        char line[CONFIG_MAX_LINE + 16];
        if (!p->path)
                return;
        snprintf(line, sizeof(line), "nts %s %s", name, p->path);
        write_line(f, line, &p->origin, p->note);
}

/* NTPsec's nts directive: serving NTS, and the trust anchors of nts servers. */
static void write_nts(const struct importer *imp, FILE *f) {
        if (imp->nts_serving == NTS_SERVING_UNSET && !imp->nts_cert.path && !imp->nts_key.path && !imp->nts_ca.path)
                return;
        fprintf(f, "\n# NTS (authenticated time)\n");
        write_nts_path(f, "cert", &imp->nts_cert);
        write_nts_path(f, "key", &imp->nts_key);
        write_nts_path(f, "ca", &imp->nts_ca);
        if (imp->nts_serving != NTS_SERVING_UNSET)
                write_line(f, imp->nts_serving == NTS_SERVING_ENABLE ? "nts enable" : "nts disable",
                           &imp->nts_serving_origin, NULL);
}

static void write_notes(const struct importer *imp, FILE *f) {
        char shown[DISPLAY_SIZE], file[DISPLAY_SIZE];

        fprintf(f, "\n# Notes\n");
        if (imp->driftfile) {
                import_display(imp->driftfile, shown, sizeof(shown));
                import_display(imp->driftfile_origin.file, file, sizeof(file));
                fprintf(f, "# driftfile %s (%s:%u) is not used:\n"
                           "# ntpsyncd keeps its own drift file in its state directory, and the import\n"
                           "# carries ntpd's frequency over to it once.\n",
                        shown, file, imp->driftfile_origin.line);
        }
        if (imp->step_tickers_read) {
                import_display(imp->in->step_tickers.path, file, sizeof(file));
                fprintf(f, "# %s: ntpsyncd steps the clock at start by itself, after its initial\n"
                           "# burst (iburst); the hosts listed there are servers above, with iburst.\n", file);
        }
        if (imp->nts_serving == NTS_SERVING_ENABLE)
                fprintf(f, "# nts enable: ntpsyncd reads the certificate and key as its own user (ntpsync);\n"
                           "# it answers NTS key establishment on TCP port 4460 and keeps its cookie keys\n"
                           "# in its state directory, not where NTPsec kept them.\n");
        if (importer_ntpd_served(imp))
                fprintf(f, "# ntpd answered NTP clients as far as the restrict rules let it; ntpsyncd answers\n"
                           "# them once ntpsyncd.socket is enabled (systemctl enable --now ntpsyncd.socket;\n"
                           "# it binds UDP port 123 for ntpsyncd), or with 'serve on' here.\n");
}

int importer_write_configuration(const struct importer *imp, char **ret_text, size_t *ret_len) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        write_header(imp, f);
        write_servers(imp, f);
        write_items(f, "Access rules", imp->restricts, imp->n_restricts, "restrict ");
        write_items(f, "Clock discipline and selection", imp->settings, imp->n_settings, "");
        write_nts(imp, f);
        write_notes(imp, f);
        if (fclose(f) != 0 || !text) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        *ret_len = len;
        return 0;
}

/* ---- warnings out ---- */

static char *format_warning(const struct importer *imp, const struct warning *w) {
        char file[DISPLAY_SIZE], reason[CONFIG_MESSAGE_MAX];
        char *message;

        import_display(w->first.file, file, sizeof(file));
        if (w->local_clock && imp->local_clock_stratum)
                snprintf(reason, sizeof(reason), "%s; 'local stratum %u' is the nearest equivalent", w->reason,
                         imp->local_clock_stratum);
        else if (w->local_clock)
                snprintf(reason, sizeof(reason), "%s; 'local stratum N' is the nearest equivalent", w->reason);
        else
                snprintf(reason, sizeof(reason), "%s", w->reason);
        int r = asprintf(&message, "%s:%u: %s%s (%s); %u line%s %s", file, w->first.line, w->subject,
                         w->kind == WARN_CHANGED ? "" : " is not carried over", reason, w->n_lines,
                         w->n_lines == 1 ? "" : "s", w->kind == WARN_LINES_IGNORED ? "ignored" : "affected");
        return r < 0 ? NULL : message;
}

int importer_format_warnings(const struct importer *imp, char ***ret, size_t *ret_n) {
        char **list = calloc(imp->n_warnings + 1, sizeof(*list));
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < imp->n_warnings; i++)
                if (!(list[i] = format_warning(imp, &imp->warnings[i]))) {
                        strv_free(list);
                        return -ENOMEM;
                }
        *ret = list;
        *ret_n = imp->n_warnings;
        return 0;
}

