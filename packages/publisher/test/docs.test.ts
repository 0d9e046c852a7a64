import { readFileSync } from 'node:fs'
import t from 'tap'
import * as errors from '../src/errors.js'

t.test('README error table: every code the package defines, with its status, and no other', async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const start = readme.indexOf('## Error codes')
  const table = readme.slice(start, readme.indexOf('\n## ', start + 1))
  const documented = new Map(
    [...table.matchAll(/^\|\s*`(FST_AMQP_[A-Z_]+)`\s*\|\s*(\d+)\s*\|/gm)].map((m) => [m[1], Number(m[2])] as const)
  )
  const defined = new Map<string, number>()
  for (const value of Object.values(errors)) {
    if (typeof value !== 'function' || !/^[A-Z]/.test(value.name)) continue
    const error = new (value as new () => { code?: string; statusCode?: number })()
    if (error.code?.startsWith('FST_AMQP_')) defined.set(error.code, error.statusCode ?? 500)
  }
  t.ok(defined.size >= 10, `${defined.size} codes defined`)
  t.same(Object.fromEntries([...documented].sort()), Object.fromEntries([...defined].sort()))
})
