import type { FastifyReply } from 'fastify'

/** One open server-sent-events response. */
export interface EventStream {
  send(event: string, data: unknown): void
  /** Ends the response; the browser's EventSource then connects again on its own. */
  close(): void
  /** Runs once, when the response ends from either side. */
  onClose(listener: () => void): void
}

/** Takes the reply over from Fastify and answers it as a text/event-stream that stays open. */
export function openEventStream(reply: FastifyReply): EventStream {
  reply.hijack()
  const response = reply.raw
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  })
  // How long the browser waits before connecting again after the stream ends or breaks.
  response.write('retry: 1000\n\n')
  return {
    send(event, data) {
      // A page that does not keep up misses a frame: the next one carries the whole state again.
      if (response.writableNeedDrain || response.writableEnded) return
      response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    },
    close() {
      response.end()
    },
    onClose(listener) {
      response.once('close', listener)
    },
  }
}
