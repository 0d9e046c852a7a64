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
for leg in ${LEGS:-4 3.10}; do
  broker=$(FASTIFY_AMQP_BROKER=$leg node packages/test-broker/dist/bin/describe-broker.js) || {
    status=1
    summary+=("leg $leg: no broker")
    continue
  }
  echo
  echo "=== test leg FASTIFY_AMQP_BROKER=$leg: $broker ==="
  started=$SECONDS
  if FASTIFY_AMQP_BROKER=$leg pnpm exec turbo run test --concurrency=1 --continue; then
    summary+=("leg $leg passed in $((SECONDS - started)) s: $broker")
  else
    status=1
    summary+=("leg $leg FAILED after $((SECONDS - started)) s: $broker")
  fi
done

echo
printf '%s\n' "${summary[@]}"
exit $status
