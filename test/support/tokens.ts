import { sign, type SignOptions } from 'jsonwebtoken';

/** HMAC secret the e2e apps are configured with (test only). */
export const TEST_SECRET = 'test-secret-of-at-least-thirty-two-characters';

export function tokenFor(
  claims: Record<string, unknown> = { roles: ['stats:read'] },
  options: SignOptions = {},
): string {
  // A token given its own `exp` claim keeps it (jsonwebtoken refuses both).
  const expiry: SignOptions = 'exp' in claims ? {} : { expiresIn: '5m' };
  return sign({ sub: 'admin-1', ...claims }, TEST_SECRET, { algorithm: 'HS256', ...expiry, ...options });
}

export function bearer(claims?: Record<string, unknown>, options?: SignOptions): string {
  return `Bearer ${tokenFor(claims, options)}`;
}
