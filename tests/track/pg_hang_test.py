#!/usr/bin/env python3
"""tests/track/pg_hang_test.py — the tracker's I/O thread never waits on the
database (issue 15, the hard case): a real PostgreSQL 15
(tests/support/pgserver.py) frozen with SIGSTOP (no RST: statements simply
never return) under a real `trackrelay serve` (tests/api/harness.py) with a
plain and a TLS listener on `store: postgresql://…`.

While the database hangs, what anyone on the Internet can send a tracker —
ACME HTTP-01 requests for random tokens (several, concurrent), a TLS
handshake offering ALPN `acme-tls/1`, and a SIGHUP reload (which re-reads
the store's certificates) — must not hold the redirects: clicks issued at
the same time (the click load of tests/track/pg_outage_test.py) are all
answered 302 within the tracker's 2 s commit wait (a liveness bound, not a
performance figure), and every answered click is in the database once after
SIGCONT. The challenges are answered from the tracker's memory
(track/store_view.h): a pending HTTP-01 token and a pending TLS-ALPN-01 name
written before the hang are still answered while it hangs; unknown ones get
404 / the alert unrecognized_name at once.

The other PostgreSQL sessions (the API's key check here) have a statement
deadline (store/pg.h kStatementDeadline, 10 s): while the database hangs an
API request is answered 503 within it instead of waiting for the database.

Usage: pg_hang_test.py TRACKRELAY TRACK_MINT
"""
import glob
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import harness  # noqa: E402
import pg_outage_test  # noqa: E402  (ClickLoad, mint, healthz)
from pg_outage_test import COMMIT_WAIT, ClickLoad, healthz  # noqa: E402
from pgserver import PgServer  # noqa: E402

TRACKRELAY = None
KNOWN_TOKEN = "known-token_0123456789"
KNOWN_KEYAUTH = KNOWN_TOKEN + ".thumbprint"
ALPN_NAME = "pending.example.com"
STATEMENT_DEADLINE = 10  # seconds: store/pg.h kStatementDeadline


def challenge(port, token):
    """GET /.well-known/acme-challenge/<token>: (status, body, seconds)."""
    started = time.monotonic()
    status, _, body = harness.http_get(port, "/.well-known/acme-challenge/" + token,
                                       "anything.example.org")
    return status, body.decode(), time.monotonic() - started


def alpn_handshake(port, name):
    """A TLS handshake offering only acme-tls/1 for `name`: (the protocol
    selected or the error, seconds)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["acme-tls/1"])
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as tls:
                outcome = tls.selected_alpn_protocol()
    except (ssl.SSLError, OSError) as e:
        outcome = "refused: %s" % e
    return outcome, time.monotonic() - started


class TrackerWhileDatabaseHangs(unittest.TestCase):
    def setUp(self):
        self.env = harness.Env(TRACKRELAY)
        self.pg = PgServer.temporary("trackrelay-pg-hang-")
        self.pg.start()
        self.env.store = self.pg.create_database("hang")
        self.spool = os.path.join(self.env.dir, "spool")
        cert, key = (os.path.join(self.env.dir, n) for n in ("track.pem", "track.key"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                        "/CN=" + pg_outage_test.HOST, "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        self.config = self.env.config(
            "serve.yaml", "track:\n  listen: 127.0.0.1:0\n  tls_listen: 127.0.0.1:0\n"
            "  certificates:\n    - {domains: [%s], cert: '%s', key: '%s'}\n"
            "metrics: {listen: '127.0.0.1:0'}\n"
            "store_spool: '%s'\n" % (pg_outage_test.HOST, cert, key, self.spool))

    def tearDown(self):
        self.pg.resume()  # every path: a failure while the server hung
        for p in self.env.procs:
            p.stop()
        self.env.close()
        self.pg.destroy()

    wait = pg_outage_test.PgOutage.wait  # wait(what, done, timeout=30)
    assert_clicks_survived = pg_outage_test.PgOutage.assert_clicks_survived

    def put_challenges(self):
        """A pending HTTP-01 token and a pending TLS-ALPN-01 name, written the
        way another node's ACME manager writes them (store/cert_store.cc)."""
        self.pg.psql(
            "INSERT INTO acme_challenges (token, key_authorization, domain, created_ms) VALUES "
            "('%s', '%s', 'x.example.com', 0), ('tls-alpn-01:%s', 'alpn-keyauth', '%s', 0); "
            "NOTIFY trackrelay_acme" % (KNOWN_TOKEN, KNOWN_KEYAUTH, ALPN_NAME, ALPN_NAME), "hang")

    def test_challenges_handshakes_and_reloads_do_not_hold_redirects(self):
        serve = self.env.serve(self.config)
        line = serve.wait_for(r"track: listening on http://127\.0\.0\.1:(\d+)")
        port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
        line = serve.wait_for(r"track: listening on https://127\.0\.0\.1:(\d+)")
        tls_port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
        self.assertEqual(harness.http_get(port, "/f/" + pg_outage_test.mint("https://e.x/0"),
                                          pg_outage_test.HOST)[0], 302)
        self.put_challenges()
        self.wait("the pending challenge served",
                  lambda: challenge(port, KNOWN_TOKEN)[:2] == (200, KNOWN_KEYAUTH), 10)

        load = ClickLoad(port)
        load.start()
        self.addCleanup(load.stop)
        results = {}
        try:
            time.sleep(0.5)
            self.pg.hang()
            hung_at = time.monotonic()
            def probe(name, fn, *args):
                try:
                    results[name] = fn(*args)
                except OSError as e:  # a timeout: the tracker did not answer
                    results[name] = ("error: %s" % e, "", 99.0)

            probes = [threading.Thread(target=probe, args=(
                "random%d" % i, challenge, port, secrets.token_urlsafe(32))) for i in range(6)]
            probes.append(threading.Thread(target=probe, args=("known", challenge, port,
                                                                KNOWN_TOKEN)))
            probes.append(threading.Thread(target=probe, args=(
                "alpn-unknown", alpn_handshake, tls_port, "unknown.example.com")))
            probes.append(threading.Thread(target=probe, args=(
                "alpn-pending", alpn_handshake, tls_port, ALPN_NAME)))
            # A Prometheus scrape reads the webhook queue's depth from the store:
            # it may wait for the database, the redirects must not.
            probes.append(threading.Thread(target=probe, args=(
                "scrape", harness.http_get, serve.ports["metrics"], "/metrics", "localhost")))
            for t in probes:
                t.start()
            serve.proc.send_signal(signal.SIGHUP)  # re-reads the store's certificates
            serve.wait_for("configuration reloaded", 5)
            for t in probes[:-1]:  # not the scrape
                t.join(15)
            time.sleep(3)  # clicks keep coming while the database hangs
            resumed_at = time.monotonic()
        finally:
            self.pg.resume()
        probes[-1].join(15)
        self.wait("/healthz 200 again", lambda: healthz(port)[0] == 200)
        time.sleep(0.5)
        load.stop()
        self.wait("the spool shipped",
                  lambda: not glob.glob(os.path.join(self.spool, "*.spool")))

        for i in range(6):
            status, _, took = results["random%d" % i]
            self.assertEqual(status, 404)  # complete (Content-Length): http_get read it all
            self.assertLess(took, COMMIT_WAIT, "a challenge request waited for the database")
        self.assertEqual(results["known"][:2], (200, KNOWN_KEYAUTH))
        outcome, took = results["alpn-unknown"][0], results["alpn-unknown"][-1]
        self.assertTrue(outcome is None or outcome.startswith("refused"), outcome)
        self.assertLess(took, COMMIT_WAIT, "an acme-tls/1 handshake waited for the database")
        self.assertEqual(results["alpn-pending"][0], "acme-tls/1")
        self.assertEqual(results["scrape"][0], 200)  # answered once the database is back

        self.assert_clicks_survived(load, hung_at, resumed_at, "hang")

    def test_the_api_answers_503_within_the_statement_deadline(self):
        config = self.env.config(
            "api.yaml", "track:\n  listen: 127.0.0.1:0\napi: {listen: '127.0.0.1:0'}\n"
            "store_spool: '%s'\n" % self.spool)
        r = self.env.run("--config", config, "keys", "create", "--label", "hang")
        self.assertEqual(r.returncode, 0, r.stderr)
        serve = self.env.serve(config)
        api = harness.Client(serve.ports["api"], r.stdout.decode().strip())
        self.assertEqual(api.call("GET", "/tracking-domains")[0], 200)
        load = ClickLoad(serve.ports["track"])
        load.start()
        self.addCleanup(load.stop)
        try:
            time.sleep(0.5)
            self.pg.hang()
            started = time.monotonic()
            status, body = api.call("GET", "/tracking-domains")  # the key check reads the store
            took = time.monotonic() - started
        finally:
            self.pg.resume()
        self.assertEqual(status, 503, body)
        self.assertIn("no answer within %d ms" % (STATEMENT_DEADLINE * 1000),
                      body["errors"][0]["description"])
        self.assertLess(took, STATEMENT_DEADLINE + 3, "the API waited for the hung database")
        self.wait("the API answers again", lambda: api.call("GET", "/tracking-domains")[0] == 200)
        load.stop()
        self.assertEqual(load.failures, [])
        self.assertLess(max(a[2] for a in load.answered), COMMIT_WAIT)
        sys.stderr.write("\nAPI answered %d after %.2f s while the database hung\n" % (status, took))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: pg_hang_test.py TRACKRELAY TRACK_MINT")
    TRACKRELAY, pg_outage_test.MINT = sys.argv[1], sys.argv[2]
    pg_outage_test.TRACKRELAY = TRACKRELAY
    del sys.argv[1:3]
    unittest.main()
