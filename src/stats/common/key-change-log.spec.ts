import { KeyChangeLog } from './key-change-log';

describe('KeyChangeLog', () => {
  it('names the keys changed since a position, once each, to every reader alike', () => {
    const log = new KeyChangeLog();
    log.record('a');
    const first = log.position;
    log.record('b');
    log.record('a');
    const second = log.position;
    log.record('c');
    expect([...log.since(first)!].sort()).toEqual(['a', 'b', 'c']);
    expect([...log.since(second)!]).toEqual(['c']);
    // Asking consumed nothing: the same question has the same answer.
    expect([...log.since(first)!].sort()).toEqual(['a', 'b', 'c']);
    expect(log.since(log.position)!.size).toBe(0);
  });

  it('answers unknown for a position it never gave', () => {
    const log = new KeyChangeLog();
    log.record('a');
    expect(log.since(2)).toBeUndefined();
    expect(log.since(-1)).toBeUndefined();
    expect(log.since(0.5)).toBeUndefined();
  });

  it('answers unknown after a reset for positions before it, and knows the changes after it', () => {
    const log = new KeyChangeLog();
    log.record('a');
    const before = log.position;
    log.reset();
    const after = log.position;
    log.record('b');
    expect(log.since(before)).toBeUndefined();
    expect([...log.since(after)!]).toEqual(['b']);
  });

  it('forgets the oldest changes past its bound, and answers unknown for them only', () => {
    const log = new KeyChangeLog();
    const start = log.position;
    for (let i = 0; i < 200_001; i++) log.record(`k${i % 10}`);
    expect(log.since(start)).toBeUndefined();
    const recent = log.position - 5;
    expect(log.since(recent)!.size).toBe(5);
  });

  it('answers unknown past 50,000 changed keys, where comparing them all is as cheap', () => {
    const log = new KeyChangeLog();
    const start = log.position;
    for (let i = 0; i < 50_001; i++) log.record(`k${i}`);
    expect(log.since(start)).toBeUndefined();
    expect(log.since(start + 1)!.size).toBe(50_000);
  });
});
