import { createServer, get, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PacedBodyWriter } from './paced-body.writer';

/** A response that records what was written in which turn of the event loop. */
class RecordingResponse {
  readonly writes: Array<{ turn: number; bytes: Buffer; end: boolean }> = [];
  destroyed = false;
  constructor(private readonly clock: { turn: number }) {}
  write(bytes: Buffer): boolean {
    this.writes.push({ turn: this.clock.turn, bytes, end: false });
    return true;
  }
  end(bytes: Buffer = Buffer.alloc(0)): void {
    this.writes.push({ turn: this.clock.turn, bytes, end: true });
  }
  cork(): void {}
  uncork(): void {}
  get body(): Buffer {
    return Buffer.concat(this.writes.map((write) => write.bytes));
  }
  get ended(): boolean {
    return this.writes.at(-1)?.end === true;
  }
}

const bodyOf = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) % 251));
/** The body cut into parts of a few hundred bytes, as the dashboard's runs are. */
const partsOf = (body: Buffer, size = 300) => ({
  parts: Array.from({ length: Math.ceil(body.length / size) }, (_, i) => body.subarray(i * size, (i + 1) * size)),
  length: body.length,
});
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('PacedBodyWriter', () => {
  const clock = { turn: 0 };
  const response = () => new RecordingResponse(clock);
  const asResponse = (recording: RecordingResponse) => recording as unknown as ServerResponse;

  async function runTurns(until: () => boolean): Promise<void> {
    for (let turn = 0; turn < 100 && !until(); turn++) {
      await nextTurn();
      clock.turn++;
    }
  }

  beforeEach(() => (clock.turn = 0));

  it('sends a body within the budget of the turn at once', () => {
    const writer = new PacedBodyWriter(1000);
    const small = response();
    writer.send(asResponse(small), partsOf(bodyOf(600, 1)));
    expect(small.ended).toBe(true);
    expect(small.body).toEqual(bodyOf(600, 1));
  });

  it('spreads bodies over turns, never more than the budget per turn, first come first served', async () => {
    const writer = new PacedBodyWriter(1000);
    const responses = [response(), response(), response()];
    const bodies = [bodyOf(600, 1), bodyOf(2500, 2), bodyOf(700, 3)];
    responses.forEach((recording, index) => writer.send(asResponse(recording), partsOf(bodies[index])));
    await runTurns(() => responses.every((recording) => recording.ended));

    responses.forEach((recording, index) => expect(recording.body).toEqual(bodies[index]));
    const bytesPerTurn = new Map<number, number>();
    for (const write of responses.flatMap((recording) => recording.writes)) {
      bytesPerTurn.set(write.turn, (bytesPerTurn.get(write.turn) ?? 0) + write.bytes.length);
    }
    expect(Math.max(...bytesPerTurn.values())).toBeLessThanOrEqual(1000);
    expect(bytesPerTurn.size).toBe(4); // 3,800 bytes in turns of at most 1,000
    const finished = responses.map((recording) => recording.writes.at(-1)!.turn);
    expect(finished).toEqual([...finished].sort((a, b) => a - b));
  });

  it('ends a response without parts', () => {
    const writer = new PacedBodyWriter(1000);
    const empty = response();
    writer.send(asResponse(empty), { parts: [], length: 0 });
    expect(empty.ended).toBe(true);
  });

  it('skips a response whose client went away and serves the next one', async () => {
    const writer = new PacedBodyWriter(1000);
    const [gone, next] = [response(), response()];
    writer.send(asResponse(response()), partsOf(bodyOf(1000, 0))); // uses this turn's budget
    writer.send(asResponse(gone), partsOf(bodyOf(3000, 1)));
    writer.send(asResponse(next), partsOf(bodyOf(500, 2)));
    gone.destroyed = true;
    await runTurns(() => next.ended);
    expect(gone.writes).toEqual([]);
    expect(next.body).toEqual(bodyOf(500, 2));
  });

  it('delivers large bodies intact over real sockets', async () => {
    const writer = new PacedBodyWriter(64 * 1024);
    const body = bodyOf(3 * 1024 * 1024 + 17, 5);
    const server: Server = createServer((_, res) => {
      res.setHeader('Content-Length', body.length);
      writer.send(res, partsOf(body, 40_000));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const received = await Promise.all(
        Array.from(
          { length: 4 },
          () =>
            new Promise<Buffer>((resolve, reject) =>
              get({ host: '127.0.0.1', port, path: '/' }, (res) => {
                const chunks: Buffer[] = [];
                res.on('data', (chunk: Buffer) => chunks.push(chunk));
                res.on('end', () => resolve(Buffer.concat(chunks)));
              }).on('error', reject),
            ),
        ),
      );
      for (const bytes of received) expect(bytes.equals(body)).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
