/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for ctl-import (ntpsyncctl import-ntpconf without I/O): each directive's mapping,
 * each kind of warning and that it comes once per directive, option, flag or variable with the
 * number of lines, the VMware KB example without a warning, step-tickers, includefile, errors
 * that name FILE:LINE, and that every result parses with ntpsyncd's own parser. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/config.h"
#include "ctl-import.h"
#include "unit-test.h"

#define NTP_CONF "/etc/ntp.conf"
#define STEP_TICKERS "/etc/ntp/step-tickers"

static struct import_result res;
static struct import_error err;
static struct config cfg;

/* includefile: one file, named by the test */
static const char *include_name, *include_text;

static int read_include(void *userdata, const char *path, char **ret_text, size_t *ret_len) {
        if (!include_name || strcmp(path, include_name) != 0)
                return -ENOENT;
        *ret_text = strdup(include_text);
        *ret_len = strlen(include_text);
        return *ret_text ? 0 : -ENOMEM;
}

static int run_import_len(const char *ntp_conf, size_t len, const char *step_tickers) {
        struct import_input in = {
                .ntp_conf = { .path = NTP_CONF, .text = ntp_conf, .len = len },
                .step_tickers = { .path = STEP_TICKERS, .text = step_tickers,
                                  .len = step_tickers ? strlen(step_tickers) : 0 },
                .date = "2026-11-26",
                .read_include = read_include,
        };
        import_result_done(&res);
        memset(&err, 0, sizeof(err));
        return import_ntpconf(&in, &res, &err);
}

/* Imports, and checks that the result parses with ntpsyncd's parser into cfg. */
static void import_ok(const char *ntp_conf, const char *step_tickers) {
        struct config_error parse_error;
        struct import_error validate_error;

        if (run_import_len(ntp_conf, strlen(ntp_conf), step_tickers) != 0) {
                print_error("refused: %s\n", err.message);
                fail();
        }
        assert_int_equal(res.len, strlen(res.text));
        if (import_validate("imported.conf", res.text, res.len, &validate_error) != 0) {
                print_error("does not validate: %s\n%s", validate_error.message, res.text);
                fail();
        }
        config_init(&cfg);
        assert_int_equal(config_parse(&cfg, "imported.conf", res.text, res.len, &parse_error), 0);
}

static void assert_error_len(const char *ntp_conf, size_t len, const char *step_tickers, const char *where,
                             const char *what) {
        int r = run_import_len(ntp_conf, len, step_tickers);
        if (r != -EINVAL || strncmp(err.message, where, strlen(where)) != 0 || !strstr(err.message, what)) {
                print_error("got %d \"%s\", expected \"%s ...%s...\"\n", r, err.message, where, what);
                fail();
        }
        assert_null(res.text);
}

static void assert_error(const char *ntp_conf, const char *step_tickers, const char *where, const char *what) {
        assert_error_len(ntp_conf, strlen(ntp_conf), step_tickers, where, what);
}

struct error_case {
        const char *ntp_conf, *step_tickers;
        const char *where;            /* "FILE:LINE: " the message starts with */
        const char *what;             /* and contains */
};

static void assert_errors(const struct error_case *cases, size_t n) {
        for (size_t i = 0; i < n; i++)
                assert_error(cases[i].ntp_conf, cases[i].step_tickers, cases[i].where, cases[i].what);
}

/* The one warning that starts with prefix ("FILE:LINE: subject") and contains what. */
static void assert_warning(const char *prefix, const char *what) {
        size_t found = 0;
        for (size_t i = 0; i < res.n_warnings; i++)
                if (strncmp(res.warnings[i], prefix, strlen(prefix)) == 0 && strstr(res.warnings[i], what))
                        found++;
        if (found == 1)
                return;
        print_error("%zu warnings \"%s...%s...\" among %zu:\n", found, prefix, what, res.n_warnings);
        for (size_t i = 0; i < res.n_warnings; i++)
                print_error("  %s\n", res.warnings[i]);
        fail();
}

struct expected_warning {
        const char *prefix, *what;    /* as for assert_warning() */
};

/* These warnings and no others. */
static void assert_warnings(const struct expected_warning *expected, size_t n) {
        for (size_t i = 0; i < n; i++)
                assert_warning(expected[i].prefix, expected[i].what);
        assert_int_equal(res.n_warnings, n);
}

static void assert_contains(const char *text, const char *what) {
        if (!strstr(text, what)) {
                print_error("\"%s\" not in:\n%s\n", what, text);
                fail();
        }
}

/* The output has this directive with this origin comment, as ctl-import lines them up. */
static void assert_line(const char *directive, const char *comment) {
        char line[CONFIG_MAX_LINE * 2];
        snprintf(line, sizeof(line), "\n%-47s %s\n", directive, comment);
        assert_contains(res.text, line);
}

static const struct config_server *server(const char *host) {
        for (size_t i = 0; i < cfg.n_servers; i++)
                if (strcmp(cfg.servers[i].host, host) == 0)
                        return &cfg.servers[i];
        print_error("no server %s in:\n%s\n", host, res.text);
        fail();
        return NULL;
}

static void assert_restrict(size_t i, const char *canonical) {
        char text[RESTRICT_TEXT_MAX * 4];
        assert_true(i < cfg.n_restricts);
        restrict_rule_format(&cfg.restricts[i].rule, text, sizeof(text));
        assert_string_equal(text, canonical);
}

/* ---- the VMware KB example ---- */

static void test_esx_kb_example(void **state) {
        import_ok("restrict 127.0.0.1\n"
                  "restrict default kod nomodify notrap\n"
                  "server 0.vmware.pool.ntp.org\n"
                  "server 1.vmware.pool.ntp.org\n"
                  "server 2.vmware.pool.ntp.org\n"
                  "driftfile /var/lib/ntp/drift\n",
                  "0.vmware.pool.ntp.org\n1.vmware.pool.ntp.org\n2.vmware.pool.ntp.org\n");
        assert_int_equal(res.n_warnings, 0);
        assert_int_equal(cfg.n_servers, 3);
        assert_int_equal(res.n_servers, 3);
        assert_int_equal(res.n_step_tickers_servers, 0);
        for (int i = 0; i < 3; i++) {
                char host[64];
                snprintf(host, sizeof(host), "%d.vmware.pool.ntp.org", i);
                /* step-tickers named them: iburst, ntpsyncd's boot-time burst and step */
                assert_true(server(host)->iburst);
                assert_false(server(host)->pool);
        }
        assert_int_equal(cfg.n_restricts, 2);
        assert_restrict(0, "127.0.0.1/32");
        assert_restrict(1, "default nomodify notrap kod");
        assert_string_equal(res.ntpd_driftfile, "/var/lib/ntp/drift");
        assert_string_equal(cfg.driftfile, ""); /* ntpsyncd keeps its own */
        assert_true(res.ntpd_served);

        assert_contains(res.text, "# ntpsyncd configuration, imported from ntpd's by 'ntpsyncctl import-ntpconf' on "
                                  "2026-11-26 from:\n#   /etc/ntp.conf\n#   /etc/ntp/step-tickers\n");
        assert_line("server 0.vmware.pool.ntp.org iburst", "# /etc/ntp.conf:3 (iburst: in step-tickers)");
        assert_line("restrict 127.0.0.1", "# /etc/ntp.conf:1");
        assert_line("restrict default kod nomodify notrap", "# /etc/ntp.conf:2");
        assert_contains(res.text, "# driftfile /var/lib/ntp/drift (/etc/ntp.conf:6) is not used");
        assert_contains(res.text, "# /etc/ntp/step-tickers: ntpsyncd steps the clock at start by itself");
        assert_contains(res.text, "'serve on'");
}

static void test_without_step_tickers(void **state) {
        import_ok("server ntp.example.org\n", NULL);
        assert_int_equal(res.n_warnings, 0);
        assert_false(server("ntp.example.org")->iburst);
        assert_contains(res.text, "#   (/etc/ntp/step-tickers: none)\n");
        assert_null(strstr(res.text, "steps the clock at start"));
        assert_null(res.ntpd_driftfile);
}

/* ---- servers ---- */

static void test_server_options(void **state) {
        import_ok("server a.example.org iburst prefer noselect minpoll 4 maxpoll 8\n"
                  "server b.example.org burst\n"
                  "server c.example.org burst true key 5 version 3\n"
                  "server d.example.org autokey xleave preempt\n"
                  "server e.example.org frobnicate\n"
                  "server -4 f.example.org\n",
                  NULL);
        const struct config_server *a = server("a.example.org");
        assert_true(a->iburst && a->prefer && a->noselect);
        assert_int_equal(a->minpoll, 4);
        assert_int_equal(a->maxpoll, 8);
        assert_int_equal(cfg.n_servers, 6);
        const struct config_server *c = server("c.example.org");
        assert_false(c->iburst || c->prefer || c->noselect || c->xleave);
        /* xleave is carried over: ntpsyncd asks for interleaved mode too. */
        assert_true(server("d.example.org")->xleave);
        assert_non_null(strstr(res.text, "server d.example.org xleave"));

        /* Once per option name, with the first line and the number of lines. */
        static const struct expected_warning warnings[] = {
                { "/etc/ntp.conf:2: server option 'burst' is not carried over", "; 2 lines affected" },
                { "/etc/ntp.conf:3: server option 'true' is not carried over", "; 1 line affected" },
                { "/etc/ntp.conf:3: server option 'key'", "no symmetric-key authentication" },
                { "/etc/ntp.conf:3: server option 'version'", "" },
                { "/etc/ntp.conf:4: server option 'autokey'", "" },
                { "/etc/ntp.conf:4: server option 'preempt'", "" },
                { "/etc/ntp.conf:5: server option 'frobnicate'", "ntpd has no such server option" },
                { "/etc/ntp.conf:6: server option '-4'", "" },
        };
        assert_warnings(warnings, ELEMENTSOF(warnings));
        /* The values of key and version went with them. */
        assert_null(strstr(res.text, " 5"));
}

static void test_poll_limits(void **state) {
        import_ok("server a.example.org minpoll 1 maxpoll 20\n"
                  "server b.example.org minpoll 12 maxpoll 6\n"
                  "server c.example.org minpoll 2\n",
                  NULL);
        assert_int_equal(server("a.example.org")->minpoll, 3);
        assert_int_equal(server("a.example.org")->maxpoll, 17);
        assert_int_equal(server("b.example.org")->minpoll, 0);
        assert_int_equal(server("b.example.org")->maxpoll, 0);
        assert_warning("/etc/ntp.conf:1: server option 'minpoll' is clamped into 3..17 (as ntpd does)",
                       "; 2 lines affected");
        assert_warning("/etc/ntp.conf:1: server option 'maxpoll' is clamped", "; 1 line affected");
        assert_warning("/etc/ntp.conf:2: server options 'minpoll' and 'maxpoll'", "defaults apply");
        assert_int_equal(res.n_warnings, 3);

        assert_error("server a.example.org minpoll\n", NULL, "/etc/ntp.conf:1: ", "minpoll takes a number");
        assert_error("\nserver a.example.org maxpoll six\n", NULL, "/etc/ntp.conf:2: ", "maxpoll takes a number");
}

static void test_pool_and_peer(void **state) {
        import_ok("pool pool.example.org iburst\n"
                  "peer peer1.example.org\n"
                  "peer peer2.example.org iburst\n",
                  NULL);
        assert_true(server("pool.example.org")->pool);
        assert_true(server("pool.example.org")->iburst);
        assert_false(server("peer1.example.org")->pool);
        assert_true(server("peer2.example.org")->iburst);
        assert_warning("/etc/ntp.conf:2: 'peer' is carried over as 'server' (ntpsyncd has no symmetric mode",
                       "; 2 lines affected");
        assert_int_equal(res.n_warnings, 1);
        assert_contains(res.text, "# /etc/ntp.conf:2 (was: peer)\n");
}

static void test_duplicate_servers_and_limit(void **state) {
        import_ok("server a.example.org\nserver A.example.org iburst\npool a.example.org\n", NULL);
        assert_int_equal(cfg.n_servers, 2);
        assert_false(server("a.example.org")->iburst); /* the first one is kept */
        assert_warning("/etc/ntp.conf:2: a server or pool named again", "; 1 line ignored");

        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        for (int i = 0; i < CONFIG_MAX_SERVERS + 6; i++)
                fprintf(f, "server s%d.example.org\n", i);
        fclose(f);
        import_ok(text, "extra.example.org\n");
        free(text);
        assert_int_equal(cfg.n_servers, CONFIG_MAX_SERVERS);
        assert_int_equal(res.n_step_tickers_servers, 0);
        /* step-tickers' host is one more line beyond the limit */
        assert_warning("/etc/ntp.conf:129: servers and pools beyond the 128th", "; 7 lines ignored");
}

/* ---- reference clocks ---- */

static void test_refclocks(void **state) {
        import_ok("server ntp.example.org\n"
                  "server 127.127.1.0\n"
                  "fudge 127.127.1.0 stratum 10\n"
                  "server 127.127.20.0 mode 1\n"
                  "fudge 127.127.20.0 time1 0.1\n"
                  "refclock shm unit 0\n",
                  NULL);
        assert_int_equal(cfg.n_servers, 1);
        assert_warning("/etc/ntp.conf:2: ntpd's local clock (server 127.127.1.0, fudge) is not carried over",
                       "has no local-clock driver; 'local stratum 10' is the nearest equivalent); "
                       "2 lines ignored");
        assert_warning("/etc/ntp.conf:4: a reference clock (server 127.127.T.U, fudge, refclock) is not carried over",
                       "no reference clock drivers); 3 lines ignored");
        assert_int_equal(res.n_warnings, 2);
        assert_int_equal(cfg.local_stratum.value, 0); /* a suggestion, not a setting */

        import_ok("server 127.127.1.0\n", NULL);
        assert_warning("/etc/ntp.conf:1: ntpd's local clock", "'local stratum N' is the nearest equivalent");
}

/* ---- restrict ---- */

static void test_restrict_forms(void **state) {
        import_ok("restrict default kod limited nomodify notrap nopeer noquery\n"
                  "restrict -4 default noserve\n"
                  "restrict -6 default ignore\n"
                  "restrict 192.0.2.0 mask 255.255.255.0 nomodify\n"
                  "restrict 198.51.100.0/24 noquery\n"
                  "restrict 2001:db8::/32 ignore\n"
                  "restrict ::1\n"
                  "restrict 127.0.0.1 kod kod\n",
                  NULL);
        assert_int_equal(res.n_warnings, 0);
        assert_int_equal(cfg.n_restricts, 8);
        assert_restrict(0, "default noquery nomodify notrap nopeer kod limited");
        assert_restrict(1, "-4 default noserve");
        assert_restrict(2, "-6 default ignore");
        assert_restrict(3, "192.0.2.0/24 nomodify");
        assert_restrict(4, "198.51.100.0/24 noquery");
        assert_restrict(5, "2001:db8::/32 ignore");
        assert_restrict(6, "::1/128");
        assert_restrict(7, "127.0.0.1/32 kod");
        /* As written, a flag given twice once. */
        assert_line("restrict 192.0.2.0 mask 255.255.255.0 nomodify", "# /etc/ntp.conf:4");
        assert_line("restrict 127.0.0.1 kod", "# /etc/ntp.conf:8");
        /* Both defaults keep clients out: ntpd did not serve. */
        assert_false(res.ntpd_served);
}

static void test_restrict_flags_dropped(void **state) {
        import_ok("restrict default kod notrust nomodify\n"
                  "restrict 192.0.2.1 mssntp lowpriotrap\n"
                  "restrict 192.0.2.2 lowpriotrap frobnicate\n"
                  "restrict 192.0.2.3 ippeerlimit 5 nomodify\n"
                  "restrict source nomodify\n"
                  "restrict ntp.example.org nomodify\n"
                  "restrict ntp2.example.org\n",
                  NULL);
        assert_int_equal(cfg.n_restricts, 4);
        assert_restrict(0, "default nomodify kod");
        assert_restrict(1, "192.0.2.1/32");
        assert_restrict(3, "192.0.2.3/32 nomodify");
        static const struct expected_warning warnings[] = {
                { "/etc/ntp.conf:1: restrict flag 'notrust' is not carried over", "add noserve" },
                { "/etc/ntp.conf:2: restrict flag 'mssntp'", "no MS-SNTP" },
                { "/etc/ntp.conf:2: restrict flag 'lowpriotrap'", "no effect in ntpsyncd); 2 lines affected" },
                { "/etc/ntp.conf:3: restrict flag 'frobnicate'", "does not know this flag" },
                { "/etc/ntp.conf:4: restrict flag 'ippeerlimit'", "" },
                { "/etc/ntp.conf:5: 'restrict source' is not carried over", "; 1 line ignored" },
                { "/etc/ntp.conf:6: 'restrict' with a host name", "write the address); 2 lines ignored" },
        };
        assert_warnings(warnings, ELEMENTSOF(warnings));
}

static void test_restrict_serving(void **state) {
        import_ok("restrict default ignore\n", NULL);
        assert_false(res.ntpd_served);
        assert_null(strstr(res.text, "'serve on'"));
        import_ok("restrict default noserve\nrestrict -6 default nomodify\n", NULL);
        assert_true(res.ntpd_served);
        import_ok("restrict -4 default ignore\nrestrict -6 default noserve\n", NULL);
        assert_false(res.ntpd_served);
        import_ok("server ntp.example.org\n", NULL);
        assert_true(res.ntpd_served);
}

static void test_restrict_limit(void **state) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        for (int i = 0; i < CONFIG_MAX_RESTRICTS + 2; i++)
                fprintf(f, "restrict 10.0.%d.%d\n", i / 256, i % 256);
        fclose(f);
        import_ok(text, NULL);
        free(text);
        assert_int_equal(cfg.n_restricts, CONFIG_MAX_RESTRICTS);
        assert_warning("/etc/ntp.conf:257: restrict rules beyond the 256th", "; 2 lines ignored");
}

/* ---- tinker, tos, driftfile ---- */

static void test_tinker_and_tos(void **state) {
        import_ok("tinker step 0.5 panic 0 stepout 600\n"
                  "tinker allan 1500 dispersion 15\n"
                  "tinker allan 1000\n"
                  "tinker stepout 100000\n"
                  "tos minsane 2 orphan 10 maxclock 7\n"
                  "tos minsane 200\n",
                  NULL);
        assert_double_near(cfg.step_threshold.value, 0.5, 0);
        assert_double_near(cfg.panic_threshold.value, 0, 0);
        assert_double_near(cfg.stepout.value, 600, 0);
        assert_int_equal(cfg.min_sources.value, 2);
        static const struct expected_warning warnings[] = {
                { "/etc/ntp.conf:2: 'tinker allan' is not carried over (ntpsyncd has no such setting)",
                       "; 2 lines affected" },
                { "/etc/ntp.conf:2: 'tinker dispersion'", "" },
                { "/etc/ntp.conf:4: 'tinker stepout' with this value", "ntpsyncd: tinker stepout takes" },
                { "/etc/ntp.conf:5: 'tos orphan'", "'local stratum N' is the nearest equivalent" },
                { "/etc/ntp.conf:5: 'tos maxclock'", "maxsources" },
                { "/etc/ntp.conf:6: 'tos minsane' with this value", "" },
        };
        assert_warnings(warnings, ELEMENTSOF(warnings));
        assert_line("tinker step 0.5", "# /etc/ntp.conf:1");
        assert_line("tinker panic 0", "# /etc/ntp.conf:1");
        assert_line("tos minsane 2", "# /etc/ntp.conf:5");

        assert_error("tinker step\n", NULL, "/etc/ntp.conf:1: ", "tinker takes pairs");
        assert_error("tos\n", NULL, "/etc/ntp.conf:1: ", "tos takes pairs");
}

static void test_driftfile(void **state) {
        import_ok("driftfile /var/lib/ntp/drift\ndriftfile \"/var/lib/ntp/my drift\"\n", NULL);
        assert_string_equal(res.ntpd_driftfile, "/var/lib/ntp/my drift"); /* the last one, as ntpd */
        assert_int_equal(res.n_warnings, 0);
        assert_string_equal(cfg.driftfile, "");
        assert_error("driftfile\n", NULL, "/etc/ntp.conf:1: ", "driftfile needs a file name");
}

/* ---- directives without an equivalent ---- */

static void test_directives_not_carried_over(void **state) {
        import_ok("server ntp.example.org\n"
                  "keys /etc/ntp/keys\n"
                  "trustedkey 1 2\n"
                  "keys /etc/ntp/keys2\n"
                  "requestkey 1\ncontrolkey 1\ncrypto pw x\n"
                  "broadcast 192.0.2.255\nbroadcastclient\nmanycastclient 239.1.1.1\nmulticastclient\n"
                  "statsdir /var/log/ntpstats/\nstatistics loopstats\nfilegen loopstats file loopstats\n"
                  "logfile /var/log/ntp.log\nlogconfig =all\n"
                  "disable monitor\nenable calibrate\n"
                  "interface listen eth0\nleapfile /etc/ntp.leap\n"
                  "frobnicate now\n"
                  "keys /etc/ntp/keys3\n",
                  NULL);
        assert_int_equal(cfg.n_servers, 1);
        static const struct expected_warning warnings[] = {
                { "/etc/ntp.conf:2: 'keys' is not carried over (ntpsyncd has no symmetric-key "
                       "authentication); 3 lines ignored", "" },
                { "/etc/ntp.conf:3: 'trustedkey'", "; 1 line ignored" },
                { "/etc/ntp.conf:5: 'requestkey'", "" },
                { "/etc/ntp.conf:6: 'controlkey'", "" },
                { "/etc/ntp.conf:7: 'crypto'", "Autokey" },
                { "/etc/ntp.conf:8: 'broadcast'", "broadcast, multicast or manycast" },
                { "/etc/ntp.conf:9: 'broadcastclient'", "" },
                { "/etc/ntp.conf:10: 'manycastclient'", "" },
                { "/etc/ntp.conf:11: 'multicastclient'", "" },
                { "/etc/ntp.conf:12: 'statsdir'", "statistics" },
                { "/etc/ntp.conf:13: 'statistics'", "" },
                { "/etc/ntp.conf:14: 'filegen'", "" },
                { "/etc/ntp.conf:15: 'logfile'", "journal" },
                { "/etc/ntp.conf:16: 'logconfig'", "journal" },
                { "/etc/ntp.conf:17: 'disable'", "" },
                { "/etc/ntp.conf:18: 'enable'", "" },
                { "/etc/ntp.conf:19: 'interface'", "" },
                { "/etc/ntp.conf:20: 'leapfile'", "leap second" },
                { "/etc/ntp.conf:21: 'frobnicate'", "not an ntpd directive" },
        };
        assert_warnings(warnings, ELEMENTSOF(warnings));
}

static void test_words_are_escaped_in_warnings(void **state) {
        import_ok("fr\x01ob\xff now\n", NULL);
        assert_warning("/etc/ntp.conf:1: 'fr\\x01ob\\xff' is not carried over", "");
}

/* ---- step-tickers ---- */

static void test_step_tickers(void **state) {
        import_ok("server a.example.org\npool pool.example.org\nserver c.example.org iburst\n",
                  "# hosts for ntpdate at boot\n"
                  "A.example.org b.example.org\t pool.example.org\r\n"
                  "c.example.org b.example.org # again\n"
                  "192.0.2.1\n");
        assert_int_equal(cfg.n_servers, 5);
        assert_int_equal(res.n_servers, 5);
        assert_int_equal(res.n_step_tickers_servers, 2);
        assert_true(server("a.example.org")->iburst);
        assert_true(server("pool.example.org")->iburst && server("pool.example.org")->pool);
        assert_true(server("b.example.org")->iburst);
        assert_true(server("192.0.2.1")->iburst);
        assert_int_equal(res.n_warnings, 0);
        assert_line("server b.example.org iburst", "# /etc/ntp/step-tickers:2");
        assert_line("server c.example.org iburst", "# /etc/ntp.conf:3"); /* had iburst already: no note */
        assert_line("pool pool.example.org iburst", "# /etc/ntp.conf:2 (iburst: in step-tickers)");

        assert_error("server a.example.org\n", "a.example.org\nnot_a host!\n", "/etc/ntp/step-tickers:2: ",
                     "'host!' is not a valid host name");
}

/* ---- includefile ---- */

static void test_includefile(void **state) {
        include_name = "/etc/ntp/servers.conf";
        include_text = "server inc.example.org\nkeys /etc/ntp/keys\n";
        import_ok("includefile ntp/servers.conf\nkeys /x\nserver main.example.org\n", NULL);
        /* relative to the including file's directory: /etc/ntp.conf → /etc/ntp/servers.conf */
        assert_int_equal(cfg.n_servers, 2);
        assert_contains(res.text, "# /etc/ntp/servers.conf:1\n");
        assert_contains(res.text, "#   /etc/ntp.conf\n#   /etc/ntp/servers.conf\n");
        assert_warning("/etc/ntp/servers.conf:2: 'keys'", "; 2 lines ignored");

        include_name = "/etc/ntp/servers.conf";
        include_text = "includefile /etc/ntp/servers.conf\n";
        assert_error("server a.example.org\nincludefile /etc/ntp/servers.conf\n", NULL, "/etc/ntp/servers.conf:1: ",
                     "includefile nested more than 5 deep");
        include_text = "server b.example.org\n\nserver\n";
        assert_error("includefile /etc/ntp/servers.conf\n", NULL, "/etc/ntp/servers.conf:3: ",
                     "server needs a host name");
        assert_error("\nincludefile /etc/ntp/missing.conf\n", NULL, "/etc/ntp.conf:2: ",
                     "includefile /etc/ntp/missing.conf: No such file or directory");
        assert_error("includefile\n", NULL, "/etc/ntp.conf:1: ", "includefile takes one file name");
        include_name = include_text = NULL;
}

/* ---- NTS (NTPsec's words) ---- */

static void test_nts_servers(void **state) {
        import_ok("server time.example.com iburst nts\n"
                  "server nts.example.org:4461 nts ca /etc/ntp/private-ca.pem\n"
                  "server [2001:db8::1]:4460 nts noval\n"
                  "server [2001:db8::2] nts\n"
                  "server nts2.example.org:4461 nts port 4470\n"
                  "server 192.0.2.1:4460 nts\n"
                  "pool nts-pool.example.org iburst nts\n",
                  NULL);
        assert_int_equal(res.n_warnings, 0);
        const struct config_server *s = server("time.example.com");
        assert_true(s->nts && s->iburst && !s->noval);
        assert_int_equal(s->port, 0);
        assert_string_equal(s->ca, "");
        /* NTPsec's HOST:PORT is the NTS-KE port */
        s = server("nts.example.org");
        assert_true(s->nts);
        assert_int_equal(s->port, 4461);
        assert_string_equal(s->ca, "/etc/ntp/private-ca.pem");
        s = server("2001:db8::1");
        assert_true(s->nts && s->noval);
        assert_int_equal(s->port, 4460);
        assert_int_equal(server("2001:db8::2")->port, 0);
        assert_int_equal(server("nts2.example.org")->port, 4470); /* port N wins */
        assert_int_equal(server("192.0.2.1")->port, 4460);
        assert_true(server("nts-pool.example.org")->pool && server("nts-pool.example.org")->nts);
        assert_line("server time.example.com iburst nts", "# /etc/ntp.conf:1");
        assert_line("server 2001:db8::1 nts noval port 4460", "# /etc/ntp.conf:3");
}

static void test_nts_server_options_dropped(void **state) {
        import_ok("server a.example.org ca /etc/ca.pem noval port 4460\n"
                  "server b.example.org:4460 iburst\n"
                  "server c.example.org nts aead AES_SIV_CMAC_256\n"
                  "server d.example.org nts ca relative/ca.pem\n"
                  "server e.example.org noval\n",
                  NULL);
        const struct config_server *a = server("a.example.org");
        assert_false(a->nts || a->noval);
        assert_int_equal(a->port, 0);
        assert_string_equal(a->ca, "");
        assert_true(server("b.example.org")->iburst);
        assert_int_equal(server("b.example.org")->port, 0);
        assert_true(server("c.example.org")->nts);
        assert_true(server("d.example.org")->nts);
        assert_string_equal(server("d.example.org")->ca, "");
        static const struct expected_warning warnings[] = {
                { "/etc/ntp.conf:1: server option 'ca' without 'nts' is not carried over", "; 1 line affected" },
                { "/etc/ntp.conf:1: server option 'noval' without 'nts'", "; 2 lines affected" },
                { "/etc/ntp.conf:1: server option 'port' without 'nts'", "the line has no 'nts'" },
                { "/etc/ntp.conf:2: the port of HOST:PORT is not carried over", "NTS-KE port" },
                { "/etc/ntp.conf:3: server option 'aead' is not carried over", "AES-SIV-CMAC-256" },
                { "/etc/ntp.conf:4: server option 'ca' with this path", "absolute path" },
        };
        assert_warnings(warnings, ELEMENTSOF(warnings));
        /* aead's value went with it */
        assert_null(strstr(res.text, "AES_SIV"));
}

static void test_nts_directive(void **state) {
        import_ok("nts enable cert /etc/ntp/cert.pem key /etc/ntp/key.pem\n"
                  "nts ca /etc/ssl/certs mintls TLS1.3\n"
                  "nts maxtls TLS1.3 tlsciphers HIGH tlsciphersuites TLS_AES_256_GCM_SHA384\n"
                  "nts tlsecdhcurves X25519 cookie /var/lib/ntp/nts-keys aead AES_SIV_CMAC_256\n"
                  "nts mintls TLS1.2 frobnicate\n",
                  NULL);
        assert_true(cfg.nts_enable.value);
        assert_string_equal(cfg.nts_cert, "/etc/ntp/cert.pem");
        assert_string_equal(cfg.nts_key, "/etc/ntp/key.pem");
        assert_string_equal(cfg.nts_ca, "/etc/ssl/certs");
        assert_line("nts cert /etc/ntp/cert.pem", "# /etc/ntp.conf:1");
        assert_line("nts key /etc/ntp/key.pem", "# /etc/ntp.conf:1");
        assert_line("nts ca /etc/ssl/certs", "# /etc/ntp.conf:2");
        assert_line("nts enable", "# /etc/ntp.conf:1");
        assert_contains(res.text, "TCP port 4460");
        static const struct expected_warning warnings[] = {
                { "/etc/ntp.conf:2: 'nts mintls' is not carried over", "as RFC 8915 asks); 2 lines affected" },
                { "/etc/ntp.conf:3: 'nts maxtls'", "TLS 1.3 only" },
                { "/etc/ntp.conf:3: 'nts tlsciphers'", "GnuTLS" },
                { "/etc/ntp.conf:3: 'nts tlsciphersuites'", "GnuTLS" },
                { "/etc/ntp.conf:4: 'nts tlsecdhcurves'", "GnuTLS" },
                { "/etc/ntp.conf:4: 'nts cookie'", "nts-server-keys" },
                { "/etc/ntp.conf:4: 'nts aead'", "AES-SIV-CMAC-256" },
                { "/etc/ntp.conf:5: 'nts frobnicate'", "NTPsec has no such nts option" },
        };
        assert_warnings(warnings, ELEMENTSOF(warnings));
        /* the values of the dropped ones went with them */
        assert_null(strstr(res.text, "nts-keys"));
        assert_null(strstr(res.text, "TLS1"));
}

/* ntpsyncd refuses nts enable without cert and key; NTPsec takes its default files. */
static void test_nts_enable_takes_ntpsec_defaults(void **state) {
        import_ok("server a.example.org nts\nnts enable\n", NULL);
        assert_true(cfg.nts_enable.value);
        assert_string_equal(cfg.nts_cert, "/etc/ntp/cert-chain.pem");
        assert_string_equal(cfg.nts_key, "/etc/ntp/key.pem");
        assert_line("nts cert /etc/ntp/cert-chain.pem", "# /etc/ntp.conf:2 (NTPsec's default)");
        assert_line("nts key /etc/ntp/key.pem", "# /etc/ntp.conf:2 (NTPsec's default)");
        static const struct expected_warning warnings[] = {
                { "/etc/ntp.conf:2: 'nts enable' without 'nts cert' becomes 'nts cert /etc/ntp/cert-chain.pem'",
                  "NTPsec's is written out" },
                { "/etc/ntp.conf:2: 'nts enable' without 'nts key' becomes 'nts key /etc/ntp/key.pem'", "" },
        };
        assert_warnings(warnings, ELEMENTSOF(warnings));

        /* a file given later on counts, and a path ntpsyncd refuses is no file */
        import_ok("nts enable\nnts key /etc/ntp/mine.pem\nnts cert relative.pem\n", NULL);
        assert_string_equal(cfg.nts_key, "/etc/ntp/mine.pem");
        assert_string_equal(cfg.nts_cert, "/etc/ntp/cert-chain.pem");
        assert_warning("/etc/ntp.conf:3: 'nts cert' with this path", "absolute path");
        assert_warning("/etc/ntp.conf:1: 'nts enable' without 'nts cert'", "");
        assert_int_equal(res.n_warnings, 2);

        /* the last of enable and disable counts; disabled, nothing is filled in */
        import_ok("nts enable\nnts disable\n", NULL);
        assert_false(cfg.nts_enable.value);
        assert_line("nts disable", "# /etc/ntp.conf:2");
        assert_string_equal(cfg.nts_cert, "");
        assert_int_equal(res.n_warnings, 0);
        assert_null(strstr(res.text, "TCP port 4460"));

        /* no nts line: no NTS part */
        import_ok("server a.example.org\n", NULL);
        assert_null(strstr(res.text, "NTS"));
}

static void test_nts_errors(void **state) {
        static const struct error_case errors[] = {
                { "nts\n", NULL, "/etc/ntp.conf:1: ", "nts needs an option" },
                { "nts enable cert\n", NULL, "/etc/ntp.conf:1: ", "nts cert takes a value" },
                { "nts mintls\n", NULL, "/etc/ntp.conf:1: ", "nts mintls takes a value" },
                { "server a.example.org nts port 0\n", NULL, "/etc/ntp.conf:1: ", "port takes a number from 1" },
                { "server a.example.org nts port\n", NULL, "/etc/ntp.conf:1: ", "port takes a number" },
                { "server a.example.org nts ca\n", NULL, "/etc/ntp.conf:1: ", "ca takes a file or directory" },
                { "server a.example.org:99999 nts\n", NULL, "/etc/ntp.conf:1: ", "not a valid host name" },
                { "server a.example.org: nts\n", NULL, "/etc/ntp.conf:1: ", "not a valid host name" },
                { "server [2001:db8::1 nts\n", NULL, "/etc/ntp.conf:1: ", "not a valid host name" },
                { "server [2001:db8::1]x nts\n", NULL, "/etc/ntp.conf:1: ", "not a valid host name" },
                { "server []:4460 nts\n", NULL, "/etc/ntp.conf:1: ", "not a valid host name" },
        };
        assert_errors(errors, ELEMENTSOF(errors));
}

/* ---- malformed input ---- */

static void test_bad_input(void **state) {
        static const char with_nul[] = "server a.example.org\nserver b\0.example.org\n";
        assert_error_len(with_nul, sizeof(with_nul) - 1, NULL, "/etc/ntp.conf:2: ", "NUL byte");
        static const struct error_case errors[] = {
                { "server a.example.org\n\"unterminated\n", NULL, "/etc/ntp.conf:2: ", "unterminated quoted string" },
                { "server a.example.org \\\n iburst\n", NULL, "/etc/ntp.conf:1: ", "ends in a backslash" },
                { "server\n", NULL, "/etc/ntp.conf:1: ", "server needs a host name or address" },
                { "server -4\n", NULL, "/etc/ntp.conf:1: ", "server needs a host name or address" },
                { "pool bad_host!\n", NULL, "/etc/ntp.conf:1: ", "pool: 'bad_host!' is not a valid host name" },
                { "server \"a.example.org iburst\"\n", NULL, "/etc/ntp.conf:1: ", "not a valid host name" },
                { "server ntp.example.org\n", "\"x\n", "/etc/ntp/step-tickers:1: ", "unterminated" },
                { "restrict\n", NULL, "/etc/ntp.conf:1: ", "restrict needs an address or default" },
                { "restrict -6\n", NULL, "/etc/ntp.conf:1: ", "restrict needs an address" },
                { "restrict 192.0.2.0 mask 255.0.255.0\n", NULL, "/etc/ntp.conf:1: ", "restrict: mask" },
                { "restrict 192.0.2.0 mask\n", NULL, "/etc/ntp.conf:1: ", "mask needs a netmask" },
                { "restrict 192.0.2.0/33\n", NULL, "/etc/ntp.conf:1: ", "prefix length" },
                { "restrict -4 ::1\n", NULL, "/etc/ntp.conf:1: ", "-4/-6 does not match" },
                { "restrict bad!addr\n", NULL, "/etc/ntp.conf:1: ", "restrict: 'bad!addr' is not an address" },
        };
        assert_errors(errors, ELEMENTSOF(errors));

        char *line = malloc(IMPORT_LINE_MAX + 3);
        memset(line, 'x', IMPORT_LINE_MAX + 1);
        strcpy(line + IMPORT_LINE_MAX + 1, "\n");
        assert_error(line, NULL, "/etc/ntp.conf:1: ", "line longer than 1023 characters");
        line[IMPORT_LINE_MAX] = '\n'; /* exactly the longest line */
        line[IMPORT_LINE_MAX + 1] = '\0';
        import_ok(line, NULL);
        assert_warning("/etc/ntp.conf:1: 'xxxx", "not an ntpd directive");
        free(line);

        char *many = malloc(IMPORT_LINES_MAX + 2);
        memset(many, '\n', IMPORT_LINES_MAX + 1);
        many[IMPORT_LINES_MAX] = '\0';
        import_ok(many, NULL); /* 10,000 empty lines */
        many[IMPORT_LINES_MAX] = '\n';
        many[IMPORT_LINES_MAX + 1] = '\0';
        assert_error(many, NULL, "/etc/ntp.conf:10001: ", "more than 10000 lines");
        free(many);

        char *huge = calloc(1, IMPORT_FILE_MAX + 2);
        memset(huge, ' ', IMPORT_FILE_MAX + 1);
        assert_error(huge, NULL, "/etc/ntp.conf: ", "larger than 1048576 bytes");
        free(huge);
}

static void test_errors_name_the_column(void **state) {
        assert_error("server a.example.org\n  \"unterminated\n", NULL, "/etc/ntp.conf:2: ",
                     "unterminated quoted string (column 3)");
        assert_error("server a.example.org \\\n iburst\n", NULL, "/etc/ntp.conf:1: ",
                     "line ends in a backslash (column 22); ntp.conf has no continuation lines");
        static const char with_nul[] = "server a.example.org\nserver b\0.example.org\n";
        assert_error_len(with_nul, sizeof(with_nul) - 1, NULL, "/etc/ntp.conf:2: ", "NUL byte in line (column 9)");
        assert_error("server ntp.example.org\n", "a.example.org\n\"b", "/etc/ntp/step-tickers:2: ",
                     "unterminated quoted string (column 1)");

        char many[IMPORT_WORDS_MAX * 2 + 16] = "keys";
        for (int i = 1; i < IMPORT_WORDS_MAX; i++)
                strcat(many, " x");
        import_ok(many, NULL); /* as many words as there may be */
        strcat(many, " y");
        assert_error(many, NULL, "/etc/ntp.conf:1: ", "too many words");

        /* A backslash that is not the line's last character is an ordinary one. */
        import_ok("keys /etc/ntp/keys\\ # a comment\n", NULL);
        assert_warning("/etc/ntp.conf:1: 'keys'", "");
}

static void test_lexical_forms(void **state) {
        import_ok("# comment\r\n"
                  "\tserver  \"a.example.org\"\tiburst   # trailing comment\r\n"
                  "server b.example.org#comment right after\n"
                  "\r\n"
                  "   \n"
                  "server c.example.org", /* no newline at the end */
                  NULL);
        assert_int_equal(cfg.n_servers, 3);
        assert_true(server("a.example.org")->iburst);
        assert_int_equal(res.n_warnings, 0);
        assert_contains(res.text, "# /etc/ntp.conf:6\n");

        /* Non-UTF-8 in a comment is nobody's business. */
        import_ok("server a.example.org # caf\xe9\n", NULL);
        assert_int_equal(res.n_warnings, 0);
}

/* A directive too long to share its line with the origin gets the comment on the line before. */
static void test_long_lines_stay_within_ntpsyncd_limit(void **state) {
        char text[IMPORT_LINE_MAX + 2];
        int n = snprintf(text, sizeof(text), "tinker step 0.5");
        memset(text + n, '0', IMPORT_LINE_MAX - (size_t) n);
        strcpy(text + IMPORT_LINE_MAX, "\n");
        import_ok(text, NULL);
        assert_int_equal(res.n_warnings, 0);
        assert_double_near(cfg.step_threshold.value, 0.5, 0);
        assert_contains(res.text, "# /etc/ntp.conf:1\ntinker step 0.5000");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_esx_kb_example),
                cmocka_unit_test(test_without_step_tickers),
                cmocka_unit_test(test_server_options),
                cmocka_unit_test(test_poll_limits),
                cmocka_unit_test(test_pool_and_peer),
                cmocka_unit_test(test_duplicate_servers_and_limit),
                cmocka_unit_test(test_refclocks),
                cmocka_unit_test(test_restrict_forms),
                cmocka_unit_test(test_restrict_flags_dropped),
                cmocka_unit_test(test_restrict_serving),
                cmocka_unit_test(test_restrict_limit),
                cmocka_unit_test(test_tinker_and_tos),
                cmocka_unit_test(test_driftfile),
                cmocka_unit_test(test_directives_not_carried_over),
                cmocka_unit_test(test_words_are_escaped_in_warnings),
                cmocka_unit_test(test_step_tickers),
                cmocka_unit_test(test_includefile),
                cmocka_unit_test(test_nts_servers),
                cmocka_unit_test(test_nts_server_options_dropped),
                cmocka_unit_test(test_nts_directive),
                cmocka_unit_test(test_nts_enable_takes_ntpsec_defaults),
                cmocka_unit_test(test_nts_errors),
                cmocka_unit_test(test_bad_input),
                cmocka_unit_test(test_errors_name_the_column),
                cmocka_unit_test(test_lexical_forms),
                cmocka_unit_test(test_long_lines_stay_within_ntpsyncd_limit),
        };
        int failed = cmocka_run_group_tests(tests, NULL, NULL);
        import_result_done(&res);
        return failed;
}
