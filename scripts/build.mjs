// Compiles the server to one ES module, dist/main.js, so `npm start` runs plain JavaScript
// instead of compiling TypeScript on every start (see bench/startup.ts). Packages stay external:
// they are loaded from node_modules as usual. Type checking is `npm run typecheck`'s job.
//   node scripts/build.mjs          build when a source is newer than dist/main.js (prestart)
//   node scripts/build.mjs --force  build anyway
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const outfile = 'dist/main.js';

/** The newest modification time among the sources (src/, including the generated Prisma client). */
function newestSource() {
  let newest = 0;
  for (const entry of readdirSync('src', { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

function builtAt() {
  try {
    return statSync(outfile).mtimeMs;
  } catch {
    return -1;
  }
}

if (process.argv.includes('--force') || builtAt() < newestSource()) {
  const started = performance.now();
  await build({
    entryPoints: ['src/main.ts'],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  console.error(`built ${outfile} in ${Math.round(performance.now() - started)} ms`);
}
