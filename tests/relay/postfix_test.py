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
from harness import Proc, RawClient, Relay, TempDir, html_message
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
                                                "relayport", "sinkport")}
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
                    MASTER_BEFORE_QUEUE.format(**cls.ports) + MASTER_SERVICES)
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
        cls.sink.stop()
        cls.tmp.cleanup()

    def postqueue(self, *args):
        return subprocess.run([os.path.join(SBIN, "postqueue"), "-c", self.etc] + list(args),
                              capture_output=True, text=True).stdout

    def swaks(self, port, msgid, xmsys='{"campaign_id": "postfix"}', sender="news@example.com"):
        msg = html_message(msgid=msgid, xmsys=xmsys)
        msg = msg.replace("From: News <news@example.com>", "From: <%s>" % sender)
        path = self.tmp.join(msgid.strip("<>") + ".eml")
        with open(path, "w", newline="") as f:
            f.write(msg)
        out = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % port, "--from",
                              sender, "--to", "alice@example.net", "--helo",
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

    def test_5_documented_snippets(self):
        with open(DOCS) as f:
            doc = f.read()
        ports = {"reinjport": 10026, "relayport": 10025, "etc": "/etc/postfix"}
        for snippet in (MASTER_AFTER_QUEUE, MASTER_BEFORE_QUEUE, MAIN_CF_FILTER, SENDERS):
            text = snippet.replace("127.0.0.1:{inport} inet", "smtp inet").replace(
                "127.0.0.1:{subport} inet", "submission inet").replace(
                "127.0.0.1:{proxyport} inet", "submission inet").format(**ports)
            for line in text.splitlines():
                if not line.startswith("#"):
                    self.assertIn(line, doc)


if __name__ == "__main__":
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
