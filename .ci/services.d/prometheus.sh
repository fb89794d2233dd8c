#!/usr/bin/env bash
# Prometheus for the test that scrapes Tally's /metrics with a real server (Debian's package; the
# test starts its own instance on a free port, so the packaged service is stopped if it started).
# Run by .ci/run as root before `npm install && npm test`.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1; then
  echo "[ci] prometheus present: $(prometheus --version 2>&1 | head -1)"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "[ci] installing prometheus"
# Installing must not start the packaged daemon on :9090 (policy-rc.d 101 = do not start).
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
if ! apt-get install -y -o DPkg::Lock::Timeout=600 --no-install-recommends prometheus; then
  apt-get update -o DPkg::Lock::Timeout=600
  apt-get install -y -o DPkg::Lock::Timeout=600 --no-install-recommends prometheus
fi
prometheus --version 2>&1 | head -1
