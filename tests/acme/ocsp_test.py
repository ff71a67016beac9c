#!/usr/bin/env python3
"""tests/acme/ocsp_test.py - OCSP stapling, revoked certificates and secure
configuration-file domains (issue 14) as real processes: Debian's `pebble`
(its certificates name an OCSP responder), an `openssl ocsp` responder
signing with pebble's intermediate key (the test keeps its index: good or
revoked), dnsmasq, `trackrelay serve`, `openssl s_client -status`.

Proves: a `secure: true` tracking domain of the configuration file gets
http:// links until a certificate is live, then https:// (ACME issued it);
the tracker staples nothing while the responder does not vouch for the
certificate (`unknown`), then staples the responder's `good` answer about
that certificate; an ACME certificate the responder calls revoked is
replaced (a new serial is served, the log says why); an uploaded certificate
that is revoked shows `tls.status: failed` with the revocation.

usage: ocsp_test.py TRACKRELAY
"""
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import harness  # noqa: E402
from acme_test import MAIL, Pebble, openssl, wait_until  # noqa: E402

TRACKRELAY = sys.argv[1] if len(sys.argv) > 1 else None
RECORDS = [
    "host-record=track.example.net,127.0.0.1",
    "cname=yaml.example.com,track.example.net",
    "cname=ocsp.example.com,track.example.net",
    "cname=manual.example.com,track.example.net",
]


class Responder:
    """`openssl ocsp` for pebble's intermediate; restarted on the same port
    whenever the test changes its index (good / revoked by serial)."""

    def __init__(self, workdir, port):
        self.dir, self.port = workdir, port
        self.index = os.path.join(workdir, "ocsp-index.txt")
        self.entries = {}
        self.proc = None
        self.log = open(os.path.join(workdir, "ocsp.log"), "ab")

    def start(self, ca, key):
        self.ca, self.key = ca, key
        self._write()

    def _write(self):
        with open(self.index, "w") as f:
            for serial, line in self.entries.items():
                f.write(line)
        with open(self.index + ".attr", "w") as f:
            f.write("unique_subject = no\n")
        self.stop()
        self.proc = subprocess.Popen(
            ["openssl", "ocsp", "-index", self.index, "-CA", self.ca, "-rsigner", self.ca,
             "-rkey", self.key, "-port", str(self.port), "-nmin", "1", "-ignore_err"],
            stdout=self.log, stderr=subprocess.STDOUT)
        time.sleep(0.5)

    def set(self, serial, status):
        expiry = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() + 86400 * 400))
        revoked = time.strftime("%y%m%d%H%M%SZ,keyCompromise", time.gmtime(time.time() - 60))
        self.entries[serial] = "%s\t%s\t%s\t%s\tunknown\t/CN=x\n" % (
            status, expiry, revoked if status == "R" else "", serial)
        self._write()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Ocsp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = harness.Env(TRACKRELAY)
        try:
            cls.dns = cls.env.dnsmasq(RECORDS)
            cls.http_port = harness.tcp_port()
            cls.responder = Responder(cls.env.dir, harness.tcp_port())
            cls.env.procs.append(cls.responder)
            cls.pebble = Pebble(cls.env.dir, cls.dns.port, cls.http_port,
                                "http://127.0.0.1:%d/" % cls.responder.port)
            cls.env.procs.append(cls.pebble)
            base = "https://127.0.0.1:%d" % cls.pebble.mgmt
            cls.inter = os.path.join(cls.env.dir, "inter.pem")
            cls.inter_key = os.path.join(cls.env.dir, "inter.key")
            with open(cls.inter, "wb") as f:
                f.write(cls.pebble.get(base + "/intermediates/0"))
            with open(cls.inter_key, "wb") as f:
                f.write(cls.pebble.get(base + "/intermediate-keys/0"))
            cls.responder.start(cls.inter, cls.inter_key)
            cls.config = cls.env.config("ocsp.yaml", (
                "  tracking_domains: [{domain: yaml.example.com, secure: true, default: true}]\n"
                "track: {listen: '127.0.0.1:%d', tls_listen: '127.0.0.1:0'}\n"
                "api: {listen: '127.0.0.1:0', store_poll_ms: 100}\n"
                "dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 1000, reverify_interval: 0}\n"
                "acme: {directory: '%s', email: ops@example.net, ca_file: '%s'}\n") % (
                    cls.http_port, cls.dns.port, cls.pebble.directory, cls.pebble.ca))
            r = cls.env.run("--config", cls.config, "keys", "create", "--label", "ocsp")
            assert r.returncode == 0, r.stderr
            cls.scheme_before_serve = cls.link_scheme("yaml.example.com")
            cls.serve = cls.env.serve(cls.config)
            cls.api = harness.Client(cls.serve.ports["api"], r.stdout.decode().strip())
            cls.tls_port = int(re.search(r"track: listening on https://127\.0\.0\.1:(\d+)",
                                         "\n".join(l for l in cls.serve.lines if l)).group(1))
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    @classmethod
    def link_scheme(cls, name):
        r = cls.env.run("--config", cls.config, "rewrite", stdin=MAIL)
        assert r.returncode == 0, r.stderr
        m = re.search(r"(https?)://%s/f/" % re.escape(name), r.stdout.decode())
        assert m, r.stdout
        return m.group(1)

    def domain(self, name):
        status, body = self.api.call("GET", "/tracking-domains/" + name)
        self.assertEqual(status, 200, body)
        return body["results"]

    def s_client(self, name, *extra):
        return subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.tls_port, "-servername",
             name, "-verify_return_error", "-CAfile", self.pebble.root, "-verify_hostname",
             name] + list(extra), input=b"", capture_output=True, timeout=30)

    def serial(self, name):
        r = self.s_client(name)
        if r.returncode != 0:
            return None
        x = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=r.stdout,
                           capture_output=True, timeout=30)
        return x.stdout.decode().strip().split("=")[-1].upper() or None

    def staple(self, name):
        """The stapled status ("good", ...) or None when nothing was stapled."""
        out = self.s_client(name, "-status").stdout.decode()
        if "OCSP response: no response sent" in out:
            return None
        m = re.search(r"Cert Status: (\w+)", out)
        self.assertIsNotNone(m, out)
        self.assertIn("OCSP Response Status: successful", out)
        return m.group(1)

    def acme_log(self):
        return "\n".join(l for l in self.serve.lines if l and ("acme" in l or "track" in l))

    def test_1_yaml_secure_domain_uses_https_once_its_certificate_is_live(self):
        self.assertEqual(self.scheme_before_serve, "http")
        wait_until("a certificate for the file's domain", lambda: self.serial("yaml.example.com"))
        wait_until("https:// links", lambda: self.link_scheme("yaml.example.com") == "https", 30)
        tls = self.domain("yaml.example.com")["tls"]
        self.assertEqual(tls["status"], "active", tls)
        self.assertTrue(any("yaml.example.com (configuration file): no live certificate" in l
                            for l in self.serve.lines if l), self.acme_log())

    def test_2_good_response_stapled_and_revoked_certificate_replaced(self):
        status, body = self.api.call("POST", "/tracking-domains",
                                     {"domain": "ocsp.example.com", "secure": True})
        self.assertEqual(status, 200, body)
        status, body = self.api.call("POST", "/tracking-domains/ocsp.example.com/verify")
        self.assertEqual(status, 200, body)
        first = wait_until("pebble's certificate", lambda: self.serial("ocsp.example.com"))
        # The responder does not know it yet (unknown): nothing is stapled.
        self.assertIsNone(self.staple("ocsp.example.com"))
        self.responder.set(first, "V")
        wait_until("a stapled good response", lambda: self.staple("ocsp.example.com") == "good",
                   120, 2)
        self.assertIn("Serial Number: " + first,
                      self.s_client("ocsp.example.com", "-status").stdout.decode())
        # Revoked at the CA: the issuer notices through OCSP and replaces it.
        self.responder.set(first, "R")
        second = wait_until("a replacement certificate", lambda: (
            lambda s: s if s and s != first else None)(self.serial("ocsp.example.com")), 150, 2)
        self.assertNotEqual(second, first)
        self.assertIn("certificate %s was revoked by its CA" % first, self.acme_log())
        self.assertEqual(self.domain("ocsp.example.com")["tls"]["status"], "active")

    def upload_cert(self, name):
        d = self.env.dir
        key, csr, cert = (os.path.join(d, name + e) for e in (".key", ".csr", ".pem"))
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
                "/CN=" + name, "-keyout", key, "-out", csr)
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:%s\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:%d/\n"
                    % (name, self.responder.port))
        openssl("x509", "-req", "-in", csr, "-CA", self.inter, "-CAkey", self.inter_key,
                "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert)
        serial = openssl("x509", "-noout", "-serial", "-in", cert).stdout.decode()
        chain = open(cert).read() + open(self.inter).read()
        return chain, open(key).read(), serial.strip().split("=")[-1].upper()

    def test_3_uploaded_certificate_revoked_shows_failed(self):
        status, body = self.api.call("POST", "/tracking-domains",
                                     {"domain": "manual.example.com", "secure": True})
        self.assertEqual(status, 200, body)
        chain, key, serial = self.upload_cert("manual.example.com")
        status, body = self.api.call("PUT", "/tracking-domains/manual.example.com/certificate",
                                     {"certificate": chain, "key": key})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["results"]["tls"]["status"], "manual")
        self.responder.set(serial, "V")
        wait_until("the uploaded certificate's staple",
                   lambda: self.staple("manual.example.com") == "good", 120, 2)
        self.responder.set(serial, "R")
        failed = wait_until("the revocation in the status", lambda: (
            lambda t: t if t["status"] == "failed" else None)(
                self.domain("manual.example.com")["tls"]), 150, 2)
        self.assertIn("was revoked by its CA", failed["message"])
        self.assertIn("keyCompromise", failed["message"])
        self.assertIn("upload a new one", failed["message"])
        # A revoked certificate is no longer served.
        wait_until("the revoked certificate withdrawn",
                   lambda: self.s_client("manual.example.com").returncode != 0, 30)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
