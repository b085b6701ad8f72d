/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The client side of an NTS key establishment (RFC 8915 §4), inside the event loop: a TCP
 * connection to the KE server, TLS 1.3 only (GnuTLS, non-blocking, on an sd-event I/O source),
 * ALPN "ntske/1", the certificate verified against the trust anchors and the host name (unless
 * noval), the request and the response through the core's codec (core/nts-ke.h), the C2S and S2C
 * keys exported (RFC 5705), and one callback at the end with the keys and cookies or the reason
 * it failed. A deadline bounds the whole exchange: a slow or hostile server never holds anything
 * else up. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "core/nts-ke.h"
#include "net.h"

/* Why a key establishment failed, for the state a source shows. */
enum nts_ke_failure {
        NTS_KE_FAILURE_NONE,
        NTS_KE_FAILURE_CONNECT,      /* TCP: refused, unreachable */
        NTS_KE_FAILURE_TIMEOUT,      /* the deadline passed */
        NTS_KE_FAILURE_TLS,          /* the handshake failed: an alert, a protocol error, not TLS 1.3, no ALPN */
        NTS_KE_FAILURE_CERTIFICATE,  /* the certificate did not verify (issuer, name, dates) */
        NTS_KE_FAILURE_PROTOCOL,     /* the response was refused by the codec (no common AEAD, no cookies, …) */
        NTS_KE_FAILURE_LOCAL,        /* out of memory, the trust anchors could not be read */
        _NTS_KE_FAILURE_MAX,
};

const char *nts_ke_failure_to_string(enum nts_ke_failure f);

struct nts_ke_client_options {
        const char *host;            /* the server's name: SNI and the certificate's name */
        struct net_address address;  /* where to connect; its port is used when not 0, else NTS_KE_PORT */
        const char *ca;              /* trust anchors: a PEM file or a directory of them; NULL: the system's */
        bool noval;                  /* no certificate checks at all (tests only) */
        uint64_t timeout_usec;       /* for the whole exchange; 0: NTS_KE_CLIENT_TIMEOUT_USEC */
};

#define NTS_KE_CLIENT_TIMEOUT_USEC (10ULL * 1000000)

struct nts_ke_client_result {
        enum nts_ke_failure failure; /* NONE: keys and response are valid */
        char reason[256];            /* in words, e.g. "certificate: signer not found", "TLS alert: …" */
        struct nts_keys keys;        /* C2S and S2C for the negotiated AEAD */
        struct nts_ke_response response; /* the cookies, and the NTP server and port when negotiated */
};

typedef struct nts_ke_client nts_ke_client;

/* Called once, from the event loop, when the exchange ended either way. The client may be freed
 * from inside the callback. */
typedef void (*nts_ke_client_done_t)(nts_ke_client *c, const struct nts_ke_client_result *result, void *userdata);

/* Starts an exchange. Fails only when it cannot even start (-ENOMEM, a bad option); everything
 * later is reported through done. */
int nts_ke_client_start(sd_event *event, const struct nts_ke_client_options *o, nts_ke_client_done_t done,
                        void *userdata, nts_ke_client **ret);

/* Cancels an exchange still under way (done is not called) and frees it. */
nts_ke_client *nts_ke_client_free(nts_ke_client *c);
