import { InvalidSessionError } from '../errors/invalid-session.error';
import { normalizeIp } from './ip-address';
import type { StoredSession } from './session-store.interface';
import type { ActiveSession, TouchSessionInput } from './session.types';

export const MAX_SESSION_ID_LENGTH = 256;
export const MAX_CLIENT_VERSION_LENGTH = 128;
export const UNKNOWN_VERSION = 'unknown';

/** Validates `touch` input; throws {@link InvalidSessionError} naming the field. */
export function storedSessionFromTouch(input: TouchSessionInput, now: number): StoredSession {
  if (typeof input !== 'object' || input === null) throw new InvalidSessionError('input', 'must be an object');
  const id = sessionId(input.id);
  const ip = normalizeIp(input.ip);
  if (ip === null) throw new InvalidSessionError('ip', `${describe(input.ip)} is not an IPv4 or IPv6 address`);
  const clientVersion = clientVersionKey(input.clientVersion);
  if (clientVersion === null) {
    throw new InvalidSessionError(
      'clientVersion',
      `must be a string of at most ${MAX_CLIENT_VERSION_LENGTH} characters`,
    );
  }
  let seenAt = now;
  if (input.seenAt !== undefined) {
    const time = toEpochMs(input.seenAt);
    if (time === null) throw new InvalidSessionError('seenAt', 'must be a valid Date or epoch milliseconds');
    seenAt = Math.min(time, now);
  }
  return { id, ip, clientVersion, seenAt };
}

export function sessionId(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0) throw new InvalidSessionError('id', 'must be a non-empty string');
  if (raw.length > MAX_SESSION_ID_LENGTH) {
    throw new InvalidSessionError('id', `must be at most ${MAX_SESSION_ID_LENGTH} characters`);
  }
  return raw;
}

/** Problems found in one record of a host-provided source; the record still counts where it can. */
export type SourceRecordProblem = 'id' | 'ip' | 'clientVersion' | 'lastSeenAt';

/**
 * Reads a record from a host-provided source leniently: a bad IP still counts (without a location),
 * a bad version counts as `unknown`, a bad time as now. Only a record without a usable id is
 * dropped, since it cannot be counted once per id. `ip` is null when it has no valid address.
 */
export function storedSessionFromSource(
  record: ActiveSession,
  now: number,
  problems: Set<SourceRecordProblem>,
): (Omit<StoredSession, 'ip'> & { ip: string | null }) | null {
  if (typeof record !== 'object' || record === null) {
    problems.add('id');
    return null;
  }
  const id = record.id;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_SESSION_ID_LENGTH) {
    problems.add('id');
    return null;
  }
  const ip = normalizeIp(record.ip);
  if (ip === null) problems.add('ip');
  let clientVersion = clientVersionKey(record.clientVersion);
  if (clientVersion === null) {
    problems.add('clientVersion');
    clientVersion = UNKNOWN_VERSION;
  }
  let seenAt = now;
  if (record.lastSeenAt !== undefined && record.lastSeenAt !== null) {
    const time = toEpochMs(record.lastSeenAt);
    if (time === null) problems.add('lastSeenAt');
    else seenAt = Math.min(time, now);
  }
  return { id, ip, clientVersion, seenAt };
}

/** The dashboard key of a reported version: trimmed; missing or empty is `unknown`; null if unusable. */
export function clientVersionKey(raw: unknown): string | null {
  if (raw === undefined || raw === null) return UNKNOWN_VERSION;
  if (typeof raw !== 'string' || raw.length > MAX_CLIENT_VERSION_LENGTH) return null;
  const trimmed = raw.trim();
  return trimmed === '' ? UNKNOWN_VERSION : trimmed;
}

function toEpochMs(value: unknown): number | null {
  const time =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string'
          ? Date.parse(value)
          : NaN;
  return Number.isFinite(time) ? time : null;
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return `a ${value === null ? 'null' : typeof value}`;
  return JSON.stringify(value.length > 70 ? `${value.slice(0, 64)}...` : value);
}
