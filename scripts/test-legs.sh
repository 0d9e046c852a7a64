#!/usr/bin/env bash
# Runs every package's tests once per broker leg, each leg headed by the broker version it ran on. `pnpm test`
# calls it after lint and build. LEGS="4" (or "3.10") runs one leg only.
#   RabbitMQ 4.x (FASTIFY_AMQP_BROKER=4), the primary leg: everything. Unit and integration tests, the
#     disposable-node suites, the 3-node cluster suites (Khepri) and the fault quick profile with both cluster
#     scenarios. The coverage thresholds (scripts/check-coverage.mjs) are gated on this leg.
#   RabbitMQ 3.10 (FASTIFY_AMQP_BROKER=3.10): every shared-broker test, the fault quick profile but its two
#     cluster scenarios, and the disposable-node tests where the versions differ (retry-hop's dead-letter
#     settings, message sizes, poison over the size limit, test-broker's own node and runtime). It skips, each
#     printed as a tap SKIP naming the leg (onlyOnPrimaryLeg in @fastify-amqp/test-broker), what behaves the same
#     on both versions and costs minutes of disposable nodes: the cluster suites (test-broker cluster, connection
#     cluster and khepri, faults cluster and cluster-leader) and the restart and alarm suites that the 3.10
#     fault profile's broker-kill and alarm scenarios cover (connection disposable, publisher alarm, the consumer's
#     restarted node), and the consumer's 3,000-consumer scale test (the consume pool is the plugin's logic).
#     Coverage is printed there, not gated. FASTIFY_AMQP_ALL_LEGS=1 runs everything on 3.10 too.
# Within a leg the packages run one after another, then the fault suite, alone: it measures time and memory.
# TEST_LANES=2 runs the packages in two lanes side by side, the test-broker and connection suites (the ones that
# start 3-node clusters) in one, the others in the other. Not the default: measured once, on a machine other
# runs loaded to 20, the lanes passed but their cluster and disposable-node suites ran about 3x slower.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-rabbitmq4.sh || exit 1
scripts/ensure-rabbitmq.sh || exit 1
# The legs run the tests only (--only below): the fault suite and the demo run what is built.
pnpm exec turbo run build --output-logs=errors-only || exit 1

# The packages whose suites start 3-node clusters: one lane, so that their clusters never boot at the same time.
CLUSTER_LANE=(--filter=@fastify-amqp/test-broker --filter=@fastify-amqp/connection)
OTHER_LANE=(--filter='!faults' --filter='!@fastify-amqp/test-broker' --filter='!@fastify-amqp/connection')

# `turbo run test` on one leg, every package even after a failure; --only: `pnpm test` built everything already,
# and two lanes must not rebuild the same dist at once.
leg_tests() {
  local leg=$1
  shift
  FASTIFY_AMQP_BROKER=$leg pnpm exec turbo run test --only --concurrency=1 --continue "$@"
}

# One leg: the packages but the fault suite (in two lanes side by side if TEST_LANES=2), then the fault suite
# alone, as it measures time and memory.
run_leg() {
  local failed=0
  if [ "${TEST_LANES:-1}" != 2 ]; then
    leg_tests "$1" --filter='!faults' || failed=1
  else
    leg_tests "$1" "${CLUSTER_LANE[@]}" &
    local lane=$!
    leg_tests "$1" "${OTHER_LANE[@]}" || failed=1
    wait $lane || failed=1
  fi
  leg_tests "$1" --filter=faults || failed=1
  return $failed
}

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
  if run_leg "$leg" 2>&1 | tee "$log"; then
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
