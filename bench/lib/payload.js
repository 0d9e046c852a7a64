import { randomFillSync } from 'node:crypto'

// The message every contender sends: a JSON object that serializes to exactly 1 KiB.
const base = {
  type: 'order.created',
  id: '6f1c1c1e-5b7a-4c55-9a3e-3f5f2b8e4d10',
  amount: 4200,
  currency: 'EUR',
  pad: '',
}
base.pad = 'x'.repeat(1024 - Buffer.byteLength(JSON.stringify(base)))

export const BODY = Object.freeze(base)
export const BODY_BYTES = Buffer.byteLength(JSON.stringify(BODY))
/** What raw amqplib users send: the same properties our publisher sets that matter to the broker. */
export const RAW_PROPERTIES = Object.freeze({ persistent: true, contentType: 'application/json' })

/**
 * Unique 22-character messageIds, drawn (as fastify-amqp does) from a pool of random bytes refilled
 * every 256 ids: a randomFillSync per message would charge the raw contenders a cost ours does not pay.
 */
export function messageIds() {
  const pool = Buffer.allocUnsafe(16 * 256)
  let offset = pool.length
  return () => {
    if (offset === pool.length) {
      randomFillSync(pool)
      offset = 0
    }
    offset += 16
    return pool.toString('base64url', offset - 16, offset)
  }
}

/** What raw users would send to match fastify-amqp's properties: mandatory, a timestamp and a unique messageId. */
export function ourPropertiesFactory(base) {
  const nextId = messageIds()
  return () => ({ ...base, mandatory: true, messageId: nextId(), timestamp: Math.floor(Date.now() / 1000) })
}
