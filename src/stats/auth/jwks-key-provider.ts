import { createPublicKey, type KeyObject } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { decode } from 'jsonwebtoken';
import { JwksClient } from 'jwks-rsa';
import { KeySetUnavailableError } from '../errors/key-set-unavailable.error';

export interface JwksKeyProviderOptions {
  uri: string;
  /** Algorithms a token may name; others are refused before any fetch. */
  algorithms: readonly string[];
  /** How long a fetched key set is used before it is fetched again. */
  maxAgeMs?: number;
  /** Refetches an unknown `kid` may trigger per minute; known keys never wait for them. */
  unknownKidRefetchesPerMinute?: number;
  timeoutMs?: number;
}

interface PublishedKey {
  kid?: string;
  alg?: string;
  /** Parsed once per key set: verifying with a PEM string would parse it on every request. */
  key: KeyObject;
}

/** While the key set is unknown and its endpoint down, requests fail fast instead of each fetching. */
const FAILURE_HOLD_MS = 2000;

/** The token names no key this provider can give: a 401, like a bad signature. */
export class SigningKeyNotFoundError extends Error {
  override name = 'SigningKeyNotFoundError';
}

/**
 * Public keys of a JWKS endpoint (fetched and parsed by jwks-rsa), looked up by `kid`.
 *
 * The whole key set is cached, so tokens of known keys verify without a fetch. A token with an
 * unknown `kid` (a key the provider just rotated in) triggers a refetch, at most
 * `unknownKidRefetchesPerMinute` times a minute: unauthenticated callers can send any `kid`, and
 * must neither hammer the identity provider nor, by exhausting a shared limit, keep the known keys
 * from being refreshed. Concurrent lookups share one fetch. When a refresh fails the last key set
 * stays in use; with none at all, the lookup fails with {@link KeySetUnavailableError} (503).
 */
export class JwksKeyProvider {
  private readonly logger = new Logger('StatsModule');
  private readonly client: JwksClient;
  private readonly maxAgeMs: number;
  private readonly refetchesPerMinute: number;
  private keys: PublishedKey[] | null = null;
  private fetchedAt = 0;
  private fetches = 0;
  private inflight: Promise<PublishedKey[]> | null = null;
  private unknownKidRefetches: number[] = [];
  /** The last failed fetch while no key set is known: repeated for a moment instead of refetching. */
  private failure: { at: number; error: KeySetUnavailableError } | null = null;

  /** Counts the key sets fetched: a token verified under an older one must be verified again. */
  get keySetVersion(): number {
    return this.fetches;
  }

  constructor(private readonly options: JwksKeyProviderOptions) {
    this.client = new JwksClient({
      jwksUri: options.uri,
      cache: false,
      rateLimit: false,
      timeout: options.timeoutMs ?? 5000,
    });
    this.maxAgeMs = options.maxAgeMs ?? 10 * 60 * 1000;
    this.refetchesPerMinute = options.unknownKidRefetchesPerMinute ?? 10;
  }

  /** The public key that verifies `token`. */
  async keyFor(token: string): Promise<KeyObject> {
    const header = decode(token, { complete: true })?.header;
    if (!header) throw new SigningKeyNotFoundError('the token has no readable header');
    if (!this.options.algorithms.includes(header.alg)) {
      throw new SigningKeyNotFoundError(
        `the token names the algorithm ${JSON.stringify(header.alg)}, which is not allowed`,
      );
    }
    const kid = typeof header.kid === 'string' ? header.kid : undefined;

    const fetchedBefore = this.fetchedAt;
    let keys = await this.currentKeys();
    let key = pick(keys, kid);
    // A key set fetched during this very lookup is as new as a refetch would be.
    const justFetched = this.fetchedAt !== fetchedBefore;
    if (!key && kid !== undefined && !justFetched && this.mayRefetchForUnknownKid()) {
      keys = await this.refresh();
      key = pick(keys, kid);
    }
    if (!key) {
      throw new SigningKeyNotFoundError(
        kid === undefined
          ? 'the token has no kid and the key set has several keys'
          : `no key of the key set has the kid ${JSON.stringify(kid)}`,
      );
    }
    // A key published for one algorithm verifies no other (RFC 7517 4.4).
    if (key.alg !== undefined && key.alg !== header.alg) {
      throw new SigningKeyNotFoundError(
        `the key ${JSON.stringify(kid)} is published for ${key.alg}, the token names ${header.alg}`,
      );
    }
    return key.key;
  }

  private async currentKeys(): Promise<PublishedKey[]> {
    if (this.keys && Date.now() - this.fetchedAt < this.maxAgeMs) return this.keys;
    return this.refresh();
  }

  /** Fetches the key set (one fetch at a time); on failure keeps the last one, if any. */
  private refresh(): Promise<PublishedKey[]> {
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async fetch(): Promise<PublishedKey[]> {
    if (this.failure && Date.now() - this.failure.at < FAILURE_HOLD_MS) throw this.failure.error;
    try {
      const signingKeys = await this.client.getSigningKeys();
      this.keys = signingKeys.flatMap((key) => {
        try {
          return [{ kid: key.kid || undefined, alg: key.alg || undefined, key: createPublicKey(key.getPublicKey()) }];
        } catch (error) {
          // One unreadable key must not take the others with it: tokens of it fail as of an unknown kid.
          this.logger.warn(
            `JWKS ${this.options.uri}: key ${JSON.stringify(key.kid)} is unreadable (${String(error)}); skipped`,
          );
          return [];
        }
      });
      this.fetchedAt = Date.now();
      this.fetches++;
      this.failure = null;
      return this.keys;
    } catch (error) {
      const reason = error instanceof Error ? error.message : JSON.stringify(error);
      if (this.keys) {
        // Retried after a while rather than on every request while the endpoint is down.
        this.fetchedAt = Date.now() - this.maxAgeMs + 30_000;
        this.logger.warn(`JWKS ${this.options.uri} could not be fetched (${reason}); the last key set stays in use`);
        return this.keys;
      }
      const unavailable = new KeySetUnavailableError(
        new Error(`JWKS ${this.options.uri} could not be fetched: ${reason}`),
      );
      this.failure = { at: Date.now(), error: unavailable };
      throw unavailable;
    }
  }

  private mayRefetchForUnknownKid(): boolean {
    const now = Date.now();
    this.unknownKidRefetches = this.unknownKidRefetches.filter((at) => now - at < 60_000);
    if (this.unknownKidRefetches.length >= this.refetchesPerMinute) return false;
    this.unknownKidRefetches.push(now);
    return true;
  }
}

/** The key named by `kid`; without a kid, the only key of a one-key set. */
function pick(keys: PublishedKey[], kid: string | undefined): PublishedKey | undefined {
  if (kid === undefined) return keys.length === 1 ? keys[0] : undefined;
  return keys.find((key) => key.kid === kid);
}
