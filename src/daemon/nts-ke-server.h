/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The NTS-KE service (RFC 8915 §4) on TCP port 4460: sockets from systemd (a stream socket named
 * "nts-ke", units/ntpsyncd-nts-ke.socket) or bound here on the wildcard. Each connection is a
 * non-blocking GnuTLS server session on the event loop: TLS 1.3 only, ALPN "ntske/1" required,
 * the certificate chain and key of `nts cert`/`nts key`; the request is read until complete,
 * parsed by the core's codec, the C2S/S2C keys exported (RFC 5705) and answered with eight fresh
 * cookies sealed by the server keys (nts-server-keys.h), or an Error record; then the connection
 * ends. A deadline bounds each connection and a cap bounds how many run at a time. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "core/restrict.h"
#include "macro.h"
#include "nts-server-keys.h"

#define NTS_KE_SERVER_MAX_SOCKETS 8
#define NTS_KE_SERVER_TIMEOUT_USEC (5ULL * 1000000)
#define NTS_KE_SERVER_MAX_CONNECTIONS 64
#define NTS_KE_SERVER_COOKIES 8
/* The name of the systemd socket (FileDescriptorName=) that is ours. */
#define NTS_KE_SERVER_FD_NAME "nts-ke"

/* How a connection failed, for the counters. */
enum nts_ke_server_failure {
        NTS_KE_SERVER_FAILURE_BUSY,        /* closed at once: too many connections at a time */
        NTS_KE_SERVER_FAILURE_TLS,         /* handshake failed, not TLS 1.3, no ALPN ntske/1, a TLS error */
        NTS_KE_SERVER_FAILURE_TIMEOUT,     /* the deadline passed */
        NTS_KE_SERVER_FAILURE_CLOSED,      /* the client went away before its request was complete */
        NTS_KE_SERVER_FAILURE_BAD_REQUEST, /* refused by the codec: answered with an Error record */
        NTS_KE_SERVER_FAILURE_UNSUPPORTED, /* no NTPv4 or no AEAD in common: told so */
        NTS_KE_SERVER_FAILURE_INTERNAL,    /* keys not exported, cookies not made */
        NTS_KE_SERVER_FAILURE_REFUSED,     /* closed at once: a restrict rule says ignore or noserve */
        _NTS_KE_SERVER_FAILURE_MAX,
};

const char *nts_ke_server_failure_to_string(enum nts_ke_server_failure f);

struct nts_ke_server_counters {
        uint64_t connections;        /* accepted, the busy ones included */
        uint64_t successes;          /* keys and cookies sent */
        uint64_t failures[_NTS_KE_SERVER_FAILURE_MAX];
};

struct nts_ke_server_options {
        uint16_t port;               /* 0: NTS_KE_PORT (for sockets bound here) */
        uint64_t timeout_usec;       /* per connection; 0: NTS_KE_SERVER_TIMEOUT_USEC */
        unsigned max_connections;    /* 0: NTS_KE_SERVER_MAX_CONNECTIONS */
        /* The rules NTP answers follow (kept by the caller, may change): a client whose rule has
         * ignore or noserve gets no key establishment either. NULL: none. */
        const struct restrict_set *restricts;
};

typedef struct nts_ke_server nts_ke_server;

/* Takes the stream sockets named "nts-ke" that systemd passed (leaving the environment for the
 * NTP server, which takes the datagram sockets and clears it); listens on nothing yet. o may be
 * NULL for the defaults. */
int nts_ke_server_new(sd_event *event, const struct nts_ke_server_options *o, nts_ke_server **ret);
nts_ke_server *nts_ke_server_free(nts_ke_server *s);
DEFINE_POINTER_CLEANUP(nts_ke_server, nts_ke_server_free);

/* Reads the certificate chain and the key (PEM): at start and again on each call (a reload).
 * On failure the error names the file, and the previous ones are no longer used: the service
 * stays off until a call succeeds. */
int nts_ke_server_load_credentials(nts_ke_server *s, const char *cert_path, const char *key_path);

/* Serves key establishments with cookies sealed by keys (kept by the caller, who stops the
 * service before freeing them). -ENOKEY without credentials; an error when no socket could be
 * had. Started already: nothing changes but the keys. */
int nts_ke_server_start(nts_ke_server *s, nts_server_keys *keys);

/* Stops listening and ends every connection; systemd's sockets are kept for the next start. */
void nts_ke_server_stop(nts_ke_server *s);

bool nts_ke_server_running(const nts_ke_server *s);
/* Whether systemd passed a socket named "nts-ke". */
bool nts_ke_server_activated(const nts_ke_server *s);
unsigned nts_ke_server_active_connections(const nts_ke_server *s);
const struct nts_ke_server_counters *nts_ke_server_get_counters(const nts_ke_server *s);
