// Prints which RabbitMQ this run's tests use (scripts/test-legs.sh heads each leg with it).
import { describeBroker } from '../describe.js'
import { brokerRuntime } from '../runtime.js'

try {
  console.log(await describeBroker())
} catch (error) {
  const runtime = brokerRuntime()
  console.error(
    `no RabbitMQ answers at ${runtime.sharedUrl.replace(/\/\/[^@]*@/, '//')} (FASTIFY_AMQP_BROKER=${runtime.name}): ${error}`
  )
  process.exitCode = 1
}
