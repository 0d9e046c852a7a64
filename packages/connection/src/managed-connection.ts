import { type ChannelModel, connect, credentials } from 'amqplib'
import type { FastifyBaseLogger } from 'fastify'
import { Backoff } from './backoff.js'
import { closeQuietly } from './close-quietly.js'
import { deniedFeatureOf } from './deprecated-features.js'
import {
  AmqpConnectFailedError,
  AmqpFeatureDeniedError,
  AmqpTlsError,
  AmqpTopologyError,
  AmqpUpdateSecretError,
} from './errors.js'
import { isMetadataTimeout } from './metadata-timeout.js'
import type { ResolvedOptions } from './options.js'
import { describeError, redactUrl } from './redact.js'
import { SafeEmitter } from './safe-emitter.js'
import { type Denial, SetupGuard } from './setup-guard.js'
import { assertTopology, isEmptyTopology } from './topology.js'
import { usernameOf } from './username.js'

export type ConnectionStatus = 'connecting' | 'connected' | 'blocked' | 'reconnecting' | 'closing' | 'closed'
/** Publishing and consuming use separate connections, so broker flow control on one never stalls the other. */
export type ConnectionRole = 'publish' | 'consume'

type DisconnectedInfo = { role: ConnectionRole; url: string; error: string }

export interface ConnectionEvents {
  connected: [info: { role: ConnectionRole; url: string; reconnects: number }]
  disconnected: [info: DisconnectedInfo]
  reconnecting: [info: { role: ConnectionRole; attempt: number; delay: number; error: string }]
  blocked: [info: { role: ConnectionRole; reason: string }]
  unblocked: [info: { role: ConnectionRole }]
  closed: [info: { role: ConnectionRole; error?: string }]
}

export interface ConnectionHealth {
  status: ConnectionStatus
  url: string | null
  connectedSince: string | null
  reconnects: number
  lastError: string | null
}

export interface ManagedConnectionConfig extends ResolvedOptions {
  role: ConnectionRole
  /** Its place in the consume pool, 0 for the first: connections after it are named `<role>-<member + 1>`. */
  member?: number
  /** The secret given to app.amqp.updateSecret(), which replaces the URLs' passwords; null until then. */
  secret?: () => string | null
  log: FastifyBaseLogger
  secrets: string[]
}

// AMQP reply codes that retrying cannot fix: access refused, not found, precondition failed.
const CONFIG_ERROR_CODES = new Set([403, 404, 406])

// Node's codes for a certificate it refused, and OpenSSL's for a TLS alert from the broker (it refused ours).
const TLS_REFUSALS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

function isTlsRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && (TLS_REFUSALS.has(code) || /^ERR_SSL_.*ALERT/.test(code))
}

/** Bad credentials, a topology the broker rejects or a feature it denies: before the first connection, fail fast. */
function isConfigError(err: unknown): boolean {
  if (isTlsRefusal(err)) return true
  const { cause, message } = (err ?? {}) as { cause?: { code?: unknown }; message?: unknown }
  if (/ACCESS[-_]REFUSED|NOT[-_]ALLOWED/.test(String(message))) return true
  if (err instanceof AmqpFeatureDeniedError) return true
  return err instanceof AmqpTopologyError && CONFIG_ERROR_CODES.has(cause?.code as number)
}

/**
 * One AMQP connection that heals itself. amqplib 2.x has an opt-in recovery
 * loop, but it is bound to a single URL and resets its backoff on every connect;
 * we need failover across several URLs and a reset only after a stable period,
 * so this loop is our own.
 */
export class ManagedConnection extends SafeEmitter<ConnectionEvents> {
  readonly role: ConnectionRole
  /** The connection's name in logs and in the broker's list (`consume`, `consume-2`...). */
  readonly name: string
  /** @internal Pins a broker's deprecated-feature denial on the channel setup that caused it. */
  readonly setups = new SetupGuard()
  #config: ManagedConnectionConfig
  #log: FastifyBaseLogger
  #backoff: Backoff
  #abort = new AbortController()
  #timer: NodeJS.Timeout | null = null
  /** The URL the next attempt uses. */
  #urlIndex = 0
  /** The URL the live connection uses. */
  #connectedIndex = 0
  #status: ConnectionStatus = 'connecting'
  #model: ChannelModel | null = null
  #connectedSince: Date | null = null
  #everConnected = false
  #reconnects = 0
  #lastError: string | null = null
  /** The last denial and the connection it closed: a denial during connect fails that attempt. */
  #denied: { model: ChannelModel; denial: Denial } | null = null
  #firstConnect: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void }

  constructor(config: ManagedConnectionConfig) {
    const name = config.member ? `${config.role}-${config.member + 1}` : config.role
    super({ log: config.log, secrets: config.secrets, bindings: { role: name } })
    // One listener per managed channel: many consumers are normal, not a leak.
    this.setMaxListeners(0)
    this.role = config.role
    this.name = name
    this.#config = config
    this.#log = config.log
    this.#backoff = new Backoff(config.reconnect)
    let resolve!: () => void
    let reject!: (err: Error) => void
    const promise = new Promise<void>((res, rej) => {
      resolve = res
      reject = rej
    })
    promise.catch(() => {}) // only awaited when waitForConnection is set
    this.#firstConnect = { promise, resolve, reject }
  }

  get status(): ConnectionStatus {
    return this.#status
  }

  /** The live amqplib connection, or null while down. */
  get model(): ChannelModel | null {
    return this.#model
  }

  /** The channels the broker allows on the live connection (its channel_max, as agreed at connect), or null while down. */
  get channelMax(): number | null {
    return (this.#model?.connection as { channelMax?: number } | undefined)?.channelMax ?? null
  }

  /** Aborts when close() starts: loops and waits tied to this connection stop. */
  get signal(): AbortSignal {
    return this.#abort.signal
  }

  get url(): string {
    return redactUrl(this.#config.urls[this.node ?? this.#urlIndex] ?? '')
  }

  /** The login of the URL in use (or, while down, of the next attempt's): what the broker takes as user_id. */
  get username(): string {
    return usernameOf(this.#config.urls[this.node ?? this.#urlIndex] as string)
  }

  /** Which of the URLs (its index) this connection is on, or null while down. */
  get node(): number | null {
    return this.#model ? this.#connectedIndex : null
  }

  /** @internal Go to the node of this URL index: at once if connected to another, else on the next attempt. */
  follow(index: number): void {
    if (this.#abort.signal.aborted) return
    this.#urlIndex = index
    if (this.#model && this.#connectedIndex !== index) this.#move()
  }

  /** A reconnect of our own choosing: at once, without backoff, to urls[#urlIndex]. */
  #move(): void {
    const model = this.#model as ChannelModel
    const url = this.url
    this.#model = null
    this.#connectedSince = null
    this.#setStatus('reconnecting')
    this.#log.info(
      { role: this.name, from: url, to: redactUrl(this.#config.urls[this.#urlIndex] ?? '') },
      'amqp connection moving node'
    )
    void closeQuietly(model).then(() => this.#attempt())
    this.emit('disconnected', { role: this.role, url, error: 'moving to the node of the consume connection' })
  }

  start(): void {
    this.#attempt()
  }

  /** Resolves on the first successful connect; rejects when that cannot happen. */
  whenFirstConnected(): Promise<void> {
    return this.#firstConnect.promise
  }

  health(): ConnectionHealth {
    return {
      status: this.#status,
      url: this.#model ? this.url : null,
      connectedSince: this.#connectedSince?.toISOString() ?? null,
      reconnects: this.#reconnects,
      lastError: this.#lastError,
    }
  }

  async close(): Promise<void> {
    if (this.#status === 'closed' || this.#status === 'closing') return
    this.#setStatus('closing')
    this.#abort.abort()
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.#firstConnect.reject(new AmqpConnectFailedError('the connection was closed before it connected'))
    const model = this.#model
    this.#model = null
    if (model) await closeQuietly(model)
    // An attempt in progress finishes by itself (bounded by connectTimeout) and closes what it opened.
    this.#setStatus('closed')
    this.emit('closed', { role: this.role })
    this.#log.info({ role: this.name }, 'amqp connection closed')
  }

  #attempt(): void {
    if (this.#abort.signal.aborted) return
    void this.#connectOnce()
  }

  async #connectOnce(): Promise<void> {
    const index = this.#urlIndex
    const rawUrl = this.#config.urls[index] as string
    const url = redactUrl(rawUrl)
    this.#log.debug({ role: this.name, url, attempt: this.#backoff.attempt + 1 }, 'amqp connecting')
    let model: ChannelModel | undefined
    // The socket can die while topology is declared: listen from the start, or its 'close' goes unseen
    // and a dead connection would be taken as up, never to reconnect.
    let lostEarly: Error | null = null
    const onEarlyClose = (err?: Error) => {
      lostEarly = err ?? new Error('closed during connection setup')
    }
    try {
      model = await connect(this.#withTuning(rawUrl), this.#socketOptions())
      const opened = model
      opened.on('error', (err: Error) => this.#onConnectionError(opened, err))
      opened.once('close', onEarlyClose)
      if (!isEmptyTopology(this.#config.topology)) await this.#declareTopology(opened)
      if (lostEarly) throw lostEarly
    } catch (err) {
      if (model) await closeQuietly(model)
      this.#onAttemptFailed(this.#deniedDuringConnect(model) ?? err)
      return
    }
    model.off('close', onEarlyClose)
    if (this.#abort.signal.aborted) {
      await closeQuietly(model)
      return
    }
    this.#onConnected(model, url, index)
  }

  async #declareTopology(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel()
    channel.on('error', () => {}) // the failure surfaces through assertTopology's rejection
    try {
      await assertTopology(channel, this.#config.topology)
    } finally {
      await closeQuietly(channel)
    }
  }

  #onConnected(model: ChannelModel, url: string, index: number): void {
    this.#model = model
    this.#connectedIndex = index
    this.#connectedSince = new Date()
    this.#backoff.up()
    if (this.#everConnected) this.#reconnects += 1
    this.#everConnected = true
    model.on('close', (err?: Error) => this.#onClosed(model, err))
    model.on('blocked', (reason: string) => {
      this.#setStatus('blocked')
      this.#log.warn({ role: this.name, reason }, 'amqp connection blocked by the broker')
      this.emit('blocked', { role: this.role, reason })
    })
    model.on('unblocked', () => {
      if (this.#model === model) this.#setStatus('connected')
      this.#log.info({ role: this.name }, 'amqp connection unblocked')
      this.emit('unblocked', { role: this.role })
    })
    this.#setStatus('connected')
    this.#log.info({ role: this.name, url, reconnects: this.#reconnects }, 'amqp connected')
    this.#firstConnect.resolve()
    this.emit('connected', { role: this.role, url, reconnects: this.#reconnects })
    // follow() was called while this attempt ran.
    if (this.#model === model && this.#urlIndex !== index) this.#move()
  }

  #onConnectionError(model: ChannelModel, err: Error): void {
    this.#lastError = this.#describe(err)
    const feature = deniedFeatureOf(err)
    if (feature === null) {
      this.#log.warn({ role: this.name, err: this.#lastError }, 'amqp connection error')
      return
    }
    // Emitted before amqplib fails the channels' pending calls, so the guard sees the setups still running.
    const denial = { feature, cause: err }
    this.#denied = { model, denial }
    this.setups.denied(denial)
    this.#log.error(
      { role: this.name, feature, err: this.#lastError },
      'amqp connection closed: deprecated feature denied'
    )
  }

  /** The topology, the only thing running while connecting, asked for a feature the broker denies. */
  #deniedDuringConnect(model: ChannelModel | undefined): Error | undefined {
    if (!model || this.#denied?.model !== model) return undefined
    const { feature, cause } = this.#denied.denial
    return new AmqpFeatureDeniedError(feature, 'by the topology', { cause })
  }

  #onClosed(model: ChannelModel, err?: Error): void {
    if (this.#model !== model) return
    this.#model = null
    this.#connectedSince = null
    this.#backoff.down()
    if (this.#abort.signal.aborted) return
    const error = err ? this.#describe(err) : 'closed by the broker'
    this.#lastError = error
    const lost = { role: this.role, url: this.url, error }
    this.#log.warn({ role: this.name, url: lost.url, err: error }, 'amqp connection lost')
    if (isMetadataTimeout(err)) this.#nextUrl()
    this.#scheduleRetry(error, lost)
  }

  #onAttemptFailed(err: unknown): void {
    const error = this.#describe(err)
    this.#lastError = error
    if (this.#abort.signal.aborted) return
    if (!this.#everConnected && isConfigError(err)) {
      this.#log.error({ role: this.name, url: this.url, err: error }, 'amqp connection refused: not retrying')
      const reason = isTlsRefusal(err) ? new AmqpTlsError(error) : undefined
      this.#giveUp(error, err instanceof AmqpFeatureDeniedError ? err : reason)
      return
    }
    this.#log.warn({ role: this.name, url: this.url, err: error }, 'amqp connection attempt failed')
    this.#nextUrl()
    this.#scheduleRetry(error)
  }

  /** Next URL in turn: a dead or minority cluster node should not hold us back. */
  #nextUrl(): void {
    this.#urlIndex = (this.#urlIndex + 1) % this.#config.urls.length
  }

  /**
   * The next attempt is armed (or the loop given up) before any listener hears of the loss, so a
   * listener cannot stand in the way of healing. `lost` is the connection loss that led here.
   */
  #scheduleRetry(error: string, lost?: DisconnectedInfo): void {
    if (this.#backoff.attempt >= this.#config.reconnect.maxAttempts) {
      this.#log.error({ role: this.name, attempts: this.#backoff.attempt, err: error }, 'amqp reconnect: giving up')
      this.#giveUp(error, undefined, lost)
      return
    }
    const delay = this.#backoff.next()
    const attempt = this.#backoff.attempt
    this.#setStatus('reconnecting')
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#attempt()
    }, delay)
    this.#log.info({ role: this.name, attempt, delay }, 'amqp reconnect scheduled')
    if (lost) this.emit('disconnected', lost)
    // A 'disconnected' listener may have closed us: then there is no reconnect to announce.
    if (!this.#abort.signal.aborted) this.emit('reconnecting', { role: this.role, attempt, delay, error })
  }

  #giveUp(error: string, reason?: Error, lost?: DisconnectedInfo): void {
    this.#abort.abort()
    this.#setStatus('closed')
    this.#firstConnect.reject(reason ?? new AmqpConnectFailedError(error))
    if (lost) this.emit('disconnected', lost)
    this.emit('closed', { role: this.role, error })
  }

  #setStatus(status: ConnectionStatus): void {
    this.#status = status
  }

  /**
   * Sends a new secret (an OAuth2 token) on the live connection, which the broker checks without a reconnect;
   * the next connects take it from config.secret. Rejects when the connection goes before the broker answers.
   */
  async sendSecret(secret: string, reason: string): Promise<void> {
    const model = this.#model
    if (!model) return
    let onClose: (() => void) | undefined
    const closed = new Promise<never>((_, reject) => {
      onClose = () => reject(new AmqpUpdateSecretError(this.name, 'it closed before the broker answered'))
      model.once('close', onClose)
    })
    try {
      await Promise.race([model.updateSecret(Buffer.from(secret), reason), closed])
    } catch (err) {
      if (err instanceof AmqpUpdateSecretError) throw err
      throw new AmqpUpdateSecretError(this.name, this.#describe(err))
    } finally {
      model.off('close', onClose as () => void)
    }
  }

  /** What amqplib's connect() takes besides the URL: socket and TLS options, credentials, client properties. */
  #socketOptions(): Record<string, unknown> {
    const { socketOptions, tls, sasl, clientProperties } = this.#config.socket
    return {
      ...socketOptions,
      ...tls,
      timeout: this.#config.connectTimeout,
      clientProperties: { ...clientProperties, connection_name: `${this.#config.connectionName}:${this.name}` },
      ...(sasl === 'external' ? { credentials: credentials.external() } : {}),
    }
  }

  /** The URL's own heartbeat and frameMax win over the options; a secret from updateSecret() replaces its password. */
  #withTuning(url: string): string {
    const parsed = new URL(url)
    const secret = this.#config.secret?.() ?? null
    if (secret !== null) parsed.password = secret
    const { heartbeat, frameMax } = this.#config
    if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(heartbeat))
    if (frameMax !== undefined && !parsed.searchParams.has('frameMax'))
      parsed.searchParams.set('frameMax', String(frameMax))
    return parsed.toString()
  }

  #describe(err: unknown): string {
    return describeError(err, this.#config.secrets)
  }
}
