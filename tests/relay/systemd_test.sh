#!/bin/sh
# tests/relay/systemd_test.sh — the service unit passes `systemd-analyze
# verify`, and `cmake --install` (into a DESTDIR) puts the binary, the
# example configuration (as documentation), the unit and the sysusers file
# where the unit expects them — and never a live configuration: the example
# relays to a maildir and signs with a public secret.
#   usage: systemd_test.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
build=$2
tmp=$(mktemp -d /tmp/trackrelay-systemd-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }

# --- install into a DESTDIR ---
DESTDIR="$tmp/root" cmake --install "$build" --prefix /usr/local >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "cmake --install"; }
for f in usr/local/bin/trackrelay usr/local/share/doc/trackrelay/trackrelay.example.yaml \
         etc/systemd/system/trackrelay.service etc/sysusers.d/trackrelay.conf; do
  [ -e "$tmp/root/$f" ] || fail "cmake --install did not install /$f"
done
[ -x "$tmp/root/usr/local/bin/trackrelay" ] || fail "the binary is not executable"
for f in etc/trackrelay/trackrelay.yaml etc/trackrelay/trackrelay.example.yaml; do
  [ ! -e "$tmp/root/$f" ] || fail "cmake --install installed /$f (no configuration may be installed)"
done
# The installed example is valid on loopback (a warning for its public secret)...
example="$tmp/root/usr/local/share/doc/trackrelay/trackrelay.example.yaml"
"$tmp/root/usr/local/bin/trackrelay" --config "$example" check >/dev/null 2>"$tmp/check.log" ||
  { cat "$tmp/check.log" >&2; fail "the installed example does not pass check"; }
grep -q 'public example secret' "$tmp/check.log" || fail "check does not warn of the example secret"
# ...and refused as soon as a listener is public (exit 78, file:line:col).
sed 's|^  listen: 127.0.0.1:8080 |  listen: 0.0.0.0:8080 |' "$example" >"$tmp/public.yaml"
grep -q '^  listen: 0.0.0.0:8080 ' "$tmp/public.yaml" || fail "the example has no track.listen line to edit"
set +e
"$tmp/root/usr/local/bin/trackrelay" --config "$tmp/public.yaml" check >/dev/null 2>"$tmp/check.log"
rc=$?
set -e
[ "$rc" -eq 78 ] || { cat "$tmp/check.log" >&2; fail "the example secret on 0.0.0.0: check exited $rc, not 78"; }
grep -q "^$tmp/public.yaml:[0-9]*:[0-9]*: error: tracking.keys\[0\].secret: .*public example secret" \
  "$tmp/check.log" || { cat "$tmp/check.log" >&2; fail "no file:line:col error for the example secret"; }
# A second install leaves an operator's configuration alone.
mkdir -p "$tmp/root/etc/trackrelay"
echo "# edited" >"$tmp/root/etc/trackrelay/trackrelay.yaml"
DESTDIR="$tmp/root" cmake --install "$build" --prefix /usr/local >/dev/null 2>&1
grep -q '^# edited' "$tmp/root/etc/trackrelay/trackrelay.yaml" ||
  fail "a second install overwrote the operator's configuration"
grep -q '^ExecStart=/usr/local/bin/trackrelay --config /etc/trackrelay/trackrelay.yaml serve$' \
  "$tmp/root/etc/systemd/system/trackrelay.service" || fail "ExecStart does not match the install"

# --- the unit's required properties ---
unit="$src/systemd/trackrelay.service"
for want in '^Type=notify$' '^ExecReload=/bin/kill -HUP \$MAINPID$' '^User=trackrelay$' \
            '^NoNewPrivileges=yes$' '^ProtectSystem=strict$' '^ProtectHome=yes$' \
            '^PrivateTmp=yes$' '^CapabilityBoundingSet=$' '^ReadWritePaths=/var/lib/trackrelay$' \
            '^RestartPreventExitStatus=78$' \
            '^ExecStartPre=/usr/local/bin/trackrelay --config /etc/trackrelay/trackrelay.yaml check$'; do
  grep -q "$want" "$unit" || fail "trackrelay.service lacks $want"
done

# --- systemd-analyze verify ---
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze is not installed (Debian package systemd); unit not verified"
  exit 77  # ctest SKIP_RETURN_CODE: reported as skipped, and scripts/test.sh fails
fi
# verify checks that ExecStart's binary exists: point it at the installed copy.
sed -e "s|/usr/local/bin/trackrelay|$tmp/root/usr/local/bin/trackrelay|g" \
    -e "s|/etc/trackrelay/|$tmp/root/etc/trackrelay/|g" "$unit" >"$tmp/trackrelay.service"
if ! systemd-analyze verify --man=no "$tmp/trackrelay.service" >"$tmp/verify.log" 2>&1; then
  cat "$tmp/verify.log" >&2
  fail "systemd-analyze verify"
fi
# verify prints warnings without failing: there must be none about our unit.
if grep -i 'trackrelay.service' "$tmp/verify.log" >&2; then fail "systemd-analyze warnings"; fi
echo "OK: install layout and systemd-analyze verify"
