import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery } from '../src/db/client.js';
import { type Actor, createCommunity, createUser } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

const Open = graphql(`
  mutation NPlusOneOpen($input: OpenCaseInput!) {
    openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id } } ... on Error { message } }
  }
`);
const Reply = graphql(`mutation NPlusOneReply($input: ReplyToCaseInput!) { replyToCase(input: $input) { __typename } }`);
const CreateRule = graphql(`mutation NPlusOneRule($input: CreateRoutingRuleInput!) { createRoutingRule(input: $input) { __typename } }`);
const MyCases = graphql(`
  query NPlusOneMyCases($first: Int!) {
    myCases(first: $first) {
      totalCount
      nodes {
        number status channel { name } department { name } assignee { displayName }
        sla { firstResponseDueAt breaches }
        timeline(first: 5) { totalCount nodes { kind summary reason actor { displayName } message { body } } }
        messages(first: 5) { nodes { body author { displayName } } }
      }
    }
  }
`);
const Departments = graphql(`
  query NPlusOneDepartments($first: Int!) {
    departments(first: $first) { nodes { name weeklyHours { day } members { user { displayName } lead onDuty } } }
  }
`);
const Channels = graphql(`
  query NPlusOneChannels($first: Int!) {
    supportChannels(first: $first) { nodes { name defaultDepartment { name } space { slug } slaPolicy { priority } } }
  }
`);
const Rules = graphql(`
  query NPlusOneRules($first: Int!) {
    routingRules(first: $first) { nodes { name channels { name } spaces { slug } department { name } } }
  }
`);
const CaseLog = graphql(`
  query NPlusOneCaseLog($first: Int!) {
    activityLog(first: $first, filter: { kinds: [CASE_OPENED] }) { nodes { kind supportCase { number requester { displayName } } } }
  }
`);

let t: TestApp;
let manager: Actor;
let agent: Actor;
let alice: Actor;
const N = 25;

beforeAll(async () => {
  t = await startTestApp({ SLA_JOB_INTERVAL_MS: '0' });
  let admin: Actor;
  let publicSpace: string;
  ({ admin, manager, alice, publicSpace } = await createCommunity(t));
  agent = await createUser(t, 'Ana', 'AGENT', admin);
  const channels: string[] = [];
  for (let i = 0; i < N; i++) {
    const department = await createDepartment(t, manager, { name: `Dept ${String(i).padStart(2, '0')}` }, [{ actor: agent, lead: i % 2 === 0 }, { actor: manager }]);
    channels.push(
      await createChannel(t, manager, {
        name: `Channel ${String(i).padStart(2, '0')}`,
        defaultDepartmentId: department,
        spaceId: publicSpace,
        slaPolicy: [{ priority: 'NORMAL', firstResponseMinutes: 60, nextResponseMinutes: 30, periodicUpdateMinutes: 120, resolutionMinutes: 480 }],
      }),
    );
    await t.query(CreateRule, { input: { name: `Rule ${i}`, channelIds: [channels[i]], spaceIds: [publicSpace], keywords: [`word${i}`], tags: ['x'] } }, manager.token);
  }
  for (let i = 0; i < N; i++) {
    const { openCase } = await t.query(Open, { input: { channelId: channels[i], subject: `Case ${i}`, body: 'Help' } }, alice.token);
    if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error('open failed');
    await t.query(Reply, { input: { caseId: openCase.supportCase.id, body: `Answer ${i}` } }, agent.token);
  }
}, 180_000);
afterAll(async () => {
  await t?.stop();
});

async function statements<R>(document: TypedDocumentNode<R, { first: number }>, first: number, actor: Actor) {
  const seen: string[] = [];
  const stop = onQuery((sql) => seen.push(sql));
  try {
    const data = await t.query(document, { first }, actor.token);
    return { count: seen.length, data };
  } finally {
    stop();
  }
}

describe('support lists are not N+1', () => {
  it.each([
    ['myCases', MyCases, () => alice],
    ['departments', Departments, () => manager],
    ['supportChannels', Channels, () => alice],
    ['routingRules', Rules, () => agent],
    ['activityLog with cases', CaseLog, () => agent],
  ] as const)('%s: 2 items and 25 items cost the same statements', async (_name, document, actor) => {
    const small = await statements(document as TypedDocumentNode<unknown, { first: number }>, 2, actor());
    const large = await statements(document as TypedDocumentNode<unknown, { first: number }>, N, actor());
    const nodes = Object.values(large.data as Record<string, { nodes: unknown[] }>)[0].nodes;
    expect(nodes).toHaveLength(N);
    expect(large.count).toBe(small.count);
  });

  it('returns the nested data it counted', async () => {
    const { data } = await statements(MyCases, N, alice);
    const case0 = data.myCases.nodes.find((c) => c.number === 1)!;
    expect(case0).toMatchObject({
      channel: { name: 'Channel 00' },
      department: { name: 'Dept 00' },
      timeline: { totalCount: 3, nodes: [{ kind: 'OPENED' }, { kind: 'REPLY', summary: 'Ana replied', message: { body: 'Answer 0' } }, { kind: 'STATUS_CHANGED' }] },
      messages: { nodes: [{ body: 'Help' }, { body: 'Answer 0', author: { displayName: 'Ana' } }] },
    });
  });
});
