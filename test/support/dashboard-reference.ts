import type { INestApplication } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import request from 'supertest';
import { SessionsService } from '../../src/stats';
import { createStatsApp, DASHBOARD } from './stats-app';
import { bearer } from './tokens';

/** A session the specs touch: every one has an IP of its own, so a dashboard's IPs name its sessions. */
export interface TestSession {
  id: string;
  ip: string;
  clientVersion: string;
}

/** Public /24 networks that geoip-lite places in seven countries (US, AU, GB, DE, JP, BR, ZA). */
const NETWORKS = ['8.8.8.', '1.1.1.', '81.2.69.', '5.9.0.', '133.242.0.', '200.160.0.', '41.0.0.'];
const VERSIONS = ['6.1.0', '6.0.0', '5.5.0', '5.4.1-release'];
/** Sessions {@link testSession} can make before IPs would repeat. */
export const MAX_TEST_SESSIONS = NETWORKS.length * 254;

/** Session `index`: its own IP (located), one of four versions (full, full, partial, none). */
export function testSession(index: number, label = 's'): TestSession {
  if (index < 0 || index >= MAX_TEST_SESSIONS) throw new Error(`no test session ${index}`);
  return {
    id: `${label}${index}`,
    ip: `${NETWORKS[index % NETWORKS.length]}${1 + Math.floor(index / NETWORKS.length)}`,
    clientVersion: VERSIONS[index % VERSIONS.length],
  };
}

/**
 * What the dashboard must be for a set of sessions: the body of an application on the in-memory
 * store holding exactly those sessions. It is the same route, GeoIP data and version policy, so the
 * comparison covers totalCount, every location (its count, coordinates and IPs, in order) and every
 * version, without the specs computing any of it themselves.
 */
export class DashboardReference {
  private app: INestApplication | null = null;
  private held = new Map<string, TestSession>();
  private readonly bodies = new Map<string, unknown>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly ttlSeconds: number) {}

  /** The expected body for exactly these sessions. Calls run one after the other. */
  dashboardOf(sessions: Iterable<TestSession>): Promise<unknown> {
    const list = [...sessions];
    const next = this.queue.then(() => this.compute(list));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.app?.close();
    this.app = null;
  }

  private async compute(sessions: TestSession[]): Promise<unknown> {
    const key = sessions
      .map((session) => `${session.id}|${session.ip}|${session.clientVersion}`)
      .sort()
      .join(',');
    const known = this.bodies.get(key);
    if (known !== undefined) return known;
    this.app ??= await createStatsApp({ sessions: { ttlSeconds: this.ttlSeconds } });
    const service = this.app.get(SessionsService);
    const wanted = new Map(sessions.map((session) => [session.id, session]));
    for (const [id, session] of this.held) {
      const keep = wanted.get(id);
      if (!keep || keep.ip !== session.ip || keep.clientVersion !== session.clientVersion) await service.end(id);
    }
    await service.touchMany(sessions);
    this.held = wanted;
    const response = await request(this.app.getHttpServer()).get(DASHBOARD).set('Authorization', bearer()).expect(200);
    const body = normalised(response.body);
    this.bodies.set(key, body);
    return body;
  }
}

/**
 * The dashboard with each location's IPs sorted: the API lists them in no particular order (an
 * instance keeps them in the order it learnt them), everything else in the body has a defined order.
 */
export function normalised<T>(body: T): T {
  const { geoIpData } = body as { geoIpData?: Array<{ ips: string[] }> };
  if (!Array.isArray(geoIpData)) return body;
  return { ...body, geoIpData: geoIpData.map((location) => ({ ...location, ips: [...location.ips].sort() })) };
}

/** The body of a dashboard as far as the checks below read it. */
interface DashboardBody {
  totalCount: number;
  geoIpData: Array<{ ips: string[] }>;
}

/**
 * Checks a dashboard taken while touches were under way: the sessions it shows (read from its IPs)
 * must include every session acknowledged before the request went out, be among those attempted
 * before its answer came, and the whole body must equal the reference for exactly those sessions.
 * Answers '' when right, otherwise what is wrong.
 */
export async function checkDashboard(
  reference: DashboardReference,
  body: unknown,
  bounds: { acknowledged: ReadonlySet<string>; attempted: ReadonlySet<string> },
  sessionsById: ReadonlyMap<string, TestSession>,
): Promise<string> {
  const { geoIpData } = body as DashboardBody;
  if (!Array.isArray(geoIpData)) return `not a dashboard: ${JSON.stringify(body).slice(0, 200)}`;
  const idsByIp = new Map([...sessionsById.values()].map((session) => [session.ip, session.id]));
  const shown = new Set<string>();
  for (const ip of geoIpData.flatMap((location) => location.ips)) {
    const id = idsByIp.get(ip);
    if (id === undefined) return `shows IP ${ip}, which no session had`;
    shown.add(id);
  }
  const missing = [...bounds.acknowledged].filter((id) => !shown.has(id));
  if (missing.length > 0) return `misses acknowledged sessions ${missing.slice(0, 10).join(', ')}`;
  const unknown = [...shown].filter((id) => !bounds.attempted.has(id));
  if (unknown.length > 0) return `shows sessions never touched before it answered: ${unknown.join(', ')}`;
  const expected = await reference.dashboardOf([...shown].map((id) => sessionsById.get(id)!));
  if (!isDeepStrictEqual(normalised(body), expected)) {
    return `figures differ from those of its ${shown.size} sessions: ${summary(body)} instead of ${summary(expected)}`;
  }
  return '';
}

/** totalCount, locations and versions in one short line, for failure messages. */
export function summary(body: unknown): string {
  const { totalCount, geoIpData, versions } = body as {
    totalCount: number;
    geoIpData?: Array<{ countryCode: string; sessionCount: number }>;
    versions?: Record<string, { sessionCount: number }>;
  };
  const locations = (geoIpData ?? []).map((location) => `${location.countryCode}=${location.sessionCount}`);
  const counts = Object.entries(versions ?? {}).map(([version, { sessionCount }]) => `${version}=${sessionCount}`);
  return `{total ${totalCount}; ${locations.join(' ')}; ${counts.join(' ')}}`;
}
