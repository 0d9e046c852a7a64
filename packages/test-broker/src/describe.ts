import amqp from 'amqplib'
import { type BrokerRuntime, brokerRuntime, rootVersion } from './runtime.js'

/**
 * Which RabbitMQ a run uses, asked of its shared node, e.g. "RabbitMQ 4.3.6 at 127.0.0.1:5673 (Debian forky
 * root ...)": test output, RELIABILITY.md and BENCHMARKS.md name the broker each figure comes from.
 */
export async function describeBroker(runtime: BrokerRuntime = brokerRuntime()): Promise<string> {
  const url = new URL(runtime.sharedUrl)
  const connection = await amqp.connect(runtime.sharedUrl)
  const version = String(connection.connection.serverProperties.version)
  await connection.close()
  const origin =
    runtime.root === undefined
      ? "this machine's rabbitmq-server"
      : `${rootVersion(runtime) ?? '?'} root ${runtime.root}`
  return `RabbitMQ ${version} at ${url.hostname}:${url.port} (FASTIFY_AMQP_BROKER=${runtime.name}; ${origin})`
}
