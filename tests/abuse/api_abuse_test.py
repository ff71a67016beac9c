#!/usr/bin/env python3
"""tests/abuse/api_abuse_test.py - the management API against callers
without the right to call it, and against malformed and oversized requests.

One `trackrelay serve` with api.listen (tests/api/harness.py). Primary key
from `keys create`; subaccounts 1 and 2 with their own keys (POST
/subaccounts setup_api_key); subaccount 1 owns a tracking domain, a
sending domain and an extra key. Every route the API publishes in
/api/v1/openapi.json (so a route added later is covered too) is called:

  * without a key, with an unknown key, with a malformed Authorization
    header, and with a revoked key -> 401 with a JSON error, nothing changed;
  * with subaccount 2's key on subaccount 1's resources -> 404 / 403 (never
    2xx for a resource of another account), and X-MSYS-SUBACCOUNT naming
    another account -> 403; subaccount 1's resources are unchanged;
  * malformed bodies on every route that takes one: not JSON, not an
    object, truncated, deeply nested, invalid UTF-8, a NUL -> 4xx JSON
    error, never 5xx, and the server keeps answering;
  * huge bodies: over api.max_body_bytes (413), a Content-Length of 10 GB
    with no body, chunked bodies without end, an 8 KiB+ header block
    -> refused without the server buffering them.

usage: api_abuse_test.py TRACKRELAY
"""
import json
import os
import re
import socket
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import harness  # noqa: E402  tests/api/harness.py

TRACKRELAY = None
MAX_BODY = 4096


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class ApiAbuse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = harness.Env(TRACKRELAY)
        try:
            cls.config = cls.env.config("abuse.yaml", (
                "api: {listen: '127.0.0.1:0', max_body_bytes: %d, store_poll_ms: 100}\n"
                % MAX_BODY))
            r = cls.env.run("--config", cls.config, "keys", "create", "--label", "abuse")
            assert r.returncode == 0, r.stderr
            cls.primary = r.stdout.decode().strip()
            cls.serve = cls.env.serve(cls.config)
            cls.port = cls.serve.ports["api"]
            cls.api = harness.Client(cls.port, cls.primary)
            cls.sub = {}
            for n in (1, 2):
                status, body = cls.api.call("POST", "/subaccounts",
                                            {"name": "sub%d" % n, "setup_api_key": True})
                assert status == 200, body
                cls.sub[n] = (body["results"]["subaccount_id"], body["results"]["key"])
            s1 = harness.Client(cls.port, cls.sub[1][1])
            for method, path, body in (
                    ("POST", "/tracking-domains", {"domain": "click.sub1.example.com"}),
                    ("POST", "/sending-domains", {"domain": "sub1.example.com",
                                                  "tracking_domain": "click.sub1.example.com"}),
                    ("POST", "/api-keys", {"label": "sub1 extra"})):
                status, got = s1.call(method, path, body)
                assert status == 200, (path, got)
                if path == "/api-keys":
                    cls.sub1_key_id = got["results"]["id"]
            # A key that is revoked.
            status, got = cls.api.call("POST", "/api-keys", {"label": "to revoke"})
            assert status == 200, got
            cls.revoked = got["results"]["key"]
            status, _ = cls.api.call("DELETE", "/api-keys/%s" % got["results"]["id"])
            assert status == 204, status
            status, spec = cls.api.call("GET", "/openapi.json")
            assert status == 200
            cls.routes = []
            for path, ops in spec["paths"].items():
                for method in ops:
                    if method.upper() in ("GET", "POST", "PUT", "DELETE", "PATCH"):
                        cls.routes.append((method.upper(), path))
            assert len(cls.routes) >= 15, cls.routes
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def concrete(self, path):
        """The route's path with subaccount 1's resources as parameters."""
        values = {"domain": None, "id": None}
        if path.startswith("/tracking-domains"):
            values["domain"] = "click.sub1.example.com"
        elif path.startswith("/sending-domains"):
            values["domain"] = "sub1.example.com"
        elif path.startswith("/subaccounts"):
            values["id"] = str(self.sub[1][0])
        elif path.startswith("/api-keys"):
            values["id"] = str(self.sub1_key_id)
        out = path
        for name in re.findall(r"\{(\w+)\}", path):
            out = out.replace("{%s}" % name, values.get(name) or "x")
        return out

    def snapshot(self):
        """Subaccount 1's resources, as its own key sees them."""
        s1 = harness.Client(self.port, self.sub[1][1])
        out = {}
        for path in ("/tracking-domains", "/sending-domains", "/api-keys"):
            status, body = s1.call("GET", path)
            self.assertEqual(status, 200, (path, body))
            res = body["results"]
            for item in res if isinstance(res, list) else [res]:
                if isinstance(item, dict):
                    item.pop("last_used", None)
                    item.pop("last_used_at", None)
            out[path] = res
        return out

    def assert_json_error(self, status, body, want, what):
        self.assertEqual(status, want, "%s -> %s %s" % (what, status, body))
        self.assertIsInstance(body, dict, what)
        self.assertTrue(body.get("errors") and body["errors"][0].get("message"), what)

    def test_1_every_route_needs_a_valid_key(self):
        before = self.snapshot()
        protected = [(m, p) for m, p in self.routes if p != "/openapi.json"]
        for method, path in protected:
            target = self.concrete(path)
            body = {} if method in ("POST", "PUT") else None
            for what, auth in (("no key", ""), ("unknown key", "0" * 40),
                               ("malformed", "Basic !!!notbase64"),
                               ("bearer garbage", "Bearer " + "z" * 5000),
                               ("revoked key", self.revoked)):
                status, got = self.api.call(method, target, body, key=auth)
                self.assert_json_error(status, got, 401, "%s %s with %s" % (method, target, what))
        self.assertEqual(self.snapshot(), before)

    def test_2_another_subaccounts_key_sees_and_changes_nothing(self):
        before = self.snapshot()
        s2 = harness.Client(self.port, self.sub[2][1])
        for method, path in self.routes:
            if "{" not in path:
                continue
            target = self.concrete(path)
            body = {"tracking_domain": ""} if path.startswith("/sending-domains/") else {}
            status, got = s2.call(method, target, body if method in ("POST", "PUT") else None)
            self.assertIn(status, (403, 404), "%s %s with subaccount 2's key: %s %s"
                          % (method, target, status, got))
        # Naming subaccount 1 from subaccount 2's key.
        for method, path in (("GET", "/tracking-domains"), ("GET", "/events/message"),
                             ("POST", "/tracking-domains")):
            status, got = s2.call(method, path, {"domain": "evil.sub1.example.com"}
                                  if method == "POST" else None,
                                  headers={"X-MSYS-SUBACCOUNT": str(self.sub[1][0])})
            self.assertEqual(status, 403, (method, path, got))
        # Lists through subaccount 2's key show none of subaccount 1's resources.
        for path in ("/tracking-domains", "/sending-domains", "/api-keys", "/subaccounts"):
            status, got = s2.call("GET", path)
            self.assertIn(status, (200, 403), (path, got))
            self.assertNotIn("sub1.example.com", json.dumps(got), path)
        # A subaccount key cannot create subaccounts or keys for others.
        status, got = s2.call("POST", "/api-keys", {"label": "x", "subaccount_id": self.sub[1][0]})
        if status == 200:  # then the key is subaccount 2's own, whatever was asked
            _, keys = harness.Client(self.port, self.sub[1][1]).call("GET", "/api-keys")
            self.assertNotIn(got["results"]["id"], [k["id"] for k in keys["results"]])
        self.assertEqual(self.snapshot(), before)

    def raw(self, data, timeout=10):
        """Sends raw bytes; returns (status or None, the whole response)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            try:
                s.sendall(data)
            except OSError:
                pass
            out = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
                    if b"\r\n\r\n" in out and b"Content-Length: " in out:
                        head, _, rest = out.partition(b"\r\n\r\n")
                        n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
                        if len(rest) >= n:
                            break
            except (socket.timeout, ConnectionResetError):
                pass
        m = re.match(rb"HTTP/1\.1 (\d{3})", out)
        return (int(m.group(1)) if m else None), out

    def request_bytes(self, method, path, body, extra=b""):
        return (b"%s /api/v1%s HTTP/1.1\r\nHost: api\r\nAuthorization: %s\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
                % (method.encode(), path.encode(), self.primary.encode(), len(body), extra)) + body

    def test_3_malformed_json_is_a_4xx_everywhere(self):
        # Not a JSON object: every route that takes a body answers 4xx with
        # a JSON error, whatever the route.
        malformed = [b"{oops", b"[1,2,3]", b"\"a string\"", b"42", b"null", b"{\"domain\": ",
                     b"{\"domain\": \"\xff\xfe.example.com\"}",
                     b"{\"domain\": \"a\x00b.example.com\"}",
                     b"{\"domain\": " + b"[" * 2000 + b"]" * 2000 + b"}", b"[" * 3000,
                     b"\xef\xbb\xbf{}"]
        # Odd but well-formed objects: never 5xx; where the route reads the
        # field, a wrong type or value is a 4xx too.
        odd = [b"{\"domain\": 1e999999}", b"{\"a\":1,\"a\":2}",
               b"{\"secure\": \"yes\", \"port\": -1, \"default\": 7}"]
        for method, path in self.routes:
            if method not in ("POST", "PUT"):
                continue
            target = self.concrete(path)
            for body in malformed + odd:
                status, raw = self.raw(self.request_bytes(method, target, body))
                what = (method, target, body[:40], raw[:300])
                self.assertIsNotNone(status, what)
                if body in malformed:
                    self.assertGreaterEqual(status, 400, what)
                self.assertLess(status, 500, what)
                if status >= 400:
                    payload = json.loads(raw.partition(b"\r\n\r\n")[2] or b"{}")
                    self.assertTrue(payload.get("errors") and payload["errors"][0].get("message"),
                                    what)
            if method == "POST" and path == "/tracking-domains":
                for body in (b"{\"domain\": 1e999999}",
                             b"{\"domain\": \"x.example.com\", \"secure\": \"yes\"}",
                             b"{\"domain\": \"x.example.com\", \"port\": -1}"):
                    status, raw = self.raw(self.request_bytes(method, target, body))
                    self.assertGreaterEqual(status, 400, (body, raw[:300]))
                    self.assertLess(status, 500, (body, raw[:300]))
        status, _ = self.api.call("GET", "/tracking-domains")
        self.assertEqual(status, 200)

    def test_4_huge_bodies_and_headers_are_refused_unbuffered(self):
        pid = self.serve.proc.pid
        before = rss_kib(pid)
        # Over api.max_body_bytes with the body sent: 413.
        big = b"{\"domain\": \"" + b"a" * (MAX_BODY * 4) + b".example.com\"}"
        status, raw = self.raw(self.request_bytes("POST", "/tracking-domains", big))
        self.assertEqual(status, 413, raw[:300])
        # A 10 GB Content-Length, body never sent: answered at once, not awaited.
        t0 = time.monotonic()
        head = (b"POST /api/v1/tracking-domains HTTP/1.1\r\nHost: api\r\nAuthorization: %s\r\n"
                b"Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{"
                % self.primary.encode())
        status, raw = self.raw(head)
        self.assertEqual(status, 413, raw[:300])
        self.assertLess(time.monotonic() - t0, 5)
        # Chunked, 64 MiB of chunks without end: cut at the limit.
        with socket.create_connection(("127.0.0.1", self.port), timeout=20) as s:
            s.sendall(b"POST /api/v1/tracking-domains HTTP/1.1\r\nHost: api\r\nAuthorization: "
                      + self.primary.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"100000\r\n" + b"x" * 0x100000 + b"\r\n"
            sent = 0
            try:
                for _ in range(64):
                    s.sendall(chunk)
                    sent += 1
            except OSError:
                pass
            try:
                resp = s.recv(4096)
            except OSError:
                resp = b""
        self.assertLess(sent, 64, "the server read 64 MiB of an oversized chunked body")
        if resp:
            self.assertRegex(resp, rb"^HTTP/1\.1 (413|400)")
        # A header block over the limit (16 KiB).
        status, raw = self.raw(b"GET /api/v1/tracking-domains HTTP/1.1\r\nHost: api\r\n"
                               b"Authorization: " + self.primary.encode() + b"\r\nX-Pad: "
                               + b"p" * 70000 + b"\r\n\r\n")
        self.assertEqual(status, 431, raw[:200])
        after = rss_kib(pid)
        self.assertLess(after - before, 32 * 1024, "oversized requests were buffered")
        status, _ = self.api.call("GET", "/tracking-domains")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    TRACKRELAY = os.path.abspath(sys.argv[1])
    unittest.main(argv=sys.argv[:1] + sys.argv[2:], verbosity=2)
