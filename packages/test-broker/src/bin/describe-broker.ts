// Prints which RabbitMQ this run's tests use, e.g. "RabbitMQ 4.3.6 at 127.0.0.1:5673 (Debian forky root
// /var/lib/fastify-amqp/rabbitmq4-root)", asked of the shared node itself: the test output names each leg's broker.
import amqp from 'amqplib'
import { brokerRuntime, rootVersion } from '../runtime.js'

const runtime = brokerRuntime()
const url = new URL(runtime.sharedUrl)
try {
  const connection = await amqp.connect(runtime.sharedUrl)
  const version = String(connection.connection.serverProperties.version)
  await connection.close()
  const origin =
    runtime.root === undefined
      ? "this machine's rabbitmq-server"
      : `${rootVersion(runtime) ?? '?'} root ${runtime.root}`
  console.log(`RabbitMQ ${version} at ${url.hostname}:${url.port} (FASTIFY_AMQP_BROKER=${runtime.name}; ${origin})`)
} catch (error) {
  console.error(`no RabbitMQ answers at ${url.hostname}:${url.port} (FASTIFY_AMQP_BROKER=${runtime.name}): ${error}`)
  process.exitCode = 1
}
