// SPDX-License-Identifier: LGPL-2.1-or-later
// The server form's "Query" button: Query(s host) → (x offset_ns, t delay_ns, y stratum,
// s refid) measures a host without adding it, like ntpdate -q. This module checks the host and
// turns the reply or the error into the text shown next to the form.

import { hostError } from "./servers.js";
import { formatSigned } from "./status.js";
import { formatMs } from "./sources.js";
import { errorMessage } from "./errors.js";

/* The daemon answers within 15 seconds (man org.ntpsync1); the call waits a little longer so that
 * its own answer, not a timeout of the call, is what is shown. */
export const QUERY_TIMEOUT_MS = 20000;
const NS_PER_S = 1e9;
const NS_PER_MS = 1e6;
const STRATUM_UNSYNCHRONIZED = 16;

/* The host to query from the form's host field: { host, error }. */
export function queryHost(text) {
    const error = hostError(text);
    return error ? { host: null, error } : { host: String(text).trim(), error: null };
}

/* An offset in ns as ms, or as seconds once it is a second or more. */
export function formatOffset(ns) {
    const n = Number(ns);
    return Math.abs(n) >= NS_PER_S ? formatSigned(n / NS_PER_S, "s") : formatSigned(n / NS_PER_MS, "ms");
}

/* Which way the local clock is off: an offset is what must be added to it. */
function clockDirection(ns) {
    const n = Number(ns);
    if (!Number.isFinite(n) || n === 0)
        return "";
    const amount = formatOffset(Math.abs(n)).slice(1); // without the sign
    return ` (this clock is ${amount} ${n > 0 ? "behind" : "ahead"})`;
}

function stratumText(stratum) {
    const n = Number(stratum);
    return n >= STRATUM_UNSYNCHRONIZED || n === 0 ? `stratum ${n} (the server is not synchronized)` : `stratum ${n}`;
}

/* The reply [offset_ns, delay_ns, stratum, refid] as one line:
 * "ntp1.example.org: offset +0.412 ms (this clock is 0.412 ms behind), delay 1.205 ms, stratum 2,
 * reference ID 192.0.2.53". */
export function queryResultText(host, reply) {
    const [offset, delay, stratum, refid] = Array.isArray(reply) ? reply : [];
    const parts = [
        `offset ${formatOffset(offset)}${clockDirection(offset)}`,
        `delay ${formatMs(delay)} ms`,
        stratumText(stratum),
    ];
    if (refid)
        parts.push(`reference ID ${refid}`);
    return `${host}: ${parts.join(", ")}`;
}

/* A failed query: the daemon's reason (QueryFailed), too many at once (Busy), or whatever else. */
export function queryErrorText(host, error) {
    return errorMessage(error, `query ${host}`).message;
}

/* While the call runs. */
export function queryPendingText(host) {
    return `Querying ${host}… (up to 15 seconds)`;
}
