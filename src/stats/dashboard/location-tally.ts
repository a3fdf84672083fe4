import { ShardedMap } from '../common/sharded-map';
import { Slice } from '../common/slice';
import type { GeoLocation, GeoService } from '../geo/geo.service';
import { locationJson } from './dashboard-body.format';

interface LocationEntry {
  location: GeoLocation;
  sessionCount: number;
  ips: Set<string>;
  /** This location's serialised JSON object; null after a change. */
  json: string | null;
  /** The JSON array of its IPs, kept while only the count changes; null after an IP came or went. */
  ipsJson: string | null;
  /** The two-letter country code as a number with the same order, for cheap comparisons. */
  country: number;
  /** The run of the order it is in; null while not placed. */
  run: Run | null;
}

/**
 * A stretch of consecutive locations in the order, with its serialised JSON: a change re-serialises
 * its run only, and the body is put together from a few hundred runs instead of every location.
 */
interface Run {
  entries: LocationEntry[];
  json: Buffer | null;
}

/** Locations per run: a run is split at twice this. */
const RUN_LENGTH = 256;
const IPS_PER_BATCH = 8192;
const COMMA = 0x2c; // ','

/**
 * The dashboard's sessions per location, kept up to date incrementally. Each sync compares the
 * store's sessions per IP with the counts seen last time and touches only the IPs that changed:
 * one GeoIP lookup per new IP, one re-serialised location and run per change, and the order
 * repaired around the changed locations, instead of regrouping every IP on every request. Long
 * loops run in slices of a few milliseconds.
 */
export class LocationTally {
  private readonly seen = new ShardedMap<number>();
  private readonly entries = new Map<GeoLocation, LocationEntry>();
  /** Locations most sessions first, as of the last `serialise`, in runs. */
  private runs: Run[] = [];
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
    // A new IP costs a GeoIP lookup and several map inserts, some ten microseconds: look at the clock often.
    const slice = new Slice(64);
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
   * latitude, longitude), written between `before` and `after`. It comes in parts (a few hundred
   * runs) that are sent as they are: copying them into one body would cost as much as a change.
   */
  async serialise(before: Buffer, after: Buffer): Promise<Buffer[]> {
    const slice = new Slice(16);
    await this.order(slice);
    const parts = [before];
    for (const run of this.runs) {
      run.json ??= await serialiseRun(run, slice);
      // Every run starts with a comma; the first one goes without it.
      parts.push(parts.length === 1 ? run.json.subarray(1) : run.json);
      if (slice.due()) await slice.pause();
    }
    parts.push(after);
    return parts;
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
      entry = { location, sessionCount: 0, ips: new Set(), json: null, ipsJson: null, country, run: null };
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

  /**
   * Repairs the order: takes the changed locations out and puts them back at their new places. Even
   * when all of them changed (the first dashboard) this runs in slices, unlike one big sort.
   */
  private async order(slice: Slice): Promise<void> {
    for (const entry of this.changed) {
      if (entry.run) this.unplace(entry);
      if (slice.due()) await slice.pause();
    }
    for (const entry of this.changed) {
      if (entry.sessionCount > 0) this.place(entry);
      if (slice.due()) await slice.pause();
    }
    this.changed.clear();
  }

  /** Takes an entry out of its run; a run left short joins the next one, so runs stay few. */
  private unplace(entry: LocationEntry): void {
    const run = entry.run!;
    run.entries.splice(run.entries.indexOf(entry), 1);
    run.json = null;
    entry.run = null;
    if (run.entries.length >= RUN_LENGTH / 4) return;
    const index = this.runs.indexOf(run);
    const next = this.runs[index + 1];
    if (run.entries.length === 0) {
      this.runs.splice(index, 1);
    } else if (next && run.entries.length + next.entries.length < 2 * RUN_LENGTH) {
      for (const moved of run.entries) moved.run = next;
      next.entries.unshift(...run.entries);
      next.json = null;
      this.runs.splice(index, 1);
    }
  }

  /** Inserts an entry at its place, found by binary search over the runs, then within its run. */
  private place(entry: LocationEntry): void {
    if (this.runs.length === 0) this.runs.push({ entries: [], json: null });
    // The first run whose last entry comes after this one; the last run when none does.
    const low = placeAmong(this.runs.length - 1, (index) => this.runs[index].entries.at(-1)!, entry);
    const run = this.runs[low];
    run.entries.splice(
      placeAmong(run.entries.length, (index) => run.entries[index], entry),
      0,
      entry,
    );
    run.json = null;
    entry.run = run;
    if (run.entries.length >= 2 * RUN_LENGTH) {
      const second: Run = { entries: run.entries.splice(RUN_LENGTH), json: null };
      for (const moved of second.entries) moved.run = second;
      this.runs.splice(low + 1, 0, second);
    }
  }
}

/**
 * A run's locations as JSON objects, each after a comma; only ASCII, so written as latin1. The
 * first runs hold the largest locations, megabytes of IPs: they are written one location at a
 * time, with a look at the clock after each, rather than joined into one string.
 */
async function serialiseRun(run: Run, slice: Slice): Promise<Buffer> {
  let length = 0;
  for (const entry of run.entries) {
    if (entry.json === null) {
      entry.json = await serialiseEntry(entry, slice);
      if (slice.dueNow()) await slice.pause();
    }
    length += 1 + entry.json.length;
  }
  const json = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const entry of run.entries) {
    json[offset++] = COMMA;
    offset += json.write(entry.json!, offset, 'latin1');
    if (slice.dueNow()) await slice.pause();
  }
  return json;
}

/** The documented field order of SessionGeoData. */
async function serialiseEntry(entry: LocationEntry, slice: Slice): Promise<string> {
  entry.ipsJson ??= await serialiseIps(entry.ips, slice);
  return locationJson(entry.sessionCount, entry.location, entry.ipsJson);
}

/** A JSON array of strings, written in batches: one location may hold a hundred thousand IPs. */
async function serialiseIps(ips: Set<string>, slice: Slice): Promise<string> {
  if (ips.size < IPS_PER_BATCH) return JSON.stringify([...ips]);
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
  return `[${parts.join(',')}]`;
}

function byCountThenPlace(a: LocationEntry, b: LocationEntry): number {
  return b.sessionCount - a.sessionCount || comparePlaces(a, b);
}

function comparePlaces(a: LocationEntry, b: LocationEntry): number {
  return (
    a.country - b.country || a.location.latitude - b.location.latitude || a.location.longitude - b.location.longitude
  );
}

/**
 * Where `entry` goes among `count` ordered entries, read through `entryAt`: after every one that
 * comes before it or ties with it, found by binary search.
 */
function placeAmong(count: number, entryAt: (index: number) => LocationEntry, entry: LocationEntry): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (byCountThenPlace(entryAt(middle), entry) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
