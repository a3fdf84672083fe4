/**
 * The value at a dot path (`realm_access.roles`) of a token's claims, or undefined. A claim named
 * exactly `path` wins, so namespaced claims such as `https://example.com/roles` can be read too.
 * Only own properties count: `__proto__` or `constructor` never reach the prototype.
 */
export function claimAt(claims: unknown, path: string): unknown {
  if (isObject(claims) && hasOwn(claims, path)) return claims[path];
  let value: unknown = claims;
  for (const key of path.split('.')) {
    if (!isObject(value) || Array.isArray(value) || !hasOwn(value, key)) return undefined;
    value = value[key];
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function hasOwn(value: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(value, key);
}

/**
 * The roles a token holds under `rolesClaim`: a list of strings, or one space-separated string as
 * in an OAuth `scope` claim. Anything else holds no role.
 */
export function rolesHeld(claims: unknown, rolesClaim: string): Set<string> {
  const value = claimAt(claims, rolesClaim);
  if (typeof value === 'string') return new Set(value.split(/\s+/).filter(Boolean));
  if (Array.isArray(value)) return new Set(value.filter((role): role is string => typeof role === 'string'));
  return new Set();
}
