export { BridgeClient, connect } from './client';
export type {
  ClientStats,
  ConnectOptions,
  ConnectionState,
  SubscribeOptions,
  Subscription,
  SubscriptionInfo,
} from './client';
