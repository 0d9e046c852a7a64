#!/usr/bin/env bash
# Makes sure a RabbitMQ node answers on 127.0.0.1:5672: installs it from
# Debian's packages when missing, starts it when down, waits until it is up.
set -euo pipefail

port_open() { (exec 3<>/dev/tcp/127.0.0.1/5672) >/dev/null 2>&1; }

if port_open; then
  echo "RabbitMQ answers on 127.0.0.1:5672"
  exit 0
fi

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "RabbitMQ is not installed; run: sudo apt-get update && sudo apt-get install -y rabbitmq-server" >&2
    exit 1
  fi
  echo "Installing rabbitmq-server from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server
fi

echo "Starting RabbitMQ"
rabbitmq-server -detached || true
rabbitmqctl await_startup --timeout 120 || true
for _ in $(seq 1 120); do
  if port_open; then
    echo "RabbitMQ answers on 127.0.0.1:5672"
    exit 0
  fi
  sleep 1
done
echo "RabbitMQ did not open 127.0.0.1:5672 within 2 minutes" >&2
exit 1
