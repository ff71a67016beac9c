#!/usr/bin/env python3
"""tests/app/pgstart_test.py - `serve` starts while PostgreSQL is down
(issue 15, docs/scaling.md "Starting while the database is down"), as real
processes: a PostgreSQL 15 started by tests/support/pgserver.py, one
`trackrelay serve` running the management API, a relay (into a maildir) and
a tracker with `store: postgresql://...` and a store_spool
(tests/api/harness.py), dnsmasq answering the tracking domains' CNAMEs;
smtplib sends, http.client clicks and queries.

Proves:
  1. a node restarted while PostgreSQL is stopped becomes ready; /healthz is
     503 and says why; its relay rewrites new mail to the tracking domain
     created through the API before (the last-known snapshot in the spool
     directory); that link and one from before the restart redirect (302 to
     their targets), also over HTTPS with the certificate uploaded through
     the API (served by SNI from the snapshot); the API answers a 5xx error
     in SparkPost's shape. Once
     PostgreSQL is back: /healthz is 200 within seconds, every click answered
     is in the events exactly once (spooled, then shipped), the API works
     again, and a domain created now reaches the relay and the tracker;
  2. a first start ever (no last-known snapshot) with PostgreSQL down still
     starts and serves the configuration file's domains; one-shot commands
     (`keys`, `events`) and a node without store_spool still fail at once
     (the latter saying to set it);
  3. a wrong password, an unknown user or a missing database stop `serve` at
     once with a clear error (misconfiguration, not an outage);
  4. a node started while PostgreSQL was down whose first connect is refused
     (a wrong password) says so loudly and keeps serving as if the database
     were down (/healthz 503, redirects, events spooled); once the password
     is fixed on the server it heals without a restart.

usage: pgstart_test.py TRACKRELAY
"""
import http.client
import os
import re
import smtplib
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import harness  # noqa: E402  tests/api/harness.py
import pgserver  # noqa: E402  tests/support/pgserver.py

TRACKRELAY = sys.argv[1] if len(sys.argv) > 1 else None
SYSTEM = "track.example.net"
DOMAIN = "click.pgstart.example.com"   # created through the API before the outage
DOMAIN2 = "click2.pgstart.example.com"  # created after PostgreSQL is back
RECORDS = ["host-record=%s,127.0.0.1" % SYSTEM, "cname=%s,%s" % (DOMAIN, SYSTEM),
           "cname=%s,%s" % (DOMAIN2, SYSTEM)]
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0 pgstart-%s"


def message(target):
    return ("From: News <news@shop.example.com>\r\nTo: r@example.net\r\nSubject: t\r\n"
            "Content-Type: text/html\r\n\r\n"
            '<html><body><a href="%s">buy</a></body></html>\r\n' % target).encode()


def get(port, path, host, ua="pgstart-test"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host, "User-Agent": ua})
        r = conn.getresponse()
        return r.status, r.getheader("Location"), r.read().decode("utf-8", "replace")
    finally:
        conn.close()


class Node:
    """One `serve` (API, relay, tracker) on the test's database."""

    def __init__(self, env, name, store, dns_port, spool=True):
        self.env = env
        self.outbox = os.path.join(env.dir, "outbox-" + name)
        self.spool = os.path.join(env.dir, "spool-" + name) if spool else ""
        self.config = env.config(name + ".yaml", (
            "relay: {listen: '127.0.0.1:0', upstream: 'maildir:%s'}\n"
            "track: {listen: '127.0.0.1:0', tls_listen: '127.0.0.1:0'}\n"
            # Certificates come from the store (uploaded); no CA answers here.
            "acme: {directory: 'https://127.0.0.1:1/directory', email: 'ops@example.com'}\n"
            "api: {listen: '127.0.0.1:0', store_poll_ms: 500}\n"
            "store_spool: '%s'\n"
            "dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 1000, reverify_interval: 0,"
            " allow_private_addresses: true}\n" % (self.outbox, self.spool, dns_port)))
        self.set_store(store)
        self.serve = None

    def set_store(self, store):
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(re.sub(r"(?m)^store: .*$", "store: '%s'" % store, text))

    def start(self):
        self.serve = self.env.serve(self.config)
        self.ports = dict(self.serve.ports)
        for line in self.serve.lines:  # the tracker has two listeners
            m = re.search(r"track: listening on (https?)://127\.0\.0\.1:(\d+)", line or "")
            if m:
                self.ports["track" if m.group(1) == "http" else "track-tls"] = int(m.group(2))
        return self.serve

    def port(self, what):
        return self.ports[what]

    def click_tls(self, path, host, ua, cafile):
        """A click over HTTPS, the certificate checked against `cafile`:
        "status location", or curl's error."""
        port = self.port("track-tls")
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                            "-A", ua, "--cacert", cafile,
                            "--resolve", "%s:%d:127.0.0.1" % (host, port),
                            "https://%s:%d%s" % (host, port, path)],
                           capture_output=True, timeout=30)
        return r.stdout.decode() or r.stderr.decode()

    def send(self, target):
        """Sends through the relay; the (host, path) of the relayed link."""
        new_dir = os.path.join(self.outbox, "new")
        before = set(os.listdir(new_dir)) if os.path.isdir(new_dir) else set()
        with smtplib.SMTP("127.0.0.1", self.port("relay"), timeout=30) as s:
            s.sendmail("news@shop.example.com", ["r@example.net"], message(target))
        new = set(os.listdir(new_dir)) - before
        assert len(new) == 1, new
        with open(os.path.join(new_dir, new.pop()), "rb") as f:
            out = f.read()
        m = re.search(rb'href="https?://([^"/]+)(/f/[A-Za-z0-9_-]+)"', out)
        return (m.group(1).decode(), m.group(2).decode()) if m else (None, out.decode())

    def click(self, path, host, ua):
        return get(self.port("track"), path, host, ua)[:2]

    def healthz(self):
        status, _, body = get(self.port("track"), "/healthz", SYSTEM)
        return status, body


class PgStart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = harness.Env(TRACKRELAY)
        cls.pg = None
        try:
            cls.pg = pgserver.PgServer.temporary("trackrelay-pgstart-pg-")
            cls.pg.start()
            cls.store = cls.pg.create_database("pgstart")
            cls.port = int(re.search(r":(\d+)/", cls.store).group(1))
            cls.dns = cls.env.dnsmasq(RECORDS)
            cls.node = Node(cls.env, "a", cls.store, cls.dns.port)
            r = cls.env.run("--config", cls.node.config, "keys", "create", "--label", "pgstart")
            assert r.returncode == 0, r.stderr
            cls.key = r.stdout.decode().strip()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env.close()  # the serve processes first: they hold sessions
        if cls.pg is not None:
            cls.pg.destroy()

    # --- helpers ---
    def api(self):
        return harness.Client(self.node.port("api"), self.key)

    def start_pg(self):
        if not os.path.exists(os.path.join(self.pg.data, "postmaster.pid")):
            self.pg._start_on(self.port)  # the same port: the store URI names it

    def clicks(self):
        """The user_agent of every click event, with repetitions."""
        uas, path = [], "/events/message?events=click&per_page=10000"
        while path:
            status, body = self.api().call("GET", path)
            self.assertEqual(status, 200, body)
            uas += [e.get("user_agent") for e in body["results"]]
            nxt = (body.get("links") or {}).get("next")
            path = nxt[len("/api/v1"):] if nxt and body["results"] else None
        return uas

    def wait_clicks(self, uas, timeout):
        deadline = time.monotonic() + timeout
        while True:
            seen = self.clicks()
            if set(uas) <= set(seen) or time.monotonic() > deadline:
                return seen
            time.sleep(0.3)

    def add_default_domain(self, domain):
        api = self.api()
        status, body = api.call("POST", "/tracking-domains", {"domain": domain, "default": True})
        self.assertEqual(status, 200, body)
        status, body = api.call("POST", "/tracking-domains/%s/verify" % domain)
        self.assertEqual(status, 200, body)
        self.assertTrue(body["results"]["verified"], body)

    def wait_relay_uses(self, domain, target, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            host, path = self.node.send(target)
            if host == domain or time.monotonic() > deadline:
                self.assertEqual(host, domain, "the relay rewrites to %s" % domain)
                return path
            time.sleep(0.2)

    # --- tests ---
    def upload_certificate(self, domain):
        """A self-signed certificate for `domain`, uploaded through the API;
        its PEM file (the CA a client checks the tracker against)."""
        cert, key = (os.path.join(self.env.dir, domain + ext) for ext in (".pem", ".key"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=" + domain, "-addext", "subjectAltName=DNS:" + domain,
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        with open(cert) as c, open(key) as k:
            status, body = self.api().call("PUT", "/tracking-domains/%s/certificate" % domain,
                                           {"certificate": c.read(), "key": k.read()})
        self.assertEqual(status, 200, body)
        return cert

    def test_1_restart_while_postgresql_is_down(self):
        node = self.node
        node.start()
        self.add_default_domain(DOMAIN)
        cafile = self.upload_certificate(DOMAIN)
        old = self.wait_relay_uses(DOMAIN, "https://shop.example/before")
        before = "https://shop.example/before"
        self.assertEqual(node.click(old, DOMAIN, UA % "before"), (302, before))
        deadline = time.monotonic() + 5  # the tracker serves the uploaded certificate
        while True:
            tls = node.click_tls(old, DOMAIN, UA % "tls-before", cafile)
            if tls == "302 " + before or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(tls, "302 " + before)
        self.wait_clicks([UA % "before"], 10)
        node.serve.stop()
        self.pg.stop()
        try:
            serve = node.start()  # ready: "serving" after its listeners started
            serve.wait_for(r"serving the last-known domains from .*last-known-domains\.json", 5)
            status, body = node.healthz()
            self.assertEqual(status, 503)
            self.assertIn("database is unreachable", body)
            host, path = node.send("https://shop.example/during")
            self.assertEqual(host, DOMAIN, "the API-created domain, from the last-known snapshot")
            answered = []
            for i, (link, target) in enumerate([(path, "https://shop.example/during"),
                                                (old, "https://shop.example/before")]):
                ua = UA % ("during-%d" % i)
                self.assertEqual(node.click(link, DOMAIN, ua), (302, target))
                answered.append(ua)
            # The API-uploaded certificate, from the last-known snapshot.
            ua = UA % "tls-during"
            self.assertEqual(node.click_tls(old, DOMAIN, ua, cafile),
                             "302 https://shop.example/before")
            answered.append(ua)
            status, body = self.api().call("GET", "/tracking-domains")
            self.assertGreaterEqual(status, 500, body)
            self.assertTrue(body["errors"][0]["message"], body)
            self.assertIn("description", body["errors"][0])
            self.assertEqual(node.healthz()[0], 503, "still spooling")
        finally:
            self.start_pg()
        deadline = time.monotonic() + 10
        while node.healthz()[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(node.healthz()[0], 200, "healthy once PostgreSQL answers")
        seen = self.wait_clicks(answered, 10)
        for ua in answered + [UA % "before"]:
            self.assertEqual(seen.count(ua), 1, "click %s recorded exactly once" % ua)
        status, body = self.api().call("GET", "/tracking-domains")
        self.assertEqual(status, 200, body)
        self.add_default_domain(DOMAIN2)
        path = self.wait_relay_uses(DOMAIN2, "https://shop.example/after")
        self.assertEqual(node.click(path, DOMAIN2, UA % "after"),
                         (302, "https://shop.example/after"))
        for name in ("last-known-domains.json", "last-known-certificates.json"):
            self.assertEqual(os.stat(os.path.join(node.spool, name)).st_mode & 0o777, 0o600)

    def test_2_first_start_without_a_snapshot_serves_the_file_domains(self):
        store = self.pg.create_database("pgstart_first")
        node = Node(self.env, "first", store, self.dns.port)
        self.pg.stop()
        try:
            node.start()
            self.assertEqual(node.healthz()[0], 503)
            host, path = node.send("https://shop.example/first")
            self.assertEqual(host, SYSTEM, "the file's (system) domain")
            self.assertEqual(node.click(path, SYSTEM, UA % "first"),
                             (302, "https://shop.example/first"))
            # One-shot commands still fail at once.
            for args in (["keys", "list"], ["events", "--json"]):
                r = self.env.run("--config", node.config, *args)
                self.assertNotEqual(r.returncode, 0, args)
                self.assertIn("cannot connect to", r.stderr.decode(), args)
            # Without a spool events could not be made durable: still the error.
            nospool = Node(self.env, "nospool", store, self.dns.port, spool=False)
            p = subprocess.run([TRACKRELAY, "--config", nospool.config, "serve"],
                               capture_output=True, timeout=60)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("set store_spool so that serve can start while the database is "
                          "unreachable", p.stderr.decode())
        finally:
            self.start_pg()
        deadline = time.monotonic() + 10
        while node.healthz()[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(node.healthz()[0], 200)
        node.serve.stop()

    def refused(self, store, expect):
        node = Node(self.env, "bad", store, self.dns.port)
        started = time.monotonic()
        p = subprocess.run([TRACKRELAY, "--config", node.config, "serve"], capture_output=True,
                           timeout=60)
        err = p.stderr.decode()
        self.assertNotEqual(p.returncode, 0, err)
        self.assertLess(time.monotonic() - started, 15, "fails at once")
        self.assertRegex(err, expect)
        self.assertNotIn("serving", err)
        self.assertNotIn("s3cret", err, "never the password")

    def password_role(self):
        """Password authentication for the role pwuser (password 'right'; the
        server trusts the others), owner of database pgstart_pw."""
        self.start_pg()
        hba = os.path.join(self.pg.data, "pg_hba.conf")
        with open(hba) as f:
            rules = f.read()
        if "pwuser" not in rules:
            with open(hba, "w") as f:
                f.write("host all pwuser 127.0.0.1/32 scram-sha-256\n" + rules)
            self.pg.psql("SELECT pg_reload_conf()")
        self.pg.psql('DROP DATABASE IF EXISTS "pgstart_pw" WITH (FORCE)')
        self.pg.psql("DROP ROLE IF EXISTS pwuser")
        self.pg.psql("CREATE ROLE pwuser LOGIN PASSWORD 'right'")
        self.pg.psql('CREATE DATABASE "pgstart_pw" OWNER pwuser STRATEGY FILE_COPY')

    def test_3_misconfiguration_stops_serve_at_once(self):
        self.password_role()
        base = "postgresql://%%s@127.0.0.1:%d/%%s" % self.port
        self.refused(base % ("pwuser:s3cret", "pgstart_pw"), r"password authentication failed")
        self.refused(base % ("nobody", "pgstart"), r'role "nobody" does not exist')
        self.refused(base % ("trackrelay", "missing"), r'database "missing" does not exist')

    def test_4_a_refusal_found_after_the_start_keeps_the_node_serving_as_down(self):
        self.password_role()
        node = Node(self.env, "late", "postgresql://pwuser:s3cret@127.0.0.1:%d/pgstart_pw"
                    % self.port, self.dns.port)
        self.pg.stop()
        try:
            serve = node.start()
        finally:
            self.start_pg()
        # The first connect after the start is refused: said loudly, served as down.
        serve.wait_for(r"password authentication failed.*keeps serving as if the database "
                       r"were down", 10)
        self.assertEqual(node.healthz()[0], 503)
        host, path = node.send("https://shop.example/late")
        self.assertEqual(host, SYSTEM)
        self.assertEqual(node.click(path, SYSTEM, UA % "late"), (302, "https://shop.example/late"))
        self.assertNotIn("s3cret", "\n".join(l for l in serve.lines if l))
        # Fixed on the database's side: the node heals without a restart.
        self.pg.psql("ALTER ROLE pwuser PASSWORD 's3cret'")
        deadline = time.monotonic() + 15
        while node.healthz()[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(node.healthz()[0], 200)
        self.assertEqual(self.pg.psql("SELECT count(*) FROM events WHERE user_agent = '%s'"
                                      % (UA % "late"), database="pgstart_pw"), "1")
        node.serve.stop()


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
