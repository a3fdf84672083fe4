import { ShardedMap } from '../common/sharded-map';
import { Slice } from '../common/slice';
import type { GeoLocation, GeoService } from '../geo/geo.service';

interface LocationEntry {
  location: GeoLocation;
  sessionCount: number;
  ips: Set<string>;
  /** This location's serialised JSON object; null after a change. */
  json: Buffer | null;
  /** The JSON array of its IPs, kept while only the count changes; null after an IP came or went. */
  ipsJson: Buffer | null;
  /** The two-letter country code as a number with the same order, for cheap comparisons. */
  country: number;
}

/** Up to this share of changed locations, they are inserted into the previous order instead of a full sort. */
const MERGE_SHARE = 0.01;
const COMMA = 0x2c; // ','
const CLOSING_BRACE = Buffer.from('}');
const IPS_PER_BATCH = 8192;

/**
 * The dashboard's sessions per location, kept up to date incrementally. Each sync compares the
 * store's sessions per IP with the counts seen last time and touches only the IPs that changed:
 * one GeoIP lookup per new IP, one re-serialised location per change, and the order repaired
 * around the changed locations, instead of regrouping every IP on every request. Long loops run
 * in slices of a few milliseconds.
 */
export class LocationTally {
  private readonly seen = new ShardedMap<number>();
  private readonly entries = new Map<GeoLocation, LocationEntry>();
  /** Locations most sessions first, as of the last `serialise`. */
  private ordered: LocationEntry[] = [];
  private readonly changed = new Set<LocationEntry>();
  /** The last sync ran to its end. */
  private synced = true;

  constructor(private readonly geo: GeoService) {}

  /**
   * Brings the tally up to `sessionsByIp`. With `changedIps` (the IPs changed since the last sync)
   * only those are compared; without it, every IP is.
   */
  async sync(sessionsByIp: ReadonlyMap<string, number>, changedIps?: ReadonlySet<string>): Promise<void> {
    // A sync cut short leaves changes that the next list of changed IPs will not name.
    const onlyChanged = changedIps !== undefined && this.synced;
    this.synced = false;
    const slice = new Slice();
    for (const ip of onlyChanged ? changedIps : sessionsByIp.keys()) {
      this.update(ip, sessionsByIp.get(ip) ?? 0);
      if (slice.due()) await slice.pause();
    }
    // Every key of sessionsByIp is now in `seen`, so a larger `seen` means some IPs are gone.
    if (!onlyChanged && this.seen.size > sessionsByIp.size) {
      for (const ip of this.seen.keys()) {
        if (!sessionsByIp.has(ip)) this.update(ip, 0);
        if (slice.due()) await slice.pause();
      }
    }
    this.synced = true;
  }

  /**
   * The JSON array of the locations, most sessions first, ties in a stable order (country code,
   * latitude, longitude), written between `before` and `after`.
   */
  async serialise(before: Buffer, after: Buffer): Promise<Buffer> {
    const slice = new Slice(64);
    const ordered = this.order();
    let length = before.length + after.length + Math.max(ordered.length - 1, 0);
    for (const entry of ordered) {
      if (!entry.json) {
        entry.json = await serialiseEntry(entry, slice);
        // One location can hold a hundred thousand IPs: look at the clock after each one written.
        if (slice.dueNow()) await slice.pause();
      }
      length += entry.json.length;
      if (slice.due()) await slice.pause();
    }
    const body = Buffer.allocUnsafe(length);
    body.set(before, 0);
    let offset = before.length;
    for (let index = 0; index < ordered.length; index++) {
      if (index > 0) body[offset++] = COMMA;
      body.set(ordered[index].json!, offset);
      offset += ordered[index].json!.length;
      if (slice.due()) await slice.pause();
    }
    body.set(after, offset);
    return body;
  }

  private update(ip: string, count: number): void {
    const before = this.seen.get(ip) ?? 0;
    if (before === count) return;
    this.apply(ip, before, count);
    if (count === 0) this.seen.delete(ip);
    else this.seen.set(ip, count);
  }

  private apply(ip: string, before: number, after: number): void {
    const location = this.geo.locate(ip);
    if (!location) return; // private, reserved or unknown: counted in totalCount only
    let entry = this.entries.get(location);
    if (!entry) {
      const code = location.countryCode;
      const country = (code.charCodeAt(0) << 8) | code.charCodeAt(1);
      entry = { location, sessionCount: 0, ips: new Set(), json: null, ipsJson: null, country };
      this.entries.set(location, entry);
    }
    entry.sessionCount += after - before;
    if (before === 0 || after === 0) {
      if (after === 0) entry.ips.delete(ip);
      else entry.ips.add(ip);
      entry.ipsJson = null;
    }
    entry.json = null;
    this.changed.add(entry);
    if (entry.sessionCount <= 0) this.entries.delete(location);
  }

  /** Repairs the order: inserts the few changed locations back, or sorts when many changed. */
  private order(): LocationEntry[] {
    if (this.changed.size === 0) return this.ordered;
    if (this.changed.size > Math.max(16, this.entries.size * MERGE_SHARE)) {
      this.ordered = [...this.entries.values()].sort(byCountThenPlace);
    } else {
      const ordered = this.ordered.filter((entry) => !this.changed.has(entry));
      for (const entry of this.changed) {
        if (entry.sessionCount > 0) ordered.splice(insertionIndex(ordered, entry), 0, entry);
      }
      this.ordered = ordered;
    }
    this.changed.clear();
    return this.ordered;
  }

}

/** The documented field order of SessionGeoData. */
async function serialiseEntry(entry: LocationEntry, slice: Slice): Promise<Buffer> {
  const { sessionCount, location } = entry;
  entry.ipsJson ??= await serialiseIps(entry.ips, slice);
  return Buffer.concat([
    Buffer.from(
      `{"sessionCount":${sessionCount},"latitude":${location.latitude},"longitude":${location.longitude},` +
        `"countryCode":${JSON.stringify(location.countryCode)},"continentCode":${JSON.stringify(location.continentCode)},"ips":`,
    ),
    entry.ipsJson,
    CLOSING_BRACE,
  ]);
}

/** A JSON array of strings, written in batches: one location may hold a hundred thousand IPs. */
async function serialiseIps(ips: Set<string>, slice: Slice): Promise<Buffer> {
  const parts: string[] = [];
  let batch: string[] = [];
  for (const ip of ips) {
    batch.push(ip);
    if (batch.length === IPS_PER_BATCH) {
      parts.push(JSON.stringify(batch).slice(1, -1));
      batch = [];
      if (slice.dueNow()) await slice.pause();
    }
  }
  if (batch.length > 0) parts.push(JSON.stringify(batch).slice(1, -1));
  return Buffer.from(`[${parts.join(',')}]`);
}

function byCountThenPlace(a: LocationEntry, b: LocationEntry): number {
  return b.sessionCount - a.sessionCount || comparePlaces(a, b);
}

function comparePlaces(a: LocationEntry, b: LocationEntry): number {
  return (
    a.country - b.country ||
    a.location.latitude - b.location.latitude ||
    a.location.longitude - b.location.longitude
  );
}

/** Where `entry` goes in `ordered` (by binary search): a few comparisons instead of a merge pass. */
function insertionIndex(ordered: LocationEntry[], entry: LocationEntry): number {
  let low = 0;
  let high = ordered.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (byCountThenPlace(ordered[middle], entry) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
