// Summarizes a V8 .cpuprofile (from `npm run bench -- --cpu-prof`): where the time went, by
// layer and package (self time) and by function (self and inclusive time), as percentages of busy
// time, or as ms per request when given the run's server CPU ms/req.
//   npx tsx bench/cpuprofile-summary.ts bench/.profiles/server-1234-....cpuprofile [--top 25] [--ms-per-request 12.3]
// Drivers import `attribute` to split a profile into categories of their own (bench/listening-ingest.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

type Node = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
export type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
/** What a frame is: its function, and where() its code lives (a package, `src/...`, `node:internal`, ...). */
export type Frame = { functionName: string; where: string };

export function readProfile(file: string): Profile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
}

/** Sample i lasted timeDeltas[i + 1] microseconds (the last one: the profile's end). */
function eachSample(profile: Profile, visit: (node: Node, us: number) => void): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < profile.samples.length; i++) visit(byId.get(profile.samples[i])!, i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1] : 0);
}

function parents(profile: Profile): Map<number, Node> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, Node>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, byId.get(n.id)!);
  return parent;
}

/**
 * Busy microseconds by category: each sample goes to the category that names its innermost frame
 * (walking from the running function out to its callers), else to `rest`. So time in a library or
 * in Node's internals counts for whichever of the app's steps called it.
 */
export function attribute(profile: Profile, categories: [string, (frame: Frame) => boolean][], rest = 'other'): { busyUs: number; byCategory: Map<string, number> } {
  const parent = parents(profile);
  const byCategory = new Map<string, number>([...categories.map(([name]) => [name, 0] as [string, number]), [rest, 0]]);
  let busyUs = 0;
  eachSample(profile, (node, us) => {
    if (node.callFrame.functionName === '(idle)') return;
    busyUs += us;
    let category = rest;
    for (let n: Node | undefined = node; n; n = parent.get(n.id)) {
      const frame = { functionName: n.callFrame.functionName, where: where(n) };
      const found = categories.find(([, test]) => test(frame));
      if (found) {
        category = found[0];
        break;
      }
    }
    byCategory.set(category, byCategory.get(category)! + us);
  });
  return { busyUs, byCategory };
}

function where(node: Node): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node:internal';
  const app = /\/(src|bench)\/(.+)$/.exec(url);
  return app ? `${app[1]}/${app[2]}` : url;
}

// Layers of the stack, by package (self time only, so each sample counts once).
const LAYERS: [string, RegExp][] = [
  ['Prisma client (query building, interpretation, results; its query compiler is the wasm)', /^(@prisma\/|wasm:)/],
  ['pg driver', /^pg(-|$)/],
  ['GraphQL execution (executor, Pothos, dataloader, app resolvers)', /^(@graphql-tools\/executor|graphql|@pothos\/|dataloader|src\/)/],
  ['Yoga, envelop, whatwg-node, armor', /^(graphql-yoga|@graphql-yoga\/|@envelop\/|@whatwg-node\/|@escape\.tech\/)/],
  ['garbage collector', /^\(garbage collector\)$/],
  ['Node core and native (sockets, HTTP parser, streams)', /^(node:internal|\(native\)|\(program\))$/],
  ['benchmark server code', /^bench\//],
];
const layerOf = (pkg: string) => LAYERS.find(([, re]) => re.test(pkg))?.[0] ?? 'other';

/** The command line: the summary of one profile on stdout. */
function cli(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, 'ms-per-request': { type: 'string' } },
  });
  if (positionals.length !== 1) {
    console.error('usage: npx tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  const top = Number(values.top);
  const profile = readProfile(positionals[0]);

  const label = (node: Node) =>
    `${node.callFrame.functionName || '(anonymous)'} ${where(node)}:${node.callFrame.lineNumber + 1}`;

  const self = new Map<string, number>();
  const selfPkg = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const parent = parents(profile);
  let total = 0;
  let idle = 0;
  eachSample(profile, (node, dt) => {
    if (node.callFrame.functionName === '(idle)') {
      idle += dt;
      return;
    }
    total += dt;
    self.set(label(node), (self.get(label(node)) ?? 0) + dt);
    selfPkg.set(where(node), (selfPkg.get(where(node)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let n: Node | undefined = node; n; n = parent.get(n.id)) {
      const key = label(n);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
    }
  });

  const msPerRequest = values['ms-per-request'] ? Number(values['ms-per-request']) : undefined;
  const pct = (us: number) =>
    `${((100 * us) / total).toFixed(1).padStart(5)}%${msPerRequest ? ` ${((msPerRequest * us) / total).toFixed(2).padStart(6)} ms/req` : ''}`;
  const print = (title: string, map: Map<string, number>, filter: (key: string) => boolean = () => true) => {
    console.log(`\n${title}`);
    for (const [key, us] of [...map].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`  ${pct(us)}  ${key}`);
    }
  };

  console.log(`${positionals[0]}: ${(total / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle`);
  const byLayer = new Map<string, number>();
  for (const [pkg, us] of selfPkg) byLayer.set(layerOf(pkg), (byLayer.get(layerOf(pkg)) ?? 0) + us);
  print('Self time by layer:', byLayer);
  print('Self time by package:', selfPkg);
  print('Self time by function:', self);
  print('Inclusive time by function (excluding the root and program):', inclusive, (k) => !k.startsWith('(root)') && !k.startsWith('(program)'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) cli();
