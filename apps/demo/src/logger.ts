import { createRequire } from 'node:module'
import type { FastifyServerOptions } from 'fastify'

// Resolved from here: pino resolves a transport's target from its own place, where pnpm does not put pino-pretty.
const PINO_PRETTY = createRequire(import.meta.url).resolve('pino-pretty')

/** Fastify's logger: pretty lines (pino-pretty, in pino's worker thread) in a terminal, JSON lines otherwise. */
export function loggerOptions(level: string, tty = Boolean(process.stdout.isTTY)): FastifyServerOptions['logger'] {
  if (!tty) return { level }
  return {
    level,
    transport: {
      target: PINO_PRETTY,
      options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true },
    },
  }
}
