#!/usr/bin/env bash
# Chromium for the dashboard's browser tests (driven by playwright-core at /usr/bin/chromium).
# Run by .ci/run as root before `npm install && npm test`.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "[ci] chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "[ci] installing chromium"
if ! apt-get install -y chromium; then
  # Stale package lists are the usual cause: refresh them once and retry.
  apt-get update
  apt-get install -y chromium
fi
/usr/bin/chromium --version
