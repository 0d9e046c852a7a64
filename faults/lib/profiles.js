/**
 * Durations and sizes per profile. `full` is the figures (cuts for a minute...); `quick`
 * is the CI run, the same scenarios shorter. Recovery bounds are the same in both: they are what
 * the suite promises (docs/RELIABILITY.md prints them), generous for a loaded 2-core machine.
 */
// shared-ids: pairs per second (HTTP at `rate` beside them), pairs in flight, tries per copy.
const SHARED_IDS = { gap: [200, 600], rate: 100, pairs: 100, concurrency: 32, tries: 3, recoverBound: 5_000 }

// side-queues: waves of poison, each published with the DLQ and the delay queue just deleted; good orders at `rate`.
const SIDE_QUEUES = { rate: 50, recoverBound: 5_000 }
// main-queue: flaky orders wait `delay` ms in the delay queue; the main queue stays missing `missingFor` ms past it.
const MAIN_QUEUE = { delay: 4_000, missingFor: 1_500, rate: 100, recoverBound: 10_000 }
// publish-gone: stage-1 work per message (ms); the app stays without publishing `stopped` ms, then is restarted.
const PUBLISH_GONE = { work: 20, rate: 100, recoverBound: 10_000 }

export const PROFILES = {
  quick: {
    name: 'quick',
    cuts: { duration: 15_000, gap: [200, 600], rate: 150, recoverBound: 5_000 },
    blackhole: { heartbeat: 2, hold: 8_000, rate: 100, detectBound: 9_000, recoverBound: 10_000 },
    brokerKill: { kills: 1, down: 2_000, rate: 100, recoverBound: 15_000 },
    alarm: { hold: 4_000, rate: 100, recoverBound: 10_000 },
    consumerKill: { kills: 1, rate: 150, work: 100, recoverBound: 15_000 },
    poison: { perKind: 3, rate: 100, recoverBound: 5_000 },
    slow: {
      duration: 15_000,
      rate: 300,
      padding: 8_192,
      work: 25,
      concurrency: 4,
      heapBound: 128,
      recoverBound: 5_000,
    },
    cluster: { rate: 50, recoverBound: 30_000 },
    sharedIds: { ...SHARED_IDS, duration: 8_000 },
    refused: { perKind: 4, spacing: 100, maxMessageBytes: 65_536, rate: 100, recoverBound: 5_000 },
    sideQueues: { ...SIDE_QUEUES, waves: 3, perWave: 3 },
    mainQueue: { ...MAIN_QUEUE, flaky: 100 },
    publishGone: { ...PUBLISH_GONE, stopped: 2_000, backlog: 100 },
  },
  full: {
    name: 'full',
    cuts: { duration: 60_000, gap: [200, 600], rate: 150, recoverBound: 5_000 },
    blackhole: { heartbeat: 5, hold: 20_000, rate: 100, detectBound: 18_000, recoverBound: 10_000 },
    brokerKill: { kills: 3, down: 10_000, rate: 100, recoverBound: 15_000 },
    alarm: { hold: 20_000, rate: 100, recoverBound: 10_000 },
    consumerKill: { kills: 3, rate: 150, work: 100, recoverBound: 15_000 },
    poison: { perKind: 20, rate: 100, recoverBound: 5_000 },
    slow: {
      duration: 60_000,
      rate: 300,
      padding: 8_192,
      work: 25,
      concurrency: 4,
      heapBound: 128,
      recoverBound: 5_000,
    },
    cluster: { rate: 50, recoverBound: 30_000 },
    sharedIds: { ...SHARED_IDS, duration: 30_000 },
    refused: { perKind: 20, spacing: 100, maxMessageBytes: 65_536, rate: 100, recoverBound: 5_000 },
    sideQueues: { ...SIDE_QUEUES, waves: 10, perWave: 10 },
    mainQueue: { ...MAIN_QUEUE, flaky: 500 },
    publishGone: { ...PUBLISH_GONE, stopped: 10_000, backlog: 1_000 },
  },
}
