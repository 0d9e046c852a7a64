// Quorum-queue workloads: publish with confirms (pipelined, awaiters) and consume with ack (prefetch 100)
// exactly as the classic ones (publish.js, consume.js), every contender on a quorum queue of its own run.
// A quorum queue replicates through Raft and fsyncs its log before it confirms, so it sets another pace
// than a classic queue: the question is whether each library keeps up with it the same way.
import { consumeBench } from './consume.js'
import { publishBench } from './publish.js'

export async function quorumBench({ url, admin, profile }) {
  const publish = await publishBench({ url, admin, profile, queueType: 'quorum' })
  const consume = await consumeBench({ url, admin, profile, queueType: 'quorum', prefetches: profile.quorumPrefetches })
  return { publish, consume }
}
