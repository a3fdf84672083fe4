import type { Request } from 'express';

/** Longer tokens are refused unread: no identity provider issues them, and parsing costs CPU. */
export const MAX_TOKEN_LENGTH = 8192;

/** RFC 6750 2.1: `Bearer` 1*SP b64token; the scheme is case-insensitive (RFC 9110 11.1). */
const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;
const BEARER_SCHEME = /^Bearer(?:[ \t]|$)/i;

type HeaderSource = Pick<Request, 'headers'>;

/**
 * The bearer token of the `Authorization` header, or null. Tokens are never read from the query
 * string or cookies, where they would end up in access logs and browser history.
 */
export function bearerTokenFrom(request: HeaderSource): string | null {
  const header = authorizationOf(request);
  if (header === null || header.length > MAX_TOKEN_LENGTH + 16) return null;
  const match = BEARER.exec(header);
  return match && match[1].length <= MAX_TOKEN_LENGTH ? match[1] : null;
}

/**
 * Whether the request presented a bearer token at all, valid or not: then a 401 names the error
 * (`error="invalid_token"`); otherwise it only asks for one (RFC 6750 3.1).
 */
export function bearerTokenPresented(request: HeaderSource): boolean {
  const header = authorizationOf(request);
  return header !== null && BEARER_SCHEME.test(header) && header.slice(6).trim() !== '';
}

/** Why the request carries no usable bearer token, for the log; null when it carries one. */
export function missingTokenReason(request: HeaderSource): string | null {
  const header = authorizationOf(request);
  if (header === null) return 'no Authorization header';
  if (!BEARER_SCHEME.test(header)) return 'the Authorization header is not of the Bearer scheme';
  if (header.slice(6).trim() === '') return 'the bearer token is empty';
  if (header.length > MAX_TOKEN_LENGTH + 16) return `the bearer token is longer than ${MAX_TOKEN_LENGTH} characters`;
  if (bearerTokenFrom(request) === null) return 'the Authorization header is not a single well-formed bearer token';
  return null;
}

function authorizationOf(request: HeaderSource): string | null {
  const header = request.headers?.authorization;
  return typeof header === 'string' ? header : null;
}
