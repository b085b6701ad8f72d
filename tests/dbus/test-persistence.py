#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What D-Bus changes persist: runtime=false survives a restart (settings.conf in the state
directory, and the properties after the restart), runtime=true does not, a persisted change of a
part ends the runtime change of that part. And the SIGKILL test: persisted SetServers and
SetRestrictRules calls, alternating values, while ntpsyncd is SIGKILLed at random moments (fixed
seed) and restarted each time: settings.conf always parses (ntpsyncd --check-config), is never
partial, and every acknowledged change is there after the restart unless a later acknowledged one
replaced it (the one in flight at the kill may or may not be)."""

import json
import os
import random
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbustest  # noqa: E402
from dbustest import log  # noqa: E402

KILLS = 30


def harness_cleanup(popen):
    """Registers a child for the harness's cleanup (SIGKILL by PID); returns the function that
    ends it now and unregisters it."""
    def end():
        if popen.poll() is None:
            popen.kill()
            popen.wait(10)
    entry = dbustest.harness.register_cleanup("process %d" % popen.pid, end)

    def done():
        end()
        dbustest.harness.unregister_cleanup(entry)
    return done
SEED = 20261126


class TestPersistence(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = dbustest.World("per")
        cls.addClassCleanup(cls.w.close)

    def setUp(self):
        self.w.write_config()
        self.w.new_state_dir()
        self.w.polkit.allow_all()

    def ok(self, method, signature, args, nobody=True):
        r = self.w.call(method, signature, args, nobody=nobody)
        self.assertTrue(r.ok, "%s%r: %r" % (method, args, r))

    def settings(self):
        return {k: self.w.get(k) for k in dbustest.SETTING_PROPERTIES}

    def check_config_ok(self):
        rc, out, err = self.w.check_config()
        self.assertEqual(rc, 0, err)
        self.assertNotRegex(err, "(?i)ignor|warning", "settings.conf was not accepted whole")
        return out

    def test_runtime_and_persisted(self):
        w = self.w
        w.start_daemon()
        configured = self.settings()
        self.assertEqual(configured["Servers"], [w.server_spec()])
        self.assertIsNone(w.settings_text())

        # persisted, as uid 65534 through polkit
        servers = [w.server_spec(), "server 198.51.100.1 iburst prefer"]
        self.ok("SetServers", "asb", [servers, False])
        self.ok("SetRestrictRules", "asb", [["default kod nomodify", "198.51.100.0/24 noquery"], False])
        self.ok("SetServerMode", "bb", [True, False])
        self.ok("SetFirewall", "bb", [True, False])
        persisted = self.settings()
        self.assertEqual(persisted["Servers"], servers)
        self.assertIn("198.51.100.0/24 noquery", persisted["RestrictRules"])
        self.assertTrue(persisted["ServerMode"])
        self.assertEqual((persisted["FirewallClient"], persisted["FirewallServer"]), (True, False))
        text = w.settings_text()
        log("settings.conf:\n" + text)
        for line in ["clear servers"] + servers + ["clear restrict", "restrict 198.51.100.0/24 noquery",
                                                    "serve on", "firewall client on server off"]:
            self.assertIn(line + "\n", text)
        st = os.stat(w.settings_path())
        self.assertEqual(st.st_mode & 0o777, 0o644)
        self.assertEqual(st.st_uid, 0)
        self.assertEqual([n for n in os.listdir(w.state) if n.startswith(".")], [], "temporary files left")
        out = self.check_config_ok()
        self.assertIn("198.51.100.1", out)
        self.assertIn(dbustest.SETTINGS_FILE, out, "--check-config names where the settings came from")

        # runtime on top: in effect, not in the file
        self.ok("RemoveRestrict", "sb", ["198.51.100.0/24", True])
        self.ok("AddRestrict", "sb", ["203.0.113.9 ignore", True])
        self.ok("SetServers", "asb", [["server 198.51.100.2 iburst"], True])
        self.ok("AddServer", "sb", ["server 198.51.100.3", True])
        self.ok("SetServerMode", "bb", [False, True])
        runtime = self.settings()
        self.assertEqual(runtime["Servers"], ["server 198.51.100.2 iburst", "server 198.51.100.3"])
        self.assertFalse(runtime["ServerMode"])
        self.assertTrue(all("198.51.100.0/24" not in r for r in runtime["RestrictRules"]), runtime)
        self.assertIn("203.0.113.9/32 ignore", runtime["RestrictRules"])
        self.assertEqual(w.settings_text(), text, "a runtime change was written to settings.conf")

        rc, took = w.daemon.stop()
        self.assertEqual(rc, 0)
        w.daemon = None
        self.check_config_ok()
        w.start_daemon()
        self.assertEqual(self.settings(), persisted, "after a restart: the persisted settings, no runtime ones")
        self.assertEqual(w.settings_text(), text)

        # a persisted change of a part ends the runtime change of that part only
        self.ok("SetServers", "asb", [["server 198.51.100.4"], True])
        self.ok("SetServerMode", "bb", [False, True])
        self.ok("SetServers", "asb", [["server 198.51.100.5 iburst"], False])
        self.assertEqual(w.get("Servers"), ["server 198.51.100.5 iburst"])
        self.assertFalse(w.get("ServerMode"), "the runtime server mode stays")
        self.ok("SetServers", "asb", [["server 198.51.100.6 iburst"], True])
        w.start_daemon()  # SIGTERM and start
        self.assertEqual(w.get("Servers"), ["server 198.51.100.5 iburst"])
        self.assertTrue(w.get("ServerMode"))

        # a SIGKILL right after an acknowledged change: it is on disk
        self.ok("SetRestrictRules", "asb", [["default nomodify", "203.0.113.0/24 ignore"], False])
        w.kill_daemon()
        self.check_config_ok()
        w.start_daemon()
        self.assertIn("203.0.113.0/24 ignore", w.get("RestrictRules"))

    def test_server_origins(self):
        """ServerOrigins: each server with its layer and the file and line it was read from."""
        w = self.w
        w.start_daemon()
        self.assertEqual(w.get("ServerOrigins"), [[w.server_spec(), "files", "%s:2" % w.config]])
        self.ok("SetServers", "asb", [[w.server_spec(), "server 198.51.100.1 iburst"], False])
        origins = w.get("ServerOrigins")
        self.assertEqual([o[1] for o in origins], ["persisted", "persisted"])
        self.assertRegex(origins[1][2], r"/%s:\d+$" % dbustest.SETTINGS_FILE)
        self.ok("AddServer", "sb", ["server 203.0.113.5", True])
        self.assertEqual(w.get("ServerOrigins")[-1], ["server 203.0.113.5", "runtime", ""])

    def test_timesync1_runtime_servers_not_persisted(self):
        w = self.w
        w.start_daemon()
        r = w.call("SetRuntimeNTPServers", "as", [["198.51.100.7", "198.51.100.8"]], nobody=True,
                   dest=dbustest.TIMESYNC_NAME, path=dbustest.TIMESYNC_PATH, interface=dbustest.TIMESYNC_INTERFACE)
        self.assertTrue(r.ok, r)
        self.assertEqual(w.get("Servers"), ["server 198.51.100.7 iburst", "server 198.51.100.8 iburst"])
        self.assertIsNone(w.settings_text())
        w.start_daemon()
        self.assertEqual(w.get("Servers"), [w.server_spec()])

    # ---- SIGKILL during writes

    def parse_settings(self, text):
        """settings.conf → (servers, restrict lines); asserts it is whole and in the daemon's form."""
        self.assertTrue(text.endswith("\n"), "settings.conf does not end with a newline: %r" % text[-80:])
        lines = text.splitlines()
        servers, rules, part = [], [], None
        for line in lines:
            if line == "clear servers":
                part = servers
            elif line == "clear restrict":
                part = rules
            elif line.startswith("serve ") or line.startswith("firewall "):
                part = None
            else:
                self.assertIsNotNone(part, "unexpected line %r in settings.conf" % line)
                part.append(line)
        return servers, rules

    @staticmethod
    def restrict_index(rules):
        """Which restrict_value(i) the rules are: the i % 250 in 192.0.2.X/32."""
        found = sorted({int(m.group(1)) for r in rules for m in [re.search(r"192\.0\.2\.(\d+)/32", r)] if m})
        return found

    def test_sigkill_during_writes(self):
        w = self.w
        rng = random.Random(SEED)
        initial_servers = [w.server_spec()]
        state = {"servers": None, "restrict": None}  # the index whose value must be in effect
        inflight = {"servers": None, "restrict": None}
        next_index = 0
        kills_mid_write = 0
        inflight_applied = 0
        total_acks = 0

        for cycle in range(KILLS + 1):
            w.start_daemon()
            # -- after the restart: whole, parsable, and what was acknowledged
            text = w.settings_text()
            if cycle > 0 and (state["servers"] is not None or inflight["servers"] is not None):
                self.assertIsNotNone(text, "cycle %d: settings.conf missing" % cycle)
            if text is not None:
                self.check_config_ok()
                file_servers, file_rules = self.parse_settings(text)
            servers = w.get("Servers")
            rules = w.get("RestrictRules")
            for kind in ("servers", "restrict"):
                allowed = [state[kind]] + ([inflight[kind]] if inflight[kind] is not None else [])
                if kind == "servers":
                    expected = {i: (dbustest.servers_value(i) if i is not None else initial_servers) for i in allowed}
                    match = [i for i, v in expected.items() if v == servers]
                    if text is not None and match and match[0] is not None:
                        self.assertEqual(file_servers, servers, "cycle %d: settings.conf vs Servers" % cycle)
                    got = servers
                else:
                    expected = {i: ([i % 250] if i is not None else []) for i in allowed}
                    idx = self.restrict_index(rules)
                    match = [i for i, v in expected.items() if v == idx]
                    if text is not None and match and match[0] is not None:
                        self.assertEqual(self.restrict_index(file_rules), idx)
                    got = rules
                self.assertTrue(match, "cycle %d: %s after the restart is %r; acknowledged last: %r, in flight: %r"
                                % (cycle, kind, got, state[kind], inflight[kind]))
                if inflight[kind] is not None and match[0] == inflight[kind]:
                    inflight_applied += 1
                state[kind] = match[0]
                inflight[kind] = None
            if cycle == KILLS:
                break

            # -- hammer and kill
            hammer = subprocess.Popen([dbustest.PYTHON3, os.path.join(dbustest.HERE, "dbustest.py"), "hammer",
                                       json.dumps({"address": w.bus.address, "start": next_index})],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                      start_new_session=True)
            cleanup = harness_cleanup(hammer)
            try:
                first = hammer.stdout.readline()
                if not first:
                    self.fail("the hammer did not start: %s" % hammer.communicate(timeout=30)[1])
                time.sleep(rng.uniform(0.01, 0.35))
                w.kill_daemon()
                out, err = hammer.communicate(timeout=30)
            finally:
                cleanup()
            events = [json.loads(line) for line in (first + out).splitlines() if line.strip()]
            sent = {e["sent"]: e for e in events if "sent" in e}
            acks = [e["ack"] for e in events if "ack" in e]
            errors = [e for e in events if "error" in e]
            self.assertTrue(sent, err)
            for i in acks:
                kind = sent[i]["kind"]
                state[kind] = i
            last = max(sent)
            if last not in acks:
                inflight[sent[last]["kind"]] = last
                kills_mid_write += 1
                self.assertTrue(errors and errors[0]["name"] in ("org.freedesktop.DBus.Error.NoReply",
                                                                 "org.freedesktop.DBus.Error.Disconnected",
                                                                 "org.freedesktop.DBus.Error.ServiceUnknown"),
                                "call %d failed otherwise: %r %s" % (last, errors, err))
            total_acks += len(acks)
            next_index = last + 1
            log("cycle %d: %d calls acknowledged, in flight at the kill: %s" %
                (cycle, len(acks), "none" if last in acks else last))

        leftovers = [n for n in os.listdir(w.state) if n.startswith(".settings.conf.")]
        log("%d kills, %d acknowledged changes, %d kills with a call in flight (%d of those applied), "
            "%d temporary files left" % (KILLS, total_acks, kills_mid_write, inflight_applied, len(leftovers)))
        self.assertGreater(total_acks, KILLS, "too few changes acknowledged to mean anything")
        self.assertGreater(kills_mid_write, KILLS // 2, "the kills hardly ever hit a call in flight")


if __name__ == "__main__":
    dbustest.main_unittest()
