import { errorType } from '@fastify-amqp/publisher/telemetry'
import type { Delivery, Outcome } from './delivery.js'

/** error.type of a delivery that was not acked: its handler's error (code or class), else the dead-letter reason or the outcome. */
export function failureType(delivery: Delivery, outcome: Outcome): string {
  const failure = delivery.failure
  if (failure !== undefined && typeof failure !== 'string') return errorType(failure)
  return delivery.deathReason ?? outcome
}
