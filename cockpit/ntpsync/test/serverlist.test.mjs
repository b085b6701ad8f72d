// SPDX-License-Identifier: LGPL-2.1-or-later
import test from "node:test";
import assert from "node:assert";
import {
    moveServer, replaceServer, editFieldsFromSpec, originOfServer, originText, serverListHint,
} from "../serverlist.js";
import { serverSpecFromFields } from "../servers.js";

const LIST = ["server a.example iburst", "pool pool.example iburst", "server 192.0.2.1 prefer"];

test("move up and down; not beyond either end", () => {
    assert.deepStrictEqual(moveServer(LIST, 1, -1), [LIST[1], LIST[0], LIST[2]]);
    assert.deepStrictEqual(moveServer(LIST, 1, +1), [LIST[0], LIST[2], LIST[1]]);
    assert.strictEqual(moveServer(LIST, 0, -1), LIST);
    assert.strictEqual(moveServer(LIST, 2, +1), LIST);
    assert.strictEqual(moveServer(LIST, 5, -1), LIST);
    assert.strictEqual(moveServer([], 0, 1).length, 0);
    assert.deepStrictEqual(LIST, ["server a.example iburst", "pool pool.example iburst", "server 192.0.2.1 prefer"]);
});

test("replace in place", () => {
    assert.deepStrictEqual(replaceServer(LIST, LIST[1], "pool pool.example maxsources 2"),
        { specs: [LIST[0], "pool pool.example maxsources 2", LIST[2]], error: null });
    // the host itself may change
    assert.deepStrictEqual(replaceServer(LIST, LIST[0], "server b.example").specs, ["server b.example", LIST[1], LIST[2]]);
});

test("replace refuses a server named twice, as the daemon does", () => {
    const clash = replaceServer(LIST, LIST[0], "server 192.0.2.1 iburst");
    assert.strictEqual(clash.specs, null);
    assert.match(clash.error, /192\.0\.2\.1 is in the list already \("server 192\.0\.2\.1 prefer"\)/);
    assert.match(replaceServer(LIST, LIST[2], "server A.EXAMPLE").error, /in the list already/);
    assert.match(replaceServer(["a.example", LIST[2]], LIST[2], "server a.example").error, /in the list already/);
    // a pool and a server of the same name are different sources to the daemon
    assert.strictEqual(replaceServer(LIST, LIST[2], "pool a.example").error, null);
});

test("replace when the list changed meanwhile", () => {
    const gone = replaceServer(LIST, "server gone.example", "server new.example");
    assert.strictEqual(gone.specs, null);
    assert.match(gone.error, /no longer in the list/);
});

test("a spec into the form for editing, and back unchanged", () => {
    const spec = "server nts.example.org iburst prefer minpoll 4 nts noval port 4461";
    const { fields, error } = editFieldsFromSpec(spec);
    assert.strictEqual(error, null);
    assert.strictEqual(fields.host, "nts.example.org");
    assert.strictEqual(fields.noval, true);
    assert.strictEqual(serverSpecFromFields(fields).spec, spec);
    const refused = editFieldsFromSpec("server a.example key 5");
    assert.strictEqual(refused.fields, null);
    assert.match(refused.error, /cannot be edited here: Unknown server option "key"/);
});

test("the origin of each server", () => {
    const origins = [
        ["server a.example iburst", "timesyncd", "/etc/systemd/timesyncd.conf.d/50-cockpit.conf:2"],
        ["pool pool.example iburst", "files", "/etc/ntpsyncd.conf:4"],
        ["server 192.0.2.1 prefer", "runtime", ""],
    ];
    assert.strictEqual(originOfServer(origins, LIST[1], 1), origins[1]);
    assert.strictEqual(originOfServer(origins, LIST[1], 0), origins[1]); // out of step: by spec
    assert.strictEqual(originOfServer(origins, "server other.example", 0), null);
    assert.strictEqual(originOfServer(undefined, LIST[0], 0), null);
    assert.strictEqual(originOfServer([["short"]], "short", 0), null);

    assert.strictEqual(originText(origins[0]), "from /etc/systemd/timesyncd.conf.d/50-cockpit.conf:2 (timesyncd)");
    assert.strictEqual(originText(origins[1]), "from /etc/ntpsyncd.conf:4 (files)");
    assert.strictEqual(originText(["x", "persisted", "/var/lib/ntpsyncd/settings.conf:3"]),
        "from /var/lib/ntpsyncd/settings.conf:3 (persisted)");
    assert.strictEqual(originText(origins[2]), "changed at runtime, until ntpsyncd restarts (runtime)");
    assert.strictEqual(originText(["x", "somewhere-new", ""]), "layer somewhere-new");
    assert.strictEqual(originText(["x", "", ""]), "");
    assert.strictEqual(originText(null), "");
});

test("the hint says what a whole-list change does", () => {
    const saved = serverListHint([["a", "files", "/etc/ntpsyncd.conf:1"]], false);
    assert.match(saved, /replaces the servers of the configuration files and systemd-timesyncd's NTP= servers together/);
    assert.match(saved, /saved in \/var\/lib\/ntpsyncd\/settings\.conf/);
    assert.doesNotMatch(saved, /marked \(timesyncd\)/);
    const runtime = serverListHint([["a", "timesyncd", "/etc/systemd/timesyncd.conf:3"]], true);
    assert.match(runtime, /marked \(timesyncd\)/);
    assert.match(runtime, /until ntpsyncd restarts/);
    assert.doesNotMatch(runtime, /saved in/);
    assert.match(serverListHint(undefined, false), /together/);
});
