import type { Options } from 'amqplib'
import { InvalidPropertiesError } from './errors.js'

// AMQP short strings: at most 255 bytes, or amqplib throws while writing.
const SHORT_STRINGS = [
  'messageId',
  'correlationId',
  'replyTo',
  'type',
  'appId',
  'userId',
  'contentType',
  'contentEncoding',
] as const
const SHORT_STRING_BYTES = 255
// RabbitMQ reads expiration as a whole number of ms (a leading + is allowed) up to ten years.
const EXPIRATION = /^\+?\d+$/
const MAX_EXPIRATION_MS = 315_360_000_000

/**
 * Properties the broker closes the channel for, or amqplib cannot encode, found before the
 * message is queued or written: refused alone, at once, rather than killing a channel and every
 * publish written with it. `login` is the connection's user, or null when it is not known.
 */
export function checkProperties(properties: Options.Publish, login: string | null): Error | null {
  for (const field of SHORT_STRINGS) {
    const value = properties[field]
    if (value === undefined) continue
    if (typeof value !== 'string') return new InvalidPropertiesError(field, `expected a string, got ${typeof value}`)
    if (value.length > SHORT_STRING_BYTES / 3 && Buffer.byteLength(value) > SHORT_STRING_BYTES)
      return new InvalidPropertiesError(field, `${Buffer.byteLength(value)} bytes, over AMQP's 255`)
  }
  const { expiration, userId } = properties
  if (expiration !== undefined) {
    const text = String(expiration)
    if (!EXPIRATION.test(text) || Number(text) > MAX_EXPIRATION_MS)
      return new InvalidPropertiesError(
        'expiration',
        `expected whole milliseconds from 0 to ${MAX_EXPIRATION_MS} (RabbitMQ closes the channel otherwise), got ${JSON.stringify(text.slice(0, 40))}`
      )
  }
  // RabbitMQ closes the channel for a user_id other than the login (the impersonator tag aside).
  if (userId !== undefined && login !== null && userId !== login)
    return new InvalidPropertiesError('userId', 'it must be the user the connection logged in as')
  const headers = properties.headers
  if (headers !== undefined && headers !== null) {
    // Sender-selected distribution: RabbitMQ routes on these and closes the channel unless they list strings.
    for (const field of ['CC', 'BCC'] as const) {
      const keys: unknown = headers[field]
      if (keys !== undefined && !(Array.isArray(keys) && keys.every((key) => typeof key === 'string')))
        return new InvalidPropertiesError(`headers.${field}`, 'expected an array of routing keys (strings)')
    }
  }
  return null
}
