import { Inject, Injectable, Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { withinDeadline } from '../common/deadline';
import { ShardedMap } from '../common/sharded-map';
import { SourceTimeoutError } from '../errors/source-timeout.error';
import { GeoService } from '../geo/geo.service';
import { storedSessionFromSource, type SourceRecordProblem } from '../sessions/session-input';
import type { SessionAggregates, SessionStore } from '../sessions/session-store.interface';
import type { ActiveSession, SessionSource } from '../sessions/session.types';
import { SESSION_STORE, STATS_RESOLVED_OPTIONS } from '../stats.constants';
import type { ResolvedStatsOptions } from '../stats-options.validation';
import { VersionPolicyService } from '../versions/version-policy.service';
import { bodyHead, bodyTail, versionJson } from './dashboard-body.format';
import { DashboardSessionsDto } from './dashboard.dto';
import { LocationTally } from './location-tally';
import type { BodyParts } from './paced-body.writer';

/** The figures of one dashboard, captured together so that the version counts add up to the total. */
interface Tally {
  revision?: string;
  totalCount: number;
  sessionsByIp: ReadonlyMap<string, number>;
  sessionsByVersion: ReadonlyMap<string, number>;
  /** Where these figures stand in the store's change feed, when they are the store's own. */
  changePosition?: number;
}

/**
 * Composes the dashboard from the session store (and the host's sources), GeoService and
 * VersionPolicyService. The serialised body is cached per store revision, so polling admin UIs
 * cost one cheap revision check until a session comes, changes or goes. One computation runs at a
 * time and concurrent requests share it; it updates the locations incrementally.
 */
@Injectable()
export class DashboardService {
  private readonly logger = new Logger('StatsModule');
  private readonly locations: LocationTally;
  private cached: { revision: string; body: BodyParts } | null = null;
  /** The store's change position the locations were last synced to in full; undefined when unknown. */
  private locationsAt: number | undefined;
  private computation: Promise<BodyParts> | null = null;

  constructor(
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    geo: GeoService,
    private readonly versionPolicy: VersionPolicyService,
    @Inject(STATS_RESOLVED_OPTIONS) private readonly options: ResolvedStatsOptions,
  ) {
    this.locations = new LocationTally(geo);
  }

  /** The dashboard as DTO instances, for hosts that use it in code rather than over HTTP. */
  async getDashboard(): Promise<DashboardSessionsDto> {
    return plainToInstance(DashboardSessionsDto, JSON.parse((await this.getDashboardJson()).toString('utf8')));
  }

  /** The dashboard serialised as JSON (UTF-8), exactly as the route sends it. */
  async getDashboardJson(): Promise<Buffer> {
    const { parts, length } = await this.getDashboardBody();
    return Buffer.concat(parts, length);
  }

  /**
   * The JSON body in the parts it is cached in, for the route to send without copying them
   * together: at a million sessions that is over ten megabytes per change.
   */
  async getDashboardBody(): Promise<BodyParts> {
    const withSources = this.options.sessions.sources.length > 0;
    for (;;) {
      if (!withSources) {
        const revision = await this.store.revision(Date.now());
        if (this.cached?.revision === revision) return this.cached.body;
      }
      if (!this.computation) {
        this.computation = this.compute(withSources).finally(() => (this.computation = null));
        return this.computation;
      }
      // Sources have no revision: share the computation under way. Otherwise wait for it, then
      // check whether it covered the revision this request must reflect.
      if (withSources) return this.computation;
      await this.computation.catch(() => undefined);
    }
  }

  private async compute(withSources: boolean): Promise<BodyParts> {
    const now = Date.now();
    const tally = withSources ? await this.mergeSources(now) : snapshot(await this.store.aggregates(now));
    // Only the IPs changed since the last sync need comparing, when the store can name them.
    const changedIps =
      this.locationsAt === undefined || tally.changePosition === undefined
        ? undefined
        : this.store.changedIpsSince?.(this.locationsAt);
    this.locationsAt = undefined; // until this sync has run to its end
    await this.locations.sync(tally.sessionsByIp, changedIps);
    this.locationsAt = tally.changePosition;
    const parts = await this.serialise(tally);
    const body = { parts, length: parts.reduce((sum, part) => sum + part.length, 0) };
    if (tally.revision !== undefined) this.cached = { revision: tally.revision, body };
    return body;
  }

  /** The store's sessions merged with the host's sources: one per id, the newest sighting wins. */
  private async mergeSources(now: number): Promise<Tally> {
    const [aggregates, reported] = await Promise.all([this.store.aggregates(now), this.collectSources(now)]);
    const sessionsByIp = new ShardedMap<number>();
    for (const [ip, count] of aggregates.sessionsByIp) sessionsByIp.set(ip, count);
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
    return { totalCount, sessionsByIp, sessionsByVersion };
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

  /** The body (see dashboard-body.format.ts); versions newest first. */
  private serialise({ totalCount, sessionsByVersion }: Tally): Promise<Buffer[]> {
    const versions = [...sessionsByVersion.keys()]
      .sort(this.versionPolicy.compareNewestFirst)
      .map((version) =>
        versionJson(version, this.versionPolicy.supportStatus(version), sessionsByVersion.get(version)!),
      );
    return this.locations.serialise(Buffer.from(bodyHead(totalCount)), Buffer.from(bodyTail(versions)));
  }
}

/** Copies what a live store may change while the locations are synced in slices. */
function snapshot(aggregates: SessionAggregates): Tally {
  return {
    revision: aggregates.revision,
    totalCount: aggregates.totalCount,
    sessionsByIp: aggregates.sessionsByIp,
    sessionsByVersion: new Map(aggregates.sessionsByVersion),
    changePosition: aggregates.changePosition,
  };
}

async function listWithin(source: SessionSource, timeoutMs: number): Promise<Iterable<ActiveSession>> {
  const name = source.name ?? source.constructor?.name ?? 'SessionSource';
  const list = await withinDeadline(
    Promise.resolve().then(() => source.listActiveSessions()),
    Date.now() + timeoutMs,
    () => new SourceTimeoutError(name, timeoutMs),
  );
  // undefined and null have no properties to look at: checked first, so they name the source too.
  if (list === undefined || list === null || typeof (list as Iterable<ActiveSession>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`session source ${name} returned ${list === null ? 'null' : typeof list}, not an iterable`);
  }
  return list;
}

function add(counts: Map<string, number> | ShardedMap<number>, key: string, delta: number): void {
  const count = (counts.get(key) ?? 0) + delta;
  if (count <= 0) counts.delete(key);
  else counts.set(key, count);
}
