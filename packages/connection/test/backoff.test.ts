import t from 'tap'
import { Backoff, backoffDelay } from '../src/backoff.js'

const base = { initialDelay: 100, maxDelay: 1_000, factor: 2 }

t.test('the ceiling grows by factor and is capped at maxDelay', async (t) => {
  const none = { ...base, jitter: 'none' as const }
  t.same(
    [1, 2, 3, 4, 5, 6, 20].map((attempt) => backoffDelay(none, attempt)),
    [100, 200, 400, 800, 1_000, 1_000, 1_000]
  )
})

t.test('full jitter spreads over [0, ceiling] and never exceeds it', async (t) => {
  const full = { ...base, jitter: 'full' as const }
  t.equal(
    backoffDelay(full, 3, () => 0),
    0
  )
  t.equal(
    backoffDelay(full, 3, () => 0.999999),
    400
  )
  const draws = Array.from({ length: 2_000 }, () => backoffDelay(full, 10))
  t.ok(Math.max(...draws) <= 1_000, 'capped')
  t.ok(Math.min(...draws) >= 0, 'never negative')
  // Uniform spread: both halves of the range are well populated.
  const low = draws.filter((d) => d < 500).length
  t.ok(low > 800 && low < 1_200, `about half below the midpoint (${low}/2000)`)
  t.ok(new Set(draws).size > 300, 'many distinct values, no point mass')
})

t.test('equal jitter stays within [ceiling/2, ceiling]', async (t) => {
  const equal = { ...base, jitter: 'equal' as const }
  const draws = Array.from({ length: 500 }, () => backoffDelay(equal, 2))
  t.ok(Math.min(...draws) >= 100 && Math.max(...draws) <= 200)
})

t.test('the attempt count resets only after a stable period', async (t) => {
  let now = 0
  const backoff = new Backoff({ ...base, jitter: 'none', stableAfter: 1_000 }, () => now)
  t.equal(backoff.next(), 100)
  t.equal(backoff.next(), 200)
  backoff.up()
  now += 500
  backoff.down() // up for 500 ms: a flap, keep backing off
  t.equal(backoff.next(), 400)
  backoff.up()
  now += 1_000
  backoff.down() // stable: start again from the first delay
  t.equal(backoff.attempt, 0)
  t.equal(backoff.next(), 100)
  backoff.reset()
  t.equal(backoff.attempt, 0)
})
