import type { EventEmitter } from 'node:events'
import type { Channel, ConfirmChannel } from 'amqplib'
import type { FastifyBaseLogger } from 'fastify'
import { AmqpClosedError, AmqpConnectTimeoutError } from './errors.js'
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
  connections: Record<ConnectionRole, ConnectionHealth>
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
  readonly #connections: Record<ConnectionRole, ManagedConnection>
  readonly #channels = new Set<{ close(): Promise<void> }>()
  readonly #log: FastifyBaseLogger
  readonly #secrets: string[]
  #closing: Promise<void> | null = null

  constructor(options: ResolvedOptions, log: FastifyBaseLogger) {
    const secrets = passwordsOf(options.urls)
    super({ log, secrets })
    this.setMaxListeners(0)
    this.#options = options
    const make = (role: ConnectionRole) => {
      const connection = new ManagedConnection({ ...options, role, log, secrets })
      for (const event of ['connected', 'disconnected', 'reconnecting', 'blocked', 'unblocked', 'closed'] as const) {
        // Re-emit as is; the payload carries the role. A user listener that throws is logged by our emit.
        ;(connection as EventEmitter).on(event, (info: unknown) => (this as EventEmitter).emit(event, info))
      }
      return connection
    }
    this.#connections = { publish: make('publish'), consume: make('consume') }
    // Consumers declare their bindings through the consume connection. On a Khepri cluster another node
    // may not see a new binding yet, so publishing goes through the same node: it follows the consumers.
    const { publish, consume } = this.#connections
    consume.on('connected', () => {
      if (consume.node !== null) publish.follow(consume.node)
    })
    this.#log = log
    this.#secrets = secrets
  }

  get status(): ConnectionStatus {
    const states = ROLES.map((role) => this.#connections[role].status)
    return SEVERITY.find((state) => states.includes(state)) ?? 'connected'
  }

  /** The underlying connection for one role (for advanced use: its model, its signal). */
  connection(role: ConnectionRole): ManagedConnection {
    return this.#connections[role]
  }

  /** Opens the connections; with waitForConnection, resolves once both are up or throws a coded error. */
  async start(waitMs: number): Promise<void> {
    for (const role of ROLES) this.#connections[role].start()
    if (!this.#options.waitForConnection) return
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AmqpConnectTimeoutError(waitMs, this.health().lastError ?? 'none')), waitMs)
    })
    try {
      await Promise.race([Promise.all(ROLES.map((role) => this.#connections[role].whenFirstConnected())), timeout])
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
    const channel: ManagedChannel<Channel> = new ManagedChannel<Channel>(
      this.#connections[role],
      options as ManagedChannelOptions<Channel>,
      {
        log: this.#log,
        secrets: this.#secrets,
        reconnect: this.#options.reconnect,
        onClosed: () => this.#channels.delete(channel),
      }
    )
    this.#channels.add(channel)
    return channel
  }

  health(): AmqpHealth {
    const connections = {
      publish: this.#connections.publish.health(),
      consume: this.#connections.consume.health(),
    }
    const since = ROLES.map((role) => connections[role].connectedSince)
    return {
      status: this.status,
      connectedSince: since.includes(null) ? null : (since.sort().at(-1) ?? null),
      reconnects: connections.publish.reconnects + connections.consume.reconnects,
      lastError: connections.publish.lastError ?? connections.consume.lastError,
      connections,
    }
  }

  /** Closes every channel, then both connections, and stops the reconnect loops. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#channels].map((channel) => channel.close()))
      await Promise.all(ROLES.map((role) => this.#connections[role].close()))
    })()
    return this.#closing
  }
}
