"""tests/api/harness.py - processes for the management API's end-to-end tests.

A temporary directory with a configuration, `trackrelay serve` processes
(ports chosen by the kernel and read from their log), dnsmasq on a free
loopback port with the records a test writes, and a JSON client over
http.client. Readiness is a log line or an answer, never a sleep; everything
is stopped and removed by close().
"""
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

SECRET = "api-e2e-secret-0123456789abcdefghijklmnopqrstuv"


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tcp_port():
    """A TCP port that was free a moment ago (a listener the test starts)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Serve:
    """One `trackrelay serve`; its listening ports parsed from its log."""

    def __init__(self, trackrelay, config):
        self.proc = subprocess.Popen([trackrelay, "--config", config, "serve"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.lines = []
        self.cond = threading.Condition()
        self.ports = {}
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for("trackrelay: serving", 30)
        for line in list(self.lines):
            m = re.search(r"trackrelay: (\w+): listening on (?:https?://)?127\.0\.0\.1:(\d+)", line)
            if m:
                self.ports[m.group(1)] = int(m.group(2))

    def _read(self):
        for raw in self.proc.stderr:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)
            self.cond.notify_all()

    def wait_for(self, pattern, timeout=20.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    if line is None:
                        raise AssertionError("serve exited: %s" % "\n".join(l for l in self.lines if l))
                    if re.search(pattern, line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no %r in log:\n%s" % (pattern, "\n".join(self.lines)))
                self.cond.wait(left)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Dnsmasq:
    """A real dnsmasq on a loopback port. free_port() only makes a collision
    unlikely (parallel tests race for ports), so a start that fails is
    retried, on another port unless the caller fixed one; readiness is an
    answer for a name only this instance knows, never another test's server."""

    def __init__(self, workdir, records, port=None):
        for attempt in range(8):
            self.port = port or free_port()
            self.ready_name = "ready-%d-%d.check.test" % (os.getpid(), self.port)
            conf = os.path.join(workdir, "dnsmasq-%d.conf" % self.port)
            with open(conf, "w") as f:
                f.write("no-resolv\nno-hosts\nbind-interfaces\nlisten-address=127.0.0.1\n"
                        "port=%d\npid-file=\nlocal=/example.com/\n" % self.port)
                f.write("host-record=%s,127.0.0.9\n" % self.ready_name)
                f.write("".join(r + "\n" for r in records))
            self.proc = subprocess.Popen(["/usr/sbin/dnsmasq", "--keep-in-foreground",
                                          "--conf-file=" + conf, "--log-facility=-"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while self.proc.poll() is None and time.monotonic() < deadline:
                if self._answers():
                    return
            self.stop()
            time.sleep(0.2 * (attempt + 1))  # a fixed port may still be held by the old server
        raise AssertionError("dnsmasq did not start")

    def _answers(self):
        labels = b"".join(bytes([len(l)]) + l.encode() for l in self.ready_name.split("."))
        q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + labels + b"\x00\x00\x01\x00\x01"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            s.sendto(q, ("127.0.0.1", self.port))
            r = s.recv(512)
            return len(r) >= 12 and (r[6] << 8 | r[7]) >= 1  # ANCOUNT
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Client:
    def __init__(self, port, key):
        self.port, self.key = port, key

    def call(self, method, path, body=None, key=None, headers=None, raw=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {"Authorization": key if key is not None else self.key,
             "Content-Type": "application/json"}
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        conn.request(method, "/api/v1" + path, body=data, headers=h)
        r = conn.getresponse()
        text = r.read().decode()
        conn.close()
        return r.status, (json.loads(text) if text else None)


def http_get(port, path, host):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Host": host})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, r.getheader("Location"), body


class Env:
    """A temporary directory, a store, and the processes started in it."""

    def __init__(self, trackrelay):
        self.trackrelay = trackrelay
        self.dir = tempfile.mkdtemp(prefix="trackrelay-api-e2e-")
        self.store = os.path.join(self.dir, "store.db")
        self.procs = []

    def config(self, name, extra, senders="any"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            # senders: any — these tests send mail from domains they declare
            # later (or never) and expect it tracked (tests/relay/tenant_test.py
            # tests `declared`).
            f.write("tracking:\n  system_domain: track.example.net\n  senders: %s\n"
                    '  keys: [{id: k1, secret: "%s"}]\n' % (senders, SECRET))
            f.write(extra)
            f.write("store: '%s'\n" % self.store)
        return path

    def serve(self, config):
        s = Serve(self.trackrelay, config)
        self.procs.append(s)
        return s

    def dnsmasq(self, records, port=None):
        d = Dnsmasq(self.dir, records, port)
        self.procs.append(d)
        return d

    def run(self, *args, stdin=None):
        return subprocess.run([self.trackrelay] + list(args), input=stdin, capture_output=True,
                              timeout=60)

    def close(self):
        for p in reversed(self.procs):
            p.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
