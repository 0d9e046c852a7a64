import type { AsyncApiMessage } from './asyncapi-types.js'
import type { DeathReason } from './decode.js'

// Every reason the consumer writes in x-death-reason (checked against DeathReason by the compiler).
const DEATH_REASONS = Object.keys({
  'handler-error': 0,
  'handler-timeout': 0,
  'invalid-json': 0,
  'prototype-poisoning': 0,
  schema: 0,
  'content-type': 0,
  'too-large': 0,
  empty: 0,
  'redelivery-limit': 0,
  'consumer-error': 0,
} satisfies Record<DeathReason, 0>)

/** The headers the consumer adds when it dead-letters a message (republish.ts), over the original ones. */
const DEAD_LETTER_HEADERS = {
  type: 'object',
  properties: {
    'x-death-reason': { type: 'string', enum: DEATH_REASONS, description: 'Why the message was dead-lettered' },
    'x-error-message': { type: 'string', description: "The handler's error, or what was wrong with the message" },
    'x-original-queue': { type: 'string' },
    'x-original-exchange': { type: 'string' },
    'x-original-routing-key': { type: 'string' },
    'x-attempts': { type: 'integer', minimum: 1, description: 'Tries made, the first included' },
    'x-failed-at': { type: 'string', format: 'date-time' },
  },
  required: ['x-death-reason', 'x-original-queue'],
}

/**
 * A TypeBox schema as plain JSON Schema: 0.34 marks its schemas with symbol keys and 1.x with non-enumerable
 * ones, and JSON leaves both out. A schema JSON cannot hold (a 0.34 BigInt's bigint bounds) is described, not sent.
 */
export function jsonSchema(schema: object | undefined): object {
  if (schema === undefined) return {}
  try {
    return JSON.parse(JSON.stringify(schema)) as object
  } catch (err) {
    return { description: `not expressible as JSON Schema: ${(err as Error).message}` }
  }
}

/** A name for the message: the schema's $id or title when it has one, else the fallback. */
function nameOf(schema: object | undefined, fallback: string): string {
  const { $id, title } = (schema ?? {}) as { $id?: unknown; title?: unknown }
  if (typeof $id === 'string' && $id !== '') return $id
  if (typeof title === 'string' && title !== '') return title
  return fallback
}

export function bodyMessage(
  schema: { body?: object; headers?: object } | undefined,
  fallbackName: string,
  summary: string
): AsyncApiMessage {
  const message: AsyncApiMessage = {
    name: nameOf(schema?.body, fallbackName),
    summary,
    contentType: 'application/json',
    payload: jsonSchema(schema?.body),
  }
  if (schema?.headers !== undefined) message.headers = jsonSchema(schema.headers)
  return message
}

export function deadLetterMessage(queue: string): AsyncApiMessage {
  return {
    name: `${queue}.dead-letter`,
    summary: `A message ${queue}'s consumer gave up on: its original content and properties, with why in the headers`,
    contentType: 'application/json',
    // Poison messages land here too: invalid JSON, another content type, a body that fails the schema.
    payload: { description: 'The content as it was delivered to the queue, unchanged (it may fail the schema)' },
    headers: DEAD_LETTER_HEADERS,
  }
}
