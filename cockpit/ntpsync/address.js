// SPDX-License-Identifier: LGPL-2.1-or-later
// IPv4 and IPv6 address syntax, as inet_pton(3) takes it: the page checks what the daemon would
// refuse before sending it.

/* "192.0.2.1" → [192, 0, 2, 1], or null. Each part a decimal 0..255 without leading zeros. */
export function parseIPv4(text) {
    const parts = String(text).split(".");
    if (parts.length !== 4)
        return null;
    const bytes = [];
    for (const part of parts) {
        if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255)
            return null;
        bytes.push(Number(part));
    }
    return bytes;
}

/* Groups of up to four hex digits, 16 bit each, or null. */
function parseHexGroups(text) {
    if (text === "")
        return [];
    const groups = [];
    for (const group of text.split(":")) {
        if (!/^[0-9a-fA-F]{1,4}$/.test(group))
            return null;
        groups.push(parseInt(group, 16));
    }
    return groups;
}

/* "2001:db8::1", "::ffff:192.0.2.1" → 16 bytes, or null. */
export function parseIPv6(text) {
    let s = String(text);
    // An IPv4 address in the last 32 bits becomes the two hex groups it stands for.
    const lastColon = s.lastIndexOf(":");
    if (lastColon >= 0 && s.slice(lastColon + 1).includes(".")) {
        const v4 = parseIPv4(s.slice(lastColon + 1));
        if (!v4)
            return null;
        const high = ((v4[0] << 8) | v4[1]).toString(16);
        const low = ((v4[2] << 8) | v4[3]).toString(16);
        s = `${s.slice(0, lastColon + 1)}${high}:${low}`;
    }
    const halves = s.split("::");
    if (halves.length > 2)
        return null;
    let groups;
    if (halves.length === 2) {
        const head = parseHexGroups(halves[0]);
        const rest = parseHexGroups(halves[1]);
        if (!head || !rest)
            return null;
        const missing = 8 - head.length - rest.length;
        if (missing < 1)
            return null;
        groups = [...head, ...new Array(missing).fill(0), ...rest];
    } else {
        const all = parseHexGroups(s);
        if (!all)
            return null;
        groups = all;
        if (groups.length !== 8)
            return null;
    }
    const bytes = [];
    for (const g of groups)
        bytes.push(g >> 8, g & 0xff);
    return bytes;
}

/* { family: 4|6, bytes } for an address of either family, or null. */
export function parseAddress(text) {
    const v4 = parseIPv4(text);
    if (v4)
        return { family: 4, bytes: v4 };
    const v6 = parseIPv6(text);
    return v6 ? { family: 6, bytes: v6 } : null;
}

/* The prefix length of a netmask of contiguous ones (255.255.255.0 → 24), or null. */
export function netmaskPrefix(bytes) {
    let prefix = 0;
    let zeroSeen = false;
    for (const byte of bytes) {
        for (let bit = 7; bit >= 0; bit--) {
            const one = (byte >> bit) & 1;
            if (one && zeroSeen)
                return null;
            if (one)
                prefix++;
            else
                zeroSeen = true;
        }
    }
    return prefix;
}
