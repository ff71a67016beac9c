#!/usr/bin/env python3
"""tests/acme/ari_stub_test.py - ACME Renewal Information (RFC 9773) as real
processes. No Debian ACME server offers ARI (pebble 2.4's directory has no
`renewalInfo`), so the CA here is Debian's `pebble` behind a small HTTPS stub
written in this test: it passes every request through to pebble (keeping
the Host header, so pebble's URLs and JWS `url` checks name the stub), adds
`renewalInfo` to the directory, answers `GET /renewal-info/<id>` as the test
says, and records each newOrder payload. Plus dnsmasq, `trackrelay serve`
and `openssl s_client` / `openssl x509` for what is served.

Proves: serve asks renewalInfo with the certificate's ARI identifier (the
one `openssl x509 -ext authorityKeyIdentifier -serial` gives); a window in
the future leaves the certificate alone; a window in the past (read again
by a restarted serve) renews at once with `replaces: <id>` in newOrder;
acme.renew_before_days still renews a certificate whose ARI window is later
(an upper bound); a malformed answer is logged once and the lifetime rule
applies (pebble's long-lived certificate is not renewed, renewalInfo is not
asked again before its retry time).

usage: ari_stub_test.py TRACKRELAY
"""
import base64
import http.client
import http.server
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import harness  # noqa: E402
from acme_test import Pebble, openssl, wait_until  # noqa: E402

TRACKRELAY = sys.argv[1] if len(sys.argv) > 1 else None
DOMAIN = "ari.example.com"
RECORDS = ["host-record=track.example.net,127.0.0.1", "cname=%s,track.example.net" % DOMAIN]


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Stub:
    """An HTTPS ACME directory with renewalInfo in front of pebble."""

    def __init__(self, workdir, pebble):
        self.pebble = pebble
        key, csr, cert = (os.path.join(workdir, n) for n in ("stub.key", "stub.csr", "stub.pem"))
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=ari stub", "-keyout", key, "-out", csr)
        ext = os.path.join(workdir, "stub.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", csr, "-CA", pebble.ca, "-CAkey",
                os.path.join(workdir, "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", ext,
                "-out", cert)
        self.lock = threading.Lock()
        self.answers = {}      # ARI id -> (status, body, retry_after)
        self.default = None    # the answer for other ids
        self.asked = []        # ARI ids asked, in order
        self.orders = []       # payloads (JSON) of the newOrders pebble created
        self.new_order_path = None
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                stub.handle(self)

            def do_HEAD(self):
                stub.handle(self)

            def do_POST(self):
                stub.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.directory = "https://127.0.0.1:%d/dir" % self.port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, ari_id, status, body, retry_after="60"):
        with self.lock:
            answer = (status, body, retry_after)
            if ari_id is None:
                self.default = answer
            else:
                self.answers[ari_id] = answer

    def window(self, start, end):
        return json.dumps({"suggestedWindow": {"start": rfc3339(start), "end": rfc3339(end)},
                           "explanationURL": "https://ca.example/why"})

    def handle(self, req):
        if req.path.startswith("/renewal-info/"):
            ari_id = req.path[len("/renewal-info/"):]
            with self.lock:
                self.asked.append(ari_id)
                status, body, retry = self.answers.get(ari_id, self.default)
            return self.reply(req, status, body.encode(), {"Retry-After": retry,
                                                           "Content-Type": "application/json"})
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        conn = http.client.HTTPSConnection("127.0.0.1", self.pebble.port, context=self.pebble.tls,
                                           timeout=30)
        headers = {k: v for k, v in req.headers.items() if k.lower() != "connection"}
        conn.request(req.command, req.path, body=body or None, headers=headers)
        r = conn.getresponse()
        out = r.read()
        passed = {k: v for k, v in r.getheaders()
                  if k.lower() not in ("content-length", "transfer-encoding", "connection")}
        conn.close()
        # Only orders pebble created count: pebble refuses a share of nonces
        # (PEBBLE_WFE_NONCEREJECT, 5 % by default) and the client posts the
        # same newOrder again, which is not a second order.
        if req.command == "POST" and req.path == self.new_order_path and r.status == 201:
            with self.lock:
                self.orders.append(json.loads(unb64url(json.loads(body)["payload"])))
        if req.path == "/dir" and r.status == 200:
            d = json.loads(out)
            self.new_order_path = "/" + d["newOrder"].split("/", 3)[3]
            d["renewalInfo"] = "https://127.0.0.1:%d/renewal-info" % self.port
            out = json.dumps(d).encode()
        self.reply(req, r.status, out, passed)

    def reply(self, req, status, body, headers):
        req.send_response(status)
        for k, v in headers.items():
            req.send_header(k, v)
        req.send_header("Content-Length", str(len(body)))
        req.send_header("Connection", "close")
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(body)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Ari(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = harness.Env(TRACKRELAY)
        try:
            cls.dns = cls.env.dnsmasq(RECORDS)
            cls.http_port = harness.tcp_port()
            cls.pebble = Pebble(cls.env.dir, cls.dns.port, cls.http_port)
            cls.env.procs.append(cls.pebble)
            cls.stub = Stub(cls.env.dir, cls.pebble)
            cls.env.procs.append(cls.stub)
            now = time.time()
            cls.stub.set(None, 200, cls.stub.window(now + 30 * 86400, now + 31 * 86400))
            cls.config = cls.write_config(0)
            r = cls.env.run("--config", cls.config, "keys", "create", "--label", "ari")
            assert r.returncode == 0, r.stderr
            cls.key = r.stdout.decode().strip()
            cls.start_serve()
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def start_serve(cls):
        cls.serve = cls.env.serve(cls.config)
        cls.api = harness.Client(cls.serve.ports["api"], cls.key)
        line = cls.serve.wait_for(r"track: listening on https://127\.0\.0\.1:\d+")
        cls.tls_port = int(re.search(r"https://127\.0\.0\.1:(\d+)", line).group(1))

    @classmethod
    def write_config(cls, renew_before_days):
        return cls.env.config("ari.yaml", (
            "track: {listen: '127.0.0.1:%d', tls_listen: '127.0.0.1:0'}\n"
            "api: {listen: '127.0.0.1:0', store_poll_ms: 100}\n"
            "dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 1000, reverify_interval: 0}\n"
            "acme: {directory: '%s', email: ops@example.net, ca_file: '%s',"
            " renew_before_days: %d}\n") % (cls.http_port, cls.dns.port, cls.stub.directory,
                                            cls.pebble.ca, renew_before_days))

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def restart(self):
        self.serve.stop()
        self.env.procs.remove(self.serve)
        self.start_serve()

    def served(self):
        """(serial, ARI id computed from openssl's printout) of the served leaf."""
        r = subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.tls_port, "-servername",
             DOMAIN, "-verify_return_error", "-CAfile", self.pebble.root, "-verify_hostname",
             DOMAIN], input=b"", capture_output=True, timeout=30)
        if r.returncode != 0:
            return None
        x = subprocess.run(["openssl", "x509", "-noout", "-serial", "-ext",
                            "authorityKeyIdentifier"], input=r.stdout, capture_output=True,
                           timeout=30).stdout.decode()
        serial = keyid = None
        for line in x.splitlines():
            line = line.strip()
            if line.startswith("serial="):
                serial = line.split("=", 1)[1]
            elif ":" in line and "Identifier" not in line:
                keyid = line.replace("keyid:", "")
        raw = bytes.fromhex(serial if len(serial) % 2 == 0 else "0" + serial)
        if raw[0] & 0x80:
            raw = b"\0" + raw  # the DER INTEGER's leading zero
        return serial, b64url(bytes.fromhex(keyid.replace(":", ""))) + "." + b64url(raw)

    def new_serial(self, before, timeout=120):
        try:
            return wait_until("a renewed certificate", lambda: (
                lambda s: s if s and s[0] != before[0] else None)(self.served()), timeout)
        except AssertionError:
            raise AssertionError("no renewal; serve's acme log:\n" + "\n".join(
                l for l in self.serve.lines if l and "acme" in l))

    def acme_log(self, text):
        return [l for l in self.serve.lines if l and "acme" in l and text in l]

    def test_1_window_ahead_keeps_the_certificate(self):
        status, body = self.api.call("POST", "/tracking-domains",
                                     {"domain": DOMAIN, "secure": True, "default": True})
        self.assertEqual(status, 200, body)
        status, body = self.api.call("POST", "/tracking-domains/%s/verify" % DOMAIN)
        self.assertEqual(status, 200, body)
        first = wait_until("the first certificate", self.served)
        wait_until("renewalInfo asked", lambda: first[1] in self.stub.asked, 30)
        self.serve.wait_for("renewal information \\(ARI\\) for %s: window" % first[1])
        self.assertNotIn("replaces", self.stub.orders[0])  # a first order replaces nothing
        time.sleep(12)  # two more passes
        self.assertEqual(self.served()[0], first[0])
        self.assertEqual(len(self.stub.orders), 1, self.stub.orders)
        self.assertEqual(self.stub.asked.count(first[1]), 1)  # not before Retry-After (>= 1 h)
        Ari.first = first

    def test_2_window_past_renews_at_once_with_replaces(self):
        now = time.time()
        self.stub.set(self.first[1], 200, self.stub.window(now - 2 * 86400, now - 86400))
        self.restart()  # the window is kept in memory: a restart asks again
        second = self.new_serial(self.first, 60)
        self.assertIn({"replaces": self.first[1]},
                      [{"replaces": o.get("replaces")} for o in self.stub.orders[1:]])
        self.assertTrue(self.acme_log("the order replaces " + self.first[1]))
        Ari.second = second

    def test_3_renew_before_days_is_an_upper_bound(self):
        wait_until("renewalInfo asked", lambda: self.second[1] in self.stub.asked, 30)
        self.write_config(3650)  # every pebble certificate is that close to expiry
        self.serve.proc.send_signal(signal.SIGHUP)
        self.serve.wait_for("configuration reloaded")
        third = self.new_serial(self.second)
        self.write_config(0)
        self.serve.proc.send_signal(signal.SIGHUP)
        self.assertNotEqual(third[0], self.second[0])

        def stable():  # an order already under way when the reload came may still finish
            before = self.served()
            time.sleep(6)  # more than a pass
            return before if before and self.served() == before else None
        Ari.third = wait_until("no more renewals", stable, 60, 0)

    def test_4_malformed_answer_falls_back_once(self):
        self.stub.set(None, 200, '{"suggestedWindow": "soon"}')
        cur = self.third
        before = self.stub.asked.count(cur[1])
        self.restart()
        wait_until("renewalInfo asked", lambda: self.stub.asked.count(cur[1]) > before, 30)
        self.serve.wait_for("renewal information \\(ARI\\).*suggestedWindow.*lifetime")
        time.sleep(12)  # two more passes: the lifetime rule keeps pebble's certificate
        self.assertEqual(self.served()[0], cur[0])
        self.assertEqual(len(self.acme_log("renewing by the certificate's lifetime")), 1)
        self.assertEqual(self.stub.asked.count(cur[1]), before + 1)  # once per serve process


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
