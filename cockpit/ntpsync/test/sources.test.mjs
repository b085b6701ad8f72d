// SPDX-License-Identifier: LGPL-2.1-or-later
import test from "node:test";
import assert from "node:assert";
import { formatInterval, formatReach, formatMs, authenticationText, modeText, sourceRows } from "../sources.js";

const v = (t, value) => ({ t, v: value });

/* One entry as cockpit.dbus delivers the Sources property. */
function entry(name, fields) {
    const dict = {
        address: v("s", "192.0.2.10"), refid: v("s", "GPS"), stratum: v("y", 1), tally: v("s", "*"),
        when: v("t", 17), poll: v("u", 64), reach: v("y", 255), delay: v("t", 1234567),
        offset: v("x", -250000), jitter: v("t", 42000), state: v("s", "ok"), prefer: v("b", false),
        noselect: v("b", false), authentication: v("s", "none"),
    };
    for (const [key, value] of Object.entries(fields || {}))
        dict[key] = value;
    return [name, dict];
}

test("intervals as ntpq shows them", () => {
    assert.strictEqual(formatInterval(0), "0");
    assert.strictEqual(formatInterval(2048), "2048");
    assert.strictEqual(formatInterval(2049), "34m");
    assert.strictEqual(formatInterval(300 * 60), "300m");
    assert.strictEqual(formatInterval(301 * 60), "5h");
    assert.strictEqual(formatInterval(96 * 3600), "96h");
    assert.strictEqual(formatInterval(97 * 3600), "4d");
    assert.strictEqual(formatInterval(1000 * 86400), "INF");
    assert.strictEqual(formatInterval(18446744073709552000), "-"); // UINT64_MAX: never
    assert.strictEqual(formatInterval(null), "-");
});

test("reach in octal, times in ms", () => {
    assert.strictEqual(formatReach(255), "377");
    assert.strictEqual(formatReach(1), "1");
    assert.strictEqual(formatReach(0), "0");
    assert.strictEqual(formatReach(0x1ff), "377");
    assert.strictEqual(formatReach("bad"), "0");
    assert.strictEqual(formatMs(1234567), "1.235");
    assert.strictEqual(formatMs(-250000), "-0.250");
    assert.strictEqual(formatMs(undefined), "-");
});

test("NTS authentication text", () => {
    assert.strictEqual(authenticationText({ authentication: "none" }), "");
    assert.strictEqual(authenticationText({}), "");
    assert.strictEqual(authenticationText({ authentication: "nts", nts_state: "established", nts_cookies: 7 }), "NTS, 7 cookies");
    assert.strictEqual(authenticationText({ authentication: "nts", nts_state: "established", nts_cookies: 1 }), "NTS, 1 cookie");
    assert.strictEqual(authenticationText({ authentication: "nts", nts_state: "ke-pending" }), "NTS: key establishment pending");
    assert.strictEqual(authenticationText({ authentication: "nts", nts_state: "failed", nts_reason: "certificate: expired" }),
        "NTS failed: certificate: expired");
    assert.strictEqual(authenticationText({ authentication: "nts", nts_state: "failed", nts_reason: "" }), "NTS failed");
    assert.strictEqual(authenticationText({ authentication: "nts", nts_state: "something-new" }), "NTS");
});

test("mode text, for sources that asked for interleaved mode only", () => {
    assert.strictEqual(modeText({}), "");
    assert.strictEqual(modeText({ xleave: false, mode: "basic" }), "");
    assert.strictEqual(modeText({ xleave: true, mode: "interleaved" }), "interleaved");
    assert.strictEqual(modeText({ xleave: true, mode: "basic" }), "basic (no interleaved reply yet)");
    assert.strictEqual(sourceRows([["a", { xleave: v("b", true), mode: v("s", "interleaved") }]])[0].mode, "interleaved");
});

test("rows from the Sources property", () => {
    const rows = sourceRows([
        entry("ntp1.example.org"),
        entry("nts.example.org", {
            tally: v("s", "x"), when: v("t", 18446744073709552000), reach: v("y", 0),
            authentication: v("s", "nts"), nts_state: v("s", "established"), nts_cookies: v("u", 7),
            unknown_future_key: v("s", "ignored"),
        }),
        entry("", { tally: v("s", "") }),
    ]);
    assert.strictEqual(rows.length, 3);
    assert.deepStrictEqual(rows[0], {
        tally: "*", tallyMeaning: "system peer", remote: "ntp1.example.org", address: "192.0.2.10", refid: "GPS",
        stratum: 1, when: "17", poll: "64", reach: "377", delay: "1.235", offset: "-0.250", jitter: "0.042",
        state: "ok", prefer: false, noselect: false, authentication: "", mode: "", ntsFailed: false,
    });
    assert.strictEqual(rows[1].tallyMeaning, "falseticker");
    assert.strictEqual(rows[1].when, "-");
    assert.strictEqual(rows[1].reach, "0");
    assert.strictEqual(rows[1].authentication, "NTS, 7 cookies");
    assert.strictEqual(rows[2].remote, "192.0.2.10"); // no name: the address
    assert.strictEqual(rows[2].tally, " ");
});

test("when counts on between property reads, never stays never", () => {
    const [row] = sourceRows([entry("a", { when: v("t", 60) })], 5.7);
    assert.strictEqual(row.when, "65");
    const [never] = sourceRows([entry("a", { when: v("t", 18446744073709552000) })], 30);
    assert.strictEqual(never.when, "-");
});

test("bad Sources values give no rows instead of an exception", () => {
    assert.deepStrictEqual(sourceRows(undefined), []);
    assert.deepStrictEqual(sourceRows("x"), []);
    assert.deepStrictEqual(sourceRows([["only-name"], null, 3, ["n", null]]), []);
    const [row] = sourceRows([["bare", {}]]);
    assert.strictEqual(row.remote, "bare");
    assert.strictEqual(row.delay, "-");
    assert.strictEqual(row.when, "-");
});
