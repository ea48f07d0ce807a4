// Creates and checks migrations offline with Prisma's WebAssembly schema engine.
//   tsx scripts/migrations.ts create <name>   write prisma/migrations/<timestamp>_<name>/migration.sql
//   tsx scripts/migrations.ts check           exit 1 if the migrations don't produce schema.prisma
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { diffMigrationsToSchema, LOCKFILE, lockfileContent, migrationsDir } from '../src/db/migrate.js';

const relativeDir = path.relative(process.cwd(), migrationsDir) || '.';

async function create(rawName: string | undefined): Promise<number> {
  // Same shape as Prisma's directory names: lower-case words joined by underscores.
  const name = (rawName ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!name) {
    console.error('usage: tsx scripts/migrations.ts create <name>');
    return 2;
  }
  const diff = await diffMigrationsToSchema();
  if (!diff) {
    console.error(`Nothing to migrate: ${relativeDir} already matches prisma/schema.prisma. No migration created.`);
    return 1;
  }
  const dirName = `${timestamp(new Date())}_${name}`;
  const dir = path.join(migrationsDir, dirName);
  if (existsSync(dir)) {
    console.error(`The migration directory already exists: ${dir}`);
    return 1;
  }
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'migration.sql'), diff);
  // Prisma Migrate (re)writes the lockfile whenever it creates a migration.
  const lockPath = path.join(migrationsDir, LOCKFILE);
  const lock = lockfileContent('postgresql');
  if ((await readFile(lockPath, 'utf8').catch(() => null)) !== lock) await writeFile(lockPath, lock);
  console.log(`Created ${path.join(relativeDir, dirName, 'migration.sql')}`);
  return 0;
}

async function check(): Promise<number> {
  const diff = await diffMigrationsToSchema();
  if (diff) {
    console.log(`${relativeDir} does not match prisma/schema.prisma. SQL still missing from the migrations:\n`);
    console.log(diff);
    console.log('Run `npm run migration:create -- <name>` to add a migration.');
    return 1;
  }
  console.log('migrations match prisma/schema.prisma');
  return 0;
}

// Prisma names migrations by UTC time, YYYYMMDDHHMMSS.
function timestamp(date: Date): string {
  return date.toISOString().replace(/\D/g, '').slice(0, 14);
}

const [command, ...args] = process.argv.slice(2);
const run = command === 'create' ? () => create(args[0]) : command === 'check' ? check : undefined;
if (!run) {
  console.error('usage: tsx scripts/migrations.ts create <name> | check');
  process.exitCode = 2;
} else {
  // exitCode rather than exit(): the process must end by itself, which proves nothing leaked.
  process.exitCode = await run().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    return 1;
  });
}
