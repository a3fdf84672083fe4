import { SharedCheck } from './shared-check';

describe('SharedCheck', () => {
  it('lets calls made during a check share the next one, at the newest time asked', async () => {
    const started: number[] = [];
    const releases: (() => void)[] = [];
    const check = new SharedCheck(async (now: number) => {
      started.push(now);
      await new Promise<void>((resolve) => releases.push(resolve));
      return `checked at ${now}`;
    });
    const first = check.run(1);
    const second = check.run(2);
    const third = check.run(3);
    expect(started).toEqual([1]); // the others wait: the running check may predate their calls
    releases.shift()!();
    await expect(first).resolves.toBe('checked at 1');
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 3]);
    releases.shift()!();
    await expect(Promise.all([second, third])).resolves.toEqual(['checked at 3', 'checked at 3']);
    const later = check.run(4);
    releases.shift()!();
    await expect(later).resolves.toBe('checked at 4');
  });

  it('starts the next check after a failed one', async () => {
    let calls = 0;
    const check = new SharedCheck(async () => {
      if (++calls === 1) throw new Error('down');
      return 'up';
    });
    const failing = check.run(1);
    const waiting = check.run(2);
    await expect(failing).rejects.toThrow('down');
    await expect(waiting).resolves.toBe('up');
  });
});
