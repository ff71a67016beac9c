#!/usr/bin/env python3
"""tests/relay/fake_upstream.py - a scripted upstream MTA for the relay tests.

Listens on 127.0.0.1 (port 0 unless --port), prints "PORT <n>" on stdout
once it accepts connections, and appends one JSON line per event to --log:
  {"s": session, "cmd": "MAIL FROM:<a@b> RET=HDRS"}     every command line
  {"s": session, "message": "<file>"}                   a message it received
Each received message is written to --dir as <session>-<n>.eml (unstuffed).

Behaviour is chosen by the local part of a recipient (so one instance
serves every test case):
  rcpt451@...    RCPT  -> 451 4.2.0 scripted tempfail
  rcpt550@...    RCPT  -> 550 5.1.1 scripted no such user
  data554@...    end of DATA -> 554 5.7.1 scripted rejection
  data452@...    end of DATA -> 452 4.3.1 scripted tempfail
  dropdata@...   end of DATA -> connection closed, no reply
  stalldata@...  end of DATA -> no reply (the relay must time out)
and by options: --greet CODE (greeting), --ehlo-caps LIST (comma separated;
default PIPELINING,SIZE 100000000,8BITMIME,SMTPUTF8,DSN,ENHANCEDSTATUSCODES,XFORWARD NAME ADDR PROTO HELO).
Standard library only.
"""
import argparse
import json
import os
import socket
import sys
import threading

DEFAULT_CAPS = ("PIPELINING,SIZE 100000000,8BITMIME,SMTPUTF8,DSN,"
                "ENHANCEDSTATUSCODES,XFORWARD NAME ADDR PROTO HELO")


class Upstream:
    def __init__(self, args):
        self.args = args
        self.caps = [c for c in args.ehlo_caps.split(",") if c]
        self.lock = threading.Lock()
        self.sessions = 0

    def log(self, event):
        with self.lock:
            with open(self.args.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(event) + "\n")

    def serve(self):
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.args.port))
        srv.listen(1024)  # the abuse tests open 1,000 sessions at once
        print("PORT %d" % srv.getsockname()[1], flush=True)
        while True:
            conn, _ = srv.accept()
            with self.lock:
                self.sessions += 1
                n = self.sessions
            threading.Thread(target=self.session, args=(conn, n), daemon=True).start()

    def session(self, conn, n):
        f = conn.makefile("rb")

        def send(text):
            conn.sendall(text.encode() + b"\r\n")

        try:
            if self.args.greet != 220:
                send("%d 4.3.2 scripted greeting refusal" % self.args.greet)
                return
            send("220 fake.upstream ESMTP")
            rcpts = []
            count = 0
            while True:
                raw = f.readline()
                if not raw:
                    self.log({"s": n, "event": "disconnect"})
                    return
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.log({"s": n, "cmd": line})
                verb = line.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    lines = ["fake.upstream"] + self.caps
                    send("\r\n".join("250-" + l for l in lines[:-1]) + "\r\n250 " + lines[-1])
                elif verb == "HELO":
                    send("250 fake.upstream")
                elif verb == "XFORWARD":
                    send("250 2.0.0 Ok")
                elif verb == "MAIL":
                    rcpts = []
                    send("250 2.1.0 Ok")
                elif verb == "RCPT":
                    addr = line.split("<", 1)[1].split(">", 1)[0] if "<" in line else ""
                    local = addr.split("@", 1)[0]
                    if local == "rcpt451":
                        send("451 4.2.0 scripted tempfail")
                    elif local == "rcpt550":
                        send("550 5.1.1 scripted no such user")
                    else:
                        rcpts.append(local)
                        send("250 2.1.5 Ok")
                elif verb == "DATA":
                    send("354 go ahead")
                    body = []
                    raw = []  # the exact bytes received, terminator included
                    while True:
                        l = f.readline()
                        if not l:
                            self.log({"s": n, "event": "disconnect-in-data"})
                            return
                        raw.append(l)
                        if l in (b".\r\n", b".\n"):
                            break
                        if l.startswith(b"."):
                            l = l[1:]
                        body.append(l)
                    count += 1
                    path = os.path.join(self.args.dir, "%d-%d.eml" % (n, count))
                    with open(path, "wb") as out:
                        out.write(b"".join(body))
                    with open(path + ".raw", "wb") as out:
                        out.write(b"".join(raw))
                    self.log({"s": n, "message": path, "raw": path + ".raw", "rcpts": rcpts})
                    if "dropdata" in rcpts:
                        return
                    if "stalldata" in rcpts:
                        f.readline()  # until the relay gives up and closes
                        return
                    if "data554" in rcpts:
                        send("554 5.7.1 scripted rejection")
                    elif "data452" in rcpts:
                        send("452 4.3.1 scripted tempfail")
                    else:
                        send("250 2.0.0 Ok: queued as FAKE%d-%d" % (n, count))
                elif verb == "RSET":
                    rcpts = []
                    send("250 2.0.0 Ok")
                elif verb == "NOOP":
                    send("250 2.0.0 Ok")
                elif verb == "QUIT":
                    send("221 2.0.0 Bye")
                    self.log({"s": n, "event": "quit"})
                    return
                else:
                    send("502 5.5.2 unknown")
        except OSError:
            self.log({"s": n, "event": "reset"})
        finally:
            conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--dir", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--greet", type=int, default=220)
    p.add_argument("--ehlo-caps", default=DEFAULT_CAPS)
    Upstream(p.parse_args()).serve()


if __name__ == "__main__":
    sys.exit(main())
