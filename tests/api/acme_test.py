#!/usr/bin/env python3
"""tests/api/acme_test.py - automatic HTTPS for tracking domains (issue 14)
as real processes: Debian's `pebble` ACME server, dnsmasq, `trackrelay serve`
(API + tracker with a plain and a TLS listener, acme.directory pointing at
pebble), `trackrelay rewrite` for the links, `openssl s_client` for what the
TLS listener serves.

Proves: a secure tracking domain created through the API is verified (CNAME
in dnsmasq), gets a certificate from pebble with no manual step (HTTP-01
answered by the tracker's plain listener from the store), is served by SNI
and verifies against pebble's root (`openssl s_client -verify_return_error`),
and its links switch from http:// to https:// only then; a challenge that
fails (pebble's DNS points the name elsewhere) shows `failed` with the
reason and is retried; an unknown SNI name gets the TLS alert
unrecognized_name; an uploaded certificate is checked (wrong key, wrong
name: 400), served at once, and DELETE hands the name back to ACME; a
certificate near expiry (acme.renew_before_days, reloaded by SIGHUP) is
renewed: a new serial is served.

usage: acme_test.py TRACKRELAY
"""
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TRACKRELAY = sys.argv[1] if len(sys.argv) > 1 else None
PEBBLE = "/usr/bin/pebble"
# What trackrelay's resolver says: every test domain is CNAMEd to the system domain.
RECORDS = [
    "host-record=track.example.net,127.0.0.1",
    "cname=secure.example.com,track.example.net",
    "cname=bad.example.com,track.example.net",
    "cname=upload.example.com,track.example.net",
]
# What pebble's resolver says: bad.example.com points elsewhere (nothing listens there).
PEBBLE_RECORDS = [
    "host-record=track.example.net,127.0.0.1",
    "cname=secure.example.com,track.example.net",
    "host-record=bad.example.com,127.0.0.2",
    "cname=upload.example.com,track.example.net",
]
MAIL = (b"From: news@shop.example.org\r\nTo: b@example.net\r\nContent-Type: text/html\r\n\r\n"
        b"<a href=\"https://shop.example/x\">x</a>\r\n")


def openssl(*args, cwd=None):
    r = subprocess.run(["openssl"] + list(args), capture_output=True, cwd=cwd, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    return r


def wait_until(what, fn, timeout=120, every=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


class Pebble:
    """pebble with its own TLS certificate (signed by a CA the test makes),
    HTTP-01 validations sent to the tracker's plain port, DNS from dnsmasq."""

    def __init__(self, workdir, dns_port, http_port, ocsp_url="", tls_port=None):
        self.dir = workdir
        ca_key, ca = os.path.join(workdir, "ca.key"), os.path.join(workdir, "ca.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-days", "2", "-subj", "/CN=acme test CA", "-keyout", ca_key, "-out", ca)
        self.ca = ca
        key, csr, cert = (os.path.join(workdir, n) for n in ("pebble.key", "pebble.csr",
                                                             "pebble.pem"))
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=localhost", "-keyout", key, "-out", csr)
        ext = os.path.join(workdir, "pebble.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                "-days", "2", "-extfile", ext, "-out", cert)
        self.port, self.mgmt = harness.tcp_port(), harness.tcp_port()
        config = os.path.join(workdir, "pebble.json")
        with open(config, "w") as f:
            json.dump({"pebble": {
                "listenAddress": "127.0.0.1:%d" % self.port,
                "managementListenAddress": "127.0.0.1:%d" % self.mgmt,
                "certificate": cert, "privateKey": key,
                "httpPort": http_port, "tlsPort": tls_port or harness.tcp_port(),
                "ocspResponderURL": ocsp_url, "externalAccountBindingRequired": False}}, f)
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_VA_ALWAYS_VALID="0")
        self.log = open(os.path.join(workdir, "pebble.log"), "wb")
        self.proc = subprocess.Popen([PEBBLE, "-config", config, "-dnsserver",
                                      "127.0.0.1:%d" % dns_port],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.tls = ssl.create_default_context(cafile=ca)
        self.directory = "https://127.0.0.1:%d/dir" % self.port
        wait_until("pebble's directory", self._answers, 30, 0.2)
        self.root = os.path.join(workdir, "pebble-root.pem")
        with open(self.root, "wb") as f:
            f.write(self.get("https://127.0.0.1:%d/roots/0" % self.mgmt))

    def get(self, url):
        with urllib.request.urlopen(url, context=self.tls, timeout=10) as r:
            return r.read()

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("pebble exited: " + open(self.log.name).read())
        try:
            return b"newOrder" in self.get(self.directory)
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()


class Acme(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = harness.Env(TRACKRELAY)
        try:
            cls.dns = cls.env.dnsmasq(RECORDS)
            cls.pebble_dns = cls.env.dnsmasq(PEBBLE_RECORDS)
            cls.http_port = harness.tcp_port()
            cls.pebble = Pebble(cls.env.dir, cls.pebble_dns.port, cls.http_port)
            cls.env.procs.append(cls.pebble)
            cls.config = cls.write_config(0)
            r = cls.env.run("--config", cls.config, "keys", "create", "--label", "acme")
            assert r.returncode == 0, r.stderr
            cls.serve = cls.env.serve(cls.config)
            cls.api = harness.Client(cls.serve.ports["api"], r.stdout.decode().strip())
            cls.tls_port = int(re.search(r"track: listening on https://127\.0\.0\.1:(\d+)",
                                         "\n".join(l for l in cls.serve.lines if l)).group(1))
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def write_config(cls, renew_before_days):
        return cls.env.config("acme.yaml", (
            "track: {listen: '127.0.0.1:%d', tls_listen: '127.0.0.1:0'}\n"
            "api: {listen: '127.0.0.1:0', store_poll_ms: 100}\n"
            "dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 1000, reverify_interval: 0}\n"
            "acme: {directory: '%s', email: ops@example.net, ca_file: '%s',"
            " renew_before_days: %d}\n") % (cls.http_port, cls.dns.port, cls.pebble.directory,
                                            cls.pebble.ca, renew_before_days))

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def domain(self, name):
        status, body = self.api.call("GET", "/tracking-domains/" + name)
        self.assertEqual(status, 200, body)
        return body["results"]

    def create_verified(self, name, default=False):
        status, body = self.api.call("POST", "/tracking-domains",
                                     {"domain": name, "secure": True, "default": default})
        self.assertEqual(status, 200, body)
        self.verify(name)

    def verify(self, name):
        status, body = self.api.call("POST", "/tracking-domains/%s/verify" % name)
        self.assertEqual(status, 200, body)
        self.assertTrue(body["results"]["verified"], body)

    def tls_status(self, name, wanted):
        t = self.domain(name)["tls"]
        return t if t["status"] == wanted else None

    def s_client(self, name, ca):
        return subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.tls_port, "-servername",
             name, "-verify_return_error", "-CAfile", ca, "-verify_hostname", name],
            input=b"", capture_output=True, timeout=30)

    def served_serial(self, name, ca):
        r = self.s_client(name, ca)
        if r.returncode != 0:
            return None
        x = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=r.stdout,
                           capture_output=True, timeout=30)
        return x.stdout.decode().strip().split("=")[-1].upper() or None

    def link_scheme(self):
        r = self.env.run("--config", self.config, "rewrite", stdin=MAIL)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(r"(https?)://secure\.example\.com/f/", r.stdout.decode())
        self.assertIsNotNone(m, r.stdout)
        return m.group(1)

    def test_1_secure_domain_gets_a_certificate_and_https_links(self):
        self.create_verified("secure.example.com", default=True)
        # Until the certificate is live, links stay http:// and the status says why.
        first = self.domain("secure.example.com")["tls"]
        if first["status"] == "pending":
            self.assertIn("links use http://", first["message"])
            self.assertEqual(self.link_scheme(), "http")
        active = wait_until("an ACME certificate",
                            lambda: self.tls_status("secure.example.com", "active"))
        self.assertRegex(active["expires"], r"^\d{4}-\d\d-\d\dT")
        self.assertIn("issued by " + self.pebble.directory, active["message"])
        serial = wait_until("the certificate served by SNI",
                            lambda: self.served_serial("secure.example.com", self.pebble.root),
                            30)
        self.assertTrue(serial)
        r = self.s_client("secure.example.com", self.pebble.root)
        self.assertIn(b"Verify return code: 0 (ok)", r.stdout)
        self.assertIn(b"TLSv1.", r.stdout)
        wait_until("https:// links", lambda: self.link_scheme() == "https", 30)
        # The served chain is pebble's, not trusted by a CA that did not issue it.
        self.assertNotEqual(self.s_client("secure.example.com", self.pebble.ca).returncode, 0)

    def test_2_failing_challenge_shows_failed_and_retries(self):
        self.create_verified("bad.example.com")
        failed = wait_until("a failed challenge",
                            lambda: self.tls_status("bad.example.com", "failed"))
        self.assertIn("127.0.0.2", failed["message"])
        self.assertIn("attempt 1", failed["message"])
        self.assertIn("links use http://", failed["message"])
        wait_until("a retry", lambda: "attempt 2" in self.domain("bad.example.com")["tls"]
                   ["message"], 120)
        self.assertIsNone(self.served_serial("bad.example.com", self.pebble.root))

    def test_3_unknown_name_gets_unrecognized_name(self):
        ctx = ssl.create_default_context(cafile=self.pebble.root)
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=10) as raw:
            with self.assertRaises(ssl.SSLError) as e:
                ctx.wrap_socket(raw, server_hostname="unknown.example.org").close()
        self.assertIn("UNRECOGNIZED_NAME", str(e.exception).upper())
        # TLS 1.1 is refused by the server (the client allows it: SECLEVEL=0).
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.tls_port,
                            "-servername", "secure.example.com", "-tls1_1", "-cipher",
                            "DEFAULT@SECLEVEL=0"], input=b"", capture_output=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"alert protocol version", r.stdout + r.stderr)
        # TLS 1.2 with a non-ECDHE (static RSA) cipher is refused; ECDHE works.
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.tls_port,
                            "-servername", "secure.example.com", "-tls1_2", "-cipher",
                            "AES128-SHA:AES256-GCM-SHA384"], input=b"", capture_output=True,
                           timeout=30)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.tls_port,
                            "-servername", "secure.example.com", "-tls1_2"], input=b"",
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), r"Cipher is ECDHE-(ECDSA|RSA)-")

    def make_cert(self, name, san):
        d = self.env.dir
        key, csr, cert = (os.path.join(d, name + ext) for ext in (".key", ".csr", ".pem"))
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
                "/CN=" + san, "-keyout", key, "-out", csr)
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:%s\n" % san)
        openssl("x509", "-req", "-in", csr, "-CA", self.pebble.ca, "-CAkey",
                os.path.join(d, "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", ext,
                "-out", cert)
        return open(cert).read(), open(key).read()

    def test_4_uploaded_certificate(self):
        status, body = self.api.call("POST", "/tracking-domains",
                                     {"domain": "upload.example.com", "secure": True})
        self.assertEqual(status, 200, body)
        good_cert, good_key = self.make_cert("upload", "upload.example.com")
        other_cert, other_key = self.make_cert("other", "other.example.com")
        path = "/tracking-domains/upload.example.com/certificate"
        status, body = self.api.call("PUT", path, {"certificate": good_cert, "key": other_key})
        self.assertEqual(status, 400, body)
        self.assertIn("does not match", body["errors"][0]["description"])
        status, body = self.api.call("PUT", path, {"certificate": other_cert, "key": other_key})
        self.assertEqual(status, 400, body)
        self.assertIn("does not name upload.example.com", body["errors"][0]["description"])
        status, body = self.api.call("PUT", path, {"certificate": good_cert})
        self.assertEqual(status, 422, body)
        status, body = self.api.call("PUT", path, {"certificate": good_cert, "key": good_key})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["results"]["tls"]["status"], "manual")
        # Served at once (this process rebuilt its certificates on the write).
        r = self.s_client("upload.example.com", self.pebble.ca)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.verify("upload.example.com")  # ACME leaves an uploaded certificate alone
        self.assertEqual(self.domain("upload.example.com")["tls"]["status"], "manual")
        status, body = self.api.call("DELETE", path)
        self.assertEqual(status, 200, body)
        self.assertNotEqual(body["results"]["tls"]["status"], "manual")
        status, body = self.api.call("DELETE", path)
        self.assertEqual(status, 404, body)
        # Back to ACME: pebble's certificate replaces the uploaded one.
        wait_until("ACME after DELETE", lambda: self.tls_status("upload.example.com", "active"))
        wait_until("pebble's certificate served",
                   lambda: self.served_serial("upload.example.com", self.pebble.root), 30)

    def test_5_renewal_near_expiry(self):
        before = wait_until("the first certificate",
                            lambda: self.served_serial("secure.example.com", self.pebble.root))
        # Every certificate pebble issues is within 3650 days of expiry: due at once.
        self.write_config(3650)
        self.serve.proc.send_signal(signal.SIGHUP)
        self.serve.wait_for("configuration reloaded")
        try:
            after = wait_until("a renewed certificate", lambda: (
                lambda s: s if s and s != before else None)(
                    self.served_serial("secure.example.com", self.pebble.root)), 120)
        except AssertionError:
            raise AssertionError("no renewal; serve's acme log:\n" + "\n".join(
                l for l in self.serve.lines if l and "acme" in l))
        self.assertNotEqual(after, before)
        self.assertEqual(self.domain("secure.example.com")["tls"]["status"], "active")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
