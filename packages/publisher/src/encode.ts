import { InvalidMessageError } from './errors.js'
import type { SchemaChecks } from './schemas.js'

/** The body as bytes: a Buffer as is, anything else validated (if it has a schema) and JSON-encoded once. */
export function encodeBody(exchange: string, routingKey: string, body: unknown, schemas: SchemaChecks | null): Buffer {
  if (Buffer.isBuffer(body)) return body
  if (schemas !== null) {
    const key = `${exchange}:${routingKey}`
    const problems = schemas.problems(key, body)
    if (problems !== null) throw new InvalidMessageError(key, problems)
  }
  let json: string | undefined
  try {
    json = JSON.stringify(body)
  } catch (err) {
    throw new InvalidMessageError(`${exchange}:${routingKey}`, `not JSON-serialisable: ${(err as Error).message}`)
  }
  if (json === undefined) {
    throw new InvalidMessageError(`${exchange}:${routingKey}`, `not JSON-serialisable: ${typeof body}`)
  }
  return Buffer.from(json)
}
