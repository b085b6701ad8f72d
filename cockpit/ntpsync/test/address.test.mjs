// SPDX-License-Identifier: LGPL-2.1-or-later
import test from "node:test";
import assert from "node:assert";
import { parseIPv4, parseIPv6, parseAddress, netmaskPrefix } from "../address.js";

test("IPv4", () => {
    assert.deepStrictEqual(parseIPv4("192.0.2.1"), [192, 0, 2, 1]);
    assert.deepStrictEqual(parseIPv4("0.0.0.0"), [0, 0, 0, 0]);
    for (const bad of ["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", "a.b.c.d", "", "1..2.3"])
        assert.strictEqual(parseIPv4(bad), null, bad);
});

test("IPv6", () => {
    assert.deepStrictEqual(parseIPv6("::"), new Array(16).fill(0));
    assert.deepStrictEqual(parseIPv6("2001:db8::1"), [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert.deepStrictEqual(parseIPv6("::ffff:192.0.2.1").slice(10), [0xff, 0xff, 192, 0, 2, 1]);
    assert.deepStrictEqual(parseIPv6("1:2:3:4:5:6:1.2.3.4").slice(12), [1, 2, 3, 4]);
    assert.ok(parseIPv6("1:2:3:4:5:6:7:8"));
    assert.ok(parseIPv6("1:2:3:4:5:6:7::"));
    for (const bad of ["1:2:3:4:5:6:7:8:9", "1:::2", "a::b::c", "12345::", "::ffff:1.2.3", "1:2:3:4:5:6:7", "g::", ":1::", "fe80::1%eth0"])
        assert.strictEqual(parseIPv6(bad), null, bad);
});

test("either family, and netmasks", () => {
    assert.strictEqual(parseAddress("192.0.2.1").family, 4);
    assert.strictEqual(parseAddress("::1").family, 6);
    assert.strictEqual(parseAddress("example.org"), null);
    assert.strictEqual(netmaskPrefix([255, 255, 255, 0]), 24);
    assert.strictEqual(netmaskPrefix([255, 255, 254, 0]), 23);
    assert.strictEqual(netmaskPrefix([0, 0, 0, 0]), 0);
    assert.strictEqual(netmaskPrefix([255, 0, 255, 0]), null);
    assert.strictEqual(netmaskPrefix(parseIPv6("ffff:ffff::")), 32);
});
