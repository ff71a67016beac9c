#!/usr/bin/env python3
"""tests/api/tenancy_test.py - tenants bound to what they own (issue 10,
store/API half), as real processes: `trackrelay serve` (API + tracker),
`trackrelay rewrite` reading the store's domains (the effective
configuration), dnsmasq as the resolver, tokens minted by track_mint.

Proves: a subaccount cannot create a sending or tracking domain another
account (or the configuration file) holds (409); a sending domain created
through the API does not apply to mail until its TXT record is published and
verify is called (then it does); a subaccount cannot verify another's
domain; suspending a subaccount makes its key fail (403) and removes its
domains from the effective configuration, reactivating restores both;
terminated is final; events are visible by the account that owns them
(token subaccount_id), never by their tracking domain.

usage: tenancy_test.py TRACKRELAY TRACK_MINT
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TRACKRELAY = sys.argv[1] if len(sys.argv) > 1 else None
TRACK_MINT = sys.argv[2] if len(sys.argv) > 2 else None
RECORDS = [
    "host-record=track.example.net,127.0.0.1",
    "cname=click.alpha.example.com,track.example.net",
    "cname=click.beta.example.com,track.example.net",
]
MAIL = (b"From: news@%s\r\nTo: b@example.net\r\nContent-Type: text/html\r\n\r\n"
        b"<a href=\"https://shop.example/x\">x</a>\r\n")


class Tenancy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = harness.Env(TRACKRELAY)
        try:
            cls.dns = cls.env.dnsmasq(RECORDS)
            cls.track_port = harness.tcp_port()
            cls.config = cls.env.config("t.yaml", (
                "  tracking_domains: [{domain: click.operator.example.com}]\n"
                "  sending_domains: [{domain: operator.example.com,"
                " tracking_domain: click.operator.example.com}]\n"
                "track: {listen: '127.0.0.1:%d'}\n"
                "api: {listen: '127.0.0.1:0', store_poll_ms: 100}\n"
                "dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 1000}\n") %
                (cls.track_port, cls.dns.port), senders="declared")
            r = cls.env.run("--config", cls.config, "keys", "create", "--label", "primary")
            assert r.returncode == 0, r.stderr
            cls.primary_key = r.stdout.decode().strip()
            cls.serve = cls.env.serve(cls.config)
            cls.api = harness.Client(cls.serve.ports["api"], cls.primary_key)
            cls.subs = {}
            for name in ("alpha", "beta"):
                status, body = cls.api.call("POST", "/subaccounts",
                                            {"name": name, "setup_api_key": True})
                assert status == 200, body
                cls.subs[name] = (body["results"]["subaccount_id"], body["results"]["key"])
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def as_(self, name, method, path, body=None):
        return self.api.call(method, path, body, key=self.subs[name][1])

    def link_host(self, sending_domain, account=0):
        """The host `rewrite` (the effective configuration) tracks mail of
        `account` from `sending_domain` under; None when it is not tracked
        (tracking.senders: declared — not a verified domain of that account)."""
        r = self.env.run("--config", self.config, "rewrite", "--subaccount", str(account),
                         stdin=MAIL % sending_domain.encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        if "/f/" not in out:
            self.assertEqual(r.stdout, MAIL % sending_domain.encode(), "untracked is untouched")
            return None
        start = out.index("http://") + len("http://")
        return out[start:out.index("/", start)]

    def alpha(self, sending_domain="alpha.example.com"):
        return self.link_host(sending_domain, self.subs["alpha"][0])

    def publish_txt(self, record):
        self.dns.stop()
        self.__class__.dns = self.env.dnsmasq(
            RECORDS + ['txt-record=%s,"%s"' % (record["hostname"], record["value"])],
            port=self.dns.port)

    def test_1_domains_are_owned_and_proven(self):
        status, body = self.as_("alpha", "POST", "/tracking-domains",
                                {"domain": "click.alpha.example.com"})
        self.assertEqual(status, 200, body)
        status, body = self.as_("alpha", "POST", "/tracking-domains/click.alpha.example.com/verify")
        self.assertTrue(body["results"]["verified"], body)
        status, body = self.as_("alpha", "POST", "/sending-domains",
                                {"domain": "alpha.example.com",
                                 "tracking_domain": "click.alpha.example.com"})
        self.assertEqual(status, 200, body)
        record = body["results"]["verification"]["txt_record"]
        self.assertEqual(record["type"], "TXT")
        self.assertEqual(record["hostname"], "_trackrelay.alpha.example.com")
        self.assertTrue(record["value"].startswith("trackrelay-verification="))

        # Another account cannot take it, nor the tracking domain, nor the operator's.
        for path, domain in (("/sending-domains", "alpha.example.com"),
                             ("/tracking-domains", "click.alpha.example.com")):
            status, body = self.as_("beta", "POST", path, {"domain": domain})
            self.assertEqual(status, 409, body)
            self.assertIn("held by another account", body["errors"][0]["description"])
        status, body = self.as_("beta", "POST", "/sending-domains",
                                {"domain": "operator.example.com"})
        self.assertEqual(status, 409, body)
        self.assertIn("configuration file", body["errors"][0]["message"])
        status, body = self.as_("beta", "POST", "/tracking-domains",
                                {"domain": "click.operator.example.com"})
        self.assertEqual(status, 409, body)

        # Unverified: alpha's mail is treated as undeclared (not tracked).
        _, body = self.as_("alpha", "GET", "/sending-domains/alpha.example.com")
        self.assertFalse(body["results"]["status"]["ownership_verified"])
        self.assertEqual(body["results"]["verification"]["txt_record"], record)
        self.assertIsNone(self.alpha())
        self.assertEqual(self.link_host("operator.example.com"), "click.operator.example.com",
                         "file domains are the operator's: verified")
        status, body = self.as_("alpha", "POST", "/sending-domains/alpha.example.com/verify")
        self.assertEqual(status, 200, body)
        self.assertFalse(body["results"]["ownership_verified"], "no TXT record yet")
        self.assertEqual(body["results"]["txt_status"], "invalid")
        self.assertIsNone(self.alpha())

        # A wrong record is not enough; the right one is.
        self.publish_txt({"hostname": record["hostname"],
                          "value": "trackrelay-verification=not-the-token"})
        _, body = self.as_("alpha", "POST", "/sending-domains/alpha.example.com/verify")
        self.assertFalse(body["results"]["ownership_verified"], body)
        self.assertIn("not-the-token", body["results"]["found"])
        self.publish_txt(record)
        status, body = self.as_("beta", "POST", "/sending-domains/alpha.example.com/verify")
        self.assertEqual(status, 404, "another account cannot even see it")
        status, body = self.as_("alpha", "POST", "/sending-domains/alpha.example.com/verify")
        self.assertEqual(status, 200, body)
        self.assertTrue(body["results"]["ownership_verified"], body)
        self.assertEqual(body["results"]["txt_status"], "valid")
        self.assertEqual(self.alpha(), "click.alpha.example.com")
        self.assertIsNone(self.link_host("alpha.example.com"),
                          "another account's domain is not tracked under the primary")
        self.assertIsNone(self.link_host("alpha.example.com", self.subs["beta"][0]))

    def test_2_suspension_stops_keys_and_domains(self):
        alpha_id, alpha_key = self.subs["alpha"]
        self.assertEqual(self.as_("alpha", "GET", "/sending-domains")[0], 200)
        status, body = self.as_("beta", "PUT", "/subaccounts/%d" % alpha_id,
                                {"status": "suspended"})
        self.assertEqual(status, 403, "only the primary account manages subaccounts")
        status, body = self.api.call("PUT", "/subaccounts/%d" % alpha_id, {"status": "paused"})
        self.assertEqual(status, 422, body)
        status, body = self.api.call("PUT", "/subaccounts/%d" % alpha_id, {"status": "suspended"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["results"]["status"], "suspended")
        status, body = self.as_("alpha", "GET", "/sending-domains")
        self.assertEqual(status, 403, body)
        self.assertIn("suspended", body["errors"][0]["description"])
        self.assertIsNone(self.alpha(), "a suspended account's domains stop applying to mail")
        status, body = self.api.call("PUT", "/subaccounts/%d" % alpha_id, {"status": "active"})
        self.assertEqual(status, 200, body)
        self.assertEqual(self.as_("alpha", "GET", "/sending-domains")[0], 200)
        self.assertEqual(self.alpha(), "click.alpha.example.com")

    def test_3_events_belong_to_their_account(self):
        beta_id = self.subs["beta"][0]
        alpha_id = self.subs["alpha"][0]
        now = str(int(time.time()))
        # Same tracking domain for all three: visibility cannot come from it.
        for sub, target in ((0, "https://shop.example/primary"),
                            (beta_id, "https://shop.example/beta"),
                            (alpha_id, "https://shop.example/alpha")):
            tok = subprocess.run([TRACK_MINT, harness.SECRET, "click", "track.example.net",
                                  target, now, str(sub)],
                                 capture_output=True, check=True).stdout.decode().strip()
            status, location, _ = harness.http_get(self.track_port, "/f/" + tok,
                                                   "track.example.net")
            self.assertEqual((status, location), (302, target))

        def targets(name=None, path="/events/message?events=click"):
            status, body = (self.as_(name, "GET", path) if name
                            else self.api.call("GET", path))
            self.assertEqual(status, 200, body)
            return sorted(e["target_link_url"] for e in body["results"]), body

        got, body = targets()
        self.assertEqual(got, ["https://shop.example/alpha", "https://shop.example/beta",
                               "https://shop.example/primary"])
        got, body = targets("beta")
        self.assertEqual(got, ["https://shop.example/beta"])
        self.assertEqual(body["results"][0]["subaccount_id"], beta_id)
        self.assertEqual(targets("alpha")[0], ["https://shop.example/alpha"])
        status, body = self.api.call("GET", "/events/summary", headers={"X-MSYS-SUBACCOUNT":
                                                                       str(beta_id)})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["results"]["totals"]["click"], 1, body)
        status, body = self.as_("beta", "GET", "/events/summary")
        self.assertEqual(body["results"]["totals"]["click"], 1, body)

    def test_4_terminated_is_final(self):
        beta_id = self.subs["beta"][0]
        status, body = self.api.call("PUT", "/subaccounts/%d" % beta_id, {"status": "terminated"})
        self.assertEqual(status, 200, body)
        self.assertEqual(self.as_("beta", "GET", "/events/message")[0], 403)
        status, body = self.api.call("PUT", "/subaccounts/%d" % beta_id, {"status": "active"})
        self.assertEqual(status, 409, body)
        self.assertEqual(self.as_("beta", "GET", "/events/message")[0], 403)


if __name__ == "__main__":
    if TRACKRELAY is None or TRACK_MINT is None:
        sys.exit(__doc__)
    unittest.main(argv=sys.argv[:1], verbosity=2)
