"""tests/relay/harness.py - processes for the relay integration tests.

Every process is started by the test itself, on loopback ports the kernel
picks (port 0, read back from the process's own output), in a temporary
directory, and is killed at the end. Readiness is a line the process prints,
never a sleep.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

SECRET = "relay-test-secret-0123456789abcdefghijklmnopqrstuvwxyz"

BASE_CONFIG = """\
tracking:
  system_domain: track.example.net
  keys:
    - {id: k1, secret: "%s"}
  tracking_domains:
    - {domain: click.example.com, default: true}
  sending_domains:
    - {domain: example.com, tracking_domain: click.example.com}
relay:
""" % SECRET


class Proc:
    """A child process whose output (one stream) is collected line by line."""

    def __init__(self, argv, cwd, stream="stderr", env=None):
        self.lines = []
        self.cond = threading.Condition()
        kwargs = {"stdout": subprocess.PIPE} if stream == "stdout" else {
            "stderr": subprocess.PIPE, "stdout": subprocess.DEVNULL}
        self.p = subprocess.Popen(argv, cwd=cwd, env=env, **kwargs)
        pipe = self.p.stdout if stream == "stdout" else self.p.stderr
        self.reader = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.reader.start()

    def _read(self, pipe):
        for raw in pipe:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if os.environ.get("RELAY_TEST_VERBOSE"):
                sys.stderr.write("  | %s\n" % line)
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # end of output
            self.cond.notify_all()

    def wait_for(self, pattern, timeout=20.0, start=0):
        """Returns the first match of `pattern` in lines[start:], waiting for it."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    line = self.lines[i]
                    i += 1
                    if line is None:
                        raise AssertionError("process exited (%s) before printing %r; output:\n%s"
                                             % (self.p.poll(), pattern, self.text()))
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for %r; output:\n%s"
                                         % (pattern, self.text()))
                self.cond.wait(left)

    def mark(self):
        with self.cond:
            return len(self.lines)

    def text(self):
        return "\n".join(l for l in self.lines if l is not None)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.reader.join(5)
        for pipe in (self.p.stdout, self.p.stderr):
            if pipe:
                pipe.close()
        return self.p.returncode


class TempDir:
    def __init__(self, prefix="trackrelay-relay-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


class FakeUpstream:
    """tests/relay/fake_upstream.py in a process."""

    def __init__(self, tmp, name="upstream", extra=()):
        self.dir = tmp.join(name)
        os.makedirs(self.dir, exist_ok=True)
        self.log = tmp.join(name + ".jsonl")
        open(self.log, "w").close()
        self.proc = Proc([sys.executable, os.path.join(HERE, "fake_upstream.py"),
                          "--dir", self.dir, "--log", self.log] + list(extra),
                         cwd=tmp.path, stream="stdout")
        self.port = int(self.proc.wait_for(r"^PORT (\d+)$").group(1))

    def events(self):
        with open(self.log, encoding="utf-8") as f:
            return [json.loads(l) for l in f if l.strip()]

    def commands(self):
        return [e["cmd"] for e in self.events() if "cmd" in e]

    def messages(self):
        out = []
        for e in self.events():
            if "message" in e:
                with open(e["message"], "rb") as f:
                    out.append(f.read())
        return out

    def raw_data(self):
        """The exact bytes after each DATA's 354, up to and including ".<CRLF>"."""
        out = []
        for e in self.events():
            if "raw" in e:
                with open(e["raw"], "rb") as f:
                    out.append(f.read())
        return out

    def stop(self):
        self.proc.stop(signal.SIGKILL)


class Relay:
    """`trackrelay serve` with BASE_CONFIG plus `relay_extra` (YAML lines under relay:)
    and `top_extra` (top-level YAML after the relay section: track:, metrics:, ...)."""

    def __init__(self, binary, tmp, upstream, relay_extra="", name="relay", port=0, top_extra=""):
        self.binary = binary
        self.config = tmp.join(name + ".yaml")
        with open(self.config, "w") as f:
            f.write(BASE_CONFIG)
            f.write("  listen: 127.0.0.1:%d\n" % port)
            f.write("  upstream: %s\n" % upstream)
            for line in relay_extra.strip("\n").splitlines():
                f.write("  " + line + "\n")
            f.write(top_extra)
        self.tmp = tmp
        self.start()

    def start(self, port=0):
        if port:
            with open(self.config) as f:
                text = f.read()
            text = re.sub(r"listen: 127\.0\.0\.1:\d+", "listen: 127.0.0.1:%d" % port, text)
            with open(self.config, "w") as f:
                f.write(text)
        self.proc = Proc([self.binary, "--config", self.config, "serve"], cwd=self.tmp.path)
        self.port = int(self.proc.wait_for(r"relay: listening on 127\.0\.0\.1:(\d+)").group(1))
        self.proc.wait_for(r"trackrelay: serving")

    def decode(self, url):
        out = subprocess.run([self.binary, "--config", self.config, "decode", url],
                             capture_output=True, check=True)
        return json.loads(out.stdout.decode().splitlines()[0])

    def stop(self, sig=signal.SIGTERM):
        return self.proc.stop(sig)


class RawClient:
    """A line-level SMTP client for what smtplib cannot do (half a DATA, BDAT, garbage)."""

    def __init__(self, port, timeout=20):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def reply(self):
        lines = []
        while True:
            l = self.f.readline()
            if not l:
                raise ConnectionError("closed; got %r" % lines)
            l = l.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(l)
            if len(l) < 4 or l[3] == " ":
                return int(l[:3]), "\n".join(x[4:] for x in lines)

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def close(self):
        self.f.close()  # the makefile() reader holds the socket open too
        self.s.close()


def html_message(msgid="<relay-test-1@example.com>", xmsys=None, extra_headers="", body=None):
    headers = ("From: News <news@example.com>\r\n"
               "To: alice@example.net\r\n"
               "Subject: relay test\r\n"
               "Message-ID: %s\r\n" % msgid)
    if xmsys is not None:
        headers += "X-MSYS-API: %s\r\n" % xmsys
    headers += extra_headers
    headers += "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    body = body or ('<html><body><p>Hello</p>\r\n'
                    '<a href="https://www.example.org/offer?a=1&amp;b=2">offer</a>\r\n'
                    '.a line that starts with a dot\r\n'
                    '</body></html>\r\n')
    return headers + body


TRACKED_RE = re.compile(rb"https?://click\.example\.com/(f|q)/[A-Za-z0-9_-]+")
