#!/usr/bin/env python3
"""tests/api/sparkpost_client_test.py - the official SparkPost Node client
against `trackrelay serve` (tests/api/node/client_test.js, node --test).

Installs tests/api/node (package.json + package-lock.json, `npm ci`) into
WORKDIR once, starts trackrelay with the API on a kernel-chosen port and a
key made by `trackrelay keys create`, relays two messages through its relay
(maildir upstream) and clicks one link on its tracker (events for
events.searchMessage), runs node, and stops everything.
Skips (exit 77, ctest's SKIP_RETURN_CODE: "Skipped", never a pass) when
node or npm is missing.

usage: sparkpost_client_test.py TRACKRELAY WORKDIR
"""
import glob
import os
import re
import shutil
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def relay_and_click(serve, outbox):
    """Events for events.searchMessage: a message relayed with X-MSYS-API
    (campaign node-campaign, metadata, tags) to node@example.net, its link
    clicked once, and a second message of another campaign."""
    for campaign, rcpt in (("node-campaign", "node@example.net"), ("other", "else@example.net")):
        msg = ("From: news@example.com\r\nTo: %s\r\nSubject: node\r\n"
               'X-MSYS-API: {"campaign_id": "%s", "metadata": {"user": "n1"}, "tags": ["node"]}\r\n'
               "Content-Type: text/html\r\n\r\n"
               '<a href="https://shop.example/p">buy</a>\r\n' % (rcpt, campaign))
        with smtplib.SMTP("127.0.0.1", serve.ports["relay"], timeout=30) as s:
            s.sendmail("bounces@example.com", [rcpt], msg.encode())
    for path in glob.glob(os.path.join(outbox, "new", "*")):
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        if "node@example.net" in text:
            link = re.search(r"http://click\.example\.com(/f/[A-Za-z0-9_-]+)", text)
            assert link, text
            status, _, _ = harness.http_get(serve.ports["track"], link.group(1), "click.example.com")
            assert status == 302, status


def main():
    trackrelay, workdir = sys.argv[1], sys.argv[2]
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        print("SKIP: node/npm not installed (scripts/install-deps.sh --test)")
        return 77
    os.makedirs(workdir, exist_ok=True)
    for f in ("package.json", "package-lock.json", "client_test.js"):
        shutil.copy(os.path.join(HERE, "node", f), workdir)
    if not os.path.isdir(os.path.join(workdir, "node_modules", "sparkpost")):
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=workdir, check=True,
                       timeout=240)
    env = harness.Env(trackrelay)
    try:
        outbox = os.path.join(env.dir, "outbox")
        config = env.config("c.yaml", "  tracking_domains: [{domain: click.example.com, default: true}]\n"
                            "relay: {listen: '127.0.0.1:0', upstream: 'maildir:%s'}\n"
                            "track: {listen: '127.0.0.1:0'}\n"
                            "api: {listen: '127.0.0.1:0'}\n" % outbox)
        r = env.run("--config", config, "keys", "create", "--label", "node")
        assert r.returncode == 0, r.stderr
        serve = env.serve(config)
        relay_and_click(serve, outbox)
        run_env = dict(os.environ, TRACKRELAY_API_PORT=str(serve.ports["api"]),
                       TRACKRELAY_API_KEY=r.stdout.decode().strip())
        result = subprocess.run([node, "--test", "client_test.js"], cwd=workdir, env=run_env,
                                timeout=120)
        return result.returncode
    finally:
        env.close()


if __name__ == "__main__":
    sys.exit(main())
