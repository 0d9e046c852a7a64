/** Queries built on rabbitmqctl, shared by disposable nodes and the shared broker. */

export type Rabbitmqctl = (...args: string[]) => Promise<string>

export interface ConsumerInfo {
  queue: string
  consumerTag: string
}

/** Parses `rabbitmqctl --formatter json` output (a JSON array, possibly after banner lines). */
export function parseJsonRows(stdout: string): Array<Record<string, unknown>> {
  const start = stdout.indexOf('[')
  if (start < 0) throw new Error(`expected JSON rows from rabbitmqctl, got: ${stdout.slice(0, 500)}`)
  const rows: unknown = JSON.parse(stdout.slice(start))
  if (!Array.isArray(rows)) throw new Error(`expected a JSON array from rabbitmqctl, got: ${stdout.slice(0, 500)}`)
  return rows as Array<Record<string, unknown>>
}

/** Consumers in the default vhost. */
export async function listConsumersWith(ctl: Rabbitmqctl): Promise<ConsumerInfo[]> {
  const rows = parseJsonRows(await ctl('-q', 'list_consumers', 'queue_name', 'consumer_tag', '--formatter', 'json'))
  return rows.map((row) => ({ queue: String(row.queue_name), consumerTag: String(row.consumer_tag) }))
}

/** The node (name@host) holding a quorum queue's leader; undefined for a queue that has none (classic) or is unknown. */
export async function quorumLeaderWith(ctl: Rabbitmqctl, queue: string): Promise<string | undefined> {
  const rows = parseJsonRows(await ctl('-q', 'list_queues', 'name', 'leader', '--formatter', 'json'))
  const row = rows.find((r) => r.name === queue)
  return typeof row?.leader === 'string' && row.leader !== '' ? row.leader : undefined
}

export interface ConnectionInfo {
  /** client_properties.connection_name, if the client set one. */
  connectionName: string | undefined
  /** The broker's AMQP port the client connected to: it tells which node of a cluster holds the connection. */
  port: number
}

/** Client connections; in a cluster, those of every running node. */
export async function listConnectionsWith(ctl: Rabbitmqctl): Promise<ConnectionInfo[]> {
  const rows = parseJsonRows(await ctl('-q', 'list_connections', 'port', 'client_properties', '--formatter', 'json'))
  return rows.map((row) => ({ connectionName: connectionNameOf(row.client_properties), port: Number(row.port) }))
}

/** client_properties comes as [[key, type, value], ...] in JSON output. */
function connectionNameOf(clientProperties: unknown): string | undefined {
  if (!Array.isArray(clientProperties)) return undefined
  for (const entry of clientProperties) {
    if (Array.isArray(entry) && entry[0] === 'connection_name' && typeof entry[2] === 'string') return entry[2]
  }
  return undefined
}

/**
 * Closes (connection.close 320 CONNECTION_FORCED) the connections whose client_properties.connection_name
 * equals connectionName; resolves how many were closed.
 *
 * JSON output renders connection pids as "#PID<...>", which close_connection does not accept, so the
 * matching connection names (unique "ip:port -> ip:port" strings) are mapped to pids via the tab output.
 */
export async function closeConnectionsNamedWith(
  ctl: Rabbitmqctl,
  connectionName: string,
  reason = 'closed by @fastify-amqp/test-broker'
): Promise<number> {
  if (!connectionName) throw new Error('closeConnectionsNamed needs a non-empty connection name')
  const [json, tabs] = await Promise.all([
    ctl('-q', 'list_connections', 'name', 'client_properties', '--formatter', 'json'),
    ctl('-q', 'list_connections', '--no-table-headers', 'name', 'pid'),
  ])
  const wanted = new Set(
    parseJsonRows(json)
      .filter((row) => connectionNameOf(row.client_properties) === connectionName)
      .map((row) => String(row.name))
  )
  const pids: string[] = []
  for (const line of tabs.split('\n')) {
    const tab = line.lastIndexOf('\t')
    if (tab < 0) continue
    if (wanted.has(line.slice(0, tab))) pids.push(line.slice(tab + 1).trim())
  }
  for (const pid of pids) await ctl('-q', 'close_connection', pid, reason)
  return pids.length
}
