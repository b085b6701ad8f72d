#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`ntpsyncctl import-ntpconf`, the real binary ($NTPSYNCCTL), on files in temporary directories.

No D-Bus: the import works offline. Checks the written file (mode, no temporary files left, a
symlink replaced rather than written through, no overwrite without --force), `--output -`, the
drift value carried over into a temporary state directory, warnings once per directive, errors
with FILE:LINE, and that the real ntpsyncd ($NTPSYNCD) takes the result with --check-config.
Nothing is read from or written to the real /etc or /var/lib.
"""

import os
import stat
import subprocess
import sys
import tempfile
import unittest

CTL = os.environ.get("NTPSYNCCTL")
NTPSYNCD = os.environ.get("NTPSYNCD")

# /work/shared/seed-esx-ntp-kb.txt: the VMware KB's ntp.conf and step-tickers
ESX_NTP_CONF = """restrict 127.0.0.1
restrict default kod nomodify notrap
server 0.vmware.pool.ntp.org
server 1.vmware.pool.ntp.org
server 2.vmware.pool.ntp.org
driftfile {drift}
"""
ESX_STEP_TICKERS = "0.vmware.pool.ntp.org\n1.vmware.pool.ntp.org\n2.vmware.pool.ntp.org\n"
ESX_SERVERS = ["0.vmware.pool.ntp.org", "1.vmware.pool.ntp.org", "2.vmware.pool.ntp.org"]


class ImportNtpconfTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ntpsync-import-")
        self.dir = self.tmp.name
        self.ntp_conf = self.path("etc/ntp.conf")
        self.step_tickers = self.path("etc/ntp/step-tickers")
        self.ntpd_drift = self.path("var/lib/ntp/drift")
        self.state_dir = self.path("var/lib/ntpsyncd")
        self.conf_d = self.path("etc/ntpsyncd.conf.d")
        self.output = os.path.join(self.conf_d, "50-imported-ntp.conf")
        os.makedirs(self.state_dir)
        self.write(self.ntp_conf, ESX_NTP_CONF.format(drift=self.ntpd_drift))
        self.write(self.step_tickers, ESX_STEP_TICKERS)
        self.write(self.ntpd_drift, "-12.345\n")

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, relative):
        return os.path.join(self.dir, relative)

    @staticmethod
    def write(path, text, mode="w"):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, mode) as f:
            f.write(text)

    @staticmethod
    def read(path):
        with open(path, encoding="utf-8") as f:
            return f.read()

    def ctl(self, *args):
        return subprocess.run([CTL, *args], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)

    def import_(self, *extra, files=None):
        files = files if files is not None else [self.ntp_conf, self.step_tickers]
        return self.ctl("import-ntpconf", *files, "--output", self.output, "--state-dir", self.state_dir, *extra)

    def assert_exit(self, result, status):
        self.assertEqual(result.returncode, status,
                         f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}")

    def check_config(self, path):
        return subprocess.run([NTPSYNCD, "--check-config", "--config", path, "--timesyncd-conf=", "--state-dir", self.state_dir],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)

    def test_esx_example_imports_without_warnings_and_ntpsyncd_takes_it(self):
        result = self.import_()
        self.assert_exit(result, 0)
        self.assertEqual(result.stderr, "")  # no warning at all
        self.assertTrue(result.stdout.startswith(f"Wrote {self.output}: 3 servers and pools"), result.stdout)
        self.assertIn("ntpsyncctl reload", result.stdout)

        text = self.read(self.output)
        for host in ESX_SERVERS:
            self.assertEqual(sum(line.split()[:2] == ["server", host] for line in text.splitlines()), 1, text)
        self.assertRegex(text, r"\nrestrict 127\.0\.0\.1 +# .*/etc/ntp\.conf:1\n")
        self.assertRegex(text, r"\nrestrict default kod nomodify notrap +# .*/etc/ntp\.conf:2\n")
        self.assertTrue(text.startswith("# ntpsyncd configuration, imported from ntpd's"), text)
        self.assertIn(f"#   {self.ntp_conf}\n#   {self.step_tickers}\n", text)
        self.assertNotIn("\ndriftfile", text)  # ntpsyncd keeps its own

        # The real daemon, with the imported file as its main configuration.
        checked = self.check_config(self.output)
        self.assert_exit(checked, 0)
        self.assertEqual(checked.stderr, "")
        for host in ESX_SERVERS:
            self.assertRegex(checked.stdout, rf"(?m)^server {host} iburst +# {self.output}:\d+$")
        self.assertRegex(checked.stdout, r"(?m)^restrict 127\.0\.0\.1/32 ")
        self.assertRegex(checked.stdout, r"(?m)^restrict default nomodify notrap kod ")

    def test_timesyncd_servers_join_with_their_origin(self):
        """Servers a host has for systemd-timesyncd (what Cockpit's time dialog writes) are used
        next to ntpsyncd's own, and --check-config says where each came from."""
        main = os.path.join(self.dir, "timesyncd.conf")
        with open(main, "w") as f:
            f.write("[Time]\nNTP=192.0.2.7\nFallbackNTP=192.0.2.99\n")
        os.makedirs(main + ".d")
        with open(os.path.join(main + ".d", "50-cockpit.conf"), "w") as f:
            f.write("[Time]\nNTP=ntp.example.test\n")
        conf = os.path.join(self.dir, "ntpsyncd.conf")
        with open(conf, "w") as f:
            f.write("server 198.51.100.1 iburst\n")
        p = subprocess.run([NTPSYNCD, "--check-config", "--config", conf, "--timesyncd-conf", main, "--state-dir",
                            self.state_dir], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assert_exit(p, 0)
        self.assertRegex(p.stdout, r"(?m)^server 198\.51\.100\.1 iburst +# .*ntpsyncd\.conf:1$")
        self.assertRegex(p.stdout, r"(?m)^server 192\.0\.2\.7 iburst +# .*/timesyncd\.conf:2$")
        self.assertRegex(p.stdout, r"(?m)^server ntp\.example\.test iburst +# .*/50-cockpit\.conf:2$")
        self.assertNotIn("192.0.2.99", p.stdout)  # the fallback: only when nothing else is configured

    def test_file_is_written_atomically_with_mode_0644(self):
        self.assertFalse(os.path.exists(self.conf_d))  # made by the import
        self.assert_exit(self.import_(), 0)
        self.assertEqual(os.listdir(self.conf_d), ["50-imported-ntp.conf"])  # no temporary file left
        self.assertEqual(stat.S_IMODE(os.stat(self.output).st_mode), 0o644)

        # --force replaces it by a rename: a new inode, the old one untouched for whoever had it open.
        with open(self.output, encoding="utf-8") as old:
            inode = os.fstat(old.fileno()).st_ino
            self.write(self.ntp_conf, "server other.example.org\n")
            self.assert_exit(self.import_("--force"), 0)
            self.assertIn("server 0.vmware.pool.ntp.org", old.read())
        self.assertNotEqual(os.stat(self.output).st_ino, inode)
        self.assertIn("server other.example.org", self.read(self.output))
        self.assertEqual(os.listdir(self.conf_d), ["50-imported-ntp.conf"])

    def test_refuses_to_replace_without_force(self):
        self.write(self.output, "# mine\n")
        result = self.import_()
        self.assert_exit(result, 2)
        self.assertIn(self.output, result.stderr)
        self.assertIn("--force", result.stderr)
        self.assertEqual(self.read(self.output), "# mine\n")
        self.assertFalse(os.path.exists(os.path.join(self.state_dir, "drift")))  # nothing at all

        self.assert_exit(self.import_("--force"), 0)
        self.assertIn("server 0.vmware.pool.ntp.org", self.read(self.output))

    def test_symlink_is_replaced_not_written_through(self):
        target = self.path("elsewhere.conf")
        self.write(target, "# not to be touched\n")
        os.makedirs(self.conf_d)
        os.symlink(target, self.output)
        self.assert_exit(self.import_(), 2)  # a symlink is an existing file
        self.assert_exit(self.import_("--force"), 0)
        self.assertFalse(os.path.islink(self.output))
        self.assertEqual(self.read(target), "# not to be touched\n")

        os.unlink(self.output)
        os.symlink(self.path("missing-target"), self.output)  # dangling
        self.assert_exit(self.import_(), 2)
        self.assertFalse(os.path.exists(self.path("missing-target")))

    def test_output_stdout_writes_nothing(self):
        result = self.ctl("import-ntpconf", self.ntp_conf, self.step_tickers, "--output", "-",
                          "--state-dir", self.state_dir)
        self.assert_exit(result, 0)
        self.assertTrue(result.stdout.startswith("# ntpsyncd configuration, imported"), result.stdout)
        for host in ESX_SERVERS:
            self.assertIn(f"\nserver {host} iburst ", result.stdout)
        self.assertIn("not carried over", result.stderr)  # the drift: not with --output -
        self.assertFalse(os.path.exists(self.conf_d))
        self.assertEqual(os.listdir(self.state_dir), [])

    def test_drift_is_carried_over(self):
        result = self.import_()
        self.assert_exit(result, 0)
        drift = os.path.join(self.state_dir, "drift")
        self.assertEqual(self.read(drift), "-12.345\n")  # ntpsyncd's format: drift_format()
        self.assertEqual(stat.S_IMODE(os.stat(drift).st_mode), 0o644)
        self.assertIn(f"Carried ntpd's frequency (-12.345 ppm) over from {self.ntpd_drift} to {drift}.",
                      result.stdout)
        self.assertIn(f"# driftfile {self.ntpd_drift} (", self.read(self.output))

    def test_drift_of_ntpsyncd_is_kept(self):
        drift = os.path.join(self.state_dir, "drift")
        self.write(drift, "3.000\n")
        result = self.import_()
        self.assert_exit(result, 0)
        self.assertEqual(self.read(drift), "3.000\n")
        self.assertIn("exists already", result.stdout)
        self.assertEqual(result.stderr, "")  # a note, not a warning

    def test_drift_out_of_range_is_not_carried_over(self):
        self.write(self.ntpd_drift, "612.5\n")
        result = self.import_()
        self.assert_exit(result, 0)
        self.assertFalse(os.path.exists(os.path.join(self.state_dir, "drift")))
        self.assertIn("not carried over", result.stdout)
        self.assertIn("500 ppm", result.stdout)

    def test_missing_step_tickers_is_fine(self):
        os.unlink(self.step_tickers)
        result = self.import_()
        self.assert_exit(result, 0)
        self.assertEqual(result.stderr, "")
        self.assertIn(f"#   ({self.step_tickers}: none)", self.read(self.output))

    def test_missing_ntp_conf_fails(self):
        os.unlink(self.ntp_conf)
        result = self.import_()
        self.assert_exit(result, 1)
        self.assertIn(f"{self.ntp_conf}: cannot read: No such file or directory", result.stderr)
        self.assertFalse(os.path.exists(self.conf_d))

    def test_warnings_once_per_directive(self):
        self.write(self.ntp_conf, "server a.example.org burst\n"
                                  "keys /etc/ntp/keys\n"
                                  "server b.example.org burst\n"
                                  "keys /etc/ntp/keys2\n"
                                  "trustedkey 1\n"
                                  "keys /etc/ntp/keys3\n")
        result = self.import_()
        self.assert_exit(result, 0)  # warnings are not failures
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 3, result.stderr)
        self.assertIn(f"ntpsyncctl: {self.ntp_conf}:2: 'keys' is not carried over (ntpsyncd has no symmetric-key "
                      "authentication); 3 lines ignored", lines)
        self.assertTrue(any(line.startswith(f"ntpsyncctl: {self.ntp_conf}:1: server option 'burst'")
                            and line.endswith("; 2 lines affected") for line in lines), lines)
        self.assertTrue(any(f"{self.ntp_conf}:5: 'trustedkey'" in line for line in lines), lines)
        self.assertIn("3 warnings", result.stdout)
        self.assert_exit(self.check_config(self.output), 0)

    def test_ntpsec_nts_is_carried_over_and_ntpsyncd_takes_it(self):
        self.write(self.ntp_conf, "server time.example.com iburst nts\n"
                                  "server nts.example.org:4461 nts ca /etc/ntp/private-ca.pem\n"
                                  "server [2001:db8::1]:4460 nts noval\n"
                                  "nts enable mintls TLS1.3\n"
                                  "nts key /etc/ntp/key.pem\n"
                                  "nts ca /etc/ssl/certs\n")
        result = self.import_()
        self.assert_exit(result, 0)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 2, result.stderr)
        self.assertIn(f"ntpsyncctl: {self.ntp_conf}:4: 'nts mintls' is not carried over (ntpsyncd speaks TLS 1.3 "
                      "only, as RFC 8915 asks); 1 line affected", lines)
        self.assertIn(f"ntpsyncctl: {self.ntp_conf}:4: 'nts enable' without 'nts cert' becomes "
                      "'nts cert /etc/ntp/cert-chain.pem' (ntpsyncd has no default; NTPsec's is written out); "
                      "1 line affected", lines)

        checked = self.check_config(self.output)
        self.assert_exit(checked, 0)
        self.assertEqual(checked.stderr, "")
        for line in ("server time.example.com iburst nts", "server nts.example.org nts port 4461 ca "
                     "/etc/ntp/private-ca.pem", "server 2001:db8::1 nts noval port 4460", "nts enable",
                     "nts cert /etc/ntp/cert-chain.pem", "nts key /etc/ntp/key.pem", "nts ca /etc/ssl/certs"):
            self.assertRegex(checked.stdout, rf"(?m)^{line} +# {self.output}:\d+$")

    def test_includefile_is_followed(self):
        self.write(self.path("etc/ntp/servers.conf"), "server included.example.org iburst\n")
        self.write(self.ntp_conf, "includefile ntp/servers.conf\nserver main.example.org\n")
        result = self.import_()
        self.assert_exit(result, 0)
        text = self.read(self.output)
        self.assertRegex(text, rf"\nserver included\.example\.org iburst +# {self.dir}/etc/ntp/servers\.conf:1\n")
        checked = self.check_config(self.output)
        self.assert_exit(checked, 0)
        self.assertIn("server included.example.org iburst", checked.stdout)
        self.assertIn("server main.example.org", checked.stdout)

    def test_bad_input_names_file_and_line(self):
        cases = [
            (b"server a.example.org\nserver b\0.example.org\n", ":2: NUL byte in line"),
            (b"server a.example.org\n" + b"x" * 2000 + b"\n", ":2: line longer than 1023 characters"),
            (b"server \"a.example.org\n", ":1: unterminated quoted string"),
            (b"server a.example.org \\\n", ":1: line ends in a backslash"),
            (b"\n" * 10001, ":10001: more than 10000 lines"),
            (b"server bad_host!\r\n", ":1: server: 'bad_host!' is not a valid host name"),
            (b"# " + b"x" * (1024 * 1024) + b"\n", ": larger than 1048576 bytes"),
        ]
        for content, message in cases:
            with self.subTest(message=message):
                self.write(self.ntp_conf, content, mode="wb")
                result = self.import_()
                self.assert_exit(result, 1)
                self.assertIn(f"ntpsyncctl: {self.ntp_conf}{message}", result.stderr)
                self.assertFalse(os.path.exists(self.output))
                self.assertEqual(os.listdir(self.state_dir), [])

    def test_non_utf8_and_crlf(self):
        self.write(self.ntp_conf, b"# caf\xe9\r\nserver a.example.org iburst\r\nfr\xffob 1\r\n", mode="wb")
        result = self.import_()
        self.assert_exit(result, 0)
        self.assertIn("'fr\\xffob' is not carried over", result.stderr)
        self.assert_exit(self.check_config(self.output), 0)

    def test_usage_errors_exit_2(self):
        for args in (["import-ntpconf", "a", "b", "c"],
                     ["import-ntpconf", "--output"],
                     ["import-ntpconf", "--output="],
                     ["import-ntpconf", "--force=yes"],
                     ["import-ntpconf", "--json"],
                     ["import-ntpconf", "--runtime"],
                     ["status", "--output", self.output],
                     ["--force", "servers"]):
            with self.subTest(args=args):
                result = self.ctl(*args)
                self.assert_exit(result, 2)
                self.assertTrue(result.stderr.startswith("ntpsyncctl: "), result.stderr)
        self.assertFalse(os.path.exists(self.conf_d))

    def test_help_lists_import(self):
        result = self.ctl("--help")
        self.assert_exit(result, 0)
        self.assertIn("import-ntpconf [NTP_CONF [STEP_TICKERS]]", result.stdout)
        for option in ("--output FILE", "--force", "--state-dir DIR"):
            self.assertIn(option, result.stdout)


def main():
    if not CTL or not NTPSYNCD:
        print("NTPSYNCCTL and NTPSYNCD must name the built binaries", file=sys.stderr)
        return 1
    program = unittest.main(exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
