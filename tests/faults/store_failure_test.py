#!/usr/bin/env python3
"""tests/faults/store_failure_test.py - the event store's disk fills up or
turns read-only under a running `trackrelay serve` (tracker + relay): links
keep redirecting, the failure is loud (log line "EVENTS NOT RECORDED" and
/healthz 503), the relay keeps relaying, and recording resumes by itself
once the disk has room / the file is writable again.

How the failures are made, with real kernel errors and no test hooks:

  * disk full: the store lives on a 1 MiB tmpfs mounted in a private mount
    namespace of the serve process (`unshare --mount` + `mount -t tmpfs`, so
    the host's mount table is never touched). The test reaches that
    filesystem through /proc/PID/root and fills it with a file until ENOSPC;
    SQLite then fails its commits with SQLITE_FULL. Removing the file frees
    the space.
  * read-only: `chattr +i` on the database and its WAL (root ignores file
    modes, not the immutable flag): every write through the open files fails
    with EPERM. `chattr -i` undoes it. The same at start: a store that is
    immutable when serve starts.

Each part skips itself when the mechanism is unavailable (no root,
no CAP_SYS_ADMIN for the mount namespace, a filesystem without chattr).

usage: store_failure_test.py TRACKRELAY TRACK_MINT
"""
import glob
import http.client
import os
import shutil
import signal
import smtplib
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "relay"))
from harness import Proc, html_message  # noqa: E402

TRACKRELAY = MINT = None
SECRET = "faults-store-secret-0123456789abcdefghijklmnopqrs"
TARGET = "https://example.com/landing?from=store-test"


def mint(kind, target=""):
    return subprocess.run([MINT, SECRET, kind, "click.example.com", target],
                          capture_output=True, check=True).stdout.decode().strip()


def get(port, path, ua="store-test", host="click.example.com"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host, "User-Agent": ua})
        r = conn.getresponse()
        body = r.read()
        return r.status, r.getheader("Location"), body
    finally:
        conn.close()


def can_chattr(directory):
    probe = os.path.join(directory, "chattr-probe")
    open(probe, "w").close()
    try:
        ok = subprocess.run(["chattr", "+i", probe], capture_output=True).returncode == 0
        if ok:
            subprocess.run(["chattr", "-i", probe], check=True)
        return ok
    except FileNotFoundError:
        return False
    finally:
        os.unlink(probe)


class StoreFailure(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (mount namespace, chattr)")
        self.dir = tempfile.mkdtemp(prefix="trackrelay-store-failure-")
        self.outbox = os.path.join(self.dir, "outbox")
        self.server = None
        self.immutable = []
        self.click = mint("click", TARGET)
        self.pixel = mint("open")

    def tearDown(self):
        for path in self.immutable:
            subprocess.run(["chattr", "-i", path], capture_output=True)
        if self.server:
            self.server.stop(signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_config(self, store):
        path = os.path.join(self.dir, "trackrelay.yaml")
        with open(path, "w") as f:
            f.write("tracking:\n  system_domain: track.example.net\n"
                    '  keys: [{id: k1, secret: "%s"}]\n'
                    "  tracking_domains:\n    - {domain: click.example.com, default: true}\n"
                    "  sending_domains:\n    - {domain: example.com, tracking_domain: click.example.com}\n"
                    "track: {listen: '127.0.0.1:0'}\n"
                    "relay: {listen: '127.0.0.1:0', upstream: 'maildir:%s'}\n"
                    "store: '%s'\n" % (SECRET, self.outbox, store))
        return path

    def start(self, argv):
        self.server = Proc(argv, cwd=self.dir)
        self.track_port = int(self.server.wait_for(
            r"track: listening on http://127\.0\.0\.1:(\d+)", 30).group(1))
        self.relay_port = int(self.server.wait_for(
            r"relay: listening on 127\.0\.0\.1:(\d+)").group(1))
        self.server.wait_for(r"trackrelay: serving")

    def health(self):
        return get(self.track_port, "/healthz", host="anything")[0]

    def assert_redirects(self, ua):
        t0 = time.monotonic()
        status, location, _ = get(self.track_port, "/f/" + self.click, ua)
        self.assertEqual((status, location), (302, TARGET))
        self.assertLess(time.monotonic() - t0, 5, "a redirect waited for the failing store")
        status, _, body = get(self.track_port, "/q/" + self.pixel, ua + "-pixel")
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith(b"GIF89a"))

    def assert_relays(self, n):
        msgid = "<store-failure-%d@example.com>" % n
        with smtplib.SMTP("127.0.0.1", self.relay_port, timeout=30) as s:
            s.sendmail("news@example.com", ["alice@example.net"],
                       html_message(msgid=msgid).encode())
        for path in glob.glob(os.path.join(self.outbox, "new", "*")):
            with open(path, "rb") as f:
                data = f.read()
            if msgid.encode() in data:
                self.assertRegex(data, rb"http://click\.example\.com/f/[A-Za-z0-9_-]+")
                return
        self.fail("the relay did not deliver %s" % msgid)

    def break_store_until_unhealthy(self, prefix):
        """Clicks until /healthz says 503; every click redirects meanwhile."""
        for i in range(400):
            self.assert_redirects("%s-%d" % (prefix, i))
            if self.health() == 503:
                return i + 1
        self.fail("the store never reported the failure:\n" + self.server.text())

    def recover(self, prefix):
        """Clicks until /healthz is 200 again; then the next events are recorded."""
        for i in range(200):
            self.assert_redirects("%s-%d" % (prefix, i))
            if self.health() == 200:
                break
            time.sleep(0.05)
        else:
            self.fail("the store did not recover:\n" + self.server.text())
        self.server.wait_for(r"store: .*: recovered; events are recorded again")
        for i in range(5):
            self.assert_redirects("after-%s-%d" % (prefix, i))

    def recorded(self, db_path, like):
        db = sqlite3.connect(db_path)
        try:
            return {r[0] for r in db.execute(
                "SELECT user_agent FROM events WHERE user_agent LIKE ?", (like,))}
        finally:
            db.close()

    def test_disk_full(self):
        if not shutil.which("unshare"):
            self.skipTest("unshare (util-linux) is not installed")
        mnt = os.path.join(self.dir, "mnt")
        os.makedirs(mnt)
        probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                'mount -t tmpfs -o size=64k tmpfs "$0"', mnt],
                               capture_output=True)
        if probe.returncode != 0:
            self.skipTest("cannot mount a tmpfs in a mount namespace: %s" % probe.stderr)
        cfg = self.write_config(os.path.join(mnt, "events.db"))
        self.start(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    'mount -t tmpfs -o size=1m,mode=0755 tmpfs "$0" && exec "$@"', mnt,
                    TRACKRELAY, "--config", cfg, "serve"])
        # The serve process's view of the tmpfs (its own mount namespace).
        inside = "/proc/%d/root%s" % (self.server.p.pid, mnt)
        self.assertTrue(os.path.exists(os.path.join(inside, "events.db")))
        self.assertFalse(os.path.exists(os.path.join(mnt, "events.db")), "tmpfs leaked to host")
        for i in range(5):
            self.assert_redirects("before-%d" % i)
        self.assertEqual(self.health(), 200)
        filler = os.path.join(inside, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError as e:
                self.assertIn("No space left", str(e))
        clicks = self.break_store_until_unhealthy("full")
        self.server.wait_for(r"store: .*events\.db: EVENTS NOT RECORDED: .*(full|space)")
        for i in range(20):
            self.assert_redirects("still-full-%d" % i)
        self.assertEqual(self.health(), 503)
        self.assert_relays(1)
        os.unlink(filler)
        self.recover("full")
        # SQLite resolves /proc/PID/root (a symbolic link) to the host's /:
        # read a copy of the database and its WAL instead.
        copy = os.path.join(self.dir, "copy")
        os.makedirs(copy)
        for suffix in ("", "-wal"):
            if os.path.exists(os.path.join(inside, "events.db" + suffix)):
                shutil.copyfile(os.path.join(inside, "events.db" + suffix),
                                os.path.join(copy, "events.db" + suffix))
        got = self.recorded(os.path.join(copy, "events.db"), "%")
        for i in range(5):
            self.assertIn("before-%d" % i, got)
            self.assertIn("after-full-%d" % i, got)
        sys.stderr.write("disk full: the store failed after %d clicks; log:\n%s\n" % (
            clicks, "\n".join(l for l in self.server.text().splitlines() if "store" in l)))

    def test_read_only_while_running(self):
        if not can_chattr(self.dir):
            self.skipTest("chattr +i is not available here")
        store = os.path.join(self.dir, "events.db")
        self.start([TRACKRELAY, "--config", self.write_config(store), "serve"])
        for i in range(5):
            self.assert_redirects("before-%d" % i)
        self.assertEqual(self.health(), 200)
        for suffix in ("", "-wal"):
            if os.path.exists(store + suffix):
                subprocess.run(["chattr", "+i", store + suffix], check=True)
                self.immutable.append(store + suffix)
        self.break_store_until_unhealthy("ro")
        self.server.wait_for(r"store: .*events\.db: EVENTS NOT RECORDED")
        self.assert_relays(2)
        # The message was accepted (250) although its injection event could
        # not be written: the relay only logs that (issue 11).
        self.server.wait_for(r"injection events of transmission \d{18} \(1 recipients\) not recorded")
        for path in self.immutable:
            subprocess.run(["chattr", "-i", path], check=True)
        self.immutable = []
        self.recover("ro")
        got = self.recorded(store, "%")
        for i in range(5):
            self.assertIn("before-%d" % i, got)
            self.assertIn("after-ro-%d" % i, got)

    def test_read_only_at_start(self):
        if not can_chattr(self.dir):
            self.skipTest("chattr +i is not available here")
        store = os.path.join(self.dir, "events.db")
        cfg = self.write_config(store)
        self.start([TRACKRELAY, "--config", cfg, "serve"])
        self.assert_redirects("first-run")
        self.server.stop()
        self.server = None
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(store + suffix):
                subprocess.run(["chattr", "+i", store + suffix], check=True)
                self.immutable.append(store + suffix)
        self.start([TRACKRELAY, "--config", cfg, "serve"])
        self.assert_redirects("ro-start-0")
        deadline = time.monotonic() + 10
        while self.health() != 503:
            self.assert_redirects("ro-start")
            self.assertLess(time.monotonic(), deadline, "no 503 with a read-only store")
        self.assert_relays(3)
        self.assertRegex(self.server.text(), r"EVENTS NOT RECORDED|read-only|readonly")
        sys.stderr.write("read-only at start; log:\n%s\n" % "\n".join(
            l for l in self.server.text().splitlines() if "store" in l))


if __name__ == "__main__":
    TRACKRELAY, MINT = (os.path.abspath(a) for a in sys.argv[1:3])
    unittest.main(argv=sys.argv[:1] + sys.argv[3:], verbosity=2)
