#!/usr/bin/env bash
# The one test command: set up a fresh machine, then build and run every package's tests.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."
scripts/setup.sh
pnpm test
