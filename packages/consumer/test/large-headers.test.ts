import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { MessageProperties } from 'amqplib'
import t from 'tap'
import { fieldTableSize, fieldValueSize } from '../src/field-table-size.js'
import { deadLetterOptions, retryOptions } from '../src/republish.js'
import { buildApp, deleteConsumerQueues, openBroker, SHARED_URL, uniqueName, until } from './fixtures/helpers.js'

// The header's name is the contract: spelt out here, not imported.
const TRUNCATED_HEADER = 'x-headers-truncated'

// amqplib's own encoder, to hold the estimate against (a test-only look inside: its exports hide lib/).
const require = createRequire(import.meta.url)
const codec = require(join(dirname(require.resolve('amqplib')), 'lib', 'codec.js')) as {
  encodeTable(buffer: Buffer, value: unknown, offset: number): number
}
function encoded(table: Record<string, unknown>): number {
  try {
    return codec.encodeTable(Buffer.alloc(256 * 1024), table, 0)
  } catch {
    return Number.POSITIVE_INFINITY
  }
}

t.test('a delivery with headers near 64 KiB whose handler throws is retried and dead-lettered', async (t) => {
  const queue = uniqueName('big-headers')
  const broker = await openBroker(t)
  const runs: number[] = []
  const app = await buildApp(t, {
    declare: (app) => {
      app.consume(queue, { retry: { attempts: 2, delay: 50 } }, async (message) => {
        runs.push(message.attempt)
        throw new Error(`fails (try ${message.attempt}): ${'card declined; '.repeat(20)}`)
      })
    },
  })
  t.teardown(async () => {
    await app.close()
    await deleteConsumerQueues(SHARED_URL, queue, [50])
  })
  // 65,400 bytes of headers: amqplib still writes them (its limit is 65,536), but not with the copy's own added.
  const headers = { big: 'x'.repeat(65_371), tenant: 'acme' }
  t.equal(encoded(headers), 65_400, 'the original encodes, just')
  const withOwn = encoded({ ...headers, 'x-attempt': 2, 'x-last-error': 'e'.repeat(300) })
  t.ok(withOwn > 65_536, `with the copy's own headers it could not (${withOwn} bytes)`)
  await broker.send(queue, { n: 1 }, { messageId: 'big', headers })
  await until(async () => (await broker.count(`${queue}.dlq`)) === 1, 10_000, 'the dead letter')
  t.same(runs, [1, 2], 'both tries ran: the retry copy went out too')
  const [dead] = await broker.drainQueue(`${queue}.dlq`)
  const got = dead?.properties.headers as Record<string, unknown>
  t.match(got, {
    [TRUNCATED_HEADER]: true,
    tenant: 'acme',
    'x-death-reason': 'handler-error',
    'x-error-message': /^fails \(try 2\): card declined/,
    'x-attempts': 2,
    'x-original-queue': queue,
  })
  t.notOk('big' in got, 'the header that did not fit was left out')
  t.same(JSON.parse(String(dead?.content)), { n: 1 }, 'the body is whole')
})

t.test("the copy's headers fit the budget; the library's own always go", async (t) => {
  const info = {
    reason: 'handler-error',
    error: 'e'.repeat(5_000),
    queue: 'q',
    attempts: 2,
    exchange: 'x',
    routingKey: 'k',
  }
  const cases: Array<[string, Record<string, unknown>]> = [
    ['one huge header', { huge: 'x'.repeat(70_000) }],
    ['many middling ones', Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`h${i}`, 'y'.repeat(200)]))],
    ['a nested table', { nested: { deep: ['z'.repeat(64_000)] } }],
    ['a buffer', { bytes: Buffer.alloc(64_000) }],
    ['values amqplib cannot write', { nan: Number.NaN, low: -(2 ** 64), list: [undefined], odd: { '!': 'nope' } }],
  ]
  for (const [what, original] of cases) {
    const properties = { messageId: 'm', headers: { small: 's', ...original } } as never as MessageProperties
    for (const options of [
      retryOptions(properties, 2, 'r'.repeat(5_000)),
      deadLetterOptions(properties, info as never),
    ]) {
      const headers = options.headers as Record<string, unknown>
      const size = encoded(headers)
      t.ok(size <= 60 * 1024, `${what}: ${size} bytes, within 60 KiB`)
      t.equal(headers[TRUNCATED_HEADER], true, `${what}: marked truncated`)
      t.equal(headers.small, 's', `${what}: what fits is kept`)
      t.ok('x-attempt' in headers || 'x-death-reason' in headers, `${what}: the library's own are there`)
    }
  }
  const plain = retryOptions({ headers: { a: 1, b: 'two' } } as never as MessageProperties, 2, 'e')
  t.same(plain.headers, { a: 1, b: 'two', 'x-attempt': 2, 'x-last-error': 'e' }, 'small headers: all kept, no marker')
  const cc = retryOptions(
    { headers: { CC: ['elsewhere'], BCC: ['hidden'], a: 1 } } as never as MessageProperties,
    2,
    'e'
  )
  t.same(cc.headers, { a: 1, 'x-attempt': 2, 'x-last-error': 'e' }, 'CC and BCC would route the copy elsewhere too')
})

t.test('fieldValueSize is never below what amqplib writes, and Infinity exactly where it throws', async (t) => {
  const values: unknown[] = [
    '',
    'ascii',
    'ünïcödé ✓ 🎉',
    0,
    -1,
    127,
    128,
    -129,
    32_768,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 50,
    2 ** 53 + 2,
    2 ** 63,
    -(2 ** 63),
    -(2 ** 63) * 2,
    1.5,
    -0.25,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    true,
    false,
    null,
    Buffer.from('bytes'),
    [],
    [1, 'two', [3], { four: 4 }],
    [undefined],
    {},
    { a: 1, b: { c: [null, false] } },
    { '!': 'timestamp', value: 1_700_000_000 },
    { '!': 'timestamp', value: 2 ** 64 },
    { '!': 'decimal', value: { places: 2, digits: 12_345 } },
    { '!': 'decimal', value: { places: 300, digits: 1 } },
    { '!': 'unknown', value: 1 },
    { '!': 'int', value: 5 },
    { '!': 'int', value: 2 ** 40 },
    { '!': 'long', value: 2 ** 62 },
    { '!': 'float', value: 1.25 },
    { '!': 'string', value: 'typed' },
    { '!': 'string', value: 5 },
    10n,
    Symbol('s'),
  ]
  for (const value of values) {
    const estimate = fieldTableSize({ k: value })
    const actual = encoded({ k: value })
    const label = `${typeof value} ${String(typeof value === 'object' ? JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)) : typeof value === 'symbol' ? 'symbol' : value)}`
    if (actual === Number.POSITIVE_INFINITY) t.equal(estimate, actual, `${label}: amqplib throws, so Infinity`)
    else t.ok(estimate >= actual && estimate <= actual * 2 + 8, `${label}: ${estimate} >= ${actual}`)
  }
  t.equal(fieldTableSize({ ['k'.repeat(256)]: 1 }), Number.POSITIVE_INFINITY, 'a key over 255 bytes')
  t.equal(fieldTableSize({ skipped: undefined }), 4, 'undefined in a table is left out, as amqplib does')
  let deep: unknown = 'leaf'
  for (let i = 0; i < 100; i += 1) deep = [deep]
  t.equal(fieldValueSize(deep), Number.POSITIVE_INFINITY, 'nested past 64 levels: left out')
})
