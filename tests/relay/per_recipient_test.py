#!/usr/bin/env python3
"""tests/relay/per_recipient_test.py - one link per recipient, end to end:
`trackrelay serve` with relay.protocol: lmtp and with relay.per_recipient:
true over SMTP, against the scripted upstream (fake_upstream.py), whose
behaviour per recipient is chosen by the local part (rcpt451, rcpt550 at
RCPT; data452, data554, dropdata at the end of DATA).

Every copy must arrive upstream in its own transaction with exactly one
recipient, and its tracked links must name that recipient (decoded with
`trackrelay decode`); the client must get the documented replies.

usage: per_recipient_test.py TRACKRELAY_BINARY [unittest args]
"""
import json
import os
import sys
import unittest

import harness
from harness import FakeUpstream, RawClient, Relay, TempDir, html_message

BINARY = None


def lmtp_message(msgid):
    return html_message(msgid=msgid, xmsys='{"campaign_id": "per-rcpt"}')


class Base(unittest.TestCase):
    RELAY_EXTRA = ""

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.up = FakeUpstream(cls.tmp)
        cls.relay = Relay(BINARY, cls.tmp, "127.0.0.1:%d" % cls.up.port,
                          "max_message_size: 4096\nmax_errors: 50\n" + cls.RELAY_EXTRA)

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.up.stop()
        cls.tmp.cleanup()

    def received(self, msgid):
        """{recipient: message bytes} for every copy of `msgid` the upstream got."""
        out = {}
        for e in self.up.events():
            if "message" not in e:
                continue
            with open(e["message"], "rb") as f:
                data = f.read()
            if ("Message-ID: %s\r\n" % msgid).encode() not in data:
                continue
            self.assertEqual(len(e["rcpts"]), 1, "a copy went to several recipients: %r" % e)
            local = e["rcpts"][0]
            self.assertNotIn(local, out, "two copies for " + local)
            out[local] = data
        return out

    def assert_names(self, data, rcpt, msgid):
        urls = [m.group(0).decode() for m in harness.TRACKED_RE.finditer(data)]
        self.assertEqual(len([u for u in urls if "/f/" in u]), 1, data)
        for url in urls:  # the click and the pixels
            token = self.relay.decode(url)
            self.assertEqual(token["rcpt_to"], rcpt, url)
            self.assertEqual(token["message_id"], msgid.strip("<>"))
            self.assertEqual(token["campaign_id"], "per-rcpt")
        return urls

    def open(self, hello):
        c = RawClient(self.relay.port)
        code, text = c.reply()
        self.assertEqual(code, 220, text)
        code, text = c.cmd(hello + " client.example")
        self.assertEqual(code, 250, text)
        return c

    def transaction(self, c, rcpts, rcpt_codes):
        self.assertEqual(c.cmd("MAIL FROM:<news@example.com>")[0], 250)
        for rcpt, want in zip(rcpts, rcpt_codes):
            code, text = c.cmd("RCPT TO:<%s>" % rcpt)
            self.assertEqual(code, want, (rcpt, text))


class Lmtp(Base):
    RELAY_EXTRA = "protocol: lmtp\n"

    def test_lhlo_only(self):
        c = RawClient(self.relay.port)
        code, text = c.reply()
        self.assertEqual(code, 220)
        self.assertIn(" LMTP ", " " + text + " ")
        for verb in ("EHLO", "HELO"):
            code, text = c.cmd(verb + " client.example")
            self.assertEqual(code, 500, text)
            self.assertTrue(text.startswith("5.5.1"), text)
            self.assertIn("LHLO", text)
        self.assertEqual(c.cmd("MAIL FROM:<news@example.com>")[0], 503)  # no LHLO yet
        code, text = c.cmd("LHLO client.example")
        self.assertEqual(code, 250, text)
        # RFC 2033 §5: PIPELINING and ENHANCEDSTATUSCODES are required.
        self.assertIn("PIPELINING", text.split("\n"))
        self.assertIn("ENHANCEDSTATUSCODES", text.split("\n"))
        # DATA without a successful RCPT is a 503 (RFC 2033 §4.2).
        self.assertEqual(c.cmd("MAIL FROM:<news@example.com>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<rcpt550@example.net>")[0], 550)
        self.assertEqual(c.cmd("DATA")[0], 503)
        c.cmd("QUIT")
        c.close()

    def test_one_reply_per_recipient_in_rcpt_order(self):
        msgid = "<lmtp-mixed@example.com>"
        rcpts = ["alice@example.net", "rcpt451@example.net", "data452@example.net",
                 "rcpt550@example.net", "data554@example.net", "bob@example.org"]
        c = self.open("LHLO")
        self.transaction(c, rcpts, [250, 451, 250, 550, 250, 250])
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(lmtp_message(msgid) + ".\r\n")
        got = [c.reply() for _ in range(4)]  # alice, data452, data554, bob
        self.assertEqual([g[0] for g in got], [250, 452, 554, 250], got)
        self.assertRegex(got[0][1], r"^2\.0\.0 Ok: queued as FAKE")
        self.assertEqual(got[1][1], "4.3.1 scripted tempfail")
        self.assertEqual(got[2][1], "5.7.1 scripted rejection")
        self.assertEqual(c.cmd("NOOP")[0], 250)  # nothing more was said
        c.cmd("QUIT")
        c.close()
        copies = self.received(msgid)
        self.assertEqual(sorted(copies), ["alice", "bob", "data452", "data554"])
        links = set()
        for local, rcpt in (("alice", "alice@example.net"), ("bob", "bob@example.org"),
                            ("data452", "data452@example.net")):
            links.update(self.assert_names(copies[local], rcpt, msgid))
        self.assertEqual(len(links), 9)  # every copy has its own tokens
        self.relay.proc.wait_for(r"to=<bob@example\.org> status=sent .* copy=4/4 ")

    def test_upstream_lost_mid_message_fails_that_copy_only(self):
        msgid = "<lmtp-drop@example.com>"
        c = self.open("LHLO")
        self.transaction(c, ["alice@example.net", "dropdata@example.net", "bob@example.org"],
                         [250, 250, 250])
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(lmtp_message(msgid) + ".\r\n")
        got = [c.reply() for _ in range(3)]
        self.assertEqual([g[0] for g in got], [250, 451, 250], got)
        self.assertTrue(got[1][1].startswith("4.4."), got[1])
        c.cmd("QUIT")
        c.close()
        copies = self.received(msgid)
        self.assert_names(copies["bob"], "bob@example.org", msgid)

    def test_bdat_last_gets_a_reply_per_recipient(self):
        msgid = "<lmtp-bdat@example.com>"
        c = self.open("LHLO")
        self.transaction(c, ["alice@example.net", "data554@example.net"], [250, 250])
        msg = lmtp_message(msgid).encode()
        half = len(msg) // 2
        c.send(b"BDAT %d\r\n" % half + msg[:half])
        self.assertEqual(c.reply()[0], 250)  # a chunk: one reply
        c.send(b"BDAT %d LAST\r\n" % (len(msg) - half) + msg[half:])
        self.assertEqual([c.reply()[0] for _ in range(2)], [250, 554])
        c.cmd("QUIT")
        c.close()
        self.assert_names(self.received(msgid)["alice"], "alice@example.net", msgid)

    def test_refusals_of_the_whole_message_come_once_per_recipient(self):
        c = self.open("LHLO")
        # Too large (relay.max_message_size: 4096): 552 for each recipient.
        self.transaction(c, ["alice@example.net", "bob@example.org"], [250, 250])
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: big\r\n\r\n" + ("x" * 70 + "\r\n") * 100 + ".\r\n")
        self.assertEqual([c.reply()[0] for _ in range(2)], [552, 552])
        # A malformed X-MSYS-API: 550 5.6.0 for each recipient, nothing sent.
        before = len(self.up.messages())
        self.transaction(c, ["alice@example.net", "bob@example.org"], [250, 250])
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(html_message(msgid="<lmtp-bad@example.com>", xmsys='{"x":') + ".\r\n")
        got = [c.reply() for _ in range(2)]
        self.assertEqual([g[0] for g in got], [550, 550], got)
        self.assertTrue(got[0][1].startswith("5.6.0"), got)
        self.assertEqual(c.cmd("NOOP")[0], 250)
        c.cmd("QUIT")
        c.close()
        self.assertEqual(len(self.up.messages()), before)


class SmtpPerRecipient(Base):
    RELAY_EXTRA = "per_recipient: true\n"

    def send(self, msgid, rcpts, rcpt_codes):
        c = self.open("EHLO")
        self.transaction(c, rcpts, rcpt_codes)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(lmtp_message(msgid) + ".\r\n")
        reply = c.reply()
        self.assertEqual(c.cmd("NOOP")[0], 250)  # exactly one reply after the data
        c.cmd("QUIT")
        c.close()
        return reply

    def test_lhlo_is_not_smtp(self):
        c = RawClient(self.relay.port)
        self.assertIn(" ESMTP ", c.reply()[1])
        self.assertEqual(c.cmd("LHLO client.example")[0], 500)
        c.close()

    def test_every_copy_accepted_is_250(self):
        msgid = "<copies-ok@example.com>"
        code, text = self.send(msgid, ["alice@example.net", "bob@example.org",
                                       "carol@example.net"], [250, 250, 250])
        self.assertEqual((code, text), (250, "2.0.0 Ok: 3 of 3 copies accepted"))
        copies = self.received(msgid)
        self.assertEqual(sorted(copies), ["alice", "bob", "carol"])
        for local, rcpt in (("alice", "alice@example.net"), ("bob", "bob@example.org"),
                            ("carol", "carol@example.net")):
            self.assert_names(copies[local], rcpt, msgid)
        # The probe (MAIL + RCPTs, reset) then one MAIL, RCPT, DATA per copy,
        # on one connection; XFORWARD before every MAIL.
        cmds = [e["cmd"] for e in self.up.events() if "cmd" in e]
        self.assertGreaterEqual(cmds.count("RSET"), 1)
        sessions = {e["s"] for e in self.up.events()
                    if "message" in e and e["message"] in
                    [x["message"] for x in self.up.events() if "message" in x
                     and x["rcpts"][0] in ("alice", "bob", "carol")]}
        self.assertEqual(len(sessions), 1)

    def test_a_single_recipient_gets_the_upstreams_reply(self):
        code, text = self.send("<copies-one@example.com>", ["alice@example.net"], [250])
        self.assertEqual(code, 250)
        self.assertRegex(text, r"^2\.0\.0 Ok: queued as FAKE")

    def test_refused_at_rcpt_are_refused_at_rcpt(self):
        # The probe: the upstream's word on each recipient comes at RCPT time.
        msgid = "<copies-probe@example.com>"
        code, _ = self.send(msgid, ["alice@example.net", "rcpt451@example.net",
                                    "rcpt550@example.net", "bob@example.org"],
                            [250, 451, 550, 250])
        self.assertEqual(code, 250)
        self.assertEqual(sorted(self.received(msgid)), ["alice", "bob"])

    def test_a_deferred_copy_is_451_and_accepted_copies_were_sent(self):
        msgid = "<copies-partial@example.com>"
        code, text = self.send(msgid, ["alice@example.net", "data452@example.net",
                                       "data554@example.net"], [250, 250, 250])
        self.assertEqual(code, 451, text)
        self.assertEqual(text, "4.3.0 Not every recipient's copy was accepted, try again later: "
                               "1 accepted, 1 deferred, 1 refused; <data452@example.net>: "
                               "452 4.3.1 scripted tempfail")
        # alice's copy went (the client's retry sends it again: docs/postfix.md).
        self.assert_names(self.received(msgid)["alice"], "alice@example.net", msgid)
        # Accepted and refused, none deferred: still 451 (never 250, never 5xx).
        code, _ = self.send("<copies-half@example.com>",
                            ["alice@example.net", "data554@example.net"], [250, 250])
        self.assertEqual(code, 451)

    def test_every_copy_refused_is_the_upstreams_5xx(self):
        code, text = self.send("<copies-none@example.com>",
                               ["data554@example.net", "data554@example.org"], [250, 250])
        self.assertEqual((code, text), (554, "5.7.1 scripted rejection"))


if __name__ == "__main__":
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
