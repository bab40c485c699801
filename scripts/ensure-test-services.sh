#!/usr/bin/env bash
# Install the Debian packages the browser tests need (chromium, fonts), when we can.
# Without root or apt the browser tests skip (and fail under REQUIRE_SERVICES=1).
set -u
if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi dejavu; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing chromium and fonts-dejavu-core for the browser tests…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium fonts-dejavu-core >/dev/null \
    || echo "Could not install chromium; the browser tests will skip." >&2
else
  echo "chromium is not installed (apt-get install chromium); the browser tests will skip." >&2
fi
exit 0
