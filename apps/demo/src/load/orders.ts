import type { OrderInput } from '../schemas.js'

const CUSTOMERS = ['ada', 'grace', 'linus', 'margaret', 'ken', 'barbara', 'dennis', 'radia']

/** A valid random order; with `flaky`, one item's SKU makes the first processing attempt fail. */
export function randomOrder(n: number, flaky = false): OrderInput {
  const items = Array.from({ length: 1 + (n % 3) }, (_, i) => ({
    sku: `SKU-${(n * 7 + i * 13) % 1000}`,
    quantity: 1 + ((n + i) % 5),
  }))
  if (flaky && items[0]) items[0].sku = `FLAKY-${n}`
  return { customer: CUSTOMERS[n % CUSTOMERS.length] ?? 'ada', items }
}
