import type { FastifyInstance } from 'fastify'
import { queueDepthReader } from '../queue-depths.js'
import { connectionsView } from './connections.js'
import type { EventStream } from './event-stream.js'
import { RateHistory } from './rates.js'
import { readSnapshot, type Snapshot, totals } from './snapshot.js'

export interface LiveFeedOptions {
  /** How often the state is read and sent to every page, ms. */
  intervalMs: number
  /** How many rate points the chart keeps (intervalMs apart). */
  historySize: number
}

const CONNECTION_EVENTS = ['connected', 'disconnected', 'reconnecting', 'blocked', 'unblocked', 'closed'] as const

/**
 * The live page's source: reads a snapshot every intervalMs (one at a time: while the broker is away a read
 * takes up to a second), keeps the rate history, and sends each snapshot to every open page. A connection
 * changing state is sent at once, without waiting for the next read.
 */
export class LiveFeed {
  readonly #app: FastifyInstance
  readonly #options: LiveFeedOptions
  readonly #depth: ReturnType<typeof queueDepthReader>
  readonly #history: RateHistory
  readonly #streams = new Set<EventStream>()
  readonly #onConnectionEvent = () => this.#broadcast('connections', connectionsView(this.#app.amqp.health()))
  #latest: Snapshot | null = null
  #timer: NodeJS.Timeout | null = null
  #reading: Promise<void> = Promise.resolve()
  #running = false

  constructor(app: FastifyInstance, options: LiveFeedOptions) {
    this.#app = app
    this.#options = options
    this.#depth = queueDepthReader(app, 'demo-live')
    this.#history = new RateHistory(options.historySize)
  }

  start(): void {
    this.#running = true
    for (const event of CONNECTION_EVENTS) this.#app.amqp.on(event, this.#onConnectionEvent)
    this.#read()
  }

  /** Stops reading and ends every open page's stream (an open stream would hold up the server's close). */
  async stop(): Promise<void> {
    this.#running = false
    if (this.#timer) clearTimeout(this.#timer)
    for (const event of CONNECTION_EVENTS) this.#app.amqp.off(event, this.#onConnectionEvent)
    await this.#reading
    for (const stream of this.#streams) stream.close()
    this.#streams.clear()
  }

  /** A new page gets the history and the latest state at once, then every snapshot. */
  subscribe(stream: EventStream): void {
    this.#streams.add(stream)
    stream.onClose(() => this.#streams.delete(stream))
    stream.send('history', this.#history.points())
    stream.send('connections', connectionsView(this.#app.amqp.health()))
    if (this.#latest) stream.send('snapshot', this.#latest)
  }

  /** The state now, read afresh, and the rate history. */
  async current(): Promise<{ snapshot: Snapshot; history: ReturnType<RateHistory['points']> }> {
    return { snapshot: await readSnapshot(this.#app, this.#depth), history: this.#history.points() }
  }

  #read(): void {
    const started = Date.now()
    this.#reading = (async () => {
      const snapshot = await readSnapshot(this.#app, this.#depth)
      const rate = this.#history.add(snapshot.at, totals(snapshot), snapshot.connections.up)
      this.#latest = snapshot
      this.#broadcast('snapshot', { ...snapshot, rate })
    })().catch(
      /* c8 ignore next -- readSnapshot answers null depths when the broker is away; this keeps a bug from crashing the app */
      (err: unknown) => this.#app.log.warn({ err }, 'live page: reading the state failed')
    )
    void this.#reading.then(() => this.#next(started))
  }

  /** The next read intervalMs after the last one started, or at once when that one took longer. */
  #next(lastStarted: number): void {
    if (!this.#running) return
    const wait = Math.max(0, lastStarted + this.#options.intervalMs - Date.now())
    this.#timer = setTimeout(() => this.#read(), wait)
    // A feed nobody stops must not keep the process alive.
    this.#timer.unref()
  }

  #broadcast(event: string, data: unknown): void {
    for (const stream of this.#streams) stream.send(event, data)
  }
}
