import type { Channel, ConfirmChannel } from 'amqplib'
import type { FastifyBaseLogger } from 'fastify'
import { Backoff } from './backoff.js'
import { type ChannelCloseReply, channelCloseReply } from './channel-close-reply.js'
import { closeQuietly } from './close-quietly.js'
import { AmqpClosedError, AmqpFeatureDeniedError } from './errors.js'
import type { ConnectionRole, ManagedConnection } from './managed-connection.js'
import type { ReconnectOptions } from './options.js'
import { describeError } from './redact.js'
import { SafeEmitter } from './safe-emitter.js'

export interface ManagedChannelOptions<C extends Channel = Channel> {
  /** A confirm channel (publisher confirms). Default false. */
  confirm?: boolean
  /** basic.qos prefetch count, applied before setup. */
  prefetch?: number
  /** Runs on every new channel before it is handed out: topology, consumers. */
  setup?: (channel: C) => Promise<void> | void
  /** Names the channel in logs. */
  name?: string
  /** Which connection carries it. Default: 'publish' for confirm channels, else 'consume'. */
  connection?: ConnectionRole
}

export interface ManagedChannelEvents<C extends Channel> {
  /** A new channel is open and its setup ran. */
  open: [channel: C]
  /**
   * The channel closed (channel error or connection loss); a new one follows unless closed or failed.
   * `reply` is the broker's Channel.Close when it closed the channel, null otherwise (a connection loss).
   */
  lost: [info: { error: string | null; reply: ChannelCloseReply | null }]
  /** Given up for good: its setup made the broker close the connection (FST_AMQP_CONNECTION_FEATURE_DENIED). */
  failed: [error: Error]
}

// basic.publish, the method the broker names when a publish made it close the channel.
const BASIC = 60
const PUBLISH = 40

function isPublishRefusal(reply: ChannelCloseReply | null): boolean {
  return reply !== null && reply.classId === BASIC && reply.methodId === PUBLISH
}

/** What a channel borrows from the client that made it. */
export interface ManagedChannelContext {
  log: FastifyBaseLogger
  secrets: string[]
  reconnect: Required<ReconnectOptions>
  /** Called once when the channel is closed for good. */
  onClosed?: () => void
}

interface Waiter<C> {
  resolve: (channel: C) => void
  reject: (err: Error) => void
}

/**
 * A channel that survives reconnects: re-created after a channel or connection
 * loss, its prefetch and setup re-run before anyone gets it. A channel error
 * (404, 406...) leaves the connection and other channels alone, and retries
 * back off rather than spin.
 */
export class ManagedChannel<C extends Channel = Channel> extends SafeEmitter<ManagedChannelEvents<C>> {
  readonly name: string
  #connection: ManagedConnection
  #options: ManagedChannelOptions<C>
  #context: ManagedChannelContext
  #log: FastifyBaseLogger
  #secrets: string[]
  #backoff: Backoff
  #channel: C | null = null
  #lastError: string | null = null
  #lastReply: ChannelCloseReply | null = null
  /** The channel recycle() is closing: its close is no failure. */
  #recycling: C | null = null
  #opening = false
  #closed = false
  #failed: Error | null = null
  #timer: NodeJS.Timeout | null = null
  #waiters = new Set<Waiter<C>>()
  #onConnected = () => {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.#backoff.reset()
    void this.#open()
  }

  constructor(connection: ManagedConnection, options: ManagedChannelOptions<C>, context: ManagedChannelContext) {
    const name = options.name ?? (options.confirm ? 'confirm-channel' : 'channel')
    super({ log: context.log, secrets: context.secrets, bindings: { channel: name } })
    this.name = name
    this.#connection = connection
    this.#options = options
    this.#context = context
    this.#log = context.log
    this.#secrets = context.secrets
    this.#backoff = new Backoff(context.reconnect)
    connection.on('connected', this.#onConnected)
    if (connection.model) void this.#open()
  }

  /** The connection that carries it (on the consume side, one of the pool's). */
  get connection(): ManagedConnection {
    return this.#connection
  }

  /** The open channel, or null while it is being re-created. */
  get channel(): C | null {
    return this.#channel
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Why this channel gave up for good, or null. */
  get failed(): Error | null {
    return this.#failed
  }

  /** The open channel, waiting for one if needed; rejects on close, on failure or when the signal aborts. */
  waitForOpen(signal?: AbortSignal): Promise<C> {
    if (this.#channel) return Promise.resolve(this.#channel)
    if (this.#failed) return Promise.reject(this.#failed)
    if (this.#closed) return Promise.reject(new AmqpClosedError())
    return new Promise<C>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(waiter)
        reject(signal?.reason instanceof Error ? signal.reason : new AmqpClosedError())
      }
      const waiter: Waiter<C> = {
        resolve: (channel) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(channel)
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.add(waiter)
    })
  }

  /**
   * Closes the open channel on purpose (the publisher does after a nack, or when the broker stops
   * confirming); a fresh one follows at the first, shortest delay, as after any close that says
   * nothing about the broker's health.
   */
  recycle(): void {
    const channel = this.#channel
    if (channel === null || this.#closed) return
    this.#recycling = channel
    void closeQuietly(channel)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#context.onClosed?.()
    this.#connection.off('connected', this.#onConnected)
    this.#connection.setups.forget(this)
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    for (const waiter of this.#waiters) waiter.reject(new AmqpClosedError())
    this.#waiters.clear()
    const channel = this.#channel
    this.#channel = null
    if (channel) await closeQuietly(channel)
  }

  async #open(): Promise<void> {
    if (this.#closed || this.#failed || this.#opening || this.#channel) return
    const model = this.#connection.model
    if (!model) return
    this.#opening = true
    let channel: C | undefined
    // A channel can close while its setup runs (a cut, a channel error): it must not be handed out.
    let closedDuringSetup = false
    try {
      channel = (this.#options.confirm ? await model.createConfirmChannel() : await model.createChannel()) as C
      const opened = channel
      opened.on('error', (err: Error) => this.#onError(err))
      opened.on('close', () => {
        closedDuringSetup = this.#channel !== opened
        this.#onClose(opened)
      })
      await this.#connection.setups.run(this, async () => {
        if (this.#options.prefetch !== undefined) await opened.prefetch(this.#options.prefetch)
        await this.#options.setup?.(opened)
      })
      if (closedDuringSetup) throw new Error(this.#lastError ?? 'the channel closed during setup')
    } catch (err) {
      this.#opening = false
      if (channel) await closeQuietly(channel)
      const denial = this.#connection.setups.takeBlame(this)
      if (denial)
        return this.#fail(
          new AmqpFeatureDeniedError(denial.feature, `by the setup of channel "${this.name}"`, { cause: denial.cause })
        )
      this.#log.error({ channel: this.name, err: describeError(err, this.#secrets) }, 'amqp channel setup failed')
      this.#retryLater()
      return
    }
    this.#opening = false
    if (this.#closed) {
      await closeQuietly(channel)
      return
    }
    this.#channel = channel
    // An error from a channel that died during setup must not label this one's loss later.
    this.#lastError = null
    this.#lastReply = null
    this.#backoff.up()
    this.#log.debug({ channel: this.name }, 'amqp channel open')
    for (const waiter of this.#waiters) waiter.resolve(channel)
    this.#waiters.clear()
    this.emit('open', channel)
  }

  /** Retrying would close the connection, and every sibling channel with it, again: stop here. */
  #fail(error: Error): void {
    this.#failed = error
    this.#connection.off('connected', this.#onConnected)
    this.#log.error(
      { channel: this.name, err: describeError(error, this.#secrets) },
      'amqp channel failed: not retrying'
    )
    for (const waiter of this.#waiters) waiter.reject(error)
    this.#waiters.clear()
    this.emit('failed', error)
  }

  #onError(err: Error): void {
    // The broker's text names the queue or exchange and the argument at fault.
    this.#lastError = describeError(err, this.#secrets)
    this.#lastReply = channelCloseReply(err, this.#secrets)
    this.#log.error({ channel: this.name, err: this.#lastError }, 'amqp channel error')
  }

  #onClose(channel: C): void {
    if (this.#channel !== channel) return
    this.#channel = null
    const lost = { error: this.#lastError, reply: this.#lastReply }
    // Closed on purpose, or by the broker over one publish (403, 404, 406 on basic.publish): the broker
    // is fine, so no backoff builds up; a stream of refused publishes must not push re-opens to maxDelay.
    if (this.#recycling === channel || isPublishRefusal(lost.reply)) this.#backoff.reset()
    else this.#backoff.down()
    this.#recycling = null
    this.#lastError = null
    this.#lastReply = null
    // Armed before listeners hear of it, so none can stand in the way. A connection loss is healed
    // by the 'connected' event; a channel-level error needs a retry here.
    if (this.#connection.model) this.#retryLater()
    this.emit('lost', lost)
  }

  #retryLater(): void {
    if (this.#closed || this.#timer || !this.#connection.model) return
    const delay = this.#backoff.next()
    this.#log.info({ channel: this.name, attempt: this.#backoff.attempt, delay }, 'amqp channel re-open scheduled')
    this.#timer = setTimeout(() => {
      this.#timer = null
      void this.#open()
    }, delay)
  }
}

export type { ConfirmChannel }
