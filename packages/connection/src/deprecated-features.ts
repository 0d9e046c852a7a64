import type { Options } from 'amqplib'

/** Something in a declaration that RabbitMQ 4.x deprecates or denies, named as the broker names it. */
export interface DeprecatedFeature {
  /** The broker's name for it, e.g. 'transient_nonexcl_queues'. */
  feature: string
  /** What in the declaration asks for it, and what to do instead. */
  problem: string
}

/**
 * The first feature RabbitMQ 4.x deprecates or denies that this queue declaration asks for, or null.
 * Checked before anything is declared: on 4.3 some of these close the whole connection (541), others
 * are refused (406) or silently ignored, none of which a user should meet at runtime.
 */
export function deprecatedQueueFeature(name: string, options: Options.AssertQueue = {}): DeprecatedFeature | null {
  const queue = name === '' ? 'a server-named queue' : `queue "${name}"`
  if (options.durable === false && !options.exclusive) {
    return {
      feature: 'transient_nonexcl_queues',
      problem: `${queue} is durable: false without exclusive: true (RabbitMQ 4.3 closes the connection); declare it durable, or exclusive`,
    }
  }
  // amqplib turns `queueMode` into the x-queue-mode argument.
  const args: Record<string, unknown> = { ...options.arguments }
  if (options.queueMode !== undefined) args['x-queue-mode'] = options.queueMode
  for (const [key, value] of Object.entries(args)) {
    if (key === 'x-queue-mode') {
      return {
        feature: 'classic_queue_v1',
        problem: `${queue} sets x-queue-mode (lazy mode was classic queue v1's, removed in 4.0); drop the argument`,
      }
    }
    if (key === 'x-queue-version' && Number(value) === 1) {
      return {
        feature: 'classic_queue_v1',
        problem: `${queue} sets x-queue-version: 1 (removed in 4.0, refused by 4.3); drop the argument or use 2`,
      }
    }
    if (key.startsWith('x-ha-')) {
      return {
        feature: 'classic_queue_mirroring',
        problem: `${queue} sets ${key} (classic queue mirroring was removed in 4.0); use type: 'quorum' for replication`,
      }
    }
    if (key === 'x-queue-master-locator') {
      return {
        feature: 'queue_master_locator',
        problem: `${queue} sets x-queue-master-locator (4.3 closes the connection); use x-queue-leader-locator`,
      }
    }
  }
  return null
}

const DENIED = /Feature `?([a-z0-9_]+)`? is deprecated/

/** The feature named by a broker's connection close for a denied deprecated feature (541), or null. */
export function deniedFeatureOf(err: unknown): string | null {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown }
  if (code !== 541) return null
  return DENIED.exec(String(message))?.[1] ?? null
}
