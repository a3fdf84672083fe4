/** Work done before yielding to the event loop, so a million sessions never block it for long. */
const SLICE_MS = 8;

/** Lets a long loop yield to the event loop once it has run for SLICE_MS. */
export class Slice {
  private started = performance.now();
  private calls = 0;

  /** `checkEvery` (a power of two) spares cheap steps a clock reading each: it would cost more than they do. */
  constructor(private readonly checkEvery = 1024) {}

  due(): boolean {
    return (++this.calls & (this.checkEvery - 1)) === 0 && this.dueNow();
  }

  dueNow(): boolean {
    return performance.now() - this.started >= SLICE_MS;
  }

  pause(): Promise<void> {
    return new Promise((resolve) =>
      setImmediate(() => {
        this.started = performance.now();
        resolve();
      }),
    );
  }
}
