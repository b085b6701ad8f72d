// SPDX-License-Identifier: LGPL-2.1-or-later
// Server specs in the daemon's syntax, to and from the fields of the "Add server" form:
//   server HOST [iburst] [prefer] [noselect] [xleave] [minpoll N] [maxpoll N] [nts [noval] [port N] [ca PATH]]
//   pool HOST [iburst] ... [maxsources N]
//   HOST                      (a server with iburst)
// Validation mirrors src/core/config.c, so that what the daemon would refuse is named at the
// field before anything is sent.

import { parseIPv4, parseIPv6 } from "./address.js";

export const POLL_MIN = 3;
export const POLL_MAX = 17;
export const POLL_DEFAULT_MIN = 6;
export const POLL_DEFAULT_MAX = 10;
export const MAXSOURCES_MIN = 1;
export const MAXSOURCES_MAX = 16;
const HOST_MAX = 253;
const CA_MAX = 255;

/* The fields of an empty form: a server with iburst, as a bare host is. */
export function emptyServerFields() {
    return {
        kind: "server", host: "", iburst: true, prefer: false, noselect: false, xleave: false,
        minpoll: "", maxpoll: "", maxsources: "", nts: false, noval: false, port: "", ca: "",
    };
}

function isHostName(host) {
    if (host.length > HOST_MAX || host.endsWith("."))
        return false;
    // Labels of letters, digits, "-" and "_" (seen in internal names); no "-" at either end.
    return host.split(".").every(label => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label));
}

/* An error text for a host that is neither a host name nor an address, or null. */
export function hostError(host) {
    const h = String(host ?? "").trim();
    if (h === "")
        return "Enter a host name or address.";
    if (/\s/.test(h))
        return "A host name has no spaces.";
    if (h.includes(":")) {
        // IPv6, with an optional zone for link-local addresses (fe80::1%eth0).
        const [address, zone, ...more] = h.split("%");
        if (more.length > 0 || parseIPv6(address) === null || (zone !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(zone)))
            return "Not a valid IPv6 address.";
        return null;
    }
    if (/^[0-9.]+$/.test(h))
        return parseIPv4(h) ? null : "Not a valid IPv4 address.";
    return isHostName(h) ? null : "Not a valid host name: letters, digits, \"-\" and dots between labels.";
}

/* "" → null (not given); a whole number in [min, max] → the number; anything else → NaN. */
function parseNumberField(value, min, max) {
    const text = String(value ?? "").trim();
    if (text === "")
        return null;
    if (!/^[0-9]+$/.test(text))
        return NaN;
    const n = Number(text);
    return n >= min && n <= max ? n : NaN;
}

/* Field name → message, for each field that is wrong; {} when the fields make a valid spec. */
export function validateServerFields(fields) {
    const errors = {};
    if (fields.kind !== "server" && fields.kind !== "pool")
        errors.kind = "Choose server or pool.";
    const host = hostError(fields.host);
    if (host)
        errors.host = host;

    const minpoll = parseNumberField(fields.minpoll, POLL_MIN, POLL_MAX);
    const maxpoll = parseNumberField(fields.maxpoll, POLL_MIN, POLL_MAX);
    if (Number.isNaN(minpoll))
        errors.minpoll = `A number from ${POLL_MIN} to ${POLL_MAX} (2^N seconds).`;
    if (Number.isNaN(maxpoll))
        errors.maxpoll = `A number from ${POLL_MIN} to ${POLL_MAX} (2^N seconds).`;
    if (minpoll !== null && maxpoll !== null && minpoll > maxpoll)
        errors.maxpoll = "Must not be smaller than the minimum poll interval.";

    const maxsources = parseNumberField(fields.maxsources, MAXSOURCES_MIN, MAXSOURCES_MAX);
    if (maxsources !== null && fields.kind !== "pool")
        errors.maxsources = "Only a pool has a number of sources.";
    else if (Number.isNaN(maxsources))
        errors.maxsources = `A number from ${MAXSOURCES_MIN} to ${MAXSOURCES_MAX}.`;

    const port = parseNumberField(fields.port, 1, 65535);
    const ca = String(fields.ca ?? "").trim();
    if (!fields.nts) {
        if (port !== null)
            errors.port = "The key establishment port applies to NTS servers only.";
        if (ca !== "")
            errors.ca = "Trust anchors apply to NTS servers only.";
        if (fields.noval)
            errors.noval = "Skipping the certificate check applies to NTS servers only.";
    } else {
        if (Number.isNaN(port))
            errors.port = "A port number from 1 to 65535.";
        if (ca !== "" && (!ca.startsWith("/") || ca.length > CA_MAX || /[\s"'#]/.test(ca)))
            errors.ca = "An absolute path without spaces, quotes or #.";
    }
    return errors;
}

/* The spec for valid fields: { spec, errors: {} }; otherwise { spec: null, errors }. The option
 * order is the daemon's (Servers shows specs in this form). */
export function serverSpecFromFields(fields) {
    const errors = validateServerFields(fields);
    if (Object.keys(errors).length > 0)
        return { spec: null, errors };
    const words = [fields.kind, String(fields.host).trim()];
    if (fields.iburst)
        words.push("iburst");
    if (fields.prefer)
        words.push("prefer");
    if (fields.noselect)
        words.push("noselect");
    if (fields.xleave)
        words.push("xleave");
    for (const name of ["minpoll", "maxpoll", "maxsources"]) {
        const value = String(fields[name] ?? "").trim();
        if (value !== "")
            words.push(name, String(Number(value)));
    }
    if (fields.nts) {
        words.push("nts");
        if (fields.noval)
            words.push("noval");
        if (String(fields.port ?? "").trim() !== "")
            words.push("port", String(Number(fields.port)));
        if (String(fields.ca ?? "").trim() !== "")
            words.push("ca", String(fields.ca).trim());
    }
    return { spec: words.join(" "), errors: {} };
}

const FLAG_OPTIONS = ["iburst", "prefer", "noselect", "xleave", "nts", "noval"];
const VALUE_OPTIONS = ["minpoll", "maxpoll", "maxsources", "port", "ca"];

/* A spec (as the Servers property holds it) → { fields, error }. Options this page does not
 * know make an error, so that editing never drops them silently. */
export function serverFieldsFromSpec(spec) {
    const words = String(spec ?? "").trim().split(/\s+/).filter(w => w !== "");
    const fields = emptyServerFields();
    if (words.length === 0)
        return { fields: null, error: "Empty server spec." };
    if (words.length === 1) {
        fields.host = words[0]; // a bare host: a server with iburst
        return { fields, error: null };
    }
    if (words[0] !== "server" && words[0] !== "pool")
        return { fields: null, error: `A spec starts with "server" or "pool", not "${words[0]}".` };
    fields.kind = words[0];
    fields.host = words[1];
    fields.iburst = false;
    for (let i = 2; i < words.length; i++) {
        const word = words[i];
        if (FLAG_OPTIONS.includes(word)) {
            fields[word] = true;
        } else if (VALUE_OPTIONS.includes(word)) {
            if (i + 1 >= words.length)
                return { fields: null, error: `"${word}" needs a value.` };
            fields[word] = words[++i];
        } else {
            return { fields: null, error: `Unknown server option "${word}".` };
        }
    }
    return { fields, error: null };
}

/* The host of a spec: what RemoveServer takes. */
export function hostOfSpec(spec) {
    const words = String(spec ?? "").trim().split(/\s+/).filter(w => w !== "");
    if (words.length === 1)
        return words[0];
    return words.length >= 2 ? words[1] : "";
}

/* As the daemon (and ntpd): the bound not given keeps its default (6 and 10), unless the given
 * one is beyond it. */
export function effectivePollRange(minpoll, maxpoll) {
    let low = String(minpoll ?? "").trim() === "" ? null : Number(minpoll);
    let high = String(maxpoll ?? "").trim() === "" ? null : Number(maxpoll);
    if (low !== null && high === null)
        high = Math.max(low, POLL_DEFAULT_MAX);
    if (high !== null && low === null)
        low = Math.min(high, POLL_DEFAULT_MIN);
    if (low === null)
        return [POLL_DEFAULT_MIN, POLL_DEFAULT_MAX];
    return [low, high];
}

/* A short description of a spec's options for the list: "pool, iburst, up to 4 sources". */
export function describeServerSpec(spec) {
    const { fields, error } = serverFieldsFromSpec(spec);
    if (error)
        return "";
    const parts = [fields.kind === "pool" ? "pool" : "server"];
    if (fields.iburst)
        parts.push("iburst");
    if (fields.prefer)
        parts.push("preferred");
    if (fields.noselect)
        parts.push("not selected (monitor only)");
    if (fields.minpoll !== "" || fields.maxpoll !== "") {
        const [low, high] = effectivePollRange(fields.minpoll, fields.maxpoll);
        parts.push(`poll every ${2 ** low}..${2 ** high} s`);
    }
    if (fields.maxsources !== "")
        parts.push(`up to ${fields.maxsources} sources`);
    if (fields.nts)
        parts.push(fields.noval ? "NTS without certificate check" : "NTS");
    return parts.join(", ");
}
