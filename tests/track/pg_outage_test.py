#!/usr/bin/env python3
"""tests/track/pg_outage_test.py — the tracker on PostgreSQL (issue 15) while
the database is stopped: a real PostgreSQL 15 (tests/support/pgserver.py)
and a real `trackrelay serve` (tests/api/harness.py) with `store:
postgresql://…`. Redirects keep working while the server is down, /healthz
answers 503 saying the events are spooled, and when the server is back the
spooled clicks appear in the database exactly once. A tracker SIGKILLed
with clicks spooled loses none of them: the next one started with the same
store_spool ships them. A database that hangs rather than refuses (SIGSTOP
on the server: connections accepted, nothing answered) under click load:
every click is answered within the tracker's commit wait with its event
durable (the writer's round trips have a deadline, then the batch is
spooled), /healthz is 503 meanwhile and 200 after, and every answered click
is in the database once.

Usage: pg_outage_test.py TRACKRELAY TRACK_MINT
"""
import glob
import os
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import harness  # noqa: E402
from pgserver import PgServer  # noqa: E402

TRACKRELAY = None
MINT = None
HOST = "track.example.net"  # the system domain of harness.Env.config


def mint(target):
    return subprocess.run([MINT, harness.SECRET, "click", HOST, target], capture_output=True,
                          text=True, check=True).stdout.strip()


def healthz(port):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/healthz", headers={"Host": HOST})
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, body


COMMIT_WAIT = 2.0  # track/server.cc kMaxCommitWait: a click answered later is not durable


class ClickLoad:
    """Threads clicking unique links until stop(): each answered click's
    link, when it was answered and how long it took; any failure."""

    def __init__(self, port, threads=4):
        self.port = port
        self.answered = []  # (link, answered at (monotonic), seconds taken)
        self.failures = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(t,), daemon=True)
                        for t in range(threads)]

    def _run(self, t):
        i = 0
        while not self.stopping.is_set():
            link = "https://example.com/load/%d/%d" % (t, i)
            i += 1
            token = mint(link)
            started = time.monotonic()
            try:
                status, location, _ = harness.http_get(self.port, "/f/" + token, HOST)
            except OSError as e:
                with self.lock:
                    self.failures.append("%s: %s" % (link, e))
                continue
            took = time.monotonic() - started
            with self.lock:
                if status == 302 and location == link:
                    self.answered.append((link, time.monotonic(), took))
                else:
                    self.failures.append("%s: %s %s" % (link, status, location))

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)


class PgOutage(unittest.TestCase):
    def setUp(self):
        self.env = harness.Env(TRACKRELAY)
        self.pg = PgServer.temporary("trackrelay-pg-outage-")
        self.pg.start()
        self.port = int(self.pg.uri.rsplit(":", 1)[1].split("/")[0])
        self.env.store = self.pg.create_database("events")
        self.spool = os.path.join(self.env.dir, "spool")
        self.config = self.env.config(
            "serve.yaml", "track:\n  listen: 127.0.0.1:0\nstore_spool: '%s'\n" % self.spool)

    def tearDown(self):
        self.pg.resume()  # a test that failed while the server hung (stop() resumes too)
        for p in self.env.procs:
            p.stop()
        self.env.close()
        self.pg.destroy()

    def restart_postgresql(self):
        """Starts the stopped server again on its port (the store's URI)."""
        self.pg._start_on(self.port)
        with open(os.path.join(self.pg.dir, "uri"), "w") as f:
            f.write(self.pg.uri + "\n")

    def count(self, what="count(*)"):
        return int(self.pg.psql("SELECT %s FROM events" % what, "events"))

    def spooled_files(self):
        return glob.glob(os.path.join(self.spool, "*.spool"))

    def click(self, port, n):
        started = time.monotonic()
        status, location, _ = harness.http_get(port, "/f/" + mint("https://example.com/%d" % n),
                                               HOST)
        self.assertEqual(status, 302)
        self.assertEqual(location, "https://example.com/%d" % n)
        return time.monotonic() - started

    def wait(self, what, done, timeout=30):
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                self.fail("not within %d s: %s" % (timeout, what))
            time.sleep(0.1)

    def assert_clicks_survived(self, load, hung_at, resumed_at, database):
        """Every click of `load` answered in time, more than 20 of them while
        the server hung, each stored exactly once in `database`; the stored
        targets."""
        self.assertEqual(load.failures, [])
        during = [a for a in load.answered if hung_at < a[1] < resumed_at]
        self.assertGreater(len(during), 20, "too few clicks while the database hung")
        slowest = max(a[2] for a in load.answered)
        self.assertLess(slowest, COMMIT_WAIT,
                        "a click waited for the hung database past the commit wait")
        stored = self.pg.psql("SELECT target_link_url FROM events", database).split("\n")
        self.assertEqual(len(stored), len(set(stored)), "an event was written twice")
        answered = {a[0] for a in load.answered}
        self.assertEqual(answered - set(stored), set(), "answered clicks whose event is lost")
        sys.stderr.write("\n%d clicks (%d while the database hung), slowest %.3f s\n" %
                         (len(load.answered), len(during), slowest))
        return stored

    def test_clicks_while_postgresql_is_stopped_are_shipped_once(self):
        serve = self.env.serve(self.config)
        port = serve.ports["track"]
        for n in range(5):
            self.click(port, n)
        self.assertEqual(healthz(port)[0], 200)
        self.assertEqual(self.count(), 5)

        self.pg.stop()
        for n in range(5, 15):
            took = self.click(port, n)
            self.assertLess(took, 2.0, "a redirect waited for the stopped database")
        status, body = healthz(port)
        self.assertEqual(status, 503)
        self.assertIn("spooled", body)
        self.assertEqual(len(self.spooled_files()), 1)
        serve.wait_for("EVENTS SPOOLED ON LOCAL DISK")

        self.restart_postgresql()
        self.wait("/healthz 200 again", lambda: healthz(port)[0] == 200)
        self.wait("the spool shipped", lambda: not self.spooled_files())
        self.assertEqual(self.count(), 15)
        self.assertEqual(self.count("count(DISTINCT event_id)"), 15)
        self.assertEqual(self.count("count(DISTINCT target_link_url)"), 15)
        self.click(port, 15)
        self.assertEqual(self.count(), 16)

    def test_clicks_while_postgresql_hangs_are_answered_in_time_and_shipped(self):
        serve = self.env.serve(self.config)
        port = serve.ports["track"]
        self.click(port, 0)
        load = ClickLoad(port)
        load.start()
        self.addCleanup(load.stop)
        try:
            time.sleep(0.5)
            self.pg.hang()
            hung_at = time.monotonic()
            self.wait("/healthz 503 while the database hangs",
                      lambda: healthz(port)[0] == 503, timeout=5)
            status, body = healthz(port)
            self.assertEqual(status, 503)
            self.assertIn("spooled", body)
            serve.wait_for("EVENTS SPOOLED ON LOCAL DISK: .*no answer within 500 ms")
            time.sleep(3)  # clicks keep coming: each batch spooled, none waits for the server
            resumed_at = time.monotonic()
        finally:
            self.pg.resume()
        self.wait("/healthz 200 again", lambda: healthz(port)[0] == 200)
        time.sleep(0.5)
        load.stop()
        self.wait("the spool shipped", lambda: not self.spooled_files())

        stored = self.assert_clicks_survived(load, hung_at, resumed_at, "events")
        self.assertEqual(len(stored), len(load.answered) + 1)
        self.assertEqual(self.count("count(DISTINCT event_id)"), len(stored))

    def test_a_killed_trackers_spool_is_shipped_by_the_next_one(self):
        serve = self.env.serve(self.config)
        port = serve.ports["track"]
        self.click(port, 0)
        self.pg.stop()
        for n in range(1, 7):
            self.click(port, n)  # acknowledged: on local disk
        serve.proc.kill()
        serve.proc.wait()
        self.assertEqual(len(self.spooled_files()), 1)
        self.restart_postgresql()
        self.assertEqual(self.count(), 1)
        self.env.serve(self.config)
        self.wait("the dead tracker's spool shipped", lambda: not self.spooled_files())
        self.assertEqual(self.count(), 7)
        self.assertEqual(self.count("count(DISTINCT event_id)"), 7)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: pg_outage_test.py TRACKRELAY TRACK_MINT")
    TRACKRELAY, MINT = sys.argv[1], sys.argv[2]
    del sys.argv[1:3]
    unittest.main()
