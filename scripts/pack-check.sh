#!/usr/bin/env bash
# Installs the three plugins as a user would. Packs them with pnpm (prepack builds), checks every tarball is
# complete (scripts/pack-check/verify-tarball.mjs), then, once per TypeBox line given, installs the tarballs with
# npm into a temporary project outside the workspace (dependencies from the npm registry), type-checks
# scripts/pack-check/app.ts (strict, NodeNext, lib checks on), loads the packages with require() and runs the app
# against the shared broker (FASTIFY_AMQP_BROKER, default 4, or AMQP_URL): one valid message handled, one invalid
# one dead-lettered.
#   scripts/pack-check.sh [typebox-0.34] [typebox-1]     (default: typebox-0.34)
# typebox-0.34 installs @sinclair/typebox 0.34; typebox-1 installs typebox 1.x and swaps the app's import.
# `pnpm test` runs it once, before the broker legs. The temporary project is removed on success, kept on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$SECONDS

lines=("$@")
[ ${#lines[@]} -gt 0 ] || lines=(typebox-0.34)
for line in "${lines[@]}"; do
  case $line in
    typebox-0.34 | typebox-1) ;;
    *) echo "pack-check: unknown TypeBox line '$line' (typebox-0.34 or typebox-1)" >&2 && exit 2 ;;
  esac
done

if [ -z "${AMQP_URL:-}" ]; then
  case ${FASTIFY_AMQP_BROKER:-4} in
    4) scripts/ensure-rabbitmq4.sh ;;
    3.10) scripts/ensure-rabbitmq.sh ;;
  esac
fi
pnpm exec turbo run build --filter=@fastify-amqp/test-broker --output-logs=errors-only >/dev/null
AMQP_URL=$(node --input-type=module -e \
  "import { SHARED_URL } from './packages/test-broker/dist/index.js'; console.log(SHARED_URL)")
export AMQP_URL

work=$(mktemp -d "${TMPDIR:-/tmp}/fastify-amqp-pack-check.XXXXXX")
fail() {
  echo "pack-check FAILED: $*" >&2
  echo "pack-check: kept $work" >&2
  exit 1
}

packages=(connection publisher consumer) # in build order: each prepack compiles against the one before
for pkg in "${packages[@]}"; do
  echo "pack-check: $((SECONDS - started)) s: packing $pkg"
  pnpm --dir "packages/$pkg" pack --pack-destination "$work/tarballs" >"$work/pack-$pkg.log" 2>&1 ||
    fail "pnpm pack of $pkg (see $work/pack-$pkg.log)"
  tarball=$(ls "$work"/tarballs/fastify-amqp-"$pkg"-*.tgz)
  mkdir -p "$work/unpacked/$pkg"
  tar -xzf "$tarball" -C "$work/unpacked/$pkg"
  node scripts/pack-check/verify-tarball.mjs "$work/unpacked/$pkg/package" || fail "$pkg's tarball (above)"
done

for line in "${lines[@]}"; do
  case $line in
    typebox-0.34) typebox=@sinclair/typebox@^0.34.41 module=@sinclair/typebox ;;
    typebox-1) typebox=typebox@^1.0.0 module=typebox ;;
  esac
  app="$work/app-$line"
  mkdir -p "$app"
  cp scripts/pack-check/tsconfig.json "$app/"
  sed "s|from '@sinclair/typebox'|from '$module'|" scripts/pack-check/app.ts >"$app/app.ts"
  echo '{ "name": "pack-check-app", "private": true, "type": "module" }' >"$app/package.json"
  cd "$app"
  echo "pack-check: $((SECONDS - started)) s: installing"
  echo "pack-check [$line]: npm install of the tarballs, fastify 5 and $typebox in $app"
  npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz fastify@^5 "$typebox" \
    typescript@~5.9.3 @types/node@^20.19.0 || fail "[$line] npm install"
  for dep in @fastify-amqp/connection @fastify-amqp/publisher @fastify-amqp/consumer fastify; do
    copies=$(find . -path "*/node_modules/$dep/package.json" | wc -l)
    [ "$copies" = 1 ] || fail "[$line] $copies copies of $dep installed (npm ls $dep)"
  done
  echo "pack-check [$line]: installed $(node -e "console.log(process.argv.slice(1).map((name) => name + ' ' +
    JSON.parse(fs.readFileSync('node_modules/' + name + '/package.json', 'utf8')).version).join(', '))" \
    fastify amqplib "$module" typescript)"
  echo "pack-check: $((SECONDS - started)) s: tsc"
  ./node_modules/.bin/tsc -p tsconfig.json || fail "[$line] tsc: the app does not type-check against the tarballs"
  node -e "for (const name of ['connection', 'publisher', 'consumer']) {
    const plugin = require('@fastify-amqp/' + name).default
    if (typeof plugin !== 'function') throw new Error('require(@fastify-amqp/' + name + ').default is ' + typeof plugin)
  }" || fail "[$line] require() of the packages (require(esm) needs Node ^20.19 or >=22.12)"
  echo "pack-check: $((SECONDS - started)) s: running the app"
  node dist/app.js || fail "[$line] the app did not handle one message and dead-letter the other"
  cd "$repo"
done

rm -rf "$work"
echo "pack-check passed in $((SECONDS - started)) s: ${lines[*]} on $(node packages/test-broker/dist/bin/describe-broker.js)"
