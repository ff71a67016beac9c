#!/usr/bin/env python3
"""tests/abuse/relay_abuse_test.py - hostile SMTP clients against
`trackrelay serve`, as real processes on loopback (tests/relay/harness.py:
the relay, a scripted upstream; clients from 127.0.0.1 and from other
loopback addresses such as 127.0.0.2, which are real, distinct peers).

  * open relay: a client outside relay.clients cannot get a recipient
    accepted, whatever the address form, nor by spoofing XFORWARD; nothing
    reaches the upstream; its errors end the session;
  * AUTH brute force: failed AUTH is answered slowly, ends the session after
    a few failures, and a client address with too many recent failures is
    refused AUTH (even with the right password) while other addresses are not;
  * command floods: 20,000 pipelined NOOPs while not reading replies, and a
    garbage flood: memory stays bounded, the garbage session is closed at
    relay.max_errors, other clients are served meanwhile;
  * 1,000 concurrent idle sessions: all greeted, the 1,001st refused with 421
    at relay.max_sessions, memory per session bounded (RSS measured);
  * slow senders: a silent client, a client trickling a command byte by byte,
    and a client silent in DATA are cut off by the configured timeouts, and
    nothing is sent upstream;
  * oversized messages: SIZE= over the limit refused at MAIL; a message
    streamed past the limit (DATA and BDAT) refused with 552 without being
    buffered (RSS) and without reaching the upstream.

The measured RSS numbers are printed ("relay abuse: {...}").

usage: relay_abuse_test.py TRACKRELAY
"""
import base64
import hashlib
import json
import os
import smtplib
import socket
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "relay"))
from harness import FakeUpstream, RawClient, Relay, TempDir, html_message  # noqa: E402

BINARY = None
MEASURED = {}


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def raw_from(port, source, timeout=20):
    """A RawClient whose connection comes from `source` (a loopback address)."""
    c = RawClient.__new__(RawClient)
    c.s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                   source_address=(source, 0))
    c.f = c.s.makefile("rb")
    return c


def auth_entry(user, password, iterations=1000):
    salt = b"abuse-test-salt!"
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return "%s:pbkdf2-sha256$%d$%s$%s" % (user, iterations, base64.b64encode(salt).decode(),
                                           base64.b64encode(digest).decode())


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir("trackrelay-abuse-")
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop()
        self.tmp.cleanup()

    def upstream(self):
        up = FakeUpstream(self.tmp)
        self.procs.append(up)
        return up

    def relay(self, up, extra=""):
        r = Relay(BINARY, self.tmp, "127.0.0.1:%d" % up.port, extra)
        self.procs.append(r)
        return r

    def send_ok(self, relay, msgid="<abuse-ok@example.com>"):
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=30) as s:
            s.sendmail("news@example.com", ["alice@example.net"], html_message(msgid=msgid).encode())


class OpenRelay(Base):
    def test_client_outside_relay_clients_gets_no_recipient_through(self):
        up = self.upstream()
        relay = self.relay(up, "clients: [127.0.0.1/32]\nmax_errors: 10\n")
        c = raw_from(relay.port, "127.0.0.2")
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO attacker.example")[0], 250)
        # Spoofing the client address through XFORWARD is not offered to it.
        self.assertEqual(c.cmd("XFORWARD ADDR=127.0.0.1 NAME=localhost")[0], 500)
        self.assertEqual(c.cmd("MAIL FROM:<spam@attacker.example>")[0], 250)
        for rcpt in ("<victim@example.net>", "<@relay.example:victim@example.net>",
                     "<victim%example.net@localhost>", '<"victim@example.net"@localhost>',
                     "<victim@[127.0.0.1]>", "<postmaster>"):
            code, text = c.cmd("RCPT TO:%s" % rcpt)
            self.assertIn(code, (554, 501), rcpt)
            if code == 554:
                self.assertTrue(text.startswith("5.7.1"), text)
        self.assertIn(c.cmd("DATA")[0], (554, 503))
        # The tenth error ends the session.
        codes = []
        try:
            for _ in range(10):
                codes.append(c.cmd("RCPT TO:<victim@example.net>")[0])
        except ConnectionError:
            pass
        self.assertIn(421, codes)
        c.close()
        self.assertFalse([x for x in up.commands() if x.upper().startswith("RCPT")],
                         "a recipient reached the upstream")
        # 127.0.0.1 is allowed: the relay works.
        self.send_ok(relay)

    def test_auth_required_when_no_client_network_is_trusted(self):
        up = self.upstream()
        relay = self.relay(up, "clients: []\nauth_over_plaintext: true\nauth: ['%s']\n"
                           % auth_entry("app", "right-password"))
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=20) as s:
            s.ehlo("client.example")
            s.mail("news@example.com")
            code, text = s.rcpt("alice@example.net")
            self.assertEqual(code, 530)
            self.assertTrue(text.startswith(b"5.7.0"), text)
        self.assertFalse([x for x in up.commands() if x.upper().startswith("RCPT")])


class AuthBruteForce(Base):
    def test_failed_auth_is_throttled(self):
        up = self.upstream()
        relay = self.relay(up, "clients: []\nauth_over_plaintext: true\nmax_errors: 100\n"
                           "auth: ['%s']\n" % auth_entry("app", "right-password"))
        # One session: every failure is answered after a delay, and the session
        # ends after a few failures (not after relay.max_errors).
        c = raw_from(relay.port, "127.0.0.3")
        c.reply()
        c.cmd("EHLO brute.example")
        failures = 0
        t0 = time.monotonic()
        closed = False
        for i in range(20):
            try:
                code, text = c.cmd("AUTH PLAIN " + plain("app", "guess-%d" % i))
            except ConnectionError:
                closed = True
                break
            if code == 421:
                closed = True
                break
            self.assertEqual(code, 535, text)
            failures += 1
        elapsed = time.monotonic() - t0
        c.close()
        self.assertTrue(closed, "the session was not closed after %d failures" % failures)
        self.assertLessEqual(failures, 5)
        self.assertGreaterEqual(elapsed, 0.9 * failures, "failures answered without a delay")
        # Keep guessing from the same address in new sessions: once the
        # address has too many recent failures, AUTH is refused outright,
        # even with the right password (the guesser learns nothing).
        refused = None
        for attempt in range(12):
            c = raw_from(relay.port, "127.0.0.3")
            c.reply()
            c.cmd("EHLO brute.example")
            code, text = c.cmd("AUTH PLAIN " + plain("app", "guess-again-%d" % attempt))
            c.close()
            if code in (454, 421):
                refused = (failures + attempt, code, text)
                break
            self.assertEqual(code, 535, text)
        self.assertIsNotNone(refused, "no per-address limit on AUTH failures")
        self.assertLessEqual(refused[0], 12)
        c = raw_from(relay.port, "127.0.0.3")
        c.reply()
        c.cmd("EHLO brute.example")
        code, text = c.cmd("AUTH PLAIN " + plain("app", "right-password"))
        c.close()
        self.assertIn(code, (454, 421), "a blocked address may still authenticate: %s" % text)
        # Another address is not affected.
        c = raw_from(relay.port, "127.0.0.4")
        c.reply()
        c.cmd("EHLO app.example")
        self.assertEqual(c.cmd("AUTH PLAIN " + plain("app", "right-password"))[0], 235)
        self.assertEqual(c.cmd("MAIL FROM:<news@example.com>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.net>")[0], 250)
        c.close()
        relay.proc.wait_for(r"AUTH failed for user 'app'")


class Floods(Base):
    def test_pipelined_noop_flood_and_garbage_flood(self):
        up = self.upstream()
        relay = self.relay(up, "max_errors: 20\ndata_timeout: 5\ncommand_timeout: 5\n")
        pid = relay.proc.p.pid
        self.send_ok(relay)
        before = rss_kib(pid)
        # 20,000 NOOPs in one go, replies not read until everything is written.
        n = 20000
        c = RawClient(relay.port, timeout=60)
        c.reply()
        c.cmd("EHLO flood.example")
        done = threading.Event()
        got = []

        def reader():
            try:
                for _ in range(n):
                    got.append(c.reply()[0])
            except (ConnectionError, OSError):
                pass
            done.set()

        c.send(b"NOOP\r\n" * n)
        during = rss_kib(pid)
        # Another client is served while the flood is pending.
        self.send_ok(relay, "<during-flood@example.com>")
        threading.Thread(target=reader, daemon=True).start()
        self.assertTrue(done.wait(60))
        self.assertEqual(len(got), n)
        self.assertEqual(set(got), {250})
        self.assertEqual(c.cmd("QUIT")[0], 221)
        c.close()
        # Garbage: closed with 421 at relay.max_errors.
        g = RawClient(relay.port)
        g.reply()
        g.send(b"".join(b"XYZZY %d\r\n" % i for i in range(1000)))
        codes = []
        try:
            while True:
                codes.append(g.reply()[0])
        except (ConnectionError, OSError):
            pass
        g.close()
        self.assertEqual(codes[:20], [500] * 20)
        self.assertEqual(codes[20:], [421])
        after = rss_kib(pid)
        MEASURED["noop_flood_rss_growth_kib"] = max(during, after) - before
        self.assertLess(max(during, after) - before, 64 * 1024)


class IdleSessions(Base):
    N = 1000

    def test_thousand_idle_sessions_bounded_memory(self):
        up = self.upstream()
        relay = self.relay(up, "max_sessions: %d\ncommand_timeout: 120\n" % self.N)
        pid = relay.proc.p.pid
        self.send_ok(relay)
        before = rss_kib(pid)
        conns = []
        try:
            # In batches of 50: each session opens its upstream connection
            # before its greeting, and the scripted upstream (one Python
            # thread per connection, listen backlog 1024) accepts slowly.
            for i in range(0, self.N, 50):
                batch = [RawClient(relay.port, timeout=60) for _ in range(min(50, self.N - i))]
                conns.extend(batch)
                for c in batch:  # greeted once its upstream connection is up
                    self.assertEqual(c.reply()[0], 220)
            for c in conns:
                c.send("EHLO idle.example\r\n")
            for c in conns:
                self.assertEqual(c.reply()[0], 250)
            full = rss_kib(pid)
            # One more is refused: the bound on sessions.
            extra = RawClient(relay.port)
            code, text = extra.reply()
            extra.close()
            self.assertEqual(code, 421)
            self.assertTrue(text.startswith("4.3.2"), text)
        finally:
            for c in conns:
                c.close()
        MEASURED["idle_sessions"] = self.N
        MEASURED["idle_rss_before_kib"] = before
        MEASURED["idle_rss_with_sessions_kib"] = full
        MEASURED["idle_rss_per_session_kib"] = round((full - before) / self.N, 1)
        # Sessions end when their clients go; the relay serves again.
        deadline = time.monotonic() + 30
        while True:
            try:
                self.send_ok(relay, "<after-idle@example.com>")
                break
            except (smtplib.SMTPException, OSError):
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.1)
        MEASURED["idle_rss_after_close_kib"] = rss_kib(pid)
        self.assertLess(full - before, self.N * 256, "more than 256 KiB per idle session")


class SlowSenders(Base):
    def test_silent_trickling_and_stalled_clients_time_out(self):
        up = self.upstream()
        relay = self.relay(up, "command_timeout: 2\ndata_timeout: 2\n")
        # Silent after the greeting.
        c = RawClient(relay.port)
        c.reply()
        t0 = time.monotonic()
        code, text = c.reply()
        self.assertEqual(code, 421)
        self.assertTrue(text.startswith("4.4.2"), text)
        self.assertLess(time.monotonic() - t0, 6)
        c.close()
        # Trickling a command one byte at a time: the whole command must
        # arrive within command_timeout, not each byte.
        c = RawClient(relay.port)
        c.reply()
        t0 = time.monotonic()
        cut = None
        for ch in "MAIL FROM:<slowloris@example.com>" * 3:
            try:
                c.send(ch)
            except OSError:
                cut = time.monotonic() - t0
                break
            time.sleep(0.25)
        if cut is None:
            cut = time.monotonic() - t0
            c.s.settimeout(5)
            try:
                code, text = c.reply()
            except (ConnectionError, OSError):
                code = None
            self.fail("a trickling client kept its session for %.1fs (command_timeout 2s); "
                      "reply %s" % (cut, code))
        self.assertLess(cut, 8)
        c.close()
        # Silent in DATA: 421, and nothing reaches the upstream.
        before = len(up.messages())
        c = RawClient(relay.port)
        c.reply()
        c.cmd("EHLO slow.example")
        c.cmd("MAIL FROM:<slow@example.com>")
        c.cmd("RCPT TO:<alice@example.net>")
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(html_message()[:100])
        t0 = time.monotonic()
        code, text = c.reply()
        self.assertEqual(code, 421)
        self.assertLess(time.monotonic() - t0, 6)
        c.close()
        relay.proc.wait_for(r"from=<slow@example.com>.*reason=client-timeout-in-DATA")
        self.assertEqual(len(up.messages()), before)


class Oversized(Base):
    def test_size_enforced_before_and_during_data(self):
        up = self.upstream()
        limit = 1024 * 1024
        relay = self.relay(up, "max_message_size: %d\n" % limit)
        pid = relay.proc.p.pid
        self.send_ok(relay)
        before_msgs = len(up.messages())
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as s:
            s.ehlo("big.example")
            self.assertEqual(s.esmtp_features["size"], str(limit))
            code, text = s.docmd("MAIL FROM:<big@example.com> SIZE=%d" % (limit + 1))
            self.assertEqual((code, text[:5]), (552, b"5.3.4"))
            self.assertEqual(s.docmd("MAIL FROM:<big@example.com> SIZE=%d" % limit)[0], 250)
            s.rset()
        # A message that claims a small SIZE and streams 48 MiB: refused at
        # the end with 552, never buffered past the limit.
        before = rss_kib(pid)
        c = RawClient(relay.port, timeout=120)
        c.reply()
        c.cmd("EHLO big.example")
        self.assertEqual(c.cmd("MAIL FROM:<big@example.com> SIZE=1000")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.net>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(html_message(msgid="<huge@example.com>", body="<html><body>\r\n"))
        line = b"x" * 78 + b"\r\n"
        block = line * (1024 * 1024 // len(line))
        for _ in range(48):
            c.send(block)
        c.send(b".\r\n")
        code, text = c.reply()
        peak = rss_kib(pid)
        self.assertEqual(code, 552)
        self.assertTrue(text.startswith("5.3.4"), text)
        # BDAT over the limit: the chunks are read and discarded, then 552.
        self.assertEqual(c.cmd("MAIL FROM:<bdat@example.com>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.net>")[0], 250)
        chunk = block * 2
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        first = c.reply()[0]
        c.send(b"BDAT 3 LAST\r\nxyz")
        code = c.reply()[0]
        self.assertIn(552, (first, code))
        self.assertEqual(c.cmd("NOOP")[0], 250)  # still in step
        c.close()
        MEASURED["oversize_rss_growth_kib"] = peak - before
        self.assertLess(peak - before, 16 * 1024, "the oversized message was buffered")
        self.assertEqual(len(up.messages()), before_msgs, "an oversized message went upstream")
        self.assertFalse([x for x in up.commands() if x == "DATA"][before_msgs + 1:])


if __name__ == "__main__":
    BINARY = os.path.abspath(sys.argv.pop(1))
    prog = unittest.main(verbosity=2, exit=False)
    print("relay abuse: " + json.dumps(MEASURED), flush=True)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
