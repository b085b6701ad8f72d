// SPDX-License-Identifier: LGPL-2.1-or-later
import test from "node:test";
import assert from "node:assert";
import { errorMessage, isPermissionError, isNotRunningError } from "../errors.js";

/* As cockpit.dbus rejects: a DBusError with name and message, or a channel problem. */
const dbusError = (name, message) => ({ name, message, problem: null });

test("a polkit denial is named as such", () => {
    const denied = errorMessage(dbusError("org.freedesktop.DBus.Error.AccessDenied", "Access denied"), "change the servers");
    assert.deepStrictEqual(denied, { kind: "denied", message: "Not authorized to change the servers: permission denied by polkit." });
    const interactive = errorMessage(dbusError("org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", "Interactive authentication required."), "add a rule");
    assert.strictEqual(interactive.kind, "denied");
    assert.match(interactive.message, /^Not authorized to add a rule: this needs administrative access/);
    assert.ok(isPermissionError({ problem: "access-denied" }));
    assert.ok(!isPermissionError(dbusError("org.freedesktop.DBus.Error.InvalidArgs", "x")));
    assert.ok(!isPermissionError(null));
});

test("InvalidArgs shows the daemon's own text", () => {
    assert.deepStrictEqual(errorMessage(dbusError("org.freedesktop.DBus.Error.InvalidArgs", "maxsources applies to pool only")),
        { kind: "invalid", message: "maxsources applies to pool only" });
    assert.deepStrictEqual(errorMessage(dbusError("org.freedesktop.DBus.Error.InvalidArgs", "  "), "add a server"),
        { kind: "invalid", message: "Invalid input: could not add a server." });
});

test("not running", () => {
    for (const name of ["org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"]) {
        assert.ok(isNotRunningError(dbusError(name, "")));
        assert.strictEqual(errorMessage(dbusError(name, "")).kind, "not-running");
    }
    assert.ok(isNotRunningError({ problem: "not-found" }));
    assert.ok(!isNotRunningError(undefined));
});

test("other errors keep their text", () => {
    assert.strictEqual(errorMessage(dbusError("org.ntpsync1.Error.SaveFailed", "No space left on device")).message,
        "Could not save the settings: No space left on device. Nothing was changed.");
    assert.strictEqual(errorMessage(dbusError("org.freedesktop.DBus.Error.NotSupported", "no firewall backend"), "change the firewall").message,
        "Could not change the firewall: no firewall backend");
    assert.match(errorMessage(dbusError("org.freedesktop.DBus.Error.NoReply", "")).message, /did not answer in time/);
    assert.match(errorMessage({ problem: "timeout", message: "" }).message, /did not answer in time/);
    assert.strictEqual(errorMessage({ problem: "disconnected" }).message, "The connection to the system was lost.");
    assert.strictEqual(errorMessage(dbusError("org.example.Weird", "strange"), "reload").message, "Could not reload: strange");
    assert.strictEqual(errorMessage(undefined).message, "Could not do this.");
    assert.strictEqual(errorMessage(new Error("boom"), "start ntpsyncd").message, "Could not start ntpsyncd: boom");
});
