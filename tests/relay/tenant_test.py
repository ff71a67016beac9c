"""tests/relay/tenant_test.py - tenants in the relay, with real processes.

`trackrelay serve` with the relay (maildir capture), the API and its store,
dnsmasq answering the tracking domains' CNAMEs. A subaccount gets its own
verified tracking domain and sending domain through the API and a key with
`trackrelay keys create --subaccount N`; applications AUTH as
SMTP_Injection with that key (issue 10). Checked: the subaccount's mail goes
through its tracking domain (tokens decoded by `trackrelay decode`), mail
from another account's or an undeclared domain passes through
byte-identical, X-MSYS-SUBACCOUNT in primary and subaccount sessions, wrong
keys get 535, and concurrent AUTH attempts from one address cannot get more
guesses in than the per-address limit.
"""
import base64
import glob
import hashlib
import os
import smtplib
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import harness as api  # noqa: E402
sys.path.insert(0, HERE)
import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location("relay_harness", os.path.join(HERE, "harness.py"))
relay_harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(relay_harness)

TRACKRELAY = None
RECORDS = [
    "host-record=track.example.net,127.0.0.1",
    "cname=click.seven.example.com,track.example.net",
    "cname=click.eight.example.com,track.example.net",
]
LINK = b'<html><body><a href="https://shop.example/p?i=1">buy</a></body></html>\r\n'


def message(sender, extra=b""):
    return (b"From: " + sender.encode() + b"\r\nTo: r@example.net\r\nSubject: t\r\n" + extra +
            b"Content-Type: text/html\r\n\r\n" + LINK)


class Tenants(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = api.Env(TRACKRELAY)
        try:
            cls.records = list(RECORDS)
            cls.dns = cls.env.dnsmasq(cls.records)
            cls.outbox = os.path.join(cls.env.dir, "outbox")
            cls.config = os.path.join(cls.env.dir, "t.yaml")
            with open(cls.config, "w") as f:  # tracking.senders: the default (declared)
                f.write(
                "tracking:\n  system_domain: track.example.net\n"
                '  keys: [{id: k1, secret: "%s"}]\n' % api.SECRET +
                "  tracking_domains: [{domain: click.example.com, default: true}]\n"
                "  sending_domains: [{domain: example.com, tracking_domain: click.example.com}]\n"
                "relay: {listen: '127.0.0.1:0', upstream: 'maildir:%s', auth_over_plaintext: true}\n"
                "api: {listen: '127.0.0.1:0', store_poll_ms: 100}\n"
                "dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 1000, reverify_interval: 0}\n"
                "store: '%s'\n" % (cls.outbox, cls.dns.port, cls.env.store))
            r = cls.env.run("--config", cls.config, "keys", "create", "--label", "primary")
            assert r.returncode == 0, r.stderr
            cls.primary_key = r.stdout.decode().strip()
            cls.serve = cls.env.serve(cls.config)
            cls.api = api.Client(cls.serve.ports["api"], cls.primary_key)
            cls.sub = cls.subaccount("seven", "click.seven.example.com", "seven.example.com")
            cls.other = cls.subaccount("eight", "click.eight.example.com", "eight.example.com")
            status, body = cls.api.call("POST", "/subaccounts", {"name": "off", "status": "suspended"})
            assert status == 200, body
            cls.suspended = body["results"]["subaccount_id"]
            r = cls.env.run("--config", cls.config, "keys", "create", "--subaccount", str(cls.sub))
            assert r.returncode == 0, r.stderr
            cls.sub_key = r.stdout.decode().strip()
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def subaccount(cls, name, tracking, sending):
        status, body = cls.api.call("POST", "/subaccounts", {"name": name})
        assert status == 200, body
        sid = body["results"]["subaccount_id"]
        h = {"X-MSYS-SUBACCOUNT": str(sid)}
        status, body = cls.api.call("POST", "/tracking-domains", {"domain": tracking}, headers=h)
        assert status == 200, body
        status, body = cls.api.call("POST", "/tracking-domains/%s/verify" % tracking, headers=h)
        assert status == 200 and body["results"]["verified"], body
        status, body = cls.api.call("POST", "/sending-domains",
                                    {"domain": sending, "tracking_domain": tracking}, headers=h)
        assert status == 200, body
        # An API sending domain applies to mail only once its TXT record is
        # published and verified (tests/api/tenancy_test.py tests the proof).
        record = body["results"]["verification"]["txt_record"]
        cls.records.append('txt-record=%s,"%s"' % (record["hostname"], record["value"]))
        cls.dns.stop()
        cls.dns = cls.env.dnsmasq(cls.records, port=cls.dns.port)
        status, body = cls.api.call("POST", "/sending-domains/%s/verify" % sending, headers=h)
        assert status == 200 and body["results"]["ownership_verified"], body
        return sid

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    # --- helpers ---
    def send(self, sender, msg, key=None):
        """Sends `msg`; returns the bytes the maildir got (its own header lines removed)."""
        before = set(glob.glob(os.path.join(self.outbox, "new", "*")))
        with smtplib.SMTP("127.0.0.1", self.serve.ports["relay"], timeout=30) as s:
            if key:
                s.login("SMTP_Injection", key)
            s.sendmail(sender, ["r@example.net"], msg)
        new = set(glob.glob(os.path.join(self.outbox, "new", "*"))) - before
        self.assertEqual(len(new), 1)
        with open(new.pop(), "rb") as f:
            got = f.read()
        prefix = ("Return-Path: <%s>\r\nDelivered-To: r@example.net\r\n" % sender).encode()
        self.assertTrue(got.startswith(prefix), got[:200])
        return got[len(prefix):]

    def decode_links(self, out):
        import re
        urls = re.findall(rb'https?://[^"/]+/f/[A-Za-z0-9_-]+', out)
        self.assertTrue(urls, out)
        r = self.env.run("--config", self.config, "decode", urls[0].decode())
        self.assertEqual(r.returncode, 0, r.stderr)
        import json
        return json.loads(r.stdout.decode().splitlines()[0])

    def refused(self, msg, key=None):
        with smtplib.SMTP("127.0.0.1", self.serve.ports["relay"], timeout=30) as s:
            if key:
                s.login("SMTP_Injection", key)
            with self.assertRaises(smtplib.SMTPDataError) as cm:
                s.sendmail("news@seven.example.com", ["r@example.net"], msg)
        return cm.exception.smtp_code, cm.exception.smtp_error.decode()

    # --- tests ---
    def test_subaccount_key_tracks_under_its_own_domain(self):
        deadline = time.monotonic() + 10
        while True:  # the API's domains reach the relay's snapshot at once; allow a poll
            out = self.send("news@seven.example.com", message("news@seven.example.com"),
                            self.sub_key)
            if b"click.seven.example.com/f/" in out or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        claims = self.decode_links(out)
        self.assertEqual(claims["tracking_domain"], "click.seven.example.com")
        if "subaccount_id" in claims:  # the token field arrives with the tenant-store branch
            self.assertEqual(claims["subaccount_id"], self.sub)
        self.serve.wait_for(r"user=SMTP_Injection session_account=%d .*account=%d .*"
                            r"domain=click\.seven\.example\.com" % (self.sub, self.sub))

    def test_foreign_and_undeclared_domains_pass_through_byte_identical(self):
        for sender in ("news@example.com", "news@eight.example.com", "customer@gmail.com"):
            msg = message(sender)
            self.assertEqual(self.send(sender, msg, self.sub_key), msg, sender)
        self.serve.wait_for(r"sending domain gmail\.com is not a verified sending domain of "
                            r"subaccount %d" % self.sub)
        self.serve.wait_for(r"sending domain example\.com belongs to another account")

    def test_inbound_mail_in_a_primary_session_passes_through(self):
        msg = message("Customer <customer@gmail.com>")
        self.assertEqual(self.send("customer@gmail.com", msg), msg)
        # The primary account's own domain is tracked (relay.clients session).
        out = self.send("news@example.com", message("news@example.com"))
        self.assertEqual(self.decode_links(out)["tracking_domain"], "click.example.com")

    def test_subaccount_header_in_a_primary_session_selects_the_subaccount(self):
        msg = message("news@seven.example.com", b"X-MSYS-SUBACCOUNT: %d\r\n" % self.sub)
        for key in (None, self.primary_key):  # relay.clients, and a primary key
            out = self.send("news@seven.example.com", msg, key)
            self.assertNotIn(b"X-MSYS-SUBACCOUNT", out)
            self.assertEqual(self.decode_links(out)["tracking_domain"], "click.seven.example.com")
        # Without the header the primary session may not use the subaccount's domain.
        plain = message("news@seven.example.com")
        self.assertEqual(self.send("news@seven.example.com", plain), plain)

    def test_subaccount_header_refusals(self):
        code, text = self.refused(message("news@seven.example.com",
                                          b"X-MSYS-SUBACCOUNT: %d\r\n" % self.other), self.sub_key)
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith("5.7.1"), text)
        code, text = self.refused(message("news@seven.example.com", b"X-MSYS-SUBACCOUNT: 4242\r\n"))
        self.assertEqual((code, text[:5]), (550, "5.7.1"), text)
        self.assertIn("no subaccount 4242", text)
        code, text = self.refused(message("news@seven.example.com",
                                          b"X-MSYS-SUBACCOUNT: %d\r\n" % self.suspended))
        self.assertEqual((code, text[:5]), (550, "5.7.1"), text)
        self.assertIn("is suspended", text)
        code, text = self.refused(message("news@seven.example.com", b"X-MSYS-SUBACCOUNT: abc\r\n"))
        self.assertEqual((code, text[:5]), (550, "5.6.0"), text)
        # The same value in the subaccount's own session is fine, and removed.
        out = self.send("news@seven.example.com",
                        message("news@seven.example.com", b"X-MSYS-SUBACCOUNT: %d\r\n" % self.sub),
                        self.sub_key)
        self.assertNotIn(b"X-MSYS-SUBACCOUNT", out)
        # Passed-through mail loses the header too (and nothing else).
        out = self.send("customer@inbound.example",
                        message("customer@inbound.example",
                                b"X-MSYS-SUBACCOUNT: %d\r\n" % self.sub), self.sub_key)
        self.assertEqual(out, message("customer@inbound.example"))
        self.serve.wait_for(r"account=%d .*unchanged=.*sending domain inbound\.example is not a "
                            r"verified sending domain of subaccount %d" % (self.sub, self.sub))

    def test_wrong_key_gets_535(self):
        with smtplib.SMTP("127.0.0.1", self.serve.ports["relay"], timeout=30) as s:
            s.ehlo("client.example")
            self.assertIn("PLAIN", s.esmtp_features.get("auth", ""))
            with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                s.login("SMTP_Injection", "not-a-key-0123456789")
            self.assertEqual(cm.exception.smtp_code, 535)
        # (Keys of suspended subaccounts: the store refuses them, DomainStore::authenticate;
        # tested with the store.)

    def test_rewrite_command_takes_the_account(self):
        r = self.env.run("--config", self.config, "rewrite", "--subaccount", str(self.sub),
                         stdin=message("news@example.com"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, message("news@example.com"))
        self.assertIn(b"belongs to another account", r.stderr)
        r = self.env.run("--config", self.config, "rewrite", "--subaccount", str(self.sub),
                         stdin=message("news@seven.example.com"))
        self.assertIn(b"http://click.seven.example.com/f/", r.stdout)
        self.assertIn(b"subaccount=%d" % self.sub, r.stderr)
        # Without --subaccount, X-MSYS-SUBACCOUNT names the account (and is removed).
        r = self.env.run("--config", self.config, "rewrite", stdin=message(
            "news@seven.example.com", b"X-MSYS-SUBACCOUNT: %d\r\n" % self.sub))
        self.assertIn(b"http://click.seven.example.com/f/", r.stdout)
        self.assertNotIn(b"X-MSYS-SUBACCOUNT", r.stdout)
        r = self.env.run("--config", self.config, "rewrite", stdin=message(
            "news@seven.example.com", b"X-MSYS-SUBACCOUNT: x\r\n"))
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn(b"X-MSYS-SUBACCOUNT: expected a subaccount id", r.stderr)


class ConcurrentAuth(unittest.TestCase):
    """AUTH attempts being checked count towards the per-address limit (10)."""

    def test_concurrent_attempts_cannot_exceed_the_limit(self):
        tmp = relay_harness.TempDir()
        salt = b"0123456789abcdef"
        iterations = 200000  # slow enough that the attempts overlap
        digest = hashlib.pbkdf2_hmac("sha256", b"s3cret", salt, iterations)
        entry = "app:pbkdf2-sha256$%d$%s$%s" % (iterations, base64.b64encode(salt).decode(),
                                                base64.b64encode(digest).decode())
        relay = relay_harness.Relay(TRACKRELAY, tmp, "maildir:outbox",
                                    "auth_over_plaintext: true\nauth: ['%s']\n" % entry)
        try:
            n = 20
            barrier = threading.Barrier(n)
            codes = []
            lock = threading.Lock()
            wrong = base64.b64encode(b"\0app\0wrong").decode()

            def attempt():
                c = relay_harness.RawClient(relay.port, timeout=60)
                try:
                    c.reply()
                    c.cmd("EHLO client.example")
                    barrier.wait()
                    code, _ = c.cmd("AUTH PLAIN " + wrong)
                    with lock:
                        codes.append(code)
                finally:
                    c.close()

            threads = [threading.Thread(target=attempt) for _ in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            self.assertEqual(len(codes), n, codes)
            self.assertLessEqual(codes.count(535), 10, codes)
            self.assertEqual(codes.count(535) + codes.count(454), n, codes)
            # The address is blocked now, even for the right password.
            c = relay_harness.RawClient(relay.port)
            c.reply()
            c.cmd("EHLO client.example")
            right = base64.b64encode(b"\0app\0s3cret").decode()
            self.assertEqual(c.cmd("AUTH PLAIN " + right)[0], 454)
            c.close()
        finally:
            relay.stop()
            tmp.cleanup()


if __name__ == "__main__":
    TRACKRELAY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
