import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { listConnectionsWith, quorumLeaderWith } from './cli-queries.js'
import { logTail } from './log-tail.js'
import { type BrokerNode, startBroker } from './node.js'
import { sleep } from './ports.js'
import type { BrokerRuntime } from './runtime.js'

export interface BrokerClusterOptions {
  /** Number of nodes; default 3, the least that keeps a quorum queue's majority with one node stopped. */
  size?: number
  /** Prefix of the short node names `<name>-1`, `<name>-2`, ...; default `tc-<random>`. */
  name?: string
  /** Which RabbitMQ to run; default: the one FASTIFY_AMQP_BROKER chooses. 4.x clusters use Khepri, its default. */
  runtime?: BrokerRuntime
  /** Extra rabbitmq.conf lines for every node. */
  config?: readonly string[]
}

export interface ClusterStatus {
  /** Node names that are members of the cluster. */
  members: string[]
  /** Members running right now. */
  running: string[]
}

export interface BrokerCluster {
  /** Node i serves urls[i]; node 0 is the one the others joined. */
  readonly nodes: readonly BrokerNode[]
  readonly urls: string[]
  /** Stops node i (`rabbitmqctl stop`) and waits until the rest of the cluster sees it down. */
  stopNode(index: number): Promise<void>
  /** Starts node i again and waits until the cluster lists it as running. */
  startNode(index: number): Promise<void>
  /** Index of the node holding a client connection with this connection_name; undefined if none does. */
  nodeOf(connectionName: string): Promise<number | undefined>
  /** Index of the node holding the leader of this quorum queue; undefined if none does. */
  leaderOf(queue: string): Promise<number | undefined>
  /** `rabbitmqctl cluster_status`, asked of the first running node that answers. */
  status(): Promise<ClusterStatus>
  /** Kills every node and removes their directories; idempotent. */
  dispose(): Promise<void>
}

// A loaded 2-core machine boots three nodes at once far slower than one alone.
const NODE_START_TIMEOUT_MS = 120_000
const CONVERGE_TIMEOUT_MS = 60_000
const LOG_LINES = 30

function parseStatus(stdout: string): ClusterStatus {
  const start = stdout.indexOf('{')
  if (start < 0) throw new Error(`expected JSON from cluster_status, got: ${stdout.slice(0, 500)}`)
  const raw = JSON.parse(stdout.slice(start)) as Record<string, unknown>
  const names = (key: string) => (Array.isArray(raw[key]) ? (raw[key] as unknown[]).map(String) : [])
  return { members: [...names('disk_nodes'), ...names('ram_nodes')], running: names('running_nodes') }
}

class DisposableBrokerCluster implements BrokerCluster {
  readonly nodes: readonly BrokerNode[]

  constructor(nodes: readonly BrokerNode[]) {
    this.nodes = nodes
  }

  get urls(): string[] {
    return this.nodes.map((node) => node.url)
  }

  /** Joins nodes 1..n-1 to node 0. Their stop_app and reset overlap; the joins themselves go one at a time. */
  async form(): Promise<void> {
    const [seed, ...others] = this.nodes as [BrokerNode, ...BrokerNode[]]
    let joins: Promise<unknown> = Promise.resolve()
    await Promise.all(
      others.map(async (node) => {
        await this.ctl(node, 'stop_app')
        await this.ctl(node, 'reset')
        const joined = joins.then(() => this.ctl(node, 'join_cluster', seed.nodeName))
        joins = joined.catch(() => {})
        await joined
        await this.ctl(node, 'start_app')
      })
    )
    const all = this.nodes.map((node) => node.nodeName)
    await this.waitForStatus('every node running', (status) => all.every((name) => status.running.includes(name)))
  }

  async stopNode(index: number): Promise<void> {
    const node = this.node(index)
    await node.stop()
    await this.waitForStatus(`${node.nodeName} seen down`, (status) => !status.running.includes(node.nodeName))
  }

  async startNode(index: number): Promise<void> {
    const node = this.node(index)
    await node.start()
    await this.waitForStatus(`${node.nodeName} running again`, (status) => status.running.includes(node.nodeName))
  }

  async nodeOf(connectionName: string): Promise<number | undefined> {
    // list_connections covers every running node of the cluster; the server port tells which node holds each one.
    const connections = await this.ask((node) => listConnectionsWith((...args) => node.rabbitmqctl(...args)))
    const connection = connections.find((info) => info.connectionName === connectionName)
    if (!connection) return undefined
    const index = this.nodes.findIndex((node) => node.port === connection.port)
    return index < 0 ? undefined : index
  }

  async leaderOf(queue: string): Promise<number | undefined> {
    const leader = await this.ask((node) => quorumLeaderWith((...args) => node.rabbitmqctl(...args), queue))
    const index = this.nodes.findIndex((node) => node.nodeName === leader)
    return index < 0 ? undefined : index
  }

  async status(): Promise<ClusterStatus> {
    return this.ask(async (node) => parseStatus(await node.rabbitmqctl('-q', 'cluster_status', '--formatter', 'json')))
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.dispose()))
  }

  private node(index: number): BrokerNode {
    const node = this.nodes[index]
    if (!node) throw new RangeError(`no node ${index}: the cluster has nodes 0..${this.nodes.length - 1}`)
    return node
  }

  /** Runs a query on the first running node that answers. */
  private async ask<T>(query: (node: BrokerNode) => Promise<T>): Promise<T> {
    const errors: string[] = []
    for (const node of this.nodes) {
      if (!node.isRunning) continue
      try {
        return await query(node)
      } catch (error) {
        errors.push(`${node.nodeName}: ${(error as Error).message}`)
      }
    }
    throw new Error(`no running node of the cluster answered\n${errors.join('\n') || '(none is running)'}`)
  }

  private async ctl(node: BrokerNode, ...args: string[]): Promise<string> {
    try {
      return await node.rabbitmqctl('-q', ...args)
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${this.logs([node])}`)
    }
  }

  private async waitForStatus(what: string, done: (status: ClusterStatus) => boolean): Promise<void> {
    const deadline = Date.now() + CONVERGE_TIMEOUT_MS
    let last = '(no answer yet)'
    for (;;) {
      try {
        const status = await this.status()
        if (done(status)) return
        last = JSON.stringify(status)
      } catch (error) {
        last = (error as Error).message
      }
      if (Date.now() > deadline) {
        throw new Error(
          `cluster not converged after ${CONVERGE_TIMEOUT_MS / 1000}s: waiting for ${what}; last cluster_status: ${last}\n${this.logs(this.nodes)}`
        )
      }
      await sleep(500)
    }
  }

  private logs(nodes: readonly BrokerNode[]): string {
    return nodes
      .map((node) => {
        const file = join(node.dataDir, 'rabbitmq.log')
        return `--- last lines of ${file} (${node.nodeName}) ---\n${logTail(file, LOG_LINES)}`
      })
      .join('\n')
  }
}

/**
 * Starts `size` disposable nodes sharing one Erlang cookie and joins them into one cluster (node 0 first).
 * Nothing is left behind on failure: the nodes started so far are disposed before the error is thrown.
 */
export async function startCluster(options: BrokerClusterOptions = {}): Promise<BrokerCluster> {
  const size = options.size ?? 3
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`cluster size must be an integer >= 1, got ${size}`)
  const prefix = options.name ?? `tc-${randomBytes(4).toString('hex')}`
  const cookie = randomBytes(20).toString('hex').toUpperCase()
  const started = await Promise.allSettled(
    Array.from({ length: size }, (_, i) =>
      startBroker({
        name: `${prefix}-${i + 1}`,
        cookie,
        startTimeout: NODE_START_TIMEOUT_MS,
        runtime: options.runtime,
        config: options.config,
      })
    )
  )
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const failures = started.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []))
  if (failures.length > 0) {
    await Promise.all(nodes.map((node) => node.dispose()))
    throw new Error(`cluster ${prefix}: ${failures.length} of ${size} nodes did not start\n${failures.join('\n')}`)
  }
  const cluster = new DisposableBrokerCluster(nodes)
  try {
    await cluster.form()
  } catch (error) {
    await cluster.dispose()
    throw new Error(`cluster ${prefix} did not form: ${(error as Error).message}`)
  }
  return cluster
}
