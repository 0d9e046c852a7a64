import { type CompiledSchema, compileSchema, type MessageSchema } from '@fastify-amqp/publisher'
import type { Message } from 'amqplib'
import sjson from 'secure-json-parse'
import { ConsumerInvalidOptionError } from './errors.js'
import { headersOf } from './headers.js'
import type { ConsumeSchema } from './types.js'

/** Why a message went to the dead-letter queue (the x-death-reason header). */
export type DeathReason =
  | 'handler-error'
  | 'handler-timeout'
  | 'invalid-json'
  | 'prototype-poisoning'
  | 'schema'
  | 'content-type'
  | 'too-large'
  | 'empty'
  | 'redelivery-limit'
  | 'consumer-error'

export type Decoded = { ok: true; body: unknown } | { ok: false; reason: DeathReason; message: string }

const PARSE_OPTIONS = { protoAction: 'error', constructorAction: 'error' } as const
const MAX_REPORTED_ERRORS = 5

/** Turns raw deliveries into validated bodies; validators are compiled once, here. */
export class Decoder {
  readonly #maxBodyBytes: number
  readonly #body: CompiledSchema | null
  readonly #headers: CompiledSchema | null

  constructor(schema: ConsumeSchema | undefined, maxBodyBytes: number) {
    this.#maxBodyBytes = maxBodyBytes
    this.#body = compiled('schema.body', schema?.body)
    this.#headers = compiled('schema.headers', schema?.headers)
  }

  decode(message: Message): Decoded {
    const { content, properties } = message
    if (content.length > this.#maxBodyBytes)
      return fail('too-large', `body is ${content.length} bytes, over maxBodyBytes (${this.#maxBodyBytes})`)
    if (!isJson(properties.contentType))
      return fail('content-type', `content type "${properties.contentType}" is not JSON`)
    if (properties.contentEncoding !== undefined && !isIdentity(properties.contentEncoding))
      return fail('content-type', `content encoding "${properties.contentEncoding}" is not supported`)
    if (content.length === 0) return fail('empty', 'the body is empty')
    let body: unknown
    try {
      body = sjson.parse(content, null, PARSE_OPTIONS)
    } catch (err) {
      const text = (err as Error).message
      return /forbidden prototype/i.test(text) ? fail('prototype-poisoning', text) : fail('invalid-json', text)
    }
    if (this.#headers) {
      // Own entries only: an inherited value (a `__proto__` table) must not satisfy the schema.
      const headers = headersOf(properties)
      if (!this.#headers.check(headers)) return fail('schema', `headers: ${describe(this.#headers, headers)}`)
    }
    if (this.#body && !this.#body.check(body)) return fail('schema', `body: ${describe(this.#body, body)}`)
    return { ok: true, body }
  }
}

function compiled(field: string, schema: MessageSchema | undefined): CompiledSchema | null {
  if (schema === undefined) return null
  if (typeof schema !== 'object' || schema === null) throw new ConsumerInvalidOptionError(field, 'expected a schema')
  try {
    return compileSchema(schema)
  } catch (err) {
    throw new ConsumerInvalidOptionError(field, (err as Error).message)
  }
}

function fail(reason: DeathReason, message: string): Decoded {
  return { ok: false, reason, message }
}

// A missing content type is taken as JSON: many publishers leave it out.
function isJson(contentType: unknown): boolean {
  if (contentType === undefined || contentType === null || contentType === '') return true
  if (typeof contentType !== 'string') return false
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase()
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}

function isIdentity(encoding: unknown): boolean {
  if (typeof encoding !== 'string') return false
  const value = encoding.trim().toLowerCase()
  return value === '' || value === 'identity' || value === 'utf-8' || value === 'utf8'
}

function describe(check: CompiledSchema, value: unknown): string {
  return check.errors(value, MAX_REPORTED_ERRORS).join('; ')
}
