/**
 * Summarises a V8 `.cpuprofile` (from `pnpm bench -- --cpu-prof`): self time by function and by
 * package, and total (inclusive) time of the functions that matter, as a share of the busy time.
 *
 *   node bench/src/profile-summary.ts <file.cpuprofile> [top=25] [filter]
 */
import { readFileSync } from 'node:fs';

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

const [file, topArg = '25', filter] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/src/profile-summary.ts <file.cpuprofile> [top] [filter]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const top = Number(topArg);

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const node of profile.nodes) {
  byId.set(node.id, node);
  for (const child of node.children ?? []) parent.set(child, node.id);
}

/** The package a script belongs to (`express`, `@opentelemetry/sdk-trace`), or the file for our code. */
function packageOf(url: string): string {
  if (!url) return '(native/vm)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  const m = /\/(packages|services)\/([^/]+)\//.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(packages|services)\//, '$1/');
  return `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
}

const selfTime = new Map<number, number>();
let total = 0;
let idle = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const name = byId.get(id)?.callFrame.functionName;
  if (name === '(idle)' || name === '(program)') idle += dt;
  selfTime.set(id, (selfTime.get(id) ?? 0) + dt);
});
const busy = total - idle;

const bySelf = new Map<string, number>();
const byPackage = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, dt] of selfTime) {
  const node = byId.get(id) as ProfileNode;
  const name = node.callFrame.functionName;
  if (name === '(idle)' || name === '(program)') continue;
  bySelf.set(label(node), (bySelf.get(label(node)) ?? 0) + dt);
  const pkg = name === '(garbage collector)' ? '(gc)' : packageOf(node.callFrame.url);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt);
  // Inclusive: every distinct frame on the stack gets this sample once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const key = label(byId.get(cur) as ProfileNode);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
  }
}

function print(title: string, map: Map<string, number>, n: number, match?: string) {
  process.stdout.write(`\n${title}\n`);
  const rows = [...map.entries()].filter(([k]) => !match || k.includes(match)).sort((x, y) => y[1] - x[1]);
  for (const [key, us] of rows.slice(0, n)) {
    process.stdout.write(
      `${((100 * us) / busy).toFixed(1).padStart(6)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}\n`,
    );
  }
}

process.stdout.write(`${file}\nbusy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled\n`);
print('self time by package', byPackage, top);
print('self time by function', bySelf, top);
print('inclusive time by function', inclusive, top, filter);
