export { Gateway, createGateway } from './gateway';
export type { GatewayOptions, GatewayState, GatewayStatus } from './gateway';
export { TokenVerifier, signToken } from './auth';
export type { AuthConfig, VerifiedToken } from './auth';
export { TokenExpiryWatch } from './token-expiry';
export type { TokenExpiryOptions, TokenExpiryTarget } from './token-expiry';
export { originAllowed } from './origin';
