import { StoreOutcomeUnknownError } from '../../errors/store-outcome-unknown.error';
import { StoreUnavailableError } from '../../errors/store-unavailable.error';
import type { StoredSession } from '../session-store.interface';
import { UpsertBatcher, UPSERT_CHUNK } from './upsert-batcher';

const session = (id: string, seenAt = 1000, ip = '8.8.8.8'): StoredSession => ({
  id,
  ip,
  clientVersion: '6.0.0',
  seenAt,
});
/** Sessions whose id starts with "a" go to shard 0, the others to shard 1. */
const shardOf = (s: StoredSession) => (s.id.startsWith('a') ? 0 : 1);

describe('UpsertBatcher', () => {
  it('sends one turn of upserts as one call per shard, each session once with its newest sighting', async () => {
    const sent: { shard: number; sessions: StoredSession[] }[] = [];
    const batcher = new UpsertBatcher(async (shard, sessions) => void sent.push({ shard, sessions }), shardOf);
    await Promise.all([
      batcher.add([session('a1', 1000, '1.1.1.1'), session('b1')], 1000),
      batcher.add([session('a1', 2000, '2.2.2.2')], 2000),
      batcher.add([session('a1', 1500, '3.3.3.3'), session('a2')], 2000),
    ]);
    expect(sent.map(({ shard }) => shard).sort()).toEqual([0, 1]);
    const shard0 = sent.find(({ shard }) => shard === 0)!.sessions;
    expect(shard0.map(({ id, ip }) => `${id}@${ip}`).sort()).toEqual(['a1@2.2.2.2', 'a2@8.8.8.8']);
  });

  it('splits a shard into calls of at most UPSERT_CHUNK sessions', async () => {
    const sizes: number[] = [];
    const batcher = new UpsertBatcher(async (_shard, sessions) => void sizes.push(sessions.length), shardOf);
    await batcher.add(
      Array.from({ length: UPSERT_CHUNK + 5 }, (_, i) => session(`a${i}`)),
      1000,
    );
    expect(sizes).toEqual([UPSERT_CHUNK, 5]);
  });

  it('answers each caller by the calls that carried its sessions, an unknown outcome outweighing a refusal', async () => {
    const outcomes: Record<number, Error | undefined> = {
      0: new StoreOutcomeUnknownError(new Error('no answer')),
      1: new StoreUnavailableError(new Error('refused')),
    };
    const failing = new UpsertBatcher(async (shard) => {
      if (outcomes[shard]) throw outcomes[shard];
    }, shardOf);
    const both = failing.add([session('a1'), session('b1')], 1000);
    const onlyRefused = failing.add([session('b2')], 1000);
    await expect(both).rejects.toBeInstanceOf(StoreOutcomeUnknownError);
    await expect(onlyRefused).rejects.toBeInstanceOf(StoreUnavailableError);

    outcomes[0] = undefined;
    const fine = failing.add([session('a3')], 1000);
    const refused = failing.add([session('a4'), session('b4')], 1000);
    await expect(fine).resolves.toBeUndefined();
    await expect(refused).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('resolves a caller whose sessions all went out with calls of other callers that succeeded', async () => {
    let calls = 0;
    const batcher = new UpsertBatcher(async () => void calls++, shardOf);
    const first = batcher.add([session('a1', 2000)], 2000);
    const older = batcher.add([session('a1', 1000)], 2000); // superseded by the first's newer sighting
    await expect(Promise.all([first, older])).resolves.toEqual([undefined, undefined]);
    expect(calls).toBe(1);
  });
});
