#!/usr/bin/env python3
"""tests/faults/track_kill_test.py - the tracking endpoint under concurrent
load, SIGKILLed and restarted several times: every request that got a
response has its event after the restarts.

`trackrelay serve` (tracker only, a fixed loopback port so that clients
reconnect to the restarted process) and --clients Python threads, each on a
keep-alive connection, sending clicks (GET), opens (GET) and HEADs of
pixels. Every request carries a unique User-Agent ("c<client>-<n>"), which
the event records. A request whose whole response arrived counts as
answered; one cut off by the kill counts as unanswered (its event may or may
not exist). A killer SIGKILLs the server --rounds times while the clients
run (the last kill is under load too), restarting it after each kill except
the last. Then the store is read with Python's sqlite3 and:

  * every answered request's User-Agent is in exactly one event (0 lost,
    0 duplicated); unanswered ones are at most one event each;
  * the events' types match the requests (click for /f/, open for /q/).

usage: track_kill_test.py TRACKRELAY TRACK_MINT [--rounds R] [--clients C]
"""
import argparse
import collections
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import harness  # noqa: E402  tests/api/harness.py (Serve)

ARGS = None
SECRET = "faults-kill-secret-0123456789abcdefghijklmnopqrstu"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def mint(kind, target=""):
    return subprocess.run([ARGS.mint, SECRET, kind, "click.example.com", target],
                          capture_output=True, check=True).stdout.decode().strip()


class TrackKillUnderLoad(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="trackrelay-track-kill-")
        self.port = free_port()
        self.store = os.path.join(self.dir, "events.db")
        self.config = os.path.join(self.dir, "trackrelay.yaml")
        with open(self.config, "w") as f:
            f.write("tracking:\n  system_domain: track.example.net\n"
                    '  keys: [{id: k1, secret: "%s"}]\n'
                    "  tracking_domains:\n    - {domain: click.example.com, default: true}\n"
                    "track:\n  listen: 127.0.0.1:%d\nstore: '%s'\n" % (SECRET, self.port, self.store))
        self.server = None

    def tearDown(self):
        if self.server and self.server.proc.poll() is None:
            self.server.proc.kill()
            self.server.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self):
        self.server = harness.Serve(ARGS.binary, self.config)
        self.assertEqual(self.server.ports.get("track"), self.port)

    def test_answered_requests_survive_sigkill(self):
        click = mint("click", "https://example.com/landing")
        pixel = mint("open")
        requests = [("GET", "/f/" + click, 302, "click"), ("GET", "/q/" + pixel, 200, "open"),
                    ("HEAD", "/q/" + pixel, 200, "open")]
        answered = {}     # user agent -> event type
        unanswered = set()
        lock = threading.Lock()
        stop = threading.Event()
        up = threading.Event()  # the server accepts requests

        errors = []  # failures inside client threads fail the test (asserted below)

        def client(c):
            try:
                run_client(c)
            except BaseException as e:  # noqa: B902  reported by the test thread
                with lock:
                    errors.append("client %d: %r" % (c, e))

        def run_client(c):
            rng = random.Random(c)
            conn = None
            n = 0
            while not stop.is_set():
                if not up.wait(0.2):
                    continue
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                method, path, status, kind = rng.choice(requests)
                ua = "c%d-%d" % (c, n)
                n += 1
                try:
                    conn.request(method, path, headers={"Host": "click.example.com",
                                                        "User-Agent": ua})
                    r = conn.getresponse()
                    r.read()
                    if r.status != status:
                        with lock:
                            errors.append("%s %s answered %d, expected %d"
                                          % (method, path, r.status, status))
                    with lock:
                        answered[ua] = kind
                except (OSError, http.client.HTTPException):
                    with lock:
                        unanswered.add(ua)
                    conn.close()
                    conn = None
            if conn:
                conn.close()

        self.start()
        up.set()
        threads = [threading.Thread(target=client, args=(c,)) for c in range(ARGS.clients)]
        for t in threads:
            t.start()
        rng = random.Random(ARGS.rounds)
        kills = 0
        t0 = time.monotonic()
        try:
            for r in range(ARGS.rounds):
                with lock:
                    goal = len(answered) + ARGS.per_round
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    with lock:
                        if len(answered) >= goal:
                            break
                    time.sleep(0.02)
                time.sleep(rng.uniform(0, 0.05))  # not always right at a batch boundary
                up.clear()
                self.server.proc.send_signal(signal.SIGKILL)
                self.server.proc.wait()
                kills += 1
                if r + 1 < ARGS.rounds:
                    self.start()
                    up.set()
        finally:
            stop.set()
            up.set()
            for t in threads:
                t.join(30)
        elapsed = time.monotonic() - t0
        self.assertFalse(any(t.is_alive() for t in threads), "a client thread never ended")
        self.assertEqual(errors, [], "failures in client threads")

        db = sqlite3.connect(self.store)
        rows = db.execute("SELECT user_agent, type FROM events").fetchall()
        db.close()
        recorded = collections.Counter(ua for ua, _ in rows)
        types = {ua: t for ua, t in rows}
        lost = sorted(ua for ua in answered if ua not in recorded)
        dups = sorted(ua for ua, c in recorded.items() if c > 1)
        stray = sorted(ua for ua in recorded if ua not in answered and ua not in unanswered)
        summary = {"rounds": kills, "clients": ARGS.clients, "answered": len(answered),
                   "unanswered": len(unanswered),
                   "unanswered_recorded": sum(1 for ua in unanswered if ua in recorded),
                   "events": len(rows), "lost": len(lost), "duplicated": len(dups),
                   "seconds": round(elapsed, 1)}
        print("track kill summary: " + json.dumps(summary), flush=True)
        self.assertEqual(kills, ARGS.rounds)
        self.assertGreaterEqual(len(answered), ARGS.rounds * ARGS.per_round)
        self.assertEqual(lost, [], "answered requests without an event")
        self.assertEqual(dups, [], "events recorded twice")
        self.assertEqual(stray, [], "events for requests never sent")
        self.assertTrue(all(types[ua] == kind for ua, kind in answered.items()))


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("mint")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--per-round", type=int, default=600, help="answered requests between kills")
    ARGS, rest = p.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
