/**
 * Summarises the per-phase CPU profiles written by `npm run bench -- --profile`: for each profile,
 * the functions with the most self time, and the project's own functions by inclusive time.
 *
 *   npx ts-node --transpile-only bench/profile-summary.ts <dir or .cpuprofile> [--top 15] [--match fresh]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = join(__dirname, '..');

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.startsWith('file://') ? url.slice(7) : url;
  const where = file ? `${relative(ROOT, file).replace(/^node_modules\//, '')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
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
    const self = new Map<string, number>();
    const ownCode = new Map<string, number>();
    for (const [id, us] of stretch.samples) {
      const name = label(byId.get(id)!);
      self.set(name, (self.get(name) ?? 0) + us);
      // The innermost function of this project on the stack: which of its steps the time is in.
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
        .map(([name, us]) => `${name} ${((us / stretch.us) * 100).toFixed(0)} %`)
        .join('; ');
    console.log(`   ${(stretch.us / 1000).toFixed(0).padStart(6)} ms: self: ${share(self)}`);
    if (ownCode.size) console.log(`             innermost own function: ${share(ownCode)}`);
  }
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
