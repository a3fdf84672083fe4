/**
 * A check (of a remote revision, say) that concurrent callers share without getting an answer older
 * than their call: calls made while a check is under way share the next one, which starts when that
 * one ends, at the newest time any of them asked for. Under load that is one check per round trip,
 * however many callers ask.
 */
export class SharedCheck<T> {
  private state: { running: Promise<T>; next: Promise<T> | null; nextNow: number } | null = null;

  constructor(private readonly check: (now: number) => Promise<T>) {}

  run(now: number): Promise<T> {
    const state = this.state;
    if (!state) return this.start(now);
    state.nextNow = Math.max(state.nextNow, now);
    state.next ??= state.running.catch(() => undefined).then(() => this.start(state.nextNow));
    return state.next;
  }

  private start(now: number): Promise<T> {
    const running = this.check(now);
    this.state = { running, next: null, nextNow: now };
    void running
      .catch(() => undefined)
      .then(() => {
        if (this.state?.running === running && !this.state.next) this.state = null;
      });
    return running;
  }
}
