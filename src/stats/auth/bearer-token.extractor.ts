import type { Request } from 'express';

/** Longer tokens are refused unread: no identity provider issues them, and parsing costs CPU. */
export const MAX_TOKEN_LENGTH = 8192;

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * The bearer token of the `Authorization` header (scheme case-insensitive, RFC 7235), or null.
 * Tokens are never read from the query string or cookies, where they would end up in logs.
 */
export function bearerTokenFrom(request: Pick<Request, 'headers'>): string | null {
  const header = request.headers?.authorization;
  if (typeof header !== 'string' || header.length > MAX_TOKEN_LENGTH + 16) return null;
  const match = BEARER.exec(header);
  return match && match[1].length <= MAX_TOKEN_LENGTH ? match[1] : null;
}
