#!/bin/sh
# tests/relay/systemd_test.sh — the service unit passes `systemd-analyze
# verify`, and `cmake --install` (into a DESTDIR) puts the binary, the
# example configuration, the unit and the sysusers file where the unit
# expects them, without overwriting an existing configuration.
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
for f in usr/local/bin/trackrelay etc/trackrelay/trackrelay.example.yaml \
         etc/trackrelay/trackrelay.yaml etc/systemd/system/trackrelay.service \
         etc/sysusers.d/trackrelay.conf; do
  [ -e "$tmp/root/$f" ] || fail "cmake --install did not install /$f"
done
[ -x "$tmp/root/usr/local/bin/trackrelay" ] || fail "the binary is not executable"
"$tmp/root/usr/local/bin/trackrelay" --config "$tmp/root/etc/trackrelay/trackrelay.yaml" check \
  >/dev/null 2>&1 || fail "the installed configuration does not pass check"
echo "# edited" >>"$tmp/root/etc/trackrelay/trackrelay.yaml"
DESTDIR="$tmp/root" cmake --install "$build" --prefix /usr/local >/dev/null 2>&1
grep -q '^# edited' "$tmp/root/etc/trackrelay/trackrelay.yaml" ||
  fail "a second install overwrote the operator's configuration"
grep -q '^ExecStart=/usr/local/bin/trackrelay --config /etc/trackrelay/trackrelay.yaml serve$' \
  "$tmp/root/etc/systemd/system/trackrelay.service" || fail "ExecStart does not match the install"

# --- the unit's required properties ---
unit="$src/systemd/trackrelay.service"
for want in '^Type=notify$' '^ExecReload=/bin/kill -HUP \$MAINPID$' '^User=trackrelay$' \
            '^NoNewPrivileges=yes$' '^ProtectSystem=strict$' '^ProtectHome=yes$' \
            '^PrivateTmp=yes$' '^CapabilityBoundingSet=$' '^ReadWritePaths=/var/lib/trackrelay$'; do
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
