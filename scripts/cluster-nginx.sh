#!/usr/bin/env bash
# Make Debian's nginx available for make run-cluster and the cluster tests. Never fails by
# itself: `make run-cluster` says what is missing, and the cluster tests skip without nginx, or
# fail when TRIOPS_REQUIRE_NGINX=1 (as .ci/run sets).
set -u
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "cluster-nginx: installing Debian's nginx with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq nginx >/dev/null 2>&1 || echo "cluster-nginx: apt-get install nginx failed"
fi
if [ -x /usr/sbin/nginx ]; then
  echo "cluster-nginx: $(/usr/sbin/nginx -v 2>&1)"
else
  echo "cluster-nginx: nginx is not available (Debian package nginx)"
fi
exit 0
