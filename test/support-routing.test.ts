import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containsPhrase, words } from '../src/modules/support/routing.js';
import { type Actor, createCommunity, createThread } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

const CreateRule = graphql(`
  mutation RoutingCreateRule($input: CreateRoutingRuleInput!) {
    createRoutingRule(input: $input) {
      __typename
      ... on RoutingRulePayload {
        rule { id name position active channels { name } spaces { id } keywords requesterRoles department { name } priority tags }
      }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const UpdateRule = graphql(`
  mutation RoutingUpdateRule($input: UpdateRoutingRuleInput!) {
    updateRoutingRule(input: $input) { __typename ... on RoutingRulePayload { rule { name position } } ... on Error { message } }
  }
`);
const DeleteRule = graphql(`
  mutation RoutingDeleteRule($input: DeleteRoutingRuleInput!) {
    deleteRoutingRule(input: $input) { __typename ... on DeleteRoutingRulePayload { deletedRuleId } ... on Error { message } }
  }
`);
const Rules = graphql(`query RoutingRules { routingRules(first: 50) { totalCount nodes { name position } } }`);
const Open = graphql(`
  mutation RoutingOpen($input: OpenCaseInput!) {
    openCase(input: $input) {
      __typename
      ... on SupportCasePayload { supportCase { id department { name } priority tags routingRule { name } } }
      ... on Error { message }
    }
  }
`);
const OpenFromThread = graphql(`
  mutation RoutingOpenFromThread($input: OpenCaseFromThreadInput!) {
    openCaseFromThread(input: $input) {
      __typename
      ... on SupportCasePayload { supportCase { department { name } tags routingRule { name } } }
      ... on Error { message }
    }
  }
`);
const CaseDecisions = graphql(`query RoutingDecisions($id: ID!) { node(id: $id) { ... on SupportCase { priority requestedPriority tags } } }`);
const CaseRouting = graphql(`query RoutingCase($id: ID!) { node(id: $id) { ... on SupportCase { department { name } routingRule { name } } } }`);

let t: TestApp;
let admin: Actor;
let manager: Actor;
let agent: Actor;
let alice: Actor;
let publicSpace: string;
let membersSpace: string;
let general: string;
let billing: string;
let tech: string;
let web: string;
let email: string;
const rules: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestApp();
  ({ admin, manager, agent, alice, publicSpace, membersSpace } = await createCommunity(t));
  general = await createDepartment(t, manager, { name: 'General' }, [{ actor: agent }, { actor: manager }]);
  billing = await createDepartment(t, manager, { name: 'Billing' }, [{ actor: agent }]);
  tech = await createDepartment(t, manager, { name: 'Tech' }, [{ actor: agent }]);
  web = await createChannel(t, manager, { name: 'Web', defaultDepartmentId: general });
  email = await createChannel(t, manager, { name: 'Email', kind: 'EMAIL', defaultDepartmentId: general, spaceId: membersSpace });
});
afterAll(async () => {
  await t?.stop();
});

async function open(actor: Actor, subject: string, body = 'Details.', channelId = web) {
  const { openCase } = await t.query(Open, { input: { channelId, subject, body } }, actor.token);
  if (openCase.__typename !== 'SupportCasePayload' || !openCase.supportCase) throw new Error(JSON.stringify(openCase));
  return openCase.supportCase;
}

describe('words and phrases', () => {
  it('ignore case and accents and match whole words only', () => {
    expect(words('¡Facturación DUPLICADA, señor!')).toEqual(['facturacion', 'duplicada', 'senor']);
    const text = words('I need a Refund-request for my ORDER');
    expect(containsPhrase(text, 'refund')).toBe(true);
    expect(containsPhrase(text, 'refund request')).toBe(true);
    expect(containsPhrase(text, 'request refund')).toBe(false);
    expect(containsPhrase(words('refunded twice'), 'refund')).toBe(false);
    expect(containsPhrase(words('FACTURACION'), 'facturación')).toBe(true);
  });
});

describe('routing rules', () => {
  it('are managed by COMMUNITY_MANAGER and ADMIN, validated, and listed to staff', async () => {
    const { createRoutingRule } = await t.query(
      CreateRule,
      { input: { name: 'Refunds', keywords: ['refund', 'facturación'], departmentId: billing, priority: 'HIGH', tags: ['Money', 'money'] } },
      manager.token,
    );
    expect(createRoutingRule).toEqual({
      __typename: 'RoutingRulePayload',
      rule: {
        id: expect.any(String),
        name: 'Refunds',
        position: 1,
        active: true,
        channels: [],
        spaces: [],
        keywords: ['refund', 'facturación'],
        requesterRoles: [],
        department: { name: 'Billing' },
        priority: 'HIGH',
        tags: ['money'],
      },
    });
    if (createRoutingRule.__typename === 'RoutingRulePayload') rules.refunds = createRoutingRule.rule.id;

    const webToTech = await t.query(CreateRule, { input: { name: 'Web to Tech', channelIds: [web], departmentId: tech } }, admin.token);
    expect(webToTech.createRoutingRule).toMatchObject({ rule: { position: 2, channels: [{ name: 'Web' }] } });
    if (webToTech.createRoutingRule.__typename === 'RoutingRulePayload') rules.webToTech = webToTech.createRoutingRule.rule.id;

    const useless = await t.query(CreateRule, { input: { name: 'Nothing', keywords: ['  ', 'ok'], tags: ['x'] } }, manager.token);
    expect(useless.createRoutingRule).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'keywords', '0'], message: 'must contain a word' }],
    });
    const noAction = await t.query(CreateRule, { input: { name: 'Nothing', keywords: ['ok'] } }, manager.token);
    expect(noAction.createRoutingRule).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input'], message: 'a rule must set a department, a priority or tags' }],
    });
    const byAgent = await t.query(CreateRule, { input: { name: 'Mine', tags: ['x'] } }, agent.token);
    expect(byAgent.createRoutingRule.__typename).toBe('ForbiddenError');
    expect((await t.query(Rules, {}, agent.token)).routingRules).toEqual({
      totalCount: 2,
      nodes: [{ name: 'Refunds', position: 1 }, { name: 'Web to Tech', position: 2 }],
    });
    expect((await t.request(Rules, {}, alice.token)).errors?.[0]?.message).toBe('Your role does not allow this');
  });

  it('route a new case by the first rule that matches, in order, and record it', async () => {
    const routed = await open(alice, 'Please REFUND my order');
    expect(routed).toEqual({
      id: expect.any(String),
      department: { name: 'Billing' },
      // The requester sees neither which rule routed the case nor what it decided: the priority
      // they asked for, and no tags.
      priority: 'NORMAL',
      tags: [],
      routingRule: null,
    });
    expect((await t.query(CaseDecisions, { id: routed.id }, agent.token)).node).toEqual({ priority: 'HIGH', requestedPriority: 'NORMAL', tags: ['money'] });
    // "refunded" is not the whole word "refund": the next rule (any case on Web) wins.
    const notWhole = await open(alice, 'I was refunded twice');
    expect(notWhole).toMatchObject({ department: { name: 'Tech' }, priority: 'NORMAL', tags: [] });
    expect((await t.query(CaseRouting, { id: notWhole.id }, agent.token)).node).toEqual({ department: { name: 'Tech' }, routingRule: { name: 'Web to Tech' } });
    // Accents and case do not matter, in the body too.
    expect(await open(alice, 'Una pregunta', 'Problema con la FACTURACION del mes', email)).toMatchObject({ department: { name: 'Billing' } });
    // Nothing matches: the channel's default department.
    const unrouted = await open(alice, 'Hello', 'Just saying hi', email);
    expect(unrouted).toMatchObject({ department: { name: 'General' }, tags: [] });
    expect((await t.query(CaseRouting, { id: unrouted.id }, manager.token)).node).toEqual({ department: { name: 'General' }, routingRule: null });
  });

  it('follow a new order after a rule moves', async () => {
    const moved = await t.query(UpdateRule, { input: { ruleId: rules.webToTech, position: 1 } }, manager.token);
    expect(moved.updateRoutingRule).toEqual({ __typename: 'RoutingRulePayload', rule: { name: 'Web to Tech', position: 1 } });
    expect((await t.query(Rules, {}, manager.token)).routingRules.nodes).toEqual([{ name: 'Web to Tech', position: 1 }, { name: 'Refunds', position: 2 }]);
    expect(await open(alice, 'Refund please')).toMatchObject({ department: { name: 'Tech' }, priority: 'NORMAL' });
  });

  it('match on the space of the thread and on the requester role', async () => {
    const staffRule = await t.query(
      CreateRule,
      { input: { name: 'Staff asking', requesterRoles: ['AGENT'], tags: ['internal'], position: 1 } },
      manager.token,
    );
    if (staffRule.createRoutingRule.__typename === 'RoutingRulePayload') rules.staff = staffRule.createRoutingRule.rule.id;
    const spaceRule = await t.query(CreateRule, { input: { name: 'Forum fights', spaceIds: [publicSpace], departmentId: billing, tags: ['forum'], position: 2 } }, manager.token);
    expect(spaceRule.createRoutingRule).toMatchObject({ rule: { position: 2, spaces: [{ id: publicSpace }] } });
    expect((await t.query(Rules, {}, manager.token)).routingRules.nodes.map((r) => r.name)).toEqual(['Staff asking', 'Forum fights', 'Web to Tech', 'Refunds']);

    expect(await open(agent, 'My own laptop', 'Help', email)).toMatchObject({ department: { name: 'General' }, tags: ['internal'] });
    const threadId = await createThread(t, alice, publicSpace, 'This product is a scam', 'Angry words');
    const { openCaseFromThread } = await t.query(OpenFromThread, { input: { threadId, channelId: email, reason: 'Heated' } }, manager.token);
    expect(openCaseFromThread).toEqual({
      __typename: 'SupportCasePayload',
      supportCase: { department: { name: 'Billing' }, tags: ['forum'], routingRule: { name: 'Forum fights' } },
    });
  });

  it('close the gap when a rule is deleted; inactive rules are skipped', async () => {
    const deleted = await t.query(DeleteRule, { input: { ruleId: rules.staff } }, manager.token);
    expect(deleted.deleteRoutingRule).toEqual({ __typename: 'DeleteRoutingRulePayload', deletedRuleId: rules.staff });
    expect((await t.query(Rules, {}, manager.token)).routingRules.nodes).toEqual([
      { name: 'Forum fights', position: 1 },
      { name: 'Web to Tech', position: 2 },
      { name: 'Refunds', position: 3 },
    ]);
    await t.query(UpdateRule, { input: { ruleId: rules.webToTech, active: false } }, manager.token);
    expect(await open(alice, 'Refund please')).toMatchObject({ department: { name: 'Billing' } });
    const missing = await t.query(DeleteRule, { input: { ruleId: rules.staff } }, manager.token);
    expect(missing.deleteRoutingRule.__typename).toBe('NotFoundError');
  });
});
