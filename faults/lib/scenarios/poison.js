import { randomBytes, randomUUID } from 'node:crypto'
import { runPipeline } from '../pipeline.js'
import { SHARED_URL, sleep, until } from '../util.js'

const json = (value) => Buffer.from(JSON.stringify(value))
const order = () => ({ id: randomUUID(), total: 1 })

/** Each kind of bad message, and the x-death-reason it must reach the dead-letter queue with. */
const KINDS = [
  { kind: 'random-bytes', reason: 'invalid-json', make: () => ({ content: randomBytes(512) }) },
  {
    kind: 'random-bytes-binary',
    reason: 'content-type',
    make: () => ({ content: randomBytes(512), properties: { contentType: 'application/octet-stream' } }),
  },
  { kind: 'not-json-text', reason: 'invalid-json', make: () => ({ content: Buffer.from('hello, { world') }) },
  { kind: 'empty-body', reason: 'empty', make: () => ({ content: Buffer.alloc(0) }) },
  {
    kind: 'huge-body',
    reason: 'too-large',
    make: () => ({ content: json({ ...order(), pad: 'x'.repeat(2 * 1024 * 1024) }) }),
  },
  {
    kind: 'bad-header-type',
    reason: 'schema',
    make: () => ({ content: json(order()), properties: { headers: { 'x-tenant': 42 } } }),
  },
  {
    kind: 'bad-headers-mixed',
    reason: 'schema',
    make: () => ({
      content: json(order()),
      properties: { headers: { 'x-tenant': { nested: [1, 2] }, 'x-attempt': 'garbage', 'x-death-reason': 7 } },
    }),
  },
  {
    kind: 'gzip-encoding',
    reason: 'content-type',
    make: () => ({ content: json(order()), properties: { contentEncoding: 'gzip' } }),
  },
  { kind: 'wrong-types', reason: 'schema', make: () => ({ content: json({ id: 42, total: 'a lot' }) }) },
  { kind: 'missing-fields', reason: 'schema', make: () => ({ content: json({}) }) },
  {
    kind: 'prototype-poisoning',
    reason: 'prototype-poisoning',
    make: () => ({ content: Buffer.from('{"id":"p","total":1,"__proto__":{"polluted":true}}') }),
  },
  // Valid input the handler throws on: retried (attempts 3, through the delay queue), then dead-lettered.
  { kind: 'handler-throws', reason: 'handler-error', make: () => ({ content: json({ id: randomUUID(), total: -1 }) }) },
]

/**
 * Bad messages of every kind published straight to the exchange, mixed into good HTTP traffic.
 * Each must land in the stage-1 dead-letter queue with its reason, once; none may crash or stall
 * the app; good orders are unaffected (lost 0, none dead-lettered).
 */
export async function poison(profile) {
  const p = profile.poison
  const injected = new Map()
  return runPipeline({
    name: 'poison',
    title: `Poison and malformed messages (${KINDS.length} kinds x ${p.perKind}) mixed into the stream`,
    brokerUrl: SHARED_URL,
    rate: p.rate,
    recoverBound: p.recoverBound,
    async fault(run) {
      for (let i = 0; i < p.perKind; i += 1) {
        for (const { kind, reason, make } of KINDS) {
          const { content, properties } = make()
          const messageId = `poison-${kind}-${i}-${randomUUID().slice(0, 8)}`
          injected.set(messageId, { kind, reason })
          await run.admin.publishRaw(run.names.exchange, 'order.placed', [
            { content, properties: { contentType: 'application/json', ...properties, messageId } },
          ])
        }
        await sleep(100) // spread the poison over the good traffic
      }
      run.cleared()
      return { injected: injected.size, kinds: KINDS.length }
    },
    async after(run) {
      const dlq = `${run.names.stage1}.dlq`
      await until(
        async () => ((await run.admin.depth(dlq)) ?? 0) >= injected.size,
        60_000,
        `${injected.size} dead letters in ${dlq}`
      )
      const letters = await run.admin.drain(dlq)
      const seen = new Map()
      const wrongReason = []
      let goodDeadLettered = 0
      for (const letter of letters) {
        const id = letter.properties.messageId
        seen.set(id, (seen.get(id) ?? 0) + 1)
        const expected = injected.get(id)
        const reason = letter.properties.headers?.['x-death-reason']
        if (expected === undefined) goodDeadLettered += 1
        else if (reason !== expected.reason)
          wrongReason.push(`${expected.kind}: ${reason} (expected ${expected.reason})`)
      }
      const missing = [...injected.keys()].filter((id) => !seen.has(id))
      const reachedFinal = [...injected.keys()].filter((id) => run.tally.arrivals.has(id)).length
      return {
        deadLettered: letters.length,
        poisonMissingFromDlq: missing.length,
        wrongReason,
        goodDeadLettered,
        poisonReachedFinal: reachedFinal,
        statusAfter: run.app.amqp.status,
      }
    },
  })
}
