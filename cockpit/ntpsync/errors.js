// SPDX-License-Identifier: LGPL-2.1-or-later
// A failed call → what the page says. cockpit.dbus rejects with {name, message} for D-Bus errors
// and {problem, message} when the channel itself failed.

const DBUS = "org.freedesktop.DBus.Error.";

/* Whether the error is polkit (or the bus) saying no: the page then names the denial as such
 * instead of the message, which is often just "Access denied". */
export function isPermissionError(error) {
    if (!error)
        return false;
    return error.name === `${DBUS}AccessDenied` || error.name === `${DBUS}InteractiveAuthorizationRequired` ||
        error.problem === "access-denied" || error.problem === "not-authorized";
}

/* Whether the daemon is not there (stopped, masked, not installed). */
export function isNotRunningError(error) {
    if (!error)
        return false;
    return error.name === `${DBUS}ServiceUnknown` || error.name === `${DBUS}NameHasNoOwner` ||
        error.name === `${DBUS}UnknownObject` || error.name === "org.freedesktop.systemd1.NoSuchUnit" ||
        error.problem === "not-found";
}

function detail(error) {
    const text = error && typeof error.message === "string" ? error.message.trim() : "";
    return text === "" ? "" : text;
}

/* { kind, message }; kind is "denied", "invalid", "not-running" or "failed". action says what was
 * tried, e.g. "change the servers". */
export function errorMessage(error, action = "do this") {
    const name = error && error.name;
    const text = detail(error);

    if (name === `${DBUS}InteractiveAuthorizationRequired`)
        return { kind: "denied", message: `Not authorized to ${action}: this needs administrative access. Turn it on with "Administrative access" at the top of the page.` };
    if (isPermissionError(error))
        return { kind: "denied", message: `Not authorized to ${action}: permission denied by polkit.` };
    if (name === `${DBUS}InvalidArgs`)
        // The daemon's own text says what is wrong; nothing was changed.
        return { kind: "invalid", message: text || `Invalid input: could not ${action}.` };
    if (isNotRunningError(error))
        return { kind: "not-running", message: "ntpsyncd is not running." };
    if (name === "org.ntpsync1.Error.SaveFailed")
        return { kind: "failed", message: `Could not save the settings${text ? `: ${text}` : ""}. Nothing was changed.` };
    if (name === "org.ntpsync1.Error.Busy")
        return { kind: "failed", message: "Too many queries are running; try again in a moment." };
    if (name === `${DBUS}NoReply` || name === `${DBUS}Timeout` || error?.problem === "timeout")
        return { kind: "failed", message: `Could not ${action}: ntpsyncd did not answer in time.` };
    if (name === `${DBUS}NotSupported` || name === `${DBUS}Failed` || name === "org.ntpsync1.Error.QueryFailed")
        return { kind: "failed", message: `Could not ${action}${text ? `: ${text}` : "."}` };
    if (error && error.problem === "disconnected")
        return { kind: "failed", message: "The connection to the system was lost." };
    return { kind: "failed", message: `Could not ${action}${text ? `: ${text}` : "."}` };
}
