import type { FastifyBaseLogger } from 'fastify'
import type { ManagedConnection } from './managed-connection.js'

interface Member {
  connection: ManagedConnection
  /** Channels placed on it and not closed for good. */
  channels: number
}

export interface ConsumePoolHealth {
  /** Consume connections open or opening: one per `channelsPerConnection` channels. */
  connections: number
  /** Channels placed on them (one per consumer, and any the app made). */
  channels: number
  /** Channels one connection takes: channelsPerConnection, or the broker's channel_max when lower. */
  channelsPerConnection: number
}

/**
 * The consume side of `app.amqp`: a broker caps the channels of one connection (channel_max, 2,047 by
 * default), and every consumer holds a channel of its own, so past `channelsPerConnection` channels another
 * connection opens beside the first. Each heals on its own, as the first does; all of them follow the first
 * one's node, so a cluster sees every binding from where it was declared. The one owner of channel placement.
 */
export class ConsumePool {
  readonly #make: (member: number) => ManagedConnection
  readonly #members: Member[] = []
  readonly #log: FastifyBaseLogger
  #perConnection: number
  #started = false

  constructor(make: (member: number) => ManagedConnection, channelsPerConnection: number, log: FastifyBaseLogger) {
    this.#make = make
    this.#perConnection = channelsPerConnection
    this.#log = log
    this.#add()
  }

  /** The first connection: the one the others follow, and what `app.amqp.connection('consume')` returns. */
  get primary(): ManagedConnection {
    return (this.#members[0] as Member).connection
  }

  get connections(): ManagedConnection[] {
    return this.#members.map((member) => member.connection)
  }

  /** A connection with room for one more channel, opened when every one is full. Give it back with release(). */
  place(): ManagedConnection {
    const member = this.#members.find((m) => m.channels < this.#perConnection) ?? this.#add()
    member.channels += 1
    return member.connection
  }

  /** A channel placed by place() is closed for good: its slot is free again. */
  release(connection: ManagedConnection): void {
    const member = this.#members.find((m) => m.connection === connection)
    if (member && member.channels > 0) member.channels -= 1
  }

  start(): void {
    this.#started = true
    for (const { connection } of this.#members) connection.start()
  }

  health(): ConsumePoolHealth {
    return {
      connections: this.#members.length,
      channels: this.#members.reduce((sum, member) => sum + member.channels, 0),
      channelsPerConnection: this.#perConnection,
    }
  }

  #add(): Member {
    const index = this.#members.length
    const connection = this.#make(index)
    const member: Member = { connection, channels: 0 }
    this.#members.push(member)
    connection.on('connected', () => this.#fitBroker(member))
    if (index > 0) {
      const { primary } = this
      if (primary.node !== null) connection.follow(primary.node)
      this.#log.info({ connections: index + 1, channelsPerConnection: this.#perConnection }, 'amqp consume pool grows')
      if (this.#started) connection.start()
    } else {
      connection.on('connected', () => {
        const node = connection.node
        if (node === null) return
        for (const other of this.#members.slice(1)) other.connection.follow(node)
      })
    }
    return member
  }

  /** A broker allowing fewer channels than asked: later channels go to the next connection. */
  #fitBroker(member: Member): void {
    const channelMax = member.connection.channelMax
    if (channelMax === null || channelMax >= this.#perConnection) return
    this.#perConnection = channelMax
    this.#log.warn(
      { channelMax, connection: member.connection.name },
      'amqp consume pool: the broker allows fewer channels per connection than channelsPerConnection; using its limit'
    )
    if (member.channels > channelMax)
      this.#log.error(
        { channelMax, channels: member.channels, connection: member.connection.name },
        'amqp consume pool: more channels were placed on this connection than the broker allows; set channelsPerConnection to its channel_max'
      )
  }
}
