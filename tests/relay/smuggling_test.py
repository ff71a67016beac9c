#!/usr/bin/env python3
"""tests/relay/smuggling_test.py - SMTP input safety of `trackrelay serve`
against the scripted upstream (fake_upstream.py), which records the exact
bytes it received: SMTP smuggling (every published end-of-data variant, in
DATA and in BDAT) with relay.bare_newline normalize and reject, bare LF in
commands, XFORWARD xtext, and the RFC 3461 DSN parameter checks. The same
variants through a real Postfix are in postfix_test.py.

usage: smuggling_test.py TRACKRELAY_BINARY [unittest args]
"""
import base64
import hashlib
import os
import re
import sys
import unittest

from harness import FakeUpstream, RawClient, Relay, TempDir

BINARY = None

# What a sloppy receiver takes for <CR><LF>.<CR><LF> (SEC Consult, Dec 2023).
VARIANTS = ["\n.\n", "\n.\r\n", "\r.\r", "\r\n.\r", "\r\n.\n", "\r.\r\n", "\n.\r"]


def attack(variant, tag):
    """One message whose body hides a second transaction behind `variant`."""
    return ("From: news@example.com\r\nTo: alice@example.net\r\nSubject: outer\r\n"
            "Message-ID: <outer-%s@example.com>\r\n\r\nbody" % tag + variant +
            "MAIL FROM:<ceo@bank.example>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
            "From: ceo@bank.example\r\nMessage-ID: <smuggled-%s@bank.example>\r\n\r\n"
            "pay now\r\n" % tag)


def bare_newline(data):
    """True when `data` has an LF not after CR or a CR not before LF."""
    return re.search(rb"(?<!\r)\n|\r(?!\n)", data) is not None


class Normalize(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.up = FakeUpstream(cls.tmp)
        try:
            cls.relay = Relay(BINARY, cls.tmp, "127.0.0.1:%d" % cls.up.port, "max_errors: 20\n")
        except BaseException:
            cls.up.stop()  # tearDownClass does not run after a failed setUpClass
            raise

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.up.stop()
        cls.tmp.cleanup()

    def open(self):
        c = RawClient(self.relay.port)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO client.example")[0], 250)
        return c

    def check_one_message(self, before, tag):
        got = self.up.messages()[before:]
        self.assertEqual(len(got), 1, got)
        out = got[0]
        self.assertIn(b"Message-ID: <outer-%s@example.com>" % tag.encode(), out)
        # The smuggled transaction is content of the one message, never a command.
        self.assertIn(b"MAIL FROM:<ceo@bank.example>\r\n", out)
        self.assertFalse(bare_newline(out), out)
        cmds = self.up.commands()
        self.assertFalse([c for c in cmds if "ceo@bank.example" in c], cmds)

    def test_every_variant_in_data_is_one_message(self):
        for i, v in enumerate(VARIANTS):
            with self.subTest(variant=v):
                before = len(self.up.messages())
                c = self.open()
                tag = "data%d" % i
                self.assertEqual(c.cmd("MAIL FROM:<news@example.com>")[0], 250)
                self.assertEqual(c.cmd("RCPT TO:<alice@example.net>")[0], 250)
                self.assertEqual(c.cmd("DATA")[0], 354)
                c.send(attack(v, tag) + ".\r\nQUIT\r\n")
                self.assertEqual(c.reply()[0], 250)
                self.assertEqual(c.reply()[0], 221)
                c.close()
                self.check_one_message(before, tag)

    def test_lone_dot_after_bare_lf_is_forwarded_dot_stuffed(self):
        before = len(self.up.messages())
        c = self.open()
        c.cmd("MAIL FROM:<news@example.com>")
        c.cmd("RCPT TO:<alice@example.net>")
        c.cmd("DATA")
        c.send("Subject: dots\r\n\r\na\n.\nb\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        c.cmd("QUIT")
        c.close()
        raw = self.up.raw_data()[-1]
        self.assertIn(b"\r\na\r\n..\r\nb\r\n", raw)
        self.assertTrue(raw.endswith(b"\r\nb\r\n.\r\n"), raw)
        self.assertEqual(len(self.up.messages()[before:]), 1)

    def test_every_variant_in_bdat_is_one_message(self):
        for i, v in enumerate(VARIANTS + ["\r\n.\r\n"]):
            with self.subTest(variant=v):
                before = len(self.up.messages())
                c = self.open()
                tag = "bdat%d" % i
                c.cmd("MAIL FROM:<news@example.com>")
                c.cmd("RCPT TO:<alice@example.net>")
                msg = (attack(v, tag) + "\r\n.\r\ntail\r\n").encode()
                half = len(msg) // 2
                c.send(b"BDAT %d\r\n" % half + msg[:half])
                self.assertEqual(c.reply()[0], 250)
                c.send(b"BDAT %d LAST\r\n" % (len(msg) - half) + msg[half:])
                self.assertEqual(c.reply()[0], 250)
                c.cmd("QUIT")
                c.close()
                self.check_one_message(before, tag)
                raw = self.up.raw_data()[-1]
                self.assertTrue(raw.endswith(b"\r\n..\r\ntail\r\n.\r\n"), raw)

    def test_commands_ending_in_bare_lf_are_accepted(self):
        before = len(self.up.messages())
        c = RawClient(self.relay.port)
        c.reply()
        c.send("EHLO client.example\nMAIL FROM:<lf@example.com>\nRCPT TO:<alice@example.net>\n"
               "DATA\n")
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual([c.reply()[0] for _ in range(3)], [250, 250, 354])
        # DATA ended with a bare LF: a first "." line is content, not the end.
        c.send(".\r\nSubject: lf\r\n\r\nx\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        c.cmd("QUIT")
        c.close()
        got = self.up.messages()[before:]
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0].startswith(b".\r\nSubject: lf\r\n"), got[0])

    def test_xforward_xtext(self):
        c = self.open()
        self.assertEqual(c.cmd("XFORWARD NAME=client+2Eexample ADDR=192.0.2.1")[0], 250)
        code, text = c.cmd("XFORWARD NAME=bad+ZZ")
        self.assertEqual(code, 501)
        self.assertIn("5.5.4", text)
        self.assertEqual(c.cmd("XFORWARD HELO=x+4")[0], 501)
        self.assertEqual(c.cmd("XFORWARD HELO=x=y")[0], 501)
        # The session goes on.
        self.assertEqual(c.cmd("MAIL FROM:<xf@example.com>")[0], 250)
        self.assertEqual(c.cmd("RSET")[0], 250)
        c.cmd("QUIT")
        c.close()
        xf = [x for x in self.up.commands() if x.startswith("XFORWARD")][-1]
        self.assertIn("NAME=client.example ADDR=192.0.2.1", xf)

    def test_dsn_parameters_are_checked_before_they_go_upstream(self):
        c = self.open()
        for bad in ("RET=ALL", "ENVID=a+0D+0ARSET", "ENVID=x+zz", "ENVID=" + "a" * 101,
                    "RET=FULL RET=HDRS"):
            code, text = c.cmd("MAIL FROM:<dsn@example.com> " + bad)
            self.assertEqual(code, 501, bad)
        self.assertEqual(c.cmd("MAIL FROM:<dsn@example.com> RET=FULL ENVID=ok+2B1")[0], 250)
        for bad in ("NOTIFY=ALWAYS", "NOTIFY=NEVER,DELAY", "ORCPT=alice@example.net",
                    "ORCPT=rfc822;a+0Db@example.net"):
            code, _ = c.cmd("RCPT TO:<alice@example.net> " + bad)
            self.assertEqual(code, 501, bad)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.net> NOTIFY=DELAY "
                               "ORCPT=rfc822;alice@example.net")[0], 250)
        c.cmd("RSET")
        c.cmd("QUIT")
        c.close()
        cmds = self.up.commands()
        self.assertFalse([x for x in cmds if "RSET" in x and x.startswith("MAIL")], cmds)
        self.assertFalse([x for x in cmds if "ALWAYS" in x or "=ALL" in x], cmds)


class Reject(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.up = FakeUpstream(cls.tmp)
        salt = b"0123456789abcdef"
        digest = hashlib.pbkdf2_hmac("sha256", b"s3cret", salt, 1000)
        entry = "app:pbkdf2-sha256$1000$%s$%s" % (base64.b64encode(salt).decode(),
                                                  base64.b64encode(digest).decode())
        try:
            cls.relay = Relay(BINARY, cls.tmp, "127.0.0.1:%d" % cls.up.port,
                              "bare_newline: reject\nauth_over_plaintext: true\n"
                              "auth: ['%s']\n" % entry)
        except BaseException:
            cls.up.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.up.stop()
        cls.tmp.cleanup()

    def assert_521_and_closed(self, c):
        code, text = c.reply()
        self.assertEqual(code, 521)
        self.assertTrue(text.startswith("5.5.2"), text)
        with self.assertRaises(ConnectionError):
            c.reply()
        c.close()

    def test_every_variant_in_data_is_521_and_nothing_goes_upstream(self):
        for i, v in enumerate(VARIANTS):
            with self.subTest(variant=v):
                before = len(self.up.messages())
                c = RawClient(self.relay.port)
                c.reply()
                c.cmd("EHLO client.example")
                c.cmd("MAIL FROM:<news@example.com>")
                c.cmd("RCPT TO:<alice@example.net>")
                self.assertEqual(c.cmd("DATA")[0], 354)
                c.send(attack(v, "rej%d" % i) + ".\r\n")
                self.assert_521_and_closed(c)
                self.assertEqual(self.up.messages()[before:], [])
        self.relay.proc.wait_for(r"status=rejected reason=bare-newline")

    def test_bdat_with_bare_lf_is_521(self):
        before = len(self.up.messages())
        c = RawClient(self.relay.port)
        c.reply()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<news@example.com>")
        c.cmd("RCPT TO:<alice@example.net>")
        msg = attack("\n.\n", "rejbdat").encode()
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        self.assert_521_and_closed(c)
        self.assertEqual(self.up.messages()[before:], [])

    def test_command_with_bare_lf_or_cr_is_521(self):
        for line in ("EHLO client.example\n", "NOOP\rMAIL FROM:<a@b>\r\n"):
            with self.subTest(line=line):
                c = RawClient(self.relay.port)
                c.reply()
                c.send(line)
                self.assert_521_and_closed(c)

    def test_auth_response_with_bare_lf_is_521(self):
        c = RawClient(self.relay.port)
        c.reply()
        c.cmd("EHLO client.example")
        self.assertEqual(c.cmd("AUTH PLAIN")[0], 334)
        c.send(base64.b64encode(b"\0app\0s3cret") + b"\n")
        self.assert_521_and_closed(c)
        # The same response with CRLF authenticates.
        c = RawClient(self.relay.port)
        c.reply()
        c.cmd("EHLO client.example")
        self.assertEqual(c.cmd("AUTH PLAIN")[0], 334)
        self.assertEqual(c.cmd(base64.b64encode(b"\0app\0s3cret").decode())[0], 235)
        c.cmd("QUIT")
        c.close()

    def test_clean_mail_passes(self):
        before = len(self.up.messages())
        c = RawClient(self.relay.port)
        c.reply()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<news@example.com>")
        c.cmd("RCPT TO:<alice@example.net>")
        c.cmd("DATA")
        c.send("Subject: clean\r\n\r\n..dot\r\n.\r\n")
        self.assertEqual(c.reply()[0], 250)
        c.cmd("QUIT")
        c.close()
        got = self.up.messages()[before:]
        self.assertEqual(len(got), 1)
        self.assertIn(b"\r\n.dot\r\n", got[0])


if __name__ == "__main__":
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
