// `prisma generate` without the network: the Prisma CLI insists on finding a native schema
// engine even though generation never runs it, and would try to download one. Pointing
// PRISMA_SCHEMA_ENGINE_BINARY at an existing file satisfies that check. Migrations use Prisma's
// WebAssembly engine instead (src/db/migrate.ts).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  // The Pothos generator is a bin of its own; npm scripts put node_modules/.bin on PATH, plain node doesn't.
  PATH: [path.join(fileURLToPath(new URL('..', import.meta.url)), 'node_modules', '.bin'), process.env.PATH].join(path.delimiter),
};
const cli = require.resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
