#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Lints the manual pages given as arguments.

Each page must pass, without a single message:
  - mandoc -Tlint -W warning PAGE        (mandoc's checker; tools/install-deps.sh installs it)
  - groff -t -man -ww -z PAGE            (groff with all warnings, tables through tbl)
  - MANWIDTH=80 man --warnings -l PAGE   (what a reader gets: man-db, groff, 80 columns)

A missing mandoc or man is said and that check left out; groff (groff-base) is required.
"""

import os
import shutil
import subprocess
import sys
import unittest

PAGES = sys.argv[1:]
del sys.argv[1:]


def run(argv, env=None):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
                          timeout=60)


class Lint(unittest.TestCase):
    def test_pages_given(self):
        self.assertTrue(PAGES, "no pages given")
        for page in PAGES:
            self.assertTrue(os.path.isfile(page), page)

    def test_mandoc(self):
        mandoc = shutil.which("mandoc")
        if not mandoc:
            self.skipTest("mandoc not installed (tools/install-deps.sh installs it)")
        for page in PAGES:
            with self.subTest(page=os.path.basename(page)):
                p = run([mandoc, "-Tlint", "-W", "warning", page])
                self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))

    def test_groff(self):
        groff = shutil.which("groff")
        self.assertIsNotNone(groff, "groff is needed")
        for page in PAGES:
            with self.subTest(page=os.path.basename(page)):
                p = run([groff, "-t", "-man", "-ww", "-z", page])
                self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))

    def test_man(self):
        man = shutil.which("man")
        if not man:
            self.skipTest("man (man-db) not installed")
        env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
        env.pop("MANPAGER", None)
        env.pop("PAGER", None)
        for page in PAGES:
            with self.subTest(page=os.path.basename(page)):
                p = run([man, "--warnings", "-l", page], env=env)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stderr, "")
                self.assertIn("NAME", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
