#!/usr/bin/env bash
# Make Debian's chromium available for the browser tests. Never fails the build by itself:
# the tests decide whether a missing browser skips (default) or fails (TRIOPS_REQUIRE_BROWSER=1).
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq chromium >/dev/null 2>&1 || echo "ensure-chromium: apt-get install chromium failed"
fi
if [ -x /usr/bin/chromium ]; then
  echo "ensure-chromium: $(/usr/bin/chromium --version 2>/dev/null)"
else
  echo "ensure-chromium: /usr/bin/chromium is not available; browser tests will be skipped"
fi
exit 0
