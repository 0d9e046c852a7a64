import { connect, createServer, type Server, type Socket } from 'node:net'
import { FrameFilter, type FrameHead, isConfirm } from './amqp-frames.js'

export interface FaultProxy {
  /** The port the proxy listens on, on 127.0.0.1. */
  readonly port: number
  /** upstreamUrl with host:port replaced by 127.0.0.1:<proxy port>; credentials, vhost and query are kept. */
  url(upstreamUrl: string): string
  /** Destroys every open client/upstream socket pair now; does not change the mode for new connections. */
  cut(): void
  /** Keeps sockets open but drops all bytes both ways; new connections are accepted and black-holed too. */
  blackhole(): void
  /** Cuts everything; new connections are destroyed as soon as they are accepted. */
  refuse(): void
  /**
   * The broker that accepts and never confirms: every connection, open or new, stays up (heartbeats and all
   * other frames pass both ways) but the broker's publisher confirms (Basic.Ack, Basic.Nack) never reach the
   * client. Until restore(). Black-holed or refused sockets stay so.
   */
  dropConfirms(): void
  /** Confirm frames dropped since the proxy started (one frame may confirm several messages: `multiple`). */
  readonly droppedConfirms: number
  /** Normal forwarding for new connections, confirms passed again; black-holed sockets are cut (they can never recover). */
  restore(): void
  /** Currently open client sockets (forwarded or black-holed). */
  readonly connections: number
  /** Stops listening and destroys all sockets. */
  close(): Promise<void>
}

type Mode = 'forward' | 'blackhole' | 'refuse'

interface Pair {
  client: Socket
  upstream: Socket | undefined
  blackholed: boolean
}

/**
 * Forwards bytes from one socket to the other, with backpressure, unless the pair is black-holed; through
 * `filter` if given (what it keeps of a chunk is written at once, in one write).
 */
function forward(pair: Pair, from: Socket, to: Socket, filter?: FrameFilter): void {
  from.on('data', (chunk: Buffer) => {
    if (pair.blackholed || to.destroyed) return
    let data = chunk
    if (filter !== undefined) {
      const kept = filter.push(chunk)
      if (kept.length === 0) return
      data = kept.length === 1 ? kept[0]! : Buffer.concat(kept)
    }
    if (!to.write(data)) {
      from.pause()
      to.once('drain', () => from.resume())
    }
  })
}

class TcpFaultProxy implements FaultProxy {
  private mode: Mode = 'forward'
  private droppingConfirms = false
  private dropped = 0
  private readonly pairs = new Set<Pair>()
  // Read per frame, so dropConfirms() and restore() reach connections already open.
  private readonly dropFrame = (head: FrameHead): boolean => {
    if (!this.droppingConfirms || !isConfirm(head)) return false
    this.dropped += 1
    return true
  }

  constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number }
  ) {
    server.on('connection', (client) => this.accept(client))
  }

  get connections(): number {
    return this.pairs.size
  }

  get droppedConfirms(): number {
    return this.dropped
  }

  url(upstreamUrl: string): string {
    const url = new URL(upstreamUrl)
    url.hostname = '127.0.0.1'
    url.port = String(this.port)
    return url.toString()
  }

  cut(): void {
    for (const pair of this.pairs) this.destroy(pair)
  }

  blackhole(): void {
    this.mode = 'blackhole'
    for (const pair of this.pairs) {
      pair.blackholed = true
      // Bytes already queued for writing may still go out; nothing new is forwarded from here on.
    }
  }

  refuse(): void {
    this.mode = 'refuse'
    this.cut()
  }

  dropConfirms(): void {
    this.droppingConfirms = true
  }

  restore(): void {
    this.mode = 'forward'
    this.droppingConfirms = false
    for (const pair of this.pairs) if (pair.blackholed) this.destroy(pair)
  }

  async close(): Promise<void> {
    this.mode = 'refuse'
    this.cut()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: Socket): void {
    client.on('error', () => {})
    if (this.mode === 'refuse') {
      client.destroy()
      return
    }
    client.setNoDelay(true)
    const pair: Pair = { client, upstream: undefined, blackholed: this.mode === 'blackhole' }
    this.pairs.add(pair)
    // A black-holed socket dies only when its client gives up, or on cut/restore/close: as on a dead network,
    // the other side's close does not reach it.
    client.on('close', () => this.destroy(pair))
    if (pair.blackholed) {
      client.resume() // read and drop
      return
    }
    const upstream = connect({ host: this.target.host, port: this.target.port })
    pair.upstream = upstream
    upstream.setNoDelay(true)
    upstream.on('error', () => {})
    upstream.on('close', () => {
      if (!pair.blackholed) this.destroy(pair)
    })
    // Client to broker stays raw (it opens with the 8-byte protocol header); broker to client is frames from byte 0.
    forward(pair, client, upstream)
    forward(pair, upstream, client, new FrameFilter(this.dropFrame))
  }

  private destroy(pair: Pair): void {
    this.pairs.delete(pair)
    pair.client.destroy()
    pair.upstream?.destroy()
  }
}

/** Starts a TCP proxy on 127.0.0.1 (random port) in front of target, whose faults tests switch on and off. */
export function startFaultProxy(target: { host?: string; port: number }): Promise<FaultProxy> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      server.on('error', () => {})
      const address = server.address()
      if (typeof address !== 'object' || address === null) {
        server.close()
        reject(new Error('fault proxy: could not read its listening port'))
        return
      }
      resolve(new TcpFaultProxy(server, address.port, { host: target.host ?? '127.0.0.1', port: target.port }))
    })
  })
}
