/**
 * The connection close of a Khepri node that lost its metadata quorum (RabbitMQ 4.2+ clusters): a
 * declaration on the minority side waits for the store's timeout, then the broker closes the whole
 * connection with a 541. Another node may be on the majority side, so the next attempt goes there.
 */
export function isMetadataTimeout(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown }
  // "...because the metadata store operation timed out" (queues), "...because the operation timed out" (exchanges)
  return code === 541 && /operation timed out/.test(String(message))
}
