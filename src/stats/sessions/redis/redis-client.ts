import type { Cluster, Redis } from 'ioredis';

/** What the Redis store uses of a host's client: its commands, scripts, status and events. */
const METHODS = ['defineCommand', 'hmget', 'ping', 'on', 'once'] as const;

/**
 * Whether `value` is an ioredis `Redis` or `Cluster`, judged by its shape rather than `instanceof`:
 * a host may have its own copy of ioredis, whose classes are not this package's.
 */
export function isRedisClient(value: unknown): value is Redis | Cluster {
  if (typeof value !== 'object' || value === null) return false;
  const client = value as Record<string, unknown>;
  return (
    typeof client.isCluster === 'boolean' &&
    typeof client.status === 'string' &&
    METHODS.every((method) => typeof client[method] === 'function')
  );
}

/** Why `value` is not an ioredis client, for the configuration error. */
export function notARedisClient(value: unknown): string {
  const expected = 'must be an ioredis Redis or Cluster instance (new Redis(...) or new Cluster(...))';
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function'
      ? `${expected}; got a function or class, not an instance`
      : `${expected}; got ${value === null ? 'null' : typeof value}`;
  }
  if (typeof (value as { then?: unknown }).then === 'function')
    return `${expected}; got a Promise: await the client first`;
  const client = value as Record<string, unknown>;
  const missing = [
    ...(typeof client.isCluster === 'boolean' ? [] : ['isCluster']),
    ...(typeof client.status === 'string' ? [] : ['status']),
    ...METHODS.filter((method) => typeof client[method] !== 'function'),
  ];
  const kind = value.constructor && value.constructor !== Object ? `a ${value.constructor.name}` : 'an object';
  return `${expected}; got ${kind} without ${missing.join(', ')}`;
}
