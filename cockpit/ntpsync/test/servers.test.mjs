// SPDX-License-Identifier: LGPL-2.1-or-later
import test from "node:test";
import assert from "node:assert";
import {
    emptyServerFields, hostError, validateServerFields, serverSpecFromFields, serverFieldsFromSpec,
    hostOfSpec, describeServerSpec, effectivePollRange,
} from "../servers.js";

const fields = overrides => ({ ...emptyServerFields(), ...overrides });

test("host names and addresses", () => {
    for (const good of ["ntp1.example.org", "pool.ntp.org", "192.0.2.1", "2001:db8::1", "fe80::1%eth0",
        "localhost", "time_server.lan", "a-b.example"])
        assert.strictEqual(hostError(good), null, good);
    for (const bad of ["", "   ", "-bad.example", ".example", "a..b", "example.org.", "a b", "256.1.1.1",
        "192.0.2", "2001:db8::g", "fe80::1%", "bad-.example", "x;rm", "ntp.exa\nmple.org", "a".repeat(64) + ".org"])
        assert.notStrictEqual(hostError(bad), null, JSON.stringify(bad));
});

test("a server spec from the form, options in the daemon's order", () => {
    assert.deepStrictEqual(serverSpecFromFields(fields({ host: "ntp1.example.org" })),
        { spec: "server ntp1.example.org iburst", errors: {} });
    assert.strictEqual(serverSpecFromFields(fields({
        host: " ntp1.example.org ", prefer: true, noselect: true, xleave: true, minpoll: "4", maxpoll: "07",
    })).spec, "server ntp1.example.org iburst prefer noselect xleave minpoll 4 maxpoll 7");
    assert.strictEqual(serverSpecFromFields(fields({ kind: "pool", host: "pool.ntp.org", maxsources: "8" })).spec,
        "pool pool.ntp.org iburst maxsources 8");
    assert.strictEqual(serverSpecFromFields(fields({
        host: "time.cloudflare.com", iburst: false, nts: true, port: "4461", ca: "/etc/ssl/ca.pem",
    })).spec, "server time.cloudflare.com nts port 4461 ca /etc/ssl/ca.pem");
});

test("poll intervals: 3..17, whole numbers, min not above max", () => {
    assert.deepStrictEqual(Object.keys(validateServerFields(fields({ host: "a.example", minpoll: "2" }))), ["minpoll"]);
    assert.deepStrictEqual(Object.keys(validateServerFields(fields({ host: "a.example", maxpoll: "18" }))), ["maxpoll"]);
    assert.deepStrictEqual(Object.keys(validateServerFields(fields({ host: "a.example", minpoll: "4.5" }))), ["minpoll"]);
    assert.deepStrictEqual(Object.keys(validateServerFields(fields({ host: "a.example", minpoll: "-4" }))), ["minpoll"]);
    const errors = validateServerFields(fields({ host: "a.example", minpoll: "10", maxpoll: "6" }));
    assert.match(errors.maxpoll, /smaller than the minimum/);
    assert.deepStrictEqual(validateServerFields(fields({ host: "a.example", minpoll: "3", maxpoll: "17" })), {});
    assert.deepStrictEqual(validateServerFields(fields({ host: "a.example", minpoll: "8", maxpoll: "8" })), {});
});

test("maxsources only for a pool, 1..16", () => {
    assert.match(validateServerFields(fields({ host: "a.example", maxsources: "4" })).maxsources, /Only a pool/);
    assert.match(validateServerFields(fields({ kind: "pool", host: "a.example", maxsources: "0" })).maxsources, /1 to 16/);
    assert.match(validateServerFields(fields({ kind: "pool", host: "a.example", maxsources: "17" })).maxsources, /1 to 16/);
    assert.deepStrictEqual(validateServerFields(fields({ kind: "pool", host: "a.example", maxsources: "16" })), {});
});

test("port, ca and noval only with nts", () => {
    const errors = validateServerFields(fields({ host: "a.example", port: "4460", ca: "/x.pem", noval: true }));
    assert.deepStrictEqual(Object.keys(errors).sort(), ["ca", "noval", "port"]);
    assert.match(validateServerFields(fields({ host: "a.example", nts: true, port: "70000" })).port, /1 to 65535/);
    assert.match(validateServerFields(fields({ host: "a.example", nts: true, ca: "relative.pem" })).ca, /absolute/);
    assert.match(validateServerFields(fields({ host: "a.example", nts: true, ca: "/a b.pem" })).ca, /without spaces/);
    assert.deepStrictEqual(validateServerFields(fields({ host: "a.example", nts: true, noval: true })), {});
});

test("invalid fields give no spec, and every error at once", () => {
    const result = serverSpecFromFields(fields({ kind: "peer", host: "", minpoll: "x" }));
    assert.strictEqual(result.spec, null);
    assert.deepStrictEqual(Object.keys(result.errors).sort(), ["host", "kind", "minpoll"]);
});

test("specs back to fields, and round trips", () => {
    for (const spec of ["server ntp1.example.org iburst prefer minpoll 4 maxpoll 8",
        "pool pool.ntp.org iburst maxsources 4", "server nts.example.org nts noval port 4461 ca /etc/ca.pem",
        "server 192.0.2.1 noselect", "server 2001:db8::1 iburst", "server 192.0.2.2 iburst xleave"]) {
        const { fields: parsed, error } = serverFieldsFromSpec(spec);
        assert.strictEqual(error, null, spec);
        assert.strictEqual(serverSpecFromFields(parsed).spec, spec);
    }
    const bare = serverFieldsFromSpec("ntp.example.org").fields;
    assert.strictEqual(bare.kind, "server");
    assert.strictEqual(bare.iburst, true);
    assert.match(serverFieldsFromSpec("").error, /Empty/);
    assert.match(serverFieldsFromSpec("peer a.example").error, /starts with/);
    assert.match(serverFieldsFromSpec("server a.example key 5").error, /Unknown server option "key"/);
    assert.match(serverFieldsFromSpec("server a.example minpoll").error, /needs a value/);
});

test("host of a spec, description, effective poll range", () => {
    assert.strictEqual(hostOfSpec("server ntp1.example.org iburst"), "ntp1.example.org");
    assert.strictEqual(hostOfSpec("ntp1.example.org"), "ntp1.example.org");
    assert.strictEqual(hostOfSpec(""), "");
    assert.strictEqual(describeServerSpec("pool pool.ntp.org iburst maxsources 4"), "pool, iburst, up to 4 sources");
    assert.strictEqual(describeServerSpec("server a.example minpoll 4 nts"), "server, poll every 16..1024 s, NTS");
    assert.strictEqual(describeServerSpec("server a.example bogus"), "");
    assert.deepStrictEqual(effectivePollRange("", ""), [6, 10]);
    assert.deepStrictEqual(effectivePollRange("12", ""), [12, 12]);
    assert.deepStrictEqual(effectivePollRange("", "4"), [4, 4]);
    assert.deepStrictEqual(effectivePollRange("4", "8"), [4, 8]);
});
