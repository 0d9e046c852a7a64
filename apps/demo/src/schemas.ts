import { type Static, Type } from 'typebox'

const Item = Type.Object(
  {
    sku: Type.String({ minLength: 1, maxLength: 64 }),
    quantity: Type.Integer({ minimum: 1, maximum: 10_000 }),
  },
  { additionalProperties: false }
)

/** The body of POST /orders. Anything else is a 400. */
export const OrderInput = Type.Object(
  {
    customer: Type.String({ minLength: 1, maxLength: 200 }),
    items: Type.Array(Item, { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false }
)
export type OrderInput = Static<typeof OrderInput>

/**
 * placed: its message is being published or was confirmed. unconfirmed: its publish was rejected in a way
 * that does not prove the broker did not store the message, so it may still arrive. processed: done.
 */
export const OrderStatus = Type.Union([Type.Literal('placed'), Type.Literal('unconfirmed'), Type.Literal('processed')])
export type OrderStatus = Static<typeof OrderStatus>

export const Order = Type.Object({
  id: Type.String(),
  status: OrderStatus,
  customer: Type.String(),
  items: Type.Array(Item),
  placedAt: Type.String(),
  processedAt: Type.Union([Type.String(), Type.Null()]),
})
export type Order = Static<typeof Order>

/** Message published to the orders exchange with routing key order.placed. */
export const OrderPlaced = Type.Object({
  id: Type.String({ minLength: 1 }),
  customer: Type.String(),
  items: Type.Array(Item, { minItems: 1 }),
  placedAt: Type.String(),
})
export type OrderPlaced = Static<typeof OrderPlaced>

/** Message published with routing key order.processed. */
export const OrderProcessed = Type.Object({
  id: Type.String({ minLength: 1 }),
  processedAt: Type.String(),
})
export type OrderProcessed = Static<typeof OrderProcessed>

export const OrderId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })
