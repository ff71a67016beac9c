#!/usr/bin/env python3
"""tests/app/scaleout_test.py - many nodes on one PostgreSQL (issue 15), as
real processes: a PostgreSQL 15 started by tests/support/pgserver.py (initdb
and pg_ctl in a temporary directory, as an unprivileged user), three
`trackrelay serve` processes with `store: postgresql://...` (tests/api/harness.py):
A runs the management API; B and C each run a relay (into a maildir) and a
tracker, and send webhooks (webhooks.enabled); dnsmasq answers the tracking
domain's CNAME; http.client clicks and queries, smtplib sends.

Every node polls the store only every 60 s (api.store_poll_ms: 60000), so a
change seen sooner came by LISTEN/NOTIFY. Proves:
  1. a tracking domain created and verified through A's API is used by B's
     and C's relays, and served by C's tracker, within a second;
  2. clicks on B's and on C's tracker show up in one events query on A;
  3. SIGKILL of tracker C while clients click on it loses no acknowledged
     event (every click answered 302 is in the events);
  4. stopping PostgreSQL for 10 s while clients click on B and C: redirects
     keep working, /healthz is 503 meanwhile, and every acknowledged click is
     in the events once PostgreSQL is back (spooled, then shipped);
  5. exactly one of B and C sends the webhooks (advisory lock); SIGKILL it and
     the other takes over, delivering the clicks made after the kill;
  6. after PostgreSQL restarted, every node listens again: a new domain is
     used everywhere within a second again.

usage: scaleout_test.py TRACKRELAY
"""
import http.client
import http.server
import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import harness  # noqa: E402  tests/api/harness.py
import pgserver  # noqa: E402  tests/support/pgserver.py

TRACKRELAY = sys.argv[1] if len(sys.argv) > 1 else None
DOMAIN = "click.scale.example.com"
DOMAIN2 = "click2.scale.example.com"  # created after PostgreSQL restarted (test 6)
RECORDS = ["host-record=track.example.net,127.0.0.1", "cname=%s,track.example.net" % DOMAIN,
           "cname=%s,track.example.net" % DOMAIN2]
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0 scaleout-%s-%d"


def message(target):
    return ("From: News <news@shop.example.com>\r\nTo: r@example.net\r\nSubject: t\r\n"
            "Content-Type: text/html\r\n\r\n"
            '<html><body><a href="%s">buy</a></body></html>\r\n' % target).encode()


def get(port, path, host, ua=None, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host, "User-Agent": ua or "scaleout-test"})
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("Location")
    finally:
        conn.close()


class Load:
    """Clients clicking `path` on trackers `ports` until stop(); the
    User-Agents of the clicks answered 302 (acknowledged) are kept."""

    def __init__(self, ports, path, tag, clients_per_port=2):
        self.acked = set()
        self.failed = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = []
        for port in ports:
            for i in range(clients_per_port):
                t = threading.Thread(target=self._run, args=(port, path, "%s-%d-%d" % (tag, port, i)),
                                     daemon=True)
                t.start()
                self.threads.append(t)

    def _run(self, port, path, tag):
        n = 0
        while not self.done.is_set():
            ua = UA % (tag, n)
            n += 1
            try:
                status, _ = get(port, path, DOMAIN, ua)
            except OSError:
                status = None
            with self.lock:
                if status == 302:
                    self.acked.add(ua)
                else:
                    self.failed += 1
            if status != 302:
                time.sleep(0.05)

    def count(self):
        with self.lock:
            return len(self.acked)

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(30)
        return set(self.acked)


class Receiver:
    """A webhook receiver on loopback: the event ids of every batch."""

    def __init__(self):
        self.batches = []
        self.cond = threading.Condition()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.cond:
                    outer.batches.append(json.loads(body))
                    outer.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def user_agents(self):
        with self.cond:
            return {next(iter(i["msys"].values())).get("user_agent")
                    for b in self.batches for i in b}

    def wait_for(self, uas, timeout):
        deadline = time.monotonic() + timeout
        while not uas <= self.user_agents() and time.monotonic() < deadline:
            time.sleep(0.2)
        return uas - self.user_agents()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class ScaleOut(unittest.TestCase):
    outage_seen_by = []  # the serve processes running when test 4 stopped PostgreSQL

    @classmethod
    def setUpClass(cls):
        cls.env = harness.Env(TRACKRELAY)
        cls.pg = None
        cls.receiver = Receiver()
        try:
            cls.pg = pgserver.PgServer.temporary("trackrelay-scaleout-pg-")
            cls.pg.start()
            cls.env.store = cls.pg.create_database("scaleout")
            cls.start_nodes()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_nodes(cls):
        cls.dns = cls.env.dnsmasq(RECORDS)
        common = ("dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 1000, reverify_interval: 0,"
                  " allow_private_addresses: true}\n" % cls.dns.port)
        cls.config_a = cls.env.config("a.yaml", (
            "api: {listen: '127.0.0.1:0', store_poll_ms: 60000}\n"
            "webhooks: {enabled: false}\n" + common))  # B and C compete for the webhooks
        r = cls.env.run("--config", cls.config_a, "keys", "create", "--label", "scaleout")
        assert r.returncode == 0, r.stderr
        cls.a = cls.env.serve(cls.config_a)
        cls.api = harness.Client(cls.a.ports["api"], r.stdout.decode().strip())
        cls.nodes = {}
        for name in ("b", "c"):
            outbox = os.path.join(cls.env.dir, "outbox-" + name)
            port = harness.tcp_port()
            config = cls.env.config(name + ".yaml", (
                "relay: {listen: '127.0.0.1:0', upstream: 'maildir:%s'}\n"
                "track: {listen: '127.0.0.1:%d'}\n"
                "api: {store_poll_ms: 60000}\n"
                "webhooks: {enabled: true, retry_base_ms: 200}\n" % (outbox, port)) + common)
            cls.nodes[name] = {"config": config, "outbox": outbox, "track": port,
                               "serve": cls.env.serve(config)}

    @classmethod
    def tearDownClass(cls):
        cls.env.close()  # the serve processes first: they hold sessions
        cls.receiver.stop()
        if cls.pg is not None:
            cls.pg.destroy()

    # --- helpers ---
    @classmethod
    def restart(cls, name):
        node = cls.nodes[name]
        node["serve"] = cls.env.serve(node["config"])

    def send(self, name, target):
        """Sends through node `name`'s relay; the (host, path) of the relayed link."""
        node = self.nodes[name]
        new_dir = os.path.join(node["outbox"], "new")
        before = set(os.listdir(new_dir)) if os.path.isdir(new_dir) else set()
        with smtplib.SMTP("127.0.0.1", node["serve"].ports["relay"], timeout=30) as s:
            s.sendmail("news@shop.example.com", ["r@example.net"], message(target))
        new = set(os.listdir(new_dir)) - before
        self.assertEqual(len(new), 1)
        with open(os.path.join(new_dir, new.pop()), "rb") as f:
            out = f.read()
        m = re.search(rb'href="https?://([^"/]+)(/f/[A-Za-z0-9_-]+)"', out)
        return (m.group(1).decode(), m.group(2).decode()) if m else (None, None)

    def click_user_agents(self):
        """The user_agent of every click event, paging through the events API on A."""
        uas, path = set(), "/events/message?events=click&per_page=10000"
        while path:
            status, body = self.api.call("GET", path)
            self.assertEqual(status, 200, body)
            uas |= {e.get("user_agent") for e in body["results"]}
            nxt = (body.get("links") or {}).get("next")
            path = nxt[len("/api/v1"):] if nxt and body["results"] else None
        return uas

    def wait_events(self, uas, timeout):
        deadline = time.monotonic() + timeout
        missing = uas - self.click_user_agents()
        while missing and time.monotonic() < deadline:
            time.sleep(0.5)
            missing = uas - self.click_user_agents()
        return missing

    def link(self):
        host, path = self.send("b", "https://shop.example/scaleout")
        self.assertEqual(host, DOMAIN)
        return path

    # --- tests ---
    def new_default_is_used_within_a_second(self, domain):
        """Creates and verifies `domain` as the default through A's API; both
        relays use it, and C's tracker serves it, within a second."""
        status, body = self.api.call("POST", "/tracking-domains", {"domain": domain, "default": True})
        self.assertEqual(status, 200, body)
        status, body = self.api.call("POST", "/tracking-domains/%s/verify" % domain)
        self.assertEqual(status, 200, body)
        self.assertTrue(body["results"]["verified"], body)
        verified = time.monotonic()
        for name in ("b", "c"):
            while True:
                host, path = self.send(name, "https://shop.example/first")
                if host == domain or time.monotonic() - verified > 1.0:
                    break
            self.assertEqual(host, domain, "node %s's relay uses the new domain within 1 s" % name)
        status, location = get(self.nodes["c"]["track"], path, domain)
        self.assertEqual((status, location), (302, "https://shop.example/first"))

    def test_1_domain_from_the_api_node_is_used_by_the_others_within_a_second(self):
        self.assertEqual(self.send("b", "https://shop.example/before")[0], "track.example.net",
                         "no tracking domain yet: the system domain")
        self.new_default_is_used_within_a_second(DOMAIN)

    def test_2_clicks_on_both_trackers_in_one_events_query(self):
        path = self.link()
        uas = set()
        for name in ("b", "c"):
            ua = UA % ("both-" + name, 0)
            self.assertEqual(get(self.nodes[name]["track"], path, DOMAIN, ua)[0], 302)
            uas.add(ua)
        self.assertEqual(self.wait_events(uas, 5), set())

    def test_3_sigkill_of_a_tracker_under_load_loses_no_acknowledged_click(self):
        path = self.link()
        load = Load([self.nodes["c"]["track"]], path, "kill", clients_per_port=4)
        deadline = time.monotonic() + 20
        while load.count() < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.nodes["c"]["serve"].proc.send_signal(signal.SIGKILL)
        self.nodes["c"]["serve"].proc.wait(10)
        time.sleep(0.3)
        acked = load.stop()
        self.assertGreaterEqual(len(acked), 200)
        self.assertEqual(self.wait_events(acked, 10), set(), "acknowledged clicks lost")
        self.restart("c")

    def test_4_postgresql_down_10s_under_load_loses_no_acknowledged_click(self):
        path = self.link()
        ports = [self.nodes[n]["track"] for n in ("b", "c")]
        load = Load(ports, path, "outage")
        while load.count() < 100:
            time.sleep(0.05)
        self.__class__.outage_seen_by = [n["serve"] for n in self.nodes.values()]
        self.pg.stop()
        try:
            time.sleep(2)
            during = load.count()
            for port in ports:
                self.assertEqual(get(port, "/healthz", "track.example.net")[0], 503)
            time.sleep(8)
            self.assertGreater(load.count(), during + 50, "redirects keep working")
        finally:
            # The same port: every node's store URI names it.
            self.pg._start_on(int(re.search(r":(\d+)/", self.env.store).group(1)))
        time.sleep(1)
        acked = load.stop()
        self.assertEqual(self.wait_events(acked, 60), set(), "acknowledged clicks lost")
        for port in ports:
            self.assertEqual(get(port, "/healthz", "track.example.net")[0], 200)

    def sends_webhooks(self, name):
        """Whether node `name` said last that it sends the webhooks."""
        said = [l for l in self.nodes[name]["serve"].lines
                if l and re.search(r"webhooks: (this|another) process sends", l)]
        return bool(said) and "this process sends" in said[-1]

    def wait_sender(self, names, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            senders = [n for n in names if self.sends_webhooks(n)]
            if senders:
                return senders
            time.sleep(0.1)
        return []

    def test_5_one_node_sends_webhooks_and_another_takes_over(self):
        status, body = self.api.call("POST", "/webhooks", {
            "name": "scaleout", "target": "http://127.0.0.1:%d/hook" % self.receiver.port,
            "events": ["click"]})
        self.assertEqual(status, 200, body)
        path = self.link()
        senders = self.wait_sender(("b", "c"), 10)
        self.assertEqual(len(senders), 1, "exactly one node sends:\n" + "\n".join(
            l for n in ("b", "c") for l in self.nodes[n]["serve"].lines
            if l and re.search(r"webhooks|lock", l)))
        holder = senders[0]
        other = "c" if holder == "b" else "b"
        before = UA % ("hook-before", 0)
        self.assertEqual(get(self.nodes[holder]["track"], path, DOMAIN, before)[0], 302)
        self.assertEqual(self.receiver.wait_for({before}, 20), set())
        self.nodes[holder]["serve"].proc.send_signal(signal.SIGKILL)
        self.nodes[holder]["serve"].proc.wait(10)
        self.assertEqual(self.wait_sender((other,), 10), [other], "the other node takes over")
        after = UA % ("hook-after", 0)
        self.assertEqual(get(self.nodes[other]["track"], path, DOMAIN, after)[0], 302)
        self.assertEqual(self.receiver.wait_for({after}, 20), set(), "the other node delivers")
        self.restart(holder)
        time.sleep(3)  # more than a control pass
        self.assertFalse(self.sends_webhooks(holder), "the restarted node waits its turn")

    def test_6_notification_works_again_after_postgresql_restarted(self):
        # Test 4 restarted PostgreSQL: every node's listening session was
        # ended and replaced (re-LISTEN); the poll is still 60 s.
        survivors = [n["serve"] for n in self.nodes.values() if n["serve"] in self.outage_seen_by]
        self.assertTrue(survivors, "a node that lived through the outage")
        for serve in survivors:
            serve.wait_for(r"store: change notification: listening again", 1)
        self.new_default_is_used_within_a_second(DOMAIN2)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
