import type { MessageProperties } from 'amqplib'
import type { DeathReason } from './decode.js'
import { describeError } from './describe-error.js'
import { entrySize, fieldTableSize } from './field-table-size.js'
import { type Headers, headersOf } from './headers.js'
import type { PublishOptions } from './types.js'

// amqplib writes headers into a 64 KiB buffer and throws beyond (a copy that could never be sent). The copy's
// headers stay under this, leaving room for whatever the publisher adds.
const HEADER_BUDGET = 60 * 1024
/** Set on a copy that could not carry all of the original's headers. */
export const TRUNCATED_HEADER = 'x-headers-truncated'

// Copied from the original. Left out: expiration (a per-message TTL would cut the
// retry delay short or drop the dead letter) and userId (the broker rejects one
// that is not the publishing connection's user, which would close the channel).
const KEPT = [
  'contentType',
  'contentEncoding',
  'correlationId',
  'replyTo',
  'messageId',
  'timestamp',
  'type',
  'appId',
  'priority',
] as const

// Not copied: what the broker set about an earlier hop (dead-lettering, a quorum queue's counts), which 4.x no
// longer reads from a publisher and 3.x merges, so a copy would only mislead whoever reads the next hop (and the
// retry count is believed only with the broker's own x-death of the delay hop); and CC and BCC, routing orders
// that would send the copy to those queues as well.
const NOT_COPIED = ['x-death', 'x-delivery-count', 'x-acquired-count', 'CC', 'BCC']
const NOT_COPIED_PREFIXES = ['x-first-death-', 'x-last-death-']

function copied(key: string): boolean {
  return !NOT_COPIED.includes(key) && !NOT_COPIED_PREFIXES.some((prefix) => key.startsWith(prefix))
}

/** Describes a thrown value for the x-last-error and x-error-message headers (never throws). */
export { describeError as errorText }

/**
 * The copy's headers: the library's own (`added`), always, and as many of the original's as fit the budget,
 * in their order. An original header that amqplib could not write, or that would pass the budget, is left
 * out and the copy says so (`x-headers-truncated: true`).
 */
function copyHeaders(properties: MessageProperties, added: Headers): Headers {
  const original = headersOf(properties)
  const headers: Headers = {}
  let size = fieldTableSize(added) + entrySize(TRUNCATED_HEADER, true)
  let truncated = false
  for (const [key, value] of Object.entries(original)) {
    if (!copied(key) || Object.hasOwn(added, key)) continue
    const bytes = entrySize(key, value)
    if (size + bytes > HEADER_BUDGET) {
      truncated = true
      continue
    }
    size += bytes
    headers[key] = value
  }
  if (truncated) headers[TRUNCATED_HEADER] = true
  return Object.assign(headers, added)
}

function copy(properties: MessageProperties, added: Headers): PublishOptions {
  // contentType stays even when absent: the publisher would otherwise label the bytes application/octet-stream,
  // and a missing type means JSON to the consumer.
  const options: Record<string, unknown> = { contentType: properties.contentType ?? undefined }
  for (const key of KEPT) {
    if (properties[key] !== undefined && properties[key] !== null) options[key] = properties[key]
  }
  // Persistent whatever the original was: a message waiting for a retry or in the DLQ must survive a broker restart.
  // No client-side size limit: the broker delivered these bytes, so its own max_message_size admits the copy, which a
  // publisher's default maxMessageBytes (16 MiB) would refuse on a broker configured higher (3.x: 128 MiB).
  return {
    ...options,
    headers: copyHeaders(properties, added),
    persistent: true,
    mandatory: true,
    maxMessageBytes: Number.POSITIVE_INFINITY,
  }
}

/** Options for sending the original content to a delay queue, one attempt further. */
export function retryOptions(properties: MessageProperties, nextAttempt: number, err: unknown): PublishOptions {
  return copy(properties, { 'x-attempt': nextAttempt, 'x-last-error': describeError(err) })
}

export interface DeadLetterInfo {
  reason: DeathReason
  error: string
  queue: string
  attempts: number
  exchange: string
  routingKey: string
}

/** Options for sending the original content to the dead-letter queue. */
export function deadLetterOptions(properties: MessageProperties, info: DeadLetterInfo): PublishOptions {
  return copy(properties, {
    'x-death-reason': info.reason,
    'x-error-message': describeError(info.error),
    'x-original-queue': info.queue,
    'x-original-exchange': info.exchange,
    'x-original-routing-key': info.routingKey,
    'x-attempts': info.attempts,
    'x-failed-at': new Date().toISOString(),
  })
}
