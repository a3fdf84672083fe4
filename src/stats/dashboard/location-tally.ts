import type { GeoLocation, GeoService } from '../geo/geo.service';

interface LocationEntry {
  location: GeoLocation;
  sessionCount: number;
  ips: Set<string>;
  /** This location's serialised JSON object; null after a change. */
  json: Buffer | null;
}

/** IPs handled per slice before the sync yields, so a million sessions never block the event loop. */
const SYNC_SLICE = 25_000;

/**
 * The dashboard's sessions per location, kept up to date incrementally. Each sync compares the
 * store's sessions per IP with the counts seen last time and touches only the IPs that changed:
 * one GeoIP lookup per new IP, one re-serialised location per change, instead of regrouping every
 * IP on every request.
 */
export class LocationTally {
  private readonly seen = new Map<string, number>();
  private readonly entries = new Map<GeoLocation, LocationEntry>();
  private sorted: LocationEntry[] | null = [];

  constructor(private readonly geo: GeoService) {}

  /** Brings the tally up to `sessionsByIp`. */
  async sync(sessionsByIp: ReadonlyMap<string, number>): Promise<void> {
    let budget = SYNC_SLICE;
    for (const [ip, count] of sessionsByIp) {
      const before = this.seen.get(ip) ?? 0;
      if (before !== count) {
        this.apply(ip, before, count);
        this.seen.set(ip, count);
      }
      if (--budget === 0) {
        budget = SYNC_SLICE;
        await yieldToEventLoop();
      }
    }
    // Every key of sessionsByIp is now in `seen`, so a larger `seen` means some IPs are gone.
    if (this.seen.size > sessionsByIp.size) {
      for (const [ip, before] of this.seen) {
        if (!sessionsByIp.has(ip)) {
          this.apply(ip, before, 0);
          this.seen.delete(ip);
        }
        if (--budget === 0) {
          budget = SYNC_SLICE;
          await yieldToEventLoop();
        }
      }
    }
  }

  /** Serialised locations, most sessions first, ties in a stable order. */
  serialised(): Buffer[] {
    if (!this.sorted) this.sorted = [...this.entries.values()].sort(byCountThenPlace);
    return this.sorted.map((entry) => (entry.json ??= serialise(entry)));
  }

  private apply(ip: string, before: number, after: number): void {
    const location = this.geo.locate(ip);
    if (!location) return; // private, reserved or unknown: counted in totalCount only
    let entry = this.entries.get(location);
    if (!entry) {
      entry = { location, sessionCount: 0, ips: new Set(), json: null };
      this.entries.set(location, entry);
    }
    entry.sessionCount += after - before;
    if (before === 0) entry.ips.add(ip);
    if (after === 0) entry.ips.delete(ip);
    entry.json = null;
    this.sorted = null;
    if (entry.sessionCount <= 0) this.entries.delete(location);
  }
}

/** The documented field order of SessionGeoData. */
function serialise({ sessionCount, location, ips }: LocationEntry): Buffer {
  return Buffer.from(
    `{"sessionCount":${sessionCount},"latitude":${location.latitude},"longitude":${location.longitude},` +
      `"countryCode":${JSON.stringify(location.countryCode)},"continentCode":${JSON.stringify(location.continentCode)},` +
      `"ips":${JSON.stringify([...ips])}}`,
  );
}

function byCountThenPlace(a: LocationEntry, b: LocationEntry): number {
  const x = a.location;
  const y = b.location;
  return (
    b.sessionCount - a.sessionCount ||
    (x.countryCode < y.countryCode ? -1 : x.countryCode > y.countryCode ? 1 : 0) ||
    x.latitude - y.latitude ||
    x.longitude - y.longitude
  );
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
