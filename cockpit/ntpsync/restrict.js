// SPDX-License-Identifier: LGPL-2.1-or-later
// Restrict rules in ntp.conf syntax without the keyword, as the daemon takes them:
//   [-4|-6] default|ADDRESS[/PREFIX] [mask MASK] [FLAG...]
// e.g. "default kod limited nomodify notrap nopeer noquery", "192.0.2.0 mask 255.255.255.0
// nomodify", "2001:db8::/32 ignore". Mirrors src/core/restrict.c so that a bad rule is named in
// the form, before it is sent.

import { parseAddress, netmaskPrefix } from "./address.js";

/* The flags the daemon knows, and whether each does something (the others are accepted, with a
 * warning, for ntp.conf compatibility). */
export const RESTRICT_FLAGS = {
    ignore: true,
    noserve: true,
    noquery: true,
    nomodify: true,
    notrap: true,
    nopeer: true,
    kod: true,
    limited: true,
    lowpriotrap: false,
    version: true,
    ntpport: true,
    noepeer: true,
    nomrulist: false,
    notrust: false,
};

const TEXT_MAX = 128 * 4;

/* { rule: {isDefault, family, address, prefix, flags}, error, warning } for a rule text.
 * family is 4, 6 or null (a default rule for both). */
export function parseRestrictRule(text) {
    const fail = error => ({ rule: null, error, warning: null });
    const source = String(text ?? "");
    if (source.length >= TEXT_MAX)
        return fail("The rule is too long.");
    const words = source.trim().split(/\s+/).filter(w => w !== "");
    let i = 0;
    let forcedFamily = null;
    if (words[i] === "-4" || words[i] === "-6")
        forcedFamily = words[i++] === "-4" ? 4 : 6;
    if (i >= words.length)
        return fail("Enter \"default\" or an address.");

    const rule = { isDefault: false, family: forcedFamily, address: null, prefix: 0, flags: [] };
    if (words[i] === "default") {
        rule.isDefault = true;
        i++;
    } else {
        const [addressText, prefixText, ...rest] = words[i++].split("/");
        const address = rest.length === 0 ? parseAddress(addressText) : null;
        if (!address)
            return fail("Not an IPv4 or IPv6 address (host names are not resolved in restrict rules).");
        if (forcedFamily && forcedFamily !== address.family)
            return fail("-4/-6 does not match the address.");
        const bits = address.family === 4 ? 32 : 128;
        rule.family = address.family;
        rule.address = addressText;
        rule.prefix = bits;
        if (prefixText !== undefined) {
            if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > bits)
                return fail(`The prefix length must be 0 to ${bits}.`);
            rule.prefix = Number(prefixText);
        }
        if (words[i] === "mask") {
            const mask = i + 1 < words.length ? parseAddress(words[i + 1]) : null;
            const prefix = mask && mask.family === address.family ? netmaskPrefix(mask.bytes) : null;
            if (prefix === null)
                return fail("The mask is not a contiguous netmask of the address's family.");
            rule.prefix = prefix;
            i += 2;
        }
    }

    let warning = null;
    for (; i < words.length; i++) {
        const flag = words[i];
        if (!(flag in RESTRICT_FLAGS))
            return fail(`Unknown restrict flag "${flag}".`);
        if (!RESTRICT_FLAGS[flag])
            warning = `"${flag}" is accepted but has no effect.`;
        if (!rule.flags.includes(flag))
            rule.flags.push(flag);
    }
    return { rule, error: null, warning };
}

/* A rule text from the form's fields (target: "default", ADDRESS, ADDRESS/PREFIX or "ADDRESS mask
 * MASK"; flags: names) → { text, error, warning }. */
export function restrictRuleFromFields(target, flags) {
    const text = [String(target ?? "").trim(), ...(flags || [])].filter(w => w !== "").join(" ");
    const { error, warning } = parseRestrictRule(text);
    return { text: error ? null : text, error, warning };
}

/* What RemoveRestrict takes for a rule as RestrictRules lists it ("192.0.2.0/24 nomodify" →
 * "192.0.2.0/24"), or null for a default rule, which can be changed but not removed. */
export function restrictRemovalTarget(text) {
    const words = String(text ?? "").trim().split(/\s+/);
    if (words[0] === "-4" || words[0] === "-6")
        words.shift();
    if (words.length === 0 || words[0] === "" || words[0] === "default")
        return null;
    if (words[1] === "mask" && words.length > 2)
        return `${words[0]} mask ${words[2]}`;
    return words[0];
}
