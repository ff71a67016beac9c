#!/usr/bin/env python3
"""Independent re-parse check: run `trackrelay rewrite` on every corpus
message and parse input and output with Python's `email` package (not our
parser, not mimetic). The output must have the same MIME tree (content types
in walk order), no new defects, and the same decoded payload for every part
trackrelay did not rewrite (attachments, images, signed parts).

usage: reparse_check.py TRACKRELAY_BINARY CORPUS_DIR
"""
import email
import email.policy
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

# Every corpus message is tracked whatever its From: domain (tracking.senders:
# any); with the default `declared` most would pass through untouched and
# prove nothing.
CONFIG = """\
tracking:
  system_domain: track.example.net
  senders: any
  keys: [{id: k1, secret: "reparse-check-secret-0123456789abcdefghijkl"}]
  tracking_domains: [{domain: click.example.com, default: true}]
store: %s
"""


def tree(msg):
    return [p.get_content_type() for p in msg.walk()]


def defects(msg):
    return sorted({type(d).__name__ for p in msg.walk() for d in p.defects})


def payloads(msg):
    out = []
    for p in msg.walk():
        if p.is_multipart():
            out.append(None)
        elif p.get_content_maintype() == "text" and not p.get_filename():
            out.append(None)  # may be rewritten
        else:
            out.append(p.get_payload(decode=True))
    return out


def main():
    binary, corpus = sys.argv[1], pathlib.Path(sys.argv[2])
    files = sorted((corpus / "mime").glob("*.eml"))
    if len(files) < 50:
        print(f"corpus not found at {corpus}")
        return 1
    failures = 0
    changed = 0
    tmp = tempfile.mkdtemp(prefix="trackrelay-reparse-")
    config = os.path.join(tmp, "reparse.yaml")
    with open(config, "w") as f:
        f.write(CONFIG % os.path.join(tmp, "none.db"))  # no store file: the file's domains
    for f in files:
        data = f.read_bytes()
        r = subprocess.run([binary, "--config", config, "rewrite", "--mail-from", "s@example.com",
                            "--rcpt", "r@example.net"], input=data, capture_output=True)
        if r.returncode != 0:
            if b"X-MSYS-API" in r.stderr:
                continue
            print(f"FAIL {f.name}: exit {r.returncode}: {r.stderr[-300:]!r}")
            failures += 1
            continue
        out = r.stdout
        if out == data:
            continue
        changed += 1
        a = email.message_from_bytes(data, policy=email.policy.compat32)
        b = email.message_from_bytes(out, policy=email.policy.compat32)
        problems = []
        if tree(a) != tree(b):
            problems.append(f"tree {tree(a)} != {tree(b)}")
        new_defects = set(defects(b)) - set(defects(a))
        if new_defects:
            problems.append(f"new defects {sorted(new_defects)}")
        if payloads(a) != payloads(b):
            problems.append("an untouched part's payload changed")
        if problems:
            failures += 1
            print(f"FAIL {f.name}: " + "; ".join(problems))
    shutil.rmtree(tmp, ignore_errors=True)
    if changed < len(files) // 2:
        print(f"FAIL only {changed} of {len(files)} messages were rewritten")
        failures += 1
    print(f"{len(files) - failures} passed, {failures} failed "
          f"({changed} messages rewritten, parsed by Python's email package)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
