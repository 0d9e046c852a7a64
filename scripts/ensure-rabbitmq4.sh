#!/usr/bin/env bash
# Makes sure a RabbitMQ 4.x node answers on 127.0.0.1:5673, the broker the test suite runs on first.
#
# Debian bookworm only packages RabbitMQ 3.10, and 4.x needs a newer Erlang than bookworm's libc can run, so
# the broker comes from Debian's own rabbitmq-server package in a root of its own: debootstrap builds it once
# at a fixed path (forky: 4.3; trixie: 4.0 when forky has no usable package), and the node runs there under
# chroot with its own config, data dir, ports and epmd, never reading this machine's /etc/rabbitmq.
# Disposable 4.x nodes (@fastify-amqp/test-broker) run from the same root.
#
# The paths, node name and ports below are also in packages/test-broker/src/runtime.ts (a test checks both agree).
set -euo pipefail

ROOT=/var/lib/fastify-amqp/rabbitmq4-root
NODE=rabbit4@localhost
PORT=5673
DIST_PORT=25673
EPMD_PORT=4370
DATA=/var/lib/fastify-amqp-shared # inside the root

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1; }
version() { cat "$ROOT/etc/fastify-amqp-rabbitmq-version" 2>/dev/null || echo unknown; }

# Unmounts whatever is mounted below a directory, deepest first, so that removing it cannot reach the host.
unmount_below() {
  awk -v dir="$1" '$2 == dir || index($2, dir "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount; do umount -l "$mount" || true; done
}

mirror() {
  local uri
  uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

# Builds the root into a scratch dir and moves it into place only once RabbitMQ 4.x is installed in it.
build_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "building the RabbitMQ 4.x root needs root (debootstrap, chroot, mount)" >&2
    exit 1
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "Installing debootstrap from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
  fi
  local scratch="$ROOT.building" suite installed
  for suite in forky trixie; do
    unmount_below "$scratch"
    rm -rf -- "$scratch"
    mkdir -p "$scratch"
    echo "Building a Debian $suite root with rabbitmq-server at $ROOT (about a minute)"
    if ! debootstrap --variant=minbase --include=rabbitmq-server "$suite" "$scratch" "$(mirror)" \
      /usr/share/debootstrap/scripts/sid >"$ROOT.debootstrap-$suite.log" 2>&1; then
      echo "debootstrap $suite failed (log: $ROOT.debootstrap-$suite.log); trying the next suite" >&2
      continue
    fi
    installed=$(chroot "$scratch" dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || true)
    case "$installed" in
    4.*)
      echo "${installed%%-*} (Debian $suite)" >"$scratch/etc/fastify-amqp-rabbitmq-version"
      unmount_below "$scratch"
      # A test run that started a disposable node meanwhile made $ROOT/tmp: without a server in it, it goes.
      unmount_below "$ROOT"
      rm -rf -- "$ROOT"
      mv "$scratch" "$ROOT"
      echo "RabbitMQ 4.x root ready: $(version)"
      return 0
      ;;
    *) echo "Debian $suite has rabbitmq-server '${installed:-none}', not 4.x; trying the next suite" >&2 ;;
    esac
  done
  unmount_below "$scratch"
  rm -rf -- "$scratch"
  echo "could not build a RabbitMQ 4.x root from forky or trixie" >&2
  exit 1
}

# Erlang reads /proc; /etc/hosts must resolve localhost for the node names.
prepare_root() {
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  cp /etc/hosts "$ROOT/etc/hosts"
}

start_node() {
  local data="$ROOT$DATA"
  mkdir -p "$data/log"
  [ -f "$data/enabled_plugins" ] || echo '[].' >"$data/enabled_plugins"
  : >"$data/rabbitmq-env.conf"
  # Transient non-exclusive queues denied as a strict 4.x broker denies them (a connection-level 541), so the
  # suite cannot lean on them by accident; Debian's 4.3 still permits them by default.
  cat >"$data/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$PORT
disk_free_limit.absolute = 50MB
deprecated_features.permit.transient_nonexcl_queues = false
CONF
  echo "Starting the shared RabbitMQ $(version) node $NODE on 127.0.0.1:$PORT"
  setsid chroot "$ROOT" /usr/bin/env -i \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME="$DATA" \
    RABBITMQ_NODENAME="$NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$PORT" \
    RABBITMQ_DIST_PORT="$DIST_PORT" RABBITMQ_MNESIA_BASE="$DATA/mnesia" RABBITMQ_LOG_BASE="$DATA/log" \
    RABBITMQ_LOGS=- RABBITMQ_ENABLED_PLUGINS_FILE="$DATA/enabled_plugins" \
    RABBITMQ_CONFIG_FILE="$DATA/rabbitmq.conf" RABBITMQ_CONF_ENV_FILE="$DATA/rabbitmq-env.conf" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}' \
    ERL_EPMD_PORT="$EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1 \
    /usr/lib/rabbitmq/bin/rabbitmq-server >>"$data/rabbitmq.log" 2>&1 </dev/null 9>&- &
  for _ in $(seq 1 120); do
    if port_open "$PORT"; then
      echo "RabbitMQ $(version) answers on 127.0.0.1:$PORT"
      return 0
    fi
    sleep 1
  done
  echo "RabbitMQ 4.x did not open 127.0.0.1:$PORT within 2 minutes; last lines of $data/rabbitmq.log:" >&2
  tail -n 40 "$data/rabbitmq.log" >&2
  exit 1
}

if port_open "$PORT"; then
  echo "RabbitMQ $(version) answers on 127.0.0.1:$PORT"
  exit 0
fi
# One run at a time: two runs building the root at once would delete each other's scratch dir. The node started
# below must not inherit the lock (9>&- there), or it holds it as long as it runs and every later run waits forever.
mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock 9
if port_open "$PORT"; then
  echo "RabbitMQ $(version) answers on 127.0.0.1:$PORT (started by the run this one waited for)"
  exit 0
fi
[ -x "$ROOT/usr/lib/rabbitmq/bin/rabbitmq-server" ] || build_root
prepare_root
start_node
