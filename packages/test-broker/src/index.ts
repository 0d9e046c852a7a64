export type { ConnectionInfo, ConsumerInfo } from './cli-queries.js'
export { type BrokerCluster, type BrokerClusterOptions, type ClusterStatus, startCluster } from './cluster.js'
export { describeBroker } from './describe.js'
export { type ErrorCodesOptions, testErrorCodes } from './error-codes.js'
export { type FaultProxy, startFaultProxy } from './fault-proxy.js'
export { onlyOnPrimaryLeg } from './legs.js'
export { type BrokerNode, type BrokerNodeOptions, startBroker } from './node.js'
export { freePort } from './ports.js'
export { type ConnectionRole, type RoleProxy, startRoleProxy } from './role-proxy.js'
export {
  type BrokerRuntime,
  brokerRuntime,
  RABBITMQ4,
  rootVersion,
} from './runtime.js'
export {
  closeSharedConnectionsNamed,
  listSharedConnectionNames,
  listSharedConsumers,
  SHARED_NODE_NAME,
  SHARED_URL,
  sharedRabbitmqctl,
} from './shared.js'
export { deferred, once, uniqueName, until } from './test-helpers.js'
