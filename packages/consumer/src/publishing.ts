import type { ManagedConnection } from '@fastify-amqp/connection'
import type { FastifyBaseLogger } from 'fastify'

interface Suspendable {
  suspend(reason: string): Promise<void>
  resume(): void
}

/**
 * Whether the consumers may consume: not once publishing has stopped for good (the publish connection gave up,
 * reconnect.maxAttempts, or was closed; or the publisher refuses as closed). Every retry, dead letter and handler
 * publish would then fail and hand its message back at once, to be delivered here again at once: a hot loop.
 * Instead every consumer stops (basic.cancel) and its unsettled deliveries go back to the queue once; they resume
 * when the publish connection connects again.
 */
export class PublishingGate {
  readonly #consumers: readonly Suspendable[]
  readonly #connection: ManagedConnection
  readonly #log: FastifyBaseLogger
  #gone: string | null = null
  #closing = false

  constructor(consumers: readonly Suspendable[], connection: ManagedConnection, log: FastifyBaseLogger) {
    this.#consumers = consumers
    this.#connection = connection
    this.#log = log
  }

  /** Watches the publish connection from now on; already closed (gave up before ready): the consumers start stopped. */
  watch(): void {
    this.#connection.on('closed', this.#onClosed)
    this.#connection.on('connected', this.#onConnected)
    if (this.#connection.status === 'closed') this.gone('the publish connection is closed')
  }

  /** app.close() began: the consumers stop anyway, and the connections close on purpose. */
  close(): void {
    this.#closing = true
    this.#connection.off('closed', this.#onClosed)
    this.#connection.off('connected', this.#onConnected)
  }

  gone(why: string): void {
    if (this.#closing || this.#gone !== null) return
    this.#gone = `publishing stopped: ${why}`
    this.#log.error(
      { reason: why, consumers: this.#consumers.length },
      'amqp publishing has stopped for good: consumers stop until the publish connection is back, their unsettled messages go back to their queues'
    )
    for (const consumer of this.#consumers) void consumer.suspend(this.#gone)
  }

  #onClosed = (info: { error?: string }): void => {
    this.gone(`the publish connection closed${info.error ? ` (${info.error})` : ''}`)
  }

  #onConnected = (): void => {
    if (this.#closing || this.#gone === null) return
    this.#gone = null
    this.#log.info('amqp publish connection is back: consumers resume')
    for (const consumer of this.#consumers) consumer.resume()
  }
}
