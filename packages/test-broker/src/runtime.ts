import { readFileSync } from 'node:fs'

/**
 * Which RabbitMQ the tests run on, chosen for a whole run by FASTIFY_AMQP_BROKER:
 * - `4` (the default): RabbitMQ 4.x from Debian's own package in a debootstrap root of its own
 *   (scripts/ensure-rabbitmq4.sh builds it and starts the shared 4.x node); every node runs under chroot;
 * - `3.10`: the machine's own rabbitmq-server (Debian bookworm's 3.10).
 * Disposable nodes, clusters and the shared-broker helpers all follow it, with the same API.
 */
export interface BrokerRuntime {
  readonly name: '4' | '3.10'
  /** The root every node of this runtime runs in (chroot), or undefined for the machine's own install. */
  readonly root: string | undefined
  /** The epmd every node of this runtime registers with; 4.x nodes keep to their own. */
  readonly epmdPort: number
  readonly sharedNodeName: string
  /** The shared node's data dir (its HOME holds the Erlang cookie), as its processes see it. */
  readonly sharedHome: string | undefined
  readonly sharedUrl: string
}

/** Also in scripts/ensure-rabbitmq4.sh: a test checks that both agree. */
export const RABBITMQ4 = {
  root: '/var/lib/fastify-amqp/rabbitmq4-root',
  nodeName: 'rabbit4@localhost',
  port: 5673,
  epmdPort: 4370,
  home: '/var/lib/fastify-amqp-shared',
} as const

/** Where Debian's rabbitmq-server package keeps the real scripts (the /usr/sbin ones switch user first). */
export const RABBITMQ_BIN_DIR = '/usr/lib/rabbitmq/bin'

export function brokerRuntime(env: NodeJS.ProcessEnv = process.env): BrokerRuntime {
  const wanted = env.FASTIFY_AMQP_BROKER || '4'
  if (wanted === '4') {
    return {
      name: '4',
      root: RABBITMQ4.root,
      epmdPort: RABBITMQ4.epmdPort,
      sharedNodeName: RABBITMQ4.nodeName,
      sharedHome: RABBITMQ4.home,
      sharedUrl: env.AMQP_URL || `amqp://guest:guest@127.0.0.1:${RABBITMQ4.port}`,
    }
  }
  if (wanted === '3.10' || wanted === '3') {
    return {
      name: '3.10',
      root: undefined,
      epmdPort: Number(env.ERL_EPMD_PORT) || 4369,
      sharedNodeName: env.RABBITMQ_NODENAME || 'rabbit@localhost',
      sharedHome: undefined,
      sharedUrl: env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672',
    }
  }
  throw new Error(`FASTIFY_AMQP_BROKER must be '4' or '3.10', got ${JSON.stringify(wanted)}`)
}

/** What the root was built with, e.g. "4.3.6 (Debian forky)"; written by scripts/ensure-rabbitmq4.sh. */
export function rootVersion(runtime: BrokerRuntime): string | undefined {
  if (runtime.root === undefined) return undefined
  try {
    return readFileSync(`${runtime.root}/etc/fastify-amqp-rabbitmq-version`, 'utf8').trim()
  } catch {
    return undefined
  }
}

/** The command and arguments that run one of RabbitMQ's scripts in this runtime. */
export function rabbitmqCommand(runtime: BrokerRuntime, script: string, args: readonly string[]): [string, string[]] {
  const path = `${RABBITMQ_BIN_DIR}/${script}`
  if (runtime.root === undefined) return [path, [...args]]
  return ['/usr/sbin/chroot', [runtime.root, path, ...args]]
}

/** A path as the runtime's processes see it, for a host path inside its root. */
export function innerPath(runtime: BrokerRuntime, hostPath: string): string {
  if (runtime.root === undefined) return hostPath
  if (!hostPath.startsWith(`${runtime.root}/`))
    throw new Error(`${hostPath} is outside the broker root ${runtime.root}`)
  return hostPath.slice(runtime.root.length)
}
