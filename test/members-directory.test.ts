import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery } from '../src/db/client.js';
import { createCommunity, createThread, createUser, reply, verifySignUp, type Community } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, subscribe, uniqueEmail, type TestApp } from './helpers.js';

const MdSignUp = graphql(`
  mutation MdSignUp($input: SignUpInput!) {
    signUp(input: $input) { __typename ... on AccountEmailPayload { email } ... on Error { message } }
  }
`);
const MdUsers = graphql(`
  query MdUsers($filter: UserFilter, $orderBy: UserOrder, $first: Int!, $after: String) {
    users(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount
      nodes { id handle displayName }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
const MdUsersWithCounts = graphql(`
  query MdUsersWithCounts($filter: UserFilter, $first: Int!) {
    users(filter: $filter, first: $first) {
      nodes { handle threadCount postCount acceptedAnswerCount email threads(first: 2) { nodes { id } } }
    }
  }
`);

let t: TestApp;
let c: Community;

beforeAll(async () => {
  t = await startTestApp();
  c = await createCommunity(t);
}, 180_000);

afterAll(async () => {
  await t?.stop();
});

/** A fresh tag: every name and handle a test creates starts with it, so tests do not see each other's users. */
const tag = () => `q${randomBytes(3).toString('hex')}`;

async function signUp(displayName: string, handle?: string) {
  const email = uniqueEmail('md');
  const { signUp } = await t.query(MdSignUp, { input: { email, password: 'a long enough password', displayName, handle } });
  if (signUp.__typename !== 'AccountEmailPayload') throw new Error(JSON.stringify(signUp));
  return verifySignUp(t, email);
}

const handles = async (filter: object, token: string | null = null, orderBy?: 'HANDLE' | 'NEWEST' | 'LAST_SEEN') =>
  (await t.query(MdUsers, { filter, orderBy, first: 50 }, token)).users.nodes.map((n) => n.handle);

describe('users(filter: {query})', () => {
  it('finds a prefix of the handle or of the display name, case- and accent-insensitive', async () => {
    const q = tag();
    const angela = await signUp(`${q}Ángela Ruiz`);
    const byHandle = await signUp('Somebody', `${q}_ana`);
    await signUp(`Not ${q}`); // the tag inside the name, not at its start
    expect((await handles({ query: q.toUpperCase() })).sort()).toEqual([angela.handle, byHandle.handle].sort());
    expect(await handles({ query: `${q}ANGE` })).toEqual([angela.handle]);
    expect(await handles({ query: `${q}ánge` })).toEqual([angela.handle]);
    expect(await handles({ query: `@${q}_A` })).toEqual([byHandle.handle]);
    expect(await handles({ query: `${q}zzz` })).toEqual([]);
  });

  it('takes "_" and "%" literally, not as wildcards', async () => {
    const q = tag();
    const under = await signUp('U', `${q}_x`);
    await signUp('V', `${q}ax`);
    expect(await handles({ query: `${q}_` })).toEqual([under.handle]);
    expect(await handles({ query: `${q}%` })).toEqual([]);
    const bad = await t.request(MdUsers, { filter: { query: 'x'.repeat(65) }, first: 5 });
    expect(bad.errors?.[0].message).toContain('must be at most 64 characters');
  });

  it('narrows by roles and by the space members published in, and orders and pages', async () => {
    const q = tag();
    const a = await signUp(`${q} a`);
    const b = await signUp(`${q} b`);
    const d = await signUp(`${q} d`);
    const all = [a.handle, b.handle, d.handle];
    expect(await handles({ query: q })).toEqual([...all].sort());
    expect(await handles({ query: q }, null, 'NEWEST')).toEqual([d.handle, b.handle, a.handle]);
    expect(await handles({ query: q, roles: ['ADMIN', 'MODERATOR'] })).toEqual([]);
    expect(await handles({ roles: ['MODERATOR'] })).toContain(
      (await t.query(MdUsers, { filter: { roles: ['MODERATOR'] }, first: 50 })).users.nodes.find((n) => n.id === c.moderator.id)?.handle,
    );
    // Published in the members space: a thread by a, a reply by b; d only in the staff-invisible sense.
    const threadId = await createThread(t, a, c.membersSpace);
    await reply(t, b, threadId);
    expect(await handles({ query: q, spaceId: c.membersSpace }, c.alice.token)).toEqual([a.handle, b.handle].sort());
    // A space the viewer cannot see has no one to show them.
    expect(await handles({ query: q, spaceId: c.membersSpace }, null)).toEqual([]);
    // Paging: two pages of handles in order, with no overlap.
    const first = (await t.query(MdUsers, { filter: { query: q }, first: 2 })).users;
    expect(first.totalCount).toBe(3);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await t.query(MdUsers, { filter: { query: q }, first: 2, after: first.pageInfo.endCursor })).users;
    expect([...first.nodes, ...second.nodes].map((n) => n.handle)).toEqual([...all].sort());
  });

  it('answers the same over graphql-ws, with emails withheld from other members', async () => {
    const q = tag();
    const a = await signUp(`${q} ws`);
    const [result] = await subscribe(t.wsClient(c.bob.token), MdUsers, { filter: { query: q }, first: 5 }).next(1);
    expect(result.data?.users.nodes.map((n) => n.handle)).toEqual([a.handle]);
    const counts = await t.query(MdUsersWithCounts, { filter: { query: q }, first: 5 }, c.bob.token);
    expect(counts.users.nodes[0].email).toBeNull();
  });
});

describe('no N+1 on the directory', () => {
  it('reads a page of users with their counts and threads in the same number of statements for 2 or 20 users', async () => {
    const q = tag();
    for (let i = 0; i < 20; i++) {
      const user = await createUser(t, `${q} n${String(i).padStart(2, '0')}`);
      if (i % 5 === 0) await createThread(t, user, c.publicSpace);
    }
    const count = async (first: number) => {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      const result = await t.query(MdUsersWithCounts, { filter: { query: q }, first }, c.bob.token);
      stop();
      expect(result.users.nodes).toHaveLength(first);
      return { statements: statements.length, threads: result.users.nodes.reduce((n, u) => n + u.threadCount, 0) };
    };
    const small = await count(2);
    const large = await count(20);
    expect(large.threads).toBe(4);
    expect(large.statements).toBe(small.statements);
  });
});
