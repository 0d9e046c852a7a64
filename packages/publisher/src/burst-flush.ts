import type { Readable, Writable } from 'node:stream'
import type { Channel } from 'amqplib'

/** What amqplib 2.x keeps below a channel: its frame buffer and the connection's socket. Not public API. */
interface ChannelInternals {
  ch?: unknown
  connection?: { stream?: unknown; channels?: unknown }
}

// A channel buffer this long is a burst: write it out now rather than when the caller yields.
const BURST = 64

/**
 * amqplib queues a channel's frames in a buffer that its mux writes to the socket on the next
 * setImmediate. A caller publishing thousands in one synchronous loop (a bulk load) keeps the broker
 * idle until the loop ends; raw amqplib users avoid it by yielding at every 'drain', which our
 * promise API cannot ask of them. So during a burst the buffered frames are written at once, while
 * the kernel takes them: whole frames, in order, as the mux would write them, only earlier.
 *
 * Returns null (no flushing, amqplib alone) when the internals are not where amqplib 2.x has them.
 */
export function burstFlusher(channel: Channel): (() => void) | null {
  const internals = channel as unknown as ChannelInternals
  const socket = internals.connection?.stream as Writable | undefined
  const slots = internals.connection?.channels as Array<{ buffer?: Readable } | null> | undefined
  const buffer = typeof internals.ch === 'number' ? slots?.[internals.ch]?.buffer : undefined
  if (socket === undefined || buffer === undefined) return null
  if (typeof socket.cork !== 'function' || typeof buffer.read !== 'function') return null
  if (!buffer.readableObjectMode) return null

  return () => {
    // Below a burst, or the socket already holds unsent bytes (the kernel is full): the mux's turn.
    if (buffer.readableLength < BURST || socket.writableLength > 0 || !socket.writable) return
    socket.cork()
    for (let chunk = buffer.read(); chunk !== null; chunk = buffer.read()) socket.write(chunk)
    socket.uncork()
  }
}
