#!/usr/bin/env python3
"""tests/abuse/token_abuse_test.py - tracking tokens that must never redirect,
and targets that must never be emitted in a Location, against a running
`trackrelay serve` (tracker + API, one store).

tests/track/serve_test.py already proves: bit flips every 7 bits,
truncation, a token presented on another configured tracking domain or on a
host that is not one, another secret under the same key id, and CR/LF,
javascript:, data: and space targets. This adds what it does not cover:

  * tokens are built here by a Python encoder of the documented format
    (token/token.h), checked byte for byte against track_mint, so the
    attacker's options are explicit: extension (bytes after the MAC, a
    character appended, a second token appended), re-encoding (padding,
    the standard base64 alphabet, percent-encoding, case changes, a
    non-canonical last character), every single-byte substitution of the
    MAC's first byte, header tampering (version, flags, key-id length),
    an unknown key id, a key removed from the configuration by a reload,
    a signed body with trailing bytes, a deflate flag on a plain body;
  * replay across subaccounts: subaccounts 1 and 2 each own a tracking
    domain (created through the API); a token issued for one is refused on
    the other, on the system domain and on a configuration-file domain;
  * targets: more spellings of unsafe schemes (upper case, leading space
    or tab, vbscript:, file:, protocol-relative //, backslashes, NUL, DEL,
    other control characters) never redirect; non-ASCII targets (IRIs)
    redirect byte for byte (U+2028, U+0085 and the like are not CR/LF bytes);
    a target over the token's inflate limit (16 KiB) never redirects, a
    token over 4096 characters is refused; a long (12 KiB) but valid target
    redirects byte for byte or not at all - never truncated;
  * a redirect's Location is always exactly the signed target (checked on
    every redirect this test gets), and a 404 never has a Location.

usage: token_abuse_test.py TRACKRELAY TRACK_MINT
"""
import base64
import hashlib
import hmac
import http.client
import os
import signal
import subprocess
import sys
import time
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
import harness  # noqa: E402  tests/api/harness.py

TRACKRELAY = MINT = None
SECRET = harness.SECRET          # key k1 of harness.Env's configuration
OTHER_SECRET = "another-secret-0123456789abcdefghijklmnopqrstuvwxyz"
KINDS = {"click": 1, "open": 2, "initial_open": 3}


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def b64url(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(tok):
    return base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))


def body_of(kind, domain, target="", issued=1714564800, link_name="", message_id="minted@example.com",
            rcpt="minted@example.net", campaign="minted", sending="example.com"):
    body = bytes([KINDS[kind]]) + varint(issued)
    for s in (target, link_name, domain, message_id, rcpt, campaign, sending):
        s = s.encode() if isinstance(s, str) else s
        body += varint(len(s)) + s
    return body


def sign(body, secret=SECRET, key_id="k1", deflate="auto", head=None, id_len=None):
    """token/token.h's format: head, key id, body, 16-byte HMAC-SHA256."""
    flags = 0
    if deflate == "auto":
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = c.compress(body) + c.flush()
        if len(body) <= 16384 and len(packed) < len(body):
            body, flags = packed, 1
    elif deflate == "force-flag":
        flags = 1
    elif deflate == "force":
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        body, flags = c.compress(body) + c.flush(), 1
    kid = key_id.encode()
    raw = bytes([head if head is not None else (0x10 | flags)])
    raw += bytes([id_len if id_len is not None else len(kid)]) + kid + body
    mac = hmac.new(secret.encode(), b"trackrelay/token/1\0" + raw, hashlib.sha256).digest()[:16]
    return raw + mac


def token(kind, domain, target="", **kw):
    sign_kw = {k: kw.pop(k) for k in list(kw) if k in ("secret", "key_id", "deflate", "head",
                                                        "id_len")}
    return b64url(sign(body_of(kind, domain, target, **kw), **sign_kw))


def get(port, host, path, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        conn.endheaders()
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("Location"), r.getheaders()
    finally:
        conn.close()


class TokenAbuse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = harness.Env(TRACKRELAY)
        try:
            # The subaccounts' domains are verified through dnsmasq (CNAME to
            # the system domain): only verified API domains are served.
            cls.dns = cls.env.dnsmasq(["host-record=track.example.net,127.0.0.1"] + [
                "cname=click.sub%d.example.com,track.example.net" % n for n in (1, 2)])
            cls.config = cls.write_config(with_old_key=True)
            r = cls.env.run("--config", cls.config, "keys", "create", "--label", "abuse")
            assert r.returncode == 0, r.stderr
            cls.serve = cls.env.serve(cls.config)
            cls.port = cls.serve.ports["track"]
            api = harness.Client(cls.serve.ports["api"], r.stdout.decode().strip())
            cls.sub_domains = {}
            for n in (1, 2):
                status, body = api.call("POST", "/subaccounts", {"name": "s%d" % n,
                                                                 "setup_api_key": True})
                assert status == 200, body
                sub = harness.Client(cls.serve.ports["api"], body["results"]["key"])
                domain = "click.sub%d.example.com" % n
                status, body = sub.call("POST", "/tracking-domains", {"domain": domain})
                assert status == 200, body
                status, body = sub.call("POST", "/tracking-domains/%s/verify" % domain)
                assert status == 200 and body["results"]["verified"], body
                cls.sub_domains[n] = domain
        except BaseException:
            cls.env.close()
            raise

    @classmethod
    def write_config(cls, with_old_key):
        path = os.path.join(cls.env.dir, "token-abuse.yaml")
        keys = '  keys:\n    - {id: k1, secret: "%s"}\n' % SECRET
        if with_old_key:
            keys += '    - {id: old, secret: "%s"}\n' % OTHER_SECRET
        with open(path, "w") as f:
            f.write("tracking:\n  system_domain: track.example.net\n" + keys +
                    "  tracking_domains:\n    - {domain: click.example.com, default: true}\n"
                    "    - {domain: links.example.org}\n"
                    "track: {listen: '127.0.0.1:0'}\n"
                    "api: {listen: '127.0.0.1:0', store_poll_ms: 100}\n"
                    "dns: {resolvers: ['127.0.0.1:%d'], timeout_ms: 1000, reverify_interval: 0}\n"
                    "store: '%s'\n" % (cls.dns.port, cls.env.store))
        return path

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def assert_redirects(self, host, tok, target):
        status, location, _ = get(self.port, host, "/f/" + tok)
        self.assertEqual((status, location), (302, target), "a valid token must redirect")

    def assert_refused(self, host, path, what=""):
        status, location, headers = get(self.port, host, path)
        self.assertEqual(status, 404, "%s: %s got %s %s" % (what, path[:80], status, location))
        self.assertIsNone(location, what)
        self.assertFalse([h for h, _ in headers if h.lower() == "location"], what)

    def test_1_encoder_matches_track_mint(self):
        for kind, target in (("click", "https://example.com/x"), ("open", ""),
                             ("click", "https://example.com/" + "a" * 300)):
            minted = subprocess.run([MINT, SECRET, kind, "click.example.com", target],
                                    capture_output=True, check=True).stdout.decode().strip()
            self.assertEqual(unb64url(minted)[:2], unb64url(token(kind, "click.example.com",
                                                                   target))[:2])
            ours = token(kind, "click.example.com", target)
            if ours != minted:  # deflate output may differ between zlib settings
                ours = token(kind, "click.example.com", target, deflate="none")
                self.assertEqual(unb64url(minted)[0] & 1, 1)
            if kind == "click":
                self.assert_redirects("click.example.com", minted, target)
                self.assert_redirects("click.example.com", ours, target)
        plain = token("click", "click.example.com", "https://example.com/p", deflate="none")
        self.assert_redirects("click.example.com", plain, "https://example.com/p")

    def test_2_extension_and_reencoding(self):
        target = "https://example.com/offer?id=42"
        raw = sign(body_of("click", "click.example.com", target))
        tok = b64url(raw)
        self.assert_redirects("click.example.com", tok, target)
        h = "click.example.com"
        cases = {
            "byte after mac": b64url(raw + b"\0"),
            "mac repeated": b64url(raw + raw[-16:]),
            "char appended": tok + "A",
            "two chars appended": tok + "AA",
            "token twice": tok + tok,
            "padding": tok + "=" * (-len(tok) % 4 or 4),
            "std alphabet": base64.b64encode(raw).decode().rstrip("="),
            "percent-encoded": "".join("%%%02X" % ord(c) for c in tok),
            "upper case": tok.upper(),
            "lower case": tok.lower(),
            "mac truncated": b64url(raw[:-1]),
            "mac only": b64url(raw[-16:]),
            "mac zeroed": b64url(raw[:-16] + b"\0" * 16),
            "dot": tok[:10] + "." + tok[10:],
            "whitespace": tok[:10] + "%20" + tok[10:],
        }
        last = tok[-1]
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        # Non-canonical: the last character with different unused low bits.
        for c in alphabet:
            if c != last:
                alt = tok[:-1] + c
                try:
                    same = unb64url(alt) == raw
                except ValueError:
                    same = False
                if same:
                    cases["non-canonical " + c] = alt
        self.assertTrue([k for k in cases if k.startswith("non-canonical")] or len(raw) % 3 == 0)
        for what, bad in cases.items():
            if bad == tok:
                continue
            self.assert_refused(h, "/f/" + bad, what)
        for i in range(256):  # every value of the MAC's first byte
            if i != raw[-16]:
                self.assert_refused(h, "/f/" + b64url(raw[:-16] + bytes([i]) + raw[-15:]),
                                    "mac byte %d" % i)

    def test_3_header_and_key_tampering(self):
        h = "click.example.com"
        body = body_of("click", h, "https://example.com/k")
        for what, kw in (("version 2", {"head": 0x20}), ("version 0", {"head": 0x00}),
                         ("unknown flag", {"head": 0x12}), ("id length 0", {"id_len": 0}),
                         ("id length too long", {"id_len": 17}), ("id length off", {"id_len": 3}),
                         ("deflate flag on a plain body", {"deflate": "force-flag"}),
                         ("unknown key id", {"key_id": "k2"}),
                         ("unknown key id with k1's secret", {"key_id": "k1x"}),
                         ("k1 id, old key's secret", {"secret": OTHER_SECRET}),
                         ("empty key id", {"key_id": ""})):
            self.assert_refused(h, "/f/" + b64url(sign(body, **kw)), what)
        # Trailing bytes inside the signed body; an inflate bomb's worth of body.
        self.assert_refused(h, "/f/" + b64url(sign(body + b"\0", deflate="none")), "trailing")
        self.assert_refused(h, "/f/" + b64url(sign(body + b"\0", deflate="force")), "trailing z")
        self.assert_refused(h, "/f/" + b64url(sign(body[:-1], deflate="none")), "truncated body")
        # A second key is accepted while configured; removed by a reload, its
        # tokens stop working at once.
        old = b64url(sign(body, secret=OTHER_SECRET, key_id="old"))
        self.assert_redirects(h, old, "https://example.com/k")
        mark = len(self.serve.lines)
        self.write_config(with_old_key=False)
        self.serve.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while get(self.port, h, "/f/" + old)[0] == 302:
            self.assertLess(time.monotonic(), deadline, "reload did not drop 'old'")
        self.assert_refused(h, "/f/" + old, "removed key")
        self.assert_redirects(h, token("click", h, "https://example.com/k"), "https://example.com/k")
        self.assertGreater(len(self.serve.lines), mark)
        self.write_config(with_old_key=True)
        self.serve.proc.send_signal(signal.SIGHUP)

    def test_4_replay_across_subaccounts_and_domains(self):
        hosts = [self.sub_domains[1], self.sub_domains[2], "click.example.com",
                 "links.example.org", "track.example.net"]
        # API domains reach the tracker through the store poll.
        deadline = time.monotonic() + 20
        for host in hosts:
            tok = token("click", host, "https://example.com/%s" % host)
            while get(self.port, host, "/f/" + tok)[0] != 302:
                self.assertLess(time.monotonic(), deadline,
                                "%s is not served by the tracker" % host)
        for issued in hosts:
            tok = token("click", issued, "https://example.com/%s" % issued)
            pix = token("open", issued)
            for presented in hosts + [issued.upper(), issued + ":8080", "evil." + issued,
                                      issued.split(".", 1)[1], issued + ".evil.example"]:
                if presented.lower().split(":")[0] == issued:
                    self.assert_redirects(presented, tok, "https://example.com/%s" % issued)
                    continue
                self.assert_refused(presented, "/f/" + tok, "%s on %s" % (issued, presented))
                status, _, _ = get(self.port, presented, "/q/" + pix)
                self.assertEqual(status, 404, "pixel of %s on %s" % (issued, presented))
        # Absolute-form request target naming another host than Host.
        tok = token("click", self.sub_domains[1], "https://example.com/abs")
        status, location, _ = get(self.port, self.sub_domains[2],
                                  "http://%s/f/%s" % (self.sub_domains[1], tok))
        self.assertIsNone(location if status != 302 else None)
        if status == 302:
            self.assertEqual(location, "https://example.com/abs")

    def test_5_targets_never_in_a_location(self):
        h = "click.example.com"
        unsafe = ["JAVASCRIPT:alert(1)", " javascript:alert(1)", "\tjavascript:alert(1)",
                  "javascript://example.com/%0Aalert(1)", "vbscript:msgbox(1)", "file:///etc/passwd",
                  "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
                  "//evil.example/", "/\\evil.example", "\\\\evil.example\\x", "ftp://example.com/",
                  "https://example.com/\x00x", "https://example.com/\x7fx",
                  "https://example.com/\x0bx", "https://example.com/\x1bx", "https://example.com/\rx",
                  "https://example.com/\r\nLocation: https://evil.example/",
                  "https:",
                  "https://", "http://", "", " https://example.com/", "https://example.com/ ",
                  "https ://example.com/", "mailto:a@example.com", "tel:+1"]
        for target in unsafe:
            body = body_of("click", h, target.encode("utf-8"))
            self.assert_refused(h, "/f/" + b64url(sign(body)), repr(target))
        # Non-ASCII (IRIs, which the rewrite tracks as written) is passed on
        # byte for byte: no CR or LF byte can appear, nothing is re-encoded.
        for target in ("https://example.com/\u2028x", "https://example.com/\u0085x",
                       "https://b\u00fccher.example/p\u00e4th?q=\u2603"):
            body = body_of("click", h, target.encode("utf-8"))
            status, location, _ = get(self.port, h, "/f/" + b64url(sign(body)))
            self.assertEqual(status, 302, repr(target))
            self.assertEqual(location.encode("latin-1"), target.encode("utf-8"))
        # Over the inflate limit (16 KiB): compressible, so the token is short.
        huge = "https://example.com/?" + "a" * 20000
        tok = b64url(sign(body_of("click", h, huge), deflate="force"))
        self.assertLess(len(tok), 4096)
        self.assert_refused(h, "/f/" + tok, "target over the inflate limit")
        # A token over 4096 characters (incompressible target).
        rnd = base64.urlsafe_b64encode(os.urandom(3500)).decode()
        tok = b64url(sign(body_of("click", h, "https://example.com/?" + rnd), deflate="none"))
        self.assertGreater(len(tok), 4096)
        self.assert_refused(h, "/f/" + tok, "token over 4096 characters")
        # Long but within the limits: exact or nothing, never truncated.
        long_target = "https://example.com/?" + "b" * 12000
        tok = b64url(sign(body_of("click", h, long_target), deflate="force"))
        status, location, _ = get(self.port, h, "/f/" + tok)
        if status == 302:
            self.assertEqual(location, long_target)
        else:
            self.assertIsNone(location)
        # The /q/ path never redirects, even with a click token.
        click = token("click", h, "https://example.com/q")
        status, location, _ = get(self.port, h, "/q/" + click)
        self.assertEqual((status, location), (404, None))
        open_tok = token("open", h, "https://example.com/pixel-with-target")
        self.assert_refused(h, "/f/" + open_tok, "open token on /f/")
        # Request-target tricks around a valid token.
        good = token("click", h, "https://example.com/good")
        for path in ("/F/" + good, "//f/" + good, "/f//" + good, "/f/" + good + "/",
                     "/f/./" + good, "/x/../f/" + good, "/%66/" + good, "/f/" + good + "%00",
                     "/f/" + good + "%0d%0aSet-Cookie:%20x=y"):
            status, location, _ = get(self.port, h, path)
            if status == 302:
                self.assertEqual(location, "https://example.com/good", path)
            else:
                self.assertIsNone(location, path)


if __name__ == "__main__":
    TRACKRELAY, MINT = (os.path.abspath(a) for a in sys.argv[1:3])
    unittest.main(argv=sys.argv[:1] + sys.argv[3:], verbosity=2)
