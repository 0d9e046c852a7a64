/** Exchange, routing keys and queues of the demo, under an optional prefix. */
export interface Names {
  exchange: string
  placed: 'order.placed'
  processed: 'order.processed'
  /** Does the (simulated) work for each placed order, then publishes order.processed. */
  processQueue: string
  /** Marks the order processed in the store. */
  recordQueue: string
}

export function names(prefix: string): Names {
  return {
    exchange: `${prefix}orders`,
    placed: 'order.placed',
    processed: 'order.processed',
    processQueue: `${prefix}orders.process`,
    recordQueue: `${prefix}orders.record-processed`,
  }
}
