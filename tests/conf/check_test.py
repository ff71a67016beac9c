"""tests/conf/check_test.py - `trackrelay check` refuses every class of value
that `serve` refuses, at the right file:line:col, and `serve` and SIGHUP
reload refuse it with the same message (one validation, conf/).

Table-driven: each row is a valid base configuration with one section
changed; `check` must exit 78 (EX_CONFIG) and print
"FILE:LINE:COL: error: KEY..." where LINE is the line holding the bad value.
Also: relative paths resolve against the configuration file's directory
(serve run from another working directory), the public example secret is
refused off loopback, and the built-in example still passes.

    usage: check_test.py TRACKRELAY_BINARY
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

EX_CONFIG = 78
SECRET = "conf-check-test-secret-0123456789abcdefghijklmnop"
EXAMPLE_SECRET = "example-secret-change-me-0123456789abcdefghijklmnop"
HASH = "pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0$" + "A" * 43 + "="


def base():
    """The valid configuration every row starts from, as ordered sections."""
    return {
        "tracking": ["system_domain: track.example.net",
                     "keys:",
                     "  - id: k1",
                     "    secret_file: secret",
                     "tracking_domains:",
                     "  - {domain: click.example.com, secure: true}"],
        "relay": ["listen: 127.0.0.1:0", "upstream: maildir:outbox"],
        "track": ["listen: 127.0.0.1:0"],
        "api": ["listen: 127.0.0.1:0"],
        "dns": ["resolvers: []"],
        "store": "events.db",
    }


def render(sections):
    out = []
    for name, body in sections.items():
        if isinstance(body, str):
            out.append("%s: %s" % (name, body))
            continue
        out.append("%s:" % name)
        out.extend("  " + line for line in body)
    return "\n".join(out) + "\n"


def tls(certs):
    return ["listen: 127.0.0.1:0", "tls_listen: 127.0.0.1:0", "certificates:"] + [
        "  - {domains: [%s], cert: %s, key: %s}" % c for c in certs]


# (name, section, new body, key expected in the error, marker on the bad line)
ROWS = [
    ("relay.listen port out of range", "relay",
     ["listen: 127.0.0.1:99999", "upstream: maildir:outbox"], "relay.listen", "99999"),
    ("relay.listen host name", "relay",
     ["listen: mail.example.com:25", "upstream: maildir:outbox"], "relay.listen", "mail.example"),
    ("relay.listen second list item", "relay",
     ["listen: [127.0.0.1:0, '10.0.0.1']", "upstream: maildir:outbox"], "relay.listen", "10.0.0.1"),
    ("track.listen no port", "track", ["listen: '127.0.0.1'"], "track.listen", "'127.0.0.1'"),
    ("track.tls_listen bad address", "track",
     ["tls_listen: 'nowhere:443'", "certificates: []"], "track.tls_listen", "nowhere"),
    ("api.listen unclosed bracket", "api", ["listen: '[::1:8025'"], "api.listen", "[::1"),
    ("relay.upstream without port", "relay",
     ["listen: 127.0.0.1:0", "upstream: mx.example.net"], "relay.upstream", "mx.example"),
    ("relay.upstream empty maildir", "relay",
     ["listen: 127.0.0.1:0", "upstream: 'maildir:'"], "relay.upstream", "maildir:"),
    ("relay.upstream missing", "relay", ["listen: 127.0.0.1:0"], "relay.listen", "listen:"),
    ("relay.clients prefix too long", "relay",
     ["listen: 127.0.0.1:0", "upstream: maildir:outbox", "clients: [10.0.0.0/33]"],
     "relay.clients", "10.0.0.0/33"),
    ("track.trusted_proxies not a network", "track",
     ["listen: 127.0.0.1:0", "trusted_proxies: [proxy.example.net]"], "track.trusted_proxies",
     "trusted_proxies"),
    ("dns.resolvers host name", "dns", ["resolvers: [dns.example.net]"], "dns.resolvers",
     "dns.example.net"),
    ("dns.resolvers bad port", "dns", ["resolvers: ['127.0.0.2:0']"], "dns.resolvers",
     "127.0.0.2:0"),
    ("relay.upstream_tls yes", "relay",
     ["listen: 127.0.0.1:0", "upstream: maildir:outbox", "upstream_tls: yes"],
     "relay.upstream_tls", "upstream_tls"),
    ("rewrite.html_scanner unknown", "rewrite", ["html_scanner: slow"], "rewrite.html_scanner",
     "slow"),
    ("relay.auth not a hash", "relay",
     ["listen: 127.0.0.1:0", "upstream: maildir:outbox", "auth: ['app:secret']"],
     "relay.auth", "app:secret"),
    ("relay.auth no user", "relay",
     ["listen: 127.0.0.1:0", "upstream: maildir:outbox", "auth: ['%s']" % HASH],
     "relay.auth", "auth:"),
    ("dashboard.admin_password_hash bad", "dashboard",
     ["admin_password_hash: 'pbkdf2-sha256$10$c2FsdHNhbHRzYWx0$x'"],
     "dashboard.admin_password_hash", "admin_password_hash"),
    ("track.tls_listen without certificates", "track",
     ["listen: 127.0.0.1:0", "tls_listen: 127.0.0.1:0"], "track.tls_listen", "tls_listen"),
    ("acme.directory not https", "acme", ["directory: 'http://ca.example.net/dir'"],
     "acme.directory", "directory"),
    ("acme.renew_before_days too large", "acme", ["renew_before_days: 4000"],
     "acme.renew_before_days", "4000"),
    ("certificate file missing", "track",
     tls([("click.example.com", "missing.pem", "click.key")]), "track.certificates[0].cert",
     "missing.pem"),
    ("certificate not PEM", "track",
     tls([("click.example.com", "garbage.pem", "click.key")]), "track.certificates[0].cert",
     "garbage.pem"),
    ("key does not match certificate", "track",
     tls([("click.example.com", "click.pem", "other.key")]), "track.certificates[0].key",
     "other.key"),
    ("certificate does not cover its domain", "track",
     tls([("links.example.org", "click.pem", "click.key")]), "track.certificates[0].domains",
     "links.example.org"),
    ("certificate does not cover a wildcard", "track",
     tls([("'*.example.com'", "click.pem", "click.key")]), "track.certificates[0].domains",
     "*.example.com"),
    ("relay.tls_cert without tls_key", "relay",
     ["listen: 127.0.0.1:0", "upstream: maildir:outbox", "tls_cert: click.pem"],
     "relay.tls_cert", "tls_cert"),
    ("relay.tls_key unreadable", "relay",
     ["listen: 127.0.0.1:0", "upstream: maildir:outbox", "tls_cert: click.pem",
      "tls_key: nope.key"], "relay.tls_key", "nope.key"),
    ("relay.require_tls without certificate", "relay",
     ["listen: 127.0.0.1:0", "upstream: maildir:outbox", "require_tls: true"],
     "relay.require_tls", "require_tls"),
    ("store empty", "store", "''", "store", "store:"),
    ("public example secret off loopback", "tracking",
     ["system_domain: track.example.net", "keys:", "  - id: k1",
      "    secret: %s" % EXAMPLE_SECRET], "tracking.keys[0].secret", EXAMPLE_SECRET),
]

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def run(binary, config, command, cwd):
    argv = [binary] + (["--config", config] if config else []) + [command]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60)


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def make_files(d):
    with open(os.path.join(d, "secret"), "w") as f:
        f.write(SECRET + "\n")
    os.mkdir(os.path.join(d, "outbox"))
    for name, cn in (("click", "click.example.com"), ("other", "other.example.com")):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-days", "2", "-subj", "/CN=" + cn,
                "-addext", "subjectAltName=DNS:" + cn,
                "-keyout", os.path.join(d, name + ".key"), "-out", os.path.join(d, name + ".pem"))
    with open(os.path.join(d, "garbage.pem"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")


def row_config(d, name, section, body):
    sections = base()
    sections[section] = body
    if name == "public example secret off loopback":
        sections["api"] = ["listen: 0.0.0.0:0"]
    text = render(sections)
    path = os.path.join(d, re.sub(r"[^a-z0-9]+", "-", name.lower()) + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    return path, text


def error_lines(stderr):
    return [l for l in stderr.splitlines() if ": error: " in l]


def check_rows(binary, d, elsewhere):
    for name, section, body, key, marker in ROWS:
        path, text = row_config(d, name, section, body)
        line = next(i for i, l in enumerate(text.splitlines(), 1) if marker in l)
        r = run(binary, path, "check", elsewhere)
        errs = error_lines(r.stderr)
        want = re.compile(r"^%s:%d:\d+: error: %s\b" % (re.escape(path), line, re.escape(key)))
        if r.returncode != EX_CONFIG:
            fail("%s: check exited %d, not 78\n%s" % (name, r.returncode, r.stderr))
        elif not any(want.match(e) for e in errs):
            fail("%s: no '%s:%d:COL: error: %s' in\n%s" % (name, path, line, key, r.stderr))
        elif any("%s: %s:" % (key, key) in e for e in errs):
            fail("%s: the key is named twice in %s" % (name, errs))
        else:
            print("ok: %s -> %s" % (name, errs[0]), flush=True)


def serve_refuses_alike(binary, d, elsewhere):
    """serve exits 78 with exactly check's error lines (before listening)."""
    for name in ("relay.upstream_tls yes", "key does not match certificate",
                 "dns.resolvers host name", "public example secret off loopback"):
        row = next(r for r in ROWS if r[0] == name)
        path, _ = row_config(d, name, row[1], row[2])
        c = run(binary, path, "check", elsewhere)
        s = run(binary, path, "serve", elsewhere)
        if s.returncode != EX_CONFIG:
            fail("%s: serve exited %d, not 78\n%s" % (name, s.returncode, s.stderr))
        elif error_lines(s.stderr) != error_lines(c.stderr) or not error_lines(c.stderr):
            fail("%s: serve and check disagree:\n%s\n---\n%s" % (name, s.stderr, c.stderr))
        else:
            print("ok: serve refuses %s like check" % name, flush=True)


def wait_line(proc, lines, pattern, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            return None
        lines.append(line.rstrip("\n"))
        if re.search(pattern, line):
            return line
    return None


def serve_relative_and_reload(binary, d, elsewhere):
    """serve from another working directory: store and maildir land next to the
    configuration file; SIGHUP with a bad file keeps running and says why."""
    path = os.path.join(d, "good.yaml")
    with open(path, "w") as f:
        f.write(render(base()))
    proc = subprocess.Popen([binary, "--config", path, "serve"], cwd=elsewhere,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines = []
    try:
        if wait_line(proc, lines, r"trackrelay: serving") is None:
            return fail("serve did not start:\n" + "\n".join(lines))
        if not os.path.exists(os.path.join(d, "events.db")):
            fail("store: events.db is not in the configuration's directory")
        if os.path.exists(os.path.join(elsewhere, "events.db")):
            fail("store: events.db was created in the working directory")
        if not any(os.path.join(d, "outbox") in l for l in lines):
            fail("relay.upstream maildir: not resolved against the configuration's directory:\n"
                 + "\n".join(lines))
        row = next(r for r in ROWS if r[0] == "relay.upstream_tls yes")
        bad_path, bad_text = row_config(d, row[0], row[1], row[2])
        check_err = error_lines(run(binary, bad_path, "check", elsewhere).stderr)
        os.replace(bad_path, path)
        proc.send_signal(signal.SIGHUP)
        if wait_line(proc, lines, r"reload failed") is None:
            return fail("SIGHUP with a bad file was not refused:\n" + "\n".join(lines))
        got = [l.replace(path, bad_path) for l in lines if ": error: " in l]
        if got != check_err:
            fail("reload and check disagree:\n%s\n---\n%s" % (got, check_err))
        elif proc.poll() is not None:
            fail("serve exited after a refused reload")
        else:
            print("ok: relative paths, and reload refuses like check", flush=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def passes(binary, d, elsewhere):
    # The base configuration, relative secret_file included, from elsewhere.
    path = os.path.join(d, "base.yaml")
    with open(path, "w") as f:
        f.write(render(base()))
    r = run(binary, path, "check", elsewhere)
    if r.returncode != 0:
        fail("the base configuration fails check:\n" + r.stderr)
    # TLS with a matching certificate that covers its domain.
    sections = base()
    sections["track"] = tls([("click.example.com", "click.pem", "click.key")])
    sections["relay"] += ["tls_cert: click.pem", "tls_key: click.key", "auth: ['app:%s']" % HASH]
    with open(path, "w") as f:
        f.write(render(sections))
    r = run(binary, path, "check", elsewhere)
    if r.returncode != 0:
        fail("a valid TLS configuration fails check:\n" + r.stderr)
    # The public example secret with every listener on loopback: a warning.
    sections = base()
    sections["tracking"][3] = "    secret: " + EXAMPLE_SECRET
    with open(path, "w") as f:
        f.write(render(sections))
    r = run(binary, path, "check", elsewhere)
    if r.returncode != 0 or "public example secret" not in r.stderr:
        fail("the example secret on loopback: want exit 0 and a warning\n" + r.stderr)
    # The built-in example (quickstart).
    r = run(binary, None, "check", elsewhere)
    if r.returncode != 0:
        fail("the built-in example fails check:\n" + r.stderr)
    print("ok: valid configurations pass", flush=True)


def main():
    binary = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="trackrelay-conf-") as d, \
            tempfile.TemporaryDirectory(prefix="trackrelay-cwd-") as elsewhere:
        make_files(d)
        passes(binary, d, elsewhere)
        check_rows(binary, d, elsewhere)
        serve_refuses_alike(binary, d, elsewhere)
        serve_relative_and_reload(binary, d, elsewhere)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("OK: %d rows" % len(ROWS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
