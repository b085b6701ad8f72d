// SPDX-License-Identifier: LGPL-2.1-or-later
import test from "node:test";
import assert from "node:assert";
import { parseRestrictRule, restrictRuleFromFields, restrictRemovalTarget } from "../restrict.js";

test("the rules of the manual page are valid", () => {
    for (const text of ["default kod limited nomodify notrap nopeer noquery", "192.0.2.0 mask 255.255.255.0 nomodify",
        "2001:db8::/32 ignore", "127.0.0.1", "-4 default kod limited", "-6 default", "192.0.2.0/24 nomodify",
        "::1", "::ffff:192.0.2.0/120 noquery"]) {
        const { rule, error } = parseRestrictRule(text);
        assert.strictEqual(error, null, text);
        assert.ok(rule, text);
    }
});

test("what a rule means", () => {
    assert.deepStrictEqual(parseRestrictRule("192.0.2.0 mask 255.255.255.0 nomodify nomodify").rule,
        { isDefault: false, family: 4, address: "192.0.2.0", prefix: 24, flags: ["nomodify"] });
    assert.deepStrictEqual(parseRestrictRule("-6 default kod").rule,
        { isDefault: true, family: 6, address: null, prefix: 0, flags: ["kod"] });
    assert.strictEqual(parseRestrictRule("2001:db8::1").rule.prefix, 128);
});

test("bad rules are named", () => {
    const cases = {
        "": /default" or an address/,
        "-4": /default" or an address/,
        "ntp.example.org": /host names are not resolved/,
        "192.0.2.0/33": /prefix length must be 0 to 32/,
        "2001:db8::/129": /0 to 128/,
        "192.0.2.0/x": /prefix length/,
        "192.0.2.0/24/8": /Not an IPv4/,
        "192.0.2.0 mask 255.0.255.0": /contiguous netmask/,
        "192.0.2.0 mask": /contiguous netmask/,
        "192.0.2.0 mask ffff::": /contiguous netmask/,
        "-6 192.0.2.1": /does not match/,
        "default frobnicate": /Unknown restrict flag "frobnicate"/,
        "default KOD": /Unknown restrict flag/,
    };
    for (const [text, pattern] of Object.entries(cases)) {
        const { rule, error } = parseRestrictRule(text);
        assert.strictEqual(rule, null, text);
        assert.match(error, pattern, text);
    }
    assert.match(parseRestrictRule("default " + "kod ".repeat(200)).error, /too long/);
});

test("flags without effect are accepted with a warning", () => {
    const { error, warning } = parseRestrictRule("default notrust");
    assert.strictEqual(error, null);
    assert.match(warning, /no effect/);
    assert.strictEqual(parseRestrictRule("default kod").warning, null);
});

test("rules from the form", () => {
    assert.deepStrictEqual(restrictRuleFromFields("192.0.2.0/24", ["nomodify", "noquery"]),
        { text: "192.0.2.0/24 nomodify noquery", error: null, warning: null });
    assert.deepStrictEqual(restrictRuleFromFields(" 127.0.0.1 ", []), { text: "127.0.0.1", error: null, warning: null });
    assert.strictEqual(restrictRuleFromFields("", ["kod"]).text, null);
    assert.strictEqual(restrictRuleFromFields("example.org", []).text, null);
});

test("what RemoveRestrict takes", () => {
    assert.strictEqual(restrictRemovalTarget("192.0.2.0/24 nomodify"), "192.0.2.0/24");
    assert.strictEqual(restrictRemovalTarget("192.0.2.0 mask 255.255.255.0 kod"), "192.0.2.0 mask 255.255.255.0");
    assert.strictEqual(restrictRemovalTarget("-4 default kod limited"), null);
    assert.strictEqual(restrictRemovalTarget("default"), null);
    assert.strictEqual(restrictRemovalTarget(""), null);
    assert.strictEqual(restrictRemovalTarget("-6 2001:db8::/32 ignore"), "2001:db8::/32");
});
