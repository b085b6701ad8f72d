// SPDX-License-Identifier: LGPL-2.1-or-later
import test from "node:test";
import assert from "node:assert";
import { QUERY_TIMEOUT_MS, queryHost, formatOffset, queryResultText, queryErrorText, queryPendingText } from "../query.js";

test("the host to query comes from the form, checked", () => {
    assert.deepStrictEqual(queryHost(" ntp1.example.org "), { host: "ntp1.example.org", error: null });
    assert.deepStrictEqual(queryHost("2001:db8::1"), { host: "2001:db8::1", error: null });
    assert.strictEqual(queryHost("").host, null);
    assert.match(queryHost("").error, /Enter a host/);
    assert.match(queryHost("a b").error, /no spaces/);
});

test("offsets in ms, or in s from a second on", () => {
    assert.strictEqual(formatOffset(412034), "+0.412 ms");
    assert.strictEqual(formatOffset(-1500000), "-1.500 ms");
    assert.strictEqual(formatOffset(-3_250_000_000), "-3.250 s");
    assert.strictEqual(formatOffset(0), "+0.000 ms");
});

test("the reply as one line (the man page's example)", () => {
    assert.strictEqual(queryResultText("ntp1.example.org", [412034, 1204518, 2, "192.0.2.53"]),
        "ntp1.example.org: offset +0.412 ms (this clock is 0.412 ms behind), delay 1.205 ms, stratum 2, " +
        "reference ID 192.0.2.53");
    assert.strictEqual(queryResultText("a.example", [-2_000_000_000, 30_000_000, 1, "GPS"]),
        "a.example: offset -2.000 s (this clock is 2.000 s ahead), delay 30.000 ms, stratum 1, reference ID GPS");
    assert.strictEqual(queryResultText("a.example", [0, 0, 16, ""]),
        "a.example: offset +0.000 ms, delay 0.000 ms, stratum 16 (the server is not synchronized)");
});

test("errors: the daemon's reason, busy, denied", () => {
    assert.strictEqual(queryErrorText("a.example", { name: "org.ntpsync1.Error.QueryFailed", message: "no reply within 15 s" }),
        "Could not query a.example: no reply within 15 s");
    assert.match(queryErrorText("a.example", { name: "org.ntpsync1.Error.Busy", message: "" }), /Too many queries/);
    assert.strictEqual(queryErrorText("a.example", { name: "org.freedesktop.DBus.Error.InvalidArgs", message: "bad host" }),
        "bad host");
    assert.match(queryErrorText("a.example", { problem: "timeout" }), /did not answer in time/);
});

test("while it runs, and the call's own timeout", () => {
    assert.strictEqual(queryPendingText("a.example"), "Querying a.example… (up to 15 seconds)");
    assert.ok(QUERY_TIMEOUT_MS > 15000);
});
