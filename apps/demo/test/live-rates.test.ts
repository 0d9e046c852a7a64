import t from 'tap'
import { connectionsView } from '../src/live/connections.js'
import { RateHistory } from '../src/live/rates.js'

t.test(
  'rate points: per-second rates between samples, a fall counts as 0, the last known DLQ depth stands',
  async (t) => {
    const history = new RateHistory(3)
    t.equal(
      history.add(1_000, { placed: 0, processed: 0, deadLettered: 0 }, true),
      null,
      'the first sample only starts'
    )
    t.same(history.add(3_000, { placed: 10, processed: 4, deadLettered: 1 }, true), {
      at: 3_000,
      placed: 5,
      processed: 2,
      deadLettered: 0.5,
      brokerUp: true,
    })
    t.same(
      history.add(4_000, { placed: 9, processed: 5, deadLettered: null }, false),
      { at: 4_000, placed: 0, processed: 1, deadLettered: 0, brokerUp: false },
      'an order taken back is no negative rate; a depth unknown while the broker is away is the last one'
    )
    t.match(history.add(5_000, { placed: 9, processed: 5, deadLettered: 4 }, true), { deadLettered: 3 })
    t.equal(history.add(5_000, { placed: 9, processed: 5, deadLettered: 4 }, true), null, 'no time passed: no point')
    history.add(6_000, { placed: 12, processed: 8, deadLettered: 4 }, true)
    t.same(
      history.points().map((point) => point.at),
      [4_000, 5_000, 6_000],
      'the newest `size` points, oldest first'
    )
    t.same(history.add(7_000, { placed: 12.5, processed: 8, deadLettered: 4 }, true)?.placed, 0.5, 'rounded to 0.1')
  }
)

t.test('connections as the page shows them: closing and closed are down', async (t) => {
  const link = (status: string) => ({ status, url: null, connectedSince: null, reconnects: 2, lastError: 'gone' })
  const health = (publish: string, consume: string) =>
    ({
      status: 'closed',
      connectedSince: null,
      reconnects: 4,
      lastError: 'gone',
      connections: { publish: link(publish), consume: link(consume) },
      consumePool: { connections: 2, channels: 3, channelsPerConnection: 1_000 },
    }) as unknown as Parameters<typeof connectionsView>[0]
  t.same(connectionsView(health('closed', 'closing')), {
    up: false,
    publish: { state: 'down', connectedSince: null, reconnects: 2 },
    consume: { state: 'down', connectedSince: null, reconnects: 2, pool: 2 },
    lastError: 'gone',
  })
  t.match(connectionsView(health('blocked', 'connected')), { up: false, publish: { state: 'blocked' } })
  t.match(connectionsView(health('connected', 'reconnecting')), { up: false, consume: { state: 'reconnecting' } })
})
