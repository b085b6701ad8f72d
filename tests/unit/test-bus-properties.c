/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the property table's announcements (bus-properties.c): two sd-bus peers on a
 * socketpair, one announcing a table of properties, the other recording PropertiesChanged.
 * The first look only records; a change of any size is announced with its name, once; a
 * property that does not announce, or whose value for change does not move, is never named. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-properties.h"
#include "unit-test.h"

#define PATH "/test"
#define INTERFACE "org.example.Test"

struct model {
        char **list;                 /* "as" */
        size_t n;
        unsigned counter;            /* a value that changes by itself, announced by... nothing */
        unsigned quiet;              /* does not announce */
};

static int get_list(sd_bus *bus, const char *path, const char *interface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct model *m = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < m->n; i++)
                r = sd_bus_message_append(reply, "s", m->list[i]);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int get_counter(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", ((struct model *) userdata)->counter);
}

/* The counter ages by itself: for change, it is judged as always the same. */
static int get_counter_for_change(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", 0u);
}

static int get_quiet(sd_bus *bus, const char *path, const char *interface, const char *property,
                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", ((struct model *) userdata)->quiet);
}

#define TEST_PROPERTIES(X) \
        X("List", "as", get_list, NULL, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) \
        X("Counter", "u", get_counter, get_counter_for_change, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION) \
        X("Quiet", "u", get_quiet, NULL, 0)

static const struct bus_property table[] = { TEST_PROPERTIES(BUS_TABLE_ROW) };

static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        TEST_PROPERTIES(BUS_VTABLE_ROW)
        SD_BUS_VTABLE_END,
};

struct world {
        sd_bus *announcer, *listener;
        sd_bus_slot *object;
        struct bus_announcer a;
        struct model m;
        char seen[64][64];           /* each PropertiesChanged: "List,Counter," */
        size_t n_seen;
        size_t list_length_seen;     /* elements of List in the last signal */
};

static int on_changed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        struct world *w = userdata;
        const char *interface;
        char *names = w->seen[w->n_seen++];
        names[0] = '\0';
        assert_int_equal(sd_bus_message_read(msg, "s", &interface), 1);
        assert_string_equal(interface, INTERFACE);
        assert_true(sd_bus_message_enter_container(msg, 'a', "{sv}") > 0);
        while (sd_bus_message_enter_container(msg, 'e', "sv") > 0) {
                const char *name;
                assert_int_equal(sd_bus_message_read(msg, "s", &name), 1);
                strcat(names, name);
                strcat(names, ",");
                if (strcmp(name, "List") == 0) {
                        char **list = NULL;
                        assert_true(sd_bus_message_enter_container(msg, 'v', "as") > 0);
                        assert_true(sd_bus_message_read_strv(msg, &list) >= 0);
                        w->list_length_seen = 0;
                        for (char **s = list; s && *s; s++, w->list_length_seen++)
                                free(*s);
                        free(list);
                        assert_true(sd_bus_message_exit_container(msg) >= 0);
                } else
                        assert_true(sd_bus_message_skip(msg, "v") >= 0);
                assert_true(sd_bus_message_exit_container(msg) >= 0);
        }
        assert_true(sd_bus_message_exit_container(msg) >= 0);
        /* Invalidated names come as the third argument. */
        char **invalidated = NULL;
        assert_true(sd_bus_message_read_strv(msg, &invalidated) >= 0);
        for (char **s = invalidated; s && *s; s++) {
                strcat(names, "~");
                strcat(names, *s);
                strcat(names, ",");
                free(*s);
        }
        free(invalidated);
        return 0;
}

/* Both peers take turns until neither has anything to do. */
static void pump(struct world *w) {
        for (int i = 0; i < 1000; i++) {
                int a = sd_bus_process(w->announcer, NULL), b = sd_bus_process(w->listener, NULL);
                assert_true(a >= 0 && b >= 0);
                if (a == 0 && b == 0)
                        return;
        }
        fail_msg("the peers did not settle");
}

static int setup(void **state) {
        struct world *w = calloc(1, sizeof(*w));
        int fds[2];
        sd_id128_t id;
        assert_non_null(w);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sd_id128_randomize(&id), 0);
        assert_int_equal(sd_bus_new(&w->announcer), 0);
        assert_int_equal(sd_bus_set_fd(w->announcer, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_server(w->announcer, 1, id), 0);
        assert_int_equal(sd_bus_set_anonymous(w->announcer, 1), 0);
        assert_int_equal(sd_bus_new(&w->listener), 0);
        assert_int_equal(sd_bus_set_fd(w->listener, fds[1], fds[1]), 0);
        assert_int_equal(sd_bus_set_anonymous(w->listener, 1), 0);
        assert_int_equal(sd_bus_start(w->announcer), 0);
        assert_int_equal(sd_bus_start(w->listener), 0);
        assert_true(sd_bus_add_object_vtable(w->announcer, &w->object, PATH, INTERFACE, vtable, &w->m) >= 0);
        assert_true(sd_bus_match_signal(w->listener, NULL, NULL, PATH, "org.freedesktop.DBus.Properties",
                                        "PropertiesChanged", on_changed, w) >= 0);
        pump(w);
        bus_announcer_init(&w->a, PATH, INTERFACE, table, ELEMENTSOF(table));
        *state = w;
        return 0;
}

static int teardown(void **state) {
        struct world *w = *state;
        bus_announcer_done(&w->a);
        sd_bus_slot_unref(w->object);
        sd_bus_flush_close_unref(w->announcer);
        sd_bus_flush_close_unref(w->listener);
        for (size_t i = 0; i < w->m.n; i++)
                free(w->m.list[i]);
        free(w->m.list);
        free(w);
        return 0;
}

static void set_list(struct model *m, size_t n, const char *last) {
        for (size_t i = 0; i < m->n; i++)
                free(m->list[i]);
        free(m->list);
        m->list = calloc(n, sizeof(char *));
        assert_non_null(m->list);
        for (size_t i = 0; i < n; i++) {
                char text[300];
                /* Long elements: the whole list is far more than any fixed buffer would hold. */
                snprintf(text, sizeof(text), "server %zu.%0200d.example.org iburst", i, 0);
                assert_true(asprintf(&m->list[i], "%s", i == n - 1 && last ? last : text) > 0);
        }
        m->n = n;
}

static int look(struct world *w) {
        int r = bus_announcer_look(&w->a, w->announcer, &w->m);
        pump(w);
        return r;
}

static void test_first_look_records_only(void **state) {
        struct world *w = *state;
        set_list(&w->m, 3, NULL);
        assert_int_equal(look(w), 0);
        assert_int_equal(w->n_seen, 0);
        assert_int_equal(look(w), 0);
        assert_int_equal(w->n_seen, 0);
}

static void test_change_of_the_last_of_many_is_announced(void **state) {
        struct world *w = *state;
        set_list(&w->m, 100, "server a.example.org");
        assert_int_equal(look(w), 0);
        set_list(&w->m, 100, "server b.example.org");
        assert_int_equal(look(w), 1);
        assert_int_equal(w->n_seen, 1);
        assert_string_equal(w->seen[0], "List,");
        assert_int_equal(w->list_length_seen, 100);
        /* Nothing new: nothing said. */
        assert_int_equal(look(w), 0);
        assert_int_equal(w->n_seen, 1);
}

static void test_value_that_ages_and_quiet_property_are_not_news(void **state) {
        struct world *w = *state;
        set_list(&w->m, 1, NULL);
        assert_int_equal(look(w), 0);
        w->m.counter++;
        w->m.quiet++;
        assert_int_equal(look(w), 0);
        assert_int_equal(w->n_seen, 0);
}

static void test_reset_records_again(void **state) {
        struct world *w = *state;
        set_list(&w->m, 2, "x");
        assert_int_equal(look(w), 0);
        bus_announcer_reset(&w->a);
        set_list(&w->m, 2, "y");
        /* After a reset (a new connection), the first look records again without announcing. */
        assert_int_equal(look(w), 0);
        assert_int_equal(w->n_seen, 0);
        set_list(&w->m, 2, "z");
        assert_int_equal(look(w), 1);
        assert_string_equal(w->seen[0], "List,");
}

static void test_render_describes_the_whole_value(void **state) {
        struct world *w = *state;
        char *text = NULL;
        set_list(&w->m, 40, "server last.example.org");
        assert_int_equal(bus_property_render(w->announcer, &w->a, &table[0], table[0].get, &w->m, &text), 0);
        assert_non_null(strstr(text, "server last.example.org"));
        assert_true(strlen(text) > 40 * 200);
        free(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_first_look_records_only, setup, teardown),
                cmocka_unit_test_setup_teardown(test_change_of_the_last_of_many_is_announced, setup, teardown),
                cmocka_unit_test_setup_teardown(test_value_that_ages_and_quiet_property_are_not_news, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reset_records_again, setup, teardown),
                cmocka_unit_test_setup_teardown(test_render_describes_the_whole_value, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
