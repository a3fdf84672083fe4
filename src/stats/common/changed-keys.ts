/** Past this many changed keys between two reads, comparing them all is as cheap. */
const MAX_TRACKED = 50_000;

/**
 * The keys (IPs) whose counts changed since the last `take`. Unknown before the first take, after
 * `forget`, and past MAX_TRACKED keys: the reader then compares every key.
 */
export class ChangedKeys {
  private keys: Set<string> | null = null;

  add(key: string): void {
    if (!this.keys) return;
    this.keys.add(key);
    if (this.keys.size > MAX_TRACKED) this.keys = null;
  }

  /** The next `take` answers "unknown". */
  forget(): void {
    this.keys = null;
  }

  /** The keys changed since the last take (undefined when unknown), and starts a new list. */
  take(): ReadonlySet<string> | undefined {
    const taken = this.keys ?? undefined;
    this.keys = new Set();
    return taken;
  }
}
