export { BridgeClient, connect } from './client';
export type { ConnectOptions, ConnectionState, SubscribeOptions, Subscription, SubscriptionInfo } from './client';
