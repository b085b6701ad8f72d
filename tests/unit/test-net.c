/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for the packet timestamps of net.c: which of the control messages a packet's time
 * comes from. A raw hardware timestamp goes through the PHC of the interface the packet came in
 * on or left from (an interface with a ready-made fit stands in for a NIC); anything that
 * cannot be converted falls back to the software timestamp, packet by packet. */

#include <time.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "hwts.h"
#include "net.h"
#include "unit-test.h"

#define NIC_IFINDEX 42
#define OTHER_IFINDEX 7
#define TAI_NS 37000000000LL
#define T_NS 1780000000123456789LL /* the packet's true system time */
#define SOFTWARE_LATE_NS 5000      /* the software timestamp comes 5 us later, in the stack */

struct packet {
        struct msghdr m;
        char control[512];
        size_t used;
};

static void packet_init(struct packet *p) {
        memset(p, 0, sizeof(*p));
        p->m.msg_control = p->control;
        p->m.msg_controllen = sizeof(p->control);
}

static void add_cmsg(struct packet *p, int level, int type, const void *data, size_t len) {
        assert_true(p->used + CMSG_SPACE(len) <= sizeof(p->control));
        struct cmsghdr *c = (struct cmsghdr *) (p->control + p->used);
        c->cmsg_level = level;
        c->cmsg_type = type;
        c->cmsg_len = CMSG_LEN(len);
        memcpy(CMSG_DATA(c), data, len);
        p->used += CMSG_SPACE(len);
        p->m.msg_controllen = p->used;
}

static struct timespec ts_of(int64_t ns) {
        return (struct timespec) { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
}

static void add_timestamping(struct packet *p, int64_t software_ns, int64_t hardware_ns) {
        struct scm_timestamping ts = { 0 };
        if (software_ns)
                ts.ts[0] = ts_of(software_ns);
        if (hardware_ns)
                ts.ts[2] = ts_of(hardware_ns);
        add_cmsg(p, SOL_SOCKET, SCM_TIMESTAMPING, &ts, sizeof(ts));
}

static void add_ts_pktinfo(struct packet *p, unsigned ifindex) {
        struct scm_ts_pktinfo info = { .if_index = ifindex, .pkt_length = 90 };
        add_cmsg(p, SOL_SOCKET, SCM_TIMESTAMPING_PKTINFO, &info, sizeof(info));
}

static void add_ip_pktinfo(struct packet *p, int ifindex) {
        struct in_pktinfo info = { .ipi_ifindex = ifindex };
        add_cmsg(p, IPPROTO_IP, IP_PKTINFO, &info, sizeof(info));
}

/* A PHC in TAI with the system clock in UTC, measured for a few seconds around T. */
static void add_measured_nic(void) {
        struct phc_tracker t;
        phc_tracker_init(&t);
        for (int64_t s = -4; s <= 0; s++) {
                int64_t sys = T_NS + s * 1000000000LL;
                struct phc_reading r = { sys - 1000, sys + TAI_NS, sys + 1000 };
                phc_tracker_add(&t, &r, 1);
        }
        assert_true(phc_tracker_ready(&t));
        assert_int_equal(hwts_add_measured("nic0", NIC_IFINDEX, &t), 0);
}

static int64_t packet_time(struct packet *p) {
        int64_t ns = 0;
        assert_true(net_timestamp_from_cmsg(&p->m, &ns));
        return ns;
}

static void test_without_hardware_timestamping(void **state) {
        struct packet p;
        (void) state;
        assert_false(hwts_in_use());
        packet_init(&p);
        add_timestamping(&p, T_NS + SOFTWARE_LATE_NS, T_NS + TAI_NS);
        add_ts_pktinfo(&p, NIC_IFINDEX);
        assert_int_equal(packet_time(&p), T_NS + SOFTWARE_LATE_NS);

        packet_init(&p);
        struct timespec ns = ts_of(T_NS);
        add_cmsg(&p, SOL_SOCKET, SCM_TIMESTAMPNS, &ns, sizeof(ns));
        assert_int_equal(packet_time(&p), T_NS);

        packet_init(&p);
        int64_t untouched = 7;
        assert_false(net_timestamp_from_cmsg(&p.m, &untouched));
        assert_int_equal(untouched, 7);
}

static void test_hardware_received(void **state) {
        struct packet p;
        (void) state;
        packet_init(&p);
        add_timestamping(&p, T_NS + SOFTWARE_LATE_NS, T_NS + TAI_NS);
        add_ts_pktinfo(&p, NIC_IFINDEX);
        assert_int64_between(packet_time(&p), T_NS - 100, T_NS + 100);
}

/* A transmit timestamp from the error queue: hardware only, its interface in IP_PKTINFO. */
static void test_hardware_transmitted(void **state) {
        struct packet p;
        (void) state;
        packet_init(&p);
        add_ip_pktinfo(&p, NIC_IFINDEX);
        add_timestamping(&p, 0, T_NS + 500000000 + TAI_NS);
        assert_int64_between(packet_time(&p), T_NS + 500000000 - 100, T_NS + 500000000 + 100);
}

static void test_falls_back_to_software(void **state) {
        struct packet p;
        int64_t ns = 7;
        (void) state;
        /* Another interface: no PHC there. */
        packet_init(&p);
        add_timestamping(&p, T_NS + SOFTWARE_LATE_NS, T_NS + TAI_NS);
        add_ts_pktinfo(&p, OTHER_IFINDEX);
        assert_int_equal(packet_time(&p), T_NS + SOFTWARE_LATE_NS);
        /* No interface named at all. */
        packet_init(&p);
        add_timestamping(&p, T_NS + SOFTWARE_LATE_NS, T_NS + TAI_NS);
        assert_int_equal(packet_time(&p), T_NS + SOFTWARE_LATE_NS);
        /* A hardware timestamp far past the PHC's measurements. */
        packet_init(&p);
        add_timestamping(&p, T_NS + SOFTWARE_LATE_NS, T_NS + TAI_NS + 3600000000000LL);
        add_ts_pktinfo(&p, NIC_IFINDEX);
        assert_int_equal(packet_time(&p), T_NS + SOFTWARE_LATE_NS);
        /* Hardware only, and not convertible: no time (the software one comes in its own message). */
        packet_init(&p);
        add_timestamping(&p, 0, T_NS + TAI_NS);
        add_ip_pktinfo(&p, OTHER_IFINDEX);
        assert_false(net_timestamp_from_cmsg(&p.m, &ns));
        assert_int_equal(ns, 7);
}

/* A control message shorter than its type needs is not read. */
static void test_short_control_message(void **state) {
        struct packet p;
        struct scm_timestamping ts = { .ts = { ts_of(T_NS) } };
        int64_t ns = 7;
        (void) state;
        packet_init(&p);
        add_cmsg(&p, SOL_SOCKET, SCM_TIMESTAMPING, &ts, sizeof(ts.ts[0]));
        assert_false(net_timestamp_from_cmsg(&p.m, &ns));
        assert_int_equal(ns, 7);
}

static int setup_nic(void **state) {
        (void) state;
        add_measured_nic();
        return 0;
}

static int teardown_nic(void **state) {
        (void) state;
        hwts_stop();
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_without_hardware_timestamping),
                cmocka_unit_test(test_short_control_message),
                cmocka_unit_test_setup_teardown(test_hardware_received, setup_nic, teardown_nic),
                cmocka_unit_test_setup_teardown(test_hardware_transmitted, setup_nic, teardown_nic),
                cmocka_unit_test_setup_teardown(test_falls_back_to_software, setup_nic, teardown_nic),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
