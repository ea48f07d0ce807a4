import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery, prisma } from '../src/db/client.js';
import { decodeId } from '../src/ids.js';
import { MAX_MUTED_USERS, mutedBy } from '../src/modules/members/mutes.js';
import { createCommunity, createUser, type Actor, type Community } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, subscribe, type TestApp } from './helpers.js';

const Mute = graphql(`
  mutation MutesMute($input: MuteUserInput!) {
    muteUser(input: $input) {
      __typename
      ... on MutePayload { user { id viewerHasMuted } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const Unmute = graphql(`
  mutation MutesUnmute($input: UnmuteUserInput!) {
    unmuteUser(input: $input) { __typename ... on MutePayload { user { id viewerHasMuted } } ... on Error { message } }
  }
`);
const MyMutes = graphql(`
  query MutesMine($first: Int!, $after: String) {
    viewer {
      id
      mutedUsers(first: $first, after: $after) {
        totalCount
        edges { node { mutedAt user { id displayName viewerHasMuted } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);
const SomeonesMutes = graphql(`
  query MutesOfUser($id: ID!) {
    node(id: $id) { ... on User { id viewerHasMuted mutedUsers(first: 10) { totalCount edges { node { user { id } } } } } }
  }
`);

const SetRole = graphql(`
  mutation MutesSetRole($input: SetUserRoleInput!) { setUserRole(input: $input) { __typename } }
`);

let t: TestApp;
let c: Community;

beforeAll(async () => {
  t = await startTestApp();
  c = await createCommunity(t);
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

const rowId = (actor: Actor) => decodeId(actor.id, ['User'], 'id').id;
const mute = async (actor: Actor | null, userId: string) => (await t.query(Mute, { input: { userId } }, actor?.token)).muteUser;
const unmute = async (actor: Actor | null, userId: string) => (await t.query(Unmute, { input: { userId } }, actor?.token)).unmuteUser;

describe('muteUser, unmuteUser and viewer.mutedUsers', () => {
  it('mutes and unmutes idempotently, and pages the muted users newest first', async () => {
    const me = await createUser(t, 'Muter');
    const [ana, ben, cy] = [await createUser(t, 'Ana'), await createUser(t, 'Ben'), await createUser(t, 'Cy')];
    for (const user of [ana, ben, cy]) expect(await mute(me, user.id)).toEqual({ __typename: 'MutePayload', user: { id: user.id, viewerHasMuted: true } });
    // Twice is once.
    expect(await mute(me, ben.id)).toMatchObject({ __typename: 'MutePayload', user: { viewerHasMuted: true } });

    const first = (await t.query(MyMutes, { first: 2 }, me.token)).viewer!.mutedUsers!;
    expect(first.edges.map((e) => e.node.user.displayName)).toEqual(['Cy', 'Ben']);
    expect(first.totalCount).toBe(3);
    expect(first.edges.every((e) => e.node.user.viewerHasMuted && Date.parse(e.node.mutedAt) > 0)).toBe(true);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await t.query(MyMutes, { first: 2, after: first.pageInfo.endCursor }, me.token)).viewer!.mutedUsers!;
    expect(second.edges.map((e) => e.node.user.displayName)).toEqual(['Ana']);
    expect(second.pageInfo.hasNextPage).toBe(false);

    expect(await unmute(me, ben.id)).toEqual({ __typename: 'MutePayload', user: { id: ben.id, viewerHasMuted: false } });
    expect(await unmute(me, ben.id)).toMatchObject({ __typename: 'MutePayload', user: { viewerHasMuted: false } });
    const after = (await t.query(MyMutes, { first: 10 }, me.token)).viewer!.mutedUsers!;
    expect(after.edges.map((e) => e.node.user.displayName)).toEqual(['Cy', 'Ana']);
    expect(after.totalCount).toBe(2);
  });

  it('refuses yourself, staff, unknown users and the signed out, with exact error types', async () => {
    const me = await createUser(t, 'Picky');
    expect(await mute(me, me.id)).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'userId'] }] });
    for (const staff of [c.moderator, c.agent, c.manager, c.admin]) {
      expect(await mute(me, staff.id)).toMatchObject({ __typename: 'ForbiddenError' });
    }
    const missing = Buffer.from('User:999999').toString('base64');
    expect(await mute(me, missing)).toMatchObject({ __typename: 'NotFoundError' });
    expect(await unmute(me, missing)).toMatchObject({ __typename: 'NotFoundError' });
    expect(await mute(null, c.bob.id)).toMatchObject({ __typename: 'UnauthenticatedError' });
    expect(await unmute(null, c.bob.id)).toMatchObject({ __typename: 'UnauthenticatedError' });
    expect(await mute(me, c.publicSpace)).toMatchObject({ __typename: 'ValidationError' });
    expect((await t.query(MyMutes, { first: 10 }, me.token)).viewer!.mutedUsers!.edges).toEqual([]);
  });

  it(`stops at ${MAX_MUTED_USERS} muted users with a ConflictError`, async () => {
    const me = await createUser(t, 'Bounded');
    const meId = rowId(me);
    // The setup writes the rows directly: a thousand sign-ups through the API would take minutes.
    const tag = `bulk-${meId}`;
    await prisma().user.createMany({
      data: Array.from({ length: MAX_MUTED_USERS }, (_, i) => ({ email: `${tag}-${i}@example.com`, passwordHash: 'x', displayName: `Bulk ${i}`, handle: `${tag}_${i}`.replace(/-/g, '_') })),
    });
    const bulk = await prisma().user.findMany({ where: { email: { startsWith: `${tag}-` } }, select: { id: true } });
    await prisma().userMute.createMany({ data: bulk.map((u) => ({ muterId: meId, mutedId: u.id })) });

    const refused = await mute(me, c.bob.id);
    expect(refused).toMatchObject({ __typename: 'ConflictError' });
    expect(refused.__typename === 'ConflictError' && refused.message).toContain(String(MAX_MUTED_USERS));
    // Muting someone already muted is still fine at the limit; after an unmute there is room.
    const someone = Buffer.from(`User:${bulk[0].id}`).toString('base64');
    expect(await mute(me, someone)).toMatchObject({ __typename: 'MutePayload' });
    expect(await unmute(me, someone)).toMatchObject({ __typename: 'MutePayload' });
    expect(await mute(me, c.bob.id)).toMatchObject({ __typename: 'MutePayload', user: { viewerHasMuted: true } });
  });
});

describe('mutes are private, on HTTP and graphql-ws', () => {
  it('another user\'s mutedUsers is null and viewerHasMuted answers for the viewer only', async () => {
    const dana = await createUser(t, 'Dana');
    const eli = await createUser(t, 'Eli');
    const target = await createUser(t, 'Target');
    expect(await mute(dana, target.id)).toMatchObject({ __typename: 'MutePayload' });

    // HTTP: Eli looking at Dana sees no list; looking at Target, only Eli's own (absent) mute.
    expect((await t.query(SomeonesMutes, { id: dana.id }, eli.token)).node).toEqual({ id: dana.id, viewerHasMuted: false, mutedUsers: null });
    expect((await t.query(SomeonesMutes, { id: target.id }, eli.token)).node).toMatchObject({ viewerHasMuted: false });
    expect((await t.query(SomeonesMutes, { id: dana.id }, c.admin.token)).node).toMatchObject({ mutedUsers: null });
    expect((await t.query(SomeonesMutes, { id: dana.id }, null)).node).toEqual({ id: dana.id, viewerHasMuted: false, mutedUsers: null });
    expect((await t.query(SomeonesMutes, { id: dana.id }, dana.token)).node).toEqual({ id: dana.id, viewerHasMuted: false, mutedUsers: { totalCount: 1, edges: [{ node: { user: { id: target.id } } }] } });

    // graphql-ws: the same, per socket's user.
    const eliView = subscribe(t.wsClient(eli.token), SomeonesMutes, { id: dana.id });
    expect((await eliView.next(1))[0].data?.node).toEqual({ id: dana.id, viewerHasMuted: false, mutedUsers: null });
    const danaView = subscribe(t.wsClient(dana.token), SomeonesMutes, { id: dana.id });
    expect((await danaView.next(1))[0].data?.node).toMatchObject({ mutedUsers: { totalCount: 1, edges: [{ node: { user: { id: target.id } } }] } });
    // Eli's unmute over graphql-ws leaves Dana's mute alone.
    const eliUnmute = subscribe(t.wsClient(eli.token), Unmute, { input: { userId: target.id } });
    expect((await eliUnmute.next(1))[0].data?.unmuteUser).toMatchObject({ __typename: 'MutePayload' });
    expect((await t.query(SomeonesMutes, { id: target.id }, dana.token)).node).toMatchObject({ viewerHasMuted: true });
  });

  it('a page of muted users costs the same statements for 2 as for 20', async () => {
    const me = await createUser(t, 'Counter');
    for (let i = 0; i < 20; i++) expect(await mute(me, (await createUser(t, `Muted ${i}`)).id)).toMatchObject({ __typename: 'MutePayload' });
    async function count(first: number) {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        const data = await t.query(MyMutes, { first }, me.token);
        expect(data.viewer!.mutedUsers!.edges).toHaveLength(first);
        return statements.length;
      } finally {
        stop();
      }
    }
    const small = await count(2);
    const large = await count(20);
    // The session; the viewer with their mutes, their count and the muted users; viewerHasMuted for the page.
    expect(large).toBe(small);
    expect(large).toBe(3);
  });
});

describe('mutedBy, for notification producers', () => {
  it('answers which recipients muted a writer, never for a staff writer', async () => {
    const writer = await createUser(t, 'Loud');
    const [r1, r2, r3] = [await createUser(t, 'R1'), await createUser(t, 'R2'), await createUser(t, 'R3')];
    await mute(r1, writer.id);
    await mute(r3, writer.id);
    await mute(r2, c.bob.id);
    const muted = await mutedBy([rowId(r1), rowId(r2), rowId(r3)], rowId(writer));
    expect([...muted].sort()).toEqual([rowId(r1), rowId(r3)].sort());
    expect(await mutedBy([], rowId(writer))).toEqual(new Set());

    // A mute made before the writer joined the staff no longer silences them.
    const promoted = await createUser(t, 'Soon staff');
    await mute(r1, promoted.id);
    expect(await mutedBy([rowId(r1)], rowId(promoted))).toEqual(new Set([rowId(r1)]));
    const promote = await t.query(SetRole, { input: { userId: promoted.id, role: 'MODERATOR' } }, c.admin.token);
    expect(promote.setUserRole.__typename).toBe('SetUserRolePayload');
    expect(await mutedBy([rowId(r1)], rowId(promoted))).toEqual(new Set());
  });
});
