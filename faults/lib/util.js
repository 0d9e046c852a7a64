import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'

export { sleep }

/** The shared broker of this run (FASTIFY_AMQP_BROKER picks 4.x or 3.10; AMQP_URL overrides). */
import { SHARED_URL } from '@fastify-amqp/test-broker'

export { SHARED_URL }

export function uniqueName(prefix) {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

/** Resolves once check() is truthy; polls every `every` ms and fails with `what` after `timeout` ms. */
export async function until(check, timeout, what, every = 50) {
  const deadline = Date.now() + timeout
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for: ${what}`)
    await sleep(every)
  }
}

/** Like until(), but resolves false at the deadline instead of throwing. */
export async function waitFor(check, timeout, every = 50) {
  try {
    await until(check, timeout, '', every)
    return true
  } catch {
    return false
  }
}

/** Queue names of one scenario run: its own exchange and two stage queues. */
export function pipelineNames(prefix) {
  const id = uniqueName(`faults-${prefix}`)
  return { exchange: id, stage1: `${id}.stage1`, final: `${id}.final` }
}

/** Everything the consumer plugin may have declared for a pipeline's queues (delay queues, DLQs). */
export function allQueues(names, delays = []) {
  const queues = []
  for (const queue of [names.stage1, names.final]) {
    queues.push(queue, `${queue}.dlq`)
    for (const ms of delays) queues.push(`${queue}.delay.${ms}`)
  }
  return queues
}

export function mb(bytes) {
  return Math.round((bytes / 1024 / 1024) * 10) / 10
}

/** A logger for Fastify that keeps warnings and errors in memory (for the report when a check fails). */
export function memoryLogger(level = 'warn', limit = 2_000) {
  const lines = []
  return {
    lines,
    tail: (n = 40) => lines.slice(-n).join(''),
    options: {
      level,
      stream: {
        write(line) {
          lines.push(line)
          if (lines.length > limit) lines.splice(0, lines.length - limit)
        },
      },
    },
  }
}
