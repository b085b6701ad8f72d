// SPDX-License-Identifier: LGPL-2.1-or-later
// The Manager's properties → the Status card: a headline and labelled values, in the words
// `ntpsyncctl status` uses.

import { formatMs } from "./sources.js";

/* The five words the daemon uses for each firewall direction. */
export const FIREWALL_STATES = ["unmanaged", "open", "closed", "failed", "unknown"];

const FIREWALL_DESCRIPTIONS = {
    unmanaged: "unmanaged (ntpsync leaves the firewall alone)",
    open: "open",
    closed: "closed",
    failed: "failed",
    unknown: "unknown",
};

const LEAP_DESCRIPTIONS = {
    none: "none",
    insert: "a leap second will be inserted at the end of this month",
    delete: "a leap second will be deleted at the end of this month",
    unsynchronized: "unsynchronized",
};

/* A signed value with three decimals: "+0.250 ms". */
export function formatSigned(value, unit) {
    const n = Number(value);
    if (!Number.isFinite(n))
        return "-";
    return `${n < 0 ? "-" : "+"}${Math.abs(n).toFixed(3)} ${unit}`;
}

/* One firewall direction; from an older daemon with only the booleans, what they say. */
export function firewallStateText(state, fallbackAllowed) {
    if (typeof state === "string" && state !== "")
        return FIREWALL_DESCRIPTIONS[state] || `${state} (not known to this page)`;
    if (typeof fallbackAllowed === "boolean")
        return fallbackAllowed ? "allowed" : "blocked";
    return "unknown";
}

/* Whether a firewall state needs attention (shown as a warning). */
export function firewallStateIsProblem(state) {
    return state === "failed" || state === "unknown";
}

function onOff(value) {
    return value ? "on" : "off";
}

/* The headline: { level: "ok"|"warning"|"offline", text }. */
export function statusHeadline(p) {
    if (p.Online === false)
        return { level: "offline", text: `Offline: ${p.OnlineReason || "no route to the sources"}` };
    if (p.Synchronized)
        return { level: "ok", text: p.SystemPeer ? `Synchronized to ${p.SystemPeer}` : "Synchronized" };
    return { level: "warning", text: `Not synchronized${p.UnsynchronizedReason ? `: ${p.UnsynchronizedReason}` : ""}` };
}

/* [label, value] pairs for the properties that are present; missing ones are left out, so a
 * daemon that lacks a property (an older one) shows what it has. */
export function statusItems(p) {
    const items = [];
    const add = (name, label, format) => {
        if (p[name] !== undefined && p[name] !== null)
            items.push([label, format(p[name])]);
    };
    add("Synchronized", "Synchronized", v => (v ? "yes" : "no"));
    if (p.Synchronized === false && p.UnsynchronizedReason)
        items.push(["Reason", p.UnsynchronizedReason]);
    add("SystemPeer", "System peer", v => v || "none");
    add("Stratum", "Stratum", v => String(v));
    add("ReferenceId", "Reference ID", v => v || "none");
    add("Offset", "Offset", v => formatSigned(Number(v) / 1e6, "ms"));
    add("Jitter", "Jitter", v => `${formatMs(v)} ms`);
    add("Frequency", "Frequency", v => formatSigned(v, "ppm"));
    add("LeapStatus", "Leap status", v => LEAP_DESCRIPTIONS[v] || v);
    add("PollInterval", "Poll interval", v => `${v} s`);
    add("RootDelay", "Root delay", v => `${formatMs(v)} ms`);
    add("RootDispersion", "Root dispersion", v => `${formatMs(v)} ms`);
    add("Online", "Online", v => (v ? "yes" : `no${p.OnlineReason ? ` (${p.OnlineReason})` : ""}`));
    add("ClockControl", "Clock control", v => (v === "observe" ? "observe (measures only, never sets the clock)" : v));
    return items;
}

/* The Serving and firewall card: [label, value, isProblem]. */
export function servingItems(p) {
    const items = [];
    if (p.ServerMode !== undefined)
        items.push(["Serving time", onOff(p.ServerMode), false]);
    if (p.NtsServing !== undefined)
        items.push(["NTS serving", onOff(p.NtsServing), false]);
    if (p.FirewallClientState !== undefined || p.FirewallClient !== undefined)
        items.push(["Firewall, NTP client traffic", firewallStateText(p.FirewallClientState, p.FirewallClient),
            firewallStateIsProblem(p.FirewallClientState)]);
    if (p.FirewallServerState !== undefined || p.FirewallServer !== undefined)
        items.push(["Firewall, NTP service traffic", firewallStateText(p.FirewallServerState, p.FirewallServer),
            firewallStateIsProblem(p.FirewallServerState)]);
    if (p.FirewallReason)
        items.push(["Firewall reason", p.FirewallReason, true]);
    if (p.FirewallWarning)
        items.push(["Firewall warning", p.FirewallWarning, true]);
    if (p.FirewallBackend !== undefined)
        items.push(["Firewall backend", p.FirewallBackend || "none", p.FirewallBackend === "none"]);
    return items;
}

/* The one-line summary for the page's header and tests: "Synchronized to …, offset +0.250 ms,
 * stratum 3". */
export function statusSummary(p) {
    const headline = statusHeadline(p);
    if (headline.level !== "ok")
        return headline.text;
    const parts = [headline.text];
    if (p.Offset !== undefined)
        parts.push(`offset ${formatSigned(Number(p.Offset) / 1e6, "ms")}`);
    if (p.Stratum !== undefined)
        parts.push(`stratum ${p.Stratum}`);
    return parts.join(", ");
}

/* [client, server]: whether ntpsync's part of the firewall lets each direction through now
 * ("unmanaged" client traffic is not stopped by it); from an older daemon, the booleans. */
export function firewallAllows(p) {
    const client = p.FirewallClientState ? p.FirewallClientState === "open" || p.FirewallClientState === "unmanaged" : Boolean(p.FirewallClient);
    const server = p.FirewallServerState ? p.FirewallServerState === "open" : Boolean(p.FirewallServer);
    return [client, server];
}

/* The arguments of SetFirewall for changing one direction: it takes both at once, so the other
 * one stays as it is. */
export function firewallRequest(p, direction, allow) {
    const [client, server] = firewallAllows(p);
    return [direction === "client" ? allow : client, direction === "server" ? allow : server];
}
