/** What a FrameFilter knows of a frame when it decides: its header, and a method frame's class and method. */
export interface FrameHead {
  type: number
  channel: number
  /** Payload bytes (the frame is 7 + size + 1 bytes long). */
  size: number
  /** Method frames (type 1) only, with a payload of at least 4 bytes. */
  classId?: number
  methodId?: number
}

export const FRAME_METHOD = 1
export const FRAME_HEARTBEAT = 8
export const FRAME_END = 0xce
const HEADER_BYTES = 7
const METHOD_HEAD_BYTES = HEADER_BYTES + 4

/** Basic.Ack (60, 80) or Basic.Nack (60, 120): from the broker, these are publisher confirms. */
export function isConfirm(head: FrameHead): boolean {
  return head.type === FRAME_METHOD && head.classId === 60 && (head.methodId === 80 || head.methodId === 120)
}

/**
 * Splits an AMQP 0-9-1 frame stream (broker to client: frames from the first byte) as it arrives, frames split
 * across chunks or many in one, and drops the frames `drop` picks. All other bytes come out as they went in, in
 * order, as slices of the chunks (only the head of a frame split across chunks is copied). A frame is decided on
 * once its head is in: 7 header bytes, 11 for a method frame. A stream that stops being frames (a frame-end byte
 * other than 0xCE) is passed on raw from there.
 */
export class FrameFilter {
  readonly #drop: (head: FrameHead) => boolean
  readonly #head = Buffer.alloc(METHOD_HEAD_BYTES)
  /** Bytes of the current frame's head gathered, none of them passed on yet. */
  #headLength = 0
  /** Bytes of the current (decided) frame still to come, frame-end included. */
  #remaining = 0
  #dropping = false
  #raw = false

  constructor(drop: (head: FrameHead) => boolean) {
    this.#drop = drop
  }

  /** True once the stream stopped looking like frames: everything is passed on from then on. */
  get raw(): boolean {
    return this.#raw
  }

  /** The bytes of `chunk` (and of a head held from the chunk before) to pass on, in order. */
  push(chunk: Buffer): Buffer[] {
    if (this.#raw) return [chunk]
    const out: Buffer[] = []
    const pass = (from: number, to: number): void => {
      if (to > from) out.push(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to))
    }
    // A head carried over from earlier chunks: its bytes wait in #head until the frame is decided.
    const carried = this.#headLength
    let headStart = carried > 0 ? -1 : 0
    let runStart = 0 // first byte of this chunk not passed on yet (nor dropped)
    let pos = 0
    while (pos < chunk.length) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - pos)
        if (n === this.#remaining && chunk[pos + n - 1] !== FRAME_END) {
          // Out of step (or not AMQP): from this byte on, nothing is parsed or dropped.
          this.#raw = true
          if (this.#dropping) runStart = pos
          break
        }
        this.#remaining -= n
        pos += n
        if (this.#dropping) runStart = pos
        continue
      }
      let head: FrameHead
      if (this.#headLength === 0 && chunk.length - pos >= METHOD_HEAD_BYTES) {
        // The usual case: the whole head is in this chunk, read where it is.
        headStart = pos
        head = readHead(chunk, pos)
        pos += headBytes(head)
      } else {
        if (this.#headLength === 0) headStart = pos
        const take = Math.min(this.#headNeeded() - this.#headLength, chunk.length - pos)
        chunk.copy(this.#head, this.#headLength, pos, pos + take)
        this.#headLength += take
        pos += take
        if (this.#headLength < this.#headNeeded()) continue
        head = readHead(this.#head, 0)
        this.#headLength = 0
      }
      this.#remaining = HEADER_BYTES + head.size + 1 - headBytes(head)
      this.#dropping = this.#drop(head)
      if (this.#dropping) {
        // What came before this frame goes out; the head's bytes (carried or in this chunk) are dropped.
        if (headStart >= 0) pass(runStart, headStart)
        runStart = pos
      } else if (headStart < 0) {
        // A passed frame whose head began in an earlier chunk: those bytes first, then this chunk's.
        out.push(Buffer.from(this.#head.subarray(0, carried)))
      }
    }
    // A head still incomplete at the end waits for the next chunk; the bytes before it go out now.
    pass(runStart, this.#headLength > 0 && !this.#raw ? Math.max(headStart, runStart) : chunk.length)
    return out
  }

  /** Head bytes the current frame needs before it can be decided: 11 for a method frame with a class and method. */
  #headNeeded(): number {
    if (this.#headLength < HEADER_BYTES) return HEADER_BYTES
    return this.#head[0] === FRAME_METHOD && this.#head.readUInt32BE(3) >= 4 ? METHOD_HEAD_BYTES : HEADER_BYTES
  }
}

/** The head of the frame at `offset`: 7 bytes there, 11 for a method frame whose payload has its class and method. */
function readHead(buffer: Buffer, offset: number): FrameHead {
  const type = buffer[offset]!
  const channel = buffer.readUInt16BE(offset + 1)
  const size = buffer.readUInt32BE(offset + 3)
  if (type !== FRAME_METHOD || size < 4) return { type, channel, size }
  return { type, channel, size, classId: buffer.readUInt16BE(offset + 7), methodId: buffer.readUInt16BE(offset + 9) }
}

/** Bytes of a frame's head as readHead() reads it. */
const headBytes = (head: FrameHead): number => (head.classId === undefined ? HEADER_BYTES : METHOD_HEAD_BYTES)
