// SPDX-License-Identifier: LGPL-2.1-or-later
// The page: DOM and D-Bus glue only; what is shown and what is sent comes from the plain modules
// next to this file (tested with node --test). Live from PropertiesChanged, never polled.

import { unwrapDict, unwrapVariant, applyPropertiesChanged } from "./properties.js";
import { sourceRows } from "./sources.js";
import { emptyServerFields, serverSpecFromFields, hostOfSpec, describeServerSpec } from "./servers.js";
import { restrictRuleFromFields, restrictRemovalTarget } from "./restrict.js";
import { statusHeadline, statusItems, servingItems, firewallAllows, firewallRequest } from "./status.js";
import { errorMessage } from "./errors.js";

const cockpit = window.cockpit;
const BUS = { bus: "system", superuser: "try" };
const MANAGER = { name: "org.ntpsync1", path: "/org/ntpsync1", iface: "org.ntpsync1.Manager" };
const UNIT = "ntpsyncd.service";
const SYSTEMD = { name: "org.freedesktop.systemd1", path: "/org/freedesktop/systemd1", iface: "org.freedesktop.systemd1.Manager" };
const TIMEDATE = { name: "org.freedesktop.timedate1", path: "/org/freedesktop/timedate1", iface: "org.freedesktop.timedate1" };
const PROPERTIES = "org.freedesktop.DBus.Properties";

const $ = id => document.getElementById(id);

const state = {
    properties: {},
    sourcesReadAt: 0, // when Sources was read: `when` counts on from there
    allowed: false,
    running: false,
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
            element("td", row.jitter, "number"), element("td", row.authentication, "auth"));
        body.append(tr);
    }
    $("sources-empty").hidden = rows.length > 0;
}

function renderServers() {
    const list = $("servers-list");
    list.replaceChildren();
    for (const spec of state.properties.Servers || []) {
        const li = element("li");
        li.append(element("span", spec, "spec"), element("span", describeServerSpec(spec), "description"));
        if (state.allowed) {
            const remove = element("button", "Remove", "secondary");
            remove.type = "button";
            remove.addEventListener("click", () => removeServer(spec));
            li.append(remove);
        }
        list.append(li);
    }
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
            showMessage("page-error", "");
            render();
        })
        .catch(showError("page-error", "read ntpsyncd's state"));
}

function disconnectManager() {
    if (subscription)
        subscription.remove();
    if (manager)
        manager.close();
    subscription = null;
    manager = null;
    state.properties = {};
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

function callManager(method, args, where, action) {
    showMessage(where, "");
    return manager.call(MANAGER.path, MANAGER.iface, method, args).catch(error => {
        showError(where, action)(error);
        throw error;
    });
}

function serverFormFields() {
    const fields = emptyServerFields();
    for (const name of ["kind", "host", "minpoll", "maxpoll", "maxsources", "port", "ca"])
        fields[name] = $(`server-${name}`).value;
    for (const name of ["iburst", "prefer", "noselect", "nts"])
        fields[name] = $(`server-${name}`).checked;
    return fields;
}

function showServerErrors(errors) {
    for (const name of ["kind", "host", "minpoll", "maxpoll", "maxsources", "port", "ca", "noval"])
        showMessage(`server-${name}-error`, errors[name]);
}

function addServer(event) {
    event.preventDefault();
    const { spec, errors } = serverSpecFromFields(serverFormFields());
    showServerErrors(errors);
    if (!spec)
        return;
    callManager("AddServer", [spec, runtimeOnly()], "server-form-error", "add the server")
        .then(() => $("server-form").reset())
        .catch(() => {});
}

function removeServer(spec) {
    callManager("RemoveServer", [hostOfSpec(spec), runtimeOnly()], "server-form-error", "remove the server")
        .catch(() => {});
}

function addRestrict(event) {
    event.preventDefault();
    const { text, error, warning } = restrictRuleFromFields($("restrict-rule").value, []);
    showMessage("restrict-rule-error", error);
    showMessage("restrict-rule-warning", warning);
    if (!text)
        return;
    callManager("AddRestrict", [text, runtimeOnly()], "restrict-rule-error", "add the rule")
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
    $("server-form").addEventListener("submit", addServer);
    $("restrict-form").addEventListener("submit", addRestrict);
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
    window.setInterval(() => {
        if (state.running && !document.hidden)
            renderSources();
    }, 1000);
    render();
}

init();
