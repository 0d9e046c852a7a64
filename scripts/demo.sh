#!/usr/bin/env bash
# The one demo command: set up a fresh machine (pnpm, RabbitMQ, dependencies), build the demo and
# the packages it uses, then start it on http://127.0.0.1:3000 (Ctrl-C shuts it down gracefully).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
pnpm exec turbo run build --filter=demo...

cat <<'TEXT'

Starting the orders demo. Open its live page: http://127.0.0.1:3000/
In another terminal:
  curl -X POST localhost:3000/orders -H 'content-type: application/json' \
       -d '{"customer":"ada","items":[{"sku":"A-1","quantity":2}]}'
  curl localhost:3000/orders/<id>      curl localhost:3000/health      curl localhost:3000/stats
  pnpm --filter demo load              # 2,000 orders from 50 clients, with a progress bar

TEXT
exec pnpm --filter demo start
