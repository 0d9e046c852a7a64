import type { Options } from 'amqplib'
import type { PublishObservation } from './telemetry-hooks.js'

export interface PublishReceipt {
  messageId: string
}

// Where an entry is. Counters in Sender follow these states, so every move goes through one place.
export const NEW = 0 // accepted, about to be written
export const QUEUED = 1 // waiting in the buffer (offline, behind 'drain' or the in-flight bound, or to be sent again)
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

const RELEASED = Buffer.alloc(0)
const NO_PROPERTIES: Options.Publish = Object.freeze({})

/** One publish and its promise. A class, so every entry shares one shape (the hot path reads it a lot). */
export class Entry {
  state: EntryState = NEW
  /** A basic.return came for it: its ack means "unroutable", not "stored". */
  returned = false
  /** basic.nack count: a nacked entry is sent again until its deadline. */
  nacks = 0
  /** Times it was written. */
  copies = 0
  /** Copies whose channel was lost before their confirm (a cut, a recycle): the broker may hold them. */
  lostCopies = 0
  /**
   * Copies on a channel the broker closed over another publish: stored if written before that one,
   * discarded if after. Unknown too, but a refusal of this entry's own doing says nothing about them.
   */
  refusedCopies = 0
  resolve: Resolve = noop
  reject: Reject = noop
  onAbort: (() => void) | null = null
  /** Its span and start time, while an OpenTelemetry SDK is registered. */
  observation: PublishObservation | null = null
  /** Body bytes, kept after the content is released. */
  readonly size: number

  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    /** Sent as is, again after a channel loss; released once settled. */
    public content: Buffer,
    /** Sent as is, again after a channel loss: same messageId, same everything. */
    public properties: Options.Publish,
    readonly timeout: number,
    readonly deadline: number,
    public signal: AbortSignal | undefined
  ) {
    this.size = content.length
  }

  /** The promise the caller gets; settled through resolve/reject. */
  promise(): Promise<PublishReceipt> {
    const promise = new Promise<PublishReceipt>(handOver)
    this.resolve = handedResolve
    this.reject = handedReject
    return promise
  }

  /**
   * Settled: drops the body, the properties and the caller's closures. A settled entry can stay
   * in the confirm window until the broker confirms its delivery tag, and a broker that never
   * confirms must not keep every body alive.
   */
  release(): void {
    this.content = RELEASED
    this.properties = NO_PROPERTIES
    this.resolve = noop
    this.reject = noop
    this.onAbort = null
    this.signal = undefined
    this.observation = null
  }
}

function noop(): void {}
