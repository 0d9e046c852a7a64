import t from 'tap'
import { FRAME_END, FRAME_HEARTBEAT, FRAME_METHOD, FrameFilter, type FrameHead, isConfirm } from '../src/amqp-frames.js'

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(7)
  head.writeUInt8(type, 0)
  head.writeUInt16BE(channel, 1)
  head.writeUInt32BE(payload.length, 3)
  return Buffer.concat([head, payload, Buffer.from([FRAME_END])])
}

function method(channel: number, classId: number, methodId: number, args: Buffer = Buffer.alloc(0)): Buffer {
  const ids = Buffer.alloc(4)
  ids.writeUInt16BE(classId, 0)
  ids.writeUInt16BE(methodId, 2)
  return frame(FRAME_METHOD, channel, Buffer.concat([ids, args]))
}

/** Basic.Ack / Basic.Nack arguments: delivery-tag (8 bytes), then the bits (multiple, requeue). */
function confirmArgs(tag: number, bits = 0): Buffer {
  const args = Buffer.alloc(9)
  args.writeBigUInt64BE(BigInt(tag), 0)
  args.writeUInt8(bits, 8)
  return args
}

const ack = (channel: number, tag: number) => method(channel, 60, 80, confirmArgs(tag))
const nack = (channel: number, tag: number) => method(channel, 60, 120, confirmArgs(tag, 0b11))
const heartbeat = () => frame(FRAME_HEARTBEAT, 0, Buffer.alloc(0))

// What a broker sends: connection.start (a long method), heartbeats, confirms on two channels, a delivery
// (method, content header, body whose bytes look like an ack's head), an odd 2-byte method frame, a frame on
// a high channel, and a body frame of 0xCE bytes.
const frames: Array<{ bytes: Buffer; confirm: boolean }> = [
  { bytes: method(0, 10, 10, Buffer.alloc(300, 7)), confirm: false },
  { bytes: heartbeat(), confirm: false },
  { bytes: ack(1, 1), confirm: true },
  { bytes: method(1, 60, 60, Buffer.alloc(40, 1)), confirm: false },
  { bytes: frame(2, 1, Buffer.alloc(14, 2)), confirm: false },
  { bytes: frame(3, 1, Buffer.concat([ack(1, 9), nack(1, 9)])), confirm: false },
  { bytes: nack(2, 5), confirm: true },
  { bytes: frame(FRAME_METHOD, 3, Buffer.from([0, 60])), confirm: false },
  { bytes: ack(65535, 2 ** 40), confirm: true },
  { bytes: heartbeat(), confirm: false },
  { bytes: frame(3, 1, Buffer.alloc(20, FRAME_END)), confirm: false },
  { bytes: ack(1, 2), confirm: true },
  { bytes: ack(1, 3), confirm: true },
  { bytes: method(1, 20, 41), confirm: false },
]
const stream = Buffer.concat(frames.map((f) => f.bytes))
const kept = Buffer.concat(frames.filter((f) => !f.confirm).map((f) => f.bytes))
const confirms = frames.filter((f) => f.confirm).length

/** Runs `chunks` through a filter dropping confirms; what came out, and every frame head it was asked about. */
function run(chunks: Buffer[], drop: (head: FrameHead) => boolean = isConfirm) {
  const heads: FrameHead[] = []
  const filter = new FrameFilter((head) => {
    heads.push(head)
    return drop(head)
  })
  const out = Buffer.concat(chunks.flatMap((chunk) => filter.push(chunk)))
  return { out, heads, filter }
}

function cutAt(buffer: Buffer, cuts: number[]): Buffer[] {
  const points = [0, ...cuts, buffer.length]
  return points.slice(1).map((end, i) => buffer.subarray(points[i], end))
}

/** A small deterministic generator, so a failing split can be reproduced. */
function lcg(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return state / 2 ** 31
  }
}

t.test('isConfirm: Basic.Ack and Basic.Nack only', async (t) => {
  const head = (classId: number, methodId: number, type = FRAME_METHOD): FrameHead => ({
    type,
    channel: 1,
    size: 13,
    classId,
    methodId,
  })
  t.ok(isConfirm(head(60, 80)))
  t.ok(isConfirm(head(60, 120)))
  t.notOk(isConfirm(head(60, 60)), 'basic.deliver')
  t.notOk(isConfirm(head(60, 50)), 'basic.return')
  t.notOk(isConfirm(head(10, 80)), 'another class')
  t.notOk(isConfirm(head(60, 80, 3)), 'a body frame')
  t.notOk(isConfirm({ type: FRAME_METHOD, channel: 1, size: 2 }), 'a method frame too short for ids')
})

t.test('one chunk holding every frame: confirms out, the rest byte-exact', async (t) => {
  const { out, heads } = run([stream])
  t.same(out, kept)
  t.equal(heads.length, frames.length, 'every frame seen once, none inside a body')
  t.equal(heads.filter(isConfirm).length, confirms)
  t.same(
    heads.map((h) => [h.type, h.channel, h.size]),
    frames.map((f) => [f.bytes[0], f.bytes.readUInt16BE(1), f.bytes.length - 8])
  )
  t.same(heads[2], { type: 1, channel: 1, size: 13, classId: 60, methodId: 80 })
  t.same(heads[7], { type: 1, channel: 3, size: 2 }, 'a 2-byte method payload has no class or method')
})

t.test('split at every byte into two chunks', async (t) => {
  for (let cut = 1; cut < stream.length; cut += 1) {
    const { out, heads } = run(cutAt(stream, [cut]))
    if (!out.equals(kept) || heads.length !== frames.length) {
      t.fail(`wrong output when split at byte ${cut}`)
      return
    }
  }
  t.pass(`all ${stream.length - 1} two-chunk splits`)
})

t.test('one byte per chunk', async (t) => {
  const { out, heads } = run(Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1)))
  t.same(out, kept)
  t.equal(heads.length, frames.length)
})

t.test('random splits, many frames per chunk and frames over several chunks', async (t) => {
  const random = lcg(15)
  for (let round = 0; round < 300; round += 1) {
    const cuts = Array.from(
      { length: 1 + Math.floor(random() * 12) },
      () => 1 + Math.floor(random() * (stream.length - 1))
    )
    const sorted = [...new Set(cuts)].sort((a, b) => a - b)
    const { out } = run(cutAt(stream, sorted))
    if (!out.equals(kept)) {
      t.fail(`wrong output for cuts ${sorted.join(',')}`)
      return
    }
  }
  t.pass('300 random splits')
})

t.test(
  'a chunk that is all confirms gives nothing; a dropped frame between kept ones leaves them joined',
  async (t) => {
    const filter = new FrameFilter(isConfirm)
    t.same(filter.push(Buffer.concat([ack(1, 1), nack(1, 2)])), [])
    const out = filter.push(Buffer.concat([heartbeat(), ack(1, 3), heartbeat()]))
    t.same(Buffer.concat(out), Buffer.concat([heartbeat(), heartbeat()]))
  }
)

t.test('nothing dropped: chunks come out as they are, not copied; only a split head is held', async (t) => {
  const whole = new FrameFilter(() => false).push(stream)
  t.equal(whole.length, 1)
  t.equal(whole[0], stream, 'the chunk itself')

  const filter = new FrameFilter(() => false)
  const first = stream.subarray(0, 3)
  const second = stream.subarray(3)
  t.same(filter.push(first), [], 'a head of 3 bytes is held until the frame can be decided')
  const out = filter.push(second)
  t.equal(out.length, 2)
  t.same(out[0], first, 'the held bytes first')
  t.equal(out[1], second, 'then the next chunk itself')
})

t.test('a stream that stops being frames is passed on raw from there', async (t) => {
  const broken = Buffer.from(heartbeat())
  broken[broken.length - 1] = 0x00 // not a frame end
  const rest = Buffer.concat([ack(1, 1), Buffer.from('garbage')])
  const { out, filter } = run([Buffer.concat([heartbeat(), broken]), rest])
  t.ok(filter.raw)
  t.same(out, Buffer.concat([heartbeat(), broken, rest]), 'nothing dropped after the bad frame end')
})
