#!/usr/bin/env python3
"""tests/relay/postfix_test.py - trackrelay behind a real Postfix (Debian's),
run as a private instance: its own config_directory, queue_directory and
data_directory in a temporary directory, loopback ports only, logging to a
file. /etc/postfix and any system instance are never touched.

  swaks -> Postfix submission smtpd (content_filter=trackrelay:...)    after-queue
        -> queue -> smtp client "trackrelay" -> trackrelay
        -> Postfix reinjection smtpd (REINJ, content_filter=) -> queue
        -> smtp (relayhost) -> smtp-sink -d (one file per message)
  swaks -> Postfix public smtpd: no filter for inbound mail; FILTER trackrelay
           chosen by check_sender_access for our own sending domain only
  swaks -> Postfix submission smtpd (smtpd_proxy_filter=127.0.0.1:RELAY) before-queue
        -> trackrelay -> reinjection smtpd -> queue -> smtp-sink
  raw client -> trackrelay -> reinjection smtpd -> smtp-sink: SMTP smuggling
           variants (relay.bare_newline normalize and reject)
  swaks -> Postfix submission smtpd (content_filter=trackrelay-lmtp:...)     after-queue
        -> queue -> lmtp client -> trackrelay (relay.protocol: lmtp)
        -> the scripted upstream (fake_upstream.py: recipients it defers or
           refuses at RCPT or at the end of DATA): Postfix must bounce, defer
           and deliver exactly the right recipients
  swaks -> Postfix submission smtpd -> smtp client (no recipient limit)
        -> trackrelay (relay.per_recipient: true) -> the scripted upstream

The main.cf / master.cf written here are the snippets of docs/postfix.md
(the test checks that the document contains them).

usage: postfix_test.py TRACKRELAY_BINARY   (needs root, postfix, swaks)
"""
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest

import harness
from harness import FakeUpstream, Proc, RawClient, Relay, TempDir, html_message
from smuggling_test import VARIANTS, attack

BINARY = None
SBIN = "/usr/sbin"
DOCS = os.path.join(harness.HERE, "..", "..", "docs", "postfix.md")

# The snippets documented in docs/postfix.md; PORT placeholders are filled in.
MASTER_AFTER_QUEUE = """\
# after-queue: outbound mail enters on submission, is queued, then handed to trackrelay
127.0.0.1:{subport} inet n - n - - smtpd
  -o content_filter=trackrelay:[127.0.0.1]:{relayport}
# the public smtpd receives inbound mail: only our own domains' mail is filtered
127.0.0.1:{inport} inet n - n - - smtpd
  -o smtpd_sender_restrictions=check_sender_access,texthash:{etc}/trackrelay_senders
# the SMTP client that talks to trackrelay
trackrelay unix - - n - 10 smtp
  -o smtp_send_xforward_command=yes
  -o disable_mime_output_conversion=yes
  -o smtp_generic_maps=
# reinjection: trackrelay's upstream; no filter here, or mail would loop
127.0.0.1:{reinjport} inet n - n - 10 smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
  -o smtpd_helo_restrictions=
  -o smtpd_client_restrictions=
  -o smtpd_sender_restrictions=
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
"""

MASTER_BEFORE_QUEUE = """\
# before-queue: Postfix waits for trackrelay (and its upstream) before it answers
127.0.0.1:{proxyport} inet n - n - 20 smtpd
  -o smtpd_proxy_filter=127.0.0.1:{relayport}
  -o smtpd_proxy_options=speed_adjust
  -o smtpd_proxy_timeout=600s
"""

MAIN_CF_FILTER = """\
# one recipient per delivery to trackrelay, so tracked links carry the recipient
trackrelay_destination_recipient_limit = 1
"""

# after-queue over LMTP (the recommended set-up: docs/postfix.md names the
# transport "trackrelay"; here it runs beside the SMTP one above).
MASTER_LMTP = """\
127.0.0.1:{subport} inet n - n - - smtpd
  -o content_filter=trackrelay-lmtp:[127.0.0.1]:{relayport}
trackrelay-lmtp unix - - n - 10 lmtp
  -o lmtp_send_xforward_command=yes
  -o disable_mime_output_conversion=yes
  -o lmtp_generic_maps=
"""

# SMTP to a relay with relay.per_recipient: true (no recipient limit; test only).
MASTER_COPIES = """\
127.0.0.1:{copysubport} inet n - n - - smtpd
  -o content_filter=trackrelay-copies:[127.0.0.1]:{copyport}
trackrelay-copies unix - - n - 10 smtp
  -o smtp_send_xforward_command=yes
  -o disable_mime_output_conversion=yes
"""

# {etc}/trackrelay_senders: the sending domains whose mail the public smtpd filters
SENDERS = """\
example.com FILTER trackrelay:[127.0.0.1]:{relayport}
"""

# Everything else a private test instance needs (not in the document).
MASTER_SERVICES = """\
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.trackrelay.test
mydomain = trackrelay.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
relayhost = [127.0.0.1]:{sinkport}
smtp_dns_support_level = disabled
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
syslog_name = postfix-trackrelay-test
minimal_backoff_time = 60s
maximal_backoff_time = 120s
queue_run_delay = 60s
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError("nothing listens on 127.0.0.1:%d" % port)
            time.sleep(0.05)


def wait_until(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


class PostfixIntegration(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("a private Postfix instance needs root")
        for tool in ("postfix", "postqueue", "smtp-sink"):
            if not os.path.exists(os.path.join(SBIN, tool)):
                raise unittest.SkipTest("Debian package postfix is not installed")
        if not shutil.which("swaks"):
            raise unittest.SkipTest("swaks is not installed")
        cls.tmp = TempDir("trackrelay-postfix-")
        d = cls.tmp.path
        os.chmod(d, 0o755)  # Postfix daemons run as user postfix
        cls.ports = {k: free_port() for k in ("inport", "subport", "proxyport", "reinjport",
                                                "relayport", "sinkport", "lmtpsubport",
                                                "copysubport")}
        # The LMTP and per-recipient relays forward to the scripted upstream.
        cls.up = FakeUpstream(cls.tmp)
        cls.lmtp = Relay(BINARY, cls.tmp, "127.0.0.1:%d" % cls.up.port, "protocol: lmtp",
                         name="relay-lmtp")
        cls.copies = Relay(BINARY, cls.tmp, "127.0.0.1:%d" % cls.up.port,
                           "per_recipient: true", name="relay-copies")
        cls.etc = cls.tmp.join("etc")
        cls.ports["etc"] = cls.etc
        os.makedirs(cls.etc)
        os.makedirs(cls.tmp.join("queue"))
        os.makedirs(cls.tmp.join("data"))
        pw = pwd.getpwnam("postfix")
        os.chown(cls.tmp.join("data"), pw.pw_uid, pw.pw_gid)
        with open(os.path.join(cls.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(dir=d, **cls.ports) + MAIN_CF_FILTER)
        with open(os.path.join(cls.etc, "trackrelay_senders"), "w") as f:
            f.write(SENDERS.format(**cls.ports))
        with open(os.path.join(cls.etc, "master.cf"), "w") as f:
            f.write(MASTER_AFTER_QUEUE.format(**cls.ports) +
                    MASTER_BEFORE_QUEUE.format(**cls.ports) +
                    MASTER_LMTP.format(subport=cls.ports["lmtpsubport"],
                                       relayport=cls.lmtp.port) +
                    MASTER_COPIES.format(copysubport=cls.ports["copysubport"],
                                         copyport=cls.copies.port) + MASTER_SERVICES)
        cls.sinkdir = cls.tmp.join("sink")
        os.makedirs(cls.sinkdir)
        cls.sink = Proc([os.path.join(SBIN, "smtp-sink"), "-u", "postfix", "-d",
                         cls.sinkdir + "/%M.", "127.0.0.1:%d" % cls.ports["sinkport"], "32"],
                        cwd=d)
        os.chown(cls.sinkdir, pw.pw_uid, pw.pw_gid)
        cls.relay = Relay(BINARY, cls.tmp, "127.0.0.1:%d" % cls.ports["reinjport"],
                          "upstream_connect_timeout: 5", port=cls.ports["relayport"])
        cls.relay_port = cls.relay.port
        cls.postfix("check")
        cls.postfix("start")
        wait_listening(cls.ports["inport"])
        wait_listening(cls.ports["subport"])
        wait_listening(cls.ports["proxyport"])
        wait_listening(cls.ports["sinkport"])

    @classmethod
    def postfix(cls, *args, check=True):
        out = subprocess.run([os.path.join(SBIN, "postfix"), "-c", cls.etc] + list(args),
                             capture_output=True, text=True)
        if check and out.returncode != 0:
            raise AssertionError("postfix %s: %s%s\n%s" % (" ".join(args), out.stdout,
                                                           out.stderr, cls.maillog()))
        return out

    @classmethod
    def maillog(cls):
        try:
            with open(cls.tmp.join("maillog"), errors="replace") as f:
                return f.read()[-6000:]
        except OSError:
            return "(no maillog)"

    @classmethod
    def tearDownClass(cls):
        cls.postfix("stop", check=False)
        pidfile = cls.tmp.join("queue", "pid", "master.pid")
        # `postfix stop` waits for the master; make sure nothing is left.
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
            os.kill(pid, 9)
        except (OSError, ValueError):
            pass
        cls.relay.stop()
        cls.lmtp.stop()
        cls.copies.stop()
        cls.up.stop()
        cls.sink.stop()
        cls.tmp.cleanup()

    def postqueue(self, *args):
        return subprocess.run([os.path.join(SBIN, "postqueue"), "-c", self.etc] + list(args),
                              capture_output=True, text=True).stdout

    def swaks(self, port, msgid, xmsys='{"campaign_id": "postfix"}', sender="news@example.com",
              to="alice@example.net"):
        msg = html_message(msgid=msgid, xmsys=xmsys)
        msg = msg.replace("From: News <news@example.com>", "From: <%s>" % sender)
        path = self.tmp.join(msgid.strip("<>") + ".eml")
        with open(path, "w", newline="") as f:
            f.write(msg)
        out = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % port, "--from",
                              sender, "--to", to, "--helo",
                              "client.test", "--data", "@" + path],
                             capture_output=True, text=True, timeout=120)
        return out.returncode, out.stdout + out.stderr

    def delivered(self, msgid):
        for path in glob.glob(os.path.join(self.sinkdir, "*")):
            with open(path, "rb") as f:
                data = f.read()
            if ("Message-ID: %s\r\n" % msgid).encode() in data or \
               ("Message-ID: %s\n" % msgid).encode() in data:
                return data
        return None

    def assert_rewritten(self, data, msgid):
        self.assertNotIn(b"X-MSYS-API", data)
        self.assertIn(("Message-ID: %s" % msgid).encode(), data)
        urls = [m.group(0).decode() for m in harness.TRACKED_RE.finditer(data)]
        self.assertEqual(len([u for u in urls if "/f/" in u]), 1, data)
        self.assertEqual(len([u for u in urls if "/q/" in u]), 2, data)  # pixels
        token = self.relay.decode([u for u in urls if "/f/" in u][0])
        self.assertEqual(token["target"], "https://www.example.org/offer?a=1&b=2")
        self.assertEqual(token["message_id"], msgid.strip("<>"))
        self.assertEqual(token["rcpt_to"], "alice@example.net")
        self.assertEqual(token["campaign_id"], "postfix")

    def test_1_after_queue_content_filter(self):
        msgid = "<after-queue@example.com>"
        rc, out = self.swaks(self.ports["subport"], msgid)
        self.assertEqual(rc, 0, out)
        data = wait_until(lambda: self.delivered(msgid), "delivery to smtp-sink\n" + self.maillog())
        self.assert_rewritten(data, msgid)
        # Postfix logged the original client through XFORWARD.
        self.relay.proc.wait_for(r"status=sent .*msgid=<after-queue@example.com>")

    def test_1b_public_smtpd_filters_our_senders_only(self):
        # Outbound mail of our own sending domain on port 25: tracked.
        msgid = "<public-outbound@example.com>"
        rc, out = self.swaks(self.ports["inport"], msgid)
        self.assertEqual(rc, 0, out)
        data = wait_until(lambda: self.delivered(msgid), "delivery to smtp-sink\n" + self.maillog())
        self.assert_rewritten(data, msgid)
        # Inbound mail from a customer: delivered exactly as received.
        msgid = "<inbound@gmail.com>"
        rc, out = self.swaks(self.ports["inport"], msgid, xmsys=None, sender="customer@gmail.com")
        self.assertEqual(rc, 0, out)
        data = wait_until(lambda: self.delivered(msgid), "delivery to smtp-sink\n" + self.maillog())
        self.assertIsNone(harness.TRACKED_RE.search(data), data)
        self.assertIn(b'href="https://www.example.org/offer?a=1&amp;b=2"', data)
        self.assertEqual(data.count(b"Message-ID:"), 1, data)
        self.assertNotIn("inbound@gmail.com", self.relay.proc.text())

    def test_2_before_queue_proxy_filter(self):
        msgid = "<before-queue@example.com>"
        rc, out = self.swaks(self.ports["proxyport"], msgid)
        self.assertEqual(rc, 0, out)
        data = wait_until(lambda: self.delivered(msgid), "delivery to smtp-sink\n" + self.maillog())
        self.assert_rewritten(data, msgid)

    def test_3_malformed_controls_rejected_before_queue(self):
        rc, out = self.swaks(self.ports["proxyport"], "<bad@example.com>", xmsys='{"x":')
        self.assertNotEqual(rc, 0)
        self.assertIn("550 5.6.0", out)

    def test_4_trackrelay_down_defers_then_delivers(self):
        self.relay.stop()
        try:
            msgid = "<deferred@example.com>"
            rc, out = self.swaks(self.ports["subport"], msgid)
            self.assertEqual(rc, 0, out)  # queued by Postfix
            deferred = re.compile(r"status=deferred \(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:%d"
                                  % self.ports["relayport"])
            wait_until(lambda: deferred.search(self.maillog()),
                       "the delivery to be deferred\n" + self.maillog())
            self.assertIsNone(self.delivered(msgid))
            self.assertIn("alice@example.net", self.postqueue("-p"))
        finally:
            self.relay.start(self.relay_port)
        self.postqueue("-f")
        data = wait_until(lambda: self.delivered(msgid), "delivery after the flush\n" + self.maillog())
        self.assert_rewritten(data, msgid)

    def full_maillog(self):
        with open(self.tmp.join("maillog"), errors="replace") as f:
            return f.read()

    def sink_headers(self):
        out = []
        for path in glob.glob(os.path.join(self.sinkdir, "*")):
            with open(path, "rb") as f:
                data = f.read()
            out.append(re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0])
        return out

    def smuggle(self, port, variant, tag, bdat):
        c = RawClient(port)
        self.assertEqual(c.reply()[0], 220)
        c.cmd("EHLO client.example")
        self.assertEqual(c.cmd("MAIL FROM:<news@example.com>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.net>")[0], 250)
        if bdat:
            msg = attack(variant, tag).encode()
            c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        else:
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(attack(variant, tag) + ".\r\n")
        return c

    def wait_queue_empty(self):
        wait_until(lambda: "Mail queue is empty" in self.postqueue("-p"),
                   "an empty queue\n" + self.maillog())

    def test_6_smuggling_normalize_through_postfix(self):
        tags = []
        for i, v in enumerate(VARIANTS):
            for bdat in (False, True):
                tag = "pf%d%s" % (i, "b" if bdat else "d")
                c = self.smuggle(self.relay_port, v, tag, bdat)
                code, text = c.reply()
                self.assertEqual(code, 250, (v, bdat, text))
                c.cmd("QUIT")
                c.close()
                tags.append(tag)
        for tag in tags:
            outer = "<outer-%s@example.com>" % tag
            data = wait_until(lambda: self.delivered(outer), "delivery\n" + self.maillog())
            # The smuggled "message" arrived as the content it was.
            self.assertIn(b"Message-ID: <smuggled-%s@bank.example>" % tag.encode(), data)
        self.wait_queue_empty()
        heads = self.sink_headers()
        for tag in tags:
            t = tag.encode()
            self.assertEqual(len([h for h in heads if b"<outer-%s@example.com>" % t in h]), 1, tag)
            self.assertEqual([h for h in heads if b"<smuggled-%s@bank.example>" % t in h], [], tag)
        self.assertNotIn("from=<ceo@bank.example>", self.full_maillog())

    def test_7_smuggling_reject_through_postfix(self):
        relay = Relay(BINARY, self.tmp, "127.0.0.1:%d" % self.ports["reinjport"],
                      "bare_newline: reject", name="relay-reject")
        try:
            for i, v in enumerate(VARIANTS):
                for bdat in (False, True):
                    c = self.smuggle(relay.port, v, "rej%d%s" % (i, "b" if bdat else "d"), bdat)
                    code, text = c.reply()
                    self.assertEqual(code, 521, (v, bdat, text))
                    self.assertTrue(text.startswith("5.5.2"), text)
                    with self.assertRaises(ConnectionError):
                        c.reply()
                    c.close()
            # A clean message through the same relay still goes through.
            c = RawClient(relay.port)
            c.reply()
            c.cmd("EHLO client.example")
            c.cmd("MAIL FROM:<news@example.com>")
            c.cmd("RCPT TO:<alice@example.net>")
            c.cmd("DATA")
            c.send("Message-ID: <reject-clean@example.com>\r\nSubject: clean\r\n\r\nok\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
            c.cmd("QUIT")
            c.close()
        finally:
            relay.stop()
        wait_until(lambda: self.delivered("<reject-clean@example.com>"), "delivery\n" + self.maillog())
        self.wait_queue_empty()
        self.assertEqual([h for h in self.sink_headers() if b"rej" in h and b"outer-" in h], [])
        self.assertNotIn("from=<ceo@bank.example>", self.full_maillog())

    def statuses(self, rcpts):
        """{recipient: Postfix's first status=... for it}, waiting for all of them."""
        def find():
            log = self.full_maillog()
            out = {}
            for r in rcpts:
                m = re.search(r"to=<%s>,.* status=(\w+)" % re.escape(r), log)
                if m:
                    out[r] = m.group(1)
            return out if len(out) == len(rcpts) else None
        return wait_until(find, "a status for each of %s\n%s" % (rcpts, self.maillog()))

    def upstream_copies(self, msgid):
        """{local part: message} for each copy of `msgid` the scripted upstream got."""
        out = {}
        for e in self.up.events():
            if "message" not in e:
                continue
            with open(e["message"], "rb") as f:
                data = f.read()
            if ("Message-ID: %s" % msgid).encode() in data:
                self.assertEqual(len(e["rcpts"]), 1, e)  # one recipient per copy
                out.setdefault(e["rcpts"][0], []).append(data)
        return out

    def assert_copy_names(self, relay, data, rcpt, msgid):
        urls = [m.group(0).decode() for m in harness.TRACKED_RE.finditer(data)]
        self.assertEqual(len([u for u in urls if "/f/" in u]), 1, data)
        for url in urls:
            token = relay.decode(url)
            self.assertEqual(token["rcpt_to"], rcpt, url)
            self.assertEqual(token["message_id"], msgid.strip("<>"))

    def test_8_lmtp_after_queue_bounces_and_defers_exactly_the_right_recipients(self):
        msgid = "<lmtp@example.com>"
        rcpts = ["alice@lmtp.example", "rcpt451@lmtp.example", "rcpt550@lmtp.example",
                 "data452@lmtp.example", "data554@lmtp.example", "bob@lmtp.example"]
        rc, out = self.swaks(self.ports["lmtpsubport"], msgid, to=",".join(rcpts))
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.statuses(rcpts), {
            "alice@lmtp.example": "sent", "bob@lmtp.example": "sent",
            "rcpt451@lmtp.example": "deferred", "data452@lmtp.example": "deferred",
            "rcpt550@lmtp.example": "bounced", "data554@lmtp.example": "bounced"})
        self.assertRegex(self.full_maillog(),
                         r"/lmtp\[\d+\]: \w+: to=<data554@lmtp\.example>.*said: 554 5\.7\.1 "
                         r"scripted rejection \(in reply to end of DATA command\)")
        copies = self.upstream_copies(msgid)
        self.assertEqual(sorted(copies), ["alice", "bob", "data452", "data554"])
        for local in ("alice", "bob"):
            self.assertEqual(len(copies[local]), 1)
            self.assert_copy_names(self.lmtp, copies[local][0], local + "@lmtp.example", msgid)
        # Only the deferred recipients are left in the queue.
        queue = self.postqueue("-p")
        self.assertIn("rcpt451@lmtp.example", queue)
        self.assertIn("data452@lmtp.example", queue)
        self.assertNotIn("alice@lmtp.example", queue)
        self.assertNotIn("rcpt550@lmtp.example", queue)

    def test_9_smtp_per_recipient_copies(self):
        msgid = "<copies@example.com>"
        rcpts = ["alice@copies.example", "rcpt451@copies.example", "rcpt550@copies.example",
                 "bob@copies.example"]
        rc, out = self.swaks(self.ports["copysubport"], msgid, to=",".join(rcpts))
        self.assertEqual(rc, 0, out)
        # The upstream's word on each recipient came at RCPT time (the probe).
        self.assertEqual(self.statuses(rcpts), {
            "alice@copies.example": "sent", "bob@copies.example": "sent",
            "rcpt451@copies.example": "deferred", "rcpt550@copies.example": "bounced"})
        self.assertRegex(self.full_maillog(), r"to=<bob@copies\.example>.*status=sent "
                         r"\(250 2\.0\.0 Ok: 2 of 2 copies accepted\)")
        copies = self.upstream_copies(msgid)
        self.assertEqual(sorted(copies), ["alice", "bob"])
        for local in ("alice", "bob"):
            self.assert_copy_names(self.copies, copies[local][0], local + "@copies.example",
                                   msgid)
        # A copy deferred at the end of DATA defers the whole message: the
        # accepted copy went already and goes again on the retry (documented).
        msgid = "<copies-deferred@example.com>"
        rcpts = ["carol@copies.example", "data452@copies.example"]
        rc, out = self.swaks(self.ports["copysubport"], msgid, to=",".join(rcpts))
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.statuses(rcpts), {r: "deferred" for r in rcpts})
        self.assertIn("4.3.0 Not every recipient's copy was accepted", self.full_maillog())
        self.assertEqual(sorted(self.upstream_copies(msgid)), ["carol", "data452"])

    def test_5_documented_snippets(self):
        with open(DOCS) as f:
            doc = f.read()
        ports = {"reinjport": 10026, "relayport": 10025, "etc": "/etc/postfix"}
        lmtp = MASTER_LMTP.replace("trackrelay-lmtp", "trackrelay")
        for snippet in (MASTER_AFTER_QUEUE, MASTER_BEFORE_QUEUE, MAIN_CF_FILTER, SENDERS, lmtp):
            text = snippet.replace("127.0.0.1:{inport} inet", "smtp inet").replace(
                "127.0.0.1:{subport} inet", "submission inet").replace(
                "127.0.0.1:{proxyport} inet", "submission inet").format(**ports)
            for line in text.splitlines():
                if not line.startswith("#"):
                    self.assertIn(line, doc)


if __name__ == "__main__":
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
