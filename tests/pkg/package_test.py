#!/usr/bin/env python3
"""tests/pkg/package_test.py — the Debian package (issue 16) end to end:

1. exports the source tree (the files git tracks or would track, as they
   are in the work tree; no build directories) to WORK/src and runs
   `dpkg-buildpackage -us -uc -b` there (DEB_BUILD_OPTIONS=nocheck; ccache
   when installed, so a second run mostly hits the cache);
2. runs lintian on the result: no errors (warnings are printed);
3. installs the .deb into a throwaway overlay of this machine in private
   mount and network namespaces (sandbox_install.py says why that root)
   and checks: the trackrelay user and group, the secret's permissions,
   the conffile, the unit enabled, `trackrelay check` as the service user,
   `serve` relaying a message to smtp-sink on 127.0.0.1:10026 with its link
   tracked, the click redirect, both man pages rendering without warnings,
   `remove` keeping /var/lib/trackrelay and `purge` deleting it.

Needs root, dpkg-dev, debhelper, lintian, fakeroot, postfix (smtp-sink),
man-db, unshare and overlayfs: scripts/install-deps.sh --test. Missing any
of them fails the test (it does not skip).

Usage: package_test.py SOURCE_DIR WORK_DIR
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC, WORK = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
del sys.argv[1:3]


def export_tree(dest):
    """The source as a clean checkout would have it, with work-tree edits."""
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    if os.path.isdir(os.path.join(SRC, ".git")) or os.path.isfile(os.path.join(SRC, ".git")):
        files = subprocess.run(["git", "-C", SRC, "ls-files", "-z", "--cached", "--others",
                                "--exclude-standard"], check=True, capture_output=True
                               ).stdout.decode().split("\0")
        for f in files:
            if not f or f.startswith("build") or not os.path.lexists(os.path.join(SRC, f)):
                continue
            os.makedirs(os.path.join(dest, os.path.dirname(f)), exist_ok=True)
            shutil.copy2(os.path.join(SRC, f), os.path.join(dest, f), follow_symlinks=False)
    else:
        shutil.copytree(SRC, dest, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("build*", "obj-*", "var"))


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [t for t in ("dpkg-buildpackage", "dh", "lintian", "fakeroot", "unshare",
                               "smtp-sink", "man", "runuser", "ip", "git")
                   if not shutil.which(t, path="/usr/sbin:/usr/bin:/sbin:/bin")]
        if os.geteuid() != 0:
            missing.append("root")
        if missing:
            raise AssertionError("cannot run (scripts/install-deps.sh --test, as root): missing "
                                 + ", ".join(missing))
        os.makedirs(WORK, exist_ok=True)
        src = os.path.join(WORK, "src")
        export_tree(src)
        for old in glob.glob(os.path.join(WORK, "trackrelay*")):
            os.remove(old)
        env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
        if shutil.which("ccache"):
            # A fixed source path (WORK/src) so that reruns hit the cache, and
            # the cache named explicitly: debhelper 13 gives the build a
            # throwaway HOME, where ccache would look for its configuration.
            cache_dir = subprocess.run(["ccache", "--get-config", "cache_dir"],
                                       capture_output=True, text=True).stdout.strip()
            env.update(CMAKE_C_COMPILER_LAUNCHER="ccache", CMAKE_CXX_COMPILER_LAUNCHER="ccache",
                       CCACHE_BASEDIR=src)
            if cache_dir:
                env["CCACHE_DIR"] = cache_dir
        build = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                               capture_output=True, text=True)
        cls.build_log = build.stdout + build.stderr
        with open(os.path.join(WORK, "build.log"), "w") as f:
            f.write(cls.build_log)
        if build.returncode != 0:
            raise AssertionError("dpkg-buildpackage failed:\n" + cls.build_log[-6000:])
        with open(os.path.join(SRC, "debian", "changelog")) as f:
            cls.version = re.match(r"trackrelay \(([^)]+)\)", f.readline()).group(1)
        arch = subprocess.run(["dpkg-architecture", "-qDEB_HOST_ARCH"], capture_output=True,
                              text=True, check=True).stdout.strip()
        cls.deb = os.path.join(WORK, "trackrelay_%s_%s.deb" % (cls.version, arch))
        if not os.path.exists(cls.deb):
            raise AssertionError("no %s; built: %s" % (cls.deb, os.listdir(WORK)))
        cls.lintian = subprocess.run(["lintian", "--tag-display-limit", "0", "--fail-on",
                                      "error", cls.deb], capture_output=True, text=True)
        sandbox = os.path.join(WORK, "sandbox")
        os.makedirs(sandbox, exist_ok=True)
        run = subprocess.run(["unshare", "--mount", "--net", sys.executable,
                              os.path.join(HERE, "sandbox_install.py"), cls.deb, sandbox],
                             capture_output=True, text=True, timeout=600)
        lines = run.stdout.strip().splitlines()
        if run.returncode != 0 or not lines:
            raise AssertionError("sandbox_install.py failed (%d):\n%s\n%s"
                                 % (run.returncode, run.stdout[-3000:], run.stderr[-3000:]))
        cls.r = json.loads(lines[-1])

    def test_lintian_reports_no_errors(self):
        print(self.lintian.stdout, file=sys.stderr)
        errors = [line for line in self.lintian.stdout.splitlines() if line.startswith("E:")]
        self.assertEqual(errors, [])
        # --fail-on error: 0 means it ran and found no error (2: errors; 1: it broke).
        self.assertEqual(self.lintian.returncode, 0, self.lintian.stderr)

    def test_version_matches_the_changelog(self):
        self.assertEqual(self.r["version"], "trackrelay " + self.version.split("-")[0])

    def test_install_creates_user_directories_and_secret(self):
        r = self.r
        self.assertEqual(r["install"]["rc"], 0, r["install"]["out"] + r["install"]["err"])
        self.assertFalse(r["user_before"], "the host already has a trackrelay user")
        self.assertRegex(r["user"], r"^trackrelay:x:\d+:\d+:[^:]*:/var/lib/trackrelay:"
                                    r"(/usr/sbin/nologin|/bin/false)$")
        self.assertTrue(r["group"].startswith("trackrelay:"))
        self.assertEqual(r["stat:/usr/sbin/trackrelay"]["mode"], "0755")
        self.assertEqual(r["stat:/etc/trackrelay/secret"],
                         {"mode": "0640", "user": "root", "group": "trackrelay",
                          "size": r["stat:/etc/trackrelay/secret"]["size"]})
        self.assertGreaterEqual(r["secret_bytes"], 64)  # base64 of 48 random bytes
        self.assertNotEqual(r["secret_as_nobody"], 0, "another user can read the secret")
        self.assertEqual({k: r["stat:/etc/trackrelay"][k] for k in ("mode", "user", "group")},
                         {"mode": "0750", "user": "root", "group": "trackrelay"})
        self.assertEqual({k: r["stat:/var/lib/trackrelay"][k] for k in ("mode", "user", "group")},
                         {"mode": "0750", "user": "trackrelay", "group": "trackrelay"})
        self.assertIn("/etc/trackrelay/trackrelay.yaml", r["conffiles"])
        for f in ("/usr/share/doc/trackrelay/trackrelay.example.yaml",
                  "/usr/share/doc/trackrelay/copyright"):
            self.assertIsNotNone(r["stat:" + f], f)

    def test_unit_is_installed_and_enabled(self):
        r = self.r
        self.assertIn("ExecStartPre=/usr/sbin/trackrelay --config /etc/trackrelay/trackrelay.yaml"
                      " check\n", r["unit"])
        self.assertIn("ExecStart=/usr/sbin/trackrelay --config /etc/trackrelay/trackrelay.yaml"
                      " serve\n", r["unit"])
        self.assertIsNotNone(r["stat:/etc/systemd/system/multi-user.target.wants/"
                               "trackrelay.service"], "the unit is not enabled")

    def test_installed_configuration_checks(self):
        c = self.r["check"]
        self.assertEqual(c["rc"], 0, c["out"] + c["err"])
        self.assertIn("/etc/trackrelay/trackrelay.yaml: OK", c["out"])
        self.assertNotIn("public example secret", c["err"])

    def test_serve_relays_to_smtp_sink_with_links_tracked(self):
        r = self.r
        self.assertTrue(r["sink_up"] and r["relay_up"] and r["track_up"], r.get("serve_log"))
        self.assertEqual(r["send_refused"], {})
        self.assertEqual(r["sink_files"], 1, r.get("serve_log"))
        self.assertIn("Message-ID: <pkg-test-1@example.com>", r["sink_message"])
        self.assertIsNotNone(r["tracked_path"], r["sink_message"])
        self.assertNotIn('href="https://www.example.org/welcome"', r["sink_message"])
        self.assertEqual(r["click_status"], 302)
        self.assertEqual(r["click_location"], "https://www.example.org/welcome")
        self.assertEqual(r["serve_rc"], 0, r["serve_log"])
        self.assertEqual(r["store"]["user"], "trackrelay")
        self.assertEqual(r["events"]["rc"], 0, r["events"]["err"])
        self.assertIn('"type":"click"', r["events"]["out"].replace(" ", ""))

    def test_man_pages_render(self):
        for page in ("/usr/share/man/man8/trackrelay.8.gz",
                     "/usr/share/man/man5/trackrelay.yaml.5.gz"):
            m = self.r["man:" + page]
            self.assertEqual(m["rc"], 0, m["err"])
            self.assertEqual(m["err"], "", page)
            self.assertIn("TRACKRELAY", m["out"][:200])
        self.assertIn("tracking.system_domain",
                      self.r["man:/usr/share/man/man5/trackrelay.yaml.5.gz"]["out"])
        self.assertIn("SIGHUP", self.r["man:/usr/share/man/man8/trackrelay.8.gz"]["out"])

    def test_remove_keeps_data_and_purge_deletes_it(self):
        r = self.r
        self.assertEqual(r["remove"]["rc"], 0, r["remove"]["err"])
        self.assertEqual(r["after_remove"], {
            "/usr/sbin/trackrelay": False, "/var/lib/trackrelay": True,
            "/var/lib/trackrelay/trackrelay.db": True, "/etc/trackrelay/secret": True,
            "/etc/trackrelay/trackrelay.yaml": True})
        self.assertEqual(r["purge"]["rc"], 0, r["purge"]["err"])
        self.assertEqual(r["after_purge"], {
            "/var/lib/trackrelay": False, "/etc/trackrelay/secret": False,
            "/etc/trackrelay/trackrelay.yaml": False, "/etc/trackrelay": False})


class BuildDepends(unittest.TestCase):
    def test_build_depends_are_the_install_deps_build_packages(self):
        control = open(os.path.join(SRC, "debian", "control")).read()
        field = re.search(r"^Build-Depends:(.*?)^\S", control, re.M | re.S).group(1)
        deps = {d.strip().split()[0] for d in field.split(",") if d.strip()}
        script = open(os.path.join(SRC, "scripts", "install-deps.sh")).read()
        build = re.search(r'BUILD_PKGS="([^"]*)"', script).group(1).replace("\\\n", " ")
        wanted = set(build.split()) - {"build-essential"}  # implied by policy
        self.assertEqual(deps - {"debhelper-compat"}, wanted)
        self.assertIn("debhelper-compat", deps)
        self.assertIn("debhelper", script.split("TEST_PKGS=")[1].split('"')[1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
