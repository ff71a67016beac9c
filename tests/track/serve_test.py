#!/usr/bin/env python3
"""tests/track/serve_test.py — the tracking endpoint as a real process.

Starts `trackrelay serve` on loopback port 0 (the bound port is read from its
log) with a temporary configuration and store, and talks to it with curl and
Python's http.client / raw sockets:

  * every link `trackrelay rewrite` makes from the corpus messages redirects
    to exactly the link it replaced, taken from the input message itself
    (Python's email and html.parser, paired in order), not from trackrelay;
    every pixel is the GIF;
  * bit-flipped, truncated, wrong-key, cross-host tokens, unknown hosts and
    CRLF / javascript: targets never redirect (404, no Location);
  * keep-alive (curl reuses the connection) and pipelining (three requests in
    one write, three responses in order);
  * HTTPS with two certificates chosen by SNI (made here with openssl), a
    missing certificate is a clear error at start and at reload;
  * X-Forwarded-For is believed from a trusted proxy;
  * N answered requests, SIGKILL, restart: `trackrelay events` lists N events.

usage: serve_test.py TRACKRELAY TRACK_MINT CORPUS_DIR
Every server is stopped and the temporary directory removed, pass or fail.
"""
import base64
import email
import email.policy
import html.parser
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

TRACKRELAY, MINT, CORPUS = sys.argv[1:4] if len(sys.argv) >= 4 else (None, None, None)
SECRET = "serve-test-secret-0123456789abcdefghijklmnopq"
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
HOSTS = ("click.example.com", "links.example.org", "track.example.net")
TRACKED = re.compile(r"https?://(%s)(?::\d+)?/[fq]/[A-Za-z0-9_-]+" %
                     "|".join(re.escape(h) for h in HOSTS))

TRACKED_ANY = re.compile(TRACKED.pattern.replace("(", "(?:", 1))  # no group: for split()


def config_text(store, listen="127.0.0.1:0", tls_listen=None, certs=(), proxies=()):
    lines = [
        "tracking:",
        "  system_domain: track.example.net",
        "  senders: any",  # corpus messages from any domain are tracked
        '  keys: [{id: k1, secret: "%s"}]' % SECRET,
        "  tracking_domains:",
        "    - {domain: click.example.com, default: true}",
        "    - {domain: links.example.org}",
        "  sending_domains:",
        "    - {domain: example.org, tracking_domain: links.example.org}",
        "track:",
        "  listen: %s" % listen,
    ]
    if tls_listen:
        lines.append("  tls_listen: %s" % tls_listen)
        lines.append("  certificates:")
        for domains, cert, key in certs:
            lines.append("    - {domains: [%s], cert: '%s', key: '%s'}" %
                         (", ".join(domains), cert, key))
    if proxies:
        lines.append("  trusted_proxies: [%s]" % ", ".join(proxies))
    lines.append("store: '%s'" % store)
    return "\n".join(lines) + "\n"


class Server:
    """One `trackrelay serve` process; ports parsed from its log."""

    def __init__(self, config_path):
        self.config_path = config_path
        self.proc = subprocess.Popen([TRACKRELAY, "--config", config_path, "serve"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.log = []
        self.http_port = self.https_port = None
        self._drain = None
        deadline = time.monotonic() + 30
        buf = b""
        while True:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("server not ready: %r" % self.log)
            ready, _, _ = select.select([self.proc.stderr], [], [], 0.5)
            if not ready:
                continue
            chunk = os.read(self.proc.stderr.fileno(), 4096)
            if not chunk:
                self.proc.wait()
                self.proc.stderr.close()
                raise AssertionError("server exited %s: %s" % (self.proc.returncode,
                                                               "".join(self.log)))
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self.log.append(line.decode(errors="replace") + "\n")
                m = re.search(r"listening on (https?)://127\.0\.0\.1:(\d+)", self.log[-1])
                if m and m.group(1) == "http":
                    self.http_port = int(m.group(2))
                elif m:
                    self.https_port = int(m.group(2))
                if "trackrelay: serving" in self.log[-1]:
                    self._drain = threading.Thread(target=self._read_rest, daemon=True)
                    self._drain.start()
                    return

    def _read_rest(self):
        for line in self.proc.stderr:
            self.log.append(line.decode(errors="replace"))

    def wait_for_log(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in list(self.log)):
                return True
            time.sleep(0.02)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()

    def _close(self):
        drain = getattr(self, "_drain", None)
        if drain:
            drain.join(timeout=5)
        self.proc.stderr.close()


def run(args, stdin=None):
    return subprocess.run([TRACKRELAY] + args, stdin=stdin, capture_output=True, timeout=120)


def mint(kind, domain, target):
    out = subprocess.run([MINT, SECRET, kind, domain, target], capture_output=True, check=True)
    return out.stdout.decode().strip()


def get(port, host, path, method="GET", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        h = {"Host": host}
        h.update(headers or {})
        conn.request(method, path, headers=h)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def tracked_links(raw):
    """Tracked URLs in the decoded text of every part of a message."""
    found = []
    for _, text in leaf_texts(raw):
        for m in TRACKED.finditer(text):
            if m.group(0) not in found:
                found.append(m.group(0))
    return found


class Hrefs(html.parser.HTMLParser):
    """Every href attribute of an HTML text, in document order, entities decoded."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.hrefs = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.hrefs.extend(v for k, v in attrs if k == "href" and v is not None)

    handle_startendtag = handle_starttag


def canonical_cte(part):
    """Spellings of quoted-printable and base64 that mail clients decode
    (`quoted printable`, `Base-64;`, …: issue 18) are decoded here too;
    Python's email decodes only the exact names."""
    value = part.get("Content-Transfer-Encoding")
    if value is None:
        return
    word = re.sub(r'\([^)]*\)|[\s"_;-]', "", value.lower())
    word = word[:-1] if word.endswith("s") else word
    canonical = {"quotedprintable": "quoted-printable", "base64": "base64"}.get(word)
    if canonical:
        part.replace_header("Content-Transfer-Encoding", canonical)


def leaf_texts(raw):
    """(content type, decoded text) of every leaf part, in order."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        canonical_cte(part)
        out.append((part.get_content_type(), (part.get_payload(decode=True) or b"").decode("latin-1")))
    return out


def as_browser_reads(href):
    """What a browser follows for an href (WHATWG URL parsing): leading and
    trailing C0 controls and spaces stripped, every tab and newline removed."""
    href = href.strip("".join(chr(c) for c in range(0x21)))
    return href.replace("\t", "").replace("\n", "").replace("\r", "")


def original_targets(original, rewritten):
    """{tracked click URL: the link of `original` it replaced}. HTML parts pair
    the hrefs of both messages in order; in other text parts the rewritten
    text, with each tracked URL as a wildcard, must match the original."""
    before, after = leaf_texts(original), leaf_texts(rewritten)
    if len(before) != len(after):
        raise AssertionError("rewrite changed the number of parts: %d -> %d"
                             % (len(before), len(after)))
    out = {}
    for (ctype, old), (_, new) in zip(before, after):
        if not ctype.startswith("text/"):
            continue
        if "html" in ctype:
            old_hrefs, new_hrefs = Hrefs(old).hrefs, Hrefs(new).hrefs
            if len(old_hrefs) != len(new_hrefs):
                raise AssertionError("%s: %d hrefs became %d" % (ctype, len(old_hrefs),
                                                                  len(new_hrefs)))
            for o, n in zip(old_hrefs, new_hrefs):
                if TRACKED.fullmatch(n) and "/f/" in n:
                    out[n] = as_browser_reads(o)
            continue
        links = [m.group(0) for m in TRACKED.finditer(new) if "/f/" in m.group(0)]
        if not links:
            continue
        pieces = TRACKED_ANY.split(new)
        pattern = "(.+?)".join(re.escape(p) for p in pieces)
        m = re.fullmatch(pattern, old, re.S)
        if m is None:
            raise AssertionError("%s: the rewritten text is not the original with links "
                                 "replaced" % ctype)
        for url, target in zip((u.group(0) for u in TRACKED.finditer(new)), m.groups()):
            if "/f/" in url:
                out[url] = as_browser_reads(target)
    return out


class TrackServe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="trackrelay-serve-test-")
        cls.cfg = os.path.join(cls.tmp, "trackrelay.yaml")
        with open(cls.cfg, "w") as f:
            f.write(config_text(os.path.join(cls.tmp, "var", "events.db"),
                                proxies=["127.0.0.2/32"]))
        cls.server = Server(cls.cfg)
        cls.port = cls.server.http_port

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, "serve exited %s on SIGTERM" % rc

    def assert_not_redirected(self, host, path):
        status, headers, _ = get(self.port, host, path)
        self.assertEqual(status, 404, path)
        self.assertNotIn("Location", headers)

    def test_corpus_links_land_on_decoded_targets(self):
        names = sorted(n for n in os.listdir(os.path.join(CORPUS, "mime")) if n.endswith(".eml"))
        self.assertGreater(len(names), 10)
        checked = pixels = 0
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        first_sock = None
        for name in names:
            path_in = os.path.join(CORPUS, "mime", name)
            with open(path_in, "rb") as f:
                original = f.read()
            with open(path_in, "rb") as f:
                out = run(["--config", self.cfg, "rewrite", "--rcpt", "r@example.net"], stdin=f)
            if out.returncode != 0:
                continue  # e.g. a malformed X-MSYS-API header: nothing is rewritten
            urls = tracked_links(out.stdout)
            if not urls:
                continue
            # The targets come from the input message, not from trackrelay.
            targets = original_targets(original, out.stdout)
            for url in urls:
                host = url.split("/")[2].split(":")[0]
                path = "/" + url.split("/", 3)[3]
                conn.request("GET", path, headers={"Host": host})
                if first_sock is None:
                    first_sock = conn.sock
                r = conn.getresponse()
                body = r.read()
                if "/f/" in path:
                    self.assertIn(url, targets, (name, "no link of the input pairs with it"))
                    self.assertEqual(r.status, 302, (name, url))
                    self.assertEqual(r.getheader("Location"), targets[url], (name, url))
                    self.assertEqual(r.getheader("Cache-Control"), "no-store, private")
                    self.assertEqual(r.getheader("X-Robots-Tag"), "noindex")
                    self.assertEqual(r.getheader("Referrer-Policy"), "no-referrer")
                    self.assertEqual(body, b"")
                    checked += 1
                else:
                    self.assertEqual(r.status, 200, (name, url))
                    self.assertEqual(r.getheader("Content-Type"), "image/gif")
                    self.assertEqual(body, GIF)
                    pixels += 1
        self.assertIs(conn.sock, first_sock, "keep-alive: one connection for every request")
        conn.close()
        # What the corpus yields today: 62 links and 40 pixels.
        self.assertGreater(checked, 50)
        self.assertGreater(pixels, 30)

    def test_forged_tokens_never_redirect(self):
        tok = mint("click", "click.example.com", "https://example.com/x")
        status, headers, _ = get(self.port, "click.example.com", "/f/" + tok)
        self.assertEqual((status, headers.get("Location")), (302, "https://example.com/x"))
        raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
        for i in range(0, len(raw) * 8, 7):
            flipped = bytearray(raw)
            flipped[i // 8] ^= 1 << (i % 8)
            bad = base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip("=")
            self.assert_not_redirected("click.example.com", "/f/" + bad)
        for cut in (1, len(tok) // 2, len(tok) - 1):
            self.assert_not_redirected("click.example.com", "/f/" + tok[:cut])
        # Issued for click.example.com, presented on another tracking domain.
        self.assert_not_redirected("links.example.org", "/f/" + tok)
        self.assert_not_redirected("track.example.net", "/f/" + tok)
        # A host that is not a tracking domain, with a token made for it.
        evil = mint("click", "evil.example.com", "https://example.com/x")
        self.assert_not_redirected("evil.example.com", "/f/" + evil)
        # Other secrets.
        other = subprocess.run([MINT, "x" * 40, "click", "click.example.com", "https://e.com/"],
                               capture_output=True, check=True).stdout.decode().strip()
        self.assert_not_redirected("click.example.com", "/f/" + other)

    def test_unsafe_targets_never_redirect(self):
        for target in ("https://example.com/\r\nSet-Cookie: a=b", "https://example.com/\nx",
                       "javascript:alert(document.cookie)", "JavaScript:alert(1)",
                       "data:text/html,<script>alert(1)</script>", "https://e.com/ a"):
            self.assert_not_redirected("click.example.com",
                                       "/f/" + mint("click", "click.example.com", target))
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                              "-H", "Host: click.example.com",
                              "http://127.0.0.1:%d/f/%s" % (self.port, mint(
                                  "click", "click.example.com", "javascript:alert(1)"))],
                             capture_output=True, timeout=30)
        self.assertEqual(out.stdout.decode().strip(), "404")

    def test_pixels_head_and_other_paths(self):
        tok = mint("open", "click.example.com", "")
        status, headers, body = get(self.port, "click.example.com", "/q/" + tok)
        self.assertEqual((status, headers["Content-Type"], body), (200, "image/gif", GIF))
        self.assertEqual(headers["Cache-Control"], "no-store, private")
        status, headers, body = get(self.port, "click.example.com", "/q/" + tok, method="HEAD")
        self.assertEqual((status, headers["Content-Length"], body), (200, "43", b""))
        for path in ("/", "/f/", "/favicon.ico", "/q/" + tok + "/x"):
            status, headers, body = get(self.port, "click.example.com", path)
            self.assertEqual(status, 404, path)
            self.assertLess(len(body), 64)
        status, _, body = get(self.port, "anything.example", "/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))

    def test_keep_alive_with_curl(self):
        tok = mint("click", "click.example.com", "https://example.com/k")
        url = "http://127.0.0.1:%d/f/%s" % (self.port, tok)
        out = subprocess.run(["curl", "-sv", "-o", "/dev/null", "-o", "/dev/null",
                              "-H", "Host: click.example.com", url, url],
                             capture_output=True, timeout=30)
        err = out.stderr.decode()
        self.assertEqual(out.returncode, 0, err)
        self.assertIn("Re-using existing connection", err)
        self.assertEqual(err.count("< HTTP/1.1 302"), 2, err)

    def test_pipelining(self):
        f = mint("click", "click.example.com", "https://example.com/p1")
        q = mint("initial_open", "click.example.com", "")
        reqs = ("GET /f/%s HTTP/1.1\r\nHost: click.example.com\r\n\r\n"
                "HEAD /q/%s HTTP/1.1\r\nHost: click.example.com\r\n\r\n"
                "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") % (f, q)
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(reqs.encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        text = data.decode("latin-1")
        statuses = re.findall(r"^HTTP/1\.1 (\d{3})", text, re.M)
        self.assertEqual(statuses, ["302", "200", "200"], text)
        self.assertIn("Location: https://example.com/p1\r\n", text)
        self.assertTrue(text.endswith("\r\n\r\nok\n"), text)

    def test_forwarded_for_from_trusted_proxy(self):
        tok = mint("click", "click.example.com", "https://example.com/xff")
        # 127.0.0.2 is trusted in this configuration; 127.0.0.1 is not.
        for src, want in (("127.0.0.2", "203.0.113.9"), ("127.0.0.1", "127.0.0.1")):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10,
                                         source_address=(src, 0))
            s.sendall(("GET /f/%s HTTP/1.1\r\nHost: click.example.com\r\nUser-Agent: xff-%s\r\n"
                       "X-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n" %
                       (tok, src)).encode())
            self.assertIn(b" 302 ", s.recv(4096))
            s.close()
            out = run(["--config", self.cfg, "events", "--json", "--limit", "10000"])
            events = [json.loads(line) for line in out.stdout.decode().splitlines()]
            mine = [e for e in events if e["user_agent"] == "xff-" + src]
            self.assertEqual(len(mine), 1, events[-3:])
            self.assertEqual(mine[0]["ip_address"], want)


class TrackTls(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="trackrelay-tls-test-")
        self.server = None
        self.certs = []
        for name, domain in (("a", "click.example.com"), ("b", "links.example.org")):
            cert, key = (os.path.join(self.tmp, name + ext) for ext in (".pem", ".key"))
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "2", "-subj", "/CN=" + domain,
                            "-addext", "subjectAltName=DNS:" + domain,
                            "-keyout", key, "-out", cert], check=True, capture_output=True)
            self.certs.append(([domain], cert, key))
        self.cfg = os.path.join(self.tmp, "trackrelay.yaml")

    def tearDown(self):
        if self.server:
            self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_config(self, certs):
        with open(self.cfg, "w") as f:
            f.write(config_text(os.path.join(self.tmp, "events.db"), tls_listen="127.0.0.1:0",
                                certs=certs))

    def curl_https(self, host, cafile, path):
        return subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
             "--cacert", cafile, "--resolve", "%s:%d:127.0.0.1" % (host, self.server.https_port),
             "https://%s:%d%s" % (host, self.server.https_port, path)],
            capture_output=True, timeout=30)

    def test_sni_chooses_the_certificate(self):
        self.write_config(self.certs)
        self.server = Server(self.cfg)
        self.assertIsNotNone(self.server.https_port)
        for (domains, cert, _), target in zip(self.certs, ("https://a.example/", "http://b.example/")):
            tok = mint("click", domains[0], target)
            out = self.curl_https(domains[0], cert, "/f/" + tok)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout.decode(), "302 " + target)
        # The other domain's certificate does not verify for this name.
        wrong = self.curl_https("links.example.org", self.certs[0][1], "/healthz")
        self.assertNotEqual(wrong.returncode, 0)
        # Python's ssl with SNI, keep-alive over TLS.
        ctx = ssl.create_default_context(cafile=self.certs[1][1])
        with socket.create_connection(("127.0.0.1", self.server.https_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="links.example.org") as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: links.example.org\r\n\r\n"
                          b"GET /healthz HTTP/1.1\r\nHost: links.example.org\r\n"
                          b"Connection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
        self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 2, data)

    def test_missing_certificate_at_start_and_reload(self):
        missing = os.path.join(self.tmp, "missing.pem")
        self.write_config([self.certs[0], (["links.example.org"], missing, self.certs[1][2])])
        p = subprocess.run([TRACKRELAY, "--config", self.cfg, "serve"], capture_output=True,
                           timeout=30)
        # A configuration error (conf/ checks the files, as `check` does): 78.
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn("error: track.certificates[1].cert", p.stderr.decode())
        self.assertIn(missing, p.stderr.decode())
        # Start with good files; a reload that names a missing file keeps them.
        self.write_config(self.certs)
        self.server = Server(self.cfg)
        self.write_config([self.certs[0], (["links.example.org"], missing, self.certs[1][2])])
        self.server.proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.server.wait_for_log("the running configuration stays"),
                        "".join(self.server.log))
        self.assertIn(missing, "".join(self.server.log))
        out = self.curl_https("links.example.org", self.certs[1][1], "/healthz")
        self.assertEqual(out.stdout.decode(), "200 ")


class TrackKill(unittest.TestCase):
    def test_sigkill_keeps_every_answered_event(self):
        tmp = tempfile.mkdtemp(prefix="trackrelay-kill-test-")
        server = None
        try:
            cfg = os.path.join(tmp, "trackrelay.yaml")
            with open(cfg, "w") as f:
                f.write(config_text(os.path.join(tmp, "events.db")))
            server = Server(cfg)
            n = 300
            tok = mint("click", "click.example.com", "https://example.com/kill")
            pixel = mint("open", "click.example.com", "")
            conns = [http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
                     for _ in range(4)]
            answered = 0
            for i in range(n):
                c = conns[i % len(conns)]
                path, method = (("/f/" + tok, "GET") if i % 3 else ("/q/" + pixel, "HEAD"))
                c.request(method, path, headers={"Host": "click.example.com"})
                r = c.getresponse()
                r.read()
                self.assertIn(r.status, (200, 302))
                answered += 1
            server.proc.kill()  # SIGKILL: no shutdown, no flush
            server.proc.wait()
            for c in conns:
                c.close()
            out = run(["--config", cfg, "events", "--json", "--limit", "10000"])
            self.assertEqual(out.returncode, 0, out.stderr)
            events = [json.loads(line) for line in out.stdout.decode().splitlines()]
            self.assertEqual(len(events), answered)
            self.assertEqual(sum(e["method"] == "HEAD" for e in events), n // 3)
            self.assertEqual(sum(e["type"] == "click" for e in events), n - n // 3)
            # Restarted, it serves and records on top of what was there.
            server = Server(cfg)
            status, _, _ = get(server.http_port, "click.example.com", "/f/" + tok)
            self.assertEqual(status, 302)
            server.stop()
            out = run(["--config", cfg, "events", "--type", "click", "--limit", "10000"])
            self.assertEqual(len(out.stdout.decode().splitlines()), n - n // 3 + 1)
        finally:
            if server:
                server.kill()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if not all((TRACKRELAY, MINT, CORPUS)):
        sys.exit(__doc__)
    unittest.main(argv=[sys.argv[0]] + sys.argv[4:], verbosity=2)
