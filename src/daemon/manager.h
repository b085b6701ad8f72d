/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The manager owns the configuration, the engine, the sockets and the timers on sd-event, and
 * carries out what the engine asks for. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "clock.h"
#include "core/config.h"
#include "core/engine.h"
#include "net.h"
#include "resolve.h"
#include "core/restrict.h"
#include "macro.h"

struct ntp_server;
struct netwatch;
struct firewall;

#define MANAGER_MAX_PEERS_PER_SOURCE 16
#define MANAGER_DRIFT_SAVE_USEC (3600ULL * 1000000)
#define MANAGER_POOL_CHECK_USEC (300ULL * 1000000)

typedef struct manager manager;
struct msource;

/* One address in use: one engine source and its socket. */
struct peer {
        manager *manager;
        struct msource *owner;
        uint32_t engine_id;
        struct net_address address;
        struct net_address ntp_address; /* where its NTP goes: address, port 123 unless NTS-KE said otherwise */
        struct peer_nts *nts;        /* an `nts` server line's (manager-nts.c); NULL for plain NTP */
        char address_text[64];
        int fd;
        sd_event_source *io;
        bool unreachable;            /* as last logged */
};

/* One configured server or pool. */
struct msource {
        manager *manager;
        struct config_server config;
        resolve_query *query;
        sd_event_source *retry_timer;
        unsigned retries;
        struct peer *peers[MANAGER_MAX_PEERS_PER_SOURCE];
        size_t n_peers;
};

struct manager_options {
        const char *config_path;
        const char *state_dir;
        const char *runtime_dir;     /* NULL: none */
        enum clock_backend backend;
        bool query;                  /* a one-shot measurement: observe only, no state, no sd_notify */
        bool no_config;              /* with query_hosts: read no configuration files */
        char **query_hosts;          /* replace the configured servers, when given */
        size_t n_query_hosts;
        bool query_nts;              /* the query hosts are NTS servers */
        const char *query_ca;        /* their trust anchors; NULL: the system's */
        const char *timesyncd_conf;  /* systemd-timesyncd's configuration, read for its servers; NULL: none */
};

struct manager {
        sd_event *event;
        engine *engine;
        resolver *resolver;
        struct config config;        /* the effective configuration: all layers (settings.h) */
        struct config_overrides persisted, runtime;
        struct restrict_set restricts;
        char *config_path, *state_dir, *drift_path, *settings_path;
        char *timesyncd_path;        /* NULL: timesyncd's servers are not read */
        char *synced_marker;         /* RUNTIME_DIR/synchronized: the boot's initial step is spent */
        /* The one way news leaves the manager: an adapter (the bus) reads the state again. */
        void (*on_changed)(void *userdata);
        void *on_changed_userdata;
        struct ntp_server *server;
        struct netwatch *netwatch;
        struct firewall *firewall;
        char firewall_warning[1024]; /* as last logged */
        char firewall_logged[1400];  /* the state line as last logged */
        sd_event_source *ready_timer; /* READY=1 without the firewall's answer after a while */
        bool ready_sent;
        bool online;
        const char *offline_reason;  /* when not online */
        enum clock_backend backend;
        const struct clock_ops *clock;
        double initial_frequency_ppm;
        bool frequency_known;
        bool ever_synchronized;

        struct msource **sources;
        size_t n_sources;

        sd_event_source *engine_timer, *drift_timer, *pool_timer, *watchdog_timer;
        uint64_t watchdog_usec;

        bool query;
        bool started;                /* sources added from now on were asked for while running */
        bool was_synchronized;
        unsigned steps_seen;
        char last_status[512];

        /* Serving NTS (manager-serving.c): the cookie keys, kept while `nts enable` and serving
         * are on; the NTS-KE service, made with the NTP server (it takes its socket from systemd). */
        struct nts_server_keys *nts_server_keys;
        struct nts_ke_server *nts_ke_server;
};

int manager_new(const struct manager_options *o, manager **ret);
manager *manager_free(manager *m);
DEFINE_POINTER_CLEANUP(manager, manager_free);

/* Binds what can be bound, starts resolving names, arms the timers, sends READY=1. */
int manager_start(manager *m);
int manager_reload(manager *m);
/* Makes c the running configuration: sources, thresholds, restrict rules, server mode. */
void manager_apply_config(manager *m, const struct config *c);
void manager_save_drift(manager *m);

/* Something an adapter shows may have changed: calls on_changed, when set. */
void manager_notify_changed(manager *m);

/* After any call into the engine: carry out its actions, re-arm its timer, report. */
void manager_dispatch(manager *m);

/* The engine source for an id, if it is one of ours. */
struct peer *manager_find_peer(manager *m, uint32_t engine_id);

/* Builds the engine configuration the daemon's configuration asks for. */
void manager_engine_config(const struct config *c, bool clock_control, struct engine_config *ret);

int msource_add(manager *m, const struct config_server *c);
void manager_apply_servers(manager *m, const struct config *c);
void manager_refresh_pools(manager *m);
void manager_log_reachability(manager *m);

/* ---- the firewall (manager-firewall.c); until a firewall line or SetFirewall asks for a
 * state, ntpsync leaves the firewall alone ---- */

int manager_firewall_new(manager *m);
void manager_firewall_free(manager *m);
/* What ntpsync knows about the firewall now (struct firewall_state, firewall.h); never waits. */
const struct firewall_state *manager_firewall_state(const manager *m);
/* At start: applies what the configuration asks for and sends READY=1 once that was answered
 * (5 s at most); at once when nothing is asked for. */
void manager_firewall_start(manager *m);
/* After a configuration change: applies what it asks for when that changed (force: in any case,
 * as a reload does), or lets the firewall go unmanaged when nothing asks any more. Never waits. */
void manager_firewall_follow_config(manager *m, bool force);

/* What SetFirewall asks for, applied without waiting: done(userdata, r, why) comes once the
 * firewall answered and what it holds was read back (r 0), or refused or had no backend (r < 0,
 * why in words: -EOPNOTSUPP no backend, -ETIMEDOUT/-ENOTCONN no answer, others refused), or with
 * -ECANCELED from manager_free() while still pending (then touch nothing but userdata). Returns
 * 0 when done will be called, or a negative errno when not (-EOPNOTSUPP: no firewall module,
 * -ENOMEM). */
typedef void (*manager_firewall_done_t)(void *userdata, int r, const char *why);
int manager_apply_firewall_async(manager *m, bool client, bool server, manager_firewall_done_t done, void *userdata);
/* The same, blocking until the firewall answered (up to its timeout): for the D-Bus layer until
 * it uses manager_apply_firewall_async(). -errno and *ret_error on failure. */
int manager_apply_firewall(manager *m, bool client, bool server, const char **ret_error);
/* Serving (manager-serving.c): the NTP server made and freed with the manager, and told after
 * each change of the configuration whether to serve. */
int manager_serving_new(manager *m);
void manager_serving_free(manager *m);
void manager_serving_apply(manager *m);
/* The engine ran: what is served may have changed (the serving threads read a copy). */
void manager_serving_state_changed(manager *m);
/* Whether time is served now: the `serve` setting, or when it is set nowhere, whether
 * ntpsyncd.socket passed sockets; false when the sockets could not be had (server->open_error). */
bool manager_serving_now(const manager *m);

/* ---- NTS sources (manager-nts.c): key establishment, cookies, authenticated packets ---- */

enum peer_nts_state {
        PEER_NTS_KE_PENDING,         /* no keys yet: nothing is sent */
        PEER_NTS_ESTABLISHED,        /* keys and cookies */
        PEER_NTS_FAILED,             /* the last key establishment failed; retried with a back-off */
        _PEER_NTS_STATE_MAX,
};

const char *peer_nts_state_to_string(enum peer_nts_state s);

struct peer_nts_info {
        bool nts;                    /* false: plain NTP, the rest is empty */
        enum peer_nts_state state;
        const char *reason;          /* FAILED: why; valid until the next event */
        size_t cookies;
        uint64_t ke_time;            /* realtime seconds of the last key establishment, 0: none */
        uint64_t rejected;           /* responses dropped because they did not authenticate */
        const char *last_rejection;  /* the reason of the last one, "" for none */
};

/* For a peer of an `nts` line: its keys and cookies from the state directory, or a key
 * establishment started. */
int peer_nts_new(struct peer *p);
/* Keeps the cookies for the next start, and frees. */
void peer_nts_free(struct peer *p);
/* The request to send for the engine's 48-byte header: the header and the NTS fields, with one
 * cookie. -EAGAIN while there are no keys or cookies (a key establishment is then under way). */
int peer_nts_wrap_request(struct peer *p, const uint8_t *header, uint8_t *buf, size_t size, size_t *ret_len);

enum peer_nts_verdict {
        PEER_NTS_ACCEPT,             /* authenticated answer to the request in flight: give it to the engine */
        PEER_NTS_DROP,               /* anything else: counted, never used */
        PEER_NTS_NAK,                /* an NTS NAK for our request: new keys are under way */
};

enum peer_nts_verdict peer_nts_check_response(struct peer *p, const uint8_t *buf, size_t len);
void peer_nts_get_info(const struct peer *p, struct peer_nts_info *ret);

/* The network changed (netwatch): sockets whose address went away are reopened, names resolved
 * again, unreachable sources polled; with no route at all, nothing is sent. */
void manager_network_changed(manager *m);
void msource_resolve_now(struct msource *s);
int peer_reopen(struct peer *p);
void msource_free(struct msource *s);

/* Applies a change of the settings (settings.h): the parts of `change` that are present,
 * persisted or not. On failure nothing changed and *ret_error says why (-EINVAL: the result is
 * not a valid configuration; other errors: the settings file could not be written). */
int manager_change(manager *m, const struct config_overrides *change, bool runtime, struct config_error *ret_error);

/* Ends the runtime change of the server list: back to the persisted or configured servers. */
int manager_drop_runtime_servers(manager *m, struct config_error *ret_error);
