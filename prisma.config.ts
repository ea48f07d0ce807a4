// Used by the Prisma CLI for `prisma generate`. Migrations are created and applied with
// Prisma's WebAssembly schema engine (src/db/migrate.ts), so no native engine is needed.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
