import type { Options } from 'amqplib'

export interface PublishReceipt {
  messageId: string
}

// Where an entry is. Counters in Publisher follow these states, so every move goes through one place.
export const NEW = 0 // accepted, about to be written
export const QUEUED = 1 // waiting in the buffer (offline, behind 'drain', or to be sent again)
export const SENT = 2 // written on the current channel, waiting for its confirm
export const DONE = 3 // settled: resolved or rejected
export type EntryState = typeof NEW | typeof QUEUED | typeof SENT | typeof DONE

type Resolve = (receipt: PublishReceipt) => void
type Reject = (error: Error) => void

// A Promise executor runs synchronously inside `new Promise`: it hands its functions over
// through these two slots, so no closure is allocated per message.
let handedResolve: Resolve = noop
let handedReject: Reject = noop
function handOver(resolve: Resolve, reject: Reject): void {
  handedResolve = resolve
  handedReject = reject
}

/** One publish and its promise. A class, so every entry shares one shape (the hot path reads it a lot). */
export class Entry {
  state: EntryState = NEW
  /** A basic.return came for it: its ack means "unroutable", not "stored". */
  returned = false
  /** basic.nack count: a nacked entry is sent again until its deadline. */
  nacks = 0
  resolve: Resolve = noop
  reject: Reject = noop
  onAbort: (() => void) | null = null

  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    readonly content: Buffer,
    /** Sent as is, again after a channel loss: same messageId, same everything. */
    readonly properties: Options.Publish,
    readonly timeout: number,
    readonly deadline: number,
    readonly signal: AbortSignal | undefined
  ) {}

  /** The promise the caller gets; settled through resolve/reject. */
  promise(): Promise<PublishReceipt> {
    const promise = new Promise<PublishReceipt>(handOver)
    this.resolve = handedResolve
    this.reject = handedReject
    return promise
  }
}

function noop(): void {}
