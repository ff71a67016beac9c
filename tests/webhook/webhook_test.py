#!/usr/bin/env python3
"""tests/webhook/webhook_test.py - signed, durable webhooks end to end.

Real processes: `trackrelay serve` (tracker + API, tests/api/harness.py), a
Python HTTP receiver on loopback that can fail its first requests (500, then
a hang longer than webhooks.timeout_ms), clicks through the tracker with
tokens minted by track_mint. Every request the receiver gets is checked
with the verification snippet of docs/webhooks.md (extracted and run).

Proves: a receiver that fails its first requests gets every event, each
request signed, within a minute of recovering, after serve was SIGKILLed in
between (and restarted); batch-status shows the failed attempts; a batch
is marked failed after webhooks.retry_for; validate answers with the
receiver's status and body; auth_type basic sends the credentials;
oauth2 and unknown event types are 400; a loopback target is refused
without dns.allow_private_addresses; a subaccount's webhook gets only its
own events, a primary's every account's.

usage: webhook_test.py TRACKRELAY TRACK_MINT
"""
import base64
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import harness  # noqa: E402  tests/api/harness.py

TRACKRELAY = sys.argv[1] if len(sys.argv) > 1 else None
TRACK_MINT = sys.argv[2] if len(sys.argv) > 2 else None
DOCS = os.path.join(HERE, "..", "..", "docs", "webhooks.md")


def load_verify():
    """The `verify` function of docs/webhooks.md's Python snippet."""
    text = open(DOCS, encoding="utf-8").read()
    m = re.search(r"<!-- verify-snippet -->\s*```python\n(.*?)```", text, re.S)
    assert m, "docs/webhooks.md has no verify snippet"
    scope = {}
    exec(m.group(1), scope)  # noqa: S102 - our own documentation's code
    return scope["verify"]


VERIFY = load_verify()


class Receiver:
    """An HTTP receiver on loopback. `plan` is what the first requests get
    ("500", "hang"); later ones get 200 "ok". Every request is kept."""

    def __init__(self, plan=(), hang_s=3.0, status=200):
        self.plan = list(plan)
        self.hang_s = hang_s
        self.status = status
        self.requests = []  # (headers dict, body bytes, answered status or None)
        self.cond = threading.Condition()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.cond:
                    step = outer.plan.pop(0) if outer.plan else str(outer.status)
                    outer.requests.append((dict(self.headers), body, step, self.path))
                    outer.cond.notify_all()
                if step == "hang":
                    time.sleep(outer.hang_s)
                    return
                code = int(step)
                text = b"ok" if code < 300 else b"try later"
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def delivered_events(self, path="/hook"):
        """event_id → type of the events in requests answered 2xx on `path`."""
        out = {}
        with self.cond:
            for headers, body, step, p in self.requests:
                if p != path or step != "200":
                    continue
                for item in json.loads(body):
                    ev = next(iter(item["msys"].values()))
                    out[ev["event_id"]] = ev
        return out

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def click(track_port, n, sub=0, tag="x"):
    """`n` clicks through the tracker, as account `sub`; their target URLs."""
    targets = []
    now = str(int(time.time()))
    for i in range(n):
        target = "https://shop.example/%s/%d/%d" % (tag, sub, i)
        tok = subprocess.run([TRACK_MINT, harness.SECRET, "click", "track.example.net", target,
                              now, str(sub)], capture_output=True, check=True).stdout.decode().strip()
        status, location, _ = harness.http_get(track_port, "/f/" + tok, "track.example.net")
        assert (status, location) == (302, target), (status, location)
        targets.append(target)
    return targets


class Base(unittest.TestCase):
    EXTRA = ""

    @classmethod
    def setUpClass(cls):
        cls.env = harness.Env(TRACKRELAY)
        try:
            cls.track_port = harness.tcp_port()
            cls.config = cls.env.config("w.yaml", (
                "track: {listen: '127.0.0.1:%d'}\n"
                "api: {listen: '127.0.0.1:0', store_poll_ms: 100}\n") % cls.track_port +
                cls.EXTRA)
            r = cls.env.run("--config", cls.config, "keys", "create", "--label", "primary")
            assert r.returncode == 0, r.stderr
            cls.key = r.stdout.decode().strip()
            cls.start()
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def start(cls):
        cls.serve = cls.env.serve(cls.config)
        cls.api = harness.Client(cls.serve.ports["api"], cls.key)

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def create(self, body, key=None, headers=None):
        status, res = self.api.call("POST", "/webhooks", body, key=key, headers=headers)
        self.assertEqual(status, 200, res)
        self.assertRegex(res["results"]["signing_secret"], "^[0-9a-f]{64}$")
        return res["results"]["id"], res["results"]["signing_secret"]

    def check_signed(self, receiver, secret, path="/hook"):
        with receiver.cond:
            reqs = [r for r in receiver.requests if r[3] == path]
        self.assertTrue(reqs)
        for headers, body, _, _ in reqs:
            sig = headers.get("X-Trackrelay-Signature")
            self.assertTrue(VERIFY(secret, sig, body), "signature does not verify: %r" % sig)
            self.assertFalse(VERIFY(secret, sig, body + b" "), "a changed body must not verify")
            self.assertFalse(VERIFY(secret, sig, body, now=time.time() + 3600),
                             "an old signature is a replay")
            self.assertRegex(headers.get("X-MessageSystems-Batch-ID", ""), "^[0-9a-f]{32}$|^validate")


class Durable(Base):
    EXTRA = ("dns: {allow_private_addresses: true}\n"
             "webhooks: {timeout_ms: 1000, retry_base_ms: 500}\n")

    def test_every_event_after_failures_and_sigkill(self):
        receiver = Receiver(plan=["500", "hang"], hang_s=4)
        self.addCleanup(receiver.stop)
        hook, secret = self.create({"name": "durable", "target": receiver.url(),
                                    "events": ["click", "open"]})
        targets = click(self.track_port, 5, tag="before")
        # The 500 and the hang: the second attempt is in flight when serve dies.
        self.assertTrue(receiver.wait(lambda r: len(r) >= 2, 30), receiver.requests)
        self.serve.proc.kill()
        self.serve.proc.wait()
        self.__class__.start()
        targets += click(self.track_port, 5, tag="after")
        recovered = time.monotonic()
        want = set(targets)
        ok = receiver.wait(lambda r: {e["target_link_url"] for e in
                                      receiver_events(r)} >= want, 60)
        self.assertTrue(ok, "not every event arrived within a minute of recovering: %r" %
                        [(r[2], len(r[1])) for r in receiver.requests])
        self.assertLess(time.monotonic() - recovered, 60)
        got = receiver.delivered_events()
        self.assertEqual({e["target_link_url"] for e in got.values()}, want)
        # Exactly the store's events, field for field as the events API shows them.
        status, res = self.api.call("GET", "/events/message?events=click&per_page=100")
        self.assertEqual(status, 200, res)
        api_events = {e["event_id"]: e for e in res["results"]}
        for event_id, e in got.items():
            self.assertEqual(e, api_events[event_id])
        self.check_signed(receiver, secret)
        # batch-status: the 500 is there, and the batch was delivered in the end.
        status, res = self.api.call("GET", "/webhooks/%s/batch-status" % hook)
        self.assertEqual(status, 200, res)
        rows = res["results"]
        self.assertTrue(any(r.get("failure_code") == "500" for r in rows), rows)
        self.assertTrue(any(r["response_code"] == "200" and r["state"] == "delivered"
                            for r in rows), rows)
        first = [r for r in rows if r.get("failure_code") == "500"][0]
        self.assertTrue(any(r["batch_id"] == first["batch_id"] and r["state"] == "delivered"
                            for r in rows), "the failed batch was delivered later")
        status, res = self.api.call("GET", "/webhooks/%s" % hook)
        self.assertIn("last_successful", res["results"])
        self.assertIn("last_failure", res["results"])
        self.assertNotIn("signing_secret", res["results"], "the secret is shown once")

    def test_subaccount_scoping(self):
        status, res = self.api.call("POST", "/subaccounts", {"name": "sub", "setup_api_key": True})
        self.assertEqual(status, 200, res)
        sub_id, sub_key = res["results"]["subaccount_id"], res["results"]["key"]
        receiver = Receiver()
        self.addCleanup(receiver.stop)
        self.create({"name": "sub", "target": receiver.url("/sub"), "events": ["click"]},
                    key=sub_key)
        self.create({"name": "all", "target": receiver.url("/all"), "events": ["click"]})
        self.create({"name": "primary only", "target": receiver.url("/primary"),
                     "events": ["click"]}, headers={"X-MSYS-SUBACCOUNT": "0"})
        mine = click(self.track_port, 3, sub=sub_id, tag="scope")
        primary = click(self.track_port, 2, sub=0, tag="scope")

        def urls(path):
            return {e["target_link_url"] for e in receiver.delivered_events(path).values()}

        self.assertTrue(receiver.wait(lambda r: urls("/all") >= set(mine + primary) and
                                      urls("/sub") >= set(mine) and
                                      urls("/primary") >= set(primary), 30), receiver.requests)
        self.assertEqual(urls("/sub"), set(mine))
        self.assertEqual(urls("/primary"), set(primary))
        # The subaccount sees only its own webhook.
        status, res = self.api.call("GET", "/webhooks", key=sub_key)
        self.assertEqual([h["name"] for h in res["results"]], ["sub"])
        status, res = self.api.call("GET", "/webhooks")
        all_hooks = {h["name"]: h["id"] for h in res["results"]}
        status, _ = self.api.call("GET", "/webhooks/%s" % all_hooks["all"], key=sub_key)
        self.assertEqual(status, 404)
        status, _ = self.api.call("DELETE", "/webhooks/%s" % all_hooks["all"], key=sub_key)
        self.assertEqual(status, 404)


def receiver_events(requests):
    out = []
    for _, body, step, path in requests:
        if step == "200" and path == "/hook":
            out += [next(iter(i["msys"].values())) for i in json.loads(body)]
    return out


class Api(Base):
    EXTRA = ("dns: {allow_private_addresses: true}\n"
             "webhooks: {timeout_ms: 1000, retry_base_ms: 200, retry_for: 2}\n")

    def test_validate_answers_with_the_receivers_answer(self):
        receiver = Receiver()
        self.addCleanup(receiver.stop)
        hook, secret = self.create({"name": "v", "target": receiver.url("/v"),
                                    "events": ["click"], "active": False})
        status, res = self.api.call("POST", "/webhooks/%s/validate" % hook, {})
        self.assertEqual(status, 200, res)
        self.assertEqual(res["results"]["msg"], "Test POST to endpoint succeeded")
        self.assertEqual(res["results"]["response"]["status"], 200)
        self.assertEqual(res["results"]["response"]["body"], "ok")
        body = json.loads(receiver.requests[-1][1])
        self.assertEqual(body[0]["msys"]["track_event"]["event_id"], "test")
        self.check_signed(receiver, secret, "/v")
        # A receiver that fails: the status and body are shown.
        receiver.status = 503
        status, res = self.api.call("POST", "/webhooks/%s/validate" % hook,
                                    {"message": {"msys": {}}})
        self.assertEqual(res["results"]["msg"], "Test POST to endpoint failed")
        self.assertEqual(res["results"]["response"]["status"], 503)
        self.assertEqual(res["results"]["response"]["body"], "try later")
        self.assertEqual(json.loads(receiver.requests[-1][1]), {"msys": {}})

    def test_basic_auth_header(self):
        receiver = Receiver()
        self.addCleanup(receiver.stop)
        hook, _ = self.create({"name": "b", "target": receiver.url("/b"), "events": ["click"],
                               "auth_type": "basic",
                               "auth_credentials": {"username": "u", "password": "p:w"}})
        status, res = self.api.call("POST", "/webhooks/%s/validate" % hook)
        self.assertEqual(res["results"]["response"]["status"], 200, res)
        self.assertEqual(receiver.requests[-1][0].get("Authorization"),
                         "Basic " + base64.b64encode(b"u:p:w").decode())
        status, res = self.api.call("GET", "/webhooks/%s" % hook)
        self.assertEqual(res["results"]["auth_credentials"], {"username": "u"},
                         "the password is never shown")

    def test_bad_input(self):
        target = "http://127.0.0.1:9/x"
        for body, word in (({"name": "x", "target": target, "events": ["bounce"]}, "bounce"),
                           ({"name": "x", "target": target, "events": []}, "events"),
                           ({"name": "x", "target": target, "events": ["click"],
                             "auth_type": "oauth2"}, "not supported"),
                           ({"name": "x", "target": target, "events": ["click"],
                             "auth_type": "basic"}, "auth_credentials"),
                           ({"name": "x", "target": "ftp://example.com/", "events": ["click"]},
                            "http"),
                           ({"target": target, "events": ["click"]}, "name")):
            status, res = self.api.call("POST", "/webhooks", body)
            self.assertEqual(status, 400, (body, res))
            self.assertIn(word, json.dumps(res["errors"]), body)
        status, res = self.api.call("GET", "/webhooks/nope")
        self.assertEqual(status, 404, res)

    def test_update_delete_and_failed_after_retry_for(self):
        receiver = Receiver(status=500)
        self.addCleanup(receiver.stop)
        hook, _ = self.create({"name": "f", "target": receiver.url("/f"),
                               "events": ["click", "injection"]})
        status, res = self.api.call("PUT", "/webhooks/%s" % hook, {"name": "renamed"})
        self.assertEqual(status, 200, res)
        status, res = self.api.call("GET", "/webhooks/%s" % hook)
        self.assertEqual((res["results"]["name"], res["results"]["events"]),
                         ("renamed", ["click", "injection"]))
        click(self.track_port, 1, tag="fail")

        def failed():
            status, res = self.api.call("GET", "/webhooks/%s/batch-status" % hook)
            return any(r["state"] == "failed" for r in res["results"]), res

        deadline = time.monotonic() + 30
        while not failed()[0] and time.monotonic() < deadline:
            time.sleep(0.3)
        ok, res = failed()
        self.assertTrue(ok, res)
        self.assertGreaterEqual(len(receiver.requests), 2, "retried before it failed")
        status, _ = self.api.call("DELETE", "/webhooks/%s" % hook)
        self.assertEqual(status, 204)
        status, _ = self.api.call("GET", "/webhooks/%s" % hook)
        self.assertEqual(status, 404)


class Egress(Base):
    EXTRA = ""  # dns.allow_private_addresses is false

    def test_private_target_refused(self):
        for target in ("http://127.0.0.1:8080/hook", "http://10.0.0.1/hook",
                       "http://[::1]/hook", "https://192.168.1.1/hook"):
            status, res = self.api.call("POST", "/webhooks", {
                "name": "p", "target": target, "events": ["click"]})
            self.assertEqual(status, 400, (target, res))
            self.assertIn("dns.allow_private_addresses", res["errors"][0]["description"])


if __name__ == "__main__":
    if TRACKRELAY is None or TRACK_MINT is None:
        sys.exit(__doc__)
    unittest.main(argv=sys.argv[:1], verbosity=2)
