import { readFileSync } from 'node:fs'
import t from 'tap'
import * as errors from '../src/errors.js'

t.test('README error table: every code the package defines, and no other', async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const start = readme.indexOf('## Errors')
  const table = readme.slice(start, readme.indexOf('\n## ', start + 1))
  const documented = [...table.matchAll(/^\|\s*`(FST_AMQP_[A-Z_]+)`\s*\|/gm)].map((m) => m[1])
  const defined = Object.values(errors).map((value) => new (value as new () => { code: string })().code)
  t.same(documented.sort(), defined.sort())
})
