#!/usr/bin/env python3
"""tests/metrics/metrics_process_test.py - /metrics of a real `trackrelay serve`.

The relay harness (tests/relay/harness.py) starts `serve` with the relay, the
tracker and metrics.listen on loopback in front of the scripted upstream.
Real traffic goes through it: one message the upstream accepts, one it
refuses (554), then a browser click, a Barracuda HEAD, a prefetch and a
Gmail-proxied open on the tracker. The scrape after must differ from the one
before by exactly that traffic, every event must carry its classification
(trackrelay events --json), and `promtool check metrics` must accept the
scrape.

Usage: metrics_process_test.py TRACKRELAY_BINARY
"""
import http.client
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "relay"))
import harness  # noqa: E402
from harness import FakeUpstream, Relay, TempDir, html_message  # noqa: E402

BINARY = None

CHROME = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")
GMAIL_PROXY = ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
               "(via ggpht.com GoogleImageProxy)")
BARRACUDA = "Barracuda Sentinel (EE)"
DOMAIN = "click.example.com"


def parse(text):
    """{'name{labels}': value} for every sample line of a scrape."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, value = line.rsplit(" ", 1)
        out[key] = float(value)
    return out


def event_series(type_, classification):
    return ('trackrelay_track_events_total{type="%s",classification="%s",tracking_domain="%s"}'
            % (type_, classification, DOMAIN))


class MetricsAfterRealTraffic(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.promtool = shutil.which("promtool")
        cls.tmp = TempDir(prefix="trackrelay-metrics-")
        cls.up = FakeUpstream(cls.tmp)
        try:
            cls.relay = Relay(BINARY, cls.tmp, "127.0.0.1:%d" % cls.up.port,
                              top_extra="track:\n  listen: 127.0.0.1:0\n"
                                        "metrics:\n  listen: 127.0.0.1:0\n")
        except BaseException:
            cls.up.stop()
            cls.tmp.cleanup()
            raise
        text = cls.relay.proc.text()
        cls.track_port = int(re.search(r"track: listening on http://127\.0\.0\.1:(\d+)",
                                       text).group(1))
        cls.metrics_port = int(re.search(r"metrics: listening on http://127\.0\.0\.1:(\d+)",
                                         text).group(1))

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.up.stop()
        cls.tmp.cleanup()

    def scrape(self, method="GET", path="/metrics"):
        c = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=10)
        c.request(method, path)
        r = c.getresponse()
        body = r.read().decode()
        c.close()
        return r, body

    def metrics(self):
        r, body = self.scrape()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        return body

    def track(self, url, method="GET", headers=None):
        u = urllib.parse.urlsplit(url)
        c = http.client.HTTPConnection("127.0.0.1", self.track_port, timeout=10)
        c.request(method, u.path, headers=dict({"Host": u.hostname}, **(headers or {})))
        r = c.getresponse()
        r.read()
        c.close()
        return r.status

    def events(self):
        out = subprocess.run([BINARY, "--config", self.relay.config, "events", "--json"],
                             capture_output=True, check=True, cwd=self.tmp.path)
        return [json.loads(l) for l in out.stdout.decode().splitlines() if l.strip()]

    def wait_for_series(self, key, value, timeout=10):
        """Sessions end after the client's QUIT: the gauge settles shortly after."""
        deadline = time.monotonic() + timeout
        while True:
            got = parse(self.metrics()).get(key)
            if got == value or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def test_counters_move_with_real_traffic_and_promtool_accepts_the_scrape(self):
        self.assertIsNotNone(self.promtool, "promtool is missing (apt-get install prometheus)")
        before = parse(self.metrics())

        # Two messages: the upstream accepts one and refuses the other (554).
        n_before = len(self.up.messages())
        with smtplib.SMTP("127.0.0.1", self.relay.port, timeout=20) as s:
            s.sendmail("news@example.com", ["alice@example.net"],
                       html_message(msgid="<metrics-1@example.com>").encode())
        with self.assertRaises(smtplib.SMTPDataError), \
                smtplib.SMTP("127.0.0.1", self.relay.port, timeout=20) as s:
            s.sendmail("news@example.com", ["data554@example.net"],
                       html_message(msgid="<metrics-2@example.com>").encode())
        out = self.up.messages()[n_before]
        urls = [m.group(0).decode() for m in harness.TRACKED_RE.finditer(out)]
        click = [u for u in urls if "/f/" in u][0]
        pixel = [u for u in urls if "/q/" in u][-1]  # the open pixel

        # The tracker: a person, a Barracuda HEAD, a prefetch, a Gmail-proxied open.
        self.assertEqual(self.track(click, headers={"User-Agent": CHROME}), 302)
        self.assertEqual(self.track(click, "HEAD", {"User-Agent": BARRACUDA}), 302)
        self.assertEqual(self.track(click, headers={"User-Agent": CHROME,
                                                    "Sec-Purpose": "prefetch"}), 302)
        self.assertEqual(self.track(pixel, headers={"User-Agent": GMAIL_PROXY}), 200)
        self.assertEqual(self.track("http://%s/f/not-a-token" % DOMAIN), 404)

        self.assertEqual(self.wait_for_series("trackrelay_relay_sessions_active", 0), 0)
        text = self.metrics()
        after = parse(text)

        def delta(key):
            # Series with a capped label (tracking_domain) appear at their first use.
            return after.get(key, 0) - before.get(key, 0)

        expected = {
            "trackrelay_relay_sessions_total": 2,
            'trackrelay_relay_messages_total{outcome="sent"}': 1,
            'trackrelay_relay_messages_total{outcome="refused"}': 1,
            'trackrelay_relay_messages_total{outcome="rejected"}': 0,
            'trackrelay_relay_upstream_replies_total{class="2xx"}': 1,
            'trackrelay_relay_upstream_replies_total{class="5xx"}': 1,
            'trackrelay_relay_upstream_replies_total{class="4xx"}': 0,
            "trackrelay_rewrite_seconds_count": 2,
            'trackrelay_rewrite_seconds_bucket{le="+Inf"}': 2,
            "trackrelay_links_tracked_total": 2,  # one link in each message
            event_series("click", "human"): 1,
            event_series("click", "scanner"): 2,
            event_series("open", "image_proxy"): 1,
            event_series("open", "human"): 0,
            'trackrelay_track_responses_total{code="302"}': 3,
            'trackrelay_track_responses_total{code="200"}': 1,
            'trackrelay_track_responses_total{code="404"}': 1,
            # Each served event waits for its own commit: four requests, four commits.
            "trackrelay_store_commit_seconds_count": 4,
        }
        for key, want in expected.items():
            if want:
                self.assertIn(key, after, text)
            self.assertEqual(delta(key), want, key)
        self.assertGreater(delta("trackrelay_rewrite_seconds_sum"), 0)
        # The webhook queue, read from the store at scrape time (no webhook: empty).
        for gauge in ("trackrelay_webhook_pending_batches", "trackrelay_webhook_pending_events",
                      "trackrelay_webhook_failed_batches", "trackrelay_webhook_lag_seconds"):
            self.assertEqual(after.get(gauge), 0, gauge + "\n" + text)
        self.assertNotIn("alice@", text)  # never an address or a URL as a label
        self.assertNotIn("/f/", text)

        # Every click and open carries its classification (injections are
        # the relay's record of what was sent: not classified).
        engagement = [e for e in self.events() if e["type"] != "injection"]
        self.assertTrue(all("classification" not in e for e in self.events()
                            if e["type"] == "injection"))
        kinds = sorted((e["type"], e["method"], e["classification"]["kind"],
                        tuple(e["classification"]["reasons"])) for e in engagement)
        self.assertEqual(kinds, sorted([
            ("click", "GET", "human", ()),
            ("click", "HEAD", "scanner", ("barracuda", "head_request")),
            ("click", "GET", "scanner", ("prefetch",)),
            ("open", "GET", "image_proxy", ("gmail_image_proxy",)),
        ]))

        check = subprocess.run([self.promtool, "check", "metrics"], input=text.encode(),
                               capture_output=True)
        self.assertEqual(check.returncode, 0,
                         (check.stdout + check.stderr).decode() + "\n" + text)

    def test_grafana_dashboard_queries_exported_metrics(self):
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                            "contrib", "grafana", "trackrelay.json")
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
        exported = set(re.findall(r"^# TYPE (\S+) ", self.metrics(), re.M))
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        self.assertGreater(len(exprs), 5)
        for e in exprs:
            names = {n for n in re.findall(r"\btrackrelay_[a-z_]+", e)}
            self.assertTrue(names, e)
            for n in names:
                base = re.sub(r"_(bucket|sum|count)$", "", n)
                self.assertIn(base, exported, e)

    def test_only_metrics_is_served(self):
        r, _ = self.scrape(path="/")
        self.assertEqual(r.status, 404)
        r, _ = self.scrape(method="POST")
        self.assertEqual(r.status, 405)
        r, body = self.scrape(method="HEAD")
        self.assertEqual(r.status, 200)
        self.assertEqual(body, "")


if __name__ == "__main__":
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main()
