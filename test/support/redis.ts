import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';

/** The Redis the specs run against: the one on this machine unless REDIS_URL says otherwise. */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other run (or spec file) uses, so specs never see or delete foreign keys. */
export function uniqueKeyPrefix(label: string): string {
  return `stats-test:${process.pid}:${randomBytes(4).toString('hex')}:${label}:`;
}

/** Deletes every key under `prefix`, and only those. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
