#!/usr/bin/env python3
"""tests/pkg/manpage_test.py — the manual pages cannot drift from the
program: trackrelay(8) documents exactly the commands `trackrelay --help`
lists (and --help lists --version); every listed command is one the program
accepts; trackrelay.yaml(5), generated from the key table, lists keys that
all appear in docs/config.md (itself checked against the table by
tests/conf/docs_test.cc) and carries the program's version; both pages
render with `man --warnings -l` without a warning.

Usage: manpage_test.py TRACKRELAY SOURCE_DIR GENERATED_YAML_5
"""
import os
import re
import subprocess
import sys
import unittest

BINARY, SRC, YAML5 = sys.argv[1], sys.argv[2], sys.argv[3]
del sys.argv[1:4]
PAGE8 = os.path.join(SRC, "man", "trackrelay.8")


def help_text():
    p = subprocess.run([BINARY, "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def help_commands(text):
    section = text.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    return [m.group(1) for m in re.finditer(r"^  ([a-z][a-z-]*)", section, re.M)]


def page_commands():
    roff = open(PAGE8).read()
    section = roff.split("\n.SH COMMANDS\n", 1)[1].split("\n.SH ", 1)[0]
    names = re.findall(r"^\.TP\n\.B[IR]? \"?([a-z\\-]+)", section, re.M)
    return [n.replace("\\-", "-") for n in names]


def render(page):
    return subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, MANWIDTH="80", LANG="C.UTF-8"))


class ManPages(unittest.TestCase):
    def test_help_lists_options_and_version(self):
        text = help_text()
        for option in ("--config FILE", "--help", "--version"):
            self.assertIn(option, text)
        v = subprocess.run([BINARY, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(v.returncode, 0)
        self.assertRegex(v.stdout, r"^trackrelay \d+\.\d+\.\d+\n$")

    def test_page_documents_exactly_the_commands_of_help(self):
        commands = help_commands(help_text())
        self.assertGreaterEqual(len(commands), 7, commands)
        self.assertEqual(page_commands(), commands)

    def test_every_listed_command_exists(self):
        for command in help_commands(help_text()):
            p = subprocess.run([BINARY, "--config", "/nonexistent/trackrelay.yaml", command],
                               input="", capture_output=True, text=True, timeout=30)
            self.assertNotIn("unknown command", p.stderr, command)
        p = subprocess.run([BINARY, "no-such-command"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 64)
        self.assertIn("unknown command", p.stderr)

    def test_page_documents_options_signals_exit_codes_files(self):
        roff = open(PAGE8).read()
        for section in ("OPTIONS", "COMMANDS", "SIGNALS", "EXIT STATUS", "FILES"):
            self.assertIn("\n.SH " + section + "\n", roff)
        for needle in ("\\-\\-version", "SIGHUP", "SIGTERM", "\n.B 78\n", "\n.B 64\n",
                       "/etc/trackrelay/trackrelay.yaml", "/var/lib/trackrelay/"):
            self.assertIn(needle, roff)

    def test_generated_config_page_lists_the_key_table(self):
        roff = open(YAML5).read()
        keys = re.findall(r"^\.TP\n\.B (\S+)$", roff, re.M)
        self.assertGreater(len(keys), 50)
        reference = open(os.path.join(SRC, "docs", "config.md")).read()
        for k in keys:
            self.assertIn("`" + k.replace("\\-", "-") + "`", reference, k)
        for k in ("tracking.system_domain", "relay.upstream", "store", "api.listen"):
            self.assertIn(k, keys)
        version = subprocess.run([BINARY, "--version"], capture_output=True, text=True).stdout
        self.assertIn('"%s"' % version.strip(), roff.splitlines()[0])

    def test_pages_render_without_warnings(self):
        for page, title in ((PAGE8, "TRACKRELAY(8)"), (YAML5, "TRACKRELAY.YAML(5)")):
            r = render(page)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, "", page)
            self.assertIn(title, r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
