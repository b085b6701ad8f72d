/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/net_tstamp.h>
#include <linux/ptp_clock.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/phc.h"
#include "hwts.h"
#include "log.h"

#define MAX_INTERFACES 64
#define PHC_READINGS 10 /* per batch: the tracker keeps the one with the shortest delay */

struct hwts_interface {
        char name[IF_NAMESIZE];
        int ifindex;
        int phc_fd;                  /* /dev/ptpN */
        bool extended;               /* PTP_SYS_OFFSET_EXTENDED works; else PTP_SYS_OFFSET */
        uint64_t interval_usec;
        sd_event_source *timer;
        struct phc_tracker tracker;  /* under lock */
};

static struct {
        sd_event *event;
        struct config_hwtimestamp lines[CONFIG_MAX_HWTIMESTAMP]; /* copied: a reload changes the manager's */
        size_t n_lines;
        /* Every interface looked at, by index, so that a rescan logs only the new ones. */
        int seen[MAX_INTERFACES];
        size_t n_seen;
        struct hwts_interface *interfaces[MAX_INTERFACES]; /* those with hardware timestamping on */
        size_t n_interfaces;
        atomic_bool in_use;
        pthread_mutex_t lock;        /* the trackers: read by serving threads, written by the loop */
} state = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- what the kernel says ---- */

static int interface_ioctl(const char *name, unsigned long request, void *data) {
        struct ifreq ifr = { 0 };
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;
        if (fd < 0)
                return -errno;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        ifr.ifr_data = data;
        if (ioctl(fd, request, &ifr) < 0)
                r = -errno;
        close(fd);
        return r;
}

int hwts_query(const char *name, struct hwts_info *ret) {
        struct ethtool_ts_info info = { .cmd = ETHTOOL_GET_TS_INFO };
        if (if_nametoindex(name) == 0)
                return -ENODEV;
        int r = interface_ioctl(name, SIOCETHTOOL, &info);
        if (r < 0)
                return r;
        *ret = (struct hwts_info) {
                .so_timestamping = info.so_timestamping,
                .phc_index = info.phc_index,
                .tx_types = info.tx_types,
                .rx_filters = info.rx_filters,
        };
        return 0;
}

bool hwts_info_usable(const struct hwts_info *info) {
        const unsigned needed = SOF_TIMESTAMPING_RAW_HARDWARE | SOF_TIMESTAMPING_RX_HARDWARE |
                                SOF_TIMESTAMPING_TX_HARDWARE;
        return (info->so_timestamping & needed) == needed && info->phc_index >= 0 &&
               (info->tx_types & (1u << HWTSTAMP_TX_ON));
}

/* The filter rxfilter asks for among those the interface has; -1 when it has none of them. */
static int pick_rx_filter(const struct hwts_info *info, enum config_rx_filter wanted) {
        bool ntp = info->rx_filters & (1u << HWTSTAMP_FILTER_NTP_ALL);
        bool all = info->rx_filters & (1u << HWTSTAMP_FILTER_ALL);
        switch (wanted) {
        case CONFIG_RX_FILTER_NONE: return HWTSTAMP_FILTER_NONE;
        case CONFIG_RX_FILTER_NTP: return ntp ? HWTSTAMP_FILTER_NTP_ALL : -1;
        case CONFIG_RX_FILTER_ALL: return all ? HWTSTAMP_FILTER_ALL : -1;
        case CONFIG_RX_FILTER_ANY: return ntp ? HWTSTAMP_FILTER_NTP_ALL : all ? HWTSTAMP_FILTER_ALL : -1;
        }
        return -1;
}

/* ---- reading the PHC ---- */

static int64_t ptp_ns(const struct ptp_clock_time *t) {
        return t->sec * 1000000000LL + t->nsec;
}

static struct phc_reading reading_of(const struct ptp_clock_time *before, const struct ptp_clock_time *phc,
                                     const struct ptp_clock_time *after) {
        return (struct phc_reading) { ptp_ns(before), ptp_ns(phc), ptp_ns(after) };
}

static int read_extended(int fd, struct phc_reading *readings) {
        struct ptp_sys_offset_extended x = { .n_samples = PHC_READINGS };
        if (ioctl(fd, PTP_SYS_OFFSET_EXTENDED, &x) < 0)
                return -errno;
        for (size_t i = 0; i < PHC_READINGS; i++)
                readings[i] = reading_of(&x.ts[i][0], &x.ts[i][1], &x.ts[i][2]);
        return PHC_READINGS;
}

/* The older ioctl: system, PHC, system, PHC, ..., system. */
static int read_interleaved(int fd, struct phc_reading *readings) {
        struct ptp_sys_offset x = { .n_samples = PHC_READINGS };
        if (ioctl(fd, PTP_SYS_OFFSET, &x) < 0)
                return -errno;
        for (size_t i = 0; i < PHC_READINGS; i++)
                readings[i] = reading_of(&x.ts[2 * i], &x.ts[2 * i + 1], &x.ts[2 * i + 2]);
        return PHC_READINGS;
}

static void read_phc(struct hwts_interface *h) {
        struct phc_reading readings[PHC_READINGS];
        int n = h->extended ? read_extended(h->phc_fd, readings) : -EOPNOTSUPP;
        if (n == -EOPNOTSUPP || n == -ENOTTY) {
                h->extended = false;
                n = read_interleaved(h->phc_fd, readings);
        }
        if (n < 0) {
                log_debug("%s: cannot read its PHC: %s", h->name, strerror(-n));
                return;
        }
        pthread_mutex_lock(&state.lock);
        enum phc_add_result r = phc_tracker_add(&h->tracker, readings, (size_t) n);
        pthread_mutex_unlock(&state.lock);
        if (r == PHC_RESET)
                log_notice("%s: the PHC jumped against the system clock, measuring it anew", h->name);
        else if (r != PHC_ADDED)
                log_debug("%s: PHC reading left out (%s)", h->name, r == PHC_OUTLIER ? "outlier" : "inconsistent");
}

static int on_phc_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct hwts_interface *h = userdata;
        read_phc(h);
        return sd_event_source_set_time(s, usec + h->interval_usec);
}

/* ---- setting an interface up ---- */

static uint64_t interval_usec(int8_t minpoll) {
        return minpoll >= 0 ? 1000000ULL << minpoll : 1000000ULL >> -minpoll;
}

static const struct config_hwtimestamp *line_for(const char *name) {
        const struct config_hwtimestamp *any = NULL;
        for (size_t i = 0; i < state.n_lines; i++) {
                if (strcmp(state.lines[i].interface, name) == 0)
                        return &state.lines[i];
                if (strcmp(state.lines[i].interface, "*") == 0)
                        any = &state.lines[i];
        }
        return any;
}

static int enable_hardware(const char *name, const struct hwts_info *info, enum config_rx_filter wanted) {
        int rx_filter = pick_rx_filter(info, wanted);
        if (rx_filter < 0)
                return -EOPNOTSUPP;
        struct hwtstamp_config hc = { .tx_type = HWTSTAMP_TX_ON, .rx_filter = rx_filter };
        return interface_ioctl(name, SIOCSHWTSTAMP, &hc);
}

/* Without CAP_NET_ADMIN the setting cannot be changed, but what another program (ptp4l,
 * hwstamp_ctl) set serves as well when it stamps what we send. */
static bool enabled_already(const char *name) {
        struct hwtstamp_config hc = { 0 };
        return interface_ioctl(name, SIOCGHWTSTAMP, &hc) == 0 && hc.tx_type == HWTSTAMP_TX_ON;
}

static int open_phc(int index) {
        char path[32];
        snprintf(path, sizeof(path), "/dev/ptp%d", index);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static struct hwts_interface *new_interface(const char *name, int ifindex, int8_t minpoll) {
        struct hwts_interface *h = calloc(1, sizeof(*h));
        if (!h)
                return NULL;
        snprintf(h->name, sizeof(h->name), "%s", name);
        h->ifindex = ifindex;
        h->phc_fd = -1;
        h->extended = true;
        h->interval_usec = interval_usec(minpoll);
        phc_tracker_init(&h->tracker);
        return h;
}

static void free_interface(struct hwts_interface *h) {
        sd_event_source_disable_unref(h->timer);
        if (h->phc_fd >= 0)
                close(h->phc_fd);
        free(h);
}

static int register_interface(struct hwts_interface *h) {
        pthread_mutex_lock(&state.lock);
        bool room = state.n_interfaces < MAX_INTERFACES;
        if (room)
                state.interfaces[state.n_interfaces++] = h;
        pthread_mutex_unlock(&state.lock);
        if (!room)
                return -E2BIG;
        atomic_store(&state.in_use, true);
        return 0;
}

static int add_interface(const char *name, int ifindex, int phc_index, int8_t minpoll) {
        struct hwts_interface *h = new_interface(name, ifindex, minpoll);
        if (!h)
                return -ENOMEM;
        int r = h->phc_fd = open_phc(phc_index);
        if (r >= 0)
                r = sd_event_add_time_relative(state.event, &h->timer, CLOCK_MONOTONIC, 0, 0, on_phc_timer, h);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->timer, SD_EVENT_ON); /* again and again, not once */
        if (r >= 0)
                r = register_interface(h);
        if (r < 0)
                free_interface(h);
        return r;
}

int hwts_add_measured(const char *name, int ifindex, const struct phc_tracker *t) {
        struct hwts_interface *h = new_interface(name, ifindex, 0);
        if (!h)
                return -ENOMEM;
        h->tracker = *t;
        int r = register_interface(h);
        if (r < 0)
                free_interface(h);
        return r;
}

/* Looks at one interface, enables what it has, and says what it will use. */
static void set_up(const char *name, int ifindex, const struct config_hwtimestamp *line) {
        struct hwts_info info;
        int r = hwts_query(name, &info);
        if (r < 0 || !hwts_info_usable(&info)) {
                if (r < 0 && r != -EOPNOTSUPP)
                        log_info("%s: cannot ask for its timestamping (%s), using software timestamps", name,
                                 strerror(-r));
                else
                        log_info("%s: no hardware timestamping, using software timestamps", name);
                return;
        }
        if ((r = enable_hardware(name, &info, line->rx_filter)) < 0 && !enabled_already(name)) {
                log_warning("%s: cannot enable hardware timestamping (rxfilter %s): %s, using software timestamps",
                            name, config_rx_filter_to_string(line->rx_filter), strerror(-r));
                return;
        }
        if ((r = add_interface(name, ifindex, info.phc_index, line->minpoll)) < 0) {
                log_warning("%s: cannot use /dev/ptp%d: %s, using software timestamps", name, info.phc_index,
                            strerror(-r));
                return;
        }
        log_info("%s: hardware timestamping with /dev/ptp%d", name, info.phc_index);
}

static bool seen(int ifindex) {
        for (size_t i = 0; i < state.n_seen; i++)
                if (state.seen[i] == ifindex)
                        return true;
        return false;
}

/* Every interface the lines name or "*" covers and that was not looked at before. */
static void scan(void) {
        struct if_nameindex *all = if_nameindex();
        if (!all) {
                log_warning_errno(-errno, "Cannot list the network interfaces for hardware timestamping");
                return;
        }
        for (struct if_nameindex *i = all; i->if_index != 0; i++) {
                const struct config_hwtimestamp *line = line_for(i->if_name);
                if (!line || seen((int) i->if_index) || state.n_seen >= MAX_INTERFACES)
                        continue;
                state.seen[state.n_seen++] = (int) i->if_index;
                set_up(i->if_name, (int) i->if_index, line);
        }
        if_freenameindex(all);
}

void hwts_start(sd_event *e, const struct config *c) {
        if (c->n_hwtimestamps == 0)
                return;
        state.event = sd_event_ref(e);
        memcpy(state.lines, c->hwtimestamps, c->n_hwtimestamps * sizeof(c->hwtimestamps[0]));
        state.n_lines = c->n_hwtimestamps;
        for (size_t i = 0; i < state.n_lines; i++)
                if (strcmp(state.lines[i].interface, "*") != 0 && if_nametoindex(state.lines[i].interface) == 0)
                        log_info("%s: no such interface yet, hardware timestamping when it appears",
                                 state.lines[i].interface);
        scan();
}

void hwts_rescan(void) {
        if (state.event)
                scan();
}

void hwts_clock_stepped(void) {
        pthread_mutex_lock(&state.lock);
        for (size_t i = 0; i < state.n_interfaces; i++)
                phc_tracker_init(&state.interfaces[i]->tracker);
        pthread_mutex_unlock(&state.lock);
}

void hwts_stop(void) {
        atomic_store(&state.in_use, false);
        pthread_mutex_lock(&state.lock);
        for (size_t i = 0; i < state.n_interfaces; i++)
                free_interface(state.interfaces[i]);
        state.n_interfaces = state.n_seen = state.n_lines = 0;
        pthread_mutex_unlock(&state.lock);
        state.event = sd_event_unref(state.event);
}

bool hwts_in_use(void) {
        return atomic_load(&state.in_use);
}

bool hwts_convert(int ifindex, const struct timespec *raw, int64_t *ret_ns) {
        bool ok = false;
        double error_ns;
        if (!hwts_in_use())
                return false;
        int64_t phc_ns = (int64_t) raw->tv_sec * 1000000000 + raw->tv_nsec;
        pthread_mutex_lock(&state.lock);
        for (size_t i = 0; i < state.n_interfaces && !ok; i++)
                if (state.interfaces[i]->ifindex == ifindex)
                        ok = phc_tracker_convert(&state.interfaces[i]->tracker, phc_ns, ret_ns, &error_ns);
        pthread_mutex_unlock(&state.lock);
        return ok;
}
