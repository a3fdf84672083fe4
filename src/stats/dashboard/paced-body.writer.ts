import type { ServerResponse } from 'node:http';

/**
 * Bytes written per turn of the event loop. Writing to a socket copies the bytes into the kernel
 * at once (on loopback it even runs the receiving side), so a megabyte costs a few milliseconds:
 * thirty-two polls of a 13 MB dashboard arriving together would stop the loop for a second.
 */
const BYTES_PER_TURN = 2 * 1024 * 1024;

interface PendingBody {
  response: ServerResponse;
  body: Buffer;
  offset: number;
}

/**
 * Sends large response bodies a share per turn of the event loop, first come first served, so no
 * burst of requests for a big dashboard blocks other work. Bodies are written as views of the
 * cached buffer: a socket that cannot take more keeps the view queued, it copies nothing.
 */
export class PacedBodyWriter {
  private readonly queue: PendingBody[] = [];
  /** Bytes written in this turn of the event loop. */
  private spent = 0;
  private scheduled = false;

  constructor(private readonly bytesPerTurn = BYTES_PER_TURN) {}

  /** Ends `response` with `body`; headers must be set. Goes out at once while this turn has room. */
  send(response: ServerResponse, body: Buffer): void {
    if (this.queue.length === 0 && this.spent + body.length <= this.bytesPerTurn) {
      this.spent += body.length;
      response.end(body);
    } else {
      this.queue.push({ response, body, offset: 0 });
    }
    this.schedule(); // renews the budget after this turn, and sends what waits
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.writeTurn());
  }

  /** Runs once per turn, after the requests of the turn: uses what is left of its budget, then renews it. */
  private writeTurn(): void {
    this.scheduled = false;
    while (this.spent < this.bytesPerTurn && this.queue.length > 0) {
      const pending = this.queue[0];
      const { response, body } = pending;
      if (response.destroyed) {
        this.queue.shift(); // the client went away: nothing more to send
        continue;
      }
      const end = Math.min(body.length, pending.offset + this.bytesPerTurn - this.spent);
      const part = body.subarray(pending.offset, end);
      this.spent += part.length;
      pending.offset = end;
      if (end === body.length) {
        this.queue.shift();
        response.end(part);
      } else {
        response.write(part);
      }
    }
    this.spent = 0;
    if (this.queue.length > 0) this.schedule();
  }
}
