/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the layers of the configuration (settings.c): the files, then what D-Bus
 * persisted, then what D-Bus changed for the runtime, later layers replacing whole parts;
 * a persisted change of a part ends the runtime change of that part; layer 2 saved and read
 * back; a broken layer 2 is ignored, not half-read. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "file-io.h"
#include "settings.h"
#include "unit-test.h"

struct world {
        char dir[64];
        char config_path[128], settings_path[128], timesyncd_path[128], timesyncd_dropins[128];
        struct config_overrides persisted, runtime;
        struct config config;
};

static void write_text(const char *path, const char *text) {
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
}

static int setup(void **state) {
        struct world *w = calloc(1, sizeof(*w));
        assert_non_null(w);
        snprintf(w->dir, sizeof(w->dir), "/tmp/test-settings.XXXXXX");
        assert_non_null(mkdtemp(w->dir));
        snprintf(w->config_path, sizeof(w->config_path), "%s/ntpsyncd.conf", w->dir);
        snprintf(w->settings_path, sizeof(w->settings_path), "%s/settings.conf", w->dir);
        snprintf(w->timesyncd_path, sizeof(w->timesyncd_path), "%s/timesyncd.conf", w->dir);
        snprintf(w->timesyncd_dropins, sizeof(w->timesyncd_dropins), "%s/timesyncd.conf.d", w->dir);
        write_text(w->config_path, "server 192.0.2.1 iburst\n"
                                   "server 192.0.2.2\n"
                                   "restrict default kod limited nomodify notrap nopeer noquery\n"
                                   "serve off\n");
        *state = w;
        return 0;
}

static int teardown(void **state) {
        struct world *w = *state;
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
        assert_int_equal(system(cmd), 0);
        free(w);
        return 0;
}

static void build(struct world *w) {
        struct config_error e;
        if (settings_build(w->config_path, w->timesyncd_path, w->settings_path, &w->persisted, &w->runtime, &w->config,
                           &e) != 0)
                fail_msg("settings_build: %s", e.message);
}

static struct config_server server(const char *spec) {
        struct config_server s;
        assert_int_equal(config_parse_server_spec(spec, &s, NULL), 0);
        return s;
}

static void test_files_alone(void **state) {
        struct world *w = *state;
        build(w);
        assert_int_equal(w->config.n_servers, 2);
        assert_string_equal(w->config.servers[0].host, "192.0.2.1");
        assert_false(w->config.serve.value);
}

/* ---- systemd-timesyncd's servers ---- */

static const struct config_server *find(const struct config *c, const char *host) {
        for (size_t i = 0; i < c->n_servers; i++)
                if (strcmp(c->servers[i].host, host) == 0)
                        return &c->servers[i];
        return NULL;
}

static void write_dropin(struct world *w, const char *name, const char *text) {
        char path[256];
        (void) mkdir(w->timesyncd_dropins, 0755);
        snprintf(path, sizeof(path), "%s/%s", w->timesyncd_dropins, name);
        write_text(path, text);
}

/* NTP= of timesyncd.conf and its drop-ins (Cockpit's dialog writes 50-cockpit.conf) join the
 * files' servers, each with its origin; a host ntpsync's files name stays theirs. */
static void test_timesyncd_servers_join(void **state) {
        struct world *w = *state;
        write_text(w->timesyncd_path, "# as Debian ships it\n[Time]\n#NTP=\nNTP=198.51.100.7 192.0.2.1\n"
                                      "FallbackNTP=198.51.100.99\n");
        write_dropin(w, "50-cockpit.conf", "[Time]\nNTP=ntp1.example.test ntp2.example.test\n");
        build(w);
        assert_int_equal(w->config.n_servers, 5);
        const struct config_server *own = find(&w->config, "192.0.2.1");
        assert_int_equal(own->origin.layer, CONFIG_LAYER_FILES);
        const struct config_server *s = find(&w->config, "198.51.100.7");
        assert_non_null(s);
        assert_true(s->iburst);
        assert_int_equal(s->origin.layer, CONFIG_LAYER_TIMESYNCD);
        assert_string_equal(s->origin.file, w->timesyncd_path);
        assert_int_equal(s->origin.line, 4);
        assert_non_null(find(&w->config, "ntp2.example.test"));
        /* The fallback only when nothing names a server. */
        assert_null(find(&w->config, "198.51.100.99"));
}

/* An empty assignment empties the list; a later drop-in's NTP= adds; a [Time]-less key and a
 * bad name are ignored (the latter with a warning that says where). */
static void test_timesyncd_assignment_rules(void **state) {
        struct world *w = *state;
        write_text(w->timesyncd_path, "[Time]\nNTP=198.51.100.7\n[Other]\nNTP=198.51.100.8\n");
        write_dropin(w, "10-reset.conf", "[Time]\nNTP=\nNTP=198.51.100.9 bad_name!\n");
        write_dropin(w, "20-more.conf", "[Time]\n  NTP = 198.51.100.10  \nnot an assignment\n");
        build(w);
        assert_null(find(&w->config, "198.51.100.7"));
        assert_null(find(&w->config, "198.51.100.8"));
        assert_non_null(find(&w->config, "198.51.100.9"));
        assert_non_null(find(&w->config, "198.51.100.10"));
        bool bad_name = false, bad_line = false;
        for (size_t i = 0; i < w->config.n_warnings; i++) {
                bad_name |= strstr(w->config.warnings[i], "10-reset.conf:3: \"bad_name!\" is not a host") != NULL;
                bad_line |= strstr(w->config.warnings[i], "20-more.conf:3: not an assignment") != NULL;
        }
        assert_true(bad_name);
        assert_true(bad_line);
}

/* A D-Bus server list replaces the files' and timesyncd's together; FallbackNTP= serves when no
 * layer names a server; no timesyncd path reads nothing. */
static void test_timesyncd_under_the_other_layers(void **state) {
        struct world *w = *state;
        write_text(w->timesyncd_path, "[Time]\nNTP=198.51.100.7\nFallbackNTP=198.51.100.98 198.51.100.99\n");
        struct config_overrides persisted = { .has_servers = true, .n_servers = 1 };
        persisted.servers[0] = server("server 203.0.113.1");
        settings_merge(&w->persisted, &persisted);
        build(w);
        assert_int_equal(w->config.n_servers, 1);
        assert_string_equal(w->config.servers[0].host, "203.0.113.1");

        persisted = (struct config_overrides) { .has_servers = true, .n_servers = 0 };
        settings_merge(&w->persisted, &persisted);
        build(w);
        assert_int_equal(w->config.n_servers, 2);
        assert_string_equal(w->config.servers[0].host, "198.51.100.98");
        assert_int_equal(w->config.servers[1].origin.layer, CONFIG_LAYER_TIMESYNCD);

        struct config_error e;
        assert_int_equal(settings_build(w->config_path, NULL, w->settings_path, &w->persisted, &w->runtime, &w->config,
                                        &e), 0);
        assert_int_equal(w->config.n_servers, 0);
}

static void test_later_layers_replace_whole_parts(void **state) {
        struct world *w = *state;
        struct config_overrides persisted = { .has_servers = true, .n_servers = 1 };
        persisted.servers[0] = server("server 198.51.100.1");
        struct config_overrides runtime = { .has_serve = true, .serve = true };
        settings_merge(&w->persisted, &persisted);
        settings_merge(&w->runtime, &runtime);
        build(w);
        /* The persisted server list replaces the files' list whole; serving comes from the runtime. */
        assert_int_equal(w->config.n_servers, 1);
        assert_string_equal(w->config.servers[0].host, "198.51.100.1");
        assert_true(w->config.serve.value);
        assert_string_equal(w->config.serve.origin.file, SETTINGS_RUNTIME_LAYER);
        /* Each setting knows its layer. */
        assert_int_equal(w->config.serve.origin.layer, CONFIG_LAYER_RUNTIME);
        assert_int_equal(w->config.servers[0].origin.layer, CONFIG_LAYER_PERSISTED);
        assert_int_equal(w->config.restricts[0].origin.layer, CONFIG_LAYER_FILES);
        assert_int_equal(w->config.step_threshold.origin.layer, CONFIG_LAYER_DEFAULT);
        /* The part no layer changed stays the files'. */
        assert_int_equal(w->config.n_restricts, 1);

        runtime = (struct config_overrides) { .has_servers = true, .n_servers = 2 };
        runtime.servers[0] = server("server 203.0.113.1");
        runtime.servers[1] = server("server 203.0.113.2 prefer");
        settings_merge(&w->runtime, &runtime);
        build(w);
        assert_int_equal(w->config.n_servers, 2);
        assert_string_equal(w->config.servers[1].host, "203.0.113.2");
        assert_true(w->config.servers[1].prefer);
        assert_true(w->config.serve.value);    /* merged, not replaced: serving stays */
}

static void test_persisted_change_ends_the_runtime_change_of_that_part(void **state) {
        struct world *w = *state;
        struct config_overrides runtime = { .has_servers = true, .n_servers = 1, .has_serve = true, .serve = true };
        runtime.servers[0] = server("server 203.0.113.1");
        settings_merge(&w->runtime, &runtime);

        struct config_overrides change = { .has_servers = true, .n_servers = 1 };
        change.servers[0] = server("server 198.51.100.9");
        settings_merge(&w->persisted, &change);
        settings_drop(&w->runtime, &change);
        build(w);
        assert_int_equal(w->config.n_servers, 1);
        assert_string_equal(w->config.servers[0].host, "198.51.100.9");
        /* Only that part: the runtime server mode stays. */
        assert_true(w->runtime.has_serve);
        assert_true(w->config.serve.value);
}

static void test_saved_layer_reads_back(void **state) {
        struct world *w = *state;
        struct config_overrides o = { .has_servers = true, .n_servers = 1, .has_firewall = true,
                                      .firewall_client = true, .firewall_server = false };
        o.servers[0] = server("pool pool.example.org iburst");
        assert_int_equal(settings_save(w->settings_path, &o), 0);
        struct config_overrides back;
        settings_load_persisted(w->settings_path, &back);
        assert_true(back.has_servers);
        assert_int_equal(back.n_servers, 1);
        assert_true(back.servers[0].pool);
        assert_string_equal(back.servers[0].host, "pool.example.org");
        assert_true(back.has_firewall);
        assert_true(back.firewall_client);
        assert_false(back.firewall_server);
        assert_false(back.has_restricts);
        assert_false(back.has_serve);
}

static void test_broken_or_missing_layer_is_empty(void **state) {
        struct world *w = *state;
        struct config_overrides back;
        memset(&back, 0x55, sizeof(back));
        settings_load_persisted(w->settings_path, &back);   /* missing */
        assert_false(back.has_servers || back.has_restricts || back.has_serve || back.has_firewall);

        write_text(w->settings_path, "server 198.51.100.1\nserver bad_host!\n");
        memset(&back, 0x55, sizeof(back));
        settings_load_persisted(w->settings_path, &back);   /* broken: nothing of it, not half */
        assert_false(back.has_servers || back.has_restricts || back.has_serve || back.has_firewall);
}

static void test_invalid_result_is_refused_with_where(void **state) {
        struct world *w = *state;
        struct config_error e;
        write_text(w->config_path, "server 192.0.2.1\nrestrict 192.0.2.0 mask 255.0.255.0\n");
        assert_int_equal(settings_build(w->config_path, w->timesyncd_path, w->settings_path, &w->persisted, &w->runtime, &w->config, &e),
                         -EINVAL);
        assert_non_null(strstr(e.message, "ntpsyncd.conf:2"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_files_alone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timesyncd_servers_join, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timesyncd_assignment_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timesyncd_under_the_other_layers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_later_layers_replace_whole_parts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_persisted_change_ends_the_runtime_change_of_that_part, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_saved_layer_reads_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_broken_or_missing_layer_is_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_invalid_result_is_refused_with_where, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
