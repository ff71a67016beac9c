#!/usr/bin/env python3
"""tests/api/serve_test.py - the management API end to end, as real processes.

  A: `trackrelay serve` with the API and the tracking endpoint;
  B: another `trackrelay serve` sharing the store, with only the relay
     (maildir capture upstream);
  dnsmasq (Debian) with the test's records, as the configured resolver.

Proves: `keys create` prints a working key; 401/400/413 JSON errors; a domain
created and verified (sending domain: TXT proof) through A's API is used by B's relay for the next
message without a restart (unverified: the system default, logged); A's
tracker serves links through the API domain and the events API lists the
click; `rewrite` reads the store's domains; the HTTP challenge is answered
only on its own host and verifies a CNAME-less domain; periodic
re-verification (process C) keeps a domain verified while DNS is down and
turns it invalid only after dns.reverify_failures definite failures; with
the default dns.allow_private_addresses (process D) the challenge never
connects to a domain that resolves to 127.0.0.1, and the tenant is told
only "could not fetch the challenge"; a challenge target that never answers
(process E) does not hold up the API (a second challenge meanwhile: 429).

usage: serve_test.py TRACKRELAY
"""
import email
import glob
import os
import re
import select
import smtplib
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TRACKRELAY = sys.argv[1] if len(sys.argv) > 1 else None
RECORDS = [
    "host-record=track.example.net,127.0.0.1",
    "host-record=other.example.net,127.0.0.2",
    "host-record=flat.example.com,127.0.0.1",
    "host-record=private.example.com,127.0.0.1",
    "host-record=slow.example.com,127.0.0.1",
    "cname=click.example.com,track.example.net",
]
MOVED = [r for r in RECORDS if not r.startswith("cname=")] + [
    "cname=click.example.com,other.example.net"]


class ApiEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = harness.Env(TRACKRELAY)
        try:
            cls.dns = cls.env.dnsmasq(RECORDS)
            cls.track_port = harness.tcp_port()
            cls.outbox = os.path.join(cls.env.dir, "outbox")
            # The challenge reaches 127.0.0.1 only because these processes
            # allow it; test_5 proves the default never connects there.
            dns = ("dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 1000, reverify_interval: %d,"
                   " reverify_failures: 2, http_challenge_port: %d,"
                   " allow_private_addresses: true}\n")
            cls.config_a = cls.env.config("a.yaml", (
                "track: {listen: '127.0.0.1:%d'}\n"
                "api: {listen: '127.0.0.1:0', max_body_bytes: 2048, store_poll_ms: 100}\n" %
                cls.track_port) + dns % (cls.dns.port, 0, cls.track_port))
            cls.config_b = cls.env.config("b.yaml", (
                "relay: {listen: '127.0.0.1:0', upstream: 'maildir:%s'}\n"
                "api: {store_poll_ms: 100}\n" % cls.outbox) + dns % (cls.dns.port, 0, 80))
            cls.config_c = cls.env.config("c.yaml", (
                "api: {listen: '127.0.0.1:0', store_poll_ms: 100}\n") +
                dns % (cls.dns.port, 1, cls.track_port))
            r = cls.env.run("--config", cls.config_a, "keys", "create", "--label", "e2e")
            assert r.returncode == 0, r.stderr
            cls.key = r.stdout.decode().strip()
            cls.a = cls.env.serve(cls.config_a)
            cls.b = cls.env.serve(cls.config_b)
            cls.api = harness.Client(cls.a.ports["api"], cls.key)
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def send(self, sender="news@example.com", n=[0]):
        n[0] += 1
        msg = ("From: %s\r\nTo: r@example.net\r\nSubject: t%d\r\nMessage-ID: <m%d@example.com>\r\n"
               "Content-Type: text/html\r\n\r\n<html><body><a href=\"https://shop.example/p?i=%d\">"
               "buy</a></body></html>\r\n" % (sender, n[0], n[0], n[0]))
        before = set(glob.glob(os.path.join(self.outbox, "new", "*")))
        with smtplib.SMTP("127.0.0.1", self.b.ports["relay"], timeout=30) as s:
            s.sendmail(sender, ["r@example.net"], msg)
        new = set(glob.glob(os.path.join(self.outbox, "new", "*"))) - before
        self.assertEqual(len(new), 1)
        with open(new.pop(), "rb") as f:
            body = email.message_from_bytes(f.read()).get_payload(decode=True).decode()
        return re.search(r'href="(https?://[^"/]+)(/f/[^"]+)"', body).groups()

    def wait_for_link_host(self, host, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            origin, path = self.send()
            if origin.endswith("//" + host) or time.monotonic() > deadline:
                return origin, path

    def test_1_keys_and_errors(self):
        r = self.env.run("--config", self.config_a, "keys", "list")
        self.assertIn(self.key[:8], r.stdout.decode())
        self.assertNotIn(self.key, r.stdout.decode())
        status, body = self.api.call("GET", "/tracking-domains", key="")
        self.assertEqual(status, 401)
        self.assertIn("message", body["errors"][0])
        status, body = self.api.call("POST", "/tracking-domains", raw="{oops")
        self.assertEqual(status, 400)
        status, body = self.api.call("POST", "/tracking-domains",
                                     raw='{"domain": "%s"}' % ("a" * 4000))
        self.assertEqual(status, 413)
        self.assertIn("too large", body["errors"][0]["message"])

    def test_1b_keys_create_with_grants(self):
        r = self.env.run("--config", self.config_a, "keys", "create", "--label", "metrics only",
                         "--grants", "metrics/view,message_events/view")
        self.assertEqual(r.returncode, 0, r.stderr)
        limited = r.stdout.decode().strip()
        status, _ = self.api.call("GET", "/tracking-domains", key=limited)
        self.assertEqual(status, 403)
        status, _ = self.api.call("GET", "/events/message", key=limited)
        self.assertEqual(status, 200)
        listed = self.env.run("--config", self.config_a, "keys", "list").stdout.decode()
        line = next(l for l in listed.splitlines() if limited[:8] in l)
        self.assertTrue(line.endswith("metrics/view message_events/view"), line)
        r = self.env.run("--config", self.config_a, "keys", "create", "--grants", "metrics/viw")
        self.assertEqual(r.returncode, 64)
        self.assertIn("unknown grant 'metrics/viw'", r.stderr.decode())
        self.assertEqual(r.stdout, b"")

    def test_2_api_domains_reach_the_relay_of_another_process(self):
        origin, _ = self.send()
        self.assertEqual(origin, "http://track.example.net")  # nothing configured yet
        status, body = self.api.call("POST", "/tracking-domains", {"domain": "click.example.com"})
        self.assertEqual(status, 200, body)
        status, body = self.api.call("POST", "/sending-domains",
                                     {"domain": "example.com", "tracking_domain": "click.example.com"})
        self.assertEqual(status, 200, body)
        # Not proven in DNS: the domain does not apply to mail yet.
        txt = body["results"]["verification"]["txt_record"]
        self.assertEqual(txt["hostname"], "_trackrelay.example.com")
        self.b.wait_for(r"sending domain example\.com is not verified")
        self.dns.stop()
        self.__class__.dns = self.env.dnsmasq(
            RECORDS + ['txt-record=%s,"%s"' % (txt["hostname"], txt["value"])], port=self.dns.port)
        status, body = self.api.call("POST", "/sending-domains/example.com/verify")
        self.assertEqual(status, 200, body)
        self.assertTrue(body["results"]["ownership_verified"], body)
        status, body = self.api.call("GET", "/tracking-domains/click.example.com")
        self.assertEqual(body["results"]["status"]["cname_status"], "unverified")
        self.b.wait_for(r"tracking domain click\.example\.com is not verified")
        origin, _ = self.send()
        self.assertEqual(origin, "http://track.example.net", "unverified: the system default")
        status, body = self.api.call("POST", "/tracking-domains/click.example.com/verify")
        self.assertEqual(status, 200)
        self.assertTrue(body["results"]["verified"], body)
        self.assertEqual(body["results"]["cname_status"], "valid")
        origin, path = self.wait_for_link_host("click.example.com")
        self.assertEqual(origin, "http://click.example.com")
        # A's tracker serves the API domain; the click is in the events API.
        status, location, _ = harness.http_get(self.track_port, path, "click.example.com")
        self.assertEqual(status, 302)
        self.assertTrue(location.startswith("https://shop.example/p?i="))
        status, body = self.api.call("GET", "/events/message?events=click")
        self.assertEqual(status, 200)
        self.assertEqual(body["results"][0]["tracking_domain"], "click.example.com")
        # `rewrite` (one-shot) reads the store's domains too.
        r = self.env.run("--config", self.config_b, "rewrite", stdin=(
            b"From: a@example.com\r\nTo: b@example.net\r\nContent-Type: text/html\r\n\r\n"
            b"<a href=\"https://x.example/\">x</a>\r\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"http://click.example.com/f/", r.stdout)

    def test_3_http_challenge(self):
        status, body = self.api.call("POST", "/tracking-domains", {"domain": "flat.example.com"})
        self.assertEqual(status, 200, body)
        _, body = self.api.call("GET", "/tracking-domains/flat.example.com")
        token = body["results"]["verification"]["http_challenge"]["token"]
        path = "/.well-known/trackrelay/" + token
        self.a.wait_for(r"trackrelay: serving")
        deadline = time.monotonic() + 10
        while harness.http_get(self.track_port, path, "flat.example.com")[0] != 200:
            self.assertLess(time.monotonic(), deadline, "the tracker never served the token")
        status, _, got = harness.http_get(self.track_port, path, "flat.example.com")
        self.assertEqual(got.decode(), token)
        self.assertEqual(harness.http_get(self.track_port, path, "click.example.com")[0], 404,
                         "only on the host it was issued for")
        _, body = self.api.call("POST", "/tracking-domains/flat.example.com/verify")
        self.assertEqual(body["results"]["cname_status"], "invalid")  # no CNAME (flattened)
        _, body = self.api.call("POST", "/tracking-domains/flat.example.com/verify", {"http": True})
        self.assertTrue(body["results"]["verified"], body)
        self.assertIn("HTTP challenge", body["results"]["message"])

    def test_4_periodic_reverification_does_not_flap(self):
        c = self.env.serve(self.config_c)
        self.dns.stop()  # lookups fail: a verified domain must stay verified
        c.wait_for(r"verify: click\.example\.com: lookup failed \(stays valid\)", 20)
        _, body = self.api.call("GET", "/tracking-domains/click.example.com")
        self.assertTrue(body["results"]["status"]["verified"])
        self.__class__.dns = self.env.dnsmasq(MOVED, port=self.dns.port)
        c.wait_for(r"verify: click\.example\.com: definite failure 1 of 2", 20)
        _, body = self.api.call("GET", "/tracking-domains/click.example.com")
        self.assertTrue(body["results"]["status"]["verified"], "one failure is not enough")
        c.wait_for(r"verify: click\.example\.com: valid -> invalid", 20)
        _, body = self.api.call("GET", "/tracking-domains/click.example.com")
        self.assertFalse(body["results"]["status"]["verified"])
        self.assertIn("has CNAME other.example.net; expected track.example.net",
                      body["results"]["verification"]["message"])
        # Invalid: example.com's mail falls through to the default, which is now
        # the only verified domain (flat.example.com, verified by HTTP).
        origin, _ = self.wait_for_link_host("flat.example.com")
        self.assertEqual(origin, "http://flat.example.com")

    def test_5_http_challenge_never_connects_to_a_private_address(self):
        # SSRF: a tenant's domain resolving to 127.0.0.1, with a listener on
        # dns.http_challenge_port that must see no connection (default:
        # dns.allow_private_addresses false).
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        try:
            config = self.env.config("d.yaml", (
                "api: {listen: '127.0.0.1:0', store_poll_ms: 100}\n"
                "dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 1000, reverify_interval: 0,"
                " http_challenge_port: %d}\n" % (self.dns.port, listener.getsockname()[1])))
            d = self.env.serve(config)
            api = harness.Client(d.ports["api"], self.key)
            status, body = api.call("POST", "/tracking-domains", {"domain": "private.example.com"})
            self.assertEqual(status, 200, body)
            status, body = api.call("POST", "/tracking-domains/private.example.com/verify",
                                    {"http": True})
            self.assertEqual(status, 200, body)
            self.assertFalse(body["results"]["verified"], body)
            message = body["results"]["message"]
            self.assertIn("could not fetch the challenge", message)
            for leak in ("127.0.0.1", "loopback", "refused", "Connection", "timed out"):
                self.assertNotIn(leak, message)
            readable, _, _ = select.select([listener], [], [], 0.5)
            self.assertEqual(readable, [], "the HTTP challenge connected to 127.0.0.1")
            d.wait_for(r"verify: private\.example\.com: .*127\.0\.0\.1 refused: loopback")
        finally:
            listener.close()

    def test_6_a_slow_challenge_target_does_not_starve_the_api(self):
        # A target that accepts and never answers holds one challenge for
        # dns.timeout_ms; meanwhile the API answers, a second challenge is
        # 429, and the first ends "could not fetch the challenge".
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        try:
            config = self.env.config("e.yaml", (
                "api: {listen: '127.0.0.1:0', store_poll_ms: 100}\n"
                "dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 3000, reverify_interval: 0,"
                " http_challenge_port: %d, allow_private_addresses: true}\n"
                % (self.dns.port, listener.getsockname()[1])))
            e = self.env.serve(config)
            api = harness.Client(e.ports["api"], self.key)
            status, body = api.call("POST", "/tracking-domains", {"domain": "slow.example.com"})
            self.assertEqual(status, 200, body)
            first = {}

            def verify():
                first["answer"] = api.call("POST", "/tracking-domains/slow.example.com/verify",
                                           {"http": True})

            t = threading.Thread(target=verify)
            t0 = time.monotonic()
            t.start()
            # The first challenge has connected (the listener sees it).
            readable, _, _ = select.select([listener], [], [], 2)
            self.assertEqual(readable, [listener], "the first challenge never connected")
            status, body = api.call("GET", "/tracking-domains")
            self.assertEqual(status, 200, body)
            status, body = api.call("POST", "/tracking-domains/slow.example.com/verify",
                                    {"http": True})
            self.assertEqual(status, 429, body)
            self.assertEqual(body["errors"][0]["code"], "1429")
            self.assertLess(time.monotonic() - t0, 2.5, "the API waited for the slow target")
            t.join(15)
            self.assertFalse(t.is_alive())
            status, body = first["answer"]
            self.assertEqual(status, 200, body)
            self.assertFalse(body["results"]["verified"], body)
            self.assertIn("could not fetch the challenge", body["results"]["message"])
        finally:
            listener.close()


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
