import { resolveStatsOptions } from '../stats-options.validation';
import { VersionPolicyService } from './version-policy.service';

describe('VersionPolicyService', () => {
  const policy = (full: string, partial: string) =>
    new VersionPolicyService(
      resolveStatsOptions({ auth: { secret: 'x'.repeat(32) }, versionPolicy: { full, partial } }),
    );
  const service = policy('>=6.0.0', '>=5.5.0 <6.0.0');

  it.each([
    ['6.0.0', 'full'],
    ['6.0.0-release-1234', 'full'],
    ['6.1.2-32120-release', 'full'],
    ['v7.2', 'full'],
    ['5.5.0-release-1234', 'partial'],
    ['5.9.99', 'partial'],
    ['5.4.1-release-1234', 'none'],
    ['unknown', 'none'],
    ['banana', 'none'],
    ['abc6.0.0', 'none'],
  ])('judges %s as %s', (version, status) => {
    expect(service.supportStatus(version)).toBe(status);
  });

  it('checks full before partial when the ranges overlap', () => {
    expect(policy('>=6.0.0', '>=5.0.0').supportStatus('6.2.0')).toBe('full');
  });

  it('orders newest first, versions without X.Y.Z last, ties by text', () => {
    const versions = ['5.4.1', 'unknown', '6.0.0-release-1234', '10.0.0', '6.0.0', 'banana', '6.0.0-a'];
    expect(versions.sort(service.compareNewestFirst)).toEqual([
      '10.0.0',
      '6.0.0-release-1234',
      '6.0.0-a',
      '6.0.0',
      '5.4.1',
      'banana',
      'unknown',
    ]);
  });
});
