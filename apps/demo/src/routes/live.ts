import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { openEventStream } from '../live/event-stream.js'
import { LiveFeed } from '../live/feed.js'

export interface LiveRoutesOptions {
  /** How often the page is sent the state, ms. Default 1,000. */
  intervalMs?: number
  /** Rate points the chart keeps. Default 300 (five minutes at one a second). */
  historySize?: number
}

/**
 * GET /live/events: the live page's server-sent events (history, snapshot every intervalMs, connections at
 * once on a change). GET /live: the same state once, as JSON.
 */
export const liveRoutes: FastifyPluginAsyncTypebox<LiveRoutesOptions> = async (app, options) => {
  const feed = new LiveFeed(app, { intervalMs: options.intervalMs ?? 1_000, historySize: options.historySize ?? 300 })
  // Started once the consumers are subscribed; stopped before the server closes, which open streams would hold up.
  app.addHook('onReady', async () => feed.start())
  app.addHook('preClose', () => feed.stop())

  app.get('/live', async () => feed.current())

  app.get('/live/events', async (_request, reply) => {
    feed.subscribe(openEventStream(reply))
  })
}
