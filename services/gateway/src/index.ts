export { Gateway, createGateway } from './gateway';
export type { GatewayOptions, GatewayState, GatewayStatus } from './gateway';
export { signToken, verifyToken } from './auth';
export type { AuthConfig } from './auth';
export { originAllowed } from './origin';
