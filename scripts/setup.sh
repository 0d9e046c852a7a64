#!/usr/bin/env bash
# Fresh-machine setup shared by the test and demo commands: the pinned pnpm,
# a RabbitMQ answering on 127.0.0.1:5672, and the frozen-lockfile install.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm -v)" != "$PNPM_VERSION" ]; then
  npm install -g "pnpm@${PNPM_VERSION}"
fi

scripts/ensure-rabbitmq.sh

# better-sqlite3 is compiled on install when no prebuilt binary can be downloaded: node-gyp then
# needs Node's headers, which a distribution's Node ships next to the binary (/usr/include/node).
node_prefix=$(dirname "$(dirname "$(command -v node)")")
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi
# playwright-core (the demo's browser test) drives Debian's Chromium; no package may fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
pnpm install --frozen-lockfile
