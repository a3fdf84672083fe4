import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { countries } from 'countries-list';
import * as geoip from 'geoip-lite';
import type { TouchSessionInput } from '../src/stats';

/** Seeded PRNG (mulberry32), so every run draws the same addresses and versions. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rough share of client addresses per continent; Antarctica is kept so that every continent shows. */
const CONTINENT_WEIGHTS: Array<[string, number]> = [
  ['AS', 0.42],
  ['EU', 0.22],
  ['NA', 0.16],
  ['SA', 0.09],
  ['AF', 0.07],
  ['OC', 0.039],
  ['AN', 0.001],
];

/** Client versions as hosts see them: release builds, plain semver, a pre-release, junk and none. */
const VERSION_WEIGHTS: Array<[string | undefined, number]> = [
  ['6.1.2-32120-release', 0.24],
  ['6.1.1-31877-release', 0.12],
  ['6.1.0-release-1500', 0.08],
  ['6.0.0-release-1234', 0.1],
  ['5.5.3', 0.1],
  ['5.5.0', 0.09],
  ['5.4.1', 0.08],
  ['5.2.0', 0.05],
  ['4.9.7', 0.04],
  ['7.0.0-beta.2', 0.02],
  ['dev-build', 0.02],
  ['', 0.01], // counts as unknown
  [undefined, 0.05], // counts as unknown
];

interface ContinentRanges {
  /** Start address of each range, and cumulative sizes for a size-weighted pick. */
  starts: number[];
  cumulative: number[];
}

let rangesByContinent: Map<string, ContinentRanges> | null = null;

/** The IPv4 ranges of geoip-lite's country database, grouped by continent (read once per process). */
function continentRanges(): Map<string, ContinentRanges> {
  if (rangesByContinent) return rangesByContinent;
  const file = join(dirname(require.resolve('geoip-lite/package.json')), 'data', 'geoip-country.dat');
  const data = readFileSync(file);
  const byContinent = new Map<string, ContinentRanges>();
  // Records of 10 bytes: first address, last address (uint32 BE), ISO country code.
  for (let offset = 0; offset + 10 <= data.length; offset += 10) {
    const start = data.readUInt32BE(offset);
    const size = data.readUInt32BE(offset + 4) - start + 1;
    const continent = continentOf(data.toString('latin1', offset + 8, offset + 10));
    if (!continent) continue;
    let ranges = byContinent.get(continent);
    if (!ranges) byContinent.set(continent, (ranges = { starts: [], cumulative: [] }));
    const total = ranges.cumulative.length ? ranges.cumulative[ranges.cumulative.length - 1] : 0;
    ranges.starts.push(start);
    ranges.cumulative.push(total + size);
  }
  rangesByContinent = byContinent;
  return byContinent;
}

function continentOf(countryCode: string): string | undefined {
  return countries[countryCode as keyof typeof countries]?.continent;
}

function pickWeighted<T>(items: Array<[T, number]>, random: () => number): T {
  let r = random() * items.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [item, weight] of items) {
    if ((r -= weight) < 0) return item;
  }
  return items[items.length - 1][0];
}

/** A random address of one continent, weighted by range size. */
function addressIn(ranges: ContinentRanges, random: () => number): number {
  const { starts, cumulative } = ranges;
  const target = Math.floor(random() * cumulative[cumulative.length - 1]);
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (cumulative[middle] > target) high = middle;
    else low = middle + 1;
  }
  return starts[low] + (target - (low ? cumulative[low - 1] : 0));
}

export function ipText(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
}

export interface IpSample {
  /** IPv4 addresses as numbers: a tenth of the memory of their text, which sessions make as needed. */
  ips: Uint32Array;
  /** Continent of each address, as geoip-lite locates it. */
  continents: string[];
}

/**
 * `count` distinct public IPv4 addresses that geoip-lite locates (country and coordinates), drawn
 * from its own ranges: first one per continent, so every continent appears, then by continent weight.
 */
export function sampleIps(count: number, seed: number): IpSample {
  const random = prng(seed);
  const ranges = continentRanges();
  const seen = new Set<number>();
  const ips = new Uint32Array(count);
  const continents: string[] = [];
  const accept = (continent: string | undefined, strict: boolean): boolean => {
    const spans = continent && ranges.get(continent);
    if (!spans) return false;
    const address = addressIn(spans, random);
    if (seen.has(address)) return false;
    const found = geoip.lookup(address);
    const located = found?.country && found.ll?.[0] != null ? continentOf(found.country) : undefined;
    if (!located || (strict && located !== continent)) return false;
    seen.add(address);
    ips[continents.length] = address;
    continents.push(located);
    return true;
  };
  for (const [continent] of CONTINENT_WEIGHTS) {
    if (continents.length >= count) break;
    for (let attempt = 0; attempt < 10_000 && !accept(continent, true); attempt++);
  }
  // Bounded: nearly every draw is located, so 4x the count is far more than enough.
  for (let attempt = 0; continents.length < count && attempt < count * 4 + 1000; attempt++) {
    accept(pickWeighted(CONTINENT_WEIGHTS, random), false);
  }
  return { ips: ips.subarray(0, continents.length), continents };
}

/** The client versions in the order of their weights; undefined stands for a client sending none. */
export function versionPicker(seed: number): () => string | undefined {
  const random = prng(seed);
  return () => pickWeighted(VERSION_WEIGHTS, random);
}

/**
 * Sessions for `total` ids, about two per IP (one to three), in batches so the caller never holds
 * all inputs at once. Ids are random UUIDs, as hosts typically use. `used.ips` counts the IPs given.
 */
export function* sessionBatches(
  total: number,
  ips: Uint32Array,
  batchSize: number,
  seed: number,
  used: { ips: number },
): Generator<TouchSessionInput[]> {
  const random = prng(seed);
  const version = versionPicker(seed + 1);
  let batch: TouchSessionInput[] = [];
  let ipIndex = -1;
  let ip = '';
  let left = 0; // sessions still to give the current IP
  for (let made = 0; made < total; made++) {
    if (left === 0) {
      ipIndex = (ipIndex + 1) % ips.length;
      ip = ipText(ips[ipIndex]);
      used.ips = Math.min(ips.length, ipIndex + 1);
      left = 1 + Math.floor(random() * 3);
    }
    left--;
    batch.push({ id: randomUUID(), ip, clientVersion: version() });
    if (batch.length === batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** IPs needed for `sessions` sessions at about two per IP, with some slack. */
export function ipsFor(sessions: number): number {
  return Math.ceil(sessions / 2 + sessions / 20) + 16;
}
