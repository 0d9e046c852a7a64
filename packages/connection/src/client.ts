import type { EventEmitter } from 'node:events'
import type { Channel, ConfirmChannel } from 'amqplib'
import type { FastifyBaseLogger } from 'fastify'
import { ConsumePool, type ConsumePoolHealth } from './consume-pool.js'
import { AmqpClosedError, AmqpConnectTimeoutError, AmqpInvalidOptionError } from './errors.js'
import { ManagedChannel, type ManagedChannelOptions } from './managed-channel.js'
import {
  type ConnectionEvents,
  type ConnectionHealth,
  type ConnectionRole,
  type ConnectionStatus,
  ManagedConnection,
} from './managed-connection.js'
import type { ResolvedOptions } from './options.js'
import { passwordsOf } from './redact.js'
import { SafeEmitter } from './safe-emitter.js'

export interface AmqpHealth {
  status: ConnectionStatus
  /** When the newest of the two connections came up (ISO), or null while either is down. */
  connectedSince: string | null
  /** Successful reconnects, both connections together. */
  reconnects: number
  lastError: string | null
  /** The publish connection, and the consume side (the worst of its pool, reconnects summed). */
  connections: Record<ConnectionRole, ConnectionHealth>
  /** How many consume connections carry the consumers' channels. */
  consumePool: ConsumePoolHealth
}

const ROLES: readonly ConnectionRole[] = ['publish', 'consume']
// The worst state wins: a reader of status wants to know whether anything is amiss.
const SEVERITY: readonly ConnectionStatus[] = [
  'closed',
  'closing',
  'reconnecting',
  'connecting',
  'blocked',
  'connected',
]

/** `app.amqp`: the publish and consume connections of one Fastify instance, and their channels. */
export class AmqpClient extends SafeEmitter<ConnectionEvents> {
  readonly #options: ResolvedOptions
  readonly #publish: ManagedConnection
  readonly #consume: ConsumePool
  readonly #channels = new Set<{ close(): Promise<void> }>()
  readonly #log: FastifyBaseLogger
  readonly #secrets: string[]
  /** The latest updateSecret(): every connection, the pool's later ones too, connects with it. */
  #secret: string | null = null
  #closing: Promise<void> | null = null

  constructor(options: ResolvedOptions, log: FastifyBaseLogger) {
    const secrets = passwordsOf(options.urls)
    super({ log, secrets })
    this.setMaxListeners(0)
    this.#options = options
    const make = (role: ConnectionRole, member = 0) => {
      const secret = () => this.#secret
      const connection = new ManagedConnection({ ...options, role, member, log, secrets, secret })
      for (const event of ['connected', 'disconnected', 'reconnecting', 'blocked', 'unblocked', 'closed'] as const) {
        // Re-emit as is; the payload carries the role. A user listener that throws is logged by our emit.
        ;(connection as EventEmitter).on(event, (info: unknown) => (this as EventEmitter).emit(event, info))
      }
      return connection
    }
    this.#publish = make('publish')
    this.#consume = new ConsumePool((member) => make('consume', member), options.channelsPerConnection, log)
    // Consumers declare their bindings through the consume connection. On a Khepri cluster another node
    // may not see a new binding yet, so publishing goes through the same node: it follows the consumers.
    const consume = this.#consume.primary
    consume.on('connected', () => {
      if (consume.node !== null) this.#publish.follow(consume.node)
    })
    this.#log = log
    this.#secrets = secrets
  }

  get status(): ConnectionStatus {
    return worst(this.#all().map((connection) => connection.status))
  }

  /** The underlying connection for one role (for advanced use: its model, its signal); the first of the consume pool. */
  connection(role: ConnectionRole): ManagedConnection {
    return role === 'publish' ? this.#publish : this.#consume.primary
  }

  /** Opens the connections; with waitForConnection, resolves once both are up or throws a coded error. */
  async start(waitMs: number): Promise<void> {
    this.#publish.start()
    this.#consume.start()
    if (!this.#options.waitForConnection) return
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AmqpConnectTimeoutError(waitMs, this.health().lastError ?? 'none')), waitMs)
    })
    try {
      await Promise.race([Promise.all(ROLES.map((role) => this.connection(role).whenFirstConnected())), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  channel(options: ManagedChannelOptions<ConfirmChannel> & { confirm: true }): ManagedChannel<ConfirmChannel>
  channel(options?: ManagedChannelOptions<Channel>): ManagedChannel<Channel>
  channel(
    options: ManagedChannelOptions<ConfirmChannel> | ManagedChannelOptions<Channel> = {}
  ): ManagedChannel<ConfirmChannel> | ManagedChannel<Channel> {
    if (this.#closing) throw new AmqpClosedError()
    const role = options.connection ?? (options.confirm ? 'publish' : 'consume')
    const connection = role === 'publish' ? this.#publish : this.#consume.place()
    const channel: ManagedChannel<Channel> = new ManagedChannel<Channel>(
      connection,
      options as ManagedChannelOptions<Channel>,
      {
        log: this.#log,
        secrets: this.#secrets,
        reconnect: this.#options.reconnect,
        onClosed: () => {
          this.#channels.delete(channel)
          if (role === 'consume') this.#consume.release(connection)
        },
      }
    )
    this.#channels.add(channel)
    return channel
  }

  /**
   * Rotates the password (an OAuth2 access token, say) without reconnecting: sent to every live connection with
   * connection.update-secret, and used by every later connect. The secret is masked wherever text is logged.
   */
  async updateSecret(secret: string, reason = 'secret rotated'): Promise<void> {
    if (typeof secret !== 'string' || secret.length === 0)
      throw new AmqpInvalidOptionError('updateSecret(secret)', 'expected a non-empty string')
    if (typeof reason !== 'string') throw new AmqpInvalidOptionError('updateSecret(reason)', 'expected a string')
    if (this.#closing) throw new AmqpClosedError()
    for (const masked of [secret, encodeURIComponent(secret)])
      if (!this.#secrets.includes(masked)) this.#secrets.push(masked)
    this.#secret = secret
    await Promise.all(this.#all().map((connection) => connection.sendSecret(secret, reason)))
  }

  health(): AmqpHealth {
    const connections = { publish: this.#publish.health(), consume: poolHealth(this.#consume.connections) }
    const since = ROLES.map((role) => connections[role].connectedSince)
    return {
      status: this.status,
      connectedSince: since.includes(null) ? null : (since.sort().at(-1) ?? null),
      reconnects: connections.publish.reconnects + connections.consume.reconnects,
      lastError: connections.publish.lastError ?? connections.consume.lastError,
      connections,
      consumePool: this.#consume.health(),
    }
  }

  /** Closes every channel, then both connections, and stops the reconnect loops. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#channels].map((channel) => channel.close()))
      await Promise.all(this.#all().map((connection) => connection.close()))
    })()
    return this.#closing
  }

  #all(): ManagedConnection[] {
    return [this.#publish, ...this.#consume.connections]
  }
}

function worst(states: ConnectionStatus[]): ConnectionStatus {
  return SEVERITY.find((state) => states.includes(state)) ?? 'connected'
}

/** The consume side as one connection: the worst state, the newest start, reconnects summed, the first error. */
function poolHealth(connections: ManagedConnection[]): ConnectionHealth {
  const all = connections.map((connection) => connection.health())
  const first = all[0] as ConnectionHealth
  const since = all.map((health) => health.connectedSince)
  return {
    status: worst(all.map((health) => health.status)),
    url: first.url,
    connectedSince: since.includes(null) ? null : (since.sort().at(-1) ?? null),
    reconnects: all.reduce((sum, health) => sum + health.reconnects, 0),
    lastError: all.find((health) => health.lastError !== null)?.lastError ?? null,
  }
}
