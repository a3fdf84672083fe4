import { MemorySessionStore } from './memory-session.store';
import { describeSessionStoreContract } from './session-store.contract';
import type { StoredSession } from './session-store.interface';

describeSessionStoreContract(
  'MemorySessionStore',
  (ttlSeconds) => new MemorySessionStore(ttlSeconds),
  (store) => (store as MemorySessionStore).onModuleDestroy(),
);

describe('MemorySessionStore', () => {
  it('agrees with a plain map of sessions through random upserts, removals and expiry', async () => {
    const ttlSeconds = 2;
    const store = new MemorySessionStore(ttlSeconds);
    const model = new Map<string, StoredSession>();
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    let now = Date.now();
    try {
      for (let round = 0; round < 200; round++) {
        now += random(300); // sessions spread over many 100 ms buckets, some expiring each round
        const batch: StoredSession[] = [];
        for (let i = 0; i < 40; i++) {
          batch.push({
            id: `s${random(3000)}`,
            ip: `10.0.${random(4)}.${random(50)}`,
            clientVersion: `1.${random(6)}.0`,
            seenAt: now - random(2500), // some already expired, some older than what is stored
          });
        }
        await store.upsert(batch, now);
        for (const session of batch) {
          const known = model.get(session.id);
          if (session.seenAt > now - ttlSeconds * 1000 && (!known || known.seenAt <= session.seenAt)) {
            model.set(session.id, session);
          }
        }
        const removed = Array.from({ length: 5 }, () => `s${random(3000)}`);
        await store.remove(removed);
        for (const id of removed) model.delete(id);
        for (const [id, session] of model) if (session.seenAt <= now - ttlSeconds * 1000) model.delete(id);

        const figures = await store.aggregates(now);
        expect(figures.totalCount).toBe(model.size);
        expect(Object.fromEntries(figures.sessionsByIp)).toEqual(countBy(model, 'ip'));
        expect(Object.fromEntries(figures.sessionsByVersion)).toEqual(countBy(model, 'clientVersion'));
        const sample = Array.from({ length: 50 }, () => `s${random(3000)}`);
        const found = await store.find(sample, now);
        expect(Object.fromEntries(found)).toEqual(
          Object.fromEntries(sample.filter((id) => model.has(id)).map((id) => [id, model.get(id)])),
        );
      }
    } finally {
      store.onModuleDestroy();
    }
  });
});

function countBy(sessions: Map<string, StoredSession>, field: 'ip' | 'clientVersion'): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const session of sessions.values()) counts[session[field]] = (counts[session[field]] ?? 0) + 1;
  return counts;
}
