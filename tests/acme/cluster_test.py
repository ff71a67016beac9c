#!/usr/bin/env python3
"""tests/acme/cluster_test.py - two `trackrelay serve` processes sharing one
store, issuing with TLS-ALPN-01 (issue 14), as real processes: Debian's
`pebble` (validating tls-alpn-01 on its `tlsPort`), dnsmasq, two `serve`
processes with only a TLS listener each (so `acme.challenge: auto` picks
tls-alpn-01), `openssl s_client`.

Proves: only the process holding the store's lease issues; the CA's
tls-alpn-01 validation is answered by the *other* process (pebble reaches
only that one's port: the key authorization is in the shared store, and the
tracker presents the RFC 8737 certificate for a client offering
`acme-tls/1`); both processes serve the issued certificate by SNI without a
restart; a client offering `acme-tls/1` for a name with no validation in
progress is refused; when the issuer dies (SIGKILL), a newly queued name
stays pending while its lease holds, and once the lease has lapsed (the
test ages the lease row instead of waiting 3 minutes) the surviving process
takes over and issues it; a process stopped cleanly (SIGTERM) releases the
lease, so another takes it at its next pass.

usage: cluster_test.py TRACKRELAY
"""
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import harness  # noqa: E402
from acme_test import Pebble, wait_until  # noqa: E402

TRACKRELAY = sys.argv[1] if len(sys.argv) > 1 else None
RECORDS = [
    "host-record=track.example.net,127.0.0.1",
    "cname=one.example.com,track.example.net",
    "cname=two.example.com,track.example.net",
]


class Cluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = harness.Env(TRACKRELAY)
        try:
            cls.dns = cls.env.dnsmasq(RECORDS)
            cls.port_a, cls.port_b = harness.tcp_port(), harness.tcp_port()
            # HTTP-01 would go to a port nobody listens on; tls-alpn-01 reaches B only.
            cls.pebble = Pebble(cls.env.dir, cls.dns.port, harness.tcp_port(), tls_port=cls.port_b)
            cls.env.procs.append(cls.pebble)
            r = cls.env.run("--config", cls.write("a", cls.port_a), "keys", "create")
            assert r.returncode == 0, r.stderr
            cls.key = r.stdout.decode().strip()
            cls.a = cls.env.serve(cls.write("a", cls.port_a))
            # A takes the lease first (its first pass), then B starts.
            wait_until("A's lease", lambda: cls.lease_pid() == cls.a.proc.pid, 30)
            cls.b = cls.env.serve(cls.write("b", cls.port_b))
            cls.api_a = harness.Client(cls.a.ports["api"], cls.key)
            cls.api_b = harness.Client(cls.b.ports["api"], cls.key)
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    @classmethod
    def write(cls, name, tls_port):
        return cls.env.config("%s.yaml" % name, (
            "track: {tls_listen: '127.0.0.1:%d'}\n"
            "api: {listen: '127.0.0.1:0', store_poll_ms: 100}\n"
            "dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 1000, reverify_interval: 0}\n"
            "acme: {directory: '%s', email: ops@example.net, ca_file: '%s'}\n") % (
                tls_port, cls.dns.port, cls.pebble.directory, cls.pebble.ca))

    @classmethod
    def lease_pid(cls):
        try:
            with sqlite3.connect(cls.env.store, timeout=5) as db:
                row = db.execute("SELECT holder, expires_ms FROM acme_lease").fetchone()
        except sqlite3.Error:
            return None
        return int(row[0].split(":")[1]) if row else None

    def serial(self, port, name):
        r = subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", name,
             "-verify_return_error", "-CAfile", self.pebble.root, "-verify_hostname", name],
            input=b"", capture_output=True, timeout=30)
        if r.returncode != 0:
            return None
        x = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=r.stdout,
                           capture_output=True, timeout=30)
        return x.stdout.decode().strip().split("=")[-1] or None

    def create(self, api, name):
        status, body = api.call("POST", "/tracking-domains", {"domain": name, "secure": True})
        self.assertEqual(status, 200, body)
        status, body = api.call("POST", "/tracking-domains/%s/verify" % name)
        self.assertEqual(status, 200, body)
        self.assertTrue(body["results"]["verified"], body)

    @staticmethod
    def requested(serve, name):
        return any(l and "%s: requesting a certificate" % name in l for l in serve.lines)

    def test_1_one_issuer_other_answers_and_both_serve(self):
        self.create(self.api_b, "one.example.com")
        try:
            on_a = wait_until("A serving one.example.com",
                              lambda: self.serial(self.port_a, "one.example.com"), 120)
        except AssertionError:
            raise AssertionError("not issued; A:\n%s\nB:\n%s" % (
                "\n".join(l for l in self.a.lines if l), "\n".join(l for l in self.b.lines if l)))
        on_b = wait_until("B serving it without a restart",
                          lambda: self.serial(self.port_b, "one.example.com"), 30)
        self.assertEqual(on_a, on_b)
        self.assertTrue(self.requested(self.a, "one.example.com"))
        self.assertFalse(self.requested(self.b, "one.example.com"))
        # Pebble validated on B's port only (its tlsPort): B answered A's challenge.
        self.assertEqual(self.lease_pid(), self.a.proc.pid)
        # No validation in progress: a client offering acme-tls/1 is refused.
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.port_b,
                            "-servername", "one.example.com", "-alpn", "acme-tls/1"],
                           input=b"", capture_output=True, timeout=30)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn(b"unrecognized name", r.stdout + r.stderr)

    def test_2_issuer_dies_the_other_takes_over(self):
        wait_until("the first certificate", lambda: self.serial(self.port_b, "one.example.com"))
        self.a.proc.send_signal(signal.SIGKILL)
        self.a.proc.wait(10)
        self.create(self.api_b, "two.example.com")
        time.sleep(12)  # two passes of B: the dead issuer's lease still holds
        status, body = self.api_b.call("GET", "/tracking-domains/two.example.com")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["results"]["tls"]["status"], "pending", body)
        self.assertFalse(self.requested(self.b, "two.example.com"))
        with sqlite3.connect(self.env.store, timeout=5) as db:  # 3 minutes pass
            db.execute("UPDATE acme_lease SET expires_ms = 0")
        wait_until("B issuing two.example.com",
                   lambda: self.serial(self.port_b, "two.example.com"), 120)
        self.assertTrue(self.requested(self.b, "two.example.com"))
        self.assertEqual(self.lease_pid(), self.b.proc.pid)

    def test_3_a_clean_stop_hands_the_lease_over_at_once(self):
        wait_until("B's lease", lambda: self.lease_pid() == self.b.proc.pid, 30)
        c = self.env.serve(self.write("c", harness.tcp_port()))
        self.b.stop()  # SIGTERM: B releases the lease on its way out
        self.assertEqual(self.b.proc.returncode, 0)
        wait_until("C's lease without waiting for B's to lapse",
                   lambda: self.lease_pid() == c.proc.pid, 20)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
