// SPDX-License-Identifier: LGPL-2.1-or-later
// The Sources property (a(sa{sv})) → the rows of an `ntpq -p`-like table, formatted as
// `ntpsyncctl sources` formats them.

import { unwrapDict, safeUnsigned } from "./properties.js";

const NS_PER_MS = 1e6;

/* What each tally character means, for a tooltip and for screen readers. */
export const TALLY_MEANINGS = {
    "*": "system peer",
    "+": "candidate",
    "-": "outlier",
    x: "falseticker",
    "#": "backup",
    " ": "not used",
};

/* Seconds in ntpq's short form: 64, 17m, 5h, 3d; "-" for never. */
export function formatInterval(seconds) {
    const s = safeUnsigned(seconds);
    if (s === null)
        return "-";
    if (s <= 2048)
        return String(Math.floor(s));
    const minutes = Math.floor((s + 29) / 60);
    if (minutes <= 300)
        return `${minutes}m`;
    const hours = Math.floor((minutes + 29) / 60);
    if (hours <= 96)
        return `${hours}h`;
    const days = Math.floor((hours + 11) / 24);
    return days <= 999 ? `${days}d` : "INF";
}

/* The reach register in octal, as ntpq prints it (377 = the last eight polls answered). */
export function formatReach(reach) {
    const n = Number(reach);
    return Number.isInteger(n) && n >= 0 ? (n & 0xff).toString(8) : "0";
}

/* Nanoseconds → milliseconds with three decimals, as ntpq. */
export function formatMs(ns) {
    const n = Number(ns);
    return Number.isFinite(n) ? (n / NS_PER_MS).toFixed(3) : "-";
}

/* "NTS, 7 cookies", "NTS: key establishment pending", "NTS failed: REASON"; "" without NTS. */
export function authenticationText(entry) {
    if (entry.authentication !== "nts")
        return "";
    const cookies = Number(entry.nts_cookies) || 0;
    switch (entry.nts_state) {
    case "established":
        return `NTS, ${cookies} cookie${cookies === 1 ? "" : "s"}`;
    case "ke-pending":
        return "NTS: key establishment pending";
    case "failed":
        return entry.nts_reason ? `NTS failed: ${entry.nts_reason}` : "NTS failed";
    default:
        // A state this page does not know yet: at least what the source uses.
        return "NTS";
    }
}

/* The mode of a source that asked for interleaved mode (xleave), as `ntpsyncctl sources` says
 * it; "" for the others, which are all basic. */
export function modeText(entry) {
    if (entry.xleave !== true)
        return "";
    return entry.mode === "interleaved" ? "interleaved" : "basic (no interleaved reply yet)";
}

/* One source as the table shows it. elapsedSeconds is the time since the property was read:
 * `when` changes every second but is not announced, so the page counts on by itself. */
export function sourceRow(name, dict, elapsedSeconds = 0) {
    const entry = unwrapDict(dict);
    const when = safeUnsigned(entry.when);
    const tally = typeof entry.tally === "string" && entry.tally.length > 0 ? entry.tally[0] : " ";
    return {
        tally,
        tallyMeaning: TALLY_MEANINGS[tally] || "unknown",
        remote: name || entry.address || "",
        address: entry.address || "",
        refid: entry.refid || "",
        stratum: Number(entry.stratum) || 0,
        when: formatInterval(when === null ? null : when + Math.max(0, Math.floor(elapsedSeconds))),
        poll: formatInterval(entry.poll),
        reach: formatReach(entry.reach),
        delay: formatMs(entry.delay),
        offset: formatMs(entry.offset),
        jitter: formatMs(entry.jitter),
        state: entry.state || "",
        prefer: entry.prefer === true,
        noselect: entry.noselect === true,
        authentication: authenticationText(entry),
        mode: modeText(entry),
        ntsFailed: entry.authentication === "nts" && entry.nts_state === "failed",
    };
}

/* All rows; entries that are not (name, dict) pairs are skipped rather than breaking the page. */
export function sourceRows(sources, elapsedSeconds = 0) {
    if (!Array.isArray(sources))
        return [];
    return sources
        .filter(item => Array.isArray(item) && item.length === 2 && typeof item[1] === "object" && item[1] !== null)
        .map(([name, dict]) => sourceRow(name, dict, elapsedSeconds));
}
