import type { Static, TSchema } from '@sinclair/typebox'
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler'

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

/** Maps a record of TypeBox schemas to the body types they describe. */
export type SchemaBodies<S extends Record<string, TSchema>> = { [K in keyof S]: Static<S[K]> }

/** The body `publish(exchange, routingKey, ...)` takes: the schema's type for a registered key, else anything. */
export type BodyFor<E extends string, R extends string> = `${E}:${R}` extends keyof PublisherSchemas
  ? PublisherSchemas[`${E}:${R}`] | Buffer
  : unknown

// At most this many schema errors go into one error message.
const MAX_ERRORS = 10

/** Schema checks per key, compiled once at construction. */
export class SchemaChecks {
  readonly #checks = new Map<string, TypeCheck<TSchema>>()

  constructor(schemas: Record<string, TSchema>) {
    for (const [key, schema] of Object.entries(schemas)) this.#checks.set(key, TypeCompiler.Compile(schema))
  }

  get size(): number {
    return this.#checks.size
  }

  /** null when the body is valid or the key has no schema; else the schema errors as text. */
  problems(key: string, body: unknown): string | null {
    const check = this.#checks.get(key)
    if (check === undefined || check.Check(body)) return null
    const problems: string[] = []
    for (const error of check.Errors(body)) {
      problems.push(`${error.path || '/'} ${error.message}`)
      if (problems.length === MAX_ERRORS) break
    }
    return problems.join('; ')
  }
}
