import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { OrderPlaced, OrderProcessed } from './schemas.js'

export interface ConsumerOptions {
  workDelayMs: number
}

// Three tries (the first included), 0.5 s then 1 s apart; then the message goes to `<queue>.dlq`.
export const retry = { attempts: 3, delay: { initial: 500, factor: 2, max: 5_000 } }

/**
 * order.placed -> (simulated work) -> order.processed -> the store marks the order processed, whether it was
 * placed or unconfirmed (its publish rejected, its message arrived all the same). Both steps are idempotent.
 * Items whose SKU starts with FLAKY fail on the first try (watch the retry); POISON always fails (watch the dead-letter queue).
 */
export async function orderConsumers(app: FastifyInstance, options: ConsumerOptions): Promise<void> {
  const { exchange, placed, processed, processQueue, recordQueue } = app.names

  app.consume({
    queue: processQueue,
    bindings: [{ exchange, routingKey: placed }],
    schema: { body: OrderPlaced },
    prefetch: 50,
    concurrency: 20,
    retry,
    deadLetter: true,
    async handler(message) {
      const order = message.body
      // A duplicate (a publish sent again after a lost channel, a redelivery) of an order done already: nothing to do.
      if (app.store.status(order.id) === 'processed') {
        message.log.info({ orderId: order.id }, 'order.placed for an order processed already; ignored')
        return
      }
      const skus = order.items.map((item) => item.sku)
      if (skus.some((sku) => sku.startsWith('POISON'))) {
        throw new Error(`simulated permanent failure for order ${order.id} (POISON sku)`)
      }
      if (message.attempt === 1 && skus.some((sku) => sku.startsWith('FLAKY'))) {
        throw new Error(`simulated transient failure for order ${order.id} (FLAKY sku, first try)`)
      }
      // The signal aborts if the channel dies or shutdown stops waiting: the broker then redelivers.
      await sleep(options.workDelayMs, undefined, { signal: message.signal })
      await message.publish(exchange, processed, { id: order.id, processedAt: new Date().toISOString() })
      message.log.debug({ orderId: order.id, attempt: message.attempt }, 'order processed')
    },
  })

  app.consume({
    queue: recordQueue,
    bindings: [{ exchange, routingKey: processed }],
    schema: { body: OrderProcessed },
    prefetch: 100,
    retry,
    deadLetter: true,
    async handler(message) {
      const { id, processedAt } = message.body
      const before = app.store.status(id)
      // At-least-once: a redelivered message finds the order processed already, which is fine.
      if (!app.store.markProcessed(id, processedAt)) {
        if (before === null)
          message.log.warn({ orderId: id }, 'order.processed for an order this store does not know; ignored')
        return
      }
      // Its publish was rejected (confirm timeout, close...) but the message did arrive: the order is reconciled.
      if (before === 'unconfirmed') message.log.info({ orderId: id }, 'unconfirmed order reconciled: processed')
    },
  })
}
