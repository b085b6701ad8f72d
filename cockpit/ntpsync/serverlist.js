// SPDX-License-Identifier: LGPL-2.1-or-later
// The server list as a whole: moving and replacing entries for SetServers (which takes the whole
// list), where each server comes from (ServerOrigins), and what a whole-list change means.

import { hostOfSpec, serverFieldsFromSpec } from "./servers.js";

/* What each layer of ServerOrigins is, for the list (ntpsyncd.conf(5), LAYERS). */
const LAYER_DESCRIPTIONS = {
    timesyncd: "timesyncd",
    files: "files",
    persisted: "persisted",
    runtime: "runtime",
};

/* A new list with the entry at index moved by delta places (-1 up, +1 down); the same list when
 * it would leave the list. */
export function moveServer(specs, index, delta) {
    const target = index + delta;
    if (!Number.isInteger(index) || index < 0 || index >= specs.length || target < 0 || target >= specs.length)
        return specs;
    const moved = [...specs];
    [moved[index], moved[target]] = [moved[target], moved[index]];
    return moved;
}

/* Which server a spec names as the daemon tells them apart (src/core/config.c same_server): the
 * kind, and the host without regard to case. A bare host is a server. */
function serverKey(spec) {
    const words = String(spec ?? "").trim().split(/\s+/);
    const kind = words.length === 1 ? "server" : words[0];
    return `${kind} ${hostOfSpec(spec).toLowerCase()}`;
}

/* The list with `original` (the spec being edited) replaced in place by `spec`:
 * { specs, error: null }, or { specs: null, error } when it is gone (the list changed meanwhile)
 * or another entry already names that server. */
export function replaceServer(specs, original, spec) {
    const index = specs.indexOf(original);
    if (index < 0)
        return { specs: null, error: `"${original}" is no longer in the list; it was changed meanwhile.` };
    const clash = specs.find((other, i) => i !== index && serverKey(other) === serverKey(spec));
    if (clash !== undefined)
        return { specs: null, error: `${hostOfSpec(spec)} is in the list already ("${clash}").` };
    const replaced = [...specs];
    replaced[index] = spec;
    return { specs: replaced, error: null };
}

/* What editing a spec starts with: { fields, error } as serverFieldsFromSpec, with an error that
 * says why the page cannot edit it (it would drop what it does not know). */
export function editFieldsFromSpec(spec) {
    const { fields, error } = serverFieldsFromSpec(spec);
    if (error)
        return { fields: null, error: `This server cannot be edited here: ${error}` };
    return { fields, error: null };
}

/* The ServerOrigins entry of the server at index: the one at the same index when it has the same
 * spec (they come in the same order), otherwise the first with that spec; null for none. */
export function originOfServer(origins, spec, index) {
    if (!Array.isArray(origins))
        return null;
    const valid = entry => Array.isArray(entry) && entry.length === 3;
    if (valid(origins[index]) && origins[index][0] === spec)
        return origins[index];
    return origins.find(entry => valid(entry) && entry[0] === spec) || null;
}

/* An origin [spec, layer, where] → "from /etc/ntpsyncd.conf:3 (files)"; a runtime change has no
 * file: "changed at runtime, until ntpsyncd restarts (runtime)". "" for none. */
export function originText(origin) {
    if (!origin)
        return "";
    const [, layer, where] = origin;
    const name = LAYER_DESCRIPTIONS[layer] || layer || "";
    const suffix = name ? ` (${name})` : "";
    if (where)
        return `from ${where}${suffix}`;
    if (layer === "runtime")
        return `changed at runtime, until ntpsyncd restarts${suffix}`;
    return name ? `layer ${name}` : "";
}

/* The hint next to the list: every change makes a whole new list, and what that does to the
 * servers of the files and of systemd-timesyncd (ntpsyncd.conf(5): LAYERS, SERVERS OF
 * SYSTEMD-TIMESYNCD). */
export function serverListHint(origins, runtime) {
    const layers = new Set((Array.isArray(origins) ? origins : []).map(entry => (Array.isArray(entry) ? entry[1] : "")));
    const parts = ["Up, Down and Edit send the whole list, as do Add and Remove: it replaces the servers of the " +
        "configuration files and systemd-timesyncd's NTP= servers together."];
    if (layers.has("timesyncd"))
        parts.push("Servers marked (timesyncd) come from systemd-timesyncd's NTP= or FallbackNTP=; in the list " +
            "sent, they become ntpsyncd's own.");
    if (runtime)
        parts.push("The change lasts until ntpsyncd restarts; then the configured servers come back.");
    else
        parts.push("The list is saved in /var/lib/ntpsyncd/settings.conf, so server lines and NTP= edited in /etc " +
            "later (also by Cockpit's system time dialog) have no effect.");
    return parts.join(" ");
}
