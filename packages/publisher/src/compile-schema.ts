import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
// biome-ignore lint/suspicious/noTsIgnore: the d.ts must keep it, and it errs only where typebox is absent
/** @ts-ignore typebox is an optional peer: without it, a 1.x or plain JSON Schema types as any (0.34 still types) */
import type { Static as StaticV1 } from 'typebox'

/**
 * A schema of either TypeBox line: `typebox` 1.x (`import { Type } from 'typebox'`), `@sinclair/typebox` 0.34, or
 * a plain JSON Schema object (compiled by typebox 1.x; write it `as const` to type the body).
 */
export type MessageSchema = object

/**
 * The type a MessageSchema describes. A 0.34 schema carries its own (`static`, as 0.34's `Static` reads it), so
 * it types without importing 0.34 and whichever copy made it; anything else is typed by typebox 1.x's `Static`.
 */
export type StaticOf<S> = S extends { static: unknown; params: unknown[] }
  ? (S & { params: [] })['static']
  : S extends object
    ? StaticV1<S>
    : unknown

/** A schema compiled once: check() for every message, errors() only for one that failed it. */
export interface CompiledSchema {
  check(value: unknown): boolean
  /** At most `max` errors, each `<path> <message>`. */
  errors(value: unknown, max: number): string[]
}

/** 0.34 marks its schemas with this registered symbol (1.x schemas have a non-enumerable '~kind' instead). */
const KIND_V034 = Symbol.for('TypeBox.Kind')

type ErrorV034 = { path: string; message: string }
type CheckV034 = { Check(value: unknown): boolean; Errors(value: unknown): Iterable<ErrorV034> }
type ErrorV1 = { instancePath: string; message: string }
type ValidatorV1 = { Check(value: unknown): boolean; Errors(value: unknown): ErrorV1[] }

/**
 * Compiles a schema with its own line's compiler: 0.34's TypeCompiler for a 0.34 schema, 1.x's Compile for the rest.
 * Each line's compiler is loaded here, on the first schema that needs it, so neither is needed without schemas.
 * Throws a TypeError (to be wrapped in the caller's option error) when the line is not installed or refuses it.
 */
export function compileSchema(schema: MessageSchema): CompiledSchema {
  if (KIND_V034 in schema) {
    const { TypeCompiler } = load('@sinclair/typebox/compiler', 'a @sinclair/typebox 0.34 schema') as {
      TypeCompiler: { Compile(schema: unknown): CheckV034 }
    }
    const check = attempt(() => TypeCompiler.Compile(schema), '@sinclair/typebox 0.34')
    return {
      check: (value) => check.Check(value),
      errors: (value, max) => first(check.Errors(value), max, (error) => describe(error.path, error.message)),
    }
  }
  const { Compile } = load('typebox/compile', 'a typebox 1.x or JSON Schema schema') as {
    Compile(schema: unknown): ValidatorV1
  }
  const validator = attempt(() => Compile(schema), 'typebox 1.x')
  return {
    check: (value) => validator.Check(value),
    errors: (value, max) => first(validator.Errors(value), max, (error) => describe(error.instancePath, error.message)),
  }
}

/**
 * The package as the application imports it: resolved with ESM conditions and required (Node >= 20.19 requires
 * ESM), so this is the one instance the application's formats and types were registered on, not 0.34's CJS copy.
 */
function load(specifier: string, what: string): unknown {
  let url: string
  try {
    url = import.meta.resolve(specifier)
    /* c8 ignore next 4 -- the workspace has both lines installed */
  } catch {
    const name = specifier.slice(0, specifier.lastIndexOf('/'))
    throw new TypeError(`${what} is compiled by ${name}, which is not installed (npm install ${name})`)
  }
  return createRequire(import.meta.url)(fileURLToPath(url))
}

function attempt<T>(compile: () => T, line: string): T {
  try {
    return compile()
  } catch (err) {
    throw new TypeError(`${line} could not compile the schema: ${(err as Error).message}`, { cause: err })
  }
}

function first<E>(errors: Iterable<E>, max: number, text: (error: E) => string): string[] {
  const out: string[] = []
  for (const error of errors) {
    if (out.length === max) break
    out.push(text(error))
  }
  return out
}

function describe(path: string, message: string): string {
  return `${path || '/'} ${message}`
}
