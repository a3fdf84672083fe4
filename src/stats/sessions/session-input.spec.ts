import { InvalidSessionError } from '../errors/invalid-session.error';
import {
  clientVersionKey,
  MAX_SESSION_ID_LENGTH,
  storedSessionFromSource,
  storedSessionFromTouch,
  type SourceRecordProblem,
} from './session-input';

const NOW = 1_700_000_000_000;

/** The error `touch` input gets: an InvalidSessionError naming `field`. */
function refusal(input: unknown): InvalidSessionError {
  try {
    storedSessionFromTouch(input as never, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSessionError);
    return error as InvalidSessionError;
  }
  throw new Error('the input was accepted');
}

describe('storedSessionFromTouch', () => {
  it('normalises the IP, trims the version and takes the time given, or now', () => {
    expect(storedSessionFromTouch({ id: 'a', ip: '::ffff:8.8.8.8', clientVersion: ' 6.0.0 ' }, NOW)).toEqual({
      id: 'a',
      ip: '8.8.8.8',
      clientVersion: '6.0.0',
      seenAt: NOW,
    });
    expect(storedSessionFromTouch({ id: 'a', ip: '8.8.8.8', seenAt: new Date(NOW - 5000) }, NOW).seenAt).toBe(
      NOW - 5000,
    );
    expect(storedSessionFromTouch({ id: 'a', ip: '8.8.8.8', seenAt: NOW - 7 }, NOW).seenAt).toBe(NOW - 7);
  });

  it('counts a sighting in the future as now, and a missing or empty version as unknown', () => {
    expect(storedSessionFromTouch({ id: 'a', ip: '8.8.8.8', seenAt: NOW + 60_000 }, NOW).seenAt).toBe(NOW);
    expect(storedSessionFromTouch({ id: 'a', ip: '8.8.8.8' }, NOW).clientVersion).toBe('unknown');
    expect(storedSessionFromTouch({ id: 'a', ip: '8.8.8.8', clientVersion: null }, NOW).clientVersion).toBe('unknown');
    expect(storedSessionFromTouch({ id: 'a', ip: '8.8.8.8', clientVersion: '  ' }, NOW).clientVersion).toBe('unknown');
  });

  it.each([
    [null, 'input'],
    ['a', 'input'],
    [{ ip: '8.8.8.8' }, 'id'],
    [{ id: '', ip: '8.8.8.8' }, 'id'],
    [{ id: 'x'.repeat(MAX_SESSION_ID_LENGTH + 1), ip: '8.8.8.8' }, 'id'],
    [{ id: 7, ip: '8.8.8.8' }, 'id'],
    [{ id: 'a', ip: '999.1.1.1' }, 'ip'],
    [{ id: 'a', ip: '8.8.8.8%eth0' }, 'ip'],
    [{ id: 'a' }, 'ip'],
    [{ id: 'a', ip: '8.8.8.8', clientVersion: 6 }, 'clientVersion'],
    [{ id: 'a', ip: '8.8.8.8', clientVersion: 'v'.repeat(129) }, 'clientVersion'],
    [{ id: 'a', ip: '8.8.8.8', seenAt: 'yesterday' }, 'seenAt'],
    [{ id: 'a', ip: '8.8.8.8', seenAt: Number.NaN }, 'seenAt'],
    [{ id: 'a', ip: '8.8.8.8', seenAt: new Date('nope') }, 'seenAt'],
  ])('refuses %j, naming the field %s', (input, field) => {
    const error = refusal(input);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(new RegExp(`^Invalid session ${field}: `));
  });

  it('accepts an id of exactly the maximum length', () => {
    expect(storedSessionFromTouch({ id: 'x'.repeat(MAX_SESSION_ID_LENGTH), ip: '8.8.8.8' }, NOW).id).toHaveLength(
      MAX_SESSION_ID_LENGTH,
    );
  });
});

describe('storedSessionFromSource', () => {
  const read = (record: unknown) => {
    const problems = new Set<SourceRecordProblem>();
    return { session: storedSessionFromSource(record as never, NOW, problems), problems: [...problems] };
  };

  it('reads a good record as touch would, with no problem', () => {
    expect(
      read({ id: 'a', ip: '8.8.8.8', clientVersion: '6.0.0', lastSeenAt: new Date(NOW - 10).toISOString() }),
    ).toEqual({
      session: { id: 'a', ip: '8.8.8.8', clientVersion: '6.0.0', seenAt: NOW - 10 },
      problems: [],
    });
  });

  it('counts a record with a bad IP, version or time where it can, and says which field was bad', () => {
    expect(read({ id: 'a', ip: 'nowhere', clientVersion: 6, lastSeenAt: 'soon' })).toEqual({
      session: { id: 'a', ip: null, clientVersion: 'unknown', seenAt: NOW },
      problems: ['ip', 'clientVersion', 'lastSeenAt'],
    });
  });

  it.each([
    [null],
    ['a'],
    [{ ip: '8.8.8.8' }],
    [{ id: '', ip: '8.8.8.8' }],
    [{ id: 'x'.repeat(MAX_SESSION_ID_LENGTH + 1), ip: '8.8.8.8' }],
  ])('drops %j, which has no usable id', (record) => {
    expect(read(record)).toEqual({ session: null, problems: ['id'] });
  });
});

describe('clientVersionKey', () => {
  it.each([
    [undefined, 'unknown'],
    [null, 'unknown'],
    ['', 'unknown'],
    [' 6.1.0 ', '6.1.0'],
    [6, null],
    ['v'.repeat(129), null],
    ['v'.repeat(128), 'v'.repeat(128)],
  ])('keys %j as %j', (raw, key) => {
    expect(clientVersionKey(raw)).toBe(key);
  });
});
