#!/bin/sh
# scripts/quickstart.sh — README command 1: install, build (Release) and run
# trackrelay on its built-in example configuration:
#   1. `check` the configuration;
#   2. `serve` it: the relay on 127.0.0.1:10025 (capturing to var/outbox) and
#      the tracking endpoint on 127.0.0.1:8080;
#   3. send examples/welcome.eml through the relay over SMTP, show the
#      rewritten message, decode its first tracked link, follow that link
#      through the tracker and list the recorded click;
#   4. create an API key for the dashboard and the API on 127.0.0.1:8025.
# The server keeps running in the foreground afterwards (Ctrl-C stops it);
# set QUICKSTART_EXIT=1 to stop it at the end instead.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTRACKRELAY_TESTS=OFF >/dev/null
cmake --build build -j2
./build/trackrelay check

mkdir -p var
./build/trackrelay serve &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT INT TERM
python3 - <<'PY'
import smtplib, socket, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", 10025), 0.2).close()
        socket.create_connection(("127.0.0.1", 8080), 0.2).close()
        break
    except OSError:
        time.sleep(0.1)
with open("examples/welcome.eml", "rb") as f:
    data = f.read()
with smtplib.SMTP("127.0.0.1", 10025) as s:
    s.sendmail("news@example.com", ["alice@example.net"], data)
print("sent examples/welcome.eml through the relay on 127.0.0.1:10025")
PY
msg=$(ls -t var/outbox/new/* | head -n 1)
echo "--- rewritten message: $msg ---"
cat "$msg"
url=$(grep -o 'https://click\.example\.com/f/[A-Za-z0-9_-]*' "$msg" | head -n 1)
echo "--- the first tracked link decodes to ---"
./build/trackrelay decode "$url"
echo "--- following it through the tracker (Host: click.example.com) ---"
path=${url#https://click.example.com}
python3 - "$path" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", 8080)
c.request("GET", sys.argv[1], headers={"Host": "click.example.com", "User-Agent": "quickstart"})
r = c.getresponse()
print(r.status, r.reason, "Location:", r.getheader("Location"))
PY
echo "--- recorded events ---"
./build/trackrelay events
echo "--- an API key for the dashboard (http://127.0.0.1:8025/) and the API ---"
./build/trackrelay keys create --label quickstart
if [ "${QUICKSTART_EXIT:-0}" = "1" ]; then exit 0; fi
echo "trackrelay is serving: relay 127.0.0.1:10025, tracker 127.0.0.1:8080,"
echo "API and dashboard http://127.0.0.1:8025/ (sign in with the key above); Ctrl-C stops it."
wait $pid
