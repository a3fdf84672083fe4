/** Long enough to spare a polling admin UI nearly every verification, short enough for revocation. */
const MAX_AGE_MS = 60_000;
const MAX_ENTRIES = 10_000;

/**
 * Claims of tokens that verified recently, keyed by the whole token (signature included, so a
 * different or altered token never matches). An admin UI polls with the same token every few
 * seconds; re-verifying it each time costs more than the rest of the request. An entry lasts at
 * most a minute and never past the token's own `exp`.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, { claims: Record<string, unknown>; until: number; keyVersion: number }>();

  constructor(private readonly clockToleranceMs: number) {}

  /**
   * A copy of the claims, so a handler that changes `request.user` changes no other request's.
   * `keyVersion` changes when the verifying keys may have (a JWKS refetch): older entries are void.
   */
  get(token: string, now: number, keyVersion = 0): Record<string, unknown> | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (now >= entry.until || entry.keyVersion !== keyVersion) {
      this.entries.delete(token);
      return undefined;
    }
    return { ...entry.claims };
  }

  remember(token: string, claims: Record<string, unknown>, now: number, keyVersion = 0): void {
    const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 + this.clockToleranceMs : Infinity;
    const until = Math.min(now + MAX_AGE_MS, expiresAt);
    if (until <= now) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!); // the oldest
    this.entries.set(token, { claims: { ...claims }, until, keyVersion });
  }
}
