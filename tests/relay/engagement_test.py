"""tests/relay/engagement_test.py - engagement events end to end (issue 11).

One `trackrelay serve` (relay, tracker, API, one store) in front of the
scripted upstream (tests/relay/fake_upstream.py): messages injected over SMTP
with `X-MSYS-API` (campaign_id, metadata, tags) are relayed; the test clicks
and opens what the upstream received on the tracker (Host: the tracking
domain) and reads the events API. Checked: an `injection` event per accepted
recipient (never for a message or a recipient the upstream refused; two
recipients in one transaction get two), clicks and opens with
the message's transmission_id, rcpt_meta, rcpt_tags, friendly_from and
raw_rcpt_to, each SparkPost filter selecting exactly the matching events,
an unknown parameter answered 400, and /metrics/deliverability agreeing
with counting the events by hand.
"""
import collections
import importlib.util
import json
import os
import re
import smtplib
import sys
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import harness as api  # noqa: E402

_spec = importlib.util.spec_from_file_location("relay_harness", os.path.join(HERE, "harness.py"))
relay = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(relay)

TRACKRELAY = None
LINK_RE = re.compile(r"https?://click\.example\.com(/[fq]/[A-Za-z0-9_-]+)")


class _Serve(unittest.TestCase):
    """One serve in front of the scripted upstream; RELAY: extra relay keys."""
    RELAY = ""

    @classmethod
    def setUpClass(cls):
        cls.env = api.Env(TRACKRELAY)
        cls.tmp = relay.TempDir()
        try:
            cls.upstream = relay.FakeUpstream(cls.tmp)
            config = cls.env.config("e.yaml", (
                "  tracking_domains: [{domain: click.example.com, default: true}]\n"
                "  sending_domains: [{domain: example.com, tracking_domain: click.example.com}]\n"
                "  open_tracking: true\n"
                "relay: {listen: '127.0.0.1:0', upstream: '127.0.0.1:%d'%s}\n"
                "track: {listen: '127.0.0.1:0'}\n"
                "api: {listen: '127.0.0.1:0'}\n" % (cls.upstream.port, cls.RELAY)))
            r = cls.env.run("--config", config, "keys", "create", "--label", "primary")
            assert r.returncode == 0, r.stderr
            cls.serve = cls.env.serve(config)
            cls.api = api.Client(cls.serve.ports["api"], r.stdout.decode().strip())
        except BaseException:
            cls.close()
            raise

    @classmethod
    def close(cls):
        cls.env.close()
        if hasattr(cls, "upstream"):
            cls.upstream.stop()
        cls.tmp.cleanup()

    @classmethod
    def tearDownClass(cls):
        cls.close()

    def send(self, rcpts, xmsys, msgid):
        """Relays one message; returns the links of what the upstream got."""
        before = len(self.upstream.messages())
        msg = relay.html_message(msgid=msgid, xmsys=json.dumps(xmsys))
        with smtplib.SMTP("127.0.0.1", self.serve.ports["relay"], timeout=30) as s:
            s.sendmail("bounces@example.com", rcpts, msg.encode())
        got = self.upstream.messages()[before:]
        self.assertEqual(len(got), 1)
        return LINK_RE.findall(got[0].decode("utf-8", "replace"))

    def hit(self, path):
        status, location, _ = api.http_get(self.serve.ports["track"], path, "click.example.com")
        self.assertIn(status, (200, 302), path)
        return location

    def events(self, query=""):
        """Every event the query selects, following links.next; and total_count."""
        status, body = self.api.call("GET", "/events/message?per_page=3&" + query)
        self.assertEqual(status, 200, body)
        total, out = body["total_count"], []
        while True:
            out += body["results"]
            nxt = body["links"].get("next")
            if not nxt:
                return out, total
            status, body = self.api.call("GET", nxt[len("/api/v1"):])
            self.assertEqual(status, 200, body)


class Engagement(_Serve):
    def test_injections_name_every_accepted_recipient(self):
        """Two recipients in one transaction, a third refused at RCPT: two
        injections; a click (its link names no recipient) still gets the
        message's metadata and tags."""
        before = len(self.upstream.messages())
        msg = relay.html_message(msgid="<e2e-multi@example.com>", xmsys=json.dumps(
            {"campaign_id": "multi", "metadata": {"k": "v"}, "tags": ["t"]}))
        with smtplib.SMTP("127.0.0.1", self.serve.ports["relay"], timeout=30) as s:
            refused = s.sendmail("bounces@example.com",
                                 ["one@example.net", "Two@Example.net", "rcpt550@example.net"],
                                 msg.encode())
        self.assertEqual(list(refused), ["rcpt550@example.net"])
        links = LINK_RE.findall(self.upstream.messages()[before].decode("utf-8", "replace"))
        self.hit([l for l in links if l.startswith("/f/")][0])
        got, _ = self.events("campaigns=multi")
        injections = sorted((e["rcpt_to"], e["raw_rcpt_to"]) for e in got if e["type"] == "injection")
        self.assertEqual(injections, [("one@example.net", "one@example.net"),
                                      ("two@example.net", "Two@Example.net")])
        click = [e for e in got if e["type"] == "click"]
        self.assertEqual(len(click), 1, got)
        self.assertEqual(click[0]["rcpt_to"], "")
        self.assertEqual(click[0]["rcpt_meta"], {"k": "v"})
        self.assertEqual(click[0]["rcpt_tags"], ["t"])
        self.assertEqual(len({e["transmission_id"] for e in got}), 1)

    def test_events_filters_and_deliverability(self):
        meta = {"user_id": "u-42", "plan": "gold"}
        links = self.send(["Alice@Example.net"],
                          {"campaign_id": "spring", "metadata": meta, "tags": ["welcome", "vip"]},
                          "<e2e-1@example.com>")
        clicks = [l for l in links if l.startswith("/f/")]
        opens = [l for l in links if l.startswith("/q/")]
        self.assertTrue(clicks and opens, links)
        self.assertEqual(self.hit(clicks[0]), "https://www.example.org/offer?a=1&b=2")
        self.hit(clicks[0])
        for o in opens:  # the initial_open pixel at the top and the open pixel at the end
            self.hit(o)
        other = self.send(["bob@example.net"], {"campaign_id": "autumn"}, "<e2e-2@example.com>")
        self.hit([l for l in other if l.startswith("/f/")][0])
        # The upstream refuses this one at the end of DATA: no injection for it.
        with smtplib.SMTP("127.0.0.1", self.serve.ports["relay"], timeout=30) as s:
            with self.assertRaises(smtplib.SMTPDataError):
                s.sendmail("bounces@example.com", ["data554@example.net"],
                           relay.html_message(msgid="<e2e-3@example.com>").encode())

        unfiltered, total = self.events()
        self.assertEqual(total, len(unfiltered))
        self.assertNotIn("data554@example.net", [e["rcpt_to"] for e in unfiltered])
        # This test's events (the other test's messages have other campaigns).
        everything = [e for e in unfiltered if e["campaign_id"] in ("spring", "autumn")]
        kinds = collections.Counter(e["type"] for e in everything)
        self.assertEqual(kinds["injection"], 2, everything)

        alice, _ = self.events("recipients=alice@example.net")
        types = collections.Counter(e["type"] for e in alice)
        self.assertEqual((types["injection"], types["click"]), (1, 2), alice)
        self.assertEqual(types["open"] + types["initial_open"], len(opens), alice)
        tx = {e["transmission_id"] for e in alice}
        self.assertEqual(len(tx), 1)
        self.assertRegex(tx.pop(), r"^[1-9][0-9]{17}$")
        for e in alice:
            self.assertEqual(e["rcpt_to"], "alice@example.net")
            self.assertEqual(e["raw_rcpt_to"], "Alice@Example.net")
            self.assertEqual(e["rcpt_meta"], meta)
            self.assertEqual(e["rcpt_tags"], ["welcome", "vip"])
            self.assertEqual(e["campaign_id"], "spring")
            self.assertEqual(e["friendly_from"], "news@example.com")
            self.assertEqual(e["sending_domain"], "example.com")
            self.assertEqual(e["tracking_domain"], "click.example.com")
            self.assertEqual(e["message_id"], "e2e-1@example.com")
            self.assertEqual(e["subaccount_id"], 0)
        injection = [e for e in alice if e["type"] == "injection"][0]
        self.assertEqual(injection["msg_from"], "bounces@example.com")
        self.assertGreater(int(injection["msg_size"]), 0)

        # Each filter selects exactly the events that have its value (ANDed
        # with campaign_ids, the earlier name of campaigns, to this test's).
        t_alice = alice[0]["transmission_id"]
        for query, field, value in [
                ("events=click", "type", "click"),
                ("events=injection", "type", "injection"),
                ("campaigns=autumn", "campaign_id", "autumn"),
                ("recipients=BOB@example.net", "rcpt_to", "bob@example.net"),
                ("message_ids=e2e-2@example.com", "message_id", "e2e-2@example.com"),
                ("transmission_ids=" + t_alice, "transmission_id", t_alice),
                ("subaccounts=0", "subaccount_id", 0),
                ("sending_domains=example.com", "sending_domain", "example.com"),
                ("tracking_domains=click.example.com", "tracking_domain", "click.example.com")]:
            got, total = self.events(query + "&campaign_ids=spring,autumn")
            want = [e for e in everything if e[field] == value]
            self.assertEqual(sorted(e["event_id"] for e in got),
                             sorted(e["event_id"] for e in want), query)
            self.assertEqual(total, len(want), query)
        status, body = self.api.call("GET", "/events/message?campaign=spring")
        self.assertEqual(status, 400, body)
        self.assertIn("unsupported parameter 'campaign'", body["errors"][0]["description"])

        # Deliverability agrees with counting the events by hand.
        def by_hand(events, machines=False):
            # Clicks and opens count people unless machines are asked for
            # (classification, issue 13); injections are never classified.
            events = [e for e in events if machines or e["type"] == "injection"
                      or e.get("classification", {}).get("kind", "human") == "human"]
            unique = lambda types: len({(e["message_id"], e["rcpt_to"]) for e in events
                                        if e["type"] in types})
            count = lambda types: sum(1 for e in events if e["type"] in types)
            return {"count_injected": count({"injection"}), "count_clicked": count({"click"}),
                    "count_unique_clicked": unique({"click"}),
                    "count_rendered": count({"open", "initial_open"}),
                    "count_unique_rendered": unique({"open", "initial_open"}),
                    "count_initial_rendered": count({"initial_open"})}
        since = urllib.parse.quote(min(e["timestamp"] for e in everything))
        mine = "&campaigns=spring,autumn"
        status, body = self.api.call("GET", "/metrics/deliverability?from=" + since + mine)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["results"], [by_hand(everything)])
        status, body = self.api.call("GET", "/metrics/deliverability?from=" + since + mine +
                                     "&include_machines=true")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["results"], [by_hand(everything, machines=True)])
        status, body = self.api.call("GET", "/metrics/deliverability?from=" + since + mine +
                                     "&classifications=scanner")
        self.assertEqual(status, 200, body)
        scanners = [e for e in everything if e["type"] == "injection"
                    or e.get("classification", {}).get("kind") == "scanner"]
        self.assertEqual(body["results"], [by_hand(scanners, machines=True)])
        status, body = self.api.call("GET", "/metrics/deliverability/campaign?from=" + since + mine)
        self.assertEqual(status, 200, body)
        for row in body["results"]:
            campaign = row.pop("campaign_id")
            self.assertEqual(row, by_hand([e for e in everything if e["campaign_id"] == campaign]))
        status, body = self.api.call("GET", "/metrics/deliverability")
        self.assertEqual(status, 400, body)


class PerRecipient(_Serve):
    """relay.per_recipient: each recipient's copy has links naming it."""
    RELAY = ", per_recipient: true"

    def test_each_recipient_clicks_its_own_link(self):
        before = len(self.upstream.messages())
        msg = relay.html_message(msgid="<e2e-each@example.com>", xmsys=json.dumps(
            {"campaign_id": "each", "metadata": {"plan": "gold"}, "tags": ["vip"]}))
        with smtplib.SMTP("127.0.0.1", self.serve.ports["relay"], timeout=30) as s:
            s.sendmail("bounces@example.com", ["ann@example.net", "Ben@Example.net"],
                       msg.encode())
        copies = self.upstream.messages()[before:]
        self.assertEqual(len(copies), 2)
        for copy in copies:  # each recipient clicks the link of their own copy
            links = LINK_RE.findall(copy.decode("utf-8", "replace"))
            self.hit([l for l in links if l.startswith("/f/")][0])
        got, total = self.events("campaigns=each")
        self.assertEqual(total, len(got))
        by_type = collections.defaultdict(list)
        for e in got:
            by_type[e["type"]].append(e)
            self.assertEqual(e["rcpt_meta"], {"plan": "gold"}, e)
            self.assertEqual(e["rcpt_tags"], ["vip"], e)
            self.assertEqual(e["raw_rcpt_to"].lower(), e["rcpt_to"], e)
        self.assertEqual(sorted(e["rcpt_to"] for e in by_type["click"]),
                         ["ann@example.net", "ben@example.net"])
        self.assertEqual(sorted(e["rcpt_to"] for e in by_type["injection"]),
                         ["ann@example.net", "ben@example.net"])
        self.assertEqual(len({e["transmission_id"] for e in got}), 1, got)
        only, _ = self.events("campaigns=each&recipients=ben@example.net")
        self.assertEqual(sorted(e["type"] for e in only), ["click", "injection"])


if __name__ == "__main__":
    TRACKRELAY = sys.argv.pop(1)
    unittest.main()
