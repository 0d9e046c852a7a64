import t from 'tap'
import { brokerRuntime, onlyOnPrimaryLeg } from '../src/index.js'

t.test('onlyOnPrimaryLeg: runs on the 4.x leg, a skip naming the leg on 3.10, run anywhere on request', async (t) => {
  const four = brokerRuntime({ FASTIFY_AMQP_BROKER: '4' })
  const three = brokerRuntime({ FASTIFY_AMQP_BROKER: '3.10' })
  t.equal(onlyOnPrimaryLeg('cluster mechanics', four, {}), false)
  t.equal(
    onlyOnPrimaryLeg('cluster mechanics', three, {}),
    '4.x leg only, skipped on the 3.10 leg: cluster mechanics (FASTIFY_AMQP_ALL_LEGS=1 runs it here too)'
  )
  t.equal(onlyOnPrimaryLeg('cluster mechanics', three, { FASTIFY_AMQP_ALL_LEGS: '1' }), false)
})
