#!/usr/bin/env bash
# ClickHouse for the distributed profile's tests: install from Debian if missing (18.16 there),
# start it if port 8123 is closed, wait until `SELECT 1` answers. Idempotent; run as root.
set -euo pipefail

log() { printf '[ci/clickhouse] %s\n' "$*"; }
port_open() { (exec 3<>/dev/tcp/127.0.0.1/8123) 2>/dev/null; }
PIDFILE=/var/run/clickhouse-server/clickhouse-server.pid

if ! command -v clickhouse-server >/dev/null 2>&1; then
  log "installing clickhouse-server and clickhouse-client"
  export DEBIAN_FRONTEND=noninteractive
  # Another installer may hold the dpkg lock (e.g. a browser install): wait for it.
  if ! apt-get install -y -o DPkg::Lock::Timeout=600 clickhouse-server clickhouse-client; then
    apt-get update -o DPkg::Lock::Timeout=600
    apt-get install -y -o DPkg::Lock::Timeout=600 clickhouse-server clickhouse-client
  fi
fi

if ! port_open; then
  log "starting clickhouse-server"
  mkdir -p "$(dirname "$PIDFILE")"
  clickhouse-server --config-file=/etc/clickhouse-server/config.xml --pid-file="$PIDFILE" --daemon
fi

select1() { # over HTTP, as the tests connect
  exec 4<>/dev/tcp/127.0.0.1/8123 || return 1
  printf 'GET /?query=SELECT%%201 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&4
  timeout 2 cat <&4 | tail -n 1
  exec 4<&-
}
for _ in $(seq 1 60); do
  if [ "$(select1 2>/dev/null | tr -d '\r')" = "1" ]; then
    log "ready"
    exit 0
  fi
  sleep 1
done
log "ClickHouse did not answer SELECT 1 within 60 s"
exit 1
