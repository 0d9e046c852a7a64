import { Type } from '@sinclair/typebox'
import type { Message } from 'amqplib'
import t from 'tap'
import { Decoder } from '../src/decode.js'

function message(content: string | Buffer, properties: Record<string, unknown> = {}): Message {
  return {
    content: Buffer.isBuffer(content) ? content : Buffer.from(content),
    fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q' },
    properties: { contentType: 'application/json', headers: {}, ...properties },
  } as unknown as Message
}

const schema = { body: Type.Object({ id: Type.Integer(), name: Type.String() }) }

t.test('valid JSON passes and is parsed', async (t) => {
  const decoder = new Decoder(schema, 1024)
  t.same(decoder.decode(message('{"id":1,"name":"a"}')), { ok: true, body: { id: 1, name: 'a' } })
  t.same(new Decoder(undefined, 1024).decode(message('[1,2]', { contentType: undefined })), { ok: true, body: [1, 2] })
  t.same(
    new Decoder(undefined, 1024).decode(message('"x"', { contentType: 'application/vnd.a+json; charset=utf-8' })),
    {
      ok: true,
      body: 'x',
    }
  )
})

t.test('each kind of bad input has its reason', async (t) => {
  const decoder = new Decoder(schema, 64)
  const reason = (m: Message) => {
    const result = decoder.decode(m)
    return result.ok ? 'ok' : result.reason
  }
  t.equal(reason(message('{"id":1,')), 'invalid-json')
  t.equal(reason(message('')), 'empty')
  t.equal(reason(message('{"id":1,"name":"a"}', { contentType: 'text/plain' })), 'content-type')
  t.equal(reason(message('{"id":1,"name":"a"}', { contentEncoding: 'gzip' })), 'content-type')
  t.equal(reason(message('{"id":"1","name":"a"}')), 'schema')
  t.equal(reason(message(Buffer.alloc(65, 0x20))), 'too-large')
  t.equal(reason(message('{"__proto__":{"x":1}}')), 'prototype-poisoning')
  t.equal(reason(message('{"constructor":{"prototype":{"x":1}}}')), 'prototype-poisoning')
})

t.test('schema failures name the field; headers are validated too', async (t) => {
  const decoder = new Decoder({ ...schema, headers: Type.Object({ tenant: Type.String() }) }, 1024)
  const bad = decoder.decode(message('{"id":1,"name":"a"}', { headers: {} }))
  t.match(bad, { ok: false, reason: 'schema', message: /^headers: \/tenant/ })
  const body = decoder.decode(message('{"id":1}', { headers: { tenant: 't' } }))
  t.match(body, { ok: false, reason: 'schema', message: /^body: \/name/ })
})

t.test('prototype-poisoning input leaves Object.prototype clean', async (t) => {
  const decoder = new Decoder(undefined, 1024)
  decoder.decode(message('{"__proto__":{"polluted":true}}'))
  decoder.decode(message('{"constructor":{"prototype":{"polluted":true}}}'))
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})
