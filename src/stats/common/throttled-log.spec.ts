import { ThrottledLog } from './throttled-log';

describe('ThrottledLog', () => {
  afterEach(() => jest.useRealTimers());

  it('writes a topic once per interval, then says how many lines it held back', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const lines: string[] = [];
    const log = new ThrottledLog(30_000, (line) => lines.push(line));
    log.report('503', 'store down', '; retrying');
    log.report('503', 'store down', '; retrying');
    log.report('503', 'store down', '; retrying');
    log.report('504', 'source slow');
    jest.setSystemTime(1_000_000 + 30_000);
    log.report('503', 'store down again', '; retrying');
    log.report('503', 'held');
    jest.setSystemTime(1_000_000 + 60_000);
    log.report('503', 'store back');
    expect(lines).toEqual([
      'store down; retrying',
      'source slow',
      'store down again (2 more since the last report); retrying',
      'store back (1 more since the last report)',
    ]);
  });
});
