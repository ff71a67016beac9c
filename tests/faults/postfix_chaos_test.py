#!/usr/bin/env python3
"""tests/faults/postfix_chaos_test.py - N messages through a real Postfix and
trackrelay while the upstream misbehaves and trackrelay is SIGKILLed; then
every message is accounted for by its Message-ID.

  smtp-source -N (N messages, recipient <i>chaos@example.net, i = 1..N)
    -> Postfix submission smtpd (content_filter=trackrelay) -> queue (Message-ID added)
    -> smtp client "trackrelay" -> trackrelay serve
    -> chaos_proxy.py (4xx, 5xx, stalls past trackrelay's timeouts, drops
       mid-DATA, drops after the upstream's 250)
    -> Postfix reinjection smtpd -> queue -> smtp (relayhost) -> smtp-sink -d

A private Postfix instance (tests/relay/postfix_test.py's configuration, the
documented content_filter snippets, short retry times), loopback ports only.
While smtp-source runs, trackrelay is SIGKILLed --kills times, spread over the
run, and restarted on the same port after a random pause. Then the faults stop,
the queue is flushed until it is empty (or --drain seconds pass), and:

  * every i in 1..N is delivered to the sink, or bounced (a bounce in the
    sink naming the recipient, with a Diagnostic-Code), or still in Postfix's
    queue (postqueue -j, with a reason): lost == 0;
  * every bounce is one the proxy caused: it logged a 5xx fault (rcpt5xx,
    data5xx) for that recipient, and the bounce's Diagnostic-Code is that
    fault's reply. A bounce nobody injected counts as a lost message;
  * every delivered message was rewritten by trackrelay (tracked links);
  * a Message-ID delivered more than once is one the proxy logged as "the
    connection died after the upstream's 250" (its drop250 fault, or the
    relay's side of the connection ended right after that 250 - trackrelay
    killed): any other duplicate fails;
  * faults of every kind happened and trackrelay was killed --kills times.

The numbers are printed as one JSON line ("chaos summary: {...}").

usage: postfix_chaos_test.py TRACKRELAY [--messages N] [--kills K] [--seed S]
       (FAULTS_MESSAGES / FAULTS_KILLS in the environment override the defaults)
Needs root, Debian's postfix (smtp-source, smtp-sink); skips itself otherwise.
"""
import argparse
import collections
import glob
import json
import os
import pwd
import random
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "relay"))
import harness  # noqa: E402  tests/relay/harness.py
import postfix_test  # noqa: E402  the private instance's configuration
from harness import Proc, Relay, TempDir  # noqa: E402

SBIN = "/usr/sbin"
ARGS = None

# Per-transaction fault probabilities at the proxy (about 12% of upstream
# transactions fail one way or another).
FAULTS = "rcpt4xx=0.03,rcpt5xx=0.005,data4xx=0.03,data5xx=0.005,stall=0.004,dropdata=0.02,drop250=0.01"

MESSAGE = (
    "From: News <news@example.com>\n"
    "To: chaos@example.net\n"
    "Subject: chaos\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<html><body><p>Hello</p>\n"
    '<a href="https://www.example.org/offer?a=1&amp;b=2">offer</a>\n'
    '<a href="https://shop.example.org/item/42">item</a>\n'
    ".a line that starts with a dot\n"
    "</body></html>\n")

# Retry quickly: deferred mail is retried within seconds, not minutes.
RETRY = {"minimal_backoff_time": "2s", "maximal_backoff_time": "4s", "queue_run_delay": "2s"}
EXTRA_MAIN_CF = """\
in_flow_delay = 0
smtp_connect_timeout = 5s
"""

HDR_RE = re.compile(rb"^([A-Za-z-]+):[ \t]*(.*?)\r?$", re.M)
RCPT_RE = re.compile(rb"(\d+)chaos@example\.net", re.I)


def header_block(data):
    end = data.find(b"\n\n")
    end2 = data.find(b"\r\n\r\n")
    ends = [e for e in (end, end2) if e >= 0]
    return data[:min(ends)] if ends else data


def header(block, name):
    for m in HDR_RE.finditer(block):
        if m.group(1).lower() == name.lower().encode():
            return m.group(2).decode("utf-8", "replace").strip()
    return None


class PostfixChaos(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("a private Postfix instance needs root")
        for tool in ("postfix", "postqueue", "smtp-sink", "smtp-source"):
            if not os.path.exists(os.path.join(SBIN, tool)):
                self.skipTest("Debian package postfix is not installed")
        self.tmp = TempDir("trackrelay-chaos-")
        self.procs = []
        self.postfix_started = False
        d = self.tmp.path
        os.chmod(d, 0o755)  # Postfix daemons run as user postfix
        self.ports = {k: postfix_test.free_port() for k in
                      ("inport", "subport", "proxyport", "reinjport", "relayport", "sinkport")}
        self.etc = self.tmp.join("etc")
        self.ports["etc"] = self.etc
        for sub in ("etc", "queue", "data", "sink"):
            os.makedirs(self.tmp.join(sub))
        pw = pwd.getpwnam("postfix")
        os.chown(self.tmp.join("data"), pw.pw_uid, pw.pw_gid)
        os.chown(self.tmp.join("sink"), pw.pw_uid, pw.pw_gid)
        main_cf = postfix_test.MAIN_CF.format(dir=d, **self.ports)
        for k, v in RETRY.items():
            main_cf = re.sub(r"^%s = .*$" % k, "%s = %s" % (k, v), main_cf, flags=re.M)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(main_cf + postfix_test.MAIN_CF_FILTER + EXTRA_MAIN_CF)
        with open(os.path.join(self.etc, "trackrelay_senders"), "w") as f:
            f.write(postfix_test.SENDERS.format(**self.ports))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(postfix_test.MASTER_AFTER_QUEUE.format(**self.ports) +
                    postfix_test.MASTER_SERVICES)
        self.sinkdir = self.tmp.join("sink")
        self.procs.append(Proc([os.path.join(SBIN, "smtp-sink"), "-u", "postfix", "-d",
                                self.sinkdir + "/%M.", "127.0.0.1:%d" % self.ports["sinkport"],
                                "64"], cwd=d))
        self.calm = self.tmp.join("calm")
        self.proxylog = self.tmp.join("proxy.jsonl")
        self.proxy = Proc([sys.executable, os.path.join(HERE, "chaos_proxy.py"),
                           "--upstream", "127.0.0.1:%d" % self.ports["reinjport"],
                           "--log", self.proxylog, "--calm", self.calm,
                           "--seed", str(ARGS.seed), "--stall", "20", "--faults", FAULTS],
                          cwd=d, stream="stdout")
        self.procs.append(self.proxy)
        proxy_port = int(self.proxy.wait_for(r"^PORT (\d+)$").group(1))
        self.relay = Relay(ARGS.binary, self.tmp, "127.0.0.1:%d" % proxy_port,
                           "upstream_connect_timeout: 3\nupstream_reply_timeout: 3\n"
                           "upstream_data_timeout: 4\n", port=self.ports["relayport"])
        self.postfix("check")
        self.postfix("start")
        self.postfix_started = True
        for k in ("subport", "sinkport", "reinjport"):
            postfix_test.wait_listening(self.ports[k])

    def tearDown(self):
        if getattr(self, "postfix_started", False):
            self.postfix("stop", check=False)
            try:
                with open(self.tmp.join("queue", "pid", "master.pid")) as f:
                    os.kill(int(f.read().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        if getattr(self, "relay", None):
            self.relay.stop(signal.SIGKILL)
        for p in reversed(getattr(self, "procs", [])):
            p.stop(signal.SIGKILL)
        if getattr(self, "tmp", None):
            if os.environ.get("FAULTS_KEEP"):
                sys.stderr.write("kept %s\n" % self.tmp.path)
            else:
                self.tmp.cleanup()

    def postfix(self, *args, check=True):
        out = subprocess.run([os.path.join(SBIN, "postfix"), "-c", self.etc] + list(args),
                             capture_output=True, text=True)
        if check and out.returncode != 0:
            raise AssertionError("postfix %s: %s%s" % (" ".join(args), out.stdout, out.stderr))
        return out

    def postqueue(self, *args):
        return subprocess.run([os.path.join(SBIN, "postqueue"), "-c", self.etc] + list(args),
                              capture_output=True, text=True).stdout

    def queue_entries(self):
        return [json.loads(l) for l in self.postqueue("-j").splitlines() if l.strip()]

    def proxy_events(self):
        with open(self.proxylog, encoding="utf-8") as f:
            return [json.loads(l) for l in f if l.strip()]

    def proxy_250s(self):
        n = 0
        with open(self.proxylog, "rb") as f:
            for l in f:
                if b'"reply": "250' in l:
                    n += 1
        return n

    # --- the chaos ---------------------------------------------------------

    def killer(self, n, kills, done, record):
        """SIGKILLs trackrelay `kills` times, spread over the upstream's 250s."""
        rng = random.Random(ARGS.seed + 1)
        for k in range(1, kills + 1):
            goal = n * k // (kills + 1)
            while self.proxy_250s() < goal and not done.is_set():
                time.sleep(0.1)
            if done.is_set() and self.proxy_250s() < goal:
                goal = -1  # smtp-source finished early: kill anyway
            self.relay.stop(signal.SIGKILL)
            record.append(time.monotonic())
            time.sleep(rng.uniform(0.1, 1.5))  # Postfix meanwhile: connection refused
            self.relay.start(self.ports["relayport"])

    def test_no_message_lost(self):
        n, kills = ARGS.messages, ARGS.kills
        msg = self.tmp.join("message.eml")
        with open(msg, "w") as f:
            f.write(MESSAGE)
        t0 = time.monotonic()
        source = subprocess.Popen(
            [os.path.join(SBIN, "smtp-source"), "-N", "-d", "-s", "4", "-m", str(n),
             "-f", "chaos-sender@example.com", "-t", "chaos@example.net", "-M", "client.test",
             "-F", msg, "127.0.0.1:%d" % self.ports["subport"]],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.tmp.path)
        done = threading.Event()
        kill_times = []
        killer = threading.Thread(target=self.killer, args=(n, kills, done, kill_times))
        killer.start()
        out, _ = source.communicate(timeout=ARGS.timeout)
        submitted = time.monotonic()
        self.assertEqual(source.returncode, 0, out.decode(errors="replace"))
        done.set()
        killer.join(ARGS.timeout)
        self.assertEqual(len(kill_times), kills)

        # Calm: no more faults; flush the queue until it is empty.
        open(self.calm, "w").close()
        deadline = time.monotonic() + ARGS.drain
        while True:
            entries = self.queue_entries()
            if not entries or time.monotonic() > deadline:
                break
            self.postqueue("-f")
            time.sleep(1.0)
        drained = time.monotonic()
        # The sink has written every message Postfix handed it by now: the
        # queue is empty only after smtp-sink answered the final dot.
        delivered, bounced = self.scan_sink()
        queued = {}
        for e in entries:
            for r in e.get("recipients", []):
                m = RCPT_RE.search(r["address"].encode())
                if m:
                    queued[int(m.group(1))] = r.get("delay_reason", "")

        want = set(range(1, n + 1))
        got_delivered = {i for i, _ in delivered}
        events = self.proxy_events()
        caused = self.caused_bounces(events)
        uncaused = sorted(i for i, reason in bounced.items()
                          if not any(text in reason for text in caused.get(i, ())))
        explained = set(bounced) - set(uncaused)
        lost = sorted(want - got_delivered - explained - set(queued))
        msgids = collections.Counter(mid for _, mid in delivered)
        dup_ids = {mid: c for mid, c in msgids.items() if c > 1}
        dup_risk = collections.Counter(e["msgid"] for e in events if "dup_risk" in e)
        faults = collections.Counter(e["fault"] for e in events if e.get("fault", "none") != "none")
        unexplained = sorted(m for m in dup_ids if m not in dup_risk)
        per_rcpt = collections.Counter(i for i, _ in delivered)
        rcpt_ids = collections.defaultdict(set)
        for i, mid in delivered:
            rcpt_ids[i].add(mid)
        summary = {
            "messages": n, "delivered_unique": len(got_delivered), "bounced": len(bounced),
            "bounces_not_injected": len(uncaused),
            "queued": len(queued), "lost": len(lost),
            "duplicates": sum(c - 1 for c in dup_ids.values()),
            "duplicated_msgids": len(dup_ids), "dup_risk_logged": sum(dup_risk.values()),
            "unexplained_duplicates": len(unexplained), "kills": len(kill_times),
            "faults": dict(sorted(faults.items())),
            "upstream_transactions": sum(1 for e in events if "reply" in e),
            "submit_seconds": round(submitted - t0, 1),
            "total_seconds": round(drained - t0, 1),
        }
        print("chaos summary: " + json.dumps(summary), flush=True)
        self.assertEqual(uncaused, [], "bounces no fault caused: %s" %
                         {i: bounced[i] for i in uncaused})
        self.assertEqual(lost, [], "lost messages (recipient numbers); summary %s" % summary)
        self.assertEqual(unexplained, [], "duplicates without a death after 250")
        # One Message-ID per recipient number (Postfix added them at the front).
        self.assertTrue(all(len(s) == 1 for s in rcpt_ids.values()))
        self.assertEqual(len(set(msgids)), len(got_delivered))
        self.assertTrue(all(per_rcpt[i] == msgids[next(iter(rcpt_ids[i]))] for i in rcpt_ids))
        for i, reason in bounced.items():
            self.assertRegex(reason, r"\b5\.\d+\.\d+\b", "bounce of %d without a reason" % i)
        for i, reason in queued.items():
            self.assertTrue(reason, "queued %d without a reason" % i)
        if n >= 500:  # enough transactions for every kind of fault to have been drawn
            for kind in ("rcpt4xx", "data4xx", "dropdata", "drop250", "stall"):
                self.assertGreater(faults[kind], 0, kind)
        self.assertEqual(len(kill_times), kills)

    # The reply text of each fault that ends in a bounce (chaos_proxy.py).
    BOUNCE_TEXT = {"rcpt5xx": "550 5.1.1 chaos: scripted RCPT rejection",
                   "data5xx": "554 5.7.1 chaos: scripted DATA rejection"}

    def caused_bounces(self, events):
        """{rcpt number: {reply texts of the 5xx faults the proxy injected for it}}."""
        caused = collections.defaultdict(set)
        for e in events:
            text = self.BOUNCE_TEXT.get(e.get("fault"))
            if not text:
                continue
            for r in ([e["rcpt"]] if "rcpt" in e else e.get("rcpts", [])):
                m = RCPT_RE.search(r.encode())
                if m:
                    caused[int(m.group(1))].add(text)
        return caused

    def scan_sink(self):
        """[(rcpt number, Message-ID)] delivered (rewritten), {rcpt number: reason} bounced."""
        delivered, bounced = [], {}
        for path in glob.glob(os.path.join(self.sinkdir, "*")):
            with open(path, "rb") as f:
                data = f.read()
            block = header_block(data)
            rcpt = header(block, "X-Rcpt-Args") or ""
            if (header(block, "X-Mail-Args") or "").startswith("<>"):  # a bounce (null sender)
                for m in re.finditer(rb"Final-Recipient: rfc822;\s*(\d+)chaos@example\.net"
                                     rb"(.*?)(?:\r?\n\r?\n|$)", data, re.S | re.I):
                    diag = re.search(rb"Diagnostic-Code:\s*([^\r\n]+)", m.group(2))
                    bounced[int(m.group(1))] = diag.group(1).decode() if diag else ""
                continue
            m = RCPT_RE.search(rcpt.encode())
            self.assertIsNotNone(m, "unexpected message in the sink: %s" % path)
            mid = header(block, "Message-ID")
            self.assertTrue(mid, "no Message-ID: %s" % path)
            self.assertRegex(data, harness.TRACKED_RE, "not rewritten by trackrelay: %s" % path)
            delivered.append((int(m.group(1)), mid))
        return delivered, bounced


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("--messages", type=int, default=int(os.environ.get("FAULTS_MESSAGES", 5000)))
    p.add_argument("--kills", type=int, default=int(os.environ.get("FAULTS_KILLS", 4)))
    p.add_argument("--seed", type=int, default=int(os.environ.get("FAULTS_SEED", 7)))
    p.add_argument("--timeout", type=float, default=1800, help="seconds for submission")
    p.add_argument("--drain", type=float, default=300, help="seconds to empty the queue")
    ARGS, rest = p.parse_known_args()
    ARGS.binary = os.path.abspath(ARGS.binary)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
