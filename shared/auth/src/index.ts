export { TokenVerifier, signToken } from './tokens';
export { clientIp } from './client-ip';
export type { AuthConfig, VerifiedToken } from './tokens';
