// The baseline of bench/thread-page.ts: the same thread page, written by hand. node:http, a `pg`
// Pool of the app's default size, two SQL statements, JSON.stringify. Started in a child process
// of its own, like the app (bench/server.ts):
//   node --import tsx bench/baseline-server.ts   (with BENCH_DATABASE_URL and an IPC channel)
//
// It answers POST /graphql with the body the app would give for the benchmark's one query
// (bench/thread-page.ts THREAD_PAGE): it reads `variables.spaceId` from the same JSON request body
// and the same bearer token, but does not parse the GraphQL document. The work it keeps, because
// the app must do it too: read and parse the body, hash the token and look the session up, apply
// the space visibility rule for the viewer's role, and shape Relay ids and cursors.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { countStatementsAndRequests, serveParent } from './ipc.js';

const databaseUrl = process.env.BENCH_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is not set');
const PAGE_SIZE = 20;
// The app's DATABASE_POOL_SIZE default (src/config.ts) unless the benchmark says otherwise.
const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(process.env.BENCH_POOL_SIZE || 10) });
// An idle connection dropped by the server must not take the process down.
pool.on('error', (error) => console.error(`baseline pool: ${error.message}`));

// The order of src/modules/community/community.service.ts REACTION_CONTENTS (the enum's order).
const CONTENTS = ['THUMBS_UP', 'THUMBS_DOWN', 'LAUGH', 'HOORAY', 'CONFUSED', 'HEART', 'ROCKET', 'EYES'];

function query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
  counts.statement(text.replace(/\s+/g, ' ').trim());
  return pool.query<R>(text, values);
}

const SESSION_SQL = `
  SELECT u.id, u.role::text AS role, s."expiresAt" <= now() OR s."revokedAt" IS NOT NULL AS dead
  FROM "Session" s JOIN "User" u ON u.id = s."userId"
  WHERE s."tokenHash" = $1`;

// The page (LIMIT first + 1 for hasNextPage) first, then its authors and reaction groups, and the
// total as an uncorrelated subquery (one InitPlan). Timestamps are timestamp(3) in UTC.
const PAGE_SQL = `
  SELECT p.id, p.title, p."createdAt", p."lastActivityAt", p."replyCount", p."authorId",
         u."displayName",
         (SELECT count(*)::int FROM "Thread" t JOIN "Space" s ON s.id = t."spaceId"
           WHERE t."spaceId" = $1 AND s.visibility = ANY($2::"SpaceVisibility"[])) AS "totalCount",
         r.groups
  FROM (
    SELECT t.id, t.title, t."authorId", t."replyCount", t."lastActivityAt" AS sort_at,
           to_char(t."createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
           to_char(t."lastActivityAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "lastActivityAt"
    FROM "Thread" t JOIN "Space" s ON s.id = t."spaceId"
    WHERE t."spaceId" = $1 AND s.visibility = ANY($2::"SpaceVisibility"[])
    ORDER BY t."lastActivityAt" DESC, t.id DESC
    LIMIT $3
  ) p
  JOIN "User" u ON u.id = p."authorId"
  LEFT JOIN LATERAL (
    SELECT json_agg(json_build_array(g.content, g.n, g.mine)) AS groups
    FROM (SELECT content::text AS content, count(*)::int AS n, bool_or("userId" = $4) AS mine
          FROM "Reaction" WHERE "threadId" = p.id GROUP BY content) g
  ) r ON true
  ORDER BY p.sort_at DESC, p.id DESC`;

type PageRow = {
  id: number;
  title: string;
  createdAt: string;
  lastActivityAt: string;
  replyCount: number;
  authorId: number;
  displayName: string;
  totalCount: number;
  groups: [string, number, boolean][] | null;
};

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const globalId = (typename: string, id: number) => Buffer.from(`${typename}:${id}`).toString('base64');
// @pothos/plugin-prisma's cursor for `cursor: 'id'`: base64 of "GPC:" + the tagged number chunk.
const cursor = (id: number) => Buffer.from(`GPC:N:${id}`).toString('base64');

async function threadPage(body: string, authorization: string | undefined): Promise<unknown> {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
  if (!token) throw new HttpError(401, 'a bearer token is required');
  let spaceId: number;
  try {
    const [typename, id] = Buffer.from(JSON.parse(body).variables.spaceId, 'base64').toString().split(':');
    spaceId = Number(id);
    if (typename !== 'Space' || !Number.isSafeInteger(spaceId)) throw new Error();
  } catch {
    throw new HttpError(400, 'variables.spaceId must be a Space id');
  }

  const tokenHash = createHash('sha256').update(token).digest('hex');
  const session = (await query<{ id: number; role: string; dead: boolean }>(SESSION_SQL, [tokenHash])).rows[0];
  if (!session || session.dead) throw new HttpError(401, 'The access token is invalid, expired or revoked');
  // src/modules/community/visibility.ts: staff see every space, members PUBLIC and MEMBERS.
  const visible = session.role === 'MEMBER' ? ['PUBLIC', 'MEMBERS'] : ['PUBLIC', 'MEMBERS', 'STAFF'];

  const { rows } = await query<PageRow>(PAGE_SQL, [spaceId, visible, PAGE_SIZE + 1, session.id]);
  const page = rows.slice(0, PAGE_SIZE);
  const edges = page.map((row) => {
    const groups = new Map((row.groups ?? []).map(([content, count, mine]) => [content, { count, mine }]));
    return {
      cursor: cursor(row.id),
      node: {
        id: globalId('Thread', row.id),
        title: row.title,
        createdAt: row.createdAt,
        lastActivityAt: row.lastActivityAt,
        replyCount: row.replyCount,
        author: { id: globalId('User', row.authorId), displayName: row.displayName },
        reactionGroups: CONTENTS.map((content) => ({
          content,
          count: groups.get(content)?.count ?? 0,
          viewerHasReacted: groups.get(content)?.mine ?? false,
        })),
      },
    };
  });
  return {
    data: {
      threads: {
        totalCount: rows[0]?.totalCount ?? 0,
        edges,
        pageInfo: { hasNextPage: rows.length > PAGE_SIZE, endCursor: edges.at(-1)?.cursor ?? null },
      },
    },
  };
}

function reply(res: http.ServerResponse, status: number, value: unknown): void {
  const json = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/graphql') return reply(res, 404, { error: 'POST /graphql' });
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    threadPage(Buffer.concat(chunks).toString('utf8'), req.headers.authorization).then(
      (result) => reply(res, 200, result),
      (error: unknown) => {
        if (error instanceof HttpError) return reply(res, error.status, { errors: [{ message: error.message }] });
        console.error(error);
        reply(res, 500, { errors: [{ message: 'Unexpected error.' }] });
      },
    );
  });
});

// Statements (counted by `query` above) and requests, for the driver's stats and traces.
const counts = countStatementsAndRequests(server);

const sockets = new Set<import('node:net').Socket>();
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

const send = serveParent(
  counts.handlers,
  async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
    await pool.end();
  },
);

await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', () => resolve());
});
const { port } = server.address() as AddressInfo;
send({ type: 'ready', url: `http://127.0.0.1:${port}/graphql` });
