import { delayQueueName, type ResolvedConsumer } from './options.js'
import type { ConsumerInfo, ConsumeSchema } from './types.js'

/** app.consumers: what was declared, in declaration order. */
export class ConsumerRegistry {
  readonly #byQueue = new Map<string, ConsumerInfo>()
  /** Made when read, not on every add: an app declaring thousands of consumers would copy it each time. */
  #list: readonly ConsumerInfo[] | null = null

  has(queue: string): boolean {
    return this.#byQueue.has(queue)
  }

  add(info: ConsumerInfo): void {
    this.#byQueue.set(info.queue, info)
    this.#list = null
  }

  get list(): readonly ConsumerInfo[] {
    this.#list ??= Object.freeze([...this.#byQueue.values()])
    return this.#list
  }

  /** A tree like printRoutes(): one block per queue with what feeds it and where failures go. */
  print(): string {
    const list = this.list
    if (list.length === 0) return '(no consumers)\n'
    const lines: string[] = []
    for (const info of list) {
      const type = info.queueOptions.type ?? 'classic'
      lines.push(`${info.queue} (${type}, prefetch ${info.prefetch}, concurrency ${info.concurrency})`)
      for (const binding of info.bindings) {
        lines.push(`├── bound to ${binding.exchange} ${binding.routingKey === '' ? '(no key)' : binding.routingKey}`)
      }
      const retry =
        info.retry.attempts > 1
          ? `${info.retry.attempts} attempts, delays ${info.retry.delays.map((ms) => `${ms} ms`).join(', ')}`
          : 'no retries'
      lines.push(`├── retry: ${retry}`)
      lines.push(`└── dead letters: ${info.deadLetterQueue ?? 'rejected (deadLetter: false)'}`)
    }
    return `${lines.join('\n')}\n`
  }
}

/** The registry entry of one consumer: its declaration, resolved, frozen; and live counters. */
export function describeConsumer(
  def: ResolvedConsumer,
  schema: ConsumeSchema | undefined,
  consumer: {
    readonly active: boolean
    readonly inFlight: number
    readonly suspended: string | null
    readonly paused: boolean
  }
): ConsumerInfo {
  return Object.freeze({
    queue: def.queue,
    queueOptions: Object.freeze({ ...def.queueOptions }),
    bindings: Object.freeze(def.bindings.map((binding) => Object.freeze({ ...binding }))),
    prefetch: def.prefetch,
    concurrency: def.concurrency,
    handlerTimeout: def.handlerTimeout,
    maxDeliveries: def.maxDeliveries,
    retry: Object.freeze({ attempts: def.retry.attempts, delays: Object.freeze([...def.delays]) }),
    deadLetter: def.deadLetter,
    deadLetterQueue: def.deadLetterQueue,
    delayQueues: Object.freeze([...new Set(def.delays)].map((ms) => delayQueueName(def.queue, ms))),
    hasBodySchema: Boolean(schema?.body),
    exclusive: def.exclusiveQueue,
    get active() {
      return consumer.active
    },
    get inFlight() {
      return consumer.inFlight
    },
    get suspended() {
      return consumer.suspended
    },
    get paused() {
      return consumer.paused
    },
  })
}
