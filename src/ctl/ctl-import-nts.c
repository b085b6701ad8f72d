/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The import of NTPsec's nts directive: "nts enable|disable", "nts cert FILE", "nts key FILE",
 * "nts ca FILE|DIR" are ntpsyncd's words too; NTPsec's TLS and cookie tuning is not. NTPsec takes
 * several of them on one line ("nts enable cert FILE key FILE"). See ctl-import-internal.h. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "ctl-import-internal.h"
#include "ctl-util.h"

/* What NTPsec reads when nts enable names no files (its nts.h). */
#define NTPSEC_CERT_FILE "/etc/ntp/cert-chain.pem"
#define NTPSEC_KEY_FILE "/etc/ntp/key.pem"

#define NTPSEC_DEFAULT_NOTE "NTPsec's default"
#define PATH_REASON "ntpsyncd takes an absolute path without spaces, quotes or #"

static const char *const dropped_nts_options[][2] = {
        /* name (each takes a value), why ntpsyncd does without */
        { "mintls", "ntpsyncd speaks TLS 1.3 only, as RFC 8915 asks" },
        { "maxtls", "ntpsyncd speaks TLS 1.3 only, as RFC 8915 asks" },
        { "tlsciphers", "ntpsyncd leaves the TLS cipher suites to GnuTLS's defaults" },
        { "tlsciphersuites", "ntpsyncd leaves the TLS cipher suites to GnuTLS's defaults" },
        { "tlsecdhcurves", "ntpsyncd leaves the TLS key exchange groups to GnuTLS's defaults" },
        { "cookie", "ntpsyncd makes and rotates its cookie keys itself, in its state directory "
                    "(nts-server-keys)" },
        { "aead", "ntpsyncd uses AES-SIV-CMAC-256, the algorithm every NTS implementation has" },
};

static const char *dropped_nts_option_reason(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(dropped_nts_options); i++)
                if (streq(dropped_nts_options[i][0], name))
                        return dropped_nts_options[i][1];
        return NULL;
}

static struct nts_path *nts_path_named(struct importer *imp, const char *name) {
        if (streq(name, "cert"))
                return &imp->nts_cert;
        if (streq(name, "key"))
                return &imp->nts_key;
        if (streq(name, "ca"))
                return &imp->nts_ca;
        return NULL;
}

/* The last one given counts, as in NTPsec. A path ntpsyncd's parser would refuse is left out. */
static int set_nts_path(struct importer *imp, struct nts_path *p, const char *name, const char *value,
                        const char *note) {
        if (!config_path_is_valid(value))
                return importer_warn(imp, WARN_PART_DROPPED, PATH_REASON, "'nts %s' with this path", name);
        char *copy = strdup(value);
        if (!copy)
                return importer_out_of_memory(imp);
        free(p->path);
        *p = (struct nts_path) { .path = copy, .origin = imp->at, .note = note };
        return 0;
}

/* One option at words[*i]; *i ends at the last word it took. */
static int read_nts_option(struct importer *imp, char **words, size_t n, size_t *i) {
        const char *w = words[*i], *reason = dropped_nts_option_reason(w);
        struct nts_path *path = nts_path_named(imp, w);
        char shown[DISPLAY_SIZE];

        import_display(w, shown, sizeof(shown));
        if (streq(w, "enable") || streq(w, "disable")) {
                imp->nts_serving = streq(w, "enable") ? NTS_SERVING_ENABLE : NTS_SERVING_DISABLE;
                imp->nts_serving_origin = imp->at;
                return 0;
        }
        if (!path && !reason)
                return importer_warn(imp, WARN_PART_DROPPED, "NTPsec has no such nts option", "'nts %s'", shown);
        if (*i + 1 >= n)
                return importer_fail(imp, "nts %s takes a value", shown);
        const char *value = words[++*i];
        if (path)
                return set_nts_path(imp, path, w, value, NULL);
        return importer_warn(imp, WARN_PART_DROPPED, reason, "'nts %s'", shown);
}

int importer_handle_nts(struct importer *imp, char **words, size_t n) {
        if (n < 2)
                return importer_fail(imp, "nts needs an option: enable, disable, cert FILE, key FILE, ...");
        for (size_t i = 1; i < n; i++) {
                int r = read_nts_option(imp, words, n, &i);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ntpsyncd refuses nts enable without both files, where NTPsec takes its defaults. */
static int write_out_default(struct importer *imp, struct nts_path *p, const char *name, const char *file) {
        if (p->path)
                return 0;
        int r = set_nts_path(imp, p, name, file, NTPSEC_DEFAULT_NOTE);
        if (r < 0)
                return r;
        return importer_warn(imp, WARN_CHANGED, "ntpsyncd has no default; NTPsec's is written out",
                             "'nts enable' without 'nts %s' becomes 'nts %s %s'", name, name, file);
}

int importer_finish_nts(struct importer *imp) {
        struct origin outer = imp->at;
        int r = 0;

        if (imp->nts_serving != NTS_SERVING_ENABLE)
                return 0;
        /* The warnings and the written lines point to the nts enable line. */
        imp->at = imp->nts_serving_origin;
        r = write_out_default(imp, &imp->nts_cert, "cert", NTPSEC_CERT_FILE);
        if (r >= 0)
                r = write_out_default(imp, &imp->nts_key, "key", NTPSEC_KEY_FILE);
        imp->at = outer;
        return r;
}

void importer_nts_done(struct importer *imp) {
        free(imp->nts_cert.path);
        free(imp->nts_key.path);
        free(imp->nts_ca.path);
}
