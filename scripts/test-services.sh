#!/usr/bin/env bash
# Make sure the real servers the test suite talks to are installed and running:
# PostgreSQL and Redis on their default local ports, and Debian's Chromium for the browser
# tests (Playwright drives it; it never downloads a browser), nginx's RTMP module and coturn. Idempotent; needs root to install.
set -euo pipefail

reachable() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium fonts-dejavu-core
fi

# Node runs the documented JavaScript webhook-verification helper in its test.
command -v node >/dev/null || apt_install nodejs

# nginx with the RTMP module: the live-streaming tests push to it and read the stream back.
# The tests start nginx themselves (their own config and port); the service stays off.
if [ ! -e /usr/lib/nginx/modules/ngx_rtmp_module.so ]; then
  apt_install nginx-light libnginx-mod-rtmp || apt_install nginx libnginx-mod-rtmp
  if command -v systemctl >/dev/null; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
  if [ -f /run/nginx.pid ]; then kill "$(cat /run/nginx.pid)" 2>/dev/null || true; fi
fi

# coturn: the network-impairment tests and bench relay media through a real TURN server
# (tests/support/turn.py starts its own on a free port); the service stays off.
if ! command -v turnserver >/dev/null; then
  apt_install coturn
  if command -v systemctl >/dev/null; then systemctl disable --now coturn >/dev/null 2>&1 || true; fi
  pkill -x turnserver 2>/dev/null || true
fi

if ! reachable 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi

if ! reachable 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

for _ in $(seq 1 50); do
  if reachable 5432 && reachable 6379; then
    echo "PostgreSQL and Redis are up"
    exit 0
  fi
  sleep 0.2
done
echo "PostgreSQL (5432) or Redis (6379) did not come up" >&2
exit 1
