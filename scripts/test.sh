#!/usr/bin/env bash
# The one test command: set up a fresh machine, then lint, build and run every package's tests on both
# broker legs, RabbitMQ 4.x and 3.10 (pnpm test; scripts/test-legs.sh starts the 4.x node, building it first
# when missing).
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."
scripts/setup.sh
pnpm test
