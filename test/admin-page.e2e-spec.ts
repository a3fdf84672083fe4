import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { AdminPageModule } from '../src/example/admin-page.module';
import { SessionsService, StatsModule } from '../src/stats';
import { DASHBOARD, DEFAULT_OPTIONS } from './support/stats-app';
import { bearer, tokenFor } from './support/tokens';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(__dirname, '..', 'test-output');

const SESSIONS = [
  { id: 's1', ip: '85.228.0.1', clientVersion: '6.0.0-release-1234' },
  { id: 's2', ip: '85.228.0.1', clientVersion: '6.0.0-release-1234' },
  { id: 's3', ip: '85.228.0.2', clientVersion: '5.5.0-release-1234' },
  { id: 's4', ip: '8.8.8.8', clientVersion: '6.1.2-32120-release' },
  { id: 's5', ip: '49.44.0.1', clientVersion: '5.5.0-release-1234' },
  { id: 's6', ip: '41.0.0.1', clientVersion: '5.4.1-release-1234' },
  { id: 's7', ip: '200.160.2.1', clientVersion: '6.0.0-release-1234' },
  { id: 's8', ip: '1.0.0.1', clientVersion: '5.4.1-release-1234' },
  { id: 's9', ip: '10.1.2.3', clientVersion: '6.0.0-release-1234' }, // private: counted, in no location
];

interface Dashboard {
  totalCount: number;
  geoIpData: { sessionCount: number; countryCode: string; ips: string[] }[];
  versions: Record<string, { supportStatus: string; sessionCount: number }>;
}

describe('admin page in headless Chromium', () => {
  let app: INestApplication;
  let sessions: SessionsService;
  let browser: Browser;
  let origin: string;
  let context: BrowserContext;
  let page: Page;
  let foreignRequests: string[];
  let pageErrors: string[];
  let consoleErrors: string[];

  jest.setTimeout(60_000);

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run this spec`,
      );
    }
    const moduleRef = await Test.createTestingModule({
      imports: [StatsModule.forRoot(DEFAULT_OPTIONS), AdminPageModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    sessions = app.get(SessionsService);
    for (const session of SESSIONS) await sessions.touch(session);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  beforeEach(async () => {
    if (!browser) return; // beforeAll failed and said why: no second error here
    context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
    page = await context.newPage();
    foreignRequests = [];
    pageErrors = [];
    consoleErrors = [];
    page.on('request', (request) => {
      if (new URL(request.url()).origin !== origin) foreignRequests.push(request.url());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
  });

  afterEach(async () => {
    if (!context) return;
    await context.close();
    // Every script, style and map shape comes from the app itself.
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  async function apiDashboard(): Promise<Dashboard> {
    const response = await fetch(origin + DASHBOARD, { headers: { Authorization: bearer() } });
    expect(response.status).toBe(200);
    return (await response.json()) as Dashboard;
  }

  async function logIn(token: string): Promise<void> {
    await page.goto(origin + '/');
    await page.fill('#token', token);
    await page.click('#login button[type=submit]');
  }

  it('shows the total, one circle per location and the version bars the API returns', async () => {
    const expected = await apiDashboard();
    expect(expected.geoIpData.length).toBeGreaterThanOrEqual(6);
    const token = tokenFor();
    await logIn(token);

    await page
      .locator('#total-count')
      .filter({ hasText: String(expected.totalCount) })
      .waitFor();
    await expect(page.locator('#locations circle').count()).resolves.toBe(expected.geoIpData.length);
    await expect(page.locator('#location-count').textContent()).resolves.toBe(String(expected.geoIpData.length));
    await expect(page.locator('#unlocated').textContent()).resolves.toBe(', 1 session without a location');
    await expect(page.locator('#empty').isHidden()).resolves.toBe(true);
    await expect(page.locator('#login').isHidden()).resolves.toBe(true);

    // The world map is drawn from the served TopoJSON.
    expect(await page.locator('#countries path.country').count()).toBeGreaterThan(150);

    const bars = await page.locator('#versions .version').evaluateAll((rows) =>
      rows.map((row) => ({
        version: row.querySelector('.label')?.textContent,
        status: row.querySelector('.bar')?.getAttribute('data-status'),
        count: Number(row.querySelector('.count')?.textContent),
      })),
    );
    expect(bars).toHaveLength(Object.keys(expected.versions).length);
    for (const bar of bars) {
      expect(expected.versions[bar.version!]).toEqual({ supportStatus: bar.status, sessionCount: bar.count });
    }

    // Hovering a circle names the country and counts its IPs; a click lists the IPs.
    const sweden = expected.geoIpData.find((location) => location.countryCode === 'SE')!;
    const circle = page.locator('#locations circle[data-country="SE"]');
    await circle.hover();
    await expect(page.locator('#tooltip').textContent()).resolves.toBe('Sweden (SE): 3 sessions, 2 IPs');
    await circle.click();
    await expect(page.locator('#ips-list li').allTextContents()).resolves.toEqual(sweden.ips);

    // The token lives in sessionStorage only, never in the address.
    expect(page.url()).toBe(origin + '/');
    await expect(page.evaluate('Object.values(sessionStorage)')).resolves.toEqual([token]);

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'admin-page.png'), fullPage: true });

    // No missing file, no script or style refused by the page's Content-Security-Policy.
    expect(consoleErrors).toEqual([]);

    // The page polls: a new session shows up within one period.
    await sessions.touch({ id: 's10', ip: '81.2.69.160', clientVersion: '6.0.0-release-1234' });
    await page
      .locator('#total-count')
      .filter({ hasText: String(expected.totalCount + 1) })
      .waitFor({ timeout: 8_000 });
  });

  it('asks to log in again when the token is refused (401)', async () => {
    await logIn('not-a-token');
    await page.locator('#message', { hasText: 'Log in again' }).waitFor();
    await expect(page.locator('#login').isVisible()).resolves.toBe(true);
    await expect(page.locator('#dashboard').isHidden()).resolves.toBe(true);
    await expect(page.evaluate('sessionStorage.length')).resolves.toBe(0);
    await page.screenshot({ path: join(OUTPUT, 'admin-page-401.png') });
  });

  it('names the missing role when the token lacks it (403)', async () => {
    await logIn(tokenFor({ roles: ['other'] }));
    await page.locator('#message', { hasText: 'lacks the role' }).waitFor();
    await expect(page.locator('#login').isVisible()).resolves.toBe(true);
  });

  it('says so when the server cannot be reached, and when there are no sessions', async () => {
    await page.route(`${origin}${DASHBOARD}`, (route) => route.abort('connectionrefused'));
    await logIn(tokenFor());
    await page.locator('#message', { hasText: 'Cannot reach the server' }).waitFor();

    await page.unroute(`${origin}${DASHBOARD}`);
    await page.route(`${origin}${DASHBOARD}`, (route) =>
      route.fulfill({ json: { totalCount: 0, geoIpData: [], versions: {} } }),
    );
    await page.locator('#empty').waitFor({ timeout: 8_000 });
    await expect(page.locator('#message').isHidden()).resolves.toBe(true);
    await expect(page.locator('#locations circle').count()).resolves.toBe(0);
  });

  it('draws 100,000 sessions in 4,901 locations without freezing, and caps the IP list', async () => {
    const body = syntheticDashboard();
    await page.route(`${origin}${DASHBOARD}`, (route) => route.fulfill({ json: body }));
    await logIn(tokenFor());
    await page.locator('#total-count').filter({ hasText: '100,000' }).waitFor();
    await expect(page.locator('#locations circle').count()).resolves.toBe(4_901);

    // Building the DOM for one answer stays well under a second, so polling never freezes the page.
    const renders = (await page.evaluate(
      "performance.getEntriesByName('dashboard-render').map((entry) => entry.duration)",
    )) as number[];
    expect(renders.length).toBeGreaterThan(0);
    expect(Math.max(...renders)).toBeLessThan(1_000);

    // The first location holds 2,000 IPs: only the first 200 are listed.
    await page.locator('#locations circle').first().dispatchEvent('click');
    await expect(page.locator('#ips-list li').count()).resolves.toBe(200);
    await expect(page.locator('#ips-more').textContent()).resolves.toBe('and 1,800 more IPs');
    await expect(page.locator('#versions .version').count()).resolves.toBe(25);
    await expect(page.locator('#versions-more').textContent()).resolves.toBe('and 15 more versions not shown');
    await page.screenshot({ path: join(OUTPUT, 'admin-page-100k.png'), fullPage: true });
  });
});

/** 100,000 sessions: one location of 2,000 sessions and IPs, 4,900 of 20 sessions, 40 versions. */
function syntheticDashboard(): Dashboard {
  const geoIpData = Array.from({ length: 4_901 }, (_, i) => {
    const sessionCount = i === 0 ? 2_000 : 20;
    return {
      sessionCount,
      latitude: -50 + 120 * scatter(i),
      longitude: -180 + 360 * scatter(i + 0.5),
      countryCode: 'SE',
      continentCode: 'EU',
      ips: Array.from({ length: i === 0 ? 2_000 : 10 }, (_, j) => `10.${i >> 8}.${i & 255}.${j % 256}`),
    };
  });
  const versions: Dashboard['versions'] = {};
  const statuses = ['full', 'partial', 'none'];
  for (let v = 0; v < 40; v++) versions[`6.${v}.0-release`] = { supportStatus: statuses[v % 3], sessionCount: 2_500 };
  return { totalCount: 100_000, geoIpData, versions };
}

/** A repeatable number in [0, 1) that scatters consecutive i across the map. */
function scatter(i: number): number {
  const x = Math.sin(i * 12.9898 + 1) * 43_758.5453;
  return x - Math.floor(x);
}
