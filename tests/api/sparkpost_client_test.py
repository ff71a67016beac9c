#!/usr/bin/env python3
"""tests/api/sparkpost_client_test.py - the official SparkPost Node client
against `trackrelay serve` (tests/api/node/client_test.js, node --test).

Installs tests/api/node (package.json + package-lock.json, `npm ci`) into
WORKDIR once, starts trackrelay with the API on a kernel-chosen port and a
key made by `trackrelay keys create`, runs node, and stops everything.
Skips (exit 77, ctest's SKIP_RETURN_CODE: "Skipped", never a pass) when
node or npm is missing.

usage: sparkpost_client_test.py TRACKRELAY WORKDIR
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


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
        config = env.config("c.yaml", "api: {listen: '127.0.0.1:0'}\n")
        r = env.run("--config", config, "keys", "create", "--label", "node")
        assert r.returncode == 0, r.stderr
        serve = env.serve(config)
        run_env = dict(os.environ, TRACKRELAY_API_PORT=str(serve.ports["api"]),
                       TRACKRELAY_API_KEY=r.stdout.decode().strip())
        result = subprocess.run([node, "--test", "client_test.js"], cwd=workdir, env=run_env,
                                timeout=120)
        return result.returncode
    finally:
        env.close()


if __name__ == "__main__":
    sys.exit(main())
