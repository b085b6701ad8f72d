/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for config: every directive and option of the ntp.conf dialect, comments, blank
 * lines, CRLF and tabs, errors that name FILE:LINE, the limits (line length, words, servers,
 * restrict rules), the D-Bus server spec, its canonical text, and the dump with origins. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/config.h"
#include "core/poll.h"
#include "unit-test.h"

#define FILE_NAME "test.conf"

static struct config cfg;
static struct config_error err;

static int parse_into(struct config *c, const char *file, const char *text, size_t len) {
        memset(&err, 0, sizeof(err));
        return config_parse(c, file, text, len, &err);
}

/* A fresh configuration with text parsed into it; the test fails on an error. */
static struct config *parse_ok(const char *text) {
        config_init(&cfg);
        if (parse_into(&cfg, FILE_NAME, text, strlen(text)) != 0) {
                print_error("refused: %s\n", err.message);
                fail();
        }
        return &cfg;
}

/* The error is -EINVAL with a message "test.conf:LINE: ...what...". */
static void assert_error_len(const char *text, size_t len, unsigned line, const char *what) {
        char prefix[64];
        config_init(&cfg);
        int r = parse_into(&cfg, FILE_NAME, text, len);
        if (r != -EINVAL) {
                print_error("expected -EINVAL for \"%.*s\", got %d\n", (int) (len > 200 ? 200 : len), text, r);
                fail();
        }
        snprintf(prefix, sizeof(prefix), FILE_NAME ":%u: ", line);
        if (strncmp(err.message, prefix, strlen(prefix)) != 0 || !strstr(err.message + strlen(prefix), what)) {
                print_error("error \"%s\", expected \"%s...%s...\"\n", err.message, prefix, what);
                fail();
        }
}

static void assert_error(const char *text, unsigned line, const char *what) {
        assert_error_len(text, strlen(text), line, what);
}

/* Some warning reads "test.conf:LINE: ...what...". */
static void assert_warning(const struct config *c, unsigned line, const char *what) {
        char prefix[64];
        snprintf(prefix, sizeof(prefix), FILE_NAME ":%u: ", line);
        for (size_t i = 0; i < c->n_warnings; i++)
                if (strncmp(c->warnings[i], prefix, strlen(prefix)) == 0 && strstr(c->warnings[i], what))
                        return;
        print_error("no warning \"%s...%s...\" among %zu:\n", prefix, what, c->n_warnings);
        for (size_t i = 0; i < c->n_warnings; i++)
                print_error("  %s\n", c->warnings[i]);
        fail();
}

static void assert_origin(const struct config_origin *o, const char *file, unsigned line) {
        assert_string_equal(o->file, file);
        assert_int_equal(o->line, line);
}

static const struct config_server *server(const struct config *c, const char *host) {
        for (size_t i = 0; i < c->n_servers; i++)
                if (strcmp(c->servers[i].host, host) == 0)
                        return &c->servers[i];
        print_error("no server %s\n", host);
        fail();
        return NULL;
}

/* ---- defaults ---- */

static void test_defaults(void **state) {
        struct config c;
        memset(&c, 0x5a, sizeof(c));
        config_init(&c);
        assert_int_equal(c.n_servers, 0);
        assert_int_equal(c.n_restricts, 0);
        assert_int_equal(c.n_warnings, 0);
        assert_string_equal(c.driftfile, "");
        assert_double_near(c.step_threshold.value, 0.128, 0);
        assert_double_near(c.panic_threshold.value, 1000, 0);
        assert_double_near(c.stepout.value, 300, 0);
        assert_int_equal(c.min_sources.value, 1);
        assert_false(c.serve.value);
        assert_int_equal(c.local_stratum.value, 0);
        assert_true(c.timesync1.value);
        assert_origin(&c.step_threshold.origin, "", 0);
        assert_origin(&c.timesync1.origin, "", 0);

        /* Nothing at all, comments and blank lines change nothing. */
        struct config *p = parse_ok("");
        assert_int_equal(p->n_servers, 0);
        p = parse_ok("# only a comment\n\n   \n\t\n#server not.this.one\n");
        assert_int_equal(p->n_servers, 0);
        assert_int_equal(p->n_warnings, 0);
}

/* ---- server, pool, peer ---- */

static void test_server_every_option(void **state) {
        struct config *c = parse_ok("# servers\n"
                                    "server ntp1.example.org iburst prefer noselect xleave minpoll 4 maxpoll 8\n"
                                    "server ntp2.example.org\n"
                                    "server 192.0.2.1 minpoll 3 maxpoll 17\n");
        assert_int_equal(c->n_servers, 3);
        assert_int_equal(c->n_warnings, 0);

        const struct config_server *s = &c->servers[0];
        assert_string_equal(s->host, "ntp1.example.org");
        assert_false(s->pool);
        assert_true(s->iburst);
        assert_true(s->prefer);
        assert_true(s->noselect);
        assert_true(s->xleave);
        assert_int_equal(s->minpoll, 4);
        assert_int_equal(s->maxpoll, 8);
        assert_origin(&s->origin, FILE_NAME, 2);

        s = &c->servers[1];
        assert_string_equal(s->host, "ntp2.example.org");
        assert_false(s->iburst || s->prefer || s->noselect || s->xleave || s->pool);
        assert_int_equal(s->minpoll, 0);
        assert_int_equal(s->maxpoll, 0);
        assert_origin(&s->origin, FILE_NAME, 3);

        s = &c->servers[2];
        assert_int_equal(s->minpoll, 3);
        assert_int_equal(s->maxpoll, 17);
        assert_origin(&s->origin, FILE_NAME, 4);

        /* minpoll alone, maxpoll alone, equal */
        c = parse_ok("server a.example.org minpoll 6\nserver b.example.org maxpoll 6\nserver c.example.org minpoll 7 maxpoll 7\n");
        assert_int_equal(server(c, "a.example.org")->minpoll, 6);
        assert_int_equal(server(c, "b.example.org")->maxpoll, 6);
        assert_int_equal(server(c, "c.example.org")->minpoll, 7);
}

static void test_server_option_errors(void **state) {
        assert_error("server a.example.org minpoll 2\n", 1, "minpoll/maxpoll");
        assert_error("server a.example.org maxpoll 18\n", 1, "minpoll/maxpoll");
        assert_error("server a.example.org minpoll\n", 1, "minpoll/maxpoll");
        assert_error("server a.example.org minpoll four\n", 1, "minpoll/maxpoll");
        assert_error("server a.example.org minpoll 4x\n", 1, "minpoll/maxpoll");
        assert_error("server a.example.org minpoll -4\n", 1, "minpoll/maxpoll");
        assert_error("server a.example.org minpoll 10 maxpoll 6\n", 1, "minpoll is larger than maxpoll");
        assert_error("server a.example.org maxsources 2\n", 1, "maxsources applies to pool only");
        assert_error("server a.example.org key 1\n", 1, "symmetric keys and autokey are not supported");
        assert_error("server a.example.org autokey\n", 1, "symmetric keys and autokey are not supported");
        assert_error("server a.example.org noval\n", 1, "apply to nts servers only");
        assert_error("server a.example.org ca /etc/ssl/certs\n", 1, "apply to nts servers only");
        assert_error("server a.example.org port 4460\n", 1, "apply to nts servers only");
        assert_error("server a.example.org nts ca certs.pem\n", 1, "ca takes an absolute path");
        assert_error("server a.example.org nts ca\n", 1, "ca takes an absolute path");
        assert_error("server a.example.org nts port 0\n", 1, "port takes a number");
        assert_error("server a.example.org nts port 65536\n", 1, "port takes a number");
        assert_error("server a.example.org nts port\n", 1, "port takes a number");
        assert_error("server a.example.org iburst fast\n", 1, "unknown server option");
        assert_error("server a.example.org version 5\n", 1, "version");
        assert_error("server a.example.org version 0\n", 1, "version");
        assert_error("server a.example.org version\n", 1, "version");
        assert_error("server\n", 1, "no host");
        assert_error("server -x\n", 1, "not a valid host");
        assert_error("pool a..example.org\n", 1, "not a valid host");
}

static void test_server_nts(void **state) {
        struct config *c = parse_ok("server a.example.org nts\n"
                                    "server b.example.org iburst nts ca /etc/ntpsync/ca.pem port 4461\n"
                                    "pool c.example.org nts noval\n");
        const struct config_server *a = server(c, "a.example.org"), *b = server(c, "b.example.org"),
                                   *p = server(c, "c.example.org");
        assert_true(a->nts);
        assert_false(a->noval);
        assert_int_equal(a->port, 0);
        assert_string_equal(a->ca, "");
        assert_true(b->nts && b->iburst);
        assert_string_equal(b->ca, "/etc/ntpsync/ca.pem");
        assert_int_equal(b->port, 4461);
        assert_true(p->pool && p->nts && p->noval);

        /* The canonical spec reads back to the same server. */
        char text[CONFIG_MAX_LINE];
        struct config_server back;
        const char *error = NULL;
        config_server_format(b, text, sizeof(text));
        assert_string_equal(text, "server b.example.org iburst nts port 4461 ca /etc/ntpsync/ca.pem");
        assert_int_equal(config_parse_server_spec(text, &back, &error), 0);
        assert_true(back.nts && back.port == 4461 && strcmp(back.ca, b->ca) == 0);
        config_server_format(p, text, sizeof(text));
        assert_string_equal(text, "pool c.example.org nts noval");
}

static void test_nts_directive(void **state) {
        struct config *c = parse_ok("nts enable\nnts cert /etc/ntpsync/cert.pem\nnts key /etc/ntpsync/key.pem\n"
                                    "nts ca /etc/ntpsync/ca\n");
        assert_true(c->nts_enable.value);
        assert_origin(&c->nts_enable.origin, FILE_NAME, 1);
        assert_string_equal(c->nts_cert, "/etc/ntpsync/cert.pem");
        assert_string_equal(c->nts_key, "/etc/ntpsync/key.pem");
        assert_string_equal(c->nts_ca, "/etc/ntpsync/ca");
        assert_origin(&c->nts_key_origin, FILE_NAME, 3);
        assert_int_equal(config_check(c, &err), 0);
        c = parse_ok("nts enable\nnts disable\n");
        assert_false(c->nts_enable.value);
        assert_error("nts\n", 1, "nts takes enable");
        assert_error("nts on\n", 1, "nts takes enable");
        assert_error("nts cert\n", 1, "nts takes enable");
        assert_error("\nnts cert cert.pem\n", 2, "nts cert takes an absolute path");
        assert_error("nts key /a /b\n", 1, "nts takes enable");
}

/* Serving NTS without a certificate or its key: refused once every file was read. */
static void test_nts_enable_needs_cert_and_key(void **state) {
        struct config *c = parse_ok("\nnts enable\nnts cert /etc/ntpsync/cert.pem\n");
        assert_int_equal(config_check(c, &err), -EINVAL);
        assert_string_equal(err.message, FILE_NAME ":2: nts enable needs \"nts cert FILE\" and \"nts key FILE\"");
        c = parse_ok("nts cert /etc/ntpsync/cert.pem\n");
        assert_int_equal(config_check(c, &err), 0);
}

static void test_server_options_without_effect(void **state) {
        struct config *c = parse_ok("server a.example.org burst\n"
                                    "server b.example.org version 3\n"
                                    "server c.example.org preempt\n"
                                    "server d.example.org true\n"
                                    "server e.example.org iburst\n");
        assert_int_equal(c->n_servers, 5);
        assert_int_equal(c->n_warnings, 4);
        assert_warning(c, 1, "no effect");
        assert_warning(c, 2, "no effect");
        assert_warning(c, 3, "no effect");
        assert_warning(c, 4, "no effect");
}

static void test_pool(void **state) {
        struct config *c = parse_ok("pool pool.example.org iburst maxsources 6\n"
                                    "pool 2.pool.example.org\n"
                                    "pool 3.pool.example.org maxsources 1 minpoll 5\n"
                                    "pool 4.pool.example.org maxsources 16\n");
        const struct config_server *s = server(c, "pool.example.org");
        assert_true(s->pool);
        assert_true(s->iburst);
        assert_int_equal(s->maxsources, 6);
        assert_origin(&s->origin, FILE_NAME, 1);
        s = server(c, "2.pool.example.org");
        assert_true(s->pool);
        assert_false(s->iburst);
        assert_int_equal(s->maxsources, CONFIG_POOL_DEFAULT_SOURCES);
        s = server(c, "3.pool.example.org");
        assert_int_equal(s->maxsources, 1);
        assert_int_equal(s->minpoll, 5);
        assert_int_equal(server(c, "4.pool.example.org")->maxsources, 16);

        assert_error("pool p.example.org maxsources 0\n", 1, "maxsources");
        assert_error("pool p.example.org maxsources 17\n", 1, "maxsources");
        assert_error("pool p.example.org maxsources\n", 1, "maxsources");
        assert_error("pool p.example.org maxsources x\n", 1, "maxsources");
        assert_error("pool p.example.org key 3\n", 1, "symmetric keys");
}

static void test_peer(void **state) {
        struct config *c = parse_ok("\npeer 192.0.2.7 iburst\n");
        assert_int_equal(c->n_servers, 1);
        assert_false(c->servers[0].pool);
        assert_true(c->servers[0].iburst);
        assert_warning(c, 2, "symmetric peers are not supported");
        assert_error("peer 192.0.2.7 key 4\n", 1, "symmetric keys");
}

static void test_duplicate_server(void **state) {
        assert_error("server a.example.org\n"
                     "# comment\n"
                     "server b.example.org\n"
                     "\n"
                     "server A.Example.ORG iburst\n",
                     5, "A.Example.ORG is already configured at " FILE_NAME ":1");
        assert_error("pool p.example.org\nserver a.example.org\npool p.example.org iburst\n", 3,
                     "already configured at " FILE_NAME ":1");

        /* A server and a pool of the same name are different things. */
        struct config *c = parse_ok("server a.example.org\npool a.example.org\n");
        assert_int_equal(c->n_servers, 2);

        /* Across files: the error names the first one's file and line. */
        config_init(&cfg);
        const char *main_text = "\n\nserver a.example.org\n";
        const char *dropin = "server b.example.org\nserver a.example.org prefer\n";
        assert_int_equal(parse_into(&cfg, "/etc/ntpsyncd.conf", main_text, strlen(main_text)), 0);
        assert_int_equal(parse_into(&cfg, "/etc/ntpsyncd.conf.d/10-x.conf", dropin, strlen(dropin)), -EINVAL);
        assert_string_equal(err.message, "/etc/ntpsyncd.conf.d/10-x.conf:2: a.example.org is already configured at "
                                         "/etc/ntpsyncd.conf:3");
}

static void test_server_limit(void **state) {
        size_t size = (CONFIG_MAX_SERVERS + 1) * 64;
        char *text = calloc(1, size);
        assert_non_null(text);
        for (int i = 0; i < CONFIG_MAX_SERVERS; i++)
                snprintf(text + strlen(text), size - strlen(text), "server s%d.example.org\n", i);
        struct config *c = parse_ok(text);
        assert_int_equal(c->n_servers, CONFIG_MAX_SERVERS);
        assert_string_equal(c->servers[CONFIG_MAX_SERVERS - 1].host, "s127.example.org");

        snprintf(text + strlen(text), size - strlen(text), "pool one.too.many.example.org\n");
        assert_error(text, CONFIG_MAX_SERVERS + 1, "more than 128 servers");
        free(text);
}

/* ---- restrict ---- */

static void test_restrict(void **state) {
        struct config *c = parse_ok("restrict default kod limited nomodify notrap nopeer noquery\n"
                                    "restrict -6 default noquery\n"
                                    "restrict 127.0.0.1\n"
                                    "restrict 192.0.2.0 mask 255.255.255.0 nomodify\n"
                                    "  restrict 2001:db8::/32 ignore # no one from there\n"
                                    "restrict ::1 lowpriotrap\n");
        assert_int_equal(c->n_restricts, 6);
        const struct restrict_rule *r = &c->restricts[0].rule;
        assert_true(r->is_default);
        assert_int_equal(r->family, AF_UNSPEC);
        assert_int_equal(r->flags, RESTRICT_KOD | RESTRICT_LIMITED | RESTRICT_NOMODIFY | RESTRICT_NOTRAP |
                                           RESTRICT_NOPEER | RESTRICT_NOQUERY);
        assert_origin(&c->restricts[0].origin, FILE_NAME, 1);
        assert_int_equal(c->restricts[1].rule.family, AF_INET6);
        assert_true(c->restricts[1].rule.is_default);
        assert_int_equal(c->restricts[2].rule.prefix, 32);
        assert_int_equal(c->restricts[2].rule.flags, 0);
        assert_int_equal(c->restricts[3].rule.prefix, 24);
        assert_int_equal(c->restricts[3].rule.flags, RESTRICT_NOMODIFY);
        assert_int_equal(c->restricts[4].rule.family, AF_INET6);
        assert_int_equal(c->restricts[4].rule.flags, RESTRICT_IGNORE);
        assert_origin(&c->restricts[4].origin, FILE_NAME, 5);
        assert_int_equal(c->restricts[5].rule.flags, RESTRICT_LOWPRIOTRAP);
        assert_int_equal(c->n_warnings, 1);
        assert_warning(c, 6, "restrict: flag accepted but has no effect");

        assert_error("restrict\n", 1, "restrict needs an address");
        assert_error("restrict # nothing\n", 1, "restrict");
        assert_error("server a.example.org\nrestrict default frobnicate\n", 2, "restrict: unknown restrict flag");
        assert_error("restrict ntp.example.org\n", 1, "restrict: not an IPv4 or IPv6 address");
        assert_error("restrict 192.0.2.0 mask 255.0.255.0\n", 1, "restrict: mask");
        assert_error("restrict 192.0.2.0/33\n", 1, "restrict: prefix");
        assert_error("restrict -4 ::1\n", 1, "restrict: -4/-6");
        /* "restrictx" is not restrict */
        assert_error("restrictx default\n", 1, "unknown directive");
}

static void test_restrict_limit(void **state) {
        size_t size = (CONFIG_MAX_RESTRICTS + 1) * 64;
        char *text = calloc(1, size);
        assert_non_null(text);
        for (int i = 0; i < CONFIG_MAX_RESTRICTS; i++)
                snprintf(text + strlen(text), size - strlen(text), "restrict 10.0.%d.0/24 nomodify\n", i);
        struct config *c = parse_ok(text);
        assert_int_equal(c->n_restricts, CONFIG_MAX_RESTRICTS);

        snprintf(text + strlen(text), size - strlen(text), "restrict default kod\n");
        assert_error(text, CONFIG_MAX_RESTRICTS + 1, "more than 256 restrict rules");
        free(text);
}

/* ---- driftfile, tinker, tos, minsources, serve, timesync1, local ---- */

static void test_driftfile(void **state) {
        struct config *c = parse_ok("\ndriftfile /var/lib/ntpsyncd/drift\n");
        assert_string_equal(c->driftfile, "/var/lib/ntpsyncd/drift");
        assert_origin(&c->driftfile_origin, FILE_NAME, 2);
        /* The last one wins. */
        c = parse_ok("driftfile /a\ndriftfile /b\n");
        assert_string_equal(c->driftfile, "/b");
        assert_origin(&c->driftfile_origin, FILE_NAME, 2);

        assert_error("driftfile drift\n", 1, "absolute");
        assert_error("driftfile ./drift\n", 1, "absolute");
        assert_error("driftfile ../var/lib/drift\n", 1, "absolute");
        assert_error("driftfile\n", 1, "driftfile takes one path");
        assert_error("driftfile /a /b\n", 1, "driftfile takes one path");
}

static void test_tinker(void **state) {
        struct config *c = parse_ok("tinker step 0.5 panic 0 stepout 600\n");
        assert_double_near(c->step_threshold.value, 0.5, 0);
        assert_double_near(c->panic_threshold.value, 0, 0);
        assert_double_near(c->stepout.value, 600, 0);
        assert_origin(&c->step_threshold.origin, FILE_NAME, 1);
        assert_origin(&c->panic_threshold.origin, FILE_NAME, 1);
        assert_origin(&c->stepout.origin, FILE_NAME, 1);

        c = parse_ok("tinker panic 2000\n\ntinker step 0\n");
        assert_double_near(c->step_threshold.value, 0, 0);
        assert_origin(&c->step_threshold.origin, FILE_NAME, 3);
        assert_double_near(c->panic_threshold.value, 2000, 0);
        assert_origin(&c->panic_threshold.origin, FILE_NAME, 1);
        assert_double_near(c->stepout.value, 300, 0); /* untouched default */
        assert_origin(&c->stepout.origin, "", 0);

        c = parse_ok("tinker stepout 86400\n");
        assert_double_near(c->stepout.value, 86400, 0);

        assert_error("tinker dispersion 15\n", 1, "tinker dispersion is not supported");
        assert_error("tinker step 0.5 allan 1500\n", 1, "tinker allan is not supported");
        assert_error("tinker step\n", 1, "pairs");
        assert_error("tinker\n", 1, "pairs");
        assert_error("tinker step 0.5 panic\n", 1, "pairs");
        assert_error("tinker step -1\n", 1, "tinker step takes a number");
        assert_error("tinker step fast\n", 1, "tinker step takes a number");
        assert_error("tinker step nan\n", 1, "tinker step takes a number");
        assert_error("tinker panic inf\n", 1, "tinker panic takes a number");
        assert_error("tinker panic 1e10\n", 1, "tinker panic takes a number");
        assert_error("tinker stepout 86401\n", 1, "tinker stepout takes a number");
        assert_error("tinker step 0.5s\n", 1, "tinker step takes a number");
}

static void test_tos(void **state) {
        struct config *c = parse_ok("tos minsane 3\n");
        assert_int_equal(c->min_sources.value, 3);
        assert_origin(&c->min_sources.origin, FILE_NAME, 1);
        assert_int_equal(c->n_warnings, 0);

        c = parse_ok("\ntos mindist 0.01 minsane 2 maxclock 10\n");
        assert_int_equal(c->min_sources.value, 2);
        assert_true(c->min_distance.value == 0.01);
        assert_origin(&c->min_distance.origin, FILE_NAME, 2);
        assert_true(c->max_distance.value == 1.5);
        assert_warning(c, 2, "tos maxclock accepted but has no effect");
        assert_int_equal(c->n_warnings, 1);

        c = parse_ok("tos maxdist 0.5\ntos mindist 0\n");
        assert_true(c->max_distance.value == 0.5);
        assert_true(c->min_distance.value == 0);
        assert_int_equal(c->n_warnings, 0);

        assert_error("tos mindist 1.5\n", 1, "tos mindist takes a number");
        assert_error("tos mindist -0.001\n", 1, "tos mindist takes a number");
        assert_error("tos maxdist 0\n", 1, "tos maxdist takes a number");
        assert_error("tos maxdist 17\n", 1, "tos maxdist takes a number");
        assert_error("tos maxdist 0.01\ntos mindist 0.5\n", 2, "tos mindist 0.5 must be below tos maxdist 0.01");

        assert_error("tos minsane 0\n", 1, "tos minsane takes a whole number");
        assert_error("tos minsane 129\n", 1, "tos minsane takes a whole number");
        assert_error("tos minsane 2.5\n", 1, "tos minsane takes a whole number");
        assert_error("tos minsane\n", 1, "pairs");
        assert_error("tos\n", 1, "pairs");
        assert_error("tos orphan ten\n", 1, "tos orphan takes a number");
}

static void test_minsources(void **state) {
        struct config *c = parse_ok("minsources 4\n");
        assert_int_equal(c->min_sources.value, 4);
        c = parse_ok("minsources 128\ntos minsane 2\n");
        assert_int_equal(c->min_sources.value, 2);
        assert_origin(&c->min_sources.origin, FILE_NAME, 2);
        assert_error("minsources 0\n", 1, "minsources takes a whole number");
        assert_error("minsources 129\n", 1, "minsources takes a whole number");
        assert_error("minsources\n", 1, "minsources takes one number");
        assert_error("minsources 1 2\n", 1, "minsources takes one number");
        assert_error("minsources many\n", 1, "minsources");
}

static void test_serve_and_timesync1(void **state) {
        static const struct {
                const char *word;
                bool value;
        } words[] = { { "on", true }, { "yes", true }, { "true", true },
                      { "off", false }, { "no", false }, { "false", false } };
        char text[64];

        for (size_t i = 0; i < ELEMENTSOF(words); i++) {
                snprintf(text, sizeof(text), "# x\nserve %s\ntimesync1 %s\n", words[i].word, words[i].word);
                struct config *c = parse_ok(text);
                assert_int_equal(c->serve.value, words[i].value);
                assert_int_equal(c->timesync1.value, words[i].value);
                assert_origin(&c->serve.origin, FILE_NAME, 2);
                assert_origin(&c->timesync1.origin, FILE_NAME, 3);
        }
        assert_error("serve\n", 1, "serve takes on or off");
        assert_error("serve maybe\n", 1, "serve takes on or off");
        assert_error("serve on off\n", 1, "serve takes on or off");
        assert_error("serve ON\n", 1, "serve takes on or off");
        assert_error("timesync1 1\n", 1, "timesync1 takes on or off");
        assert_error("timesync1\n", 1, "timesync1 takes on or off");
}

static void test_local_stratum(void **state) {
        for (unsigned s = 1; s <= 15; s++) {
                char text[64];
                snprintf(text, sizeof(text), "local stratum %u\n", s);
                struct config *c = parse_ok(text);
                assert_int_equal(c->local_stratum.value, s);
                assert_origin(&c->local_stratum.origin, FILE_NAME, 1);
        }
        assert_error("local stratum 0\n", 1, "local stratum takes a whole number from 1 to 15");
        assert_error("local stratum 16\n", 1, "local stratum takes a whole number from 1 to 15");
        assert_error("local stratum -1\n", 1, "local stratum");
        assert_error("local stratum 4294967306\n", 1, "local stratum");
        assert_error("local stratum\n", 1, "local takes");
        assert_error("local 10\n", 1, "local takes");
        assert_error("local orphan 10\n", 1, "local takes");
        assert_error("local stratum 10 now\n", 1, "local takes");
}

static void test_serve_threads(void **state) {
        struct config *c = parse_ok("serve on\n");
        assert_int_equal(c->serve_threads.value, 0); /* unset: one per CPU, the daemon's choice */
        c = parse_ok("serve threads 1\nserve on\n");
        assert_int_equal(c->serve_threads.value, 1);
        assert_true(c->serve.value);
        assert_origin(&c->serve_threads.origin, FILE_NAME, 1);
        c = parse_ok("serve threads 16\n");
        assert_int_equal(c->serve_threads.value, 16);
        assert_error("serve threads 0\n", 1, "serve threads takes a whole number from 1 to 16");
        assert_error("serve threads 17\n", 1, "serve threads takes a whole number from 1 to 16");
        assert_error("serve threads two\n", 1, "serve threads takes a whole number");
        assert_error("serve threads\n", 1, "serve takes on or off");
        assert_error("serve threads 2 4\n", 1, "serve takes on or off");
}

static void test_ignored_directives(void **state) {
        static const char *const ignored[] = {
                "logfile /var/log/ntp.log", "logconfig =syncall", "statsdir /var/log/ntpstats/",
                "statistics loopstats peerstats", "filegen loopstats file loopstats type day enable",
                "keys /etc/ntp/keys", "trustedkey 4 8 42", "requestkey 8", "controlkey 8",
                "disable monitor", "enable stats", "leapfile /usr/share/zoneinfo/leap-seconds.list",
                "includefile /etc/ntp/crypto/pw",
        };
        char text[4096] = "server a.example.org\n";

        for (size_t i = 0; i < ELEMENTSOF(ignored); i++) {
                strcat(text, ignored[i]);
                strcat(text, "\n");
        }
        struct config *c = parse_ok(text);
        assert_int_equal(c->n_servers, 1);
        assert_int_equal(c->n_warnings, ELEMENTSOF(ignored));
        for (size_t i = 0; i < ELEMENTSOF(ignored); i++) {
                char what[64];
                snprintf(what, sizeof(what), "%.*s accepted but has no effect",
                         (int) strcspn(ignored[i], " "), ignored[i]);
                assert_warning(c, (unsigned) i + 2, what);
        }

        /* Not ignored: unknown, and named (shortened) in the error. */
        assert_error("server a.example.org\nfudge 127.127.1.0 stratum 10\n", 2, "unknown directive \"fudge\"");
        assert_error("SERVER a.example.org\n", 1, "unknown directive \"SERVER\"");
}

static void test_warnings_are_bounded(void **state) {
        char text[4096] = "";
        for (int i = 0; i < CONFIG_MAX_WARNINGS + 10; i++)
                strcat(text, "logfile /x\n");
        struct config *c = parse_ok(text);
        assert_int_equal(c->n_warnings, CONFIG_MAX_WARNINGS);
        assert_warning(c, CONFIG_MAX_WARNINGS, "logfile");
}

/* ---- lexical matters: comments, blank lines, CRLF, tabs ---- */

static void test_comments_and_blank_lines(void **state) {
        struct config *c = parse_ok("# ntp.conf\n"
                                    "\n"
                                    "   \n"
                                    "\t\n"
                                    "server a.example.org iburst # the first\n"
                                    "#server b.example.org\n"
                                    "   # indented comment\n"
                                    "server c.example.org#no space before the comment\n"
                                    "driftfile /var/lib/drift# comment\n"
                                    "tinker step 0.25 # panic 5\n");
        assert_int_equal(c->n_servers, 2);
        assert_origin(&server(c, "a.example.org")->origin, FILE_NAME, 5);
        assert_true(server(c, "a.example.org")->iburst);
        assert_origin(&server(c, "c.example.org")->origin, FILE_NAME, 8);
        assert_string_equal(c->driftfile, "/var/lib/drift");
        assert_double_near(c->step_threshold.value, 0.25, 0);
        assert_double_near(c->panic_threshold.value, 1000, 0);
        assert_origin(&c->step_threshold.origin, FILE_NAME, 10);

        /* No newline at the end of the last line. */
        c = parse_ok("server a.example.org\nserver b.example.org prefer");
        assert_int_equal(c->n_servers, 2);
        assert_true(c->servers[1].prefer);
        assert_origin(&c->servers[1].origin, FILE_NAME, 2);
}

static void test_crlf_line_endings(void **state) {
        struct config *c = parse_ok("# written on Windows\r\n"
                                    "\r\n"
                                    "server a.example.org iburst\r\n"
                                    "pool pool.example.org\r\n"
                                    "driftfile /var/lib/ntpsyncd/drift\r\n"
                                    "tinker step 0.5\r\n"
                                    "tos minsane 2\r\n"
                                    "serve on\r\n"
                                    "local stratum 10\r\n"
                                    "timesync1 off\r\n");
        assert_int_equal(c->n_servers, 2);
        assert_true(server(c, "a.example.org")->iburst);
        assert_origin(&server(c, "pool.example.org")->origin, FILE_NAME, 4);
        assert_string_equal(c->driftfile, "/var/lib/ntpsyncd/drift");
        assert_double_near(c->step_threshold.value, 0.5, 0);
        assert_int_equal(c->min_sources.value, 2);
        assert_true(c->serve.value);
        assert_int_equal(c->local_stratum.value, 10);
        assert_false(c->timesync1.value);

        assert_error("server a.example.org\r\n\r\ntinker step x\r\n", 3, "tinker step");
}

static void test_crlf_restrict_lines(void **state) {
        /* The restrict directive takes its own words; they must not end in "\r" either. */
        struct config *c = parse_ok("restrict default kod nomodify\r\n"
                                    "restrict 127.0.0.1\r\n"
                                    "restrict -6 default\r\n"
                                    "restrict 192.0.2.0 mask 255.255.255.0 nomodify\r\n");
        assert_int_equal(c->n_restricts, 4);
        assert_int_equal(c->restricts[0].rule.flags, RESTRICT_KOD | RESTRICT_NOMODIFY);
        assert_int_equal(c->restricts[1].rule.prefix, 32);
        assert_int_equal(c->restricts[2].rule.family, AF_INET6);
        assert_int_equal(c->restricts[3].rule.prefix, 24);
}

static void test_tabs(void **state) {
        struct config *c = parse_ok("server\tntp.example.org\tiburst\tminpoll\t5\n"
                                    "\t\tpool \t pool.example.org\t\n"
                                    "restrict\t192.0.2.0\tmask\t255.255.255.0\tnomodify\n"
                                    "\trestrict\tdefault\tkod\n"
                                    "tinker\tstep\t0.5\n"
                                    "local\tstratum\t12\n");
        assert_int_equal(c->n_servers, 2);
        assert_int_equal(server(c, "ntp.example.org")->minpoll, 5);
        assert_true(server(c, "pool.example.org")->pool);
        assert_int_equal(c->n_restricts, 2);
        assert_int_equal(c->restricts[0].rule.prefix, 24);
        assert_int_equal(c->restricts[0].rule.flags, RESTRICT_NOMODIFY);
        assert_true(c->restricts[1].rule.is_default);
        assert_int_equal(c->restricts[1].rule.flags, RESTRICT_KOD);
        assert_double_near(c->step_threshold.value, 0.5, 0);
        assert_int_equal(c->local_stratum.value, 12);
}

/* ---- errors and their lines ---- */

static void test_error_line_numbers(void **state) {
        assert_error("bogus\n", 1, "unknown directive \"bogus\"");
        assert_error("# c\n\nserver a.example.org\n  \nbogus x\nserver b.example.org\n", 5, "unknown directive");
        assert_error("server a.example.org\nserver b.example.org\nfrobnicate", 3, "unknown directive");
        assert_error("\n\n\n\n\n\n\n\n\n\n\n\nserve perhaps\n", 13, "serve");
        assert_error("server a.example.org\r\n#\r\n\r\nlocal stratum 99\r\n", 4, "local stratum");
        /* The first error wins, with its line. */
        assert_error("server a.example.org\nlocal stratum 0\nbogus\n", 2, "local stratum");

        /* The file name is given; a missing one is named anyway. */
        config_init(&cfg);
        assert_int_equal(parse_into(&cfg, "/etc/ntpsyncd.conf.d/50-site.conf", "\nbogus\n", 7), -EINVAL);
        assert_string_equal(err.message, "/etc/ntpsyncd.conf.d/50-site.conf:2: unknown directive \"bogus\"");
        config_init(&cfg);
        assert_int_equal(parse_into(&cfg, NULL, "bogus\n", 6), -EINVAL);
        assert_non_null(strstr(err.message, ":1: unknown directive"));

        /* Only len bytes are read: what follows is not part of the file. */
        struct config *c;
        config_init(&cfg);
        assert_int_equal(parse_into(&cfg, FILE_NAME, "server a.example.org\nbogus\n", 21), 0);
        c = &cfg;
        assert_int_equal(c->n_servers, 1);
}

static void test_nul_byte(void **state) {
        static const char text[] = "server a.example.org\n# fine\nserver b.exa\0mple.org\nserver c.example.org\n";
        assert_error_len(text, sizeof(text) - 1, 3, "NUL");
        static const char in_comment[] = "\n# a comment with a \0 in it\n";
        assert_error_len(in_comment, sizeof(in_comment) - 1, 2, "NUL");
        static const char at_end[] = "server a.example.org\n\0";
        assert_error_len(at_end, sizeof(at_end) - 1, 2, "NUL");
}

static void test_overlong_line(void **state) {
        char *text = malloc(4 * CONFIG_MAX_LINE);
        assert_non_null(text);

        /* 1023 characters and the newline: the longest line. */
        strcpy(text, "server a.example.org\n#");
        size_t len = strlen(text);
        memset(text + len, 'x', CONFIG_MAX_LINE - 2);
        len += CONFIG_MAX_LINE - 2;
        memcpy(text + len, "\nserver b.example.org\n", 23);
        struct config *c = parse_ok(text);
        assert_int_equal(c->n_servers, 2);
        assert_origin(&c->servers[1].origin, FILE_NAME, 3);

        /* 1024 characters: refused, on line 2. */
        strcpy(text, "server a.example.org\n#");
        len = strlen(text);
        memset(text + len, 'x', CONFIG_MAX_LINE - 1);
        len += CONFIG_MAX_LINE - 1;
        memcpy(text + len, "\nserver b.example.org\n", 23);
        assert_error(text, 2, "line longer than 1023 characters");

        /* The same as the last line, without a newline. */
        strcpy(text, "\n\n\nserver ");
        len = strlen(text);
        memset(text + len, 'a', 3 * CONFIG_MAX_LINE);
        text[len + 3 * CONFIG_MAX_LINE] = '\0';
        assert_error(text, 4, "line longer");
        free(text);
}

static void test_too_many_words(void **state) {
        char text[1024];

        /* 32 words */
        strcpy(text, "\nserver a.example.org");
        for (int i = 0; i < 30; i++)
                strcat(text, " iburst");
        strcat(text, "\n");
        struct config *c = parse_ok(text);
        assert_true(c->servers[0].iburst);

        /* 33 words */
        strcpy(text, "\nserver a.example.org");
        for (int i = 0; i < 31; i++)
                strcat(text, " iburst");
        strcat(text, "\n");
        assert_error(text, 2, "too many words");

        /* The same for restrict, which splits its own words. */
        strcpy(text, "\n\nrestrict default");
        for (int i = 0; i < 32; i++)
                strcat(text, " kod");
        assert_error(text, 3, "too many words");
}

/* ---- quotes, continuation lines, the column of a malformed line ---- */

static void test_quoted_words(void **state) {
        struct config *c = parse_ok("driftfile \"/var/lib/ntpsyncd/my drift\"\n"
                                    "server \"ntp.example.org\" iburst\n");
        assert_string_equal(c->driftfile, "/var/lib/ntpsyncd/my drift");
        assert_true(server(c, "ntp.example.org")->iburst);
        /* A '#' in quotes is the word's. */
        c = parse_ok("driftfile \"/var/lib/a#b\" # a comment\n");
        assert_string_equal(c->driftfile, "/var/lib/a#b");
        assert_error("driftfile \"\"\n", 1, "absolute path");
        assert_error("server a.example.org\nserver \"b.example.org\n", 2, "unterminated quoted string (column 8)");
}

static void test_continuation_lines(void **state) {
        struct config *c = parse_ok("server a.example.org \\\n"
                                    "       iburst \\\n"
                                    "       minpoll 5\n"
                                    "restrict default kod \\\r\n"
                                    "         nomodify\r\n"
                                    "server b.example.org\n");
        assert_true(server(c, "a.example.org")->iburst);
        assert_int_equal(server(c, "a.example.org")->minpoll, 5);
        assert_origin(&server(c, "a.example.org")->origin, FILE_NAME, 1);
        assert_origin(&server(c, "b.example.org")->origin, FILE_NAME, 6);
        assert_int_equal(c->restricts[0].rule.flags, RESTRICT_KOD | RESTRICT_NOMODIFY);
        assert_origin(&c->restricts[0].origin, FILE_NAME, 4);
        /* A backslash in a comment continues nothing. */
        c = parse_ok("server a.example.org # \\\nserver b.example.org\n");
        assert_int_equal(c->n_servers, 2);

        /* A directive's error names the line it starts on, a malformed word's its own line. */
        assert_error("\nserver a.example.org \\\n bogus\n", 2, "unknown server option");
        assert_error("server a.example.org \\\n \"iburst\n", 2, "unterminated quoted string (column 2)");
        assert_error("server a.example.org \\", 1, "the last line ends in a backslash, with no line to continue "
                                                    "(column 22)");
}

static void test_error_columns(void **state) {
        static const char nul[] = "server a.example.org\nserver b.exa\0mple.org\n";
        assert_error_len(nul, sizeof(nul) - 1, 2, "NUL byte in line (column 13)");
        assert_error("server a.example.org\x01\n", 1, "control character 0x01 (column 21)");
        assert_error("\n\ndriftfile /var/lib/\x7f", 3, "control character 0x7f (column 20)");
        /* In a comment, it is the comment's. */
        parse_ok("server a.example.org # \x01\n");
        /* VT and FF are blanks. */
        struct config *c = parse_ok("server\va.example.org\fiburst\n");
        assert_true(server(c, "a.example.org")->iburst);

        /* 1023 characters and CRLF: the CR is the line's end, not one character too many. */
        char text[CONFIG_MAX_LINE + 8];
        memset(text, ' ', CONFIG_MAX_LINE - 1);
        memcpy(text, "server a.example.org", 20);
        strcpy(text + CONFIG_MAX_LINE - 1, "\r\n");
        c = parse_ok(text);
        assert_int_equal(c->n_servers, 1);
        strcpy(text + CONFIG_MAX_LINE - 1, " \r\n");
        assert_error(text, 1, "line longer than 1023 characters (column 1024)");
}

/* ---- poll limits ---- */

static void assert_poll_range(const char *spec, int8_t min, int8_t max) {
        struct config_server s;
        int8_t lo, hi;
        assert_int_equal(config_parse_server_spec(spec, &s, NULL), 0);
        config_server_poll_range(&s, &lo, &hi);
        assert_int_equal(lo, min);
        assert_int_equal(hi, max);
}

/* As in ntpd, the bound that is not given keeps its default. */
static void test_server_poll_range(void **state) {
        assert_poll_range("server 192.0.2.1", 0, 0);
        assert_poll_range("server 192.0.2.1 minpoll 4", 4, POLL_DEFAULT_MAX);
        assert_poll_range("server 192.0.2.1 minpoll 12", 12, 12);
        assert_poll_range("server 192.0.2.1 maxpoll 8", POLL_DEFAULT_MIN, 8);
        assert_poll_range("server 192.0.2.1 maxpoll 4", 4, 4);
        assert_poll_range("server 192.0.2.1 minpoll 5 maxpoll 7", 5, 7);
}

/* What the timesync1 object reports as PollIntervalMin/MaxUSec: what the sources really use. */
static void test_poll_limits(void **state) {
        struct config c = { .n_servers = 2 };
        int8_t lo, hi;
        assert_int_equal(config_parse_server_spec("server 192.0.2.1 minpoll 4", &c.servers[0], NULL), 0);
        assert_int_equal(config_parse_server_spec("server 192.0.2.2 maxpoll 12", &c.servers[1], NULL), 0);
        config_poll_limits(&c, &lo, &hi);
        assert_int_equal(lo, 4);
        assert_int_equal(hi, 12);
        c.n_servers = 0;
        config_poll_limits(&c, &lo, &hi);
        assert_int_equal(lo, POLL_DEFAULT_MIN);
        assert_int_equal(hi, POLL_DEFAULT_MAX);
}

/* ---- the D-Bus server spec ---- */

static struct config_server spec_ok(const char *spec) {
        struct config_server s;
        const char *error = NULL;
        memset(&s, 0x77, sizeof(s));
        if (config_parse_server_spec(spec, &s, &error) != 0) {
                print_error("spec \"%s\" refused: %s\n", spec, error ? error : "(no text)");
                fail();
        }
        return s;
}

static void assert_spec_refused(const char *spec, const char *what) {
        struct config_server s, before;
        const char *error = NULL;
        memset(&s, 0x77, sizeof(s));
        before = s;
        int r = config_parse_server_spec(spec, &s, &error);
        if (r != -EINVAL) {
                print_error("spec \"%.80s\" not refused: %d\n", spec ? spec : "(null)", r);
                fail();
        }
        assert_non_null(error);
        if (!strstr(error, what)) {
                print_error("spec \"%.80s\": error \"%s\" does not say \"%s\"\n", spec ? spec : "(null)", error, what);
                fail();
        }
        assert_memory_equal(&s, &before, sizeof(s));
}

static void test_spec_bare_host(void **state) {
        struct config_server s = spec_ok("ntp.example.org");
        assert_string_equal(s.host, "ntp.example.org");
        assert_false(s.pool);
        assert_true(s.iburst);
        assert_false(s.prefer || s.noselect);
        assert_int_equal(s.minpoll, 0);
        assert_int_equal(s.maxpoll, 0);
        /* Surrounding whitespace is not part of the host. */
        s = spec_ok("  192.0.2.1\t");
        assert_string_equal(s.host, "192.0.2.1");
        assert_true(s.iburst);
        /* A bare host takes no options. */
        assert_spec_refused("ntp.example.org iburst", "a spec is");
}

static void test_spec_server_and_pool(void **state) {
        struct config_server s = spec_ok("server ntp.example.org prefer minpoll 4 maxpoll 9");
        assert_string_equal(s.host, "ntp.example.org");
        assert_false(s.pool);
        assert_false(s.iburst); /* only a bare host implies iburst */
        assert_true(s.prefer);
        assert_int_equal(s.minpoll, 4);
        assert_int_equal(s.maxpoll, 9);

        s = spec_ok("server ntp.example.org iburst noselect");
        assert_true(s.iburst);
        assert_true(s.noselect);

        s = spec_ok("pool pool.example.org");
        assert_true(s.pool);
        assert_false(s.iburst);
        assert_int_equal(s.maxsources, CONFIG_POOL_DEFAULT_SOURCES);
        s = spec_ok("pool pool.example.org iburst maxsources 2");
        assert_true(s.iburst);
        assert_int_equal(s.maxsources, 2);

        s = spec_ok("peer 192.0.2.1");
        assert_false(s.pool);

        assert_spec_refused("server", "no host");
        assert_spec_refused("pool", "no host");
        assert_spec_refused("server ntp.example.org key 1", "symmetric keys");
        assert_spec_refused("server ntp.example.org maxsources 2", "pool only");
        assert_spec_refused("server ntp.example.org minpoll 1", "minpoll");
        assert_spec_refused("server ntp.example.org minpoll 9 maxpoll 5", "larger");
        assert_spec_refused("server ntp.example.org bogus", "unknown server option");
        assert_spec_refused("server ntp.example.org # comment", "unknown server option");
        assert_spec_refused("server a.example.org b.example.org", "unknown server option");
}

static void test_spec_words(void **state) {
        struct config_server s = spec_ok("pool\vpool.example.org\f");
        assert_true(s.pool);
        assert_string_equal(s.host, "pool.example.org");
        /* A spec is one value, not a file's line: no quotes, no continuation, no second line. */
        assert_spec_refused("server \"ntp.example.org\" iburst", "not a valid host");
        assert_spec_refused("server ntp.example.org \\", "unknown server option");
        assert_spec_refused("server ntp.example.org\niburst", "not a valid host");
        assert_spec_refused("server ntp.example.org\x01", "not a valid host");
}

static void test_spec_invalid_hosts(void **state) {
        char host[400];

        assert_spec_refused(NULL, "missing");
        assert_spec_refused("", "empty");
        assert_spec_refused("   ", "empty");
        assert_spec_refused("-x", "not a valid host");
        assert_spec_refused("server -x", "not a valid host");
        assert_spec_refused("a..b", "not a valid host");
        assert_spec_refused(".example.org", "not a valid host");
        assert_spec_refused("bad host", "a spec is");
        assert_spec_refused("ho$t", "not a valid host");
        assert_spec_refused("pool ho$t", "not a valid host");
        assert_spec_refused("ntp.example.org;rm", "not a valid host");
        assert_spec_refused("[2001:db8::1]", "not a valid host");
        assert_spec_refused("h\xc3\xa9.example.org", "not a valid host");
        assert_spec_refused("ntp/example", "not a valid host");

        /* 253 characters are a host; 254 and more are not. */
        memset(host, 'a', sizeof(host));
        for (size_t i = 60; i < sizeof(host); i += 61)
                host[i] = '.';
        host[CONFIG_HOST_MAX - 1] = '\0';
        struct config_server s = spec_ok(host);
        assert_int_equal(strlen(s.host), CONFIG_HOST_MAX - 1);
        assert_true(config_host_is_valid(host));
        host[CONFIG_HOST_MAX - 1] = 'a';
        host[CONFIG_HOST_MAX] = '\0';
        assert_false(config_host_is_valid(host));
        assert_spec_refused(host, "not a valid host");
        host[sizeof(host) - 1] = '\0';
        assert_spec_refused(host, "not a valid host");

        /* Longer than a line. */
        char *spec = malloc(4096);
        assert_non_null(spec);
        memset(spec, 'a', 4095);
        spec[4095] = '\0';
        assert_spec_refused(spec, "too long");
        free(spec);

        assert_false(config_host_is_valid(NULL));
        assert_false(config_host_is_valid(""));
}

static void test_spec_addresses(void **state) {
        static const char *const hosts[] = {
                "192.0.2.1", "2001:db8::1", "::1", "fe80::1%eth0", "fe80::abcd:1%enp0s31f6",
                "ntp.example.org.", "time_server.example", "0.pool.ntp.org",
        };
        for (size_t i = 0; i < ELEMENTSOF(hosts); i++) {
                char spec[128];
                struct config_server s = spec_ok(hosts[i]);
                assert_string_equal(s.host, hosts[i]);
                snprintf(spec, sizeof(spec), "server %s iburst", hosts[i]);
                s = spec_ok(spec);
                assert_string_equal(s.host, hosts[i]);
                assert_true(config_host_is_valid(hosts[i]));
        }
}

static void test_spec_error_text_is_optional(void **state) {
        struct config_server s;
        assert_int_equal(config_parse_server_spec("ho$t", &s, NULL), -EINVAL);
        assert_int_equal(config_parse_server_spec("ntp.example.org", &s, NULL), 0);
        assert_string_equal(s.host, "ntp.example.org");
}

static void assert_round_trip(const char *spec, const char *canonical) {
        char text[CONFIG_MAX_LINE];
        struct config_server s = spec_ok(spec);
        config_server_format(&s, text, sizeof(text));
        if (canonical && strcmp(text, canonical) != 0) {
                print_error("\"%s\" formats as \"%s\", expected \"%s\"\n", spec, text, canonical);
                fail();
        }
        struct config_server again = spec_ok(text);
        assert_string_equal(again.host, s.host);
        assert_int_equal(again.pool, s.pool);
        assert_int_equal(again.iburst, s.iburst);
        assert_int_equal(again.prefer, s.prefer);
        assert_int_equal(again.noselect, s.noselect);
        assert_int_equal(again.xleave, s.xleave);
        assert_int_equal(again.minpoll, s.minpoll);
        assert_int_equal(again.maxpoll, s.maxpoll);
        assert_int_equal(again.maxsources, s.maxsources);
}

static void test_server_format_round_trip(void **state) {
        assert_round_trip("ntp.example.org", "server ntp.example.org iburst");
        assert_round_trip("server ntp.example.org", "server ntp.example.org");
        assert_round_trip("server ntp.example.org maxpoll 10 noselect minpoll 4 prefer iburst",
                          "server ntp.example.org iburst prefer noselect minpoll 4 maxpoll 10");
        assert_round_trip("server ntp.example.org xleave iburst", "server ntp.example.org iburst xleave");
        assert_round_trip("pool pool.example.org xleave", "pool pool.example.org xleave");
        assert_round_trip("pool pool.example.org", "pool pool.example.org");
        assert_round_trip("pool pool.example.org maxsources 4", "pool pool.example.org");
        assert_round_trip("pool pool.example.org iburst maxsources 16", "pool pool.example.org iburst maxsources 16");
        assert_round_trip("server fe80::1%eth0 minpoll 3 maxpoll 17", "server fe80::1%eth0 minpoll 3 maxpoll 17");
        assert_round_trip("server 192.0.2.1 maxpoll 6", "server 192.0.2.1 maxpoll 6");
        assert_round_trip("peer 192.0.2.1 prefer", "server 192.0.2.1 prefer");

        /* Every server a config file can produce. */
        struct config *c = parse_ok("server a.example.org iburst prefer noselect minpoll 5 maxpoll 12\n"
                                    "pool b.example.org iburst maxsources 9\n"
                                    "peer c.example.org burst version 4\n");
        for (size_t i = 0; i < c->n_servers; i++) {
                char text[CONFIG_MAX_LINE];
                config_server_format(&c->servers[i], text, sizeof(text));
                struct config_server again = spec_ok(text);
                assert_string_equal(again.host, c->servers[i].host);
                assert_int_equal(again.pool, c->servers[i].pool);
                assert_int_equal(again.iburst, c->servers[i].iburst);
                assert_int_equal(again.prefer, c->servers[i].prefer);
                assert_int_equal(again.noselect, c->servers[i].noselect);
                assert_int_equal(again.minpoll, c->servers[i].minpoll);
                assert_int_equal(again.maxpoll, c->servers[i].maxpoll);
                assert_int_equal(again.maxsources, c->servers[i].maxsources);
        }
}

static void test_server_format_small_buffers(void **state) {
        struct config_server s = spec_ok("pool pool.example.org iburst prefer noselect minpoll 4 maxpoll 10 maxsources 7");
        char full[CONFIG_MAX_LINE];
        config_server_format(&s, full, sizeof(full));
        assert_string_equal(full, "pool pool.example.org iburst prefer noselect minpoll 4 maxpoll 10 maxsources 7");

        for (size_t size = 1; size <= strlen(full) + 1; size++) {
                /* Exactly size bytes on the heap: writing past them is an ASan finding. */
                char *buf = malloc(size);
                assert_non_null(buf);
                config_server_format(&s, buf, size);
                assert_non_null(memchr(buf, '\0', size));
                assert_true(strncmp(full, buf, strlen(buf)) == 0);
                free(buf);
        }
}

/* ---- dump ---- */

#define DUMP_MAX 512

static struct {
        char lines[DUMP_MAX][CONFIG_MESSAGE_MAX + CONFIG_FILE_MAX + 64];
        size_t n;
} dump;

static void collect(void *userdata, const char *line) {
        assert_ptr_equal(userdata, &dump);
        assert_true(dump.n < DUMP_MAX);
        assert_true(strlen(line) < sizeof(dump.lines[0]));
        strcpy(dump.lines[dump.n++], line);
}

static void dump_config(const struct config *c) {
        dump.n = 0;
        config_dump(c, collect, &dump);
}

/* A dumped line is "TEXT<spaces> # ORIGIN". */
static void assert_dumped(const char *text, const char *origin) {
        for (size_t i = 0; i < dump.n; i++) {
                const char *line = dump.lines[i];
                const char *hash = strrchr(line, '#');
                if (!hash || hash == line || hash[-1] != ' ' || hash[1] != ' ')
                        continue;
                size_t len = (size_t) (hash - line);
                while (len > 0 && line[len - 1] == ' ')
                        len--;
                if (strlen(text) == len && strncmp(line, text, len) == 0 && strcmp(hash + 2, origin) == 0)
                        return;
        }
        print_error("no dumped line \"%s  # %s\" among %zu:\n", text, origin, dump.n);
        for (size_t i = 0; i < dump.n; i++)
                print_error("  %s\n", dump.lines[i]);
        fail();
}

static void test_dump_defaults(void **state) {
        struct config c;
        config_init(&c);
        dump_config(&c);
        assert_dumped("tinker step 0.128", "default");
        assert_dumped("tinker panic 1000", "default");
        assert_dumped("tinker stepout 300", "default");
        assert_dumped("tos minsane 1", "default");
        assert_dumped("tos mindist 0.001", "default");
        assert_dumped("tos maxdist 1.5", "default");
        assert_dumped("serve off", "default; on when systemd passes sockets (ntpsyncd.socket)");
        assert_dumped("timesync1 on", "default");
        assert_dumped("firewall client on", "default");
        assert_dumped("firewall server off", "default");
        assert_dumped("nts disable", "default");
        assert_int_equal(dump.n, 12);
}

static const char every_setting[] =
        "# every setting\n"
        "server a.example.org iburst prefer minpoll 4 maxpoll 8\n"
        "pool pool.example.org maxsources 6\n"
        "restrict default kod nomodify\n"
        "restrict 192.0.2.0 mask 255.255.255.0 noquery\n"
        "restrict -6 default ignore\n"
        "driftfile /var/lib/ntpsyncd/drift\n"
        "tinker step 0.5 panic 600\n"
        "tinker stepout 900\n"
        "tos minsane 2 mindist 0.005 maxdist 3\n"
        "serve on\n"
        "local stratum 10\n"
        "timesync1 off\n"
        "firewall client on server off\n"
        "nts enable\n"
        "nts cert /etc/ntpsync/cert.pem\n"
        "nts key /etc/ntpsync/key.pem\n"
        "server nts.example.org nts ca /etc/ntpsync/ca.pem\n"
        "serve threads 4\n";

static void test_dump_every_setting_with_origin(void **state) {
        struct config *c = parse_ok(every_setting);
        dump_config(c);
        assert_dumped("server a.example.org iburst prefer minpoll 4 maxpoll 8", FILE_NAME ":2");
        assert_dumped("pool pool.example.org maxsources 6", FILE_NAME ":3");
        assert_dumped("restrict default nomodify kod", FILE_NAME ":4");
        assert_dumped("restrict 192.0.2.0/24 noquery", FILE_NAME ":5");
        assert_dumped("restrict -6 default ignore", FILE_NAME ":6");
        assert_dumped("driftfile /var/lib/ntpsyncd/drift", FILE_NAME ":7");
        assert_dumped("tinker step 0.5", FILE_NAME ":8");
        assert_dumped("tinker panic 600", FILE_NAME ":8");
        assert_dumped("tinker stepout 900", FILE_NAME ":9");
        assert_dumped("tos minsane 2", FILE_NAME ":10");
        assert_dumped("tos mindist 0.005", FILE_NAME ":10");
        assert_dumped("tos maxdist 3", FILE_NAME ":10");
        assert_dumped("serve on", FILE_NAME ":11");
        assert_dumped("local stratum 10", FILE_NAME ":12");
        assert_dumped("timesync1 off", FILE_NAME ":13");
        assert_dumped("firewall client on", FILE_NAME ":14");
        assert_dumped("firewall server off", FILE_NAME ":14");
        assert_dumped("nts enable", FILE_NAME ":15");
        assert_dumped("nts cert /etc/ntpsync/cert.pem", FILE_NAME ":16");
        assert_dumped("nts key /etc/ntpsync/key.pem", FILE_NAME ":17");
        assert_dumped("server nts.example.org nts ca /etc/ntpsync/ca.pem", FILE_NAME ":18");
        assert_dumped("serve threads 4", FILE_NAME ":19");
        assert_int_equal(dump.n, 22);

        /* Settings from two files keep their own origins; the untouched ones say default. */
        config_init(&cfg);
        const char *a = "server a.example.org\ntinker step 0.2\n", *b = "\n\ntinker panic 50\n";
        assert_int_equal(parse_into(&cfg, "/etc/ntpsyncd.conf", a, strlen(a)), 0);
        assert_int_equal(parse_into(&cfg, "/etc/ntpsyncd.conf.d/10-b.conf", b, strlen(b)), 0);
        dump_config(&cfg);
        assert_dumped("server a.example.org", "/etc/ntpsyncd.conf:1");
        assert_dumped("tinker step 0.2", "/etc/ntpsyncd.conf:2");
        assert_dumped("tinker panic 50", "/etc/ntpsyncd.conf.d/10-b.conf:3");
        assert_dumped("tinker stepout 300", "default");
        assert_dumped("serve off", "default; on when systemd passes sockets (ntpsyncd.socket)");
}

static void test_dump_parses_back(void **state) {
        struct config *c = parse_ok(every_setting);
        struct config original = *c;
        dump_config(&original);

        size_t size = dump.n * sizeof(dump.lines[0]) + 1;
        char *text = calloc(1, size);
        assert_non_null(text);
        for (size_t i = 0; i < dump.n; i++) {
                strcat(text, dump.lines[i]);
                strcat(text, "\n");
        }
        struct config *again = parse_ok(text);
        assert_int_equal(again->n_servers, original.n_servers);
        for (size_t i = 0; i < original.n_servers; i++) {
                assert_string_equal(again->servers[i].host, original.servers[i].host);
                assert_int_equal(again->servers[i].pool, original.servers[i].pool);
                assert_int_equal(again->servers[i].iburst, original.servers[i].iburst);
                assert_int_equal(again->servers[i].prefer, original.servers[i].prefer);
                assert_int_equal(again->servers[i].minpoll, original.servers[i].minpoll);
                assert_int_equal(again->servers[i].maxpoll, original.servers[i].maxpoll);
                assert_int_equal(again->servers[i].maxsources, original.servers[i].maxsources);
        }
        assert_int_equal(again->n_restricts, original.n_restricts);
        for (size_t i = 0; i < original.n_restricts; i++) {
                const struct restrict_rule *x = &again->restricts[i].rule, *y = &original.restricts[i].rule;
                assert_int_equal(x->family, y->family);
                assert_int_equal(x->is_default, y->is_default);
                assert_int_equal(x->prefix, y->prefix);
                assert_int_equal(x->flags, y->flags);
                assert_memory_equal(x->address, y->address, sizeof(x->address));
        }
        assert_string_equal(again->driftfile, original.driftfile);
        assert_double_near(again->step_threshold.value, original.step_threshold.value, 0);
        assert_double_near(again->panic_threshold.value, original.panic_threshold.value, 0);
        assert_double_near(again->stepout.value, original.stepout.value, 0);
        assert_int_equal(again->min_sources.value, original.min_sources.value);
        assert_int_equal(again->serve.value, original.serve.value);
        assert_int_equal(again->local_stratum.value, original.local_stratum.value);
        assert_int_equal(again->timesync1.value, original.timesync1.value);
        free(text);
}

/* ---- clear, firewall ---- */

static void test_clear(void **state) {
        struct config *c = parse_ok("server a.example.org\n"
                                    "pool p.example.org\n"
                                    "restrict default kod\n"
                                    "restrict 192.0.2.0/24\n");
        assert_false(c->servers_replaced);
        assert_false(c->restricts_replaced);

        c = parse_ok("server a.example.org\n"
                     "pool p.example.org\n"
                     "restrict default kod\n"
                     "clear servers\n"
                     "server b.example.org\n"
                     "restrict 192.0.2.0/24\n");
        assert_true(c->servers_replaced);
        assert_false(c->restricts_replaced);
        assert_int_equal(c->n_servers, 1);
        assert_string_equal(c->servers[0].host, "b.example.org");
        assert_origin(&c->servers[0].origin, FILE_NAME, 5);
        /* The other list is untouched. */
        assert_int_equal(c->n_restricts, 2);

        c = parse_ok("server a.example.org\n"
                     "restrict default kod\n"
                     "restrict 192.0.2.0/24\n"
                     "clear restrict\n"
                     "restrict ::1\n");
        assert_false(c->servers_replaced);
        assert_true(c->restricts_replaced);
        assert_int_equal(c->n_servers, 1);
        assert_int_equal(c->n_restricts, 1);
        assert_int_equal(c->restricts[0].rule.family, AF_INET6);
        assert_origin(&c->restricts[0].origin, FILE_NAME, 5);

        /* Both, at the end: empty lists, and both marked. A server cleared away can come back
         * without being a duplicate. */
        c = parse_ok("server a.example.org\nrestrict default kod\nclear servers\nclear restrict\n");
        assert_int_equal(c->n_servers, 0);
        assert_int_equal(c->n_restricts, 0);
        assert_true(c->servers_replaced && c->restricts_replaced);
        c = parse_ok("server a.example.org\nclear servers\nserver a.example.org prefer\nclear servers\nclear servers\n"
                     "server a.example.org\n");
        assert_int_equal(c->n_servers, 1);
        assert_false(c->servers[0].prefer);
        assert_origin(&c->servers[0].origin, FILE_NAME, 6);

        /* Across files: what the earlier files said is gone. */
        config_init(&cfg);
        const char *etc = "server a.example.org\nserver b.example.org\nrestrict default noquery\n";
        const char *settings = "clear servers\nserver c.example.org iburst\n";
        assert_int_equal(parse_into(&cfg, "/etc/ntpsyncd.conf", etc, strlen(etc)), 0);
        assert_int_equal(parse_into(&cfg, "/var/lib/ntpsyncd/settings.conf", settings, strlen(settings)), 0);
        assert_int_equal(cfg.n_servers, 1);
        assert_string_equal(cfg.servers[0].host, "c.example.org");
        assert_origin(&cfg.servers[0].origin, "/var/lib/ntpsyncd/settings.conf", 2);
        assert_int_equal(cfg.n_restricts, 1);
        assert_origin(&cfg.restricts[0].origin, "/etc/ntpsyncd.conf", 3);

        assert_error("clear\n", 1, "clear takes servers or restrict");
        assert_error("server a.example.org\n\nclear everything\n", 3, "clear takes servers or restrict");
        assert_error("clear server\n", 1, "clear takes servers or restrict");
        assert_error("clear restricts\n", 1, "clear takes servers or restrict");
        assert_error("clear servers now\n", 1, "clear takes servers or restrict");
        assert_error("clear servers restrict\n", 1, "clear takes servers or restrict");
        assert_error("clear SERVERS\n", 1, "clear takes servers or restrict");
}

static void test_hwtimestamp(void **state) {
        (void) state;
        struct config *c = parse_ok("hwtimestamp eth0\nhwtimestamp * rxfilter all minpoll -2\n");
        assert_int_equal(c->n_hwtimestamps, 2);
        assert_string_equal(c->hwtimestamps[0].interface, "eth0");
        assert_int_equal(c->hwtimestamps[0].rx_filter, CONFIG_RX_FILTER_ANY);
        assert_int_equal(c->hwtimestamps[0].minpoll, 0);
        assert_origin(&c->hwtimestamps[0].origin, FILE_NAME, 1);
        assert_string_equal(c->hwtimestamps[1].interface, "*");
        assert_int_equal(c->hwtimestamps[1].rx_filter, CONFIG_RX_FILTER_ALL);
        assert_int_equal(c->hwtimestamps[1].minpoll, -2);

        /* A later line for the same interface replaces the earlier one. */
        c = parse_ok("hwtimestamp eth0 rxfilter ntp\nhwtimestamp enp3s0f1np1\nhwtimestamp eth0 rxfilter none\n");
        assert_int_equal(c->n_hwtimestamps, 2);
        assert_int_equal(c->hwtimestamps[0].rx_filter, CONFIG_RX_FILTER_NONE);
        assert_origin(&c->hwtimestamps[0].origin, FILE_NAME, 3);

        dump_config(c);
        assert_dumped("hwtimestamp eth0 rxfilter none minpoll 0", FILE_NAME ":3");
        assert_dumped("hwtimestamp enp3s0f1np1 rxfilter any minpoll 0", FILE_NAME ":2");

        assert_error("hwtimestamp\n", 1, "hwtimestamp takes an interface");
        assert_error("hwtimestamp eth0 rxfilter\n", 1, "hwtimestamp takes an interface");
        assert_error("hwtimestamp eth0 rxfilter ptp\n", 1, "is not rxfilter");
        assert_error("hwtimestamp eth0 minpoll 11\n", 1, "is not rxfilter");
        assert_error("hwtimestamp eth0 maxsamples 4\n", 1, "is not rxfilter");
        assert_error("hwtimestamp abcdefghijklmnop\n", 1, "is not an interface name");
        assert_error("hwtimestamp eth0:1\n", 1, "is not an interface name");
        assert_error("hwtimestamp ../x\n", 1, "is not an interface name");
        assert_error("hwtimestamp ..\n", 1, "is not an interface name");
}

static void test_hwtimestamp_limit(void **state) {
        char text[CONFIG_MAX_HWTIMESTAMP * 32 + 64];
        size_t used = 0;
        (void) state;
        for (int i = 0; i <= CONFIG_MAX_HWTIMESTAMP; i++)
                used += (size_t) snprintf(text + used, sizeof(text) - used, "hwtimestamp eth%d\n", i);
        assert_error(text, CONFIG_MAX_HWTIMESTAMP + 1, "more than 64 hwtimestamp lines");
}

static void test_firewall(void **state) {
        struct config *c = parse_ok("# firewall\nfirewall client on server off\n");
        assert_true(c->firewall_client.value);
        assert_false(c->firewall_server.value);
        assert_origin(&c->firewall_client.origin, FILE_NAME, 2);
        assert_origin(&c->firewall_server.origin, FILE_NAME, 2);

        /* Either alone: the other keeps its default and its origin. */
        c = parse_ok("firewall client on\n");
        assert_true(c->firewall_client.value);
        assert_origin(&c->firewall_client.origin, FILE_NAME, 1);
        assert_false(c->firewall_server.value);
        assert_origin(&c->firewall_server.origin, "", 0);
        /* Only the server side named: client traffic stays allowed, by default. */
        c = parse_ok("\nfirewall server yes\n");
        assert_true(c->firewall_server.value);
        assert_origin(&c->firewall_server.origin, FILE_NAME, 2);
        assert_true(c->firewall_client.value);
        assert_origin(&c->firewall_client.origin, "", 0);

        /* Any order, the spellings of serve, the later line wins. */
        c = parse_ok("firewall server true client yes\nfirewall client no\n");
        assert_false(c->firewall_client.value);
        assert_true(c->firewall_server.value);
        assert_origin(&c->firewall_client.origin, FILE_NAME, 2);
        assert_origin(&c->firewall_server.origin, FILE_NAME, 1);

        assert_error("firewall\n", 1, "firewall takes \"client on|off\" and/or \"server on|off\"");
        assert_error("firewall on\n", 1, "firewall takes");
        assert_error("firewall client\n", 1, "firewall takes");
        assert_error("\n\nfirewall client maybe\n", 3, "firewall takes");
        assert_error("firewall client on server\n", 1, "firewall takes");
        assert_error("firewall client on server 1\n", 1, "firewall takes");
        assert_error("firewall nat on\n", 1, "firewall takes");
        assert_error("firewall CLIENT on\n", 1, "firewall takes");
        assert_error("firewall client ON\n", 1, "firewall takes");
        assert_error("firewall on client\n", 1, "firewall takes");
}

/* ---- overrides: what D-Bus changed, written for the parser to read back ---- */

static char overrides_text[64 * 1024];

static void assert_same_server(const struct config_server *a, const struct config_server *b) {
        assert_string_equal(a->host, b->host);
        assert_int_equal(a->pool, b->pool);
        assert_int_equal(a->iburst, b->iburst);
        assert_int_equal(a->prefer, b->prefer);
        assert_int_equal(a->noselect, b->noselect);
        assert_int_equal(a->minpoll, b->minpoll);
        assert_int_equal(a->maxpoll, b->maxpoll);
        assert_int_equal(a->maxsources, b->maxsources);
}

static void assert_same_rule(const struct restrict_rule *a, const struct restrict_rule *b) {
        assert_int_equal(a->family, b->family);
        assert_int_equal(a->is_default, b->is_default);
        assert_int_equal(a->prefix, b->prefix);
        assert_int_equal(a->flags, b->flags);
        assert_memory_equal(a->address, b->address, sizeof(a->address));
}

static void assert_same_overrides(const struct config_overrides *a, const struct config_overrides *b) {
        assert_int_equal(a->has_servers, b->has_servers);
        if (a->has_servers) {
                assert_int_equal(a->n_servers, b->n_servers);
                for (size_t i = 0; i < a->n_servers; i++)
                        assert_same_server(&a->servers[i], &b->servers[i]);
        }
        assert_int_equal(a->has_restricts, b->has_restricts);
        if (a->has_restricts) {
                assert_int_equal(a->n_restricts, b->n_restricts);
                for (size_t i = 0; i < a->n_restricts; i++)
                        assert_same_rule(&a->restricts[i], &b->restricts[i]);
        }
        assert_int_equal(a->has_serve, b->has_serve);
        if (a->has_serve)
                assert_int_equal(a->serve, b->serve);
        assert_int_equal(a->has_firewall, b->has_firewall);
        if (a->has_firewall) {
                assert_int_equal(a->firewall_client, b->firewall_client);
                assert_int_equal(a->firewall_server, b->firewall_server);
        }
}

static struct config_overrides *new_overrides(void) {
        struct config_overrides *o = calloc(1, sizeof(*o));
        assert_non_null(o);
        return o;
}

static void add_override_server(struct config_overrides *o, const char *spec) {
        const char *error = NULL;
        assert_true(o->n_servers < CONFIG_MAX_SERVERS);
        if (config_parse_server_spec(spec, &o->servers[o->n_servers], &error) < 0) {
                print_error("spec \"%s\" refused: %s\n", spec, error);
                fail();
        }
        o->n_servers++;
        o->has_servers = true;
}

static void add_override_rule(struct config_overrides *o, const char *text) {
        struct restrict_messages messages;
        assert_true(o->n_restricts < CONFIG_MAX_RESTRICTS);
        if (restrict_rule_parse(text, &o->restricts[o->n_restricts], &messages) < 0) {
                print_error("rule \"%s\" refused: %s\n", text, messages.error);
                fail();
        }
        o->n_restricts++;
        o->has_restricts = true;
}

#define SETTINGS_FILE "/var/lib/ntpsyncd/settings.conf"

/* Formats o, parses the text as the settings file into a fresh configuration, and reads the
 * overrides back: they must be o. Returns the configuration. */
static struct config *round_trip(const struct config_overrides *o) {
        struct config_overrides *again = new_overrides();
        int n = config_overrides_format(o, overrides_text, sizeof(overrides_text));
        assert_true(n >= 0);
        assert_int_equal((size_t) n, strlen(overrides_text));
        config_init(&cfg);
        if (parse_into(&cfg, SETTINGS_FILE, overrides_text, (size_t) n) != 0) {
                print_error("overrides refused: %s\n%s", err.message, overrides_text);
                fail();
        }
        assert_int_equal(cfg.n_warnings, 0);
        config_overrides_from(&cfg, again);
        assert_same_overrides(again, o);
        free(again);
        return &cfg;
}

static void fill_every_part(struct config_overrides *o) {
        add_override_server(o, "server ntp1.example.org iburst prefer minpoll 4 maxpoll 10");
        add_override_server(o, "server 192.0.2.1 noselect");
        add_override_server(o, "server 2001:db8::123 maxpoll 6");
        add_override_server(o, "pool pool.example.org iburst maxsources 6");
        add_override_server(o, "pool 2.pool.example.org");
        add_override_server(o, "ntp2.example.org"); /* bare: a server with iburst */
        add_override_rule(o, "default kod limited nomodify notrap nopeer noquery");
        add_override_rule(o, "-4 default kod noquery");
        add_override_rule(o, "-6 default ignore");
        add_override_rule(o, "127.0.0.1");
        add_override_rule(o, "::1");
        add_override_rule(o, "192.0.2.0 mask 255.255.255.0 nomodify");
        add_override_rule(o, "2001:db8::/32 ntpport version noepeer");
        o->has_serve = true;
        o->serve = true;
        o->has_firewall = true;
        o->firewall_client = true;
        o->firewall_server = false;
}

static void test_overrides_round_trip(void **state) {
        struct config_overrides *o = new_overrides();

        /* Nothing: empty text, nothing read back. */
        assert_int_equal(config_overrides_format(o, overrides_text, sizeof(overrides_text)), 0);
        assert_string_equal(overrides_text, "");
        round_trip(o);

        /* Every part. */
        fill_every_part(o);
        struct config *c = round_trip(o);
        assert_int_equal(c->n_servers, 6);
        assert_int_equal(c->n_restricts, 7);
        assert_true(c->servers[5].iburst);
        assert_true(c->restricts[0].rule.is_default);
        assert_int_equal(c->restricts[0].rule.family, AF_UNSPEC);
        assert_int_equal(c->restricts[1].rule.family, AF_INET);
        assert_true(c->restricts[1].rule.is_default);
        assert_int_equal(c->restricts[2].rule.family, AF_INET6);
        assert_true(c->restricts[2].rule.is_default);
        assert_true(c->serve.value);
        assert_true(c->firewall_client.value);
        assert_false(c->firewall_server.value);
        /* Each setting says it came from the settings file. */
        for (size_t i = 0; i < c->n_servers; i++)
                assert_string_equal(c->servers[i].origin.file, SETTINGS_FILE);
        for (size_t i = 0; i < c->n_restricts; i++)
                assert_string_equal(c->restricts[i].origin.file, SETTINGS_FILE);
        assert_string_equal(c->serve.origin.file, SETTINGS_FILE);
        assert_string_equal(c->firewall_client.origin.file, SETTINGS_FILE);
        assert_string_equal(c->firewall_server.origin.file, SETTINGS_FILE);

        /* Each part alone; "off" is a value, not an absence. */
        struct config_overrides *part = new_overrides();
        part->has_servers = true;
        memcpy(part->servers, o->servers, sizeof(o->servers));
        part->n_servers = o->n_servers;
        round_trip(part);
        memset(part, 0, sizeof(*part));
        part->has_restricts = true;
        memcpy(part->restricts, o->restricts, sizeof(o->restricts));
        part->n_restricts = o->n_restricts;
        round_trip(part);
        memset(part, 0, sizeof(*part));
        part->has_serve = true;
        part->serve = false;
        c = round_trip(part);
        assert_string_equal(c->serve.origin.file, SETTINGS_FILE);
        part->serve = true;
        round_trip(part);
        for (int fw = 0; fw < 4; fw++) {
                memset(part, 0, sizeof(*part));
                part->has_firewall = true;
                part->firewall_client = fw & 1;
                part->firewall_server = fw & 2;
                round_trip(part);
        }

        /* Empty lists are a part too: "no servers at all" is not "what the files say". */
        memset(part, 0, sizeof(*part));
        part->has_servers = true;
        part->has_restricts = true;
        c = round_trip(part);
        assert_true(c->servers_replaced);
        assert_true(c->restricts_replaced);
        assert_int_equal(c->n_servers, 0);
        assert_int_equal(c->n_restricts, 0);

        /* Full lists. */
        memset(part, 0, sizeof(*part));
        for (int i = 0; i < CONFIG_MAX_SERVERS; i++) {
                char spec[128];
                snprintf(spec, sizeof(spec), "%s s%d.example.org iburst minpoll 6 maxpoll 10",
                         i % 2 ? "server" : "pool", i);
                add_override_server(part, spec);
        }
        for (int i = 0; i < CONFIG_MAX_RESTRICTS; i++) {
                char rule[128];
                snprintf(rule, sizeof(rule), "2001:db8:%x::/48 kod limited nomodify notrap nopeer noquery", i);
                add_override_rule(part, rule);
        }
        round_trip(part);

        free(part);
        free(o);
}

static void test_overrides_buffer_too_small(void **state) {
        struct config_overrides *o = new_overrides();
        fill_every_part(o);
        int n = config_overrides_format(o, overrides_text, sizeof(overrides_text));
        assert_true(n > 0);
        char *full = strdup(overrides_text);
        assert_non_null(full);

        char *buf = malloc((size_t) n + 16);
        assert_non_null(buf);
        for (size_t size = 0; size <= (size_t) n; size++) {
                memset(buf, 'X', (size_t) n + 16);
                assert_int_equal(config_overrides_format(o, buf, size), -ENOBUFS);
                /* Nothing past the buffer. */
                for (size_t i = size; i < (size_t) n + 16; i++)
                        assert_int_equal(buf[i], 'X');
        }
        /* Exactly enough (the text and its NUL). */
        memset(buf, 'X', (size_t) n + 16);
        assert_int_equal(config_overrides_format(o, buf, (size_t) n + 1), n);
        assert_string_equal(buf, full);
        free(buf);
        free(full);
        free(o);
}

static void test_overrides_after_files(void **state) {
        /* What the daemon does: the files in /etc, then its own settings file. */
        const char *etc = "server a.example.org iburst\n"
                          "pool pool.example.org\n"
                          "restrict default kod limited nomodify notrap nopeer noquery\n"
                          "restrict 127.0.0.1\n"
                          "serve on\n"
                          "driftfile /var/lib/ntpsyncd/drift\n"
                          "firewall client off server on\n";
        struct config_overrides *o = new_overrides();
        add_override_server(o, "server b.example.org prefer");
        add_override_server(o, "pool a.example.org");
        add_override_rule(o, "-6 default ignore");
        add_override_rule(o, "192.0.2.0/24 noserve");
        o->has_firewall = true;
        o->firewall_client = true;
        o->firewall_server = false;
        int n = config_overrides_format(o, overrides_text, sizeof(overrides_text));
        assert_true(n > 0);

        config_init(&cfg);
        assert_int_equal(parse_into(&cfg, "/etc/ntpsyncd.conf", etc, strlen(etc)), 0);
        assert_int_equal(parse_into(&cfg, SETTINGS_FILE, overrides_text, (size_t) n), 0);
        assert_int_equal(cfg.n_warnings, 0);

        /* The lists are the settings file's, in its order, with its lines. */
        assert_int_equal(cfg.n_servers, 2);
        assert_string_equal(cfg.servers[0].host, "b.example.org");
        assert_true(cfg.servers[0].prefer);
        assert_origin(&cfg.servers[0].origin, SETTINGS_FILE, 2);
        assert_string_equal(cfg.servers[1].host, "a.example.org");
        assert_true(cfg.servers[1].pool);
        assert_origin(&cfg.servers[1].origin, SETTINGS_FILE, 3);
        assert_int_equal(cfg.n_restricts, 2);
        assert_true(cfg.restricts[0].rule.is_default);
        assert_int_equal(cfg.restricts[0].rule.family, AF_INET6);
        assert_origin(&cfg.restricts[0].origin, SETTINGS_FILE, 5);
        assert_int_equal(cfg.restricts[1].rule.flags, RESTRICT_NOSERVE);
        assert_origin(&cfg.restricts[1].origin, SETTINGS_FILE, 6);
        /* The firewall too; what the overrides leave alone keeps its file. */
        assert_true(cfg.firewall_client.value);
        assert_false(cfg.firewall_server.value);
        assert_origin(&cfg.firewall_client.origin, SETTINGS_FILE, 7);
        assert_origin(&cfg.firewall_server.origin, SETTINGS_FILE, 7);
        assert_true(cfg.serve.value);
        assert_origin(&cfg.serve.origin, "/etc/ntpsyncd.conf", 5);
        assert_string_equal(cfg.driftfile, "/var/lib/ntpsyncd/drift");
        assert_origin(&cfg.driftfile_origin, "/etc/ntpsyncd.conf", 6);

        /* The dump says where each came from. */
        dump_config(&cfg);
        assert_dumped("server b.example.org prefer", SETTINGS_FILE ":2");
        assert_dumped("restrict 192.0.2.0/24 noserve", SETTINGS_FILE ":6");
        assert_dumped("serve on", "/etc/ntpsyncd.conf:5");

        /* Overrides with only the firewall leave the lists of /etc alone. */
        memset(o, 0, sizeof(*o));
        o->has_firewall = true;
        n = config_overrides_format(o, overrides_text, sizeof(overrides_text));
        assert_true(n > 0);
        config_init(&cfg);
        assert_int_equal(parse_into(&cfg, "/etc/ntpsyncd.conf", etc, strlen(etc)), 0);
        assert_int_equal(parse_into(&cfg, SETTINGS_FILE, overrides_text, (size_t) n), 0);
        assert_int_equal(cfg.n_servers, 2);
        assert_origin(&cfg.servers[0].origin, "/etc/ntpsyncd.conf", 1);
        assert_int_equal(cfg.n_restricts, 2);
        assert_false(cfg.servers_replaced);
        assert_false(cfg.restricts_replaced);
        assert_false(cfg.firewall_server.value);
        free(o);
}

/* ---- a refused file leaves the caller's configuration usable ---- */

static void test_error_on_a_copy_keeps_the_original(void **state) {
        /* What config_load() does: parse into a copy, keep the original on error. The original
         * can then take another file. */
        struct config *original = malloc(sizeof(*original)), *copy = malloc(sizeof(*copy));
        assert_non_null(original);
        assert_non_null(copy);
        config_init(original);
        const char *good = "server a.example.org\ntinker step 0.3\n";
        assert_int_equal(parse_into(original, "a.conf", good, strlen(good)), 0);

        memcpy(copy, original, sizeof(*copy));
        const char *bad = "server b.example.org\ntinker step 0.9\nrestrict 192.0.2.1\nbogus\n";
        assert_int_equal(parse_into(copy, "b.conf", bad, strlen(bad)), -EINVAL);
        assert_string_equal(err.message, "b.conf:4: unknown directive \"bogus\"");

        const char *next = "server c.example.org\n";
        assert_int_equal(parse_into(original, "c.conf", next, strlen(next)), 0);
        assert_int_equal(original->n_servers, 2);
        assert_string_equal(original->servers[1].host, "c.example.org");
        assert_double_near(original->step_threshold.value, 0.3, 0);
        assert_int_equal(original->n_restricts, 0);
        free(original);
        free(copy);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_server_every_option),
                cmocka_unit_test(test_server_poll_range),
                cmocka_unit_test(test_poll_limits),
                cmocka_unit_test(test_server_option_errors),
                cmocka_unit_test(test_server_nts),
                cmocka_unit_test(test_nts_directive),
                cmocka_unit_test(test_nts_enable_needs_cert_and_key),
                cmocka_unit_test(test_server_options_without_effect),
                cmocka_unit_test(test_pool),
                cmocka_unit_test(test_peer),
                cmocka_unit_test(test_duplicate_server),
                cmocka_unit_test(test_server_limit),
                cmocka_unit_test(test_restrict),
                cmocka_unit_test(test_restrict_limit),
                cmocka_unit_test(test_driftfile),
                cmocka_unit_test(test_tinker),
                cmocka_unit_test(test_tos),
                cmocka_unit_test(test_minsources),
                cmocka_unit_test(test_serve_and_timesync1),
                cmocka_unit_test(test_local_stratum),
                cmocka_unit_test(test_serve_threads),
                cmocka_unit_test(test_ignored_directives),
                cmocka_unit_test(test_warnings_are_bounded),
                cmocka_unit_test(test_comments_and_blank_lines),
                cmocka_unit_test(test_crlf_line_endings),
                cmocka_unit_test(test_crlf_restrict_lines),
                cmocka_unit_test(test_tabs),
                cmocka_unit_test(test_error_line_numbers),
                cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_overlong_line),
                cmocka_unit_test(test_too_many_words),
                cmocka_unit_test(test_quoted_words),
                cmocka_unit_test(test_continuation_lines),
                cmocka_unit_test(test_error_columns),
                cmocka_unit_test(test_spec_bare_host),
                cmocka_unit_test(test_spec_server_and_pool),
                cmocka_unit_test(test_spec_words),
                cmocka_unit_test(test_spec_invalid_hosts),
                cmocka_unit_test(test_spec_addresses),
                cmocka_unit_test(test_spec_error_text_is_optional),
                cmocka_unit_test(test_server_format_round_trip),
                cmocka_unit_test(test_server_format_small_buffers),
                cmocka_unit_test(test_dump_defaults),
                cmocka_unit_test(test_dump_every_setting_with_origin),
                cmocka_unit_test(test_dump_parses_back),
                cmocka_unit_test(test_error_on_a_copy_keeps_the_original),
                cmocka_unit_test(test_clear),
                cmocka_unit_test(test_firewall),
                cmocka_unit_test(test_hwtimestamp),
                cmocka_unit_test(test_hwtimestamp_limit),
                cmocka_unit_test(test_overrides_round_trip),
                cmocka_unit_test(test_overrides_buffer_too_small),
                cmocka_unit_test(test_overrides_after_files),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
