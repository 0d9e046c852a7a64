import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Config {
  port: number
  host: string
  amqpUrl: string
  logLevel: string
  databasePath: string
  /** Prepended to the exchange and queue names, so several copies can share one broker (tests do). */
  amqpPrefix: string
  /** Simulated work per order in the processing consumer, ms. */
  workDelayMs: number
  /** How long start-up waits for the broker before giving up, ms. */
  connectTimeout: number
  /** How long app.close() waits for running consumer handlers, ms. */
  drainTimeout: number
  /** Whole graceful shutdown budget; past it the process exits 1. */
  shutdownTimeout: number
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

// dist/config.js and src/config.ts both sit one level below the app's root.
const APP_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const DEFAULT_DATABASE_PATH = resolve(APP_ROOT, 'data', 'orders.db')
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`)
  }
  return value
}

/** Reads the configuration from the environment; throws a ConfigError naming the variable at fault. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.LOG_LEVEL || 'info'
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`)
  }
  const amqpUrl = env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672'
  if (!/^amqps?:\/\//.test(amqpUrl)) throw new ConfigError('AMQP_URL must start with amqp:// or amqps://')
  const amqpPrefix = env.AMQP_PREFIX ?? ''
  if (!/^[\w.-]*$/.test(amqpPrefix)) throw new ConfigError('AMQP_PREFIX may hold only letters, digits, "_", "-", "."')
  const drainTimeout = integer(env, 'DRAIN_TIMEOUT', 10_000, 0, 600_000)
  return {
    port: integer(env, 'PORT', 3000, 0, 65_535),
    host: env.HOST || '127.0.0.1',
    amqpUrl,
    logLevel,
    databasePath: resolve(env.DATABASE_PATH || DEFAULT_DATABASE_PATH),
    amqpPrefix,
    workDelayMs: integer(env, 'WORK_DELAY_MS', 20, 0, 600_000),
    connectTimeout: integer(env, 'CONNECT_TIMEOUT', 5_000, 100, 600_000),
    drainTimeout,
    // Room for the drain plus flushing confirms and closing the connection.
    shutdownTimeout: integer(env, 'SHUTDOWN_TIMEOUT', drainTimeout + 10_000, 1_000, 900_000),
  }
}
