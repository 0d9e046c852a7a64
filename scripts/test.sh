#!/usr/bin/env bash
# The one test command: set up a fresh machine, then lint, build, type-check (every test file, and the type tests
# of the three plugins), install the packed plugins with npm outside
# the workspace and run an app on them once (scripts/pack-check.sh), and run every package's tests on both
# broker legs, RabbitMQ 4.x and 3.10 (pnpm test; the 4.x node is started, and built first when missing, by
# scripts/ensure-rabbitmq4.sh, which both pack-check.sh and scripts/test-legs.sh call). Debian's Chromium is
# installed for the demo's browser test (scripts/ensure-chromium.sh).
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/ensure-chromium.sh # the demo's browser test drives Debian's Chromium
pnpm test
