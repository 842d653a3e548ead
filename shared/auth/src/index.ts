export { TokenVerifier, signToken } from './tokens';
export type { AuthConfig, VerifiedToken } from './tokens';
