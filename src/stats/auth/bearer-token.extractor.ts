/** Longer tokens are refused unread: no identity provider issues them, and parsing costs CPU. */
export const MAX_TOKEN_LENGTH = 8192;

/** RFC 6750 2.1: `Bearer` 1*SP b64token; the scheme is case-insensitive (RFC 9110 11.1). */
const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;
const BEARER_SCHEME = /^Bearer(?:[ \t]|$)/i;

/** The parts of a request this reads, on Express (a Node request) and Fastify (`raw` is the Node request). */
export interface HeaderSource {
  headers?: Record<string, string | string[] | undefined>;
  rawHeaders?: readonly string[];
  raw?: { rawHeaders?: readonly string[] };
}

/**
 * The request's bearer token, or why it has none usable: `presented` tells whether it tried to
 * present one (then a 401 names the error, `error="invalid_token"`; otherwise it only asks for a
 * token, RFC 6750 3.1), `reason` is for the log.
 */
export type BearerToken = { token: string } | { token: null; presented: boolean; reason: string };

/**
 * Reads the `Authorization` header once. Tokens are never read from the query string or cookies,
 * where they would end up in access logs and browser history.
 */
export function readBearerToken(request: HeaderSource): BearerToken {
  const header = request.headers?.authorization;
  if (header === undefined) return { token: null, presented: false, reason: 'no Authorization header' };
  // Node keeps only the first of several Authorization headers: which one a proxy meant is unknown.
  if (typeof header !== 'string' || authorizationHeaderCount(request) > 1) {
    return { token: null, presented: true, reason: 'the request has more than one Authorization header' };
  }
  if (!BEARER_SCHEME.test(header)) {
    return { token: null, presented: false, reason: 'the Authorization header is not of the Bearer scheme' };
  }
  if (header.slice(6).trim() === '') return { token: null, presented: false, reason: 'the bearer token is empty' };
  if (header.length > MAX_TOKEN_LENGTH + 16) {
    return { token: null, presented: true, reason: `the bearer token is longer than ${MAX_TOKEN_LENGTH} characters` };
  }
  const match = BEARER.exec(header);
  if (!match || match[1].length > MAX_TOKEN_LENGTH) {
    return {
      token: null,
      presented: true,
      reason: 'the Authorization header is not a single well-formed bearer token',
    };
  }
  return { token: match[1] };
}

function authorizationHeaderCount(request: HeaderSource): number {
  const raw = request.rawHeaders ?? request.raw?.rawHeaders;
  if (!raw) return 1;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 13 && raw[i].toLowerCase() === 'authorization') count++;
  }
  return count;
}
