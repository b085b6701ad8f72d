/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the control protocol's glue (control.c): mode 6 requests answered from a real
 * manager's state, as ntpq -p and ntpq -c rv see it. The manager measures two loopback addresses
 * where nothing answers (a one-shot query manager: no serving, no firewall, no state). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "manager.h"
#include "core/mode6.h"
#include "unit-test.h"

struct captured {
        size_t n;
        uint8_t data[8192];
        size_t len;                  /* data of all datagrams, headers left out */
        uint8_t opcode_byte;
        uint16_t count_total;
};

static void capture(void *userdata, const uint8_t *datagram, size_t len) {
        struct captured *c = userdata;
        assert_true(len >= MODE6_HEADER_SIZE);
        size_t count = (size_t) datagram[10] << 8 | datagram[11];
        assert_true(MODE6_HEADER_SIZE + count <= len);
        assert_true(c->len + count <= sizeof(c->data));
        memcpy(c->data + c->len, datagram + MODE6_HEADER_SIZE, count);
        c->len += count;
        c->opcode_byte = datagram[1];
        c->n++;
}

static size_t ask(manager *m, uint8_t opcode, uint16_t assoc_id, const char *text, struct captured *c) {
        uint8_t request[64] = { 2 << 3 | 6, opcode, 0x12, 0x34 };
        size_t count = text ? strlen(text) : 0;
        assert_true(12 + count <= sizeof(request));
        request[6] = (uint8_t) (assoc_id >> 8);
        request[7] = (uint8_t) assoc_id;
        request[11] = (uint8_t) count;
        if (count)
                memcpy(request + 12, text, count);
        memset(c, 0, sizeof(*c));
        return control_answer(m, request, (12 + count + 3) & ~(size_t) 3, capture, c);
}

static int setup(void **state) {
        static char *hosts[] = { (char *) "127.0.0.2", (char *) "127.0.0.3" };
        struct manager_options o = {
                .config_path = "/nonexistent/ntpsyncd.conf",
                .state_dir = "/nonexistent",
                .backend = CLOCK_BACKEND_OBSERVE,
                .query = true,
                .no_config = true,
                .query_hosts = hosts,
                .n_query_hosts = 2,
        };
        manager *m = NULL;
        assert_int_equal(manager_new(&o, &m), 0);
        assert_int_equal(manager_start(m), 0);
        /* The addresses become sources once the resolver has answered, in the event loop. */
        struct engine_source_info info[2];
        for (int i = 0; i < 50 && engine_get_sources(m->engine, info, 2) < 2; i++)
                assert_true(sd_event_run(m->event, 100 * 1000) >= 0);
        assert_int_equal(engine_get_sources(m->engine, info, 2), 2);
        *state = m;
        return 0;
}

static int teardown(void **state) {
        manager_free(*state);
        return 0;
}

static void test_association_list(void **state) {
        struct captured c;
        assert_int_equal(ask(*state, MODE6_OP_READSTAT, 0, NULL, &c), 1);
        assert_int_equal(c.opcode_byte & 0x1f, MODE6_OP_READSTAT);
        assert_true(c.opcode_byte & 0x80);   /* a response */
        /* Two associations, four bytes each: id and status. */
        assert_int_equal(c.len, 2 * 4);
        assert_true((c.data[0] << 8 | c.data[1]) != (c.data[4] << 8 | c.data[5]));
}

static void test_system_variables(void **state) {
        struct captured c;
        assert_true(ask(*state, MODE6_OP_READVAR, 0, "stratum,version", &c) >= 1);
        c.data[c.len] = '\0';
        /* Not synchronized: stratum 16, and the version of this build. */
        assert_non_null(strstr((char *) c.data, "stratum=16"));
        char version[64];
        snprintf(version, sizeof(version), "version=\"ntpsyncd %s\"", NTPSYNC_VERSION);
        if (!strstr((char *) c.data, version))
                fail_msg("no %s in %s", version, (char *) c.data);
}

static void test_peer_variables(void **state) {
        struct captured list, c;
        assert_int_equal(ask(*state, MODE6_OP_READSTAT, 0, NULL, &list), 1);
        uint16_t id = (uint16_t) (list.data[0] << 8 | list.data[1]);
        assert_true(ask(*state, MODE6_OP_READVAR, id, "srcadr,reach", &c) >= 1);
        c.data[c.len] = '\0';
        assert_non_null(strstr((char *) c.data, "srcadr=127.0.0."));
        if (!strstr((char *) c.data, "reach=0"))
                fail_msg("reach in %s", (char *) c.data);
}

static void test_unknown_association_is_an_error(void **state) {
        struct captured c;
        assert_int_equal(ask(*state, MODE6_OP_READVAR, 999, "srcadr", &c), 1);
        assert_true(c.opcode_byte & 0x40);   /* the error bit */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_association_list),
                cmocka_unit_test(test_system_variables),
                cmocka_unit_test(test_peer_variables),
                cmocka_unit_test(test_unknown_association_is_an_error),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
