import { Inject, Injectable, Logger } from '@nestjs/common';
import { SourceTimeoutError } from '../errors/source-timeout.error';
import { GeoService, type GeoLocation } from '../geo/geo.service';
import { storedSessionFromSource, type SourceRecordProblem } from '../sessions/session-input';
import type { SessionStore } from '../sessions/session-store.interface';
import type { ActiveSession, SessionSource } from '../sessions/session.types';
import { SESSION_STORE, STATS_RESOLVED_OPTIONS } from '../stats.constants';
import type { ResolvedStatsOptions } from '../stats-options.resolver';
import { VersionPolicyService } from '../versions/version-policy.service';
import type { ClientVersionSupport, DashboardSessionsDto, SessionGeoData } from './dashboard.dto';

/** The figures a dashboard is built from. */
interface Tally {
  totalCount: number;
  sessionsByIp: ReadonlyMap<string, number>;
  sessionsByVersion: ReadonlyMap<string, number>;
}

/** A built dashboard: `versions` as ordered pairs, since an object would move numeric keys first. */
interface Dashboard {
  totalCount: number;
  geoIpData: SessionGeoData[];
  versions: Array<[string, ClientVersionSupport]>;
}

/**
 * Composes the dashboard from the session store (and the host's sources), GeoService and
 * VersionPolicyService. The serialised body is cached per store revision, so polling admin UIs
 * cost one cheap revision check until a session comes, changes or goes; concurrent requests share
 * one computation.
 */
@Injectable()
export class DashboardService {
  private readonly logger = new Logger('StatsModule');
  private cached: { revision: string; json: Buffer } | null = null;
  private pending = new Map<string, Promise<Buffer>>();

  constructor(
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    private readonly geo: GeoService,
    private readonly versionPolicy: VersionPolicyService,
    @Inject(STATS_RESOLVED_OPTIONS) private readonly options: ResolvedStatsOptions,
  ) {}

  /** The dashboard as a plain object. */
  async getDashboard(): Promise<DashboardSessionsDto> {
    return JSON.parse((await this.getDashboardJson()).toString('utf8'));
  }

  /** The dashboard serialised as JSON (UTF-8), exactly as the route sends it. */
  async getDashboardJson(): Promise<Buffer> {
    const now = Date.now();
    if (this.options.sessions.sources.length > 0) {
      // Sources have no revision to cache by: concurrent requests still share one computation.
      return this.shared('sources', () => this.computeWithSources(now));
    }
    const revision = await this.store.revision(now);
    if (this.cached?.revision === revision) return this.cached.json;
    return this.shared(`store:${revision}`, async () => {
      const aggregates = await this.store.aggregates(now);
      const json = serialize(this.build(aggregates));
      this.cached = { revision: aggregates.revision, json };
      return json;
    });
  }

  private shared(key: string, compute: () => Promise<Buffer>): Promise<Buffer> {
    let pending = this.pending.get(key);
    if (!pending) {
      pending = compute().finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return pending;
  }

  private async computeWithSources(now: number): Promise<Buffer> {
    const [aggregates, reported] = await Promise.all([this.store.aggregates(now), this.collectSources(now)]);
    const sessionsByIp = new Map(aggregates.sessionsByIp);
    const sessionsByVersion = new Map(aggregates.sessionsByVersion);
    let totalCount = aggregates.totalCount;
    const own = await this.store.find([...reported.keys()], now);
    for (const [id, session] of reported) {
      const stored = own.get(id);
      if (stored) {
        if (stored.seenAt >= session.seenAt) continue; // already counted through the store
        totalCount--;
        add(sessionsByIp, stored.ip, -1);
        add(sessionsByVersion, stored.clientVersion, -1);
      }
      totalCount++;
      if (session.ip !== null) add(sessionsByIp, session.ip, 1);
      add(sessionsByVersion, session.clientVersion, 1);
    }
    return serialize(this.build({ totalCount, sessionsByIp, sessionsByVersion }));
  }

  /** Every session the host's sources report, one per id (the newest sighting wins). */
  private async collectSources(now: number) {
    const { sources, sourceTimeoutMs, ttlSeconds } = this.options.sessions;
    const lists = await Promise.all(sources.map((source) => listWithin(source, sourceTimeoutMs)));
    const cutoff = now - ttlSeconds * 1000;
    const problems = new Set<SourceRecordProblem>();
    const sessions = new Map<string, NonNullable<ReturnType<typeof storedSessionFromSource>>>();
    let malformed = 0;
    for (const list of lists) {
      for (const record of list) {
        const before = problems.size;
        const session = storedSessionFromSource(record, now, problems);
        if (problems.size !== before || !session || session.ip === null) malformed++;
        if (!session || session.seenAt <= cutoff) continue;
        const known = sessions.get(session.id);
        if (!known || known.seenAt < session.seenAt) sessions.set(session.id, session);
      }
    }
    if (malformed > 0) {
      // One line per computation, not per record: a broken source must not flood the log.
      this.logger.warn(
        `${malformed} session record(s) from sources had unusable fields (${[...problems].join(', ')}); ` +
          'they count where they can, records without a usable id are skipped',
      );
    }
    return sessions;
  }

  private build({ totalCount, sessionsByIp, sessionsByVersion }: Tally): Dashboard {
    const byLocation = new Map<GeoLocation, SessionGeoData>();
    for (const [ip, count] of sessionsByIp) {
      const location = this.geo.locate(ip);
      if (!location) continue; // private, reserved or unknown: counted in totalCount only
      let entry = byLocation.get(location);
      if (!entry) {
        entry = { sessionCount: 0, ...location, ips: [] };
        byLocation.set(location, entry);
      }
      entry.sessionCount += count;
      entry.ips.push(ip);
    }
    const geoIpData = [...byLocation.values()].sort(
      (a, b) =>
        b.sessionCount - a.sessionCount ||
        compareText(a.countryCode, b.countryCode) ||
        a.latitude - b.latitude ||
        a.longitude - b.longitude,
    );
    const versions = [...sessionsByVersion.keys()]
      .sort(this.versionPolicy.compareNewestFirst)
      .map((version): [string, ClientVersionSupport] => [
        version,
        { supportStatus: this.versionPolicy.supportStatus(version), sessionCount: sessionsByVersion.get(version)! },
      ]);
    return { totalCount, geoIpData, versions };
  }
}

async function listWithin(source: SessionSource, timeoutMs: number): Promise<Iterable<ActiveSession>> {
  const name = source.name ?? source.constructor?.name ?? 'SessionSource';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SourceTimeoutError(name, timeoutMs)), timeoutMs);
  });
  try {
    const list = await Promise.race([source.listActiveSessions(), timeout]);
    if (list === null || typeof (list as Iterable<ActiveSession>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`session source ${name} returned ${list === null ? 'null' : typeof list}, not an iterable`);
    }
    return list;
  } finally {
    clearTimeout(timer);
  }
}

/** Writes the body once per change, in the documented field order, keeping the version order. */
function serialize({ totalCount, geoIpData, versions }: Dashboard): Buffer {
  const parts: string[] = [`{"totalCount":${totalCount},"geoIpData":[`];
  geoIpData.forEach((entry, index) => {
    parts.push(
      `${index ? ',' : ''}{"sessionCount":${entry.sessionCount},"latitude":${entry.latitude},` +
        `"longitude":${entry.longitude},"countryCode":${JSON.stringify(entry.countryCode)},` +
        `"continentCode":${JSON.stringify(entry.continentCode)},"ips":${JSON.stringify(entry.ips)}}`,
    );
  });
  parts.push('],"versions":{');
  versions.forEach(([version, support], index) => {
    parts.push(
      `${index ? ',' : ''}${JSON.stringify(version)}:{"supportStatus":"${support.supportStatus}",` +
        `"sessionCount":${support.sessionCount}}`,
    );
  });
  parts.push('}}');
  return Buffer.from(parts.join(''), 'utf8');
}

function add(counts: Map<string, number>, key: string, delta: number): void {
  const count = (counts.get(key) ?? 0) + delta;
  if (count <= 0) counts.delete(key);
  else counts.set(key, count);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
