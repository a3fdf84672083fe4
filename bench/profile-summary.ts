/**
 * Summarises the per-phase CPU profiles written by `npm run bench -- --profile`: for each profile,
 * the functions with the most self time, and the project's own functions by inclusive time.
 *
 *   npx ts-node --transpile-only bench/profile-summary.ts <dir or .cpuprofile> [--top 15] [--match fresh]
 *
 * Lines of .ts files are mapped back from the compiled JavaScript, so read a profile before the
 * sources change.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import * as ts from 'typescript';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Written by the server beside each profile: the longest event-loop blocks of the phase. */
interface LongBlock {
  ms: number;
  cpuMs: number;
  endMicros: number;
}

const ROOT = join(__dirname, '..');

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber, columnNumber } = node.callFrame;
  const file = url.startsWith('file://') ? url.slice(7) : url;
  const line = file.endsWith('.ts') ? typeScriptLine(file, lineNumber, columnNumber) : lineNumber;
  const where = file ? `${relative(ROOT, file).replace(/^node_modules\//, '')}:${line + 1}` : '';
  return `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
}

/** Per generated line, its segments as [generated column, source line]. */
type LineMap = Array<Array<[number, number]>>;

const lineMaps = new Map<string, LineMap | null>();

/**
 * Profiles of ts-node code give positions in the JavaScript it compiled; this maps them back to the
 * TypeScript line by compiling the file the same way (transpileModule, tsconfig.json's options)
 * and reading the source map. The file must not have changed since the profile was taken.
 */
function typeScriptLine(file: string, line: number, column: number): number {
  if (!lineMaps.has(file)) lineMaps.set(file, existsSync(file) ? sourceLines(file) : null);
  const segments = lineMaps.get(file)?.[line];
  if (!segments?.length) return line;
  // Segments are [generated column, source line]; take the last one at or before the column.
  let found = segments[0][1];
  for (const [generatedColumn, sourceLine] of segments) if (generatedColumn <= column) found = sourceLine;
  return found;
}

function sourceLines(file: string): LineMap {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const output = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: { ...options, sourceMap: true, inlineSourceMap: false, inlineSources: false },
    fileName: file,
  });
  const { mappings } = JSON.parse(output.sourceMapText!) as { mappings: string };
  const lines: LineMap = [];
  let sourceLine = 0;
  for (const generatedLine of mappings.split(';')) {
    const segments: Array<[number, number]> = [];
    let generatedColumn = 0;
    for (const segment of generatedLine.split(',').filter(Boolean)) {
      const fields = decodeVlq(segment);
      generatedColumn += fields[0];
      if (fields.length >= 4) {
        sourceLine += fields[2];
        segments.push([generatedColumn, sourceLine]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 VLQ, as source maps write their numbers. */
function decodeVlq(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

/** The npm package, `node:` internals, this project's src/ or bench/, or the VM's own entries. */
function packageOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1];
  if (url.startsWith('node:')) return 'node: (JavaScript of Node itself)';
  if (url.includes('/src/')) return 'src/ (this project)';
  if (url.includes('/bench/')) return 'bench/ (the benchmark itself)';
  if (functionName.startsWith('(')) return functionName;
  return 'native (C++ builtins: crypto, sockets, buffers)';
}

function summarise(file: string, top: number): void {
  const profile: Profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let overhead = 0;
  const isProfiler = (id: number) => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (byId.get(at)!.callFrame.url === 'node:inspector') return true;
    }
    return false;
  };
  profile.samples.forEach((id, index) => {
    const us = profile.timeDeltas[index] ?? 0;
    // The benchmark's own calls to the profiler (starting and stopping it) are not the server's work.
    if (isProfiler(id)) {
      overhead += us;
      return;
    }
    total += us;
    const node = byId.get(id)!;
    self.set(label(node), (self.get(label(node)) ?? 0) + us);
    byPackage.set(packageOf(node), (byPackage.get(packageOf(node)) ?? 0) + us);
    // Each function once per sample, however deep its recursion.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = label(byId.get(at)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  });
  const busy = total - (self.get('(idle)') ?? 0);
  console.log(
    `\n== ${basename(file)}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s not idle ` +
      `(${(overhead / 1e6).toFixed(2)} s in the profiler itself, left out)`,
  );
  const percent = (us: number) => `${((us / Math.max(busy, 1)) * 100).toFixed(1).padStart(5)} %`;
  console.log('   self time (share of non-idle time):');
  [...self]
    .filter(([name]) => name !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([name, us]) => console.log(`   ${percent(us)}  ${name}`));
  console.log('   self time by package:');
  [...byPackage]
    .filter(([name]) => name !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .forEach(([name, us]) => console.log(`   ${percent(us)}  ${name}`));
  console.log('   inclusive time of src/ functions:');
  [...inclusive]
    .filter(([name]) => / src\//.test(name))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([name, us]) => console.log(`   ${percent(us)}  ${name}`));
  longestStretches(profile, byId, parent, isProfiler);
  explainBlocks(file, profile, byId, parent, isProfiler);
}

/** For each long event-loop block the server saw, what the samples inside it were doing. */
function explainBlocks(
  file: string,
  profile: Profile,
  byId: Map<number, ProfileNode>,
  parent: Map<number, number>,
  isProfiler: (id: number) => boolean,
): void {
  const blocksFile = file.replace(/\.cpuprofile$/, '.blocks.json');
  if (!existsSync(blocksFile)) return;
  const blocks: LongBlock[] = JSON.parse(readFileSync(blocksFile, 'utf8'));
  if (blocks.length === 0) return;
  const times: number[] = [];
  let at = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((at += delta));
  console.log('   longest event-loop blocks and the samples inside them:');
  for (const block of blocks) {
    const from = block.endMicros - block.ms * 1000;
    const inside: Array<[number, number]> = [];
    let sampled = 0;
    let profiling = 0;
    profile.samples.forEach((id, index) => {
      if (times[index] < from || times[index] > block.endMicros) return;
      const us = profile.timeDeltas[index] ?? 0;
      if (isProfiler(id)) {
        profiling += us;
        return;
      }
      sampled += us;
      inside.push([id, us]);
    });
    const head = `   ${block.ms.toFixed(0).padStart(6)} ms (${block.cpuMs.toFixed(0)} ms CPU):`;
    if (profiling > sampled) {
      console.log(`${head} the profiler starting and stopping (the benchmark's, not the server's)`);
      continue;
    }
    if (sampled === 0) {
      console.log(`${head} no samples inside (outside the recorded profile, e.g. while the profiler switched phases)`);
      continue;
    }
    printAttribution(`${head} self: `, inside, sampled, byId, parent);
  }
}

/**
 * The longest runs of consecutive samples in which the process never went idle, and what they
 * spent their time on. A run is not one event-loop block: a computation that yields with
 * setImmediate, or many requests served back to back, also shows as one run.
 */
function longestStretches(
  profile: Profile,
  byId: Map<number, ProfileNode>,
  parent: Map<number, number>,
  isProfiler: (id: number) => boolean,
): void {
  const stretches: Array<{ us: number; samples: Array<[number, number]> }> = [];
  let current: { us: number; samples: Array<[number, number]> } = { us: 0, samples: [] };
  profile.samples.forEach((id, index) => {
    const us = profile.timeDeltas[index] ?? 0;
    if (byId.get(id)!.callFrame.functionName === '(idle)' || isProfiler(id)) {
      if (current.samples.length) stretches.push(current);
      current = { us: 0, samples: [] };
      return;
    }
    current.us += us;
    current.samples.push([id, us]);
  });
  if (current.samples.length) stretches.push(current);
  console.log('   longest busy runs (no idle sample between; may span several event-loop turns):');
  for (const stretch of stretches.sort((a, b) => b.us - a.us).slice(0, 3)) {
    const head = `   ${(stretch.us / 1000).toFixed(0).padStart(6)} ms: self: `;
    printAttribution(head, stretch.samples, stretch.us, byId, parent);
  }
}

/**
 * Where a set of samples spent its time: the functions on top of the stack, and the innermost
 * function of this project (src/ or bench/) below them, which tells which of its steps it was in.
 */
function printAttribution(
  head: string,
  samples: Array<[number, number]>,
  totalUs: number,
  byId: Map<number, ProfileNode>,
  parent: Map<number, number>,
): void {
  const self = new Map<string, number>();
  const ownCode = new Map<string, number>();
  for (const [id, us] of samples) {
    const name = label(byId.get(id)!);
    self.set(name, (self.get(name) ?? 0) + us);
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = label(byId.get(at)!);
      if (/ (src|bench)\//.test(frame)) {
        ownCode.set(frame, (ownCode.get(frame) ?? 0) + us);
        break;
      }
    }
  }
  const share = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([name, us]) => `${name} ${((us / Math.max(totalUs, 1)) * 100).toFixed(0)} %`)
      .join('; ');
  console.log(`${head}${share(self)}`);
  if (ownCode.size) console.log(`             innermost own function: ${share(ownCode)}`);
}

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 15;
  const matchAt = args.indexOf('--match');
  const match = matchAt >= 0 ? args[matchAt + 1] : '';
  const target = args.find((arg, i) => !arg.startsWith('--') && args[i - 1] !== '--top' && args[i - 1] !== '--match');
  if (!target) throw new Error('usage: profile-summary.ts <dir or .cpuprofile> [--top N] [--match TEXT]');
  const files = statSync(target).isDirectory()
    ? readdirSync(target)
        .filter((name) => name.endsWith('.cpuprofile') && name.includes(match))
        .sort()
        .map((name) => join(target, name))
    : [target];
  for (const file of files) summarise(file, top);
}

main();
