import { readFileSync } from 'node:fs'
import { type ConsumerInfo, closeConnectionsNamedWith, listConnectionsWith, listConsumersWith } from './cli-queries.js'
import { runRabbitmqctl } from './rabbitmqctl.js'
import { brokerRuntime } from './runtime.js'

const runtime = brokerRuntime()

/** The shared broker every package's tests use (per FASTIFY_AMQP_BROKER); only ever touched through named connections. */
export const SHARED_NODE_NAME = runtime.sharedNodeName

/** Its URL; AMQP_URL overrides it. */
export const SHARED_URL = runtime.sharedUrl

interface Account {
  uid: number
  gid: number
  home: string
}

function rabbitmqAccount(): Account | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid, gid, , home] = line.split(':')
      if (name === 'rabbitmq' && uid && gid && home) return { uid: Number(uid), gid: Number(gid), home }
    }
  } catch {
    // no /etc/passwd: not Linux
  }
  return undefined
}

/**
 * rabbitmqctl against the shared node. The 4.x node runs as root in its own root, with its cookie in its HOME.
 * On the machine's 3.10, as root the CLI runs as the rabbitmq user with its HOME, like Debian's
 * /usr/sbin/rabbitmqctl wrapper does (but without its shell quoting); otherwise as the current user.
 */
export function sharedRabbitmqctl(...args: string[]): Promise<string> {
  const nodeArgs = ['-n', SHARED_NODE_NAME, ...args]
  if (runtime.sharedHome !== undefined) {
    return runRabbitmqctl(nodeArgs, {
      runtime,
      env: { ...process.env, HOME: runtime.sharedHome, ERL_EPMD_PORT: String(runtime.epmdPort) },
    })
  }
  const account = process.getuid?.() === 0 ? rabbitmqAccount() : undefined
  if (!account) return runRabbitmqctl(nodeArgs, { runtime })
  return runRabbitmqctl(nodeArgs, {
    runtime,
    uid: account.uid,
    gid: account.gid,
    cwd: account.home,
    env: { ...process.env, HOME: account.home, USER: 'rabbitmq', LOGNAME: 'rabbitmq' },
  })
}

/** Closes the shared broker's connections whose client_properties.connection_name equals connectionName. */
export function closeSharedConnectionsNamed(connectionName: string, reason?: string): Promise<number> {
  return closeConnectionsNamedWith(sharedRabbitmqctl, connectionName, reason)
}

/** Consumers on the shared broker (default vhost), optionally only those of one queue. */
export async function listSharedConsumers(queue?: string): Promise<ConsumerInfo[]> {
  const consumers = await listConsumersWith(sharedRabbitmqctl)
  return queue === undefined ? consumers : consumers.filter((consumer) => consumer.queue === queue)
}

/** The connection_name of every shared-broker connection whose name starts with prefix (a test's own, by its unique name). */
export async function listSharedConnectionNames(prefix: string): Promise<string[]> {
  const connections = await listConnectionsWith(sharedRabbitmqctl)
  return connections.flatMap(({ connectionName }) => (connectionName?.startsWith(prefix) ? [connectionName] : []))
}
