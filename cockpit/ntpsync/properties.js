// SPDX-License-Identifier: LGPL-2.1-or-later
// D-Bus values as cockpit.dbus delivers them: variants are {t: SIGNATURE, v: VALUE}, 64-bit
// integers are plain JSON numbers (so UINT64_MAX arrives rounded to 2^64).

/* A variant's value; anything else as it is. */
export function unwrapVariant(value) {
    if (value !== null && typeof value === "object" && !Array.isArray(value) &&
        typeof value.t === "string" && "v" in value)
        return value.v;
    return value;
}

/* An a{sv} dictionary with its variants unwrapped. */
export function unwrapDict(dict) {
    const result = {};
    for (const [key, value] of Object.entries(dict || {}))
        result[key] = unwrapVariant(value);
    return result;
}

/* A 64-bit unsigned value as a number, or null when it is beyond what a double holds exactly:
 * the daemon's "never" (UINT64_MAX) comes as 18446744073709552000. */
export function safeUnsigned(value) {
    if (value === null || value === undefined || value === "")
        return null;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > Number.MAX_SAFE_INTEGER)
        return null;
    return n;
}

/* Applies one PropertiesChanged signal to the known properties. Returns the new properties (the
 * old object is left alone) and the names that were only invalidated, which the caller fetches
 * with Get (Sources is announced that way). */
export function applyPropertiesChanged(current, changed, invalidated) {
    const properties = { ...current, ...unwrapDict(changed) };
    const refetch = (invalidated || []).filter(name => !(name in (changed || {})));
    return { properties, refetch };
}
