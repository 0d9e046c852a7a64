import { type CompiledSchema, compileSchema, type MessageSchema, type StaticOf } from './compile-schema.js'
import { PublisherInvalidOptionError } from './errors.js'

/**
 * Body types by schema key (`${exchange}:${routingKey}`; the default exchange is `:${queue}`).
 * Augment it so `publish()` and `reply.publish()` only compile with a body of the right type:
 *
 *     declare module '@fastify-amqp/publisher' {
 *       interface PublisherSchemas extends SchemaBodies<typeof schemas> {}
 *     }
 */
// biome-ignore lint/suspicious/noEmptyInterface: an augmentation target, empty until the user adds keys
export interface PublisherSchemas {}

/** Maps a record of schemas (typebox 1.x, @sinclair/typebox 0.34 or JSON Schema) to the body types they describe. */
export type SchemaBodies<S extends Record<string, MessageSchema>> = { [K in keyof S]: StaticOf<S[K]> }

/** The body `publish(exchange, routingKey, ...)` takes: the schema's type for a registered key, else anything. */
export type BodyFor<E extends string, R extends string> = `${E}:${R}` extends keyof PublisherSchemas
  ? PublisherSchemas[`${E}:${R}`] | Buffer
  : unknown

// At most this many schema errors go into one error message.
const MAX_ERRORS = 10

/** Schema checks per key, compiled once at construction. */
export class SchemaChecks {
  readonly #checks = new Map<string, CompiledSchema>()

  constructor(schemas: Record<string, MessageSchema>) {
    for (const [key, schema] of Object.entries(schemas)) {
      const field = `schemas["${key}"]`
      if (typeof schema !== 'object' || schema === null)
        throw new PublisherInvalidOptionError(field, 'expected a schema')
      try {
        this.#checks.set(key, compileSchema(schema))
      } catch (err) {
        throw new PublisherInvalidOptionError(field, (err as Error).message)
      }
    }
  }

  get size(): number {
    return this.#checks.size
  }

  /** null when the body is valid or the key has no schema; else the schema errors as text. */
  problems(key: string, body: unknown): string | null {
    const check = this.#checks.get(key)
    if (check === undefined || check.check(body)) return null
    return check.errors(body, MAX_ERRORS).join('; ')
  }
}
