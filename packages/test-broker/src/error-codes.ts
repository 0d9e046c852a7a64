import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

// The docs tests of the three plugins: a package's errors module, its README's `## Error codes` table and the
// repository's Markdown agree on its codes, all FST_AMQP_<AREA>_<WHAT>. Status '—': the error has none.

const CODE = /FST_AMQP_[A-Z0-9_]+/g
const ROW = /^\|\s*`(FST_AMQP_[A-Z0-9_]+)`\s*\|\s*(\d{3}|—)\s*\|/gm
const AREAS = /^FST_AMQP_(CONNECTION|PUBLISHER|CONSUMER)_[A-Z0-9]+(_[A-Z0-9]+)*$/
// Build output and dependencies: not docs.
const SKIPPED = new Set(['node_modules', 'dist', 'coverage'])

export interface ErrorCodesOptions {
  /** The package's area, as in its codes. */
  area: 'CONNECTION' | 'PUBLISHER' | 'CONSUMER'
  /** Its errors module (`import * as errors from '../src/errors.js'`). */
  errors: Record<string, unknown>
  /** Its README. */
  readme: URL
  /** The repository's root directory, whose Markdown is searched for codes. */
  root: URL
  /** The package's @fastify/error, to make a class again from a code, as a second installed copy would. */
  createError: (code: string, message: string) => new () => object
}

/** The subtests that keep a package's codes, its README's table and every doc that names a code in step. */
export function testErrorCodes(t: Test, { area, errors, readme, root, createError }: ErrorCodesOptions): void {
  const prefix = `FST_AMQP_${area}_`
  const defined = definedErrorCodes(errors)

  t.test(`every code the package defines is ${prefix}<WHAT>`, async (t) => {
    t.ok(defined.size >= 8, `${defined.size} codes defined`)
    for (const code of defined.keys()) t.ok(code.startsWith(prefix) && AREAS.test(code), code)
  })

  t.test('README error table: every code the package defines, with its status, and no other', async (t) => {
    const documented = documentedErrorCodes(readFileSync(readme, 'utf8'))
    t.ok(documented, 'the README has a "## Error codes" section')
    t.same(Object.fromEntries([...(documented ?? [])].sort()), Object.fromEntries([...defined].sort()))
  })

  t.test(`every ${prefix} code the repository's Markdown names is defined; every code named has an area`, async (t) => {
    const named = errorCodesInDocs(root)
    t.ok(named.size >= defined.size, `${named.size} codes named`)
    for (const [code, files] of named) {
      t.ok(AREAS.test(code), `${code} has an area (${files.join(', ')})`)
      if (code.startsWith(prefix)) t.ok(defined.has(code), `${code} is defined (${files.join(', ')})`)
    }
  })

  t.test('instanceof matches by code, so it holds across two installed copies of the package', async (t) => {
    const classes = Object.values(errors).filter((value) => value instanceof Function && value.name === 'FastifyError')
    t.ok(classes.length >= defined.size - 1, 'every class but a plain one (NonRetryableError) is a @fastify/error')
    for (const ErrorClass of classes) {
      const error = new (ErrorClass as new () => { code: string })()
      t.ok(error instanceof createError(error.code, 'another copy'), error.code)
    }
  })
}

/** code → HTTP status of every error class an errors module exports (each built with no arguments). */
function definedErrorCodes(errors: Record<string, unknown>): Map<string, string> {
  const defined = new Map<string, string>()
  for (const value of Object.values(errors)) {
    if (typeof value !== 'function' || !/^[A-Z]/.test(value.name)) continue
    const error = new (value as new () => { code?: unknown; statusCode?: unknown })()
    if (typeof error.code === 'string') defined.set(error.code, String(error.statusCode ?? '—'))
  }
  return defined
}

/** code → status column of a README's `## Error codes` table; null when it has no such section. */
function documentedErrorCodes(markdown: string): Map<string, string> | null {
  const start = markdown.indexOf('\n## Error codes\n')
  if (start === -1) return null
  const end = markdown.indexOf('\n## ', start + 1)
  const section = markdown.slice(start, end === -1 ? undefined : end)
  return new Map([...section.matchAll(ROW)].map((row) => [row[1] as string, row[2] as string]))
}

/** code → the Markdown files under `root` that name it, relative to `root`. */
function errorCodesInDocs(root: URL): Map<string, string[]> {
  const base = fileURLToPath(root)
  const named = new Map<string, string[]>()
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(base, dir), { withFileTypes: true })) {
      if (entry.name.startsWith('.') || SKIPPED.has(entry.name)) continue
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.md')) {
        for (const code of new Set(readFileSync(join(base, path), 'utf8').match(CODE))) {
          // `FST_AMQP_PUBLISHER_*`, `FST_AMQP_CONSUMER_<WHAT>`: a scheme, not a code.
          if (!code.endsWith('_')) named.set(code, [...(named.get(code) ?? []), path])
        }
      }
    }
  }
  walk('')
  return named
}
