/** Options of the AsyncAPI document (the plugin's `asyncapi` option). */
export interface AsyncApiOptions {
  /** Serves the document as JSON at this path (GET), like @fastify/swagger's route. Default: not served. */
  route?: string
  /** The document's `info`. Defaults: title 'fastify-amqp service', version '1.0.0'. */
  info?: { title?: string; version?: string; description?: string }
  /**
   * The document's `servers`, as they are (e.g. `{ production: { host: 'rabbit:5672', protocol: 'amqp' } }`).
   * Default: none; the broker's address is not published unless you say so.
   */
  servers?: Record<string, object>
}

export interface AsyncApiRef {
  $ref: string
}

/** The `x-` extensions the document carries: see the consumer README, "AsyncAPI document". */
type Extensions = { [extension: `x-${string}`]: unknown }

export type AsyncApiChannel = Extensions & {
  /** The queue name (`is: queue`) or the routing key (`is: routingKey`); null when AsyncAPI cannot express it. */
  address: string | null
  title?: string
  description?: string
  messages: Record<string, AsyncApiRef>
  bindings: { amqp: Record<string, unknown> }
}

export type AsyncApiOperation = Extensions & {
  action: 'send' | 'receive'
  channel: AsyncApiRef
  messages: AsyncApiRef[]
  summary?: string
  bindings: { amqp: Record<string, unknown> }
}

export interface AsyncApiMessage {
  name: string
  title?: string
  summary?: string
  contentType: string
  /** JSON Schema (TypeBox schemas are JSON Schema, copied without TypeBox's own markers). */
  payload: object
  headers?: object
}

/** What app.asyncapi() returns: an AsyncAPI 3.0.0 document as a plain object (JSON.stringify it to serve it). */
export interface AsyncApiDocument {
  asyncapi: '3.0.0'
  info: { title: string; version: string; description?: string }
  servers?: Record<string, object>
  defaultContentType: 'application/json'
  channels: Record<string, AsyncApiChannel>
  operations: Record<string, AsyncApiOperation>
  components: { messages: Record<string, AsyncApiMessage> }
}
