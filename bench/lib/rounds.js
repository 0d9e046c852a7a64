import { median } from '../stats.js'

/** Round-robin order: every round starts one contender further, so no one always runs first or last. */
export function rotate(list, round) {
  const k = round % list.length
  return [...list.slice(k), ...list.slice(0, k)]
}

export function summarize(samples) {
  return { samples, median: median(samples), min: Math.min(...samples), max: Math.max(...samples) }
}

export function log(...args) {
  process.stderr.write(`${args.join(' ')}\n`)
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Rejects after ms with what was awaited, so a stuck contender fails the run instead of hanging it. */
export function within(promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** object[key].push(value), creating the list on first use. */
export function append(object, key, value) {
  if (object[key] === undefined) object[key] = []
  object[key].push(value)
}

/** object[key], created as {} on first use. */
export function child(object, key) {
  if (object[key] === undefined) object[key] = {}
  return object[key]
}
