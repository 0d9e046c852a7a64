#!/usr/bin/env bash
# The one test command: set up a fresh machine, then build and run every package's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
pnpm test
