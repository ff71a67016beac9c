#!/usr/bin/env python3
"""tests/faults/chaos_proxy.py - a scripted SMTP proxy between trackrelay and
Postfix's reinjection smtpd that injects upstream faults.

    trackrelay --SMTP--> chaos_proxy (127.0.0.1:PORT) --SMTP--> --upstream HOST:PORT

It listens on 127.0.0.1 (port 0), prints "PORT <n>" on stdout when it
accepts connections, and opens one upstream connection per client
connection. Greeting, EHLO (without STARTTLS/CHUNKING), XFORWARD, MAIL, RCPT,
RSET, NOOP and QUIT are passed through, replies included. DATA is stored and
forwarded: the proxy answers 354 itself, reads the whole message, then sends
DATA to the upstream. Each transaction draws one fault (seeded):

  rcpt4xx     RCPT answered 451 4.3.0 (not forwarded)
  rcpt5xx     RCPT answered 550 5.1.1 (not forwarded)          -> bounce
  data4xx     end of DATA answered 452 4.3.1, upstream RSET    -> deferred
  data5xx     end of DATA answered 554 5.7.1, upstream RSET    -> bounce
  stall       end of DATA never answered (the relay's upstream_data_timeout
              fires); the message is not forwarded
  dropdata    the connection is closed after the first lines of the message
              (both sides; the upstream never sees the final dot)
  drop250     the message is forwarded, the upstream says 250, and the
              connection to the relay is closed without that reply: the only
              fault that may legitimately duplicate a message

One JSON line per event goes to --log (rcpts: the transaction's recipients,
so that the test can tell each bounce from the fault that caused it):
  {"c": conn, "fault": "rcpt4xx|rcpt5xx", "rcpt": "addr"}
  {"c": conn, "msgid": "<..>", "rcpts": [..], "fault": "none|...", "reply": "250 ..."}
  {"c": conn, "msgid": "<..>", "dup_risk": "drop250|relay-gone-after-250"}
"relay-gone-after-250": the relay's side ended (EOF/reset, no QUIT, no next
command) after the proxy had passed it the upstream's 250 - e.g. trackrelay
was SIGKILLed between the upstream's 250 and its own reply to Postfix.

While the file --calm exists no faults are injected. Standard library only.
"""
import argparse
import json
import os
import random
import re
import socket
import sys
import threading

FAULTS = ("rcpt4xx", "rcpt5xx", "data4xx", "data5xx", "stall", "dropdata", "drop250")
MSGID_RE = re.compile(rb"^Message-I[Dd]:[ \t]*(<[^>\r\n]*>)", re.M | re.I)


class Closed(Exception):
    pass


class Line:
    """Line reader/writer over a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile("rb")

    def readline(self):
        raw = self.f.readline(1 << 16)
        if not raw:
            raise Closed()
        return raw

    def reply(self):
        """One (possibly multi-line) reply as raw bytes."""
        out = b""
        while True:
            line = self.readline()
            out += line
            if len(line) < 4 or line[3:4] != b"-":
                return out

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        for x in (self.f, self.sock):
            try:
                x.close()
            except OSError:
                pass


class Proxy:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.weights = {}
        for item in args.faults.split(","):
            if item:
                name, p = item.split("=")
                assert name in FAULTS, name
                self.weights[name] = float(p)
        self.lock = threading.Lock()
        self.logf = open(args.log, "a", encoding="utf-8")
        self.conns = 0

    def log(self, event):
        with self.lock:
            self.logf.write(json.dumps(event) + "\n")
            self.logf.flush()

    def draw(self):
        if os.path.exists(self.args.calm):
            return "none"
        with self.lock:
            x = self.rng.random()
        for name, p in self.weights.items():
            if x < p:
                return name
            x -= p
        return "none"

    def serve(self):
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen(128)
        print("PORT %d" % srv.getsockname()[1], flush=True)
        host, port = self.args.upstream.rsplit(":", 1)
        while True:
            conn, _ = srv.accept()
            with self.lock:
                self.conns += 1
                n = self.conns
            threading.Thread(target=self.session, args=(conn, n, host, int(port)),
                             daemon=True).start()

    def session(self, conn, n, host, port):
        client = Line(conn)
        up = None
        pending_250 = None  # msgid whose upstream 250 was passed on, no command since
        rcpts = []  # accepted recipients of the current transaction
        try:
            try:
                up = Line(socket.create_connection((host, port), timeout=60))
            except OSError:
                client.send(b"421 4.4.1 chaos proxy: upstream unreachable\r\n")
                return
            client.send(up.reply())
            fault = "none"
            while True:
                line = client.readline()
                pending_250 = None
                verb = line[:4].upper()
                if verb == b"EHLO":
                    up.send(line)
                    lines = up.reply().split(b"\r\n")
                    keep = [l for l in lines if l and not re.match(
                        rb"^250[- ](STARTTLS|CHUNKING)\b", l, re.I)]
                    keep = [l[:3] + b"-" + l[4:] for l in keep[:-1]] + [
                        keep[-1][:3] + b" " + keep[-1][4:]]
                    client.send(b"\r\n".join(keep) + b"\r\n")
                elif verb == b"MAIL":
                    fault = self.draw()
                    rcpts = []
                    up.send(line)
                    client.send(up.reply())
                elif verb == b"RCPT":
                    m = re.search(rb"<([^>]*)>", line)
                    addr = m.group(1).decode("utf-8", "replace") if m else ""
                    if fault == "rcpt4xx":
                        client.send(b"451 4.3.0 chaos: scripted RCPT tempfail\r\n")
                        self.log({"c": n, "fault": fault, "rcpt": addr})
                    elif fault == "rcpt5xx":
                        client.send(b"550 5.1.1 chaos: scripted RCPT rejection\r\n")
                        self.log({"c": n, "fault": fault, "rcpt": addr})
                    else:
                        up.send(line)
                        r = up.reply()
                        if r.startswith(b"2"):
                            rcpts.append(addr)
                        client.send(r)
                elif verb == b"DATA":
                    pending_250 = self.data(client, up, n, fault, rcpts)
                    fault = "none"
                    if pending_250 == "closed":
                        return
                elif verb == b"QUIT":
                    up.send(line)
                    client.send(up.reply())
                    return
                else:  # XFORWARD, RSET, NOOP, HELO, anything else
                    up.send(line)
                    client.send(up.reply())
        except (Closed, OSError):
            if pending_250:
                self.log({"c": n, "msgid": pending_250, "dup_risk": "relay-gone-after-250"})
        finally:
            client.close()
            if up:
                up.close()

    def data(self, client, up, n, fault, rcpts):
        """One DATA; returns the msgid whose 250 was passed on, "closed", or None."""
        client.send(b"354 chaos: go ahead\r\n")
        lines = []
        msgid = None
        while True:
            l = client.readline()
            if l in (b".\r\n", b".\n"):
                break
            lines.append(l)
            if msgid is None and len(lines) < 200:
                m = MSGID_RE.match(l)
                if m:
                    msgid = m.group(1).decode("utf-8", "replace")
            if fault == "dropdata" and len(lines) == 3:
                self.log({"c": n, "msgid": msgid, "rcpts": rcpts, "fault": fault})
                return "closed"
        if fault in ("data4xx", "data5xx"):
            client.send(b"452 4.3.1 chaos: scripted DATA tempfail\r\n" if fault == "data4xx"
                        else b"554 5.7.1 chaos: scripted DATA rejection\r\n")
            up.send(b"RSET\r\n")
            up.reply()
            self.log({"c": n, "msgid": msgid, "rcpts": rcpts, "fault": fault})
            return None
        if fault == "stall":
            self.log({"c": n, "msgid": msgid, "rcpts": rcpts, "fault": fault})
            client.sock.settimeout(self.args.stall)
            try:
                client.readline()  # until the relay gives up and closes
            except (Closed, OSError):
                pass
            return "closed"
        up.send(b"DATA\r\n")
        r = up.reply()
        if not r.startswith(b"354"):
            client.send(r)
            self.log({"c": n, "msgid": msgid, "rcpts": rcpts, "fault": fault,
                      "reply": r.decode().strip()})
            return None
        up.send(b"".join(lines) + b".\r\n")
        r = up.reply()
        self.log({"c": n, "msgid": msgid, "rcpts": rcpts,
                  "fault": fault if fault == "drop250" else "none",
                  "reply": r.decode("utf-8", "replace").strip()})
        if fault == "drop250" and r.startswith(b"2"):
            self.log({"c": n, "msgid": msgid, "dup_risk": "drop250"})
            return "closed"
        client.send(r)
        return msgid if r.startswith(b"2") else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True, help="host:port of the reinjection smtpd")
    p.add_argument("--log", required=True)
    p.add_argument("--calm", required=True, help="no faults while this file exists")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--stall", type=float, default=30.0, help="longest stall, seconds")
    p.add_argument("--faults", default="", help="name=probability,... per transaction")
    Proxy(p.parse_args()).serve()


if __name__ == "__main__":
    sys.exit(main())
