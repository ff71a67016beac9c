#!/usr/bin/env python3
"""tests/relay/relay_test.py - `trackrelay serve` as an SMTP relay, end to end,
without Postfix: smtplib / raw sockets -> trackrelay -> a scripted upstream
(fake_upstream.py), smtp-sink, or the built-in maildir capture.

usage: relay_test.py TRACKRELAY_BINARY [unittest args]
"""
import glob
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
import unittest

import harness
from harness import FakeUpstream, Proc, RawClient, Relay, TempDir, html_message

BINARY = None


class RelayToScriptedUpstream(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.up = FakeUpstream(cls.tmp)
        cls.relay = Relay(BINARY, cls.tmp, "127.0.0.1:%d" % cls.up.port,
                          "upstream_data_timeout: 2\nmax_errors: 5\n"
                          "max_message_size: 200000\n")

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.up.stop()
        cls.tmp.cleanup()

    def new_messages(self, before):
        return self.up.messages()[before:]

    def send(self, msg, rcpts=("alice@example.net",), sender="news@example.com", **kw):
        with smtplib.SMTP("127.0.0.1", self.relay.port, timeout=20) as s:
            return s.sendmail(sender, list(rcpts), msg.encode(), **kw)

    def test_message_is_rewritten_and_controls_removed(self):
        before = len(self.up.messages())
        msg = html_message(xmsys='{"campaign_id": "spring", "options": {"open_tracking": true}}')
        self.send(msg)
        got = self.new_messages(before)
        self.assertEqual(len(got), 1)
        out = got[0]
        self.assertNotIn(b"X-MSYS-API", out)
        self.assertIn(b"Message-ID: <relay-test-1@example.com>\r\n", out)
        self.assertIn(b"\r\n.a line that starts with a dot\r\n", out)  # dot-stuffing round trip
        urls = [m.group(0).decode() for m in harness.TRACKED_RE.finditer(out)]
        clicks = [u for u in urls if "/f/" in u]
        pixels = [u for u in urls if "/q/" in u]
        self.assertEqual(len(clicks), 1, out)
        self.assertEqual(len(pixels), 2, out)  # initial_open and open
        token = self.relay.decode(clicks[0])
        self.assertEqual(token["target"], "https://www.example.org/offer?a=1&b=2")
        self.assertEqual(token["message_id"], "relay-test-1@example.com")
        self.assertEqual(token["rcpt_to"], "alice@example.net")  # one recipient: carried
        self.assertEqual(token["campaign_id"], "spring")
        self.relay.proc.wait_for(r"status=sent .*msgid=<relay-test-1@example.com>.*links=1/1 ")

    def test_upstream_reply_is_passed_to_the_client(self):
        with smtplib.SMTP("127.0.0.1", self.relay.port, timeout=20) as s:
            s.ehlo("client.example")
            s.mail("news@example.com")
            s.rcpt("alice@example.net")
            code, text = s.data(html_message().encode())
        self.assertEqual(code, 250)
        self.assertRegex(text.decode(), r"^2\.0\.0 Ok: queued as FAKE\d+-\d+$")

    def test_malformed_x_msys_api_is_550_5_6_0_and_nothing_is_sent(self):
        before = len(self.up.messages())
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            self.send(html_message(xmsys='{"campaign_id": '))
        self.assertEqual(cm.exception.smtp_code, 550)
        self.assertTrue(cm.exception.smtp_error.startswith(b"5.6.0"), cm.exception.smtp_error)
        self.assertEqual(self.new_messages(before), [])

    def test_recipient_replies_are_passed_through(self):
        with smtplib.SMTP("127.0.0.1", self.relay.port, timeout=20) as s:
            s.ehlo("client.example")
            s.mail("news@example.com")
            self.assertEqual(s.rcpt("rcpt451@example.net")[0], 451)
            code, text = s.rcpt("rcpt550@example.net")
            self.assertEqual((code, text), (550, b"5.1.1 scripted no such user"))
            self.assertEqual(s.rcpt("bob@example.net")[0], 250)
            self.assertEqual(s.data(html_message().encode())[0], 250)

    def test_final_replies_are_passed_through(self):
        for local, code in (("data554", 554), ("data452", 452)):
            with self.subTest(local), smtplib.SMTP("127.0.0.1", self.relay.port, timeout=20) as s:
                s.ehlo("client.example")
                s.mail("news@example.com")
                s.rcpt(local + "@example.net")
                self.assertEqual(s.data(html_message().encode())[0], code)

    def test_upstream_dropping_or_stalling_is_451_4_4_x(self):
        for local in ("dropdata", "stalldata"):
            with self.subTest(local), smtplib.SMTP("127.0.0.1", self.relay.port, timeout=20) as s:
                s.ehlo("client.example")
                s.mail("news@example.com")
                s.rcpt(local + "@example.net")
                t0 = time.monotonic()
                code, text = s.data(html_message().encode())
                self.assertEqual(code, 451, text)
                self.assertTrue(text.startswith(b"4.4."), text)
                self.assertLess(time.monotonic() - t0, 15)
                # The session goes on with a new upstream connection.
                s.rset()
                s.mail("news@example.com")
                s.rcpt("alice@example.net")
                self.assertEqual(s.data(html_message().encode())[0], 250)

    def test_client_disconnect_mid_data_sends_nothing_upstream(self):
        mark = self.relay.proc.mark()
        before = len(self.up.messages())
        c = RawClient(self.relay.port)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO client.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<half@example.com>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.net>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(html_message()[:200])
        c.close()
        self.relay.proc.wait_for(r"from=<half@example.com>.*status=aborted "
                                 r"reason=client-lost-in-DATA", start=mark)
        # The upstream saw the envelope, then RSET; never DATA.
        cmds = self.up.commands()
        i = max(k for k, cmd in enumerate(cmds) if cmd == "MAIL FROM:<half@example.com>")
        self.assertNotIn("DATA", cmds[i:])
        self.assertEqual(self.new_messages(before), [])

    def test_ehlo_advertises_what_the_upstream_supports_and_dsn_passes(self):
        with smtplib.SMTP("127.0.0.1", self.relay.port, timeout=20) as s:
            code, _ = s.ehlo("client.example")
            self.assertEqual(code, 250)
            for ext in ("pipelining", "size", "8bitmime", "smtputf8", "dsn",
                        "enhancedstatuscodes", "chunking"):
                self.assertTrue(s.has_extn(ext), ext)
            self.assertEqual(s.esmtp_features["size"], "200000")
            s.mail("dsn@example.com", ["RET=HDRS", "ENVID=abc+2B1", "BODY=8BITMIME"])
            s.rcpt("alice@example.net", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;alice@example.net"])
            self.assertEqual(s.data(html_message().encode())[0], 250)
        cmds = self.up.commands()
        mail = [c for c in cmds if c.startswith("MAIL FROM:<dsn@example.com>")][-1]
        for p in ("RET=HDRS", "ENVID=abc+2B1", "BODY=8BITMIME"):
            self.assertIn(p, mail)
        i = cmds.index(mail)
        self.assertEqual(cmds[i + 1],
                         "RCPT TO:<alice@example.net> NOTIFY=SUCCESS,FAILURE "
                         "ORCPT=rfc822;alice@example.net")
        # XFORWARD went before MAIL (the upstream offers it).
        self.assertTrue(cmds[i - 1].startswith("XFORWARD NAME="), cmds[i - 1])
        self.assertIn("ADDR=127.0.0.1", cmds[i - 1])

    def test_size_limits(self):
        with smtplib.SMTP("127.0.0.1", self.relay.port, timeout=20) as s:
            s.ehlo("client.example")
            code, text = s.docmd("MAIL FROM:<big@example.com> SIZE=300000")
            self.assertEqual(code, 552)
            self.assertTrue(text.startswith(b"5.3.4"))
            s.mail("big@example.com")
            s.rcpt("alice@example.net")
            big = html_message(body="<html><body>" + ("x" * 70 + "\r\n") * 4000 + "</body></html>")
            code, text = s.data(big.encode())
            self.assertEqual(code, 552)
            # The session is still usable.
            self.assertEqual(s.noop()[0], 250)

    def test_line_limit(self):
        with smtplib.SMTP("127.0.0.1", self.relay.port, timeout=20) as s:
            s.ehlo("client.example")
            s.mail("long@example.com")
            s.rcpt("alice@example.net")
            code, text = s.data(html_message(body="<html>" + "y" * 1200 + "</html>\r\n").encode())
            self.assertEqual(code, 550)
            self.assertTrue(text.startswith(b"5.6.0"), text)

    def test_commands_sequence_and_errors(self):
        c = RawClient(self.relay.port)
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("MAIL FROM:<a@example.com>")[0], 503)  # no EHLO yet
        self.assertEqual(c.cmd("EHLO client.example")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<a@example.net>")[0], 503)  # no MAIL
        self.assertEqual(c.cmd("VRFY alice")[0], 252)
        self.assertEqual(c.cmd("HELP")[0], 214)
        self.assertEqual(c.cmd("NOOP")[0], 250)
        self.assertEqual(c.cmd("FROB")[0], 500)
        self.assertEqual(c.cmd("MAIL FROM:<a@example.com> FOO=BAR")[0], 555)
        # The fifth error (max_errors: 5) ends the session with 421.
        self.assertEqual(c.cmd("MAIL FROM:<a b@example.com>")[0], 501)
        self.assertEqual(c.reply()[0], 421)
        with self.assertRaises(ConnectionError):
            c.reply()
        c.close()

    def test_pipelined_transaction(self):
        before = len(self.up.messages())
        c = RawClient(self.relay.port)
        c.reply()
        c.cmd("EHLO client.example")
        c.send("MAIL FROM:<pipe@example.com>\r\nRCPT TO:<alice@example.net>\r\n"
               "RCPT TO:<rcpt550@example.net>\r\nDATA\r\n")
        self.assertEqual([c.reply()[0] for _ in range(4)], [250, 250, 550, 354])
        c.send(html_message() + ".\r\nQUIT\r\n")
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 221)
        c.close()
        self.assertEqual(len(self.new_messages(before)), 1)

    def test_bdat(self):
        before = len(self.up.messages())
        c = RawClient(self.relay.port)
        c.reply()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<bdat@example.com>")
        c.cmd("RCPT TO:<alice@example.net>")
        msg = html_message(msgid="<bdat@example.com>").encode()
        half = len(msg) // 2
        c.send(b"BDAT %d\r\n" % half + msg[:half])
        self.assertEqual(c.reply()[0], 250)
        c.send(b"BDAT %d LAST\r\n" % (len(msg) - half) + msg[half:])
        self.assertEqual(c.reply()[0], 250)
        c.cmd("QUIT")
        c.close()
        got = self.new_messages(before)
        self.assertEqual(len(got), 1)
        self.assertIn(b"Message-ID: <bdat@example.com>", got[0])
        self.assertRegex(got[0], harness.TRACKED_RE)


class RelayAccessAndUpstreamState(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop()
        self.tmp.cleanup()

    def test_not_an_open_relay(self):
        up = FakeUpstream(self.tmp)
        self.procs.append(up)
        relay = Relay(BINARY, self.tmp, "127.0.0.1:%d" % up.port, "clients: [10.0.0.0/8]")
        self.procs.append(relay)
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=20) as s:
            s.ehlo("client.example")
            s.mail("news@example.com")
            code, text = s.rcpt("alice@example.net")
            self.assertEqual(code, 554)
            self.assertTrue(text.startswith(b"5.7.1"))
        self.assertFalse([c for c in up.commands() if c.startswith("RCPT")])

    def test_upstream_down_is_421_4_4_1_at_greeting(self):
        tmp_sock = socket.socket()
        tmp_sock.bind(("127.0.0.1", 0))
        dead = tmp_sock.getsockname()[1]
        tmp_sock.close()  # nothing listens there now
        relay = Relay(BINARY, self.tmp, "127.0.0.1:%d" % dead, "upstream_connect_timeout: 2")
        self.procs.append(relay)
        with self.assertRaises(smtplib.SMTPConnectError) as cm:
            smtplib.SMTP("127.0.0.1", relay.port, timeout=20)
        self.assertEqual(cm.exception.smtp_code, 421)
        self.assertTrue(cm.exception.smtp_error.startswith(b"4.4.1"))

    def test_upstream_greeting_refusal(self):
        up = FakeUpstream(self.tmp, extra=["--greet", "421"])
        self.procs.append(up)
        relay = Relay(BINARY, self.tmp, "127.0.0.1:%d" % up.port)
        self.procs.append(relay)
        with self.assertRaises(smtplib.SMTPConnectError) as cm:
            smtplib.SMTP("127.0.0.1", relay.port, timeout=20)
        self.assertEqual(cm.exception.smtp_code, 421)

    def test_without_upstream_extensions_none_are_advertised(self):
        up = FakeUpstream(self.tmp, extra=["--ehlo-caps", "PIPELINING"])
        self.procs.append(up)
        relay = Relay(BINARY, self.tmp, "127.0.0.1:%d" % up.port)
        self.procs.append(relay)
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=20) as s:
            s.ehlo("client.example")
            for ext in ("8bitmime", "smtputf8", "dsn", "xforward"):
                self.assertFalse(s.has_extn(ext), ext)
            self.assertEqual(s.docmd("MAIL FROM:<a@example.com> RET=FULL")[0], 555)

    def test_upstream_connection_is_reused_with_rset(self):
        up = FakeUpstream(self.tmp)
        self.procs.append(up)
        relay = Relay(BINARY, self.tmp, "127.0.0.1:%d" % up.port)
        self.procs.append(relay)
        for _ in range(3):
            with smtplib.SMTP("127.0.0.1", relay.port, timeout=20) as s:
                s.sendmail("news@example.com", ["alice@example.net"], html_message().encode())
        sessions = {e["s"] for e in up.events()}
        self.assertEqual(len(sessions), 1, up.events())
        self.assertEqual(len(up.messages()), 3)
        self.assertIn("RSET", up.commands())

    def test_maildir_capture(self):
        relay = Relay(BINARY, self.tmp, "maildir:outbox")
        self.procs.append(relay)
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=20) as s:
            s.sendmail("news@example.com", ["alice@example.net"], html_message().encode())
        files = glob.glob(self.tmp.join("outbox", "new", "*"))
        self.assertEqual(len(files), 1)
        self.assertEqual(os.listdir(self.tmp.join("outbox", "tmp")), [])
        with open(files[0], "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"Return-Path: <news@example.com>\r\n"))
        self.assertRegex(data, harness.TRACKED_RE)

    def test_smtp_sink_upstream(self):
        sink_bin = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        if not os.path.exists(sink_bin):
            self.skipTest("smtp-sink (Debian package postfix) is not installed")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        dump = self.tmp.join("sink") + "/"
        os.makedirs(dump)
        sink = Proc([sink_bin, "-u", "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody"),
                     "-d", dump + "%M.",
                     "127.0.0.1:%d" % port, "16"], cwd=self.tmp.path)
        self.procs.append(sink)
        relay = None
        deadline = time.monotonic() + 10
        while relay is None:  # smtp-sink prints nothing when ready: wait until it accepts
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                relay = Relay(BINARY, self.tmp, "127.0.0.1:%d" % port)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.procs.append(relay)
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=20) as c:
            c.sendmail("news@example.com", ["alice@example.net"],
                       html_message(xmsys='{"campaign_id": "sink"}').encode())
        relay.proc.wait_for(r"status=sent")
        deadline = time.monotonic() + 10
        files = []
        while not files and time.monotonic() < deadline:
            files = [f for f in glob.glob(dump + "**", recursive=True) if os.path.isfile(f)]
            time.sleep(0.05)
        self.assertTrue(files)
        with open(files[0], "rb") as f:
            data = f.read()
        self.assertRegex(data, harness.TRACKED_RE)
        self.assertNotIn(b"X-MSYS-API", data)

    def test_sigterm_finishes_the_transaction_in_flight(self):
        up = FakeUpstream(self.tmp)
        self.procs.append(up)
        relay = Relay(BINARY, self.tmp, "127.0.0.1:%d" % up.port)
        self.procs.append(relay)
        idle = RawClient(relay.port)
        idle.reply()
        c = RawClient(relay.port)
        c.reply()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<term@example.com>")
        c.cmd("RCPT TO:<alice@example.net>")
        relay.proc.p.send_signal(signal.SIGTERM)
        relay.proc.wait_for(r"trackrelay: stopping")
        self.assertEqual(idle.reply()[0], 421)  # the idle session is closed at once
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(html_message() + ".\r\n")
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 421)  # then the session ends
        self.assertEqual(relay.proc.p.wait(10), 0)
        self.assertEqual(len(up.messages()), 1)
        idle.close()
        c.close()


class TlsAndAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("openssl"):
            raise unittest.SkipTest("openssl is not installed")
        cls.tmp = TempDir()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=relay.test", "-keyout", cls.tmp.join("key.pem"),
                        "-out", cls.tmp.join("cert.pem")], check=True, capture_output=True)
        import base64, hashlib
        salt = b"0123456789abcdef"
        digest = hashlib.pbkdf2_hmac("sha256", b"s3cret", salt, 1000)
        entry = "app:pbkdf2-sha256$1000$%s$%s" % (base64.b64encode(salt).decode(),
                                                  base64.b64encode(digest).decode())
        cls.up = FakeUpstream(cls.tmp)
        cls.relay = Relay(BINARY, cls.tmp, "127.0.0.1:%d" % cls.up.port,
                          "clients: []\ntls_cert: cert.pem\ntls_key: key.pem\n"
                          "auth: ['%s']\n" % entry)

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.up.stop()
        cls.tmp.cleanup()

    def test_auth_after_starttls(self):
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", self.relay.port, timeout=20) as s:
            s.ehlo("client.example")
            self.assertTrue(s.has_extn("starttls"))
            self.assertFalse(s.has_extn("auth"))  # not before TLS
            s.mail("news@example.com")
            self.assertEqual(s.rcpt("alice@example.net")[0], 530)  # not authenticated
            s.rset()
            s.starttls(context=ctx)
            s.ehlo("client.example")
            self.assertIn("PLAIN", s.esmtp_features.get("auth", ""))
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.login("app", "wrong")
            s.login("app", "s3cret")
            s.sendmail("news@example.com", ["alice@example.net"], html_message().encode())
        self.relay.proc.wait_for(r"user=app .*status=sent")

    def test_auth_login(self):
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", self.relay.port, timeout=20) as s:
            s.starttls(context=ctx)
            s.ehlo("client.example")
            s.user, s.password = "app", "s3cret"
            self.assertEqual(s.auth("LOGIN", s.auth_login)[0], 235)


if __name__ == "__main__":
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
