#!/usr/bin/env bash
# Runs every package's tests once per broker leg, each leg headed by the broker version it ran on:
#   RabbitMQ 4.x (FASTIFY_AMQP_BROKER=4): everything, fault quick profile and cluster scenarios included;
#   RabbitMQ 3.10 (FASTIFY_AMQP_BROKER=3.10): everything again on the machine's own broker.
# `pnpm test` calls it after lint and build. LEGS="4" (or "3.10") runs one leg only.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-rabbitmq4.sh || exit 1
scripts/ensure-rabbitmq.sh || exit 1

status=0
summary=()
failed=()
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
for leg in ${LEGS:-4 3.10}; do
  broker=$(FASTIFY_AMQP_BROKER=$leg node packages/test-broker/dist/bin/describe-broker.js) || {
    status=1
    summary+=("leg $leg: no broker")
    continue
  }
  echo
  echo "=== test leg FASTIFY_AMQP_BROKER=$leg: $broker ==="
  started=$SECONDS
  log="$logs/leg-$leg.log"
  if FASTIFY_AMQP_BROKER=$leg pnpm exec turbo run test --concurrency=1 --continue 2>&1 | tee "$log"; then
    summary+=("leg $leg passed in $((SECONDS - started)) s: $broker")
  else
    status=1
    summary+=("leg $leg FAILED after $((SECONDS - started)) s: $broker")
    failed+=("$log")
  fi
done

# A CI log may keep only its tail: what failed is printed again here, at the end.
for log in "${failed[@]}"; do
  echo
  echo "=== failures in $(basename "$log" .log) (the 'not ok' and 'coverage UNDER' lines and what follows each) ==="
  grep -n -A 14 -E '(^|: +)not ok |coverage UNDER' "$log" | grep -v -E ': +# Subtest' | head -n 180
done

echo
printf '%s\n' "${summary[@]}"
exit $status
