import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { prisma } from '../src/db/client.js';
import type { OutboundMessageKind } from '../src/generated/prisma/enums.js';

// The outbox stands in for a recipient's inbox: the tests run the app in this process, so its
// database client reads the emails the app queued (and a second instance's, on a shared database).

export type Email = { id: number; kind: OutboundMessageKind; to: string; subject: string; text: string; userId: number | null };

/** The emails queued for `to` (any case), oldest first; only those of `kind` if given. */
export async function mailbox(to: string, kind?: OutboundMessageKind): Promise<Email[]> {
  const rows = await prisma().outboundMessage.findMany({
    where: { toAddress: to.trim().toLowerCase(), ...(kind && { kind }) },
    orderBy: { id: 'asc' },
    select: { id: true, kind: true, toAddress: true, subject: true, text: true, userId: true },
  });
  return rows.map(({ toAddress, ...row }) => ({ ...row, to: toAddress }));
}

/** The newest email for `to` (of `kind`), or an error naming what the mailbox holds. */
export async function latestEmail(to: string, kind?: OutboundMessageKind): Promise<Email> {
  const all = await mailbox(to, kind);
  const last = all.at(-1);
  if (!last) throw new Error(`no ${kind ?? ''} email for ${to}; the mailbox holds ${JSON.stringify((await mailbox(to)).map((e) => e.kind))}`);
  return last;
}

/** The `token` query parameter of the link to `path` in an email's text. */
export function linkToken(email: Pick<Email, 'text'>, path: '/verify-email' | '/reset-password'): string {
  const match = new RegExp(`https?://\\S+${path}\\?token=([A-Za-z0-9_-]+)`).exec(email.text);
  if (!match) throw new Error(`no ${path} link in: ${email.text}`);
  return match[1];
}

/**
 * The emails for `to` in the database of a server running in another process (a child, see
 * processes.ts): on PostgreSQL at any time; in an embedded DATA_DIR only while no server holds it.
 */
export async function storedEmails(env: { DATA_DIR?: string; DATABASE_URL?: string }, to: string): Promise<Pick<Email, 'kind' | 'text'>[]> {
  const sql = 'SELECT kind::text AS kind, text FROM "OutboundMessage" WHERE "toAddress" = $1 ORDER BY id';
  if (env.DATABASE_URL) {
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      return (await client.query<Pick<Email, 'kind' | 'text'>>(sql, [to])).rows;
    } finally {
      await client.end();
    }
  }
  const db = new PGlite(path.resolve(env.DATA_DIR!));
  try {
    return (await db.query<Pick<Email, 'kind' | 'text'>>(sql, [to])).rows;
  } finally {
    await db.close();
  }
}
