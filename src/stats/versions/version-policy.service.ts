import { Inject, Injectable } from '@nestjs/common';
import { coerce, compare, satisfies, SemVer } from 'semver';
import { STATS_RESOLVED_OPTIONS } from '../stats.constants';
import type { ResolvedStatsOptions } from '../stats-options.validation';

export type SupportStatus = 'full' | 'partial' | 'none';

interface Judgement {
  status: SupportStatus;
  /** The X.Y.Z the version is judged as; null when it has none. */
  core: SemVer | null;
}

/**
 * Judges client versions against the semver policy. Versions are compared by their X.Y.Z core:
 * builds such as `6.0.0-release-1234` are releases to the clients that send them, while strict
 * semver would read them as pre-releases and exclude them from `>=6.0.0`.
 */
@Injectable()
export class VersionPolicyService {
  private readonly judged = new Map<string, Judgement>();

  constructor(@Inject(STATS_RESOLVED_OPTIONS) private readonly options: ResolvedStatsOptions) {}

  supportStatus(version: string): SupportStatus {
    return this.judge(version).status;
  }

  /** Orders version keys newest first; versions without an X.Y.Z (and `unknown`) come last. */
  compareNewestFirst = (a: string, b: string): number => {
    const coreA = this.judge(a).core;
    const coreB = this.judge(b).core;
    if (coreA && coreB) return compare(coreB, coreA) || (a < b ? 1 : a > b ? -1 : 0);
    if (coreA) return -1;
    if (coreB) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  };

  private judge(version: string): Judgement {
    let judgement = this.judged.get(version);
    if (!judgement) {
      // Only a string that starts with a version counts; coerce would otherwise find "2.0.0" in "abc2".
      const core = /^v?\d/.test(version) ? coerce(version) : null;
      const { full, partial } = this.options.versionPolicy;
      const status: SupportStatus = !core
        ? 'none'
        : satisfies(core, full)
          ? 'full'
          : satisfies(core, partial)
            ? 'partial'
            : 'none';
      judgement = { status, core };
      // Versions are few; the bound only guards against clients sending random strings.
      if (this.judged.size > 10_000) this.judged.clear();
      this.judged.set(version, judgement);
    }
    return judgement;
  }
}
