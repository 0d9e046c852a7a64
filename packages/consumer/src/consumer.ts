import { randomUUID } from 'node:crypto'
import type { AmqpClient, ManagedChannel } from '@fastify-amqp/connection'
import type { Channel, ConsumeMessage } from 'amqplib'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { Decoder } from './decode.js'
import { ChannelState, Delivery } from './delivery.js'
import { describeError } from './describe-error.js'
import { ConsumerCancelledError, ConsumerChannelLostError } from './errors.js'
import { Failures } from './failures.js'
import type { ResolvedConsumer } from './options.js'
import { Processing } from './processing.js'
import { Redeliveries } from './redeliveries.js'
import { describeConsumer } from './registry.js'
import { Replies } from './replies.js'
import type { ConsumerTelemetry } from './telemetry.js'
import type { ConsumeHandler, ConsumerInfo, ConsumeSchema, PublisherLike } from './types.js'

export interface ConsumerDeps {
  amqp: AmqpClient
  publisher: () => PublisherLike
  /** A republish found the publisher closed for good: every consumer stops (see PublishingGate). */
  publishingGone: (why: string) => void
  /** Traces and metrics, or null when no OpenTelemetry SDK is registered. */
  telemetry?: ConsumerTelemetry | null
}

/**
 * One declared queue handler: its own managed channel (a 406 here leaves other
 * consumers alone), its concurrency limit, and the ack bookkeeping that binds
 * each delivery to the channel it came on.
 */
export class Consumer {
  readonly info: ConsumerInfo
  readonly #def: ResolvedConsumer
  readonly #log: FastifyBaseLogger
  readonly #deps: ConsumerDeps
  readonly #failures: Failures
  readonly #processing: Processing
  #managed: ManagedChannel | null = null
  #current: ChannelState | null = null
  readonly #running = new Set<Delivery>()
  #pending: Delivery[] = []
  #stopping = false
  /** Why consuming is stopped while the app runs (publishing gone), or null. */
  #suspended: string | null = null
  /** Paused by the app (pauseConsumer): no subscription until resumeConsumer, across reconnects too. */
  #paused = false
  #idleWaiters: (() => void)[] = []
  readonly #redeliveries = new Redeliveries()
  /** basic.cancel calls in flight. */
  #cancelling = 0
  /** The handlerTimeout timers of running handlers. */
  readonly #limits = new Set<NodeJS.Timeout>()
  /** Side queues being declared again, so failures at once declare each only once. */
  readonly #redeclaring = new Map<string, Promise<boolean>>()

  constructor(
    def: ResolvedConsumer,
    handler: ConsumeHandler,
    schema: ConsumeSchema | undefined,
    instance: FastifyInstance,
    deps: ConsumerDeps
  ) {
    this.#def = def
    this.#log = instance.log.child({ queue: def.queue })
    this.#deps = deps
    this.#failures = new Failures(def, this.#log, deps.publisher, {
      redeclare: (queue) => this.#redeclare(queue),
      publishingGone: deps.publishingGone,
    })
    this.#processing = new Processing({
      def,
      handler,
      instance,
      decoder: new Decoder(schema, def.maxBodyBytes),
      log: this.#log,
      context: { queue: def.queue, log: this.#log, publisher: deps.publisher },
      failures: this.#failures,
      replies: new Replies(deps.publisher, this.#log),
      redeliveries: this.#redeliveries,
      limits: this.#limits,
    })
    this.info = describeConsumer(def, schema, this)
  }

  get active(): boolean {
    return Boolean(this.#current?.open && this.#current.consumerTag)
  }

  get inFlight(): number {
    return this.#running.size
  }

  get suspended(): string | null {
    return this.#suspended
  }

  get paused(): boolean {
    return this.#paused
  }

  /**
   * Opens the channel; resolves once the first setup attempt finished (subscribed, or failed and logged), or at
   * once while the connection is down (setup runs on reconnect). The plugin bounds how long ready() waits for it.
   */
  start(): Promise<void> {
    let firstAttempt!: () => void
    const done = new Promise<void>((resolve) => {
      firstAttempt = resolve
    })
    const managed = this.#deps.amqp.channel({
      name: this.#def.queue,
      prefetch: this.#def.prefetch,
      setup: async (channel) => {
        try {
          await this.#setup(channel)
        } finally {
          firstAttempt()
        }
      },
    })
    this.#managed = managed
    // A pool connection opened for this consumer is still connecting the first time: that is worth the wait.
    const { connection } = managed
    if (!connection.model && connection.status !== 'connecting') return Promise.resolve()
    return done
  }

  /**
   * Stops deliveries for good (close): nothing more is started; basic.cancel, then the unstarted deliveries go
   * back to the queue (after the cancel, or the broker could hand them straight back to this consumer).
   */
  async cancel(): Promise<void> {
    this.#stopping = true
    const state = this.#current
    if (state?.open && state.consumerTag) await this.#cancelOn(state)
    this.#requeuePending()
  }

  /**
   * Stops consuming while the app runs (publishing is gone): basic.cancel, unstarted deliveries back to the queue.
   * Running handlers finish; what they cannot settle goes back to the queue once. Never rejects.
   */
  async suspend(reason: string): Promise<void> {
    if (this.#suspended !== null || this.#stopping) return
    this.#suspended = reason
    this.#log.error({ reason }, 'amqp consumer stopped (basic.cancel) until publishing is back')
    const state = this.#current
    if (state?.open && state.consumerTag) await this.#cancelOn(state)
    if (this.#suspended !== null) this.#requeuePending()
  }

  /** Consumes again after suspend(): subscribes on the open channel, or setup does when the channel opens. */
  resume(): void {
    if (this.#suspended === null) return
    this.#suspended = null
    if (this.#stopping) return
    this.#log.info('amqp consumer resuming: publishing is back')
    if (this.#paused) return
    const state = this.#current
    if (state?.open && !state.consumerTag) void this.#resubscribe(state, null)
  }

  /**
   * The app stops consuming this queue for a while (a dependency is down): basic.cancel, unstarted deliveries back
   * to the queue; running handlers finish and ack on the channel, which stays open. Resolves once the broker
   * answered the cancel. Before ready, the consumer starts paused.
   */
  async pause(): Promise<void> {
    if (this.#paused || this.#stopping) return
    this.#paused = true
    this.#log.info({ running: this.#running.size }, 'amqp consumer paused (basic.cancel); running handlers finish')
    const state = this.#current
    if (state?.open && state.consumerTag) await this.#cancelOn(state)
    if (this.#paused) this.#requeuePending()
  }

  /** Ends pause(): subscribes again on the open channel (resolved once subscribed), or when the channel opens. */
  async unpause(): Promise<void> {
    if (!this.#paused) return
    this.#paused = false
    if (this.#stopping) return
    this.#log.info('amqp consumer resumed after a pause')
    const state = this.#current
    if (this.#suspended === null && state?.open && !state.consumerTag) await this.#resubscribe(state, null)
  }

  /** Resolves when no handler runs. */
  idle(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /** Drain timeout: abort the handlers still running; their messages are never acked. */
  abandon(reason: Error): number {
    for (const delivery of this.#running) delivery.giveUp(reason)
    return this.#running.size
  }

  async close(): Promise<void> {
    this.#stopping = true
    // Handlers abandoned by the drain may never end: their limits must not hold the process open (25 min).
    for (const timer of this.#limits) timer.unref()
    // Still waiting when the drain ran out before basic.cancel was answered.
    this.#requeuePending()
    this.#current?.flushAcks()
    await this.#managed?.close()
  }

  async #setup(channel: Channel): Promise<void> {
    const state = new ChannelState(channel)
    channel.on('close', () => this.#onChannelClose(state))
    try {
      await this.#declare(channel)
    } catch (err) {
      // The broker's text names the argument at fault (e.g. inequivalent arg 'x-queue-type').
      const error = describeError(err)
      this.#log.error({ err: error }, `amqp consumer setup failed for queue "${this.#def.queue}": ${error}`)
      throw err
    }
    if (this.#stopping) return
    this.#current = state
    // Suspended or paused: the channel is ready, and resume() or unpause() subscribes on it.
    if (this.#suspended !== null || this.#paused) return
    await this.#subscribe(state)
  }

  /**
   * Every declaration asked for at once: a channel answers them in order, so each binding still follows its
   * queue and exchange, but none waits for our turn of the event loop. The first refusal closes the channel,
   * and that is the error this rejects with.
   */
  async #declare(channel: Channel): Promise<void> {
    const def = this.#def
    const declared: Promise<unknown>[] = [
      channel.assertQueue(
        def.queue,
        def.exclusiveQueue
          ? { exclusive: true, autoDelete: true, durable: false, arguments: def.queueArguments }
          : { durable: true, arguments: def.queueArguments }
      ),
    ]
    for (const name of def.sideQueues.keys()) declared.push(this.#declareSide(channel, name))
    for (const binding of def.bindings) {
      if (binding.exchangeType)
        declared.push(channel.assertExchange(binding.exchange, binding.exchangeType, { durable: true }))
      declared.push(channel.bindQueue(def.queue, binding.exchange, binding.routingKey, binding.arguments))
    }
    await Promise.all(declared)
  }

  #declareSide(channel: Channel, name: string): Promise<unknown> {
    return channel.assertQueue(name, { durable: true, arguments: this.#def.sideQueues.get(name) })
  }

  /**
   * A republish to this side queue came back unroutable: it was deleted while the app runs. Declared again on the
   * consumer's channel, as setup does; false when there is no channel now or the broker refused (logged).
   */
  #redeclare(queue: string): Promise<boolean> {
    let declaring = this.#redeclaring.get(queue)
    if (declaring) return declaring
    declaring = (async () => {
      const state = this.#current
      if (!state?.open) return false
      try {
        await this.#declareSide(state.channel, queue)
        this.#log.warn({ sideQueue: queue }, 'amqp consumer: side queue declared again (it was deleted)')
        return true
      } catch (err) {
        this.#log.error(
          { sideQueue: queue, err: describeError(err) },
          'amqp consumer: could not declare the side queue again'
        )
        return false
      } finally {
        this.#redeclaring.delete(queue)
      }
    })()
    this.#redeclaring.set(queue, declaring)
    return declaring
  }

  async #subscribe(state: ChannelState): Promise<void> {
    // Each subscription knows its own tag: a broker cancel names none, and later ones on this channel differ.
    let tag = ''
    const { exclusive, priority, tagPrefix } = this.#def.subscription
    const { consumerTag } = await state.channel.consume(
      this.#def.queue,
      (msg) => (msg === null ? this.#onBrokerCancel(state, tag) : this.#onDelivery(state, msg)),
      {
        noAck: false,
        exclusive,
        ...(priority === undefined ? {} : { priority }),
        ...(tagPrefix === null ? {} : { consumerTag: `${tagPrefix}.${randomUUID()}` }),
      }
    )
    tag = consumerTag
    state.consumerTag = consumerTag
    // close() or suspend() began while we subscribed: take it back at once.
    if (this.#held()) await this.#cancelOn(state)
  }

  async #cancelOn(state: ChannelState): Promise<void> {
    const tag = state.consumerTag
    if (!tag) return
    state.consumerTag = null
    this.#cancelling += 1
    try {
      await state.channel.cancel(tag)
    } catch (err) {
      // A closed channel has no consumer left to cancel.
      this.#log.debug({ err: describeError(err) }, 'amqp consumer cancel failed')
    } finally {
      this.#cancelling -= 1
    }
    // What came meanwhile waits unstarted: back to the queue now that the broker sends no more, or started (resumed).
    if (this.#held()) this.#requeuePending()
    else this.#next()
  }

  #onDelivery(state: ChannelState, raw: ConsumeMessage): void {
    const delivery = new Delivery(state, raw)
    // Sent before our basic.cancel reached the broker: kept unstarted and handed back once the cancel is answered
    // (earlier, the broker could send it straight back here); with no cancel in flight, at once.
    if (this.#held()) {
      if (this.#cancelling > 0) this.#pending.push(delivery)
      else delivery.requeue()
      return
    }
    if (this.#running.size < this.#def.concurrency) void this.#run(delivery)
    else this.#pending.push(delivery)
  }

  /**
   * The broker cancelled one subscription: 4.3 does at a quorum queue's consumer timeout (and takes its
   * unacked deliveries back), every version when the queue is deleted or its node goes down. Its deliveries
   * are given up as on a lost channel, so a late ack or retry copy cannot make a duplicate of the redelivery.
   */
  #onBrokerCancel(state: ChannelState, tag: string): void {
    if (state.consumerTag === tag) state.consumerTag = null
    const reason = new ConsumerCancelledError()
    let running = 0
    for (const delivery of state.inFlight) {
      if (delivery.raw.fields.consumerTag !== tag) continue
      delivery.giveUp(reason)
      this.#redeliveries.lost(delivery.raw.properties.messageId)
      running += 1
    }
    this.#pending = this.#pending.filter((delivery) => delivery.raw.fields.consumerTag !== tag)
    if (this.#held() || !state.open) return
    this.#log.warn(
      { running },
      'amqp consumer cancelled by the broker (consumer timeout, queue deleted, or node down): re-declaring and re-subscribing'
    )
    void this.#resubscribe(state, tag)
  }

  // On the same channel, so the acks of handlers still running from other subscriptions stay valid.
  // `cancelled`: the tag the broker cancelled, or null when resuming after suspend().
  async #resubscribe(state: ChannelState, cancelled: string | null): Promise<void> {
    const why = cancelled === null ? 'on resume' : 'after a broker cancel'
    try {
      // 4.3 keeps a timed-out consumer registered and later sends it a second basic.cancel (when the queue is
      // deleted), which amqplib cannot route ("Unknown consumer") and answers by closing the connection.
      if (cancelled !== null) await state.channel.cancel(cancelled)
      await this.#declare(state.channel)
      if (this.#held() || !state.open || state.consumerTag) return
      await this.#subscribe(state)
      this.#log.info(`amqp consumer re-subscribed ${why}`)
    } catch (err) {
      this.#log.error(
        { err: describeError(err) },
        `amqp consumer for queue "${this.#def.queue}" could not re-subscribe ${why}; re-creating its channel`
      )
      // The managed channel re-creates it with backoff and runs setup again.
      await state.channel.close().catch(() => {})
    }
  }

  #onChannelClose(state: ChannelState): void {
    state.open = false
    state.consumerTag = null
    if (this.#current === state) this.#current = null
    if (state.inFlight.size > 0) {
      const reason = new ConsumerChannelLostError('channel closed')
      for (const delivery of state.inFlight) {
        delivery.giveUp(reason)
        this.#redeliveries.lost(delivery.raw.properties.messageId)
      }
      this.#log.warn(
        { inFlight: state.inFlight.size },
        'amqp consumer channel lost with handlers running: their acks are void, the broker redelivers'
      )
    }
    // Received but unstarted: the broker requeues them.
    if (this.#pending.length > 0) this.#pending = this.#pending.filter((delivery) => delivery.state !== state)
  }

  async #run(delivery: Delivery): Promise<void> {
    this.#running.add(delivery)
    delivery.state.inFlight.add(delivery)
    const telemetry = this.#deps.telemetry
    const observation = telemetry?.begin(this.#def.queue, delivery) ?? null
    try {
      // Inside the delivery's span: the handler's spans and publishes join its trace.
      if (observation === null) await this.#processing.process(delivery)
      else await telemetry?.run(observation, () => this.#processing.process(delivery))
    } catch (err) {
      // process() handles its own failures; reaching here is a bug (or a publisher that throws), but the delivery
      // must still be settled, and the app must not crash.
      await this.#failures.settleAfterBug(delivery, err).catch(() => {})
    } finally {
      this.#running.delete(delivery)
      delivery.state.inFlight.delete(delivery)
      if (delivery.settled) this.#redeliveries.settled(delivery.raw.properties.messageId)
      if (observation !== null) telemetry?.end(observation, delivery)
      this.#next()
    }
  }

  /** Nothing new starts: closing, suspended (publishing gone) or paused by the app. */
  #held(): boolean {
    return this.#stopping || this.#suspended !== null || this.#paused
  }

  #requeuePending(): void {
    const pending = this.#pending
    this.#pending = []
    for (const delivery of pending) delivery.requeue()
  }

  #next(): void {
    // Stopping or suspended: nothing more starts; what waits is handed back once basic.cancel is answered.
    while (!this.#held() && this.#running.size < this.#def.concurrency && this.#pending.length > 0) {
      const delivery = this.#pending.shift() as Delivery
      if (!delivery.state.open) continue
      void this.#run(delivery)
    }
    if (this.#running.size === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters
      this.#idleWaiters = []
      for (const resolve of waiters) resolve()
    }
  }
}
