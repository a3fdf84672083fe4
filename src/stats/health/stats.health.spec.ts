import { HealthIndicatorService } from '@nestjs/terminus';
import { StoreUnavailableError } from '../errors/store-unavailable.error';
import type { GeoService } from '../geo/geo.service';
import type { SessionStore } from '../sessions/session-store.interface';
import { StatsHealthIndicator } from './stats.health';

function indicator(geoReady: boolean, ping: SessionStore['ping']): StatsHealthIndicator {
  const geo = { isReady: () => geoReady } as GeoService;
  return new StatsHealthIndicator(new HealthIndicatorService(), geo, { ping } as SessionStore);
}

describe('StatsHealthIndicator', () => {
  it('is up when the GeoIP data is loaded and the store answers', async () => {
    expect(await indicator(true, async () => undefined).isHealthy('stats')).toEqual({
      stats: { status: 'up', geo: 'up', store: 'up' },
    });
  });

  it('is down with the underlying reason when the store is unavailable', async () => {
    const ping = () => Promise.reject(new StoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:6379')));
    expect(await indicator(true, ping).isHealthy('stats')).toEqual({
      stats: { status: 'down', geo: 'up', store: 'down', storeError: 'connect ECONNREFUSED 127.0.0.1:6379' },
    });
  });

  it('is down within its bound when a store never answers its ping', async () => {
    const started = Date.now();
    const result = await indicator(true, () => new Promise<void>(() => undefined)).isHealthy('stats');
    expect(result).toEqual({
      stats: { status: 'down', geo: 'up', store: 'down', storeError: 'no answer within 2000 ms' },
    });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('is down, not failing, when a store throws instead of answering', async () => {
    const result = await indicator(true, () => {
      throw new Error('ping is broken');
    }).isHealthy('stats');
    expect(result).toEqual({ stats: { status: 'down', geo: 'up', store: 'down', storeError: 'ping is broken' } });
  });

  it('is down while the GeoIP data is not loaded', async () => {
    expect(await indicator(false, async () => undefined).isHealthy('stats')).toEqual({
      stats: { status: 'down', geo: 'down', store: 'up' },
    });
  });
});
