# SPDX-License-Identifier: LGPL-2.1-or-later
"""Headless Chromium on this machine, driven with Selenium through Debian's chromedriver (nothing
is downloaded), looking at Cockpit inside a booted container.

The container lives in a network namespace of the test that this machine's own namespace cannot
reach. A forwarder carries the browser's TCP connections there over a Unix socket (a socket in the
file system belongs to no network namespace): 127.0.0.1:PORT here → forwarder.sock → a process
inside the namespace → Cockpit's 127.0.0.1:9090, which is the container's loopback.

Run as `browser.py unix-to-tcp SOCKET HOST PORT` it is that process inside the namespace."""

import os
import shutil
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def pump(source, sink):
    """Copies bytes until source ends, then ends sink's sending side."""
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    for how in (lambda: sink.shutdown(socket.SHUT_WR), source.close):
        try:
            how()
        except OSError:
            pass


def join_both_ways(a, b):
    threading.Thread(target=pump, args=(a, b), daemon=True).start()
    threading.Thread(target=pump, args=(b, a), daemon=True).start()


def serve_forever(listener, connect):
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return  # closed
        try:
            join_both_ways(conn, connect())
        except OSError:
            conn.close()


def unix_to_tcp(path, host, port):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    serve_forever(listener, lambda: socket.create_connection((host, port), timeout=10))


class Forwarder:
    """127.0.0.1:self.port on this machine reaches HOST:PORT inside netns."""

    def __init__(self, netns, host, port, log_dir):
        self.dir = tempfile.mkdtemp(prefix="ntpsync-forward-")
        path = os.path.join(self.dir, "forwarder.sock")
        self.inner = harness.Process("forwarder", netns.exec_argv(
            [harness.PYTHON3, os.path.abspath(__file__), "unix-to-tcp", path, host, str(port)]), log_dir)
        deadline = time.monotonic() + 10
        while not os.path.exists(path):
            if time.monotonic() > deadline or not self.inner.running():
                raise harness.SetupError("the forwarder in %s did not start: %s" % (netns.name, self.inner.stderr()))
            time.sleep(0.05)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]

        def connect_inner():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        threading.Thread(target=serve_forever, args=(self.listener, connect_inner), daemon=True).start()

    def close(self):
        self.listener.close()
        self.inner.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Browser:
    """One headless Chromium with its own profile; the Cockpit at base_url."""

    def __init__(self, base_url, screenshot_dir):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.base_url = base_url
        self.screenshot_dir = screenshot_dir
        self.profile = tempfile.mkdtemp(prefix="ntpsync-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,1700", "--no-first-run", "--user-data-dir=" + self.profile):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for failures
        self.service = Service(CHROMEDRIVER)
        self.driver = webdriver.Chrome(service=self.service, options=options)
        self._cleanup = harness.register_cleanup("chromium", self.close)
        self.driver.set_page_load_timeout(60)

    def close(self):
        if self.driver:
            try:
                self.driver.quit()
            except Exception:  # noqa: BLE001 - whatever state the browser is in, it goes
                pass
            self.driver = None
        process = getattr(self.service, "process", None)
        if process and process.poll() is None:
            process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
        harness.unregister_cleanup(self._cleanup)

    def wait(self, what, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = predicate()
            except Exception as e:  # noqa: BLE001 - the page may be between states
                last = e
            if last and not isinstance(last, Exception):
                return last
            time.sleep(0.3)
        raise AssertionError("timed out after %d s waiting for %s (last: %r)" % (timeout, what, last))

    def by_id(self, element_id):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.ID, element_id)

    def login(self, user, password, superuser):
        """The real login form; with superuser, Cockpit asks for administrative access at login
        (sudo, with the login password) as when the user chose it once before."""
        self.driver.get(self.base_url + "/")
        self.wait("the login form", lambda: self.by_id("login-user-input").is_displayed())
        self.driver.execute_script('window.localStorage.setItem("superuser:" + arguments[0], arguments[1])',
                                   user, "any" if superuser else "none")
        self.by_id("login-user-input").send_keys(user)
        self.by_id("login-password-input").send_keys(password)
        self.by_id("login-button").click()
        self.wait("the shell after login", lambda: "/system" in self.driver.current_url or
                  self.driver.find_elements(*self._frame_locator("system")))

    @staticmethod
    def _frame_locator(page):
        from selenium.webdriver.common.by import By
        return By.CSS_SELECTOR, 'iframe[name="cockpit1:localhost/%s"]' % page

    def open_page(self, page):
        """Opens the page in the shell and switches into its iframe."""
        self.driver.switch_to.default_content()
        self.driver.get("%s/%s" % (self.base_url, page))
        frame = self.wait("the %s iframe" % page, lambda: self.driver.find_element(*self._frame_locator(page)), 60)
        self.driver.switch_to.frame(frame)
        self.page = page

    def shell_oops(self):
        """Whether the shell shows its "Ooops!": a page threw an error nobody caught."""
        from selenium.webdriver.common.by import By
        self.driver.switch_to.default_content()
        try:
            return any(e.is_displayed() for e in self.driver.find_elements(By.ID, "navbar-oops"))
        finally:
            self.driver.switch_to.frame(self.driver.find_element(*self._frame_locator(self.page)))

    def screenshot(self, name):
        os.makedirs(self.screenshot_dir, exist_ok=True)
        path = os.path.join(self.screenshot_dir, name + ".png")
        self.driver.save_screenshot(path)
        harness.log("screenshot " + path)
        return path

    def logs(self):
        try:
            return "\n".join("%s %s" % (e.get("level"), e.get("message")) for e in self.driver.get_log("browser"))
        except Exception as e:  # noqa: BLE001 - only for a failure message
            return "(no browser log: %s)" % e


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "unix-to-tcp":
        unix_to_tcp(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("usage: browser.py unix-to-tcp SOCKET HOST PORT")
