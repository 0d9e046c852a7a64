import type { ConsumerInfo } from './types.js'

/** What app.consumerHealth() returns: whether the app takes its share of every queue it declared. */
export interface ConsumerHealth {
  /**
   * Every declared consumer is subscribed on an open channel. False before ready, from the start of close,
   * and while any consumer waits for its channel (connection down, reconnecting) or is stopped (publishing gone).
   * True once ready when the app declares no consumer.
   */
  ready: boolean
  /** Consumers declared. */
  consumers: number
  /** Consumers subscribed now. */
  subscribed: number
  /** The queues whose consumer is not subscribed now, in declaration order (paused ones aside). */
  notSubscribed: string[]
  /** The queues paused by app.pauseConsumer(): not subscribed on purpose, so they do not make the app unready. */
  paused: string[]
}

export type ConsumerPhase = 'declaring' | 'running' | 'closing'

export function consumerHealth(list: readonly ConsumerInfo[], phase: ConsumerPhase): ConsumerHealth {
  const notSubscribed = list.filter((info) => !info.active && !info.paused).map((info) => info.queue)
  const paused = list.filter((info) => info.paused).map((info) => info.queue)
  return {
    ready: phase === 'running' && notSubscribed.length === 0,
    consumers: list.length,
    subscribed: list.filter((info) => info.active).length,
    notSubscribed,
    paused,
  }
}
