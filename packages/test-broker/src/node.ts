import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { registerLive, spawnWatchdog, unregisterLive } from './cleanup.js'
import { type ConsumerInfo, closeConnectionsNamedWith, listConsumersWith } from './cli-queries.js'
import { epmdNames } from './epmd.js'
import { logTail } from './log-tail.js'
import { freePort, isPortOpen, sleep } from './ports.js'
import { isSameProcessAlive, killGroup, killProcesses, type ProcessRef, processTree } from './process-tree.js'
import { runRabbitmqctl } from './rabbitmqctl.js'
import { type BrokerRuntime, brokerRuntime, innerPath, rabbitmqCommand } from './runtime.js'

export interface BrokerNodeOptions {
  /** Short node name (the host part is always `localhost`); default `tb-<random>`. */
  name?: string
  /** Erlang cookie; nodes that share one can form a cluster. Default: Erlang makes a random one at first start. */
  cookie?: string
  /** Limit of each start(), ms; default 60 000. */
  startTimeout?: number
  /** Which RabbitMQ to run; default: the one FASTIFY_AMQP_BROKER chooses (4.x unless it says 3.10). */
  runtime?: BrokerRuntime
  /**
   * Extra lines for the node's rabbitmq.conf (e.g. `consumer_timeout = 5000`). `{dir}` stands for the node's
   * own dir as the node sees it (inside the broker root for 4.x): where `files` are.
   */
  config?: readonly string[]
  /** Files written into the node's dir before it starts, by name (certificates for a TLS listener...). */
  files?: Readonly<Record<string, string | Buffer>>
  /** Plugins to enable (e.g. `rabbitmq_auth_mechanism_ssl`); none by default. */
  plugins?: readonly string[]
  /**
   * The rabbit application's settings that rabbitmq.conf cannot set, written to advanced.config as
   * Erlang terms: e.g. `{ dead_letter_worker_publisher_confirm_timeout: 1000 }`. Numbers and booleans only.
   */
  rabbitEnv?: Readonly<Record<string, number | boolean>>
}

export interface BrokerNode {
  readonly nodeName: string
  readonly port: number
  readonly url: string
  /** The node's temp dir on this machine (for a 4.x node, inside the broker root). */
  readonly dataDir: string
  readonly runtime: BrokerRuntime
  /** True from the spawn of the server process until it exits. */
  readonly isRunning: boolean
  start(): Promise<void>
  stop(): Promise<void>
  restart(options?: { keepData?: boolean }): Promise<void>
  kill(): Promise<void>
  setMemoryAlarm(on: boolean): Promise<void>
  closeAllConnections(reason?: string): Promise<void>
  closeConnectionsNamed(connectionName: string, reason?: string): Promise<number>
  listConsumers(): Promise<ConsumerInfo[]>
  rabbitmqctl(...args: string[]): Promise<string>
  dispose(): Promise<void>
}

const DEFAULT_START_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 20_000
const START_ATTEMPTS = 3
const DEFAULT_REASON = 'closed by @fastify-amqp/test-broker'

interface Running {
  child: ChildProcess
  watchdog: ChildProcess
  exited: Promise<void>
  exitCode: number | null
  exitSignal: NodeJS.Signals | null
  hasExited: boolean
}

/**
 * A free port outside 35672-35682, where every rabbitmqctl run listens for its own Erlang distribution:
 * a CLI started while the node boots (await_startup does) could otherwise take the port the node is about to bind.
 */
async function nodePort(): Promise<number> {
  for (;;) {
    const port = await freePort()
    if (port < 35672 || port > 35682) return port
  }
}

function shortNameOf(name: string | undefined): string {
  const short = (name ?? `tb-${randomBytes(4).toString('hex')}`).replace(/@localhost$/, '')
  if (!/^[A-Za-z0-9_-]+$/.test(short)) {
    throw new Error(
      `invalid node name ${JSON.stringify(name)}: use letters, digits, - and _ (host is always localhost)`
    )
  }
  return short
}

function validCookie(cookie: string): string {
  if (!/^[A-Za-z0-9]+$/.test(cookie)) throw new Error('invalid Erlang cookie: use letters and digits only')
  return cookie
}

class DisposableBrokerNode implements BrokerNode {
  readonly nodeName: string
  readonly dataDir: string
  readonly runtime: BrokerRuntime
  /** dataDir as the node's own processes see it (differs for a node that runs in a broker root). */
  private readonly innerDir: string
  private readonly shortName: string
  private readonly startTimeoutMs: number
  private amqpPort = 0
  private distPort = 0
  private running: Running | undefined
  private everStarted = false
  private spawnedBefore = false
  private disposed = false
  /** start/stop/kill/restart/dispose run one at a time, in call order. */
  private lifecycle: Promise<unknown> = Promise.resolve()

  constructor(options: BrokerNodeOptions) {
    this.shortName = shortNameOf(options.name)
    this.nodeName = `${this.shortName}@localhost`
    this.startTimeoutMs = options.startTimeout ?? DEFAULT_START_TIMEOUT_MS
    const cookie = options.cookie === undefined ? undefined : validCookie(options.cookie)
    // Checked before anything is made on disk.
    const advanced = options.rabbitEnv === undefined ? undefined : advancedConfig(options.rabbitEnv)
    this.runtime = options.runtime ?? brokerRuntime()
    const parent = this.runtime.root === undefined ? tmpdir() : join(this.runtime.root, 'tmp')
    this.dataDir = mkdtempSync(join(parent, `test-broker-${this.shortName}-`))
    this.innerDir = innerPath(this.runtime, this.dataDir)
    writeFileSync(join(this.dataDir, 'enabled_plugins'), `[${(options.plugins ?? []).join(',')}].\n`)
    writeFileSync(join(this.dataDir, 'rabbitmq-env.conf'), '')
    for (const [name, content] of Object.entries(options.files ?? {})) {
      if (name.includes('/') || name.startsWith('.')) throw new Error(`files: "${name}" must be a plain file name`)
      writeFileSync(join(this.dataDir, name), content)
    }
    // A low disk limit, so a nearly full CI disk does not raise a disk alarm and block publishers by surprise.
    // On 4.x, transient non-exclusive queues are denied as a strict 4.x broker denies them.
    const lines = (options.config ?? []).map((line) => line.replaceAll('{dir}', this.innerDir))
    const config = ['disk_free_limit.absolute = 10MB', ...lines]
    if (this.runtime.name === '4') config.push('deprecated_features.permit.transient_nonexcl_queues = false')
    writeFileSync(join(this.dataDir, 'rabbitmq.conf'), `${config.join('\n')}\n`)
    if (advanced !== undefined) writeFileSync(join(this.dataDir, 'advanced.config'), advanced)
    // HOME is dataDir for server and CLI alike; Erlang insists the cookie file is readable by its owner only.
    if (cookie !== undefined) writeFileSync(join(this.dataDir, '.erlang.cookie'), cookie, { mode: 0o400 })
    registerLive(this)
  }

  get port(): number {
    return this.amqpPort
  }

  get isRunning(): boolean {
    return this.running !== undefined
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.amqpPort}`
  }

  private get logFile(): string {
    return join(this.dataDir, 'rabbitmq.log')
  }

  private get mnesiaBase(): string {
    return join(this.dataDir, 'mnesia')
  }

  /**
   * The environment of both the server and its CLI: nothing from /etc/rabbitmq, /var/lib/rabbitmq or the caller.
   * Paths are the node's own view of dataDir (inside its root, for 4.x).
   */
  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {}
    for (const [key, value] of Object.entries(process.env)) {
      if (!key.startsWith('RABBITMQ_') && !key.startsWith('ERL_')) env[key] = value
    }
    const dir = this.innerDir
    return {
      ...env,
      HOME: dir, // the Erlang cookie is created here, shared by server and CLI
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.amqpPort),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_LOGS: '-', // log to stdout only, which goes to rabbitmq.log
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      RABBITMQ_CONFIG_FILES: join(dir, 'conf.d'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
      RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      // the runtime's own epmd; a node starts it if none runs yet (it daemonizes; we never kill it)
      ERL_EPMD_PORT: String(this.runtime.epmdPort),
      ERL_EPMD_ADDRESS: '127.0.0.1',
    }
  }

  rabbitmqctl(...args: string[]): Promise<string> {
    return runRabbitmqctl(['-n', this.nodeName, ...args], { runtime: this.runtime, env: this.env(), cwd: this.dataDir })
  }

  start(): Promise<void> {
    return this.serialize(() => this.doStart())
  }

  stop(): Promise<void> {
    return this.serialize(() => this.doStop())
  }

  kill(): Promise<void> {
    return this.serialize(() => this.doKill())
  }

  restart(options: { keepData?: boolean } = {}): Promise<void> {
    return this.serialize(async () => {
      await this.doStop()
      if (options.keepData === false) rmSync(this.mnesiaBase, { recursive: true, force: true })
      await this.doStart()
    })
  }

  dispose(): Promise<void> {
    return this.serialize(async () => {
      await this.doKill()
      this.disposed = true
      rmSync(this.dataDir, { recursive: true, force: true })
      unregisterLive(this)
    }, 'skip')
  }

  async setMemoryAlarm(on: boolean): Promise<void> {
    // 0.0000001 of the RAM is below what any node uses, so the memory alarm goes off at once; 0.4 is the default
    await this.rabbitmqctl('-q', 'set_vm_memory_high_watermark', on ? '0.0000001' : '0.4')
  }

  async closeAllConnections(reason = DEFAULT_REASON): Promise<void> {
    await this.rabbitmqctl('-q', 'close_all_connections', reason)
  }

  closeConnectionsNamed(connectionName: string, reason?: string): Promise<number> {
    return closeConnectionsNamedWith((...args) => this.rabbitmqctl(...args), connectionName, reason)
  }

  listConsumers(): Promise<ConsumerInfo[]> {
    return listConsumersWith((...args) => this.rabbitmqctl(...args))
  }

  /** Process 'exit' safety net for a node nobody disposed: SIGKILL it and remove its files, synchronously. */
  emergencyCleanup(): void {
    this.killSync()
    rmSync(this.dataDir, { recursive: true, force: true })
  }

  /** Synchronous SIGKILL of everything this node runs. */
  private killSync(): void {
    const running = this.running
    if (!running) return
    const pid = running.child.pid
    if (pid !== undefined) {
      const tree = processTree(pid)
      killGroup(pid)
      killProcesses(tree)
    }
    if (running.watchdog.pid !== undefined) killGroup(running.watchdog.pid)
  }

  private serialize<T>(operation: () => Promise<T>, whenDisposed: 'throw' | 'skip' = 'throw'): Promise<T | undefined> {
    const result = this.lifecycle.then(() => {
      if (!this.disposed) return operation()
      if (whenDisposed === 'skip') return undefined
      throw new Error(`broker node ${this.nodeName} is disposed`)
    })
    this.lifecycle = result.catch(() => {})
    return result
  }

  private async doStart(): Promise<void> {
    if (this.running) return
    for (let attempt = 1; ; attempt++) {
      if (!this.everStarted) {
        // Ports are picked once and kept for the node's life, so clients can reconnect to the same URL.
        this.amqpPort = await nodePort()
        do this.distPort = await nodePort()
        while (this.distPort === this.amqpPort)
      }
      try {
        await this.boot()
        this.everStarted = true
        return
      } catch (error) {
        const portTaken = /eaddrinuse|address already in use|in use by another node/i.test(String(error))
        if (this.everStarted || !portTaken || attempt >= START_ATTEMPTS) throw error
      }
    }
  }

  private async boot(): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs
    await this.waitUntilNameFree(deadline)
    mkdirSync(join(this.dataDir, 'log'), { recursive: true })
    const logFd = openSync(this.logFile, 'a')
    let child: ChildProcess
    const [command, args] = rabbitmqCommand(this.runtime, 'rabbitmq-server', [])
    try {
      // chroot execs the server, so the child's pid is the server's either way
      child = spawn(command, args, {
        cwd: this.dataDir,
        env: this.env(),
        detached: true, // own process group, so kill() can take beam and its shell down together
        stdio: ['ignore', logFd, logFd],
      })
    } finally {
      closeSync(logFd)
    }
    const pid = child.pid
    if (pid === undefined) {
      await new Promise((resolve) => child.once('error', resolve))
      throw new Error(`could not spawn ${command} ${args.join(' ')}`)
    }
    this.spawnedBefore = true
    const watchdog = spawnWatchdog(pid, this.dataDir)
    const running: Running = {
      child,
      watchdog,
      exitCode: null,
      exitSignal: null,
      hasExited: false,
      exited: new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          running.exitCode = code
          running.exitSignal = signal
          running.hasExited = true
          if (watchdog.pid !== undefined) killGroup(watchdog.pid)
          if (this.running === running) this.running = undefined
          resolve()
        })
      }),
    }
    child.on('error', () => {})
    child.unref() // a forgotten node must not keep the test process alive; the exit hook then kills it
    this.running = running
    try {
      await this.waitUntilUp(running, deadline)
    } catch (error) {
      await this.doKill()
      throw new Error(
        `RabbitMQ node ${this.nodeName} (amqp port ${this.amqpPort}, dist port ${this.distPort}) did not start: ${
          (error as Error).message
        }\n--- last lines of ${this.logFile} ---\n${logTail(this.logFile, 40)}`
      )
    }
  }

  private async waitUntilNameFree(deadline: number): Promise<void> {
    // After our own node died, epmd may need a moment to notice; before that, the name is someone else's.
    const limit = this.spawnedBefore ? Math.min(deadline, Date.now() + 10_000) : 0
    while ((await epmdNames(this.runtime.epmdPort)).has(this.shortName)) {
      if (Date.now() > limit) {
        throw new Error(`node name ${this.nodeName} is registered with epmd by another running Erlang node`)
      }
      await sleep(200)
    }
  }

  private async waitUntilUp(running: Running, deadline: number): Promise<void> {
    const check = (what: string): void => {
      if (running.hasExited) {
        throw new Error(`the server process exited (code ${running.exitCode}, signal ${running.exitSignal}) ${what}`)
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${this.startTimeoutMs / 1000}s ${what}`)
    }
    // 1. the node registered with epmd: until then `rabbitmqctl await_startup` fails at once
    while ((await epmdNames(this.runtime.epmdPort)).get(this.shortName) !== this.distPort) {
      check('before registering with epmd')
      await sleep(100)
    }
    // 2. the rabbit application booted
    for (;;) {
      check('before await_startup succeeded')
      const seconds = String(Math.max(1, Math.ceil((deadline - Date.now()) / 1000)))
      const outcome = await Promise.race([
        this.rabbitmqctl('-q', 'await_startup', '--timeout', seconds).then(
          () => 'up' as const,
          (error: Error) => error
        ),
        running.exited.then(() => 'exited' as const),
      ])
      if (outcome === 'up') break
      if (outcome !== 'exited' && Date.now() > deadline) throw outcome
      await sleep(250)
    }
    // 3. await_startup can return a moment before the AMQP listener accepts connections
    while (!(await isPortOpen(this.amqpPort))) {
      check(`before port ${this.amqpPort} accepted connections`)
      await sleep(100)
    }
  }

  private async doStop(): Promise<void> {
    const running = this.running
    if (!running) return
    const tree = running.child.pid === undefined ? [] : processTree(running.child.pid)
    running.child.ref() // we wait for its exit now, so it must keep the event loop alive
    try {
      await this.rabbitmqctl('-q', 'stop')
    } catch {
      // a hung or half-dead node: the SIGKILL below takes care of it
    }
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS)
    })
    const outcome = await Promise.race([running.exited, timedOut])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      await this.doKill()
      return
    }
    await this.reap(tree)
  }

  private async doKill(): Promise<void> {
    const running = this.running
    if (!running) return
    const pid = running.child.pid
    const tree = pid === undefined ? [] : processTree(pid)
    running.child.ref() // we wait for its exit now, so it must keep the event loop alive
    this.killSync()
    await running.exited
    await this.reap(tree)
  }

  /** SIGKILLs and waits out whatever of the node's process tree (erl_child_setup, inet_gethost, ...) is left. */
  private async reap(tree: readonly ProcessRef[]): Promise<void> {
    killProcesses(tree)
    const limit = Date.now() + 5_000
    while (tree.some((proc) => proc.comm !== 'epmd' && isSameProcessAlive(proc)) && Date.now() < limit) await sleep(50)
  }
}

/** Creates a disposable RabbitMQ node in a fresh temp dir and starts it. */
export async function startBroker(options: BrokerNodeOptions = {}): Promise<BrokerNode> {
  const node = new DisposableBrokerNode(options)
  try {
    await node.start()
  } catch (error) {
    await node.dispose()
    throw error
  }
  return node
}

/** `[{rabbit, [{key, value}, ...]}].` for the settings given; keys must be Erlang atoms (lower case, _). */
function advancedConfig(env: Readonly<Record<string, number | boolean>>): string {
  const settings = Object.entries(env).map(([key, value]) => {
    if (!/^[a-z][a-z0-9_]*$/.test(key)) throw new TypeError(`rabbitEnv: "${key}" is not an Erlang atom`)
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new TypeError(`rabbitEnv.${key}: not a finite number`)
    return `{${key}, ${String(value)}}`
  })
  return `[{rabbit, [${settings.join(', ')}]}].\n`
}
