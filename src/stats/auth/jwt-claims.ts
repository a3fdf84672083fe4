/**
 * Why a token cannot be accepted whatever its signature, or null. Read before verification, from
 * the token's own segments; a token whose segments do not even decode is left to the verifier,
 * which names that problem.
 *
 * - A `crit` header lists extensions the recipient must understand or refuse the token (RFC 7515
 *   4.1.11). This module understands none.
 * - The claims set must be a JSON object (RFC 7519 7.2). jsonwebtoken verifies other JSON values
 *   too, skipping `exp` and `nbf` checks on them.
 */
export function unacceptableTokenReason(token: string): string | null {
  const [headerSegment, claimsSegment] = token.split('.', 3);
  const header = decodeSegment(headerSegment);
  if (isObject(header) && header.crit !== undefined) {
    return `the token's "crit" header names extensions this module does not understand: ${clip(JSON.stringify(header.crit))}`;
  }
  const claims = decodeSegment(claimsSegment);
  if (claims !== UNREADABLE && !isObject(claims)) {
    return `the token's claims set is not a JSON object but ${claims === null ? 'null' : Array.isArray(claims) ? 'an array' : `a ${typeof claims}`}`;
  }
  return null;
}

const UNREADABLE = Symbol('unreadable');

function decodeSegment(segment: string | undefined): unknown {
  if (!segment) return UNREADABLE;
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return UNREADABLE;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clip(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
