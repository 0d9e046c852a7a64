import { readFileSync } from 'node:fs'
import t from 'tap'

t.test('README lists every error code the package defines, and no other', async (t) => {
  const source = readFileSync(new URL('../src/errors.ts', import.meta.url), 'utf8')
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const defined = new Set(source.match(/FST_AMQP_[A-Z_]+/g))
  const table = readme.slice(readme.indexOf('## Error codes'))
  const documented = new Set(table.match(/FST_AMQP_[A-Z_]+/g))
  t.ok(defined.size >= 7)
  t.same([...documented].sort(), [...defined].sort())
})
