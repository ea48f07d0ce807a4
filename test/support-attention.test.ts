import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery } from '../src/db/client.js';
import { type Actor, createCommunity, createThread, createUser, reply } from './fixtures.js';
import { graphql } from './gql/index.js';
import type { AttentionFilter } from './gql/graphql.js';
import { startTestApp, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

const WatchSpace = graphql(`
  mutation AttentionWatchSpace($input: UpdateSpaceInput!) {
    updateSpace(input: $input) { __typename ... on SpacePayload { space { attentionAfterMinutes } } ... on Error { message } }
  }
`);
const Open = graphql(`
  mutation AttentionOpen($input: OpenCaseInput!) {
    openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id } } ... on Error { message } }
  }
`);
const Reply = graphql(`mutation AttentionReply($input: ReplyToCaseInput!) { replyToCase(input: $input) { __typename } }`);
const SetStatus = graphql(`mutation AttentionSetStatus($input: SetCaseStatusInput!) { setCaseStatus(input: $input) { __typename } }`);
const Queue = graphql(`
  query Attention($filter: AttentionFilter, $first: Int!, $after: String) {
    attentionQueue(filter: $filter, first: $first, after: $after) {
      edges {
        cursor
        node {
          kind waitingFor waitingSince waitingMinutes
          supportCase { subject requester { displayName } department { name } }
          thread { title author { displayName } }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

let t: TestApp;
let manager: Actor;
let agent: Actor;
let otherAgent: Actor;
let alice: Actor;
let bob: Actor;
let publicSpace: string;
let membersSpace: string;
let staffSpace: string;
let billing: string;
let forum: string;

beforeAll(async () => {
  t = await startTestApp({ SLA_JOB_INTERVAL_MS: '0' });
  let admin: Actor;
  ({ admin, manager, alice, bob, publicSpace, membersSpace, staffSpace } = await createCommunity(t));
  agent = await createUser(t, 'Ana', 'AGENT', admin);
  otherAgent = await createUser(t, 'Omar', 'AGENT', admin);
  billing = await createDepartment(t, manager, { name: 'Billing' }, [{ actor: agent }]);
  const tech = await createDepartment(t, manager, { name: 'Tech' }, [{ actor: otherAgent }]);
  forum = await createChannel(t, manager, { name: 'Forum', kind: 'FORUM', defaultDepartmentId: billing, spaceId: publicSpace });
  await createChannel(t, manager, { name: 'Tech forum', kind: 'FORUM', defaultDepartmentId: tech, spaceId: membersSpace });
});
afterAll(async () => {
  await t?.stop();
});

const watch = async (spaceId: string, minutes: number | null) => {
  const { updateSpace } = await t.query(WatchSpace, { input: { spaceId, attentionAfterMinutes: minutes } }, manager.token);
  expect(updateSpace).toEqual({ __typename: 'SpacePayload', space: { attentionAfterMinutes: minutes } });
};
async function open(actor: Actor, subject: string) {
  const { openCase } = await t.query(Open, { input: { channelId: forum, subject, body: 'Help' } }, actor.token);
  if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error(JSON.stringify(openCase));
  return openCase.supportCase.id;
}
const queue = async (actor: Actor, filter?: AttentionFilter, first = 50, after?: string) =>
  (await t.query(Queue, { filter, first, after }, actor.token)).attentionQueue;
const summary = (q: Awaited<ReturnType<typeof queue>>) =>
  q.edges.map(({ node }) => `${node.kind} ${node.waitingFor} ${node.supportCase?.subject ?? node.thread?.title}`);

describe('the attention queue', () => {
  beforeAll(async () => {
    // Threads in the public forum are due at once; in the members' lounge after 30 minutes; staff spaces never.
    await watch(publicSpace, 0);
    await watch(membersSpace, 30);
    await watch(staffSpace, 0);
    await createThread(t, alice, publicSpace, 'Nobody answers me');
    await open(alice, 'Never answered');
    const selfAnswered = await createThread(t, bob, publicSpace, 'Talking to myself');
    await reply(t, bob, selfAnswered, 'Anyone?');
    const answered = await createThread(t, bob, publicSpace, 'Answered thread');
    await reply(t, alice, answered, 'Try restarting');
    await createThread(t, bob, membersSpace, 'Too recent to count');
    await createThread(t, agent, staffSpace, 'Staff only');
    const followUp = await open(bob, 'Wrote again');
    await t.query(Reply, { input: { caseId: followUp, body: 'Did that help?' } }, agent.token);
    await t.query(Reply, { input: { caseId: followUp, body: 'It did not', internal: false } }, bob.token);
    const noted = await open(alice, 'Only a note');
    await t.query(Reply, { input: { caseId: noted, body: 'internal notes do not answer', internal: true } }, agent.token);
    const waitingOnRequester = await open(alice, 'Waiting on the requester');
    await t.query(SetStatus, { input: { caseId: waitingOnRequester, status: 'PENDING' } }, agent.token);
  });

  it('lists what waits on the team, oldest wait first, with what it waits for', async () => {
    const all = await queue(manager);
    expect(summary(all)).toEqual([
      'THREAD FIRST_REPLY Nobody answers me',
      'CASE FIRST_RESPONSE Never answered',
      'THREAD FIRST_REPLY Talking to myself',
      'CASE NEXT_RESPONSE Wrote again',
      'CASE FIRST_RESPONSE Only a note',
    ]);
    expect(all.edges[0].node).toEqual({
      kind: 'THREAD',
      waitingFor: 'FIRST_REPLY',
      waitingSince: expect.any(String),
      waitingMinutes: 0,
      supportCase: null,
      thread: { title: 'Nobody answers me', author: { displayName: 'Alice' } },
    });
    expect(all.edges[1].node.supportCase).toEqual({ subject: 'Never answered', requester: { displayName: 'Alice' }, department: { name: 'Billing' } });
    const since = all.edges.map((edge) => Date.parse(edge.node.waitingSince));
    expect([...since].sort((a, b) => a - b)).toEqual(since);
    expect(all.pageInfo.hasNextPage).toBe(false);
  });

  it('shows agents the cases of their departments only, and refuses members', async () => {
    expect(summary(await queue(otherAgent))).toEqual(['THREAD FIRST_REPLY Nobody answers me', 'THREAD FIRST_REPLY Talking to myself']);
    expect(summary(await queue(agent))).toHaveLength(5);
    const member = await t.request(Queue, { first: 5 }, alice.token);
    expect(member.errors?.[0]?.message).toBe('Your role does not allow this');
  });

  it('filters by kind, department and space', async () => {
    expect(summary(await queue(manager, { kinds: ['CASE'] }))).toEqual([
      'CASE FIRST_RESPONSE Never answered',
      'CASE NEXT_RESPONSE Wrote again',
      'CASE FIRST_RESPONSE Only a note',
    ]);
    const tech = await queue(manager, { kinds: ['THREAD'], departmentId: billing });
    expect(summary(tech)).toEqual(['THREAD FIRST_REPLY Nobody answers me', 'THREAD FIRST_REPLY Talking to myself']);
    expect(summary(await queue(manager, { spaceId: membersSpace }))).toEqual([]);
    expect(summary(await queue(manager, { spaceId: publicSpace }))).toHaveLength(5);
  });

  it('pages with a cursor through the same order', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await queue(manager, undefined, 2, after);
      seen.push(...summary(page));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(seen).toEqual(summary(await queue(manager)));
  });

  it('drops what has been answered and stops watching a space set to null', async () => {
    await watch(publicSpace, null);
    expect(summary(await queue(manager))).toEqual([
      'CASE FIRST_RESPONSE Never answered',
      'CASE NEXT_RESPONSE Wrote again',
      'CASE FIRST_RESPONSE Only a note',
    ]);
    await watch(publicSpace, 0);
  });

  it('reads a page of 2 and a page of 40 with the same number of SQL statements', async () => {
    for (let i = 0; i < 20; i++) {
      await createThread(t, bob, publicSpace, `Bulk thread ${i}`);
      await open(alice, `Bulk case ${i}`);
    }
    const count = async (first: number) => {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        const page = await queue(manager, undefined, first);
        return { statements: statements.length, page };
      } finally {
        stop();
      }
    };
    const small = await count(2);
    const large = await count(40);
    expect(large.page.edges).toHaveLength(40);
    expect(large.page.edges.filter((e) => e.node.kind === 'CASE').every((e) => e.node.supportCase?.requester.displayName === 'Alice' || e.node.supportCase?.requester.displayName === 'Bob')).toBe(true);
    expect(large.statements).toBe(small.statements);
  });
});
