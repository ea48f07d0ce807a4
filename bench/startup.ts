// Start-up time: from spawning the server to its first `/readyz` 200, on a database that is
// already migrated, for `npm start`'s compiled dist/main.js against the TypeScript entry run
// through tsx (how `npm start` ran before), in alternating rounds of the same run.
//   npx tsx bench/startup.ts [--rounds 8] [--postgres]
// --postgres also measures on a fresh PostgreSQL database (DATABASE_URL or the local server).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createDatabase, intOption, machineDescription, onCleanup, ROOT, runBenchmark } from './harness.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '8' }, postgres: { type: 'boolean', default: false } } });
const rounds = intOption(values, 'rounds', 1, 100);

type Variant = { name: string; args: string[] };
const variants: Variant[] = [
  { name: 'tsx src/main.ts (before)', args: ['--import', 'tsx', 'src/main.ts'] },
  { name: 'node dist/main.js (npm start)', args: ['dist/main.js'] },
];

let port = 4700;
/** Milliseconds from spawn to the first 200 from /readyz. */
async function startOnce(variant: Variant, env: Record<string, string>): Promise<number> {
  const ownPort = port++;
  const started = performance.now();
  const child = spawn(process.execPath, variant.args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(ownPort), ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const deadline = started + 120_000;
    while (performance.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${variant.name} exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${ownPort}/readyz`).then((r) => r.ok, () => false);
      if (ok) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${variant.name} was not ready within 120 s`);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function measure(label: string, env: Record<string, string>): Promise<void> {
  // A first start migrates the database; it is not counted.
  await startOnce(variants[1], env);
  const times = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) times.get(variant.name)!.push(await startOnce(variant, env));
  }
  console.log(`\n${label}: ${rounds} alternating rounds, ms from spawn to /readyz 200`);
  console.log('| start | median | p90 | min | max |\n|---|---|---|---|---|');
  const medians: number[] = [];
  for (const variant of variants) {
    const sorted = [...times.get(variant.name)!].sort((a, b) => a - b);
    medians.push(percentile(sorted, 50));
    console.log(`| ${variant.name} | ${percentile(sorted, 50).toFixed(0)} | ${percentile(sorted, 90).toFixed(0)} | ${sorted[0].toFixed(0)} | ${sorted.at(-1)!.toFixed(0)} |`);
  }
  console.log(`ratio (before / after, medians): ${(medians[0] / medians[1]).toFixed(2)}`);
}

await runBenchmark(async () => {
  console.log(await machineDescription());
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tertulia-startup-'));
  onCleanup(() => rm(dataDir, { recursive: true, force: true }));
  await measure('embedded database (PGlite)', { DATA_DIR: path.join(dataDir, 'data') });
  if (values.postgres) {
    const database = await createDatabase();
    await measure('PostgreSQL', { DATABASE_URL: database.url });
  }
}, 20 * 60_000);
