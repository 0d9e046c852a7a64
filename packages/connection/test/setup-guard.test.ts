import t from 'tap'
import { SetupGuard } from '../src/setup-guard.js'

const denial = { feature: 'transient_nonexcl_queues', cause: new Error('541') }

/** A setup that runs until released, so a test decides what is in flight when the denial comes. */
function held() {
  let release!: () => void
  let fail!: (err: Error) => void
  const done = new Promise<void>((resolve, reject) => {
    release = resolve
    fail = reject
  })
  return { setup: () => done, release, fail }
}

/** Two setups in flight when the denial comes: both become suspects. */
async function twoSuspects(guard: SetupGuard, a: object, b: object): Promise<void> {
  const [first, second] = [held(), held()]
  const runs = [guard.run(a, first.setup), guard.run(b, second.setup)]
  guard.denied(denial)
  first.fail(new Error('Channel ended'))
  second.fail(new Error('Channel ended'))
  await Promise.allSettled(runs)
}

t.test('one setup running: the denial is pinned on it, once', async (t) => {
  const guard = new SetupGuard()
  const a = {}
  const run = held()
  const running = guard.run(a, run.setup)
  guard.denied(denial)
  run.fail(new Error('Channel ended'))
  await t.rejects(running)
  t.equal(guard.takeBlame(a), denial)
  t.equal(guard.takeBlame(a), undefined)
})

t.test('no setup running: nobody is blamed', async (t) => {
  const guard = new SetupGuard()
  guard.denied(denial)
  t.equal(guard.takeBlame({}), undefined)
})

t.test('several running: all become suspects and then run one at a time until cleared', async (t) => {
  const guard = new SetupGuard()
  const [a, b] = [{}, {}]
  await twoSuspects(guard, a, b)
  t.equal(guard.takeBlame(a), undefined, 'too early to tell')

  const order: string[] = []
  const [againA, againB] = [held(), held()]
  const nextA = guard.run(a, () => {
    order.push('a starts')
    return againA.setup()
  })
  const nextB = guard.run(b, () => {
    order.push('b starts')
    return againB.setup()
  })
  await new Promise((resolve) => setImmediate(resolve))
  t.same(order, ['a starts'], 'b waits for a')
  againA.release()
  await nextA
  await new Promise((resolve) => setImmediate(resolve))
  t.same(order, ['a starts', 'b starts'])
  guard.denied(denial)
  againB.fail(new Error('Channel ended'))
  await t.rejects(nextB)
  t.equal(guard.takeBlame(b), denial, 'b repeated it alone')

  // No suspects left: setups run side by side again.
  const [c, d] = [held(), held()]
  const both = [guard.run(a, c.setup), guard.run({}, d.setup)]
  d.release()
  await both[1]
  c.release()
  await both[0]
})

t.test('a forgotten suspect holds nobody back', async (t) => {
  const guard = new SetupGuard()
  const [a, b] = [{}, {}]
  await twoSuspects(guard, a, b)
  guard.forget(a)
  guard.forget(b)
  const [c, d] = [held(), held()]
  const both = [guard.run(a, c.setup), guard.run(b, d.setup)]
  d.release()
  await both[1]
  c.release()
  await both[0]
  t.pass('ran side by side')
})
