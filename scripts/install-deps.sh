#!/bin/sh
# scripts/install-deps.sh — install what trackrelay needs to build and test on
# Debian 12, from Debian packages only. Uses sudo when not root.
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   also what the test suite needs
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
BUILD_PKGS="build-essential cmake pkg-config \
  libmimetic-dev libgumbo-dev \
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
  libyaml-cpp-dev libssl-dev libpsl-dev publicsuffix libidn2-dev zlib1g-dev \
  libsystemd-dev libsqlite3-dev libpq-dev libc-ares-dev python3"
TEST_PKGS="libgtest-dev python3 curl openssl sqlite3 wrk nginx-light postfix swaks systemd \
  debhelper dpkg-dev fakeroot lintian man-db iproute2 util-linux ccache \
  clang-14 libclang-rt-14-dev dnsmasq-base chromium prometheus pebble postgresql-15"
# The API's compatibility test runs the official SparkPost Node client, and
# the dashboard's end-to-end test drives Debian's chromium with playwright-core
# (npm); a node/npm already on the PATH (e.g. from NodeSource) is used as it is.
if ! command -v node >/dev/null 2>&1; then TEST_PKGS="$TEST_PKGS nodejs"; fi
if ! command -v npm >/dev/null 2>&1; then TEST_PKGS="$TEST_PKGS npm"; fi
# The relay tests run a private Postfix instance; the system one stays unconfigured.
POSTFIX_DEBCONF="postfix postfix/main_mailer_type select No configuration"
PKGS="$BUILD_PKGS"
if [ "${1:-}" = "--test" ]; then PKGS="$PKGS $TEST_PKGS"; fi
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  $SUDO apt-get update -qq
  case " $missing " in
    *" postfix "*) echo "$POSTFIX_DEBCONF" | $SUDO debconf-set-selections ;;
  esac
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
