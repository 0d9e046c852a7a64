import type { Channel, Options } from 'amqplib'
import { AmqpTopologyError } from './errors.js'

export interface ExchangeDeclaration {
  name: string
  type: 'direct' | 'topic' | 'fanout' | 'headers' | (string & {})
  options?: Options.AssertExchange
}

export interface QueueDeclaration {
  name: string
  options?: Options.AssertQueue
}

export interface BindingDeclaration {
  /** Source exchange. */
  exchange: string
  /** Destination queue (give either queue or destinationExchange). */
  queue?: string
  /** Destination exchange, for exchange-to-exchange bindings. */
  destinationExchange?: string
  routingKey?: string
  args?: Record<string, unknown>
}

export interface Topology {
  exchanges?: ExchangeDeclaration[]
  queues?: QueueDeclaration[]
  bindings?: BindingDeclaration[]
}

/** Durable unless the declaration says otherwise: topology outlives a broker restart. */
const durable = <T extends { durable?: boolean }>(options: T | undefined): T => ({ durable: true, ...options }) as T

/**
 * Asserts exchanges, then queues, then bindings, in declaration order. A failure
 * names the entity; the broker's own text already names the argument at fault
 * (e.g. "inequivalent arg 'x-queue-type' for queue 'q'").
 */
export async function assertTopology(channel: Channel, topology: Topology): Promise<void> {
  for (const exchange of topology.exchanges ?? []) {
    await declare(`exchange "${exchange.name}"`, () =>
      channel.assertExchange(exchange.name, exchange.type, durable(exchange.options))
    )
  }
  for (const queue of topology.queues ?? []) {
    await declare(`queue "${queue.name}"`, () => channel.assertQueue(queue.name, durable(queue.options)))
  }
  for (const binding of topology.bindings ?? []) {
    const routingKey = binding.routingKey ?? ''
    if (binding.destinationExchange !== undefined) {
      const destination = binding.destinationExchange
      await declare(`binding of exchange "${destination}" to exchange "${binding.exchange}"`, () =>
        channel.bindExchange(destination, binding.exchange, routingKey, binding.args)
      )
    } else {
      const queue = binding.queue ?? ''
      await declare(`binding of queue "${queue}" to exchange "${binding.exchange}" (${routingKey})`, () =>
        channel.bindQueue(queue, binding.exchange, routingKey, binding.args)
      )
    }
  }
}

async function declare(what: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run()
  } catch (err) {
    throw new AmqpTopologyError(what, (err as Error).message, { cause: err })
  }
}

export function isEmptyTopology(topology: Topology): boolean {
  return !topology.exchanges?.length && !topology.queues?.length && !topology.bindings?.length
}
