import type { Channel, ConfirmChannel } from 'amqplib'
import Fastify from 'fastify'
import { describe, expect, test } from 'tstyche'
import amqp, {
  type AmqpClient,
  type AmqpHealth,
  assertTopology,
  type ChannelCloseReply,
  type ConnectionStatus,
  type ManagedChannel,
} from '../../src/index.js'

const app = Fastify()

describe('app.amqp', () => {
  test('is decorated with the client', () => {
    expect(app.amqp).type.toBe<AmqpClient>()
    expect(app.amqp.status).type.toBe<ConnectionStatus>()
    expect(app.amqp.health()).type.toBe<AmqpHealth>()
  })

  test('channel({ confirm: true }) gives a confirm channel', () => {
    expect(app.amqp.channel({ confirm: true })).type.toBe<ManagedChannel<ConfirmChannel>>()
    expect(app.amqp.channel()).type.toBe<ManagedChannel<Channel>>()
    expect(
      app.amqp.channel({
        setup: async (ch) => {
          await ch.prefetch(1)
        },
      })
    ).type.toBe<ManagedChannel<Channel>>()
  })

  test('event payloads name the connection role', () => {
    app.amqp.on('connected', (info) => {
      expect(info.role).type.toBe<'publish' | 'consume'>()
    })
    expect(app.amqp.on).type.not.toBeCallableWith('nonsense', () => {})
  })

  test("a channel's lost payload carries the broker's reply", () => {
    app.amqp.channel().on('lost', (info) => {
      expect(info.error).type.toBe<string | null>()
      expect(info.reply).type.toBe<ChannelCloseReply | null>()
    })
  })

  test('a connection names its login', () => {
    expect(app.amqp.connection('publish').username).type.toBe<string>()
  })

  test('health counts the consume pool; a channel names its connection', () => {
    expect(app.amqp.health().consumePool).type.toBe<{
      connections: number
      channels: number
      channelsPerConnection: number
    }>()
    expect(app.amqp.channel().connection.name).type.toBe<string>()
    expect(app.amqp.connection('consume').channelMax).type.toBe<number | null>()
    expect(app.amqp.updateSecret('token', 'refreshed')).type.toBe<Promise<void>>()
  })
})

describe('assertTopology', () => {
  test('takes a channel and a topology', () => {
    expect(assertTopology).type.toBeCallableWith({} as Channel, { queues: [{ name: 'q' }] })
    expect(assertTopology).type.not.toBeCallableWith({} as Channel, { queues: [{ durable: true }] })
  })
})

describe('options', () => {
  test('valid options compile', () => {
    expect(app.register).type.toBeCallableWith(amqp, {
      url: ['amqp://a', 'amqp://b'],
      connectionName: 'orders',
      heartbeat: 10,
      reconnect: { initialDelay: 100, maxDelay: 30_000, factor: 2, jitter: 'full' as const, maxAttempts: Infinity },
      waitForConnection: false,
      connectTimeout: 5_000,
      channelsPerConnection: 500,
      tls: { ca: Buffer.from(''), cert: 'pem', key: 'pem', servername: 'rabbit.internal' },
      sasl: 'external' as const,
      clientProperties: { product: 'orders' },
      topology: {
        exchanges: [{ name: 'orders', type: 'topic' }],
        queues: [{ name: 'q' }],
        bindings: [{ exchange: 'orders', queue: 'q', routingKey: '#' }],
      },
    })
  })

  test('invalid options do not', () => {
    expect(app.register).type.not.toBeCallableWith(amqp, { url: 42 })
    expect(app.register).type.not.toBeCallableWith(amqp, { heartbeat: '10' })
    expect(app.register).type.not.toBeCallableWith(amqp, { channelsPerConnection: '500' })
    expect(app.register).type.not.toBeCallableWith(amqp, { sasl: 'kerberos' })
    expect(app.register).type.not.toBeCallableWith(amqp, { tls: { cafile: '/x' } })
    expect(app.register).type.not.toBeCallableWith(amqp, { reconnect: { jitter: 'sometimes' } })
  })
})
