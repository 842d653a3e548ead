export { Gateway, createGateway } from './gateway';
export type { GatewayOptions, GatewayState, GatewayStatus } from './gateway';
export { TokenExpiryWatch } from './token-expiry';
export type { TokenExpiryOptions, TokenExpiryTarget } from './token-expiry';
export { originAllowed } from './origin';
