// SPDX-License-Identifier: LGPL-2.1-or-later
import test from "node:test";
import assert from "node:assert";
import {
    FIREWALL_STATES, formatSigned, firewallStateText, firewallStateIsProblem, statusHeadline, statusItems,
    servingItems, statusSummary, firewallAllows, firewallRequest,
} from "../status.js";

const synchronized = {
    Synchronized: true, UnsynchronizedReason: "", Stratum: 3, ReferenceId: "192.0.2.10",
    SystemPeer: "ntp1.example.org (192.0.2.10)", Offset: 250000, Jitter: 41000, Frequency: -12.3456, RootDelay: 1500000,
    RootDispersion: 20000, LeapStatus: "none", PollInterval: 64, Online: true, OnlineReason: "", ClockControl: "kernel",
};

test("synchronized summary", () => {
    assert.strictEqual(statusSummary(synchronized), "Synchronized to ntp1.example.org (192.0.2.10), offset +0.250 ms, stratum 3");
    assert.deepStrictEqual(statusHeadline(synchronized), { level: "ok", text: "Synchronized to ntp1.example.org (192.0.2.10)" });
    assert.strictEqual(statusSummary({ Synchronized: true }), "Synchronized");
});

test("not synchronized, with the reason; offline first", () => {
    const p = { ...synchronized, Synchronized: false, UnsynchronizedReason: "no reply from any source yet", SystemPeer: "", Stratum: 16 };
    assert.strictEqual(statusSummary(p), "Not synchronized: no reply from any source yet");
    assert.strictEqual(statusSummary({ Synchronized: false }), "Not synchronized");
    assert.deepStrictEqual(statusHeadline({ ...p, Online: false, OnlineReason: "link down" }), { level: "offline", text: "Offline: link down" });
    const items = Object.fromEntries(statusItems(p));
    assert.strictEqual(items.Reason, "no reply from any source yet");
    assert.strictEqual(items["System peer"], "none");
    assert.strictEqual(items.Stratum, "16");
});

test("status items in ntpsyncctl's words", () => {
    const items = Object.fromEntries(statusItems(synchronized));
    assert.strictEqual(items.Synchronized, "yes");
    assert.strictEqual(items.Reason, undefined);
    assert.strictEqual(items.Offset, "+0.250 ms");
    assert.strictEqual(items.Jitter, "0.041 ms");
    assert.strictEqual(items.Frequency, "-12.346 ppm");
    assert.strictEqual(items["Leap status"], "none");
    assert.strictEqual(items["Poll interval"], "64 s");
    assert.strictEqual(items["Root delay"], "1.500 ms");
    assert.strictEqual(items["Root dispersion"], "0.020 ms");
    assert.strictEqual(items.Online, "yes");
    assert.strictEqual(Object.fromEntries(statusItems({ LeapStatus: "insert" }))["Leap status"],
        "a leap second will be inserted at the end of this month");
    assert.match(Object.fromEntries(statusItems({ ClockControl: "observe" }))["Clock control"], /never sets the clock/);
    assert.deepStrictEqual(statusItems({}), []); // an older daemon's missing properties are left out
});

test("signed values", () => {
    assert.strictEqual(formatSigned(0, "ms"), "+0.000 ms");
    assert.strictEqual(formatSigned(-0.0004, "ms"), "-0.000 ms");
    assert.strictEqual(formatSigned(NaN, "ms"), "-");
});

test("the five firewall words, and older daemons", () => {
    assert.deepStrictEqual(FIREWALL_STATES, ["unmanaged", "open", "closed", "failed", "unknown"]);
    assert.match(firewallStateText("unmanaged"), /^unmanaged/);
    for (const word of ["open", "closed", "failed", "unknown"])
        assert.strictEqual(firewallStateText(word), word);
    assert.strictEqual(firewallStateText("half-open"), "half-open (not known to this page)");
    assert.strictEqual(firewallStateText(undefined, true), "allowed");
    assert.strictEqual(firewallStateText("", false), "blocked");
    assert.strictEqual(firewallStateText(undefined, undefined), "unknown");
    assert.ok(firewallStateIsProblem("failed"));
    assert.ok(firewallStateIsProblem("unknown"));
    assert.ok(!firewallStateIsProblem("closed"));
});

test("serving and firewall items", () => {
    const items = servingItems({
        ServerMode: true, NtsServing: false, FirewallClientState: "unmanaged", FirewallServerState: "failed",
        FirewallReason: "no firewall backend", FirewallWarning: "", FirewallBackend: "none",
    });
    assert.deepStrictEqual(items.map(i => i[0]), ["Serving time", "NTS serving", "Firewall, NTP client traffic",
        "Firewall, NTP service traffic", "Firewall reason", "Firewall backend"]);
    assert.deepStrictEqual(items[1], ["NTS serving", "off", false]);
    assert.deepStrictEqual(items[3], ["Firewall, NTP service traffic", "failed", true]);
    assert.deepStrictEqual(items[5], ["Firewall backend", "none", true]);
    assert.deepStrictEqual(servingItems({}), []);
});

test("SetFirewall keeps the other direction", () => {
    const p = { FirewallClientState: "unmanaged", FirewallServerState: "closed" };
    assert.deepStrictEqual(firewallRequest(p, "server", true), [true, true]);
    assert.deepStrictEqual(firewallRequest(p, "client", false), [false, false]);
    assert.deepStrictEqual(firewallRequest({ FirewallClientState: "failed", FirewallServerState: "open" }, "client", true), [true, true]);
    assert.deepStrictEqual(firewallRequest({ FirewallClient: false, FirewallServer: true }, "client", true), [true, true]);
    assert.deepStrictEqual(firewallAllows({ FirewallClientState: "closed", FirewallServerState: "unmanaged" }), [false, false]);
    assert.deepStrictEqual(firewallAllows({}), [false, false]);
});
