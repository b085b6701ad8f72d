#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The manual pages and the bash completion against the code, so that they cannot drift apart.

  - every command and option that the built `ntpsyncctl --help` lists is in ntpsyncctl.1 (each
    command's synopsis as --help writes it) and completes in shell-completion/bash/ntpsyncctl;
  - every option of the built `ntpsyncd --help` is in the OPTIONS of ntpsyncd.8;
  - every keyword that src/core/config.c and src/core/restrict.c compare words with is in
    ntpsyncd.conf.5, and every directive and flag that page describes is one of them;
  - every method and property of dbus/org.ntpsync1.Manager.xml is in org.ntpsync1.5 with its
    signature, and so are the D-Bus errors and polkit actions of src/daemon/bus*.c;
  - the journal message IDs and fields, and the sd_notify messages, are in ntpsyncd.8;
  - each page's .TH names this version of ntpsync, and every ntpsync page a page refers to exists.

The docs may describe more than --help: commands still being added (PENDING) are reported, not
failed, while --help lacks them; every other command that the docs or the completion have must be
in --help too.

Environment: NTPSYNCCTL, NTPSYNCD (the built programs), SOURCE_ROOT, COMPLETION (the bash
completion file), NTPSYNC_VERSION.
"""

import os
import re
import shutil
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ET

SOURCE_ROOT = os.environ.get("SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
MAN_DIR = os.path.join(SOURCE_ROOT, "man")
NTPSYNCCTL = os.environ.get("NTPSYNCCTL")
NTPSYNCD = os.environ.get("NTPSYNCD")
COMPLETION = os.environ.get("COMPLETION", os.path.join(SOURCE_ROOT, "shell-completion", "bash", "ntpsyncctl"))
VERSION = os.environ.get("NTPSYNC_VERSION")

# Documented (ntpsyncctl.1, the completion) before they are in --help.
PENDING = {"import-ntpconf", "wait-sync"}

SKIP = 77


def read(*path):
    with open(os.path.join(SOURCE_ROOT, *path), encoding="utf-8") as f:
        return f.read()


def normalize(text):
    return " ".join(text.split())


def render(page):
    """The page as plain text, one paragraph per line (no line breaks to match across)."""
    path = os.path.join(MAN_DIR, page)
    if shutil.which("mandoc"):
        argv = ["mandoc", "-Tascii", "-O", "width=1000", path]
    else:
        argv = ["groff", "-t", "-man", "-Tascii", "-rLL=1000n", "-rHY=0", "-P-cbou", path]
    out = subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True, timeout=60).stdout
    return re.sub(r".\x08", "", out)


def sections(text):
    """{"NAME": "...", ...} of rendered text: section headings start in column 0."""
    result, current = {}, None
    for line in text.splitlines():
        if re.fullmatch(r"[A-Z][A-Z0-9 .,&()-]*", line.strip()) and not line.startswith(" "):
            current = line.strip()
            result[current] = ""
        elif current:
            result[current] += line + "\n"
    return result


def has_word(text, word):
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text) is not None


def roff_tags(page, section_names):
    """The tag lines of .TP/.TQ items in the given sections of a page's source, as (macro, text)."""
    tags, current, take = [], None, False
    for line in read("man", page).splitlines():
        if line.startswith(".SH "):
            current = line[4:].strip().strip('"')
            take = False
            continue
        if line in (".TP", ".TQ"):
            take = current in section_names
            continue
        if take:
            take = False
            m = re.match(r"\.(B|BI|BR|I|IB|IR)\s+(.*)", line)
            if m:
                tags.append((m.group(1), roff_text(m.group(1), m.group(2))))
    return tags


def roff_text(macro, args):
    """The text of a font macro's arguments: quotes and escapes gone, \\- as -. .B and .I join
    their arguments with spaces, the alternating macros (.BR, .BI, ...) without."""
    words = [a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', args)]
    text = (" " if len(macro) == 1 else "").join(words)
    text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
    return text


def run(argv, **kwargs):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
                          **kwargs)


def parse_ctl_help(text):
    """(command synopses, options) of `ntpsyncctl --help`."""
    part, commands, options = None, [], set()
    for line in text.splitlines():
        if line and not line.startswith(" "):
            part = line.rstrip(":") if line.endswith(":") else None
            continue
        # Entries start in column 2; their descriptions and examples are indented further.
        m = re.match(r"  (\S.*)", line)
        if not m or part not in ("Commands", "Options"):
            continue
        synopsis = re.split(r"\s{2,}", m.group(1).strip())[0]
        options.update(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", synopsis))
        if part == "Commands":
            commands.append(synopsis)
    return commands, options


def complete(*words):
    """COMPREPLY of the completion for the command line `words` (the last one being completed)."""
    script = ('source "$1" || exit 1; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); '
              '_ntpsyncctl; printf "%s\\n" "${COMPREPLY[@]}"')
    p = run(["bash", "--norc", "--noprofile", "-c", script, "_", COMPLETION, *words])
    if p.returncode != 0:
        raise AssertionError(f"completion failed for {words}: {p.stderr}")
    return set(filter(None, p.stdout.splitlines()))


class NtpsyncctlHelp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not NTPSYNCCTL:
            raise unittest.SkipTest("NTPSYNCCTL not set")
        p = run([NTPSYNCCTL, "--help"])
        assert p.returncode == 0, p.stderr
        cls.commands, cls.options = parse_ctl_help(p.stdout)
        cls.command_names = {c.split()[0] for c in cls.commands}
        cls.page = render("ntpsyncctl.1")
        cls.text = normalize(cls.page).lower()

    def test_help_parsed(self):
        self.assertIn("status", self.command_names)
        self.assertIn("--json", self.options)

    def test_every_command_synopsis_in_page(self):
        for synopsis in self.commands:
            with self.subTest(command=synopsis):
                self.assertTrue(normalize(synopsis).lower() in self.text, f"'{synopsis}' is not in ntpsyncctl.1")

    def test_every_option_in_page(self):
        options = sections(self.page).get("OPTIONS", "")
        for option in sorted(self.options):
            with self.subTest(option=option):
                self.assertTrue(has_word(options, option), f"{option} is not in OPTIONS of ntpsyncctl.1")

    def test_documented_commands_are_in_help(self):
        documented = {re.split(r"[\s\[]", text)[0] for macro, text in roff_tags("ntpsyncctl.1", {"COMMANDS"})
                      if macro.startswith("B")}
        self.assertIn("status", documented)
        for command in sorted(documented - self.command_names):
            with self.subTest(command=command):
                if command in PENDING:
                    print(f"note: '{command}' is documented but not in ntpsyncctl --help yet", file=sys.stderr)
                    continue
                self.fail(f"ntpsyncctl.1 documents '{command}', which ntpsyncctl --help does not list")

    def test_every_command_completes(self):
        offered = complete("ntpsyncctl", "")
        for command in sorted(self.command_names):
            with self.subTest(command=command):
                self.assertIn(command, offered)

    def test_completed_commands_are_in_help(self):
        for command in sorted(complete("ntpsyncctl", "") - self.command_names):
            with self.subTest(command=command):
                if command in PENDING:
                    print(f"note: '{command}' completes but is not in ntpsyncctl --help yet", file=sys.stderr)
                    continue
                self.fail(f"the completion offers '{command}', which ntpsyncctl --help does not list")

    def test_every_subcommand_and_argument_word_completes(self):
        """Walks each synopsis: literal words (alternatives a|b) must complete where they stand."""
        for synopsis in self.commands:
            words = synopsis.split()
            line = ["ntpsyncctl", words[0]]
            for token in words[1:]:
                token = token.strip("[]")
                if token.startswith("-"):
                    with self.subTest(command=synopsis, option=token):
                        self.assertIn(token, complete(*line, "--"))
                    continue
                alternatives = token.split("|")
                if not all(re.fullmatch(r"[a-z][a-z0-9-]*", a) for a in alternatives):
                    break  # a placeholder: SPEC..., HOST, ...
                offered = complete(*line, "")
                for alternative in alternatives:
                    with self.subTest(command=synopsis, word=alternative):
                        self.assertIn(alternative, offered)
                line.append(alternatives[0])

    def test_every_option_completes(self):
        offered = complete("ntpsyncctl", "-")
        after_command = complete("ntpsyncctl", "status", "--")
        for option in sorted(self.options):
            with self.subTest(option=option):
                if option.startswith("--") and option not in after_command:
                    # Command options (import-ntpconf's, wait-sync's) complete after their command.
                    owners = [c.split()[0] for c in self.commands]
                    self.assertTrue(any(option in complete("ntpsyncctl", o, "--") for o in owners),
                                    f"{option} completes nowhere")
                else:
                    self.assertIn(option, offered | after_command)

    def test_completion_registered(self):
        p = run(["bash", "--norc", "--noprofile", "-c", 'source "$1" && complete -p ntpsyncctl', "_", COMPLETION])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("-F _ntpsyncctl", p.stdout)


class NtpsyncdHelp(unittest.TestCase):
    def test_every_option_in_page(self):
        if not NTPSYNCD:
            self.skipTest("NTPSYNCD not set")
        p = run([NTPSYNCD, "--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", p.stdout))
        self.assertIn("--config", options)
        page = sections(render("ntpsyncd.8"))
        for option in sorted(options):
            with self.subTest(option=option):
                self.assertTrue(has_word(page.get("OPTIONS", ""), option), f"{option} is not in OPTIONS of ntpsyncd.8")
                self.assertTrue(has_word(page.get("SYNOPSIS", ""), option), f"{option} is not in the SYNOPSIS of ntpsyncd.8")

    def test_journal_and_notify(self):
        text = render("ntpsyncd.8")
        ids = re.findall(r'#define MESSAGE_ID_\w+ "([0-9a-f]{32})"', read("src", "shared", "ntpsync-messages.h"))
        self.assertTrue(ids)
        fields = set(re.findall(r'"(NTP_[A-Z_]+)=', read("src", "daemon", "manager.c")))
        self.assertTrue(fields)
        notify = set(re.findall(r'sd_notifyf?\(false, "([A-Z_]+)=', read("src", "daemon", "manager.c")))
        self.assertIn("READY", notify)
        for item in ids + sorted(fields) + sorted(n + "=" for n in notify):
            with self.subTest(item=item):
                self.assertTrue(item in text, f"{item} is not in ntpsyncd.8")


class ConfigKeywords(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        config = read("src", "core", "config.c")
        restrict = read("src", "core", "restrict.c")
        words = set(re.findall(r'\bstrn?cmp\([^"\n]*"([^"]+)"', config))
        ignored = re.search(r"ignored_directives\[\] = \{(.*?)\};", config, re.S)
        assert ignored, "ignored_directives not found in config.c"
        words |= set(re.findall(r'"([^"]+)"', ignored.group(1)))
        flags = set(re.findall(r'\{ "([a-z]+)", RESTRICT_', restrict))
        assert "kod" in flags, "flag_names not found in restrict.c"
        words |= flags | set(re.findall(r'\bstrn?cmp\([^"\n]*"([^"]+)"', restrict))
        cls.keywords = words
        cls.text = render("ntpsyncd.conf.5")

    def test_found_the_keywords(self):
        for word in ("server", "pool", "restrict", "driftfile", "tinker", "tos", "serve", "local", "firewall",
                     "timesync1", "clear", "iburst", "maxsources", "stepout", "minsane", "includefile", "noquery",
                     "mask", "default"):
            self.assertIn(word, self.keywords)

    def test_every_keyword_in_page(self):
        for word in sorted(self.keywords):
            with self.subTest(keyword=word):
                self.assertTrue(has_word(self.text, word), f"'{word}' is not in ntpsyncd.conf.5")

    def test_every_documented_directive_and_flag_is_parsed(self):
        tags = roff_tags("ntpsyncd.conf.5", {"DIRECTIVES", "RESTRICT RULES"})
        self.assertGreater(len(tags), 20)
        for macro, text in tags:
            if not macro.startswith("B"):
                continue  # an italic placeholder: "address", ...
            word = text.split()[0].rstrip(",")
            with self.subTest(tag=text):
                self.assertIn(word, self.keywords, f"ntpsyncd.conf.5 describes '{word}', which the parser does not know")


class DBusInterface(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.xml = ET.fromstring(read("dbus", "org.ntpsync1.Manager.xml"))
        cls.page = render("org.ntpsync1.5")
        cls.text = normalize(cls.page)
        cls.parts = {k: normalize(v) for k, v in sections(cls.page).items()}
        cls.interface = cls.xml.find("interface[@name='org.ntpsync1.Manager']")
        assert cls.interface is not None

    def test_names(self):
        for name in ("org.ntpsync1", "/org/ntpsync1", "org.ntpsync1.Manager"):
            self.assertTrue(name in self.text, name)

    def test_every_method_with_signature(self):
        methods = self.interface.findall("method")
        self.assertGreater(len(methods), 5)
        for method in methods:
            name = method.get("name")
            args = [f"{a.get('direction', 'in')} {a.get('type')} {a.get('name')}" for a in method.findall("arg")]
            with self.subTest(method=name):
                listing = f"{name}({', '.join(args)});"
                self.assertTrue(listing in self.text, f"'{listing}' is not in org.ntpsync1.5")
                names = [a.get("name") for a in method.findall("arg") if a.get("direction", "in") == "in"]
                entry = f"{name}({', '.join(names)})"
                self.assertTrue(entry in self.parts.get("METHODS", ""), f"'{entry}' is not in METHODS of org.ntpsync1.5")

    def test_every_property_with_type(self):
        properties = self.interface.findall("property")
        self.assertGreater(len(properties), 10)
        for prop in properties:
            name, type_ = prop.get("name"), prop.get("type")
            with self.subTest(property=name):
                line = f"readonly {type_} {name}"
                annotation = prop.find("annotation[@name='org.freedesktop.DBus.Property.EmitsChangedSignal']")
                if annotation is not None:
                    line = f'@org.freedesktop.DBus.Property.EmitsChangedSignal("{annotation.get("value")}") ' + line
                self.assertTrue(line in self.text, f"'{line}' is not in org.ntpsync1.5")
                entry = f"{name} ({type_})"
                self.assertTrue(entry in self.parts.get("PROPERTIES", ""), f"'{entry}' is not in PROPERTIES of org.ntpsync1.5")

    def test_documented_members_exist(self):
        methods = {m.get("name") for m in self.interface.findall("method")}
        properties = {p.get("name") for p in self.interface.findall("property")}
        for macro, text in roff_tags("org.ntpsync1.5", {"METHODS"}):
            with self.subTest(method=text):
                self.assertIn(re.match(r"\w+", text).group(0), methods)
        for macro, text in roff_tags("org.ntpsync1.5", {"PROPERTIES"}):
            for name in re.findall(r"(\w+) \(", text):
                with self.subTest(property=name):
                    self.assertIn(name, properties)

    def test_errors(self):
        names = set(re.findall(r'"(org\.ntpsync1\.Error\.\w+)"', read("src", "daemon", "bus.h")))
        self.assertTrue(names)
        protocol = "/usr/include/systemd/sd-bus-protocol.h"
        used = set()
        for source in ("bus.c", "bus-polkit.c", "bus-timesync.c"):
            used |= set(re.findall(r"\b(SD_BUS_ERROR_[A-Z_]+)\b", read("src", "daemon", source)))
        used.discard("SD_BUS_ERROR_NULL")
        if os.path.exists(protocol):
            with open(protocol, encoding="utf-8") as f:
                defines = dict(re.findall(r'#define (SD_BUS_ERROR_[A-Z_]+)\s+"([^"]+)"', f.read()))
            names |= {defines[u] for u in used if u in defines}
        for name in sorted(names):
            with self.subTest(error=name):
                self.assertTrue(name in self.parts.get("ERRORS", ""), f"{name} is not in ERRORS of org.ntpsync1.5")

    def test_polkit_actions(self):
        policy = ET.fromstring(read("polkit", "org.ntpsync1.policy"))
        actions = {a.get("id") for a in policy.findall("action")}
        for source in ("bus.c", "bus-timesync.c"):
            actions |= set(re.findall(r'"(org\.ntpsync1\.[a-z-]+)"', read("src", "daemon", source)))
        self.assertIn("org.ntpsync1.control", actions)
        for action in sorted(actions):
            with self.subTest(action=action):
                self.assertTrue(action in self.parts.get("AUTHORIZATION", ""), f"{action} is not in AUTHORIZATION of org.ntpsync1.5")


class Pages(unittest.TestCase):
    PAGES = ("ntpsyncd.8", "ntpsyncctl.1", "ntpsyncd.conf.5", "org.ntpsync1.5")

    def test_version(self):
        if not VERSION:
            self.skipTest("NTPSYNC_VERSION not set")
        for page in self.PAGES:
            with self.subTest(page=page):
                th = next(line for line in read("man", page).splitlines() if line.startswith(".TH "))
                self.assertIn(f'"ntpsync {VERSION}"', th)

    def test_references_exist(self):
        for page in self.PAGES:
            for name, section in re.findall(r"\b((?:ntpsync|org\.ntpsync)[\w.-]*)\((\d)\)", render(page)):
                with self.subTest(page=page, reference=f"{name}({section})"):
                    self.assertTrue(os.path.exists(os.path.join(MAN_DIR, f"{name}.{section}")))

    def test_installed_by_meson(self):
        build = read("man", "meson.build")
        for page in self.PAGES:
            with self.subTest(page=page):
                self.assertIn(f"'{page}'", build)


if __name__ == "__main__":
    if not shutil.which("mandoc") and not shutil.which("groff"):
        print("skipping: neither mandoc nor groff", file=sys.stderr)
        sys.exit(SKIP)
    unittest.main(verbosity=2)
