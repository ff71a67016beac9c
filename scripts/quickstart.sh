#!/bin/sh
# scripts/quickstart.sh — README command 1: install, build (Release) and run
# trackrelay on its built-in example configuration: validate it, then rewrite
# a sample message and decode one of its tracked links.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTRACKRELAY_TESTS=OFF >/dev/null
cmake --build build -j2
./build/trackrelay check
echo "--- rewriting examples/welcome.eml (built-in example configuration) ---"
./build/trackrelay rewrite --mail-from news@example.com --rcpt alice@example.net \
  < examples/welcome.eml > build/welcome.rewritten.eml
cat build/welcome.rewritten.eml
url=$(grep -o 'https://click\.example\.com/f/[A-Za-z0-9_-]*' build/welcome.rewritten.eml | head -n 1)
echo "--- decoding the first tracked link ---"
./build/trackrelay decode "$url"
