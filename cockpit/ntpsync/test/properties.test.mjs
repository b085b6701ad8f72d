// SPDX-License-Identifier: LGPL-2.1-or-later
import test from "node:test";
import assert from "node:assert";
import { unwrapVariant, unwrapDict, safeUnsigned, applyPropertiesChanged } from "../properties.js";

test("variants are unwrapped, plain values stay", () => {
    assert.strictEqual(unwrapVariant({ t: "s", v: "192.0.2.1" }), "192.0.2.1");
    assert.strictEqual(unwrapVariant({ t: "b", v: false }), false);
    assert.deepStrictEqual(unwrapVariant({ t: "as", v: ["a"] }), ["a"]);
    assert.strictEqual(unwrapVariant(7), 7);
    assert.strictEqual(unwrapVariant(null), null);
    assert.deepStrictEqual(unwrapVariant(["t", "v"]), ["t", "v"]);
    assert.deepStrictEqual(unwrapVariant({ v: 1 }), { v: 1 }); // no signature: not a variant
});

test("a{sv} dictionaries", () => {
    assert.deepStrictEqual(unwrapDict({ a: { t: "u", v: 1 }, b: { t: "s", v: "x" } }), { a: 1, b: "x" });
    assert.deepStrictEqual(unwrapDict(undefined), {});
});

test("64-bit values beyond a double's exact range mean never", () => {
    assert.strictEqual(safeUnsigned(64), 64);
    assert.strictEqual(safeUnsigned("12"), 12);
    assert.strictEqual(safeUnsigned(18446744073709552000), null);
    assert.strictEqual(safeUnsigned(18446744073709551615n), null);
    assert.strictEqual(safeUnsigned(-1), null);
    assert.strictEqual(safeUnsigned(undefined), null);
    assert.strictEqual(safeUnsigned("abc"), null);
});

test("PropertiesChanged: changed values merged, invalidated ones to fetch", () => {
    const before = { Synchronized: false, Stratum: 16 };
    const { properties, refetch } = applyPropertiesChanged(before,
        { Synchronized: { t: "b", v: true }, Stratum: { t: "y", v: 3 } }, ["Sources"]);
    assert.deepStrictEqual(properties, { Synchronized: true, Stratum: 3 });
    assert.deepStrictEqual(refetch, ["Sources"]);
    assert.deepStrictEqual(before, { Synchronized: false, Stratum: 16 }); // untouched
    assert.deepStrictEqual(applyPropertiesChanged({}, {}, undefined).refetch, []);
    // A name both changed and invalidated needs no fetch.
    assert.deepStrictEqual(applyPropertiesChanged({}, { A: { t: "b", v: true } }, ["A"]).refetch, []);
});
