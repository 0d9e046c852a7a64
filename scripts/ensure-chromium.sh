#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the demo's browser test (apps/demo/test/page.test.ts),
# which drives it with playwright-core: no test tool downloads a browser of its own (they cannot on these machines).
# Idempotent and quick when it is there; scripts/test.sh and the demo's test script call it.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "Chromium is not installed; run: sudo apt-get update && sudo apt-get install -y chromium" >&2
  exit 1
fi

# One install at a time: two test runs starting together would both reach for dpkg's lock.
exec 9>/var/lock/fastify-amqp-chromium.lock
flock 9
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

echo "Installing chromium from Debian's packages (for the demo's browser test)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
"$CHROMIUM" --version
