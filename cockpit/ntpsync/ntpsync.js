// SPDX-License-Identifier: LGPL-2.1-or-later
// The page: DOM and D-Bus glue only; what is shown and what is sent comes from the plain modules
// next to this file (tested with node --test). Live from PropertiesChanged, never polled.

import { unwrapDict, unwrapVariant, applyPropertiesChanged } from "./properties.js";
import { sourceRows } from "./sources.js";
import { emptyServerFields, serverSpecFromFields, hostOfSpec, describeServerSpec } from "./servers.js";
import { moveServer, replaceServer, editFieldsFromSpec, originOfServer, originText, serverListHint } from "./serverlist.js";
import { restrictRuleFromFields, restrictRemovalTarget } from "./restrict.js";
import { statusHeadline, statusItems, servingItems, firewallAllows, firewallRequest } from "./status.js";
import { errorMessage } from "./errors.js";
import { affectsPlot, appendSample, sampleFromProperties, plotModel } from "./plot.js";
import { QUERY_TIMEOUT_MS, queryHost, queryResultText, queryErrorText, queryPendingText } from "./query.js";

const cockpit = window.cockpit;
const BUS = { bus: "system", superuser: "try" };
const MANAGER = { name: "org.ntpsync1", path: "/org/ntpsync1", iface: "org.ntpsync1.Manager" };
const UNIT = "ntpsyncd.service";
const SYSTEMD = { name: "org.freedesktop.systemd1", path: "/org/freedesktop/systemd1", iface: "org.freedesktop.systemd1.Manager" };
const TIMEDATE = { name: "org.freedesktop.timedate1", path: "/org/freedesktop/timedate1", iface: "org.freedesktop.timedate1" };
const PROPERTIES = "org.freedesktop.DBus.Properties";
const PLOT_SIZE = { width: 600, height: 120 }; // the viewBox of #status-plot
const SERVER_TEXT_FIELDS = ["kind", "host", "minpoll", "maxpoll", "maxsources", "port", "ca"];
const SERVER_CHECKBOXES = ["iburst", "prefer", "noselect", "xleave", "nts", "noval"];

const $ = id => document.getElementById(id);

const state = {
    properties: {},
    sourcesReadAt: 0, // when Sources was read: `when` counts on from there
    allowed: false,
    running: false,
    plotSamples: [], // offset and jitter of the last hour, only while the page is open
    editing: null, // the spec the server form edits; null while it adds
};

let manager = null; // the org.ntpsync1 client while ntpsyncd runs
let subscription = null;

/* ---- small DOM helpers ---- */

function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined)
        node.textContent = text;
    if (className)
        node.className = className;
    return node;
}

function showMessage(id, text) {
    const node = $(id);
    node.textContent = text || "";
    node.hidden = !text;
}

function renderDefinitions(list, items) {
    list.replaceChildren();
    for (const [label, value, problem] of items) {
        list.append(element("dt", label));
        list.append(element("dd", value, problem ? "problem" : undefined));
    }
}

/* A call's failure shown where it belongs; a polkit denial says so. */
function showError(where, action) {
    return error => {
        const { message } = errorMessage(error, action);
        showMessage(where, message);
    };
}

function runtimeOnly() {
    return $("runtime-only").checked;
}

/* ---- rendering ---- */

function renderStatus() {
    const p = state.properties;
    const headline = statusHeadline(p);
    const node = $("status-headline");
    node.textContent = headline.text;
    node.className = `headline ${headline.level}`;
    renderDefinitions($("status-items"), statusItems(p).map(([label, value]) => [label, value, false]));
    renderPlot();
}

function renderPlot() {
    const model = plotModel(state.plotSamples, { now: Date.now(), ...PLOT_SIZE });
    $("status-plot-offset").setAttribute("d", model.offset);
    $("status-plot-jitter").setAttribute("d", model.jitter);
    $("status-plot-caption").textContent = model.caption;
    $("status-plot-start").textContent = model.startLabel;
}

/* A sample of what the properties say now; called when a change was announced, never polled. */
function recordSample() {
    state.plotSamples = appendSample(state.plotSamples, sampleFromProperties(state.properties, Date.now()));
}

function renderSources() {
    const elapsed = (Date.now() - state.sourcesReadAt) / 1000;
    const rows = sourceRows(state.properties.Sources, elapsed);
    const body = $("sources-body");
    body.replaceChildren();
    for (const row of rows) {
        const tr = element("tr", undefined, row.ntsFailed ? "nts-failed" : undefined);
        const tally = element("td", row.tally);
        tally.title = row.tallyMeaning;
        tr.append(tally, element("td", row.remote), element("td", row.address), element("td", row.refid),
            element("td", String(row.stratum), "number"), element("td", row.when, "number"),
            element("td", row.poll, "number"), element("td", row.reach, "number"),
            element("td", row.delay, "number"), element("td", row.offset, "number"),
            element("td", row.jitter, "number"), element("td", row.state), element("td", row.mode),
            element("td", row.authentication, "auth"));
        body.append(tr);
    }
    $("sources-empty").hidden = rows.length > 0;
}

function button(text, onClick, disabledReason) {
    const node = element("button", text, "secondary");
    node.type = "button";
    node.disabled = Boolean(disabledReason);
    if (disabledReason)
        node.title = disabledReason;
    node.addEventListener("click", onClick);
    return node;
}

/* Up, Down, Edit and Remove of one server; only with administrative access. */
function serverActions(spec, index, count) {
    const actions = element("span", undefined, "actions");
    const { error } = editFieldsFromSpec(spec);
    actions.append(
        button("Up", () => moveServerBy(spec, -1), index === 0 ? "Already the first" : null),
        button("Down", () => moveServerBy(spec, +1), index === count - 1 ? "Already the last" : null),
        button("Edit", () => startEditingServer(spec), error),
        button("Remove", () => removeServer(spec)));
    return actions;
}

function renderServers() {
    const list = $("servers-list");
    const specs = state.properties.Servers || [];
    const origins = state.properties.ServerOrigins;
    list.replaceChildren();
    specs.forEach((spec, index) => {
        const li = element("li", undefined, spec === state.editing ? "editing" : undefined);
        li.append(element("span", spec, "spec"), element("span", describeServerSpec(spec), "description"),
            element("span", originText(originOfServer(origins, spec, index)), "origin"));
        if (state.allowed)
            li.append(serverActions(spec, index, specs.length));
        list.append(li);
    });
    $("servers-hint").textContent = serverListHint(origins, runtimeOnly());
}

function renderRestrict() {
    const list = $("restrict-list");
    list.replaceChildren();
    for (const rule of state.properties.RestrictRules || []) {
        const li = element("li");
        li.append(element("span", rule, "spec"));
        const target = restrictRemovalTarget(rule);
        if (state.allowed && target) { // the default rules can be changed but not removed
            const remove = element("button", "Remove", "secondary");
            remove.type = "button";
            remove.addEventListener("click", () => removeRestrict(target));
            li.append(remove);
        }
        list.append(li);
    }
}

function renderServing() {
    const p = state.properties;
    renderDefinitions($("serving-items"), servingItems(p));
    $("serve-switch").checked = Boolean(p.ServerMode);
    const [client, server] = firewallAllows(p);
    $("firewall-client-switch").checked = client && p.FirewallClientState !== "unmanaged";
    $("firewall-server-switch").checked = server;
}

function render() {
    document.body.classList.toggle("read-only", !state.allowed);
    $("admin-hint").hidden = state.allowed;
    $("not-running").hidden = state.running;
    for (const id of ["status-card", "sources-card", "servers-card", "restrict-card", "serving-card"])
        $(id).hidden = !state.running;
    if (!state.running)
        return;
    renderStatus();
    renderSources();
    renderServers();
    renderRestrict();
    renderServing();
}

/* ---- ntpsyncd's properties, live ---- */

function fetchProperty(name) {
    manager.call(MANAGER.path, PROPERTIES, "Get", [MANAGER.iface, name])
        .then(([value]) => {
            state.properties = { ...state.properties, [name]: unwrapVariant(value) };
            if (name === "Sources")
                state.sourcesReadAt = Date.now();
            if (affectsPlot([name]))
                recordSample();
            render();
        })
        .catch(showError("page-error", `read ${name}`));
}

function onPropertiesChanged(path, iface, signal, args) {
    const [changedInterface, changed, invalidated] = args;
    if (changedInterface !== MANAGER.iface)
        return;
    const result = applyPropertiesChanged(state.properties, changed, invalidated);
    state.properties = result.properties;
    if ("Sources" in (changed || {}))
        state.sourcesReadAt = Date.now();
    if (affectsPlot(Object.keys(changed || {})))
        recordSample();
    result.refetch.forEach(fetchProperty);
    render();
}

function connectManager() {
    if (manager)
        return;
    manager = cockpit.dbus(MANAGER.name, BUS);
    subscription = manager.subscribe({ path: MANAGER.path, interface: PROPERTIES, member: "PropertiesChanged" },
        onPropertiesChanged);
    manager.call(MANAGER.path, PROPERTIES, "GetAll", [MANAGER.iface])
        .then(([all]) => {
            state.properties = unwrapDict(all);
            state.sourcesReadAt = Date.now();
            recordSample();
            showMessage("page-error", "");
            render();
        })
        .catch(showError("page-error", "read ntpsyncd's state"));
}

function disconnectManager() {
    const wasConnected = manager !== null;
    if (subscription)
        subscription.remove();
    if (manager)
        manager.close();
    subscription = null;
    manager = null;
    state.properties = {};
    if (wasConnected)
        recordSample(); // a gap in the plot while ntpsyncd is not running
}

/* ---- the service: only talk to org.ntpsync1 while it runs, for a call would activate it ---- */

function watchService() {
    const systemd = cockpit.dbus(SYSTEMD.name, BUS);
    // systemd sends unit PropertiesChanged only while some client has subscribed.
    systemd.call(SYSTEMD.path, SYSTEMD.iface, "Subscribe", []).catch(() => {});
    systemd.call(SYSTEMD.path, SYSTEMD.iface, "LoadUnit", [UNIT])
        .then(([unitPath]) => {
            const unit = systemd.proxy("org.freedesktop.systemd1.Unit", unitPath);
            const update = () => {
                state.running = unit.ActiveState === "active" || unit.ActiveState === "reloading";
                $("not-running-state").textContent = `${UNIT}: ${unit.ActiveState || "unknown"} (${unit.SubState || ""})`;
                if (state.running)
                    connectManager();
                else
                    disconnectManager();
                render();
            };
            unit.addEventListener("changed", update);
            unit.wait().then(update);
        })
        .catch(showError("page-error", `find ${UNIT}`));

    $("start-service").addEventListener("click", () => {
        showMessage("page-error", "");
        systemd.call(SYSTEMD.path, SYSTEMD.iface, "StartUnit", [UNIT, "replace"])
            .catch(showError("page-error", `start ${UNIT}`));
    });
}

/* ---- NTP on/off through timedated (what timedatectl set-ntp and the desktops use) ---- */

function watchTimedated() {
    const timedate = cockpit.dbus(TIMEDATE.name, BUS);
    const proxy = timedate.proxy(TIMEDATE.iface, TIMEDATE.path);
    const update = () => {
        $("ntp-switch").checked = Boolean(proxy.NTP);
        $("ntp-switch").disabled = !state.allowed || proxy.CanNTP === false;
    };
    proxy.addEventListener("changed", update);
    proxy.wait().then(update);
    $("ntp-switch").addEventListener("change", event => {
        showMessage("ntp-switch-error", "");
        timedate.call(TIMEDATE.path, TIMEDATE.iface, "SetNTP", [event.target.checked, true])
            .catch(error => {
                update(); // back to what timedated says
                showError("ntp-switch-error", "turn NTP on or off")(error);
            });
    });
}

/* ---- changes ---- */

/* A native promise: an error rethrown in a handler of Cockpit's own promise is reported as
 * uncaught (the shell's "Ooops!") even when a later handler catches it. */
function callManager(method, args, where, action) {
    showMessage(where, "");
    return Promise.resolve(manager.call(MANAGER.path, MANAGER.iface, method, args)).catch(error => {
        showError(where, action)(error);
        throw error;
    });
}

function serverFormFields() {
    const fields = emptyServerFields();
    for (const name of SERVER_TEXT_FIELDS)
        fields[name] = $(`server-${name}`).value;
    for (const name of SERVER_CHECKBOXES)
        fields[name] = $(`server-${name}`).checked;
    return fields;
}

function fillServerForm(fields) {
    for (const name of SERVER_TEXT_FIELDS)
        $(`server-${name}`).value = fields[name] ?? "";
    for (const name of SERVER_CHECKBOXES)
        $(`server-${name}`).checked = Boolean(fields[name]);
}

/* The form either adds a server or edits the one in state.editing. */
function showServerFormMode() {
    const editing = state.editing !== null;
    $("server-form-title").textContent = editing ? `Edit ${state.editing}` : "Add a server or pool";
    $("server-add").textContent = editing ? "Save" : "Add";
    $("server-cancel-edit").hidden = !editing;
}

function showServerErrors(errors) {
    for (const name of ["kind", "host", "minpoll", "maxpoll", "maxsources", "port", "ca", "noval"])
        showMessage(`server-${name}-error`, errors[name]);
}

/* The whole list, for SetServers: reordering and editing have no call of their own. */
function setServers(specs, action) {
    return callManager("SetServers", [specs, runtimeOnly()], "server-form-error", action);
}

function submitServer(event) {
    event.preventDefault();
    const { spec, errors } = serverSpecFromFields(serverFormFields());
    showServerErrors(errors);
    if (!spec)
        return;
    if (state.editing !== null) {
        saveEditedServer(spec);
        return;
    }
    callManager("AddServer", [spec, runtimeOnly()], "server-form-error", "add the server")
        .then(() => $("server-form").reset())
        .catch(() => {});
}

function saveEditedServer(spec) {
    const { specs, error } = replaceServer(state.properties.Servers || [], state.editing, spec);
    if (error) {
        showMessage("server-form-error", error);
        return;
    }
    setServers(specs, "change the server")
        .then(() => $("server-form").reset())
        .catch(() => {});
}

function startEditingServer(spec) {
    const { fields, error } = editFieldsFromSpec(spec);
    showServerErrors({});
    showMessage("server-form-error", error);
    if (!fields)
        return;
    fillServerForm(fields);
    state.editing = spec;
    showServerFormMode();
    renderServers();
    $("server-host").focus();
}

/* The form's reset (Cancel, or after a successful add or save) also ends editing. */
function onServerFormReset() {
    state.editing = null;
    showServerErrors({});
    showMessage("server-form-error", "");
    $("server-query-result").textContent = "";
    showServerFormMode();
    renderServers();
}

/* By spec, not by index: the list may have changed since it was drawn. */
function moveServerBy(spec, delta) {
    const specs = state.properties.Servers || [];
    const moved = moveServer(specs, specs.indexOf(spec), delta);
    if (moved !== specs)
        setServers(moved, "reorder the servers").catch(() => {});
}

/* Measures the host in the form without adding it. */
function queryServer() {
    const result = $("server-query-result");
    const { host, error } = queryHost($("server-host").value);
    showMessage("server-host-error", error);
    if (!host || !manager)
        return;
    $("server-query").disabled = true;
    result.className = "";
    result.textContent = queryPendingText(host);
    manager.call(MANAGER.path, MANAGER.iface, "Query", [host], { timeout: QUERY_TIMEOUT_MS })
        .then(reply => {
            result.textContent = queryResultText(host, reply);
        })
        .catch(failure => {
            result.className = "error";
            result.textContent = queryErrorText(host, failure);
        })
        .finally(() => {
            $("server-query").disabled = false;
        });
}

function removeServer(spec) {
    callManager("RemoveServer", [hostOfSpec(spec), runtimeOnly()], "server-form-error", "remove the server")
        .catch(() => {});
}

/* While typing: the page's own check of the rule, as a hint. */
function checkRestrictRule() {
    const { error, warning } = restrictRuleFromFields($("restrict-rule").value, []);
    const typed = $("restrict-rule").value.trim() !== "";
    showMessage("restrict-rule-error", typed ? error : null);
    showMessage("restrict-rule-warning", typed ? warning : null);
}

/* On submit the daemon judges: whatever it refuses is refused with its own words, and nothing
 * is applied. Only an empty field stays in the page. */
function addRestrict(event) {
    event.preventDefault();
    const typed = $("restrict-rule").value.trim();
    if (!typed) {
        showMessage("restrict-rule-error", restrictRuleFromFields("", []).error);
        return;
    }
    showMessage("restrict-rule-warning", restrictRuleFromFields(typed, []).warning);
    callManager("AddRestrict", [typed, runtimeOnly()], "restrict-rule-error", "add the rule")
        .then(() => $("restrict-form").reset())
        .catch(() => {});
}

function removeRestrict(target) {
    callManager("RemoveRestrict", [target, runtimeOnly()], "restrict-rule-error", "remove the rule").catch(() => {});
}

function setFirewall(direction, allow) {
    callManager("SetFirewall", firewallRequest(state.properties, direction, allow), "serving-error", "change the firewall")
        .catch(render);
}

function wireForms() {
    $("server-form").addEventListener("submit", submitServer);
    $("server-form").addEventListener("reset", onServerFormReset);
    $("server-query").addEventListener("click", queryServer);
    $("runtime-only").addEventListener("change", renderServers); // the hint says what the flag does
    $("restrict-form").addEventListener("submit", addRestrict);
    $("restrict-rule").addEventListener("input", checkRestrictRule);
    $("serve-switch").addEventListener("change", event =>
        callManager("SetServerMode", [event.target.checked, runtimeOnly()], "serving-error", "change server mode")
            .catch(render));
    $("firewall-client-switch").addEventListener("change", event => setFirewall("client", event.target.checked));
    $("firewall-server-switch").addEventListener("change", event => setFirewall("server", event.target.checked));
}

/* ---- administrative access ---- */

function watchPermission() {
    const permission = cockpit.permission({ admin: true });
    const update = () => {
        state.allowed = permission.allowed === true;
        render();
    };
    permission.addEventListener("changed", update);
    update();
}

function init() {
    wireForms();
    watchPermission();
    watchService();
    watchTimedated();
    // `when` is not announced (it changes every second): count on locally between reads.
    // The plot's time axis moves on as well; its samples still come only from announced changes.
    window.setInterval(() => {
        if (state.running && !document.hidden) {
            renderSources();
            renderPlot();
        }
    }, 1000);
    render();
}

init();
