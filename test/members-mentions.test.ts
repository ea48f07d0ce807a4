import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery, prisma } from '../src/db/client.js';
import { parseMentions } from '../src/modules/members/mentions.js';
import { type Actor, createCommunity, createSpace, createThread, createUser, reply, type Community } from './fixtures.js';
import { graphql } from './gql/index.js';
import { connected, startTestApp, subscribe, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

const Inbox = graphql(`
  query MentionsInbox($first: Int!) {
    viewer {
      unreadNotificationCount
      notifications(first: $first) {
        nodes {
          id kind text actorCount
          actors { id }
          subject { __typename ... on Post { id body } ... on Thread { id title } }
        }
      }
    }
  }
`);
const Me = graphql(`query MentionsMe { viewer { id handle } }`);
const PostMentions = graphql(`
  query MentionsOfPost($id: ID!) { node(id: $id) { ... on Post { id body mentions { id handle } } } }
`);
const ThreadMentions = graphql(`
  query MentionsOfThread($id: ID!, $first: Int!) {
    node(id: $id) {
      ... on Thread {
        id mentions { id handle }
        posts(first: $first) { nodes { id mentions { id handle } } }
      }
    }
  }
`);
const EditPost = graphql(`
  mutation MentionsEditPost($input: EditPostInput!) { editPost(input: $input) { __typename ... on Error { message } } }
`);
const EditThread = graphql(`
  mutation MentionsEditThread($input: EditThreadInput!) { editThread(input: $input) { __typename ... on Error { message } } }
`);
const Mute = graphql(`
  mutation MentionsMute($input: MuteUserInput!) { muteUser(input: $input) { __typename ... on Error { message } } }
`);
const UpdateProfile = graphql(`
  mutation MentionsRename($input: UpdateProfileInput!) {
    updateProfile(input: $input) { __typename ... on UpdateProfilePayload { user { handle } } ... on Error { message } }
  }
`);
const Remove = graphql(`
  mutation MentionsRemove($input: ContentActionInput!) { removeContent(input: $input) { __typename ... on Error { message } } }
`);
const Restore = graphql(`
  mutation MentionsRestore($input: ContentActionInput!) { restoreContent(input: $input) { __typename ... on Error { message } } }
`);
const Hide = graphql(`
  mutation MentionsHide($input: HideContentInput!) { hideContent(input: $input) { __typename ... on Error { message } } }
`);
const UpdateSpace = graphql(`
  mutation MentionsUpdateSpace($input: UpdateSpaceInput!) { updateSpace(input: $input) { __typename ... on Error { message } } }
`);
const CreateRule = graphql(`
  mutation MentionsCreateRule($input: CreateAutomodRuleInput!) { createAutomodRule(input: $input) { __typename ... on Error { message } } }
`);
const CreateThread = graphql(`
  mutation MentionsCreateThread($input: CreateThreadInput!) {
    createThread(input: $input) { __typename ... on ThreadPayload { thread { id moderation { status } } } ... on Error { message } }
  }
`);
const OpenCase = graphql(`
  mutation MentionsOpenCase($input: OpenCaseInput!) { openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id } } ... on Error { message } } }
`);
const ReplyToCase = graphql(`
  mutation MentionsReplyToCase($input: ReplyToCaseInput!) { replyToCase(input: $input) { __typename ... on Error { message } } }
`);
const Added = graphql(`
  subscription MentionsAdded {
    notificationAdded { unreadCount notification { kind text actors { id } subject { __typename ... on Post { id body } } } }
  }
`);

/** Three distinct @handles per post notify in this file (MAX_MENTIONS_PER_POST). */
const CAP = 3;

let t: TestApp;
let c: Community;
let place: string;

beforeAll(async () => {
  // The signals job off: no participation badges (BADGE_AWARDED) among the notifications counted here.
  // The TL0 cap (TL0_MAX_MENTIONS) is lifted: this file is about MAX_MENTIONS_PER_POST (test/participation-trust.test.ts tests the cap).
  t = await startTestApp({ MAX_MENTIONS_PER_POST: String(CAP), SIGNALS_POLL_MS: '0', TL0_MAX_MENTIONS: '100' });
  c = await createCommunity(t);
  place = await createThread(t, c.manager, c.publicSpace, 'Where people talk');
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

type Member = Actor & { handle: string };
async function member(name: string): Promise<Member> {
  const actor = await createUser(t, name);
  const { viewer } = await t.query(Me, {}, actor.token);
  return { ...actor, handle: viewer!.handle };
}
async function handleOf(actor: Actor): Promise<Member> {
  const { viewer } = await t.query(Me, {}, actor.token);
  return { ...actor, handle: viewer!.handle };
}

async function inbox(actor: Actor) {
  const { viewer } = await t.query(Inbox, { first: 50 }, actor.token);
  return { count: viewer!.unreadNotificationCount!, items: viewer!.notifications!.nodes };
}
const mentionsIn = async (actor: Actor) => (await inbox(actor)).items.filter((item) => item.kind === 'MENTIONED');

/** Waits until the fan-out has read the whole log, so "nothing arrived" means nothing will. */
async function settled(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await prisma().$queryRaw<{ behind: boolean }[]>`
      SELECT (SELECT COALESCE(max("id"), 0) FROM "Activity") > c."activityId" OR c."afterUserId" > 0 AS "behind" FROM "NotificationCursor" c`;
    if (!row.behind) return;
    if (Date.now() > deadline) throw new Error('the fan-out never caught up');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function postMentions(postId: string, actor?: Actor) {
  const { node } = await t.query(PostMentions, { id: postId }, actor?.token);
  return node && 'mentions' in node ? node.mentions.map((u) => u.handle) : null;
}

describe('who is mentioned', () => {
  it('notifies each member a reply mentions, once, any case, never the writer; Post.mentions lists them in order', async () => {
    const [ana, bob, cy] = [await member('Ana'), await member('Bob'), await member('Cy')];
    const body = `Hi @${bob.handle.toUpperCase()} and @${bob.handle}, (@${cy.handle})! cc @${ana.handle}, @nobody_has_this.`;
    const postId = await reply(t, ana, place, body);
    await settled();
    for (const who of [bob, cy]) {
      const box = await inbox(who);
      expect(box.count).toBe(1);
      expect(box.items).toEqual([
        { id: expect.any(String), kind: 'MENTIONED', text: 'Ana mentioned you in a post', actorCount: 1, actors: [{ id: ana.id }], subject: { __typename: 'Post', id: postId, body } },
      ]);
    }
    // The writer mentioning themself is not told (they watch nothing here either).
    expect((await inbox(ana)).items).toEqual([]);
    expect(await postMentions(postId)).toEqual([bob.handle, cy.handle, ana.handle]);
    // Signed out, on a public space: the same links.
    expect(await postMentions(postId, undefined)).toEqual([bob.handle, cy.handle, ana.handle]);
  });

  it('a thread body mentions too (the title does not); the subject is the thread', async () => {
    const [ana, bob, cy] = [await member('Ana'), await member('Bob'), await member('Cy')];
    const threadId = await createThread(t, ana, c.publicSpace, `Ask @${cy.handle}`, `What do you think, @${bob.handle}?`);
    await settled();
    expect(await mentionsIn(bob)).toEqual([
      { id: expect.any(String), kind: 'MENTIONED', text: 'Ana mentioned you in a thread', actorCount: 1, actors: [{ id: ana.id }], subject: { __typename: 'Thread', id: threadId, title: `Ask @${cy.handle}` } },
    ]);
    expect(await mentionsIn(cy)).toEqual([]);
    const { node } = await t.query(ThreadMentions, { id: threadId, first: 5 }, bob.token);
    expect(node).toEqual({ id: threadId, mentions: [{ id: bob.id, handle: bob.handle }], posts: { nodes: [] } });
  });

  it('not in code spans or blocks, email addresses or URLs', async () => {
    const users = [await member('Dee'), await member('Eve'), await member('Fay'), await member('Gus'), await member('Hal'), await member('Ivy')];
    const [dee, eve, fay, gus, hal, ivy] = users;
    const writer = await member('Writer');
    const body = [
      `Inline \`@${dee.handle}\` and \`\`code @${dee.handle} too\`\`, mail ${eve.handle}@example.com or @${eve.handle}.example.com,`,
      `links https://example.com/@${fay.handle} and www.example.com/@${fay.handle}`,
      '```',
      `@${gus.handle} in a fenced block`,
      '```',
      '',
      `    @${hal.handle} in an indented block`,
      '',
      `But @${ivy.handle}: yes.`,
    ].join('\n');
    const postId = await reply(t, writer, place, body);
    await settled();
    expect(await postMentions(postId)).toEqual([ivy.handle]);
    for (const user of [dee, eve, fay, gus, hal]) expect(await mentionsIn(user)).toEqual([]);
    expect((await mentionsIn(ivy)).map((item) => item.subject)).toEqual([{ __typename: 'Post', id: postId, body }]);
  });

  it(`at most MAX_MENTIONS_PER_POST (${CAP}) distinct handles notify; the rest are plain text`, async () => {
    const writer = await member('Loud');
    const users = await Promise.all(['Ua', 'Ub', 'Uc', 'Ud', 'Ue'].map((name) => member(name)));
    // A repeated handle (any case) is one handle; a handle nobody has counts too.
    const body = `@${users[0].handle} @${users[0].handle.toUpperCase()} @${users[1].handle} @not_a_user_x ${users.slice(2).map((u) => `@${u.handle}`).join(' ')}`;
    const postId = await reply(t, writer, place, body);
    await settled();
    const told = await Promise.all(users.map(async (u) => (await mentionsIn(u)).length));
    expect(told).toEqual([1, 1, 0, 0, 0]);
    expect(await postMentions(postId)).toEqual([users[0].handle, users[1].handle]);
  });

  it('a given-up handle still redirecting names its new owner', async () => {
    const [writer, kim] = [await member('Writer'), await member('Kim')];
    const old = kim.handle;
    const renamed = await t.query(UpdateProfile, { input: { handle: `${old}_new` } }, kim.token);
    expect(renamed.updateProfile).toEqual({ __typename: 'UpdateProfilePayload', user: { handle: `${old}_new` } });
    // Old and new handle of one person: mentioned once.
    const postId = await reply(t, writer, place, `Hello @${old} (now @${old}_new)`);
    await settled();
    expect(await mentionsIn(kim)).toHaveLength(1);
    expect(await postMentions(postId)).toEqual([`${old}_new`]);
  });
});

describe('edits', () => {
  it('only mentions an edit adds notify; the others are not told twice', async () => {
    const [ana, bob, cy, dan] = [await member('Ana'), await member('Bob'), await member('Cy'), await member('Dan')];
    const postId = await reply(t, ana, place, `Thanks @${bob.handle}`);
    await settled();
    expect(await mentionsIn(bob)).toHaveLength(1);
    expect((await t.query(EditPost, { input: { postId, body: `Thanks @${bob.handle} and @${cy.handle}` } }, ana.token)).editPost.__typename).toBe('PostPayload');
    await settled();
    expect(await mentionsIn(bob)).toHaveLength(1);
    expect((await mentionsIn(cy)).map((item) => item.subject)).toEqual([{ __typename: 'Post', id: postId, body: `Thanks @${bob.handle} and @${cy.handle}` }]);
    expect(await postMentions(postId)).toEqual([bob.handle, cy.handle]);

    const threadId = await createThread(t, ana, c.publicSpace, 'Edited', 'No one yet');
    await settled();
    expect((await t.query(EditThread, { input: { threadId, body: `Now @${dan.handle}` } }, ana.token)).editThread.__typename).toBe('ThreadPayload');
    await settled();
    expect((await mentionsIn(dan)).map((item) => item.subject)).toEqual([{ __typename: 'Thread', id: threadId, title: 'Edited' }]);
    // A later edit that keeps the mention tells no one again; a removed one leaves the list.
    await t.query(EditThread, { input: { threadId, body: `Still @${dan.handle}, really` } }, ana.token);
    await t.query(EditPost, { input: { postId, body: `Thanks @${cy.handle}` } }, ana.token);
    await settled();
    expect(await mentionsIn(dan)).toHaveLength(1);
    expect(await mentionsIn(cy)).toHaveLength(1);
    expect(await postMentions(postId)).toEqual([cy.handle]);
  });
});

describe('only to who may read it', () => {
  it('a staff space: staff mentioned are told, members are not', async () => {
    const [bob, writer] = [await member('Bob'), await handleOf(c.agent)];
    const mod = await handleOf(c.moderator);
    const threadId = await createThread(t, c.manager, c.staffSpace, 'Internal', 'Staff only');
    const postId = await reply(t, writer, threadId, `@${bob.handle} @${mod.handle}`);
    await settled();
    expect(await mentionsIn(bob)).toEqual([]);
    expect((await mentionsIn(mod)).map((item) => item.subject)).toEqual([{ __typename: 'Post', id: postId, body: `@${bob.handle} @${mod.handle}` }]);
    // Bob cannot read the post, so not its mentions either.
    expect(await postMentions(postId, bob)).toBeNull();
  });

  it('held content notifies no one until a moderator approves it; then they are told, from its author', async () => {
    const [writer, bob] = [await member('Writer'), await member('Bob')];
    const created = await t.query(CreateRule, { input: { name: 'Hold mentions test', trigger: 'KEYWORD', action: 'HOLD', keywords: ['holdmeplease'] } }, c.manager.token);
    expect(created.createAutomodRule.__typename).toBe('AutomodRulePayload');
    const held = await t.query(CreateThread, { input: { spaceId: c.publicSpace, title: 'Held', body: `holdmeplease @${bob.handle}` } }, writer.token);
    expect(held.createThread).toMatchObject({ __typename: 'ThreadPayload', thread: { moderation: { status: 'HELD' } } });
    await settled();
    expect(await mentionsIn(bob)).toEqual([]);
    if (held.createThread.__typename !== 'ThreadPayload') throw new Error('not created');
    const threadId = held.createThread.thread.id;
    const approved = await t.query(Restore, { input: { subjectId: threadId, reason: 'fine after all' } }, c.moderator.token);
    expect(approved.restoreContent.__typename).toBe('ModerationActionPayload');
    await settled();
    expect(await mentionsIn(bob)).toEqual([
      { id: expect.any(String), kind: 'MENTIONED', text: 'Writer mentioned you in a thread', actorCount: 1, actors: [{ id: writer.id }], subject: { __typename: 'Thread', id: threadId, title: 'Held' } },
    ]);
  });

  it('muted writers do not notify; hidden content shows no mentions to members', async () => {
    const [writer, bob, cy] = [await member('Writer'), await member('Bob'), await member('Cy')];
    expect((await t.query(Mute, { input: { userId: writer.id } }, bob.token)).muteUser.__typename).toBe('MutePayload');
    const postId = await reply(t, writer, place, `@${bob.handle} and @${cy.handle}`);
    await settled();
    expect(await mentionsIn(bob)).toEqual([]);
    expect(await mentionsIn(cy)).toHaveLength(1);

    const hidden = await t.query(Hide, { input: { subjectId: postId, classifier: 'OFF_TOPIC', reason: 'off topic' } }, c.moderator.token);
    expect(hidden.hideContent.__typename).toBe('ModerationActionPayload');
    expect(await postMentions(postId, cy)).toEqual([]);
    expect(await postMentions(postId, c.moderator)).toEqual([bob.handle, cy.handle]);
    expect(await postMentions(postId, writer)).toEqual([bob.handle, cy.handle]);
  });

  it('a support case is no thread: @handles in its messages notify no one', async () => {
    const [requester, bob, agent] = [await member('Requester'), await member('Bob'), await handleOf(c.agent)];
    const mod = await handleOf(c.moderator);
    // Staff may have been mentioned by other tests of this file: only what this one adds counts.
    const before = await Promise.all([bob, agent, mod].map(async (who) => (await mentionsIn(who)).length));
    const department = await createDepartment(t, c.manager, { name: `Mentions ${Date.now()}` }, [{ actor: c.agent }]);
    const channelId = await createChannel(t, c.manager, { name: `Mentions form ${Date.now()}`, defaultDepartmentId: department });
    const opened = await t.query(OpenCase, { input: { channelId, subject: 'Private', body: `Ask @${bob.handle} and @${agent.handle}` } }, requester.token);
    if (opened.openCase.__typename !== 'SupportCasePayload') throw new Error(JSON.stringify(opened));
    const caseId = opened.openCase.supportCase!.id;
    const replied = await t.query(ReplyToCase, { input: { caseId, body: `Checking with @${mod.handle} and @${bob.handle}` } }, c.agent.token);
    expect(replied.replyToCase.__typename).toBe('ReplyToCasePayload');
    await settled();
    expect(await Promise.all([bob, agent, mod].map(async (who) => (await mentionsIn(who)).length))).toEqual(before);
    expect(before[0]).toBe(0);
  });

  it('a mention whose content is later removed, or whose space closes, leaves the inbox; a restore brings it back', async () => {
    const [writer, bob] = [await member('Writer'), await member('Bob')];
    const space = await createSpace(t, c.manager, `mentions-${Date.now()}`);
    const threadId = await createThread(t, c.manager, space, 'Soon closed');
    const postId = await reply(t, writer, threadId, `@${bob.handle} look`);
    await settled();
    expect(await inbox(bob)).toMatchObject({ count: 1, items: [{ kind: 'MENTIONED' }] });

    expect((await t.query(Remove, { input: { subjectId: postId, reason: 'spam' } }, c.moderator.token)).removeContent.__typename).toBe('ModerationActionPayload');
    expect(await inbox(bob)).toEqual({ count: 0, items: [] });
    expect((await t.query(Restore, { input: { subjectId: postId, reason: 'fine' } }, c.moderator.token)).restoreContent.__typename).toBe('ModerationActionPayload');
    expect(await inbox(bob)).toMatchObject({ count: 1, items: [{ kind: 'MENTIONED' }] });

    expect((await t.query(UpdateSpace, { input: { spaceId: space, visibility: 'STAFF' } }, c.manager.token)).updateSpace.__typename).toBe('SpacePayload');
    expect(await inbox(bob)).toEqual({ count: 0, items: [] });
  });
});

describe('live', () => {
  it('notificationAdded over graphql-ws brings the mention to its owner only', async () => {
    const [writer, prober, bob, cy] = [await member('Writer'), await member('Prober'), await member('Bob'), await member('Cy')];
    const bobClient = t.wsClient(bob.token);
    const cyClient = t.wsClient(cy.token);
    const bobLive = subscribe(bobClient, Added);
    const cyLive = subscribe(cyClient, Added);
    await Promise.all([connected(bobClient), connected(cyClient)]);
    // Attached once a notification arrives: the prober mentions both until each stream has one.
    for (let i = 0; i < 40 && (bobLive.received.length === 0 || cyLive.received.length === 0); i++) {
      await reply(t, prober, place, `@${bob.handle} @${cy.handle} probe ${i}`);
      await Promise.all([bobLive.next(1, 250), cyLive.next(1, 250)]).catch(() => undefined);
    }
    await settled();
    const [bobSeen, cySeen] = [bobLive.received.length, cyLive.received.length];
    expect(bobSeen).toBeGreaterThan(0);
    const unread = (await inbox(bob)).count;
    const postId = await reply(t, writer, place, `Live for @${bob.handle}`);
    const event = (await bobLive.next(bobSeen + 1)).at(-1)!;
    expect(event.data).toEqual({
      notificationAdded: {
        unreadCount: unread + 1,
        notification: { kind: 'MENTIONED', text: 'Writer mentioned you in a post', actors: [{ id: writer.id }], subject: { __typename: 'Post', id: postId, body: `Live for @${bob.handle}` } },
      },
    });
    await settled();
    expect(cyLive.received).toHaveLength(cySeen);
    expect(bobLive.received).toHaveLength(bobSeen + 1);
  });
});

describe('batching', () => {
  it('Thread.posts { mentions } reads the handles of a whole page in the same statements for 2 posts as for 12', async () => {
    const users = await Promise.all(['Na', 'Nb', 'Nc'].map((name) => member(name)));
    const [small, large] = [await createThread(t, c.manager, c.publicSpace, 'Small'), await createThread(t, c.manager, c.publicSpace, 'Large')];
    const mentionBody = (i: number) => `@${users[i % 3].handle} and @${users[(i + 1) % 3].handle}`;
    for (let i = 0; i < 2; i++) await reply(t, c.alice, small, mentionBody(i));
    for (let i = 0; i < 12; i++) await reply(t, c.alice, large, mentionBody(i));
    const count = async (threadId: string) => {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        const { node } = await t.query(ThreadMentions, { id: threadId, first: 20 }, c.bob.token);
        return { statements: statements.length, node };
      } finally {
        stop();
      }
    };
    await count(small); // the viewer's first request of the hour also records lastSeenAt
    const a = await count(small);
    const b = await count(large);
    expect(b.statements).toBe(a.statements);
    // The session, the thread with its page of posts (and their count), the users by handle.
    expect(b.statements).toBeLessThanOrEqual(4);
    expect(b.node && 'posts' in b.node ? b.node.posts.nodes.map((p) => p.mentions.map((u) => u.id)) : null).toEqual(
      Array.from({ length: 12 }, (_, i) => [users[i % 3].id, users[(i + 1) % 3].id]),
    );
  });
});

describe('parseMentions', () => {
  it('reads handles as the fan-out and the field do', () => {
    expect(parseMentions('@Ana_1 @ana_1 @bo @' + 'x'.repeat(31) + ' @josé @eve-x @ok_name', 10)).toEqual(['ana_1', 'ok_name']);
    expect(parseMentions('a@b.com @c.d.e @end.', 10)).toEqual(['end']);
    expect(parseMentions('~~~\n@inside\n~~~\n@outside', 10)).toEqual(['outside']);
    expect(parseMentions('@one @two @three', 2)).toEqual(['one', 'two']);
    expect(parseMentions('@one @two', 0)).toEqual([]);
  });
});
