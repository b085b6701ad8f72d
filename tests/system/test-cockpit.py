#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Cockpit page in a real browser: Debian 12's Cockpit in the booted container (container.py)
with ntpsync and its page installed, a chronyd peer in the namespace next door, and headless
Chromium on this machine (browser.py) logging in through Cockpit's own login form.

    chronyd (fake offset +0.25 s)  192.0.2.5 -- 192.0.2.6  the container: systemd, polkitd,
                                                            timedated, ntpsyncd, cockpit-ws
    Chromium -- 127.0.0.1:PORT -- forwarder -- the container's 127.0.0.1:9090

Users: "admin" (group sudo, asks for administrative access at login) and "viewer" (no such
access). A screenshot of each state goes to NTPSYNC_TEST_OUTPUT (meson sets it to a directory
in the build tree). Every step is a test method, in order (they share the container and the
browser)."""

import hashlib
import importlib.util
import os
import re
import shutil
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from browser import Browser, Forwarder  # noqa: E402
from container import Container, fail_setup, prepare, torn_down_on_failure  # noqa: E402

OFFSET = 0.25
CHRONYD = "192.0.2.5"
MANAGER = ["org.ntpsync1", "/org/ntpsync1", "org.ntpsync1.Manager"]
SETTINGS = "/var/lib/ntpsyncd/settings.conf"
TIMESYNCD_DROPIN = "/etc/systemd/timesyncd.conf.d/50-cockpit.conf"
PASSWORD = "ntpsync-test-password"
# Addresses of the documentation ranges: configured and polled, never answered.
FORM_SERVER = "198.51.100.7"
BUSCTL_SERVER = "198.51.100.9"
COCKPIT_SERVERS = ["198.51.100.20", "198.51.100.21"]


class TestCockpitPage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        image, build_root = prepare(tools=("chromium", "chromedriver"))
        if importlib.util.find_spec("selenium") is None:
            fail_setup("python3-selenium is not installed (tools/install-deps.sh installs it)")
        cls.output = os.environ.get("NTPSYNC_TEST_OUTPUT") or os.path.join(os.getcwd(), "cockpit-screenshots")
        shutil.rmtree(cls.output, ignore_errors=True)  # no screenshot of an earlier run left to mislead
        cls.lab = harness.Lab("ckp")
        cls.container = cls.forwarder = cls.browser = None
        with torn_down_on_failure(cls):
            cls.upstream = cls.lab.chronyd(OFFSET)
            if cls.upstream.address != CHRONYD:
                fail_setup("chronyd at %s, expected %s" % (cls.upstream.address, CHRONYD))
            c = cls.container = Container(cls.lab, image, build_root)
            c.write("/etc/ntpsyncd.conf", "server %s iburst minpoll 4 maxpoll 6\nrestrict default nomodify\n"
                    "restrict 127.0.0.1\nrestrict ::1\n" % CHRONYD)
            # Plain HTTP: the browser reaches Cockpit through the forwarder, on loopback only.
            c.write("/etc/cockpit/cockpit.conf", "[WebService]\nAllowUnencrypted=true\n")
            # ntpsyncd's debug messages in the journal, which a failed step prints
            c.write("/etc/systemd/system/ntpsyncd.service.d/50-debug.conf",
                    "[Service]\nEnvironment=SYSTEMD_LOG_LEVEL=debug\n")
            c.boot(cls.lab.client.name)
            # The documentation addresses the tests configure are polled (through chronyd's
            # namespace, where they go nowhere) rather than left without a route.
            c.run(["ip", "route", "add", "default", "via", CHRONYD])
            for user, groups in (("admin", ["--groups", "sudo"]), ("viewer", [])):
                c.run(["useradd", "--create-home", "--shell", "/bin/bash"] + groups + [user])
                c.run(["sh", "-c", "echo '%s:%s' | chpasswd" % (user, PASSWORD)])
            c.run(["systemctl", "enable", "--now", "ntpsyncd.service"])
            c.run(["systemctl", "start", "cockpit.socket"])
            cls.forwarder = Forwarder(cls.lab.client, "127.0.0.1", 9090, cls.lab.dir)
            cls.browser = Browser("http://127.0.0.1:%d" % cls.forwarder.port, cls.output)

    @classmethod
    def tearDownClass(cls):
        for part in ("browser", "forwarder", "container", "lab"):
            thing = getattr(cls, part, None)
            if thing:
                (thing.stop if part == "container" else thing.close)()
                setattr(cls, part, None)

    def setUp(self):
        self.c = self.container
        self.b = self.browser

    def tearDown(self):
        console = self.b.logs()
        harness.log("browser console:\n" + console)
        if getattr(self.b, "page", None):
            self.assertFalse(self.b.shell_oops(), "the page threw an uncaught error:\n" + console)
        result = self._outcome.result
        if any(test is self for test, _ in result.errors + result.failures):
            self.b.screenshot("failed-" + self._testMethodName)
            harness.log("ntpsyncd journal:\n" + self.c.journal("ntpsyncd.service")[-4000:])
            harness.log("cockpit journal:\n" + self.c.journal("cockpit.service")[-4000:])

    # ---- helpers ----

    def get_property(self, name):
        return self.c.run(["busctl", "get-property"] + MANAGER + [name]).stdout.strip()

    def busctl_call(self, method, signature, *args, check=True):
        return self.c.run(["busctl", "call"] + MANAGER + [method, signature] + [str(a) for a in args], check=check)

    def settings_digest(self):
        try:
            return hashlib.sha256(self.c.read(SETTINGS)).hexdigest()
        except FileNotFoundError:
            return None

    def text(self, element_id):
        return self.b.by_id(element_id).text

    def visible(self, element_id):
        return self.b.by_id(element_id).is_displayed()

    def source_rows(self):
        """The sources table as lists of cell texts."""
        return self.b.driver.execute_script(
            "return Array.from(document.querySelectorAll('#sources-body tr'))"
            ".map(tr => Array.from(tr.cells).map(td => td.textContent.trim()));")

    def source_row(self, address):
        for row in self.source_rows():
            if address in row[1:3]:
                return row
        return None

    def server_list_text(self):
        return self.text("servers-list")

    def wait_admin(self):
        self.b.wait("administrative access in the page", lambda: not self.visible("admin-hint") and
                    self.visible("server-form"), 60)

    def open_as(self, user, superuser):
        self.b.driver.switch_to.default_content()
        self.b.driver.delete_all_cookies()
        self.b.login(user, PASSWORD, superuser)
        self.b.open_page("ntpsync")
        self.b.wait("the status card", lambda: self.visible("status-card"), 60)

    # ---- the steps ----

    def test_01_admin_sees_the_peer_with_reach_and_offset(self):
        self.open_as("admin", superuser=True)
        self.wait_admin()

        def peer_measured():
            row = self.source_row(CHRONYD)
            return row if row and row[7] not in ("", "0") and re.search(r"\d", row[9]) else None
        row = self.b.wait("%s with reach and offset in the sources table" % CHRONYD, peer_measured, 90)
        harness.log("sources row: %r" % row)
        self.assertAlmostEqual(float(row[9].replace("+", "")), OFFSET * 1000, delta=harness.TOLERANCE * 1000)
        self.assertIn(row[0], "*+", "tally code of the only source")
        self.assertEqual(row[11], "ok", "state of the only source")
        self.assertRegex(self.text("status-headline"), r"\S")
        self.b.screenshot("01-admin-sources")

    def test_02_cockpit_timesyncd_servers_after_set_ntp(self):
        """What Cockpit's own dialog does for timesyncd: 50-cockpit.conf, SetNTP false, then
        true. In between, the page says ntpsyncd is not running and offers to start it."""
        self.c.write(TIMESYNCD_DROPIN, "[Time]\nNTP=%s\n" % " ".join(COCKPIT_SERVERS))
        self.c.run(["timedatectl", "set-ntp", "false"])
        self.b.wait("the not-running card", lambda: self.visible("not-running"), 30)
        self.assertIn("inactive", self.text("not-running-state"))
        self.b.screenshot("02-not-running")
        self.c.run(["timedatectl", "set-ntp", "true"])
        self.c.wait_for("ntpsyncd active", lambda: self.c.state("ntpsyncd.service") == "active", 30)
        self.b.wait("the page back with ntpsyncd", lambda: not self.visible("not-running") and
                    self.visible("sources-card"), 30)
        origins = self.get_property("ServerOrigins")
        for address in COCKPIT_SERVERS:
            self.assertIn('"server %s iburst" "timesyncd" "%s:2"' % (address, TIMESYNCD_DROPIN), origins)
        sources = self.get_property("Sources")
        for address in COCKPIT_SERVERS + [CHRONYD]:
            self.assertIn('"%s"' % address, sources, "ntpsyncd does not poll %s" % address)
            self.b.wait("%s in the sources table" % address, lambda a=address: self.source_row(a), 30)
            self.b.wait("%s in the server list" % address, lambda a=address: a in self.server_list_text(), 10)
        self.assertIn(TIMESYNCD_DROPIN, self.server_list_text(), "the server list does not show the origin")
        self.b.screenshot("02-timesyncd-servers")

    def test_03_start_button(self):
        self.c.run(["systemctl", "stop", "ntpsyncd.service"])
        self.b.wait("the not-running card", lambda: self.visible("not-running"), 30)
        self.b.by_id("start-service").click()
        self.c.wait_for("ntpsyncd started from the page", lambda: self.c.state("ntpsyncd.service") == "active", 30)
        self.b.wait("the page back with ntpsyncd", lambda: self.visible("sources-card"), 30)

    def test_04_add_server_through_the_form(self):
        self.assertNotIn(FORM_SERVER, self.get_property("Servers"))
        self.b.by_id("server-host").send_keys(FORM_SERVER)
        self.b.by_id("server-minpoll").send_keys("5")
        self.b.by_id("server-add").click()
        self.c.wait_for("%s in Servers" % FORM_SERVER, lambda: FORM_SERVER in self.get_property("Servers"), 15)
        self.assertIn('"server %s iburst minpoll 5"' % FORM_SERVER, self.get_property("Servers"))
        settings = self.c.read(SETTINGS).decode()
        self.assertRegex(settings, r"(?m)^server %s iburst minpoll 5$" % re.escape(FORM_SERVER), settings)
        self.b.wait("%s in the server list" % FORM_SERVER, lambda: FORM_SERVER in self.server_list_text(), 10)
        self.assertFalse(self.visible("server-form-error"), self.text("server-form-error"))
        self.b.screenshot("04-server-added")

    def click_server_button(self, spec, label):
        """Clicks a button of the server list; the list is drawn anew on every change, so an
        element found a moment before may be gone: found again until the click lands."""
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By
        xpath = '//ul[@id="servers-list"]/li[span[@class="spec"][text()="%s"]]//button[text()="%s"]' % (spec, label)

        def click():
            try:
                self.b.driver.find_element(By.XPATH, xpath).click()
                return True
            except StaleElementReferenceException:
                return False
        self.b.wait("a click on %s of %r" % (label, spec), click, 15)

    def servers(self):
        return re.findall(r'"([^"]*)"', self.get_property("Servers"))

    def test_04b_query_before_adding(self):
        host = self.b.by_id("server-host")
        host.clear()
        host.send_keys(CHRONYD)
        self.b.by_id("server-query").click()
        shown = self.b.wait("the query's result", lambda: re.search(r"offset ([+-][\d.]+) ms",
                                                                   self.text("server-query-result")), 30)
        self.assertAlmostEqual(float(shown.group(1)), OFFSET * 1000, delta=harness.TOLERANCE * 1000,
                               msg=self.text("server-query-result"))
        self.assertIn("stratum 1", self.text("server-query-result"))
        host.clear()
        self.b.screenshot("04b-query")

    def test_04c_edit_and_reorder(self):
        spec = "server %s iburst minpoll 5" % FORM_SERVER
        before = self.servers()
        index = before.index(spec)
        self.click_server_button(spec, "Edit")
        minpoll = self.b.by_id("server-minpoll")
        self.assertEqual(minpoll.get_attribute("value"), "5")
        minpoll.clear()
        minpoll.send_keys("6")
        self.b.by_id("server-add").click()
        edited = "server %s iburst minpoll 6" % FORM_SERVER
        self.c.wait_for("the edited server in place", lambda: self.servers() == before[:index] + [edited] +
                        before[index + 1:], 15)
        self.click_server_button(edited, "Up")
        moved = before[:index] + [edited] + before[index + 1:]
        moved[index - 1], moved[index] = moved[index], moved[index - 1]
        self.c.wait_for("the server one place up", lambda: self.servers() == moved, 15)
        self.assertIn(edited, self.c.read(SETTINGS).decode())
        self.b.screenshot("04c-edited-and-moved")

    def test_05_bad_restrict_rule_shows_the_daemons_message(self):
        rule = "192.0.2.0/24 nosuchflag"
        rules_before, settings_before = self.get_property("RestrictRules"), self.settings_digest()
        daemon = self.busctl_call("AddRestrict", "sb", rule, "false", check=False)
        self.assertNotEqual(daemon.returncode, 0, "the daemon took %r" % rule)
        message = daemon.stderr.strip().splitlines()[-1]
        harness.log("the daemon's message: " + message)
        self.assertIn("unknown restrict flag: 'nosuchflag'", message)
        self.b.by_id("restrict-rule").send_keys(rule)
        self.b.by_id("restrict-add").click()
        daemon_words = message.split(": ", 1)[-1].rstrip(".")  # after busctl's "Call failed: "
        self.b.wait("the daemon's message at the field", lambda: self.visible("restrict-rule-error") and
                    daemon_words in self.text("restrict-rule-error"), 15)
        self.assertEqual(self.get_property("RestrictRules"), rules_before)
        self.assertEqual(self.settings_digest(), settings_before)
        self.b.screenshot("05-bad-restrict-rule")

    def test_06_busctl_change_appears_without_reload(self):
        self.b.driver.execute_script("window.ntpsyncTestMarker = 'same page';")
        self.busctl_call("AddServer", "sb", BUSCTL_SERVER, "true")
        self.b.wait("%s in the open page" % BUSCTL_SERVER, lambda: BUSCTL_SERVER in self.server_list_text(), 10)
        self.b.wait("%s in the sources table" % BUSCTL_SERVER, lambda: self.source_row(BUSCTL_SERVER), 10)
        self.assertEqual(self.b.driver.execute_script("return window.ntpsyncTestMarker;"), "same page",
                         "the page was reloaded")
        self.b.screenshot("06-live-change")
        # The plot drew the offsets announced while the page was open, on a few minutes' axis.
        self.assertRegex(self.b.by_id("status-plot-offset").get_attribute("d"), r"^M[\d.]+ [\d.]+ L")
        self.assertEqual(self.text("status-plot-start"), "5 min ago")
        self.b.driver.execute_script("window.scrollTo(0, 0);")
        self.b.screenshot("06-overview")

    def test_07_viewer_sees_it_read_only(self):
        self.open_as("viewer", superuser=False)
        self.b.wait("the read-only hint", lambda: self.visible("admin-hint"), 30)
        self.b.wait("%s in the sources table" % CHRONYD, lambda: self.source_row(CHRONYD), 30)
        # Servers that never answer, added one after another, do not keep it from its peer.
        self.b.wait("the synchronized headline", lambda: self.text("status-headline").startswith("Synchronized"), 30)
        for form in ("server-form", "restrict-form", "serve-switch"):
            self.assertFalse(self.visible(form), "%s shown to a user without administrative access" % form)
        buttons = self.b.driver.execute_script(
            "return Array.from(document.querySelectorAll('#servers-list button, #restrict-list button'))"
            ".filter(b => b.offsetParent !== null).length;")
        self.assertEqual(buttons, 0, "buttons to change settings shown read-only")
        self.assertFalse(self.b.by_id("ntp-switch").is_enabled())
        self.b.screenshot("07-viewer-read-only")


if __name__ == "__main__":
    harness.main_unittest()
