import type { Options } from 'amqplib'
import { encodeBody } from './encode.js'
import { InvalidPropertiesError, MessageTooLargeError } from './errors.js'
import { checkProperties } from './properties.js'
import type { SchemaChecks } from './schemas.js'

/**
 * What a publish must pass before it is queued or written, checked on the caller's stack:
 * arguments of the right type, a body that passes its schema and fits the size limits, properties
 * the broker would not close the channel for. A failure is a coded error; nothing was sent.
 */
export class Admission {
  /** The max_message_size the broker stated when it closed a channel over a message; until then none. */
  brokerMaxMessageBytes = Number.POSITIVE_INFINITY

  constructor(
    readonly schemas: SchemaChecks | null,
    readonly maxMessageBytes: number,
    /** The connection's user, for the userId check; null when not known. */
    readonly login: () => string | null
  ) {}

  /** The body as bytes, or throws the error that refuses the publish. */
  admit(exchange: unknown, routingKey: unknown, body: unknown, options: PublishLimits | undefined): Buffer {
    if (typeof exchange !== 'string') throw new InvalidPropertiesError('exchange', 'expected a string')
    if (typeof routingKey !== 'string') throw new InvalidPropertiesError('routingKey', 'expected a string')
    const content = encodeBody(exchange, routingKey, body, this.schemas)
    const limit = options?.maxMessageBytes ?? this.maxMessageBytes
    if (content.length > limit) throw new MessageTooLargeError(content.length, limit, 'maxMessageBytes')
    if (content.length > this.brokerMaxMessageBytes)
      throw new MessageTooLargeError(content.length, this.brokerMaxMessageBytes, "the broker's max_message_size")
    // Without options (the common case) only the defaults go out, and they are valid.
    if (options !== undefined) {
      const invalid = checkProperties(options, this.login())
      if (invalid !== null) throw invalid
    }
    return content
  }
}

export interface PublishLimits extends Options.Publish {
  maxMessageBytes?: number
}
