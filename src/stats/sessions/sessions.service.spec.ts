import { InvalidSessionError } from '../errors/invalid-session.error';
import type { SessionStore, StoredSession } from './session-store.interface';
import { SessionsService } from './sessions.service';

/** A store that records what it is asked to do. */
function recordingStore() {
  const calls: { upserts: { sessions: StoredSession[]; now: number }[]; removes: string[][] } = {
    upserts: [],
    removes: [],
  };
  const store = {
    upsert: async (sessions: readonly StoredSession[], now: number) =>
      void calls.upserts.push({ sessions: [...sessions], now }),
    remove: async (ids: readonly string[]) => void calls.removes.push([...ids]),
  } as unknown as SessionStore;
  return { store, calls };
}

describe('SessionsService', () => {
  it('touches one session, normalised, seen now unless it says when', async () => {
    const { store, calls } = recordingStore();
    const before = Date.now();
    await new SessionsService(store).touch({ id: 's1', ip: '::ffff:8.8.8.8', clientVersion: ' 6.0.0 ' });
    expect(calls.upserts).toHaveLength(1);
    const [{ sessions, now }] = calls.upserts;
    expect(now).toBeGreaterThanOrEqual(before);
    expect(sessions).toEqual([{ id: 's1', ip: '8.8.8.8', clientVersion: '6.0.0', seenAt: now }]);
  });

  it('stores nothing of a batch that holds one invalid session, and names it', async () => {
    const { store, calls } = recordingStore();
    const service = new SessionsService(store);
    await expect(
      service.touchMany([
        { id: 'good', ip: '8.8.8.8' },
        { id: 'bad', ip: 'not-an-ip' },
      ]),
    ).rejects.toThrow(new InvalidSessionError('ip', '"not-an-ip" is not an IPv4 or IPv6 address'));
    expect(calls.upserts).toEqual([]);
  });

  it('sends a valid batch in one store call, and an empty one not at all', async () => {
    const { store, calls } = recordingStore();
    const service = new SessionsService(store);
    await service.touchMany([]);
    await service.touchMany([
      { id: 'a', ip: '8.8.8.8' },
      { id: 'b', ip: '1.1.1.1', clientVersion: '5.0.0' },
    ]);
    expect(calls.upserts).toHaveLength(1);
    expect(calls.upserts[0].sessions.map(({ id }) => id)).toEqual(['a', 'b']);
  });

  it('ends a session by its id, and refuses an unusable id without calling the store', async () => {
    const { store, calls } = recordingStore();
    const service = new SessionsService(store);
    await service.end('s1');
    await expect(service.end('')).rejects.toBeInstanceOf(InvalidSessionError);
    expect(calls.removes).toEqual([['s1']]);
  });
});
