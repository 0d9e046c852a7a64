import type { MessageSchema } from './compile-schema.js'
import { PublisherInvalidOptionError } from './errors.js'

export interface PublisherOptions {
  /** ms a publish may wait for the broker's confirm (buffered time included); then FST_AMQP_PUBLISHER_CONFIRM_TIMEOUT. Default 10 000. */
  confirmTimeout?: number
  /** Bound of the messages waiting to be written (offline, or behind a slow socket). Past it: FST_AMQP_PUBLISHER_BUFFER_FULL. */
  buffer?: { maxMessages?: number; maxBytes?: number }
  /**
   * Bound of the messages written and not confirmed yet (messages; body bytes). Past it, publishes
   * wait in the buffer until confirms come. Defaults 10 000 and 64 MiB.
   */
  inflight?: { maxMessages?: number; maxBytes?: number }
  /**
   * Schema of the body per `${exchange}:${routingKey}` (default exchange: `:${queue}`): typebox 1.x,
   * @sinclair/typebox 0.34 or JSON Schema, each compiled once, by its own line's compiler.
   */
  schemas?: Record<string, MessageSchema>
  /** ms close() waits for outstanding confirms before rejecting what is left. Default 10 000. */
  closeTimeout?: number
  /**
   * Send a nacked message again on a fresh channel until its deadline, then reject with
   * FST_AMQP_PUBLISHER_NACK (true, default); false rejects at the first nack. Default true: on
   * RabbitMQ nacks are mostly transient (a quorum leader moving, a node going down).
   */
  retryNacked?: boolean
  /**
   * Largest body in bytes a publish may have; a larger one rejects at once with
   * FST_AMQP_PUBLISHER_MESSAGE_TOO_LARGE, before anything is sent. Default 16 MiB, RabbitMQ 4.x's
   * default max_message_size (the broker closes the channel for a larger message).
   */
  maxMessageBytes?: number
  /** ms request() waits for the reply; then FST_AMQP_PUBLISHER_REQUEST_TIMEOUT. Default 10 000. */
  requestTimeout?: number
}

export interface ResolvedPublisherOptions {
  confirmTimeout: number
  maxMessages: number
  maxBytes: number
  maxInflightMessages: number
  maxInflightBytes: number
  schemas: Record<string, MessageSchema>
  closeTimeout: number
  retryNacked: boolean
  maxMessageBytes: number
  requestTimeout: number
}

// RabbitMQ 4.x's default max_message_size (3.x: 128 MiB).
const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024

function positive(field: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || value < min) {
    throw new PublisherInvalidOptionError(field, `expected a number >= ${min}, got ${String(value)}`)
  }
  return value
}

function flag(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean')
    throw new PublisherInvalidOptionError(field, `expected a boolean, got ${String(value)}`)
  return value
}

export function resolvePublisherOptions(options: PublisherOptions = {}): ResolvedPublisherOptions {
  if (typeof options !== 'object' || options === null) {
    throw new PublisherInvalidOptionError('options', 'expected an object')
  }
  const buffer = options.buffer ?? {}
  if (typeof buffer !== 'object' || buffer === null) {
    throw new PublisherInvalidOptionError('buffer', 'expected an object')
  }
  const inflight = options.inflight ?? {}
  if (typeof inflight !== 'object' || inflight === null) {
    throw new PublisherInvalidOptionError('inflight', 'expected an object')
  }
  const schemas = options.schemas ?? {}
  if (typeof schemas !== 'object' || schemas === null) {
    throw new PublisherInvalidOptionError('schemas', 'expected an object of schemas')
  }
  return {
    confirmTimeout: positive('confirmTimeout', options.confirmTimeout, 10_000),
    // 0 is allowed: no buffer, every publish while offline fails at once.
    maxMessages: positive('buffer.maxMessages', buffer.maxMessages, 10_000, 0),
    maxBytes: positive('buffer.maxBytes', buffer.maxBytes, 64 * 1024 * 1024, 0),
    maxInflightMessages: positive('inflight.maxMessages', inflight.maxMessages, 10_000),
    maxInflightBytes: positive('inflight.maxBytes', inflight.maxBytes, 64 * 1024 * 1024),
    schemas,
    closeTimeout: positive('closeTimeout', options.closeTimeout, 10_000, 0),
    retryNacked: flag('retryNacked', options.retryNacked, true),
    maxMessageBytes: positive('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES),
    requestTimeout: positive('requestTimeout', options.requestTimeout, 10_000),
  }
}
