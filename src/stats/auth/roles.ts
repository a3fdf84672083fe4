/** The value at a dot path (`realm_access.roles`) of a token's claims, or undefined. */
export function claimAt(claims: unknown, path: string): unknown {
  let value: unknown = claims;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, key)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
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
