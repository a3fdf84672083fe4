import type { ServerResponse } from 'node:http';

/**
 * Bytes written per turn of the event loop. Writing to a socket copies the bytes into the kernel
 * at once (on loopback it even runs the receiving side), so a megabyte costs a few milliseconds:
 * thirty-two polls of a 13 MB dashboard arriving together would stop the loop for a second.
 */
export const BYTES_PER_TURN = 2 * 1024 * 1024;

/** A body in consecutive parts, and its length in bytes. */
export interface BodyParts {
  readonly parts: readonly Buffer[];
  readonly length: number;
}

interface PendingBody {
  response: ServerResponse;
  parts: readonly Buffer[];
  /** The next part to write, and how much of it is written. */
  part: number;
  offset: number;
}

/**
 * Sends large response bodies a share per turn of the event loop, first come first served, so no
 * burst of requests for a big dashboard blocks other work. Parts are written as they are, or as
 * views of them, and corked so that a turn's share of a response leaves in one system call; a
 * socket that cannot take more keeps them queued without a copy.
 */
export class PacedBodyWriter {
  private readonly queue: PendingBody[] = [];
  /** Bytes written in this turn of the event loop. */
  private spent = 0;
  private scheduled = false;

  constructor(private readonly bytesPerTurn = BYTES_PER_TURN) {}

  /** Ends `response` with the body; headers must be set. Goes out at once while this turn has room. */
  send(response: ServerResponse, { parts, length }: BodyParts): void {
    const pending: PendingBody = { response, parts, part: 0, offset: 0 };
    if (this.queue.length === 0 && this.spent + length <= this.bytesPerTurn) {
      this.spent += this.write(pending, length);
    } else {
      this.queue.push(pending);
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
      if (pending.response.destroyed) {
        this.queue.shift(); // the client went away: nothing more to send
        continue;
      }
      this.spent += this.write(pending, this.bytesPerTurn - this.spent);
      if (pending.part === pending.parts.length) this.queue.shift();
    }
    this.spent = 0;
    if (this.queue.length > 0) this.schedule();
  }

  /** Writes up to `budget` bytes of the body, ending the response after its last part; answers the bytes written. */
  private write(pending: PendingBody, budget: number): number {
    const { response, parts } = pending;
    if (parts.length === 0) {
      response.end();
      return 0;
    }
    let written = 0;
    response.cork();
    while (written < budget && pending.part < parts.length) {
      const part = parts[pending.part];
      const end = Math.min(part.length, pending.offset + budget - written);
      const piece = pending.offset === 0 && end === part.length ? part : part.subarray(pending.offset, end);
      written += piece.length;
      if (end === part.length) {
        pending.part++;
        pending.offset = 0;
      } else {
        pending.offset = end;
      }
      if (pending.part === parts.length) response.end(piece);
      else if (piece.length > 0) response.write(piece);
    }
    response.uncork();
    return written;
  }
}
