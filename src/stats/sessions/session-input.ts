import { InvalidSessionError } from '../errors/invalid-session.error';
import { normalizeIp } from './ip-address';
import type { StoredSession } from './session-store.interface';
import type { ActiveSession, TouchSessionInput } from './session.types';

export const MAX_SESSION_ID_LENGTH = 256;
export const MAX_CLIENT_VERSION_LENGTH = 128;
export const UNKNOWN_VERSION = 'unknown';

/** A field of a reported session that could not be read, and why. */
interface FieldProblem<Field extends string> {
  field: Field;
  problem: string;
}

/**
 * The one reading of a reported session, for `touch` and for sources alike: each field normalised,
 * or its problem, in the order id, IP, version, time. An unusable field reads as null.
 */
function readSession<TimeField extends string>(
  fields: { id: unknown; ip: unknown; clientVersion: unknown; time: unknown },
  timeField: TimeField,
  now: number,
): {
  id: string | null;
  ip: string | null;
  clientVersion: string | null;
  seenAt: number;
  problems: FieldProblem<'id' | 'ip' | 'clientVersion' | TimeField>[];
} {
  const problems: FieldProblem<'id' | 'ip' | 'clientVersion' | TimeField>[] = [];
  const { id: rawId, ip: rawIp, clientVersion: rawVersion, time } = fields;
  const readResult = readId(rawId);
  const id = typeof readResult === 'string' ? readResult : null;
  if (typeof readResult !== 'string') problems.push({ field: 'id', problem: readResult.problem });
  const ip = normalizeIp(rawIp);
  if (ip === null) problems.push({ field: 'ip', problem: `${describe(rawIp)} is not an IPv4 or IPv6 address` });
  const clientVersion = clientVersionKey(rawVersion);
  if (clientVersion === null) {
    problems.push({
      field: 'clientVersion',
      problem: `must be a string of at most ${MAX_CLIENT_VERSION_LENGTH} characters`,
    });
  }
  let seenAt = now;
  if (time !== undefined) {
    const epochMs = toEpochMs(time);
    if (epochMs === null) problems.push({ field: timeField, problem: 'must be a valid Date or epoch milliseconds' });
    else seenAt = Math.min(epochMs, now); // a time in the future counts as now
  }
  return { id, ip, clientVersion, seenAt, problems };
}

/** Validates `touch` input; throws {@link InvalidSessionError} naming the first unusable field. */
export function storedSessionFromTouch(input: TouchSessionInput, now: number): StoredSession {
  if (typeof input !== 'object' || input === null) throw new InvalidSessionError('input', 'must be an object');
  const read = readSession(
    { id: input.id, ip: input.ip, clientVersion: input.clientVersion, time: input.seenAt },
    'seenAt',
    now,
  );
  const [first] = read.problems;
  if (first) throw new InvalidSessionError(first.field, first.problem);
  return { id: read.id!, ip: read.ip!, clientVersion: read.clientVersion!, seenAt: read.seenAt };
}

export function sessionId(raw: unknown): string {
  const id = readId(raw);
  if (typeof id !== 'string') throw new InvalidSessionError('id', id.problem);
  return id;
}

type IdProblem = { problem: string };

/** The id as given, or why it is not one. */
function readId(raw: unknown): string | IdProblem {
  if (typeof raw !== 'string' || raw.length === 0) return { problem: 'must be a non-empty string' };
  if (raw.length > MAX_SESSION_ID_LENGTH) return { problem: `must be at most ${MAX_SESSION_ID_LENGTH} characters` };
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
  // A source's missing time is null as often as undefined.
  const time = record.lastSeenAt === null ? undefined : record.lastSeenAt;
  const read = readSession(
    { id: record.id, ip: record.ip, clientVersion: record.clientVersion, time },
    'lastSeenAt',
    now,
  );
  if (read.id === null) {
    problems.add('id');
    return null;
  }
  for (const { field } of read.problems) problems.add(field);
  return { id: read.id, ip: read.ip, clientVersion: read.clientVersion ?? UNKNOWN_VERSION, seenAt: read.seenAt };
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
