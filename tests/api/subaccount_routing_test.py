#!/usr/bin/env python3
"""tests/api/subaccount_routing_test.py - subaccounts in routing (issue 11),
as real processes: one `trackrelay serve` (relay into a maildir, tracker,
API and store), dnsmasq answering the tracking domains' CNAMEs and the
sending domains' TXT proofs, smtplib as the application, http.client as the
API client and the clicking browser.

Set-up as a SparkPost user would: POST /subaccounts (a key comes back by
default); subaccount alpha makes its own default tracking domain with its
key; the primary makes beta's with X-MSYS-SUBACCOUNT; every account has a
verified sending domain that links to no tracking domain (tracking.senders:
declared). Proves: each account's unlinked mail, injected with SMTP AUTH
SMTP_Injection and its key, is tracked under that account's own default
(never the primary's); the click through the tracker is recorded with the
subaccount's id, visible to its key and not to another subaccount's; the
primary's unlinked mail still uses the primary's default; a primary session
naming the subaccount with X-MSYS-SUBACCOUNT gets the subaccount's domain; a
key without the smtp/inject grant cannot inject.

usage: subaccount_routing_test.py TRACKRELAY
"""
import glob
import os
import re
import smtplib
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TRACKRELAY = sys.argv[1] if len(sys.argv) > 1 else None
RECORDS = [
    "host-record=track.example.net,127.0.0.1",
    "cname=click.alpha.example.com,track.example.net",
    "cname=click.beta.example.com,track.example.net",
    "cname=click.primary.example.com,track.example.net",
]


def message(sender, target):
    return ("From: News <%s>\r\nTo: r@example.net\r\nSubject: t\r\n"
            "Content-Type: text/html\r\n\r\n"
            '<html><body><a href="%s">buy</a></body></html>\r\n' % (sender, target)).encode()


class SubaccountRouting(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = harness.Env(TRACKRELAY)
        try:
            cls.setup_processes()
            cls.setup_accounts()
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def setup_processes(cls):
        cls.records = list(RECORDS)
        cls.dns = cls.env.dnsmasq(cls.records)
        cls.outbox = os.path.join(cls.env.dir, "outbox")
        cls.track_port = harness.tcp_port()
        cls.config = cls.env.config("r.yaml", (
            "relay: {listen: '127.0.0.1:0', upstream: 'maildir:%s', auth_over_plaintext: true}\n"
            "track: {listen: '127.0.0.1:%d'}\n"
            "api: {listen: '127.0.0.1:0', store_poll_ms: 100}\n"
            "dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 1000, reverify_interval: 0}\n") %
            (cls.outbox, cls.track_port, cls.dns.port), senders="declared")
        r = cls.env.run("--config", cls.config, "keys", "create", "--label", "primary")
        assert r.returncode == 0, r.stderr
        cls.serve = cls.env.serve(cls.config)
        cls.api = harness.Client(cls.serve.ports["api"], r.stdout.decode().strip())

    @classmethod
    def call(cls, method, path, body=None, key=None, account=None):
        headers = {"X-MSYS-SUBACCOUNT": str(account)} if account is not None else None
        return cls.api.call(method, path, body, key=key, headers=headers)

    @classmethod
    def setup_accounts(cls):
        cls.subs = {}
        for name in ("alpha", "beta"):
            status, body = cls.call("POST", "/subaccounts", {"name": name})
            assert status == 200 and "key" in body["results"], body
            cls.subs[name] = (body["results"]["subaccount_id"], body["results"]["key"])
        alpha_id, alpha_key = cls.subs["alpha"]
        beta_id = cls.subs["beta"][0]
        # alpha with its own key; beta's by the primary acting for it; the primary's own.
        cls.tracking("click.alpha.example.com", key=alpha_key)
        cls.tracking("click.beta.example.com", account=beta_id)
        cls.tracking("click.primary.example.com")
        txt = []
        for domain, key, account in (("alpha.example.com", alpha_key, None),
                                     ("beta.example.com", None, beta_id),
                                     ("primary.example.com", None, None)):
            status, body = cls.call("POST", "/sending-domains", {"domain": domain}, key, account)
            assert status == 200, body
            record = body["results"]["verification"]["txt_record"]
            txt.append('txt-record=%s,"%s"' % (record["hostname"], record["value"]))
        cls.dns.stop()
        cls.dns = cls.env.dnsmasq(cls.records + txt, port=cls.dns.port)
        for domain, key, account in (("alpha.example.com", alpha_key, None),
                                     ("beta.example.com", None, beta_id),
                                     ("primary.example.com", None, None)):
            status, body = cls.call("POST", "/sending-domains/%s/verify" % domain, None, key,
                                    account)
            assert status == 200 and body["results"]["ownership_verified"], body

    @classmethod
    def tracking(cls, domain, key=None, account=None):
        status, body = cls.call("POST", "/tracking-domains", {"domain": domain, "default": True},
                                key, account)
        assert status == 200, body
        status, body = cls.call("POST", "/tracking-domains/%s/verify" % domain, None, key, account)
        assert status == 200 and body["results"]["verified"], body
        status, body = cls.call("GET", "/tracking-domains/" + domain, None, key, account)
        assert body["results"]["default"] is True, body

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    # --- helpers ---
    def send(self, sender, msg, key=None):
        """Injects `msg` (AUTH SMTP_Injection with `key` when given); the maildir's copy."""
        before = set(glob.glob(os.path.join(self.outbox, "new", "*")))
        with smtplib.SMTP("127.0.0.1", self.serve.ports["relay"], timeout=30) as s:
            if key:
                s.login("SMTP_Injection", key)
            s.sendmail(sender, ["r@example.net"], msg)
        new = set(glob.glob(os.path.join(self.outbox, "new", "*"))) - before
        self.assertEqual(len(new), 1)
        with open(new.pop(), "rb") as f:
            return f.read()

    def tracked_link(self, sender, target, key=None, host=None):
        """(host, path) of the tracked link in the relayed copy; waits for the
        API's domains to reach the relay's snapshot (the store poll)."""
        deadline = time.monotonic() + 10
        while True:
            out = self.send(sender, message(sender, target), key)
            m = re.search(rb'href="http://([^"/]+)(/f/[A-Za-z0-9_-]+)"', out)
            if (m and m.group(1).decode() == host) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertTrue(m, out)
        return m.group(1).decode(), m.group(2).decode()

    def click(self, host, path, target):
        status, location, _ = harness.http_get(self.track_port, path, host)
        self.assertEqual((status, location), (302, target))

    def clicks(self, key=None, account=None):
        status, body = self.call("GET", "/events/message?events=click", None, key, account)
        self.assertEqual(status, 200, body)
        return {e["target_link_url"]: e for e in body["results"]}

    def wait_click(self, target, key):
        deadline = time.monotonic() + 10
        while target not in self.clicks(key) and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.clicks(key).get(target)

    # --- tests ---
    def test_1_subaccount_mail_uses_its_own_default_and_sees_its_click(self):
        alpha_id, alpha_key = self.subs["alpha"]
        beta_id, beta_key = self.subs["beta"]
        target = "https://shop.example/alpha"
        host, path = self.tracked_link("news@alpha.example.com", target, alpha_key,
                                       "click.alpha.example.com")
        self.assertEqual(host, "click.alpha.example.com", "alpha's default, not the primary's")
        self.click(host, path, target)
        event = self.wait_click(target, alpha_key)
        self.assertIsNotNone(event, "alpha's key sees its click")
        self.assertEqual(event["subaccount_id"], alpha_id)
        self.assertEqual(event["tracking_domain"], "click.alpha.example.com")
        self.assertNotIn(target, self.clicks(beta_key), "beta's key does not")
        self.assertNotIn(target, self.clicks(account=beta_id), "nor the primary acting as beta")
        self.assertIn(target, self.clicks(account=alpha_id))
        self.assertIn(target, self.clicks(), "the primary sees every account's")
        # A subaccount key naming another account: 403 in SparkPost's shape.
        status, body = self.call("GET", "/events/message", None, alpha_key, beta_id)
        self.assertEqual(status, 403, body)
        self.assertEqual(body["errors"][0]["code"], "1101")

    def test_2_default_set_by_the_primary_for_a_subaccount(self):
        beta_id, beta_key = self.subs["beta"]
        target = "https://shop.example/beta"
        host, path = self.tracked_link("news@beta.example.com", target, beta_key,
                                       "click.beta.example.com")
        self.assertEqual(host, "click.beta.example.com")
        self.click(host, path, target)
        event = self.wait_click(target, beta_key)
        self.assertIsNotNone(event)
        self.assertEqual(event["subaccount_id"], beta_id)
        self.assertNotIn(target, self.clicks(self.subs["alpha"][1]))

    def test_3_primary_mail_uses_the_primarys_default(self):
        target = "https://shop.example/primary"
        host, path = self.tracked_link("news@primary.example.com", target, None,
                                       "click.primary.example.com")
        self.assertEqual(host, "click.primary.example.com")
        self.click(host, path, target)
        self.assertIsNotNone(self.wait_click(target, None))
        self.assertNotIn(target, self.clicks(self.subs["alpha"][1]))
        self.assertNotIn(target, self.clicks(self.subs["beta"][1]))

    def test_5_primary_session_names_the_subaccount_with_the_header(self):
        alpha_id = self.subs["alpha"][0]
        sender = "news@alpha.example.com"
        msg = message(sender, "https://shop.example/header").replace(
            b"Subject: t\r\n", b"Subject: t\r\nX-MSYS-SUBACCOUNT: %d\r\n" % alpha_id)
        out = self.send(sender, msg)  # relay.clients (loopback): a primary session
        self.assertNotIn(b"X-MSYS-SUBACCOUNT", out)
        self.assertIn(b'href="http://click.alpha.example.com/f/', out)
        plain = message(sender, "https://shop.example/header")
        self.assertNotIn(b"/f/", self.send(sender, plain),
                         "without the header alpha's domain is not the primary's to track")

    def test_4_summary_and_a_key_without_smtp_inject(self):
        status, body = self.call("GET", "/subaccounts/summary")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["results"]["total"], 2)
        status, body = self.call("POST", "/api-keys", {"grants": ["message_events/view"]},
                                 account=self.subs["alpha"][0])
        self.assertEqual(status, 200, body)
        with smtplib.SMTP("127.0.0.1", self.serve.ports["relay"], timeout=30) as s:
            with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                s.login("SMTP_Injection", body["results"]["key"])
            self.assertEqual(cm.exception.smtp_code, 535)


if __name__ == "__main__":
    if TRACKRELAY is None:
        sys.exit(__doc__)
    unittest.main(argv=sys.argv[:1], verbosity=2)
