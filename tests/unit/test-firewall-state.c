/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for firewall_derive_state() (src/daemon/firewall-state.c): what ntpsync says per
 * direction — unmanaged, open, closed, failed, unknown — and why, from what was asked, how
 * applying went and what was read back; and the words of firewall_direction_state_to_string(). */

#include <stdio.h>
#include <string.h>

#include "firewall.h"
#include "unit-test.h"

struct outcome {
        enum firewall_direction_state client, server;
        char reason[FIREWALL_STATE_REASON_MAX];
};

static struct outcome derive(const struct firewall_facts *x) {
        struct outcome o;
        firewall_derive_state(x, &o.client, &o.server, o.reason, sizeof(o.reason));
        return o;
}

/* Asked for client on, server on with nftables, applied and read back as such. */
static struct firewall_facts applied_nftables(void) {
        return (struct firewall_facts) {
                .backend = FIREWALL_BACKEND_NFTABLES,
                .managed = true,
                .want_client = true,
                .want_server = true,
                .apply = FIREWALL_APPLY_OK,
                .known = true,
                .installed = true,
                .client = true,
                .server = true,
        };
}

static void assert_states(struct outcome o, enum firewall_direction_state client,
                          enum firewall_direction_state server, const char *reason) {
        assert_string_equal(firewall_direction_state_to_string(o.client), firewall_direction_state_to_string(client));
        assert_string_equal(firewall_direction_state_to_string(o.server), firewall_direction_state_to_string(server));
        assert_string_equal(o.reason, reason);
}

static void test_words(void **state) {
        assert_string_equal(firewall_direction_state_to_string(FIREWALL_UNMANAGED), "unmanaged");
        assert_string_equal(firewall_direction_state_to_string(FIREWALL_OPEN), "open");
        assert_string_equal(firewall_direction_state_to_string(FIREWALL_CLOSED), "closed");
        assert_string_equal(firewall_direction_state_to_string(FIREWALL_FAILED), "failed");
        assert_string_equal(firewall_direction_state_to_string(FIREWALL_UNKNOWN), "unknown");
        /* Out of range (never made, but never a crash either). */
        assert_string_equal(firewall_direction_state_to_string(_FIREWALL_DIRECTION_STATE_MAX), "unknown");
        assert_string_equal(firewall_direction_state_to_string((enum firewall_direction_state) -1), "unknown");
}

/* Not asked: unmanaged, whatever the firewall holds or the backend is, with no reason. */
static void test_unmanaged(void **state) {
        struct firewall_facts x = applied_nftables();
        x.managed = false;
        assert_states(derive(&x), FIREWALL_UNMANAGED, FIREWALL_UNMANAGED, "");
        x = (struct firewall_facts) { .backend = FIREWALL_BACKEND_NONE, .apply = FIREWALL_APPLY_FAILED,
                                      .apply_error = "no firewall backend: x" };
        assert_states(derive(&x), FIREWALL_UNMANAGED, FIREWALL_UNMANAGED, "");
}

static void test_open_and_closed(void **state) {
        struct firewall_facts x = applied_nftables();
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_OPEN, "");
        x.want_server = false;
        x.server = false;
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_CLOSED, "");
        x.want_client = false;
        x.client = false;
        assert_states(derive(&x), FIREWALL_CLOSED, FIREWALL_CLOSED, "");
}

static void test_pending_is_unknown(void **state) {
        struct firewall_facts x = applied_nftables();
        x.apply = FIREWALL_APPLY_PENDING;
        x.pending = "waiting for the firewall helper to answer";
        assert_states(derive(&x), FIREWALL_UNKNOWN, FIREWALL_UNKNOWN, "waiting for the firewall helper to answer");
        /* A read-back from before the request does not count while it is pending. */
        x.pending = NULL;
        assert_states(derive(&x), FIREWALL_UNKNOWN, FIREWALL_UNKNOWN, "waiting for the firewall to answer");
}

static void test_unanswered_is_unknown_refused_is_failed(void **state) {
        struct firewall_facts x = applied_nftables();
        x.backend = FIREWALL_BACKEND_FIREWALLD;
        x.apply = FIREWALL_APPLY_UNANSWERED;
        x.apply_error = "firewalld did not answer getDefaultZone within 10 s";
        assert_states(derive(&x), FIREWALL_UNKNOWN, FIREWALL_UNKNOWN, "firewalld did not answer getDefaultZone within 10 s");
        x.apply = FIREWALL_APPLY_FAILED;
        x.apply_error = "firewalld config.zone.addService: NOT_AUTHORIZED: config";
        assert_states(derive(&x), FIREWALL_FAILED, FIREWALL_FAILED, "firewalld config.zone.addService: NOT_AUTHORIZED: config");
        x.apply_error = NULL;
        assert_states(derive(&x), FIREWALL_FAILED, FIREWALL_FAILED, "the firewall refused the change");
}

static void test_no_backend_is_failed(void **state) {
        struct firewall_facts x = {
                .backend = FIREWALL_BACKEND_NONE,
                .managed = true,
                .want_client = true,
                .apply = FIREWALL_APPLY_FAILED,
                .apply_error = "no firewall backend: firewall helper /nonexistent: No such file or directory",
        };
        assert_states(derive(&x), FIREWALL_FAILED, FIREWALL_FAILED,
                      "no firewall backend: firewall helper /nonexistent: No such file or directory");
}

/* Applied, but the read-back failed (the helper went away, firewalld stopped answering). */
static void test_read_failed_is_unknown(void **state) {
        struct firewall_facts x = applied_nftables();
        x.known = false;
        x.read_error = "the firewall helper exited";
        assert_states(derive(&x), FIREWALL_UNKNOWN, FIREWALL_UNKNOWN, "the firewall helper exited");
        x.read_error = "";
        assert_states(derive(&x), FIREWALL_UNKNOWN, FIREWALL_UNKNOWN, "not read back yet");
}

/* What the firewall holds is not what was applied: failed, saying what is different. */
static void test_mismatch_is_failed(void **state) {
        struct firewall_facts x = applied_nftables();
        x.installed = x.client = x.server = false;
        assert_states(derive(&x), FIREWALL_FAILED, FIREWALL_FAILED,
                      "table inet ntpsync is missing (deleted since it was applied)");
        x = applied_nftables();
        x.server = false;
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_FAILED,
                      "table inet ntpsync does not hold the rules that were applied (changed since)");

        x.backend = FIREWALL_BACKEND_FIREWALLD;
        x.zone = "public";
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_FAILED,
                      "firewalld: service ntp is not in zone public at runtime (removed since it was applied)");
        x.want_server = false;
        x.server = true;
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_FAILED,
                      "firewalld: service ntp is in zone public at runtime (added since it was applied)");
        /* firewalld cannot close client traffic: its zones filter incoming traffic only. */
        x = applied_nftables();
        x.backend = FIREWALL_BACKEND_FIREWALLD;
        x.want_client = false;
        assert_states(derive(&x), FIREWALL_FAILED, FIREWALL_OPEN,
                      "firewalld zones do not filter outgoing traffic: NTP client traffic stays allowed");
}

/* With NTS served, the server direction is udp 123 and tcp 4460: open only with both, closed only
 * with neither; a missing or extra 4460 is "failed", and the reason names the port. */
static void test_nts_ke(void **state) {
        struct firewall_facts x = applied_nftables();
        x.want_nts_ke = true;
        x.nts_ke = true;
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_OPEN, "");
        x.nts_ke = false;
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_FAILED,
                      "table inet ntpsync does not let NTS-KE (tcp port 4460) in (changed since it was applied)");
        /* udp 123 gone as well: the table's own reason. */
        x.server = false;
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_FAILED,
                      "table inet ntpsync does not hold the rules that were applied (changed since)");

        /* Off: both dropped is closed; 4460 let in is not. */
        x = applied_nftables();
        x.want_nts_ke = true;
        x.want_server = x.server = false;
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_CLOSED, "");
        x.nts_ke = true;
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_FAILED,
                      "table inet ntpsync lets NTS-KE (tcp port 4460) in (changed since it was applied)");

        x = applied_nftables();
        x.backend = FIREWALL_BACKEND_FIREWALLD;
        x.zone = "public";
        x.want_nts_ke = true;
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_FAILED,
                      "firewalld: port 4460/tcp (NTS-KE) is not in zone public at runtime (removed since it was applied)");
        x.want_server = x.server = false;
        x.nts_ke = true;
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_FAILED,
                      "firewalld: port 4460/tcp (NTS-KE) is in zone public at runtime (added since it was applied)");

        /* Without NTS, 4460 is not ntpsync's: not read, not asked. */
        x = applied_nftables();
        assert_states(derive(&x), FIREWALL_OPEN, FIREWALL_OPEN, "");
        /* The states of the other direction and of pending applies do not change. */
        x.want_nts_ke = true;
        x.apply = FIREWALL_APPLY_PENDING;
        assert_states(derive(&x), FIREWALL_UNKNOWN, FIREWALL_UNKNOWN, "waiting for the firewall to answer");
}

/* Two different reasons: both, named. */
static void test_two_reasons(void **state) {
        struct firewall_facts x = applied_nftables();
        x.backend = FIREWALL_BACKEND_FIREWALLD;
        x.zone = "work";
        x.want_client = false;
        x.server = false;
        assert_states(derive(&x), FIREWALL_FAILED, FIREWALL_FAILED,
                      "client: firewalld zones do not filter outgoing traffic: NTP client traffic stays allowed; "
                      "server: firewalld: service ntp is not in zone work at runtime (removed since it was applied)");
}

/* Texts longer than the room: cut, terminated, never overrun. */
static void test_long_texts(void **state) {
        char huge[3000];
        memset(huge, 'x', sizeof(huge) - 1);
        huge[sizeof(huge) - 1] = 0;
        struct firewall_facts x = applied_nftables();
        x.apply = FIREWALL_APPLY_FAILED;
        x.apply_error = huge;
        struct outcome o = derive(&x);
        assert_int_equal(strlen(o.reason), sizeof(o.reason) - 1);
        char small[8];
        enum firewall_direction_state c, s;
        firewall_derive_state(&x, &c, &s, small, sizeof(small));
        assert_string_equal(small, "xxxxxxx");
        /* No room at all: the states still come. */
        firewall_derive_state(&x, &c, &s, small, 0);
        assert_int_equal(c, FIREWALL_FAILED);
        assert_int_equal(s, FIREWALL_FAILED);
}

int main(void) {
#define T(f) cmocka_unit_test(f)
        const struct CMUnitTest tests[] = {
                T(test_words),
                T(test_unmanaged),
                T(test_open_and_closed),
                T(test_pending_is_unknown),
                T(test_unanswered_is_unknown_refused_is_failed),
                T(test_no_backend_is_failed),
                T(test_read_failed_is_unknown),
                T(test_mismatch_is_failed),
                T(test_nts_ke),
                T(test_two_reasons),
                T(test_long_texts),
        };
#undef T
        return cmocka_run_group_tests(tests, NULL, NULL);
}
