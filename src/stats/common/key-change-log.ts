/** Entries kept before the older half is forgotten; positions before that are then unknown. */
const MAX_ENTRIES = 200_000;
/** Past this many changed keys since a position, comparing every key is as cheap for the reader. */
const MAX_CHANGED = 50_000;

/**
 * The keys (IPs) whose counts changed, in the order of their changes, each change at the next
 * position. Any number of readers ask for the keys changed since the position they last read at:
 * asking consumes nothing, so one reader never hides a change from another.
 */
export class KeyChangeLog {
  private entries: string[] = [];
  /** Position of the change before `entries[0]`. */
  private base = 0;
  /** Readers at a position before this one are told "unknown". */
  private floor = 0;

  /** The position of the latest change. */
  get position(): number {
    return this.base + this.entries.length;
  }

  record(key: string): void {
    this.entries.push(key);
    if (this.entries.length > MAX_ENTRIES) {
      const dropped = this.entries.length >> 1;
      this.entries = this.entries.slice(dropped);
      this.base += dropped;
      this.floor = this.base;
    }
  }

  /** Forgets every change so far (the counts were rebuilt): a reader before it compares every key. */
  reset(): void {
    this.base = this.position + 1; // a position of its own, so that readers before it are behind
    this.floor = this.base;
    this.entries = [];
  }

  /**
   * The keys changed after `position`, or undefined when they are no longer known (forgotten, or
   * too many to be worth naming) or `position` is not one this log gave.
   */
  since(position: number): ReadonlySet<string> | undefined {
    if (!Number.isInteger(position) || position < this.floor || position > this.position) return undefined;
    const changed = new Set<string>();
    for (let index = position - this.base; index < this.entries.length; index++) {
      changed.add(this.entries[index]);
      if (changed.size > MAX_CHANGED) return undefined;
    }
    return changed;
  }
}
