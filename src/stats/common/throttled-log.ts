/**
 * Writes a line at most once per interval and topic, saying how many were held back since the last
 * one: an outage repeats on every request and every reconnection attempt, and must not flood the log.
 */
export class ThrottledLog {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly write: (line: string) => void,
  ) {}

  /** `line` ends with `tail` (after the count of held-back lines, when there are some). */
  report(topic: string, line: string, tail = ''): void {
    const now = Date.now();
    const last = this.last.get(topic);
    if (last && now - last.at < this.intervalMs) {
      last.held++;
      return;
    }
    const held = last?.held ? ` (${last.held} more since the last report)` : '';
    this.write(`${line}${held}${tail}`);
    this.last.set(topic, { at: now, held: 0 });
  }
}
