#!/usr/bin/env bash
# Install the Debian packages some tests need, when we can:
#   chromium, fonts-dejavu-core  the browser tests (Playwright drives the system's chromium);
#   nginx                        the deployment test checks deploy/nginx with `nginx -t`
#                                under its own prefix; nginx is never started as a service.
# Without root or apt those tests skip (and fail under REQUIRE_SERVICES=1).  Quick when
# everything is there: apt is not touched at all then.  Safe to run again.
set -u

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

missing=()
have chromium || missing+=(chromium)
fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
have nginx || missing+=(nginx)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]} for the tests…"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's packages start their service on installation; a policy-rc.d that answers 101
  # forbids it (Debian's container images ship one already: then it is left as it is).
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "Could not install ${missing[*]}; the tests that need them will skip." >&2
else
  echo "Missing ${missing[*]} (apt-get install ${missing[*]}); the tests that need them will skip." >&2
fi
exit 0
